/**
 * The bench/latency player page for DASH: dash.js in low-latency mode (chunked
 * segments; ServiceDescription target; live catch-up on) on one <video>,
 * recording `window.__lat` in the same shape as the hls.js page
 * (latency-page.mjs) so one analysis serves both. Its latency sample is dash.js's
 * getCurrentLiveLatency(): wall clock (synchronized with the MPD's UTCTiming)
 * minus the wall-clock time of the playhead (availabilityStartTime + media
 * time), the DASH counterpart of Date.now() − hls.playingDate.
 */

/**
 * HTML of the page.
 * @param {{ dashJsUrl: string, src: string }} o
 */
export function dashPlayerPage({ dashJsUrl, src }) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>streamd bench/latency (dash.js)</title><link rel="icon" href="data:,"></head>
<body style="margin:0;background:#000">
<video id="v" muted playsinline autoplay style="width:640px;height:360px"></video>
<script src="${dashJsUrl}"></script>
<script>
const player = dashjs.MediaPlayer().create()
const S = window.__lat = {
  hlsVersion: 'dash.js ' + player.getVersion(), rvfc: 'requestVideoFrameCallback' in HTMLVideoElement.prototype,
  loadSourceAt: null, firstPlayingAt: null, firstFrameAt: null,
  samples: [], events: [], errors: [], quality: null, log: [],
}
const video = document.getElementById('v')
for (const type of ['playing', 'waiting', 'stalled', 'seeking', 'seeked', 'pause', 'ended', 'error', 'emptied']) {
  video.addEventListener(type, () => {
    const at = Date.now()
    if (type === 'playing' && S.firstPlayingAt === null) S.firstPlayingAt = at
    S.events.push({ type, at, ct: video.currentTime })
  })
}
if (S.rvfc) video.requestVideoFrameCallback(() => { S.firstFrameAt = Date.now() })
player.updateSettings({ streaming: { liveCatchup: { enabled: true } } })
player.on(dashjs.MediaPlayer.events.ERROR, (e) => {
  const err = e.error || {}
  S.errors.push({ at: Date.now(), type: 'dashjs', details: 'code ' + err.code + ' ' + String(err.message || '').slice(0, 200), fatal: true, url: '' })
})
S.loadSourceAt = Date.now()
player.initialize(video, ${JSON.stringify(src)}, true)
window.player = player
setInterval(() => {
  const now = Date.now()
  const lat = player.getCurrentLiveLatency()
  let bufEnd = NaN
  for (let i = 0; i < video.buffered.length; i++) {
    if (video.buffered.start(i) <= video.currentTime + 0.1 && video.buffered.end(i) >= video.currentTime) bufEnd = video.buffered.end(i)
  }
  S.samples.push({
    at: now, ct: video.currentTime, paused: video.paused, rs: video.readyState, rate: video.playbackRate,
    pdt: Number.isFinite(lat) && lat > 0 ? lat : null,
    hlsLat: Number.isFinite(lat) && lat > 0 ? lat : null,
    target: player.getTargetLiveDelay ? player.getTargetLiveDelay() : null,
    edgeAhead: null,
    bufAhead: Number.isFinite(bufEnd) ? bufEnd - video.currentTime : null,
    h: video.videoHeight,
  })
  const q = video.getVideoPlaybackQuality && video.getVideoPlaybackQuality()
  if (q) S.quality = { total: q.totalVideoFrames, dropped: q.droppedVideoFrames }
}, 250)
</script>
</body></html>
`
}
