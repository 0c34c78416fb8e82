/**
 * The instrumented player page of bench/latency and the tiny loopback HTTP
 * server that serves it. The page runs hls.js on one <video>, and records
 * every 250 ms: currentTime, wall clock − program date time at the playhead
 * (Date.now() − hls.playingDate), hls.latency, and how far the playlist's live
 * edge is ahead of the playhead; plus media events, the first rendered frame
 * (requestVideoFrameCallback) and hls.js errors. The bench reads `window.__lat`.
 */
import { createServer } from 'node:http'

/**
 * HTML of the player page; `debugLog` keeps hls.js's own log lines in __lat.log (for --trace).
 * @param {{ hlsJsUrl: string, src: string, hlsConfig: object, debugLog?: boolean }} o
 */
export function playerPage({ hlsJsUrl, src, hlsConfig, debugLog = false }) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>streamd bench/latency</title><link rel="icon" href="data:,"></head>
<body style="margin:0;background:#000">
<video id="v" muted playsinline autoplay style="width:640px;height:360px"></video>
<script src="${hlsJsUrl}"></script>
<script>
const S = window.__lat = {
  hlsVersion: Hls.version, rvfc: 'requestVideoFrameCallback' in HTMLVideoElement.prototype,
  loadSourceAt: null, firstPlayingAt: null, firstFrameAt: null,
  samples: [], events: [], errors: [], quality: null,
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
S.log = []
const keep = ${debugLog ? "(level) => (...a) => { if (S.log.length < 200000) S.log.push(Date.now() + ' ' + level + ' ' + a.map(String).join(' ').slice(0, 600)) }" : '() => () => {}'}
const hls = new Hls(Object.assign(${JSON.stringify(hlsConfig)}, { debug: { debug: keep('debug'), log: keep('log'), info: keep('info'), warn: keep('warn'), error: keep('error') } }))
hls.on(Hls.Events.ERROR, (_, d) => {
  S.errors.push({ at: Date.now(), type: d.type, details: d.details, fatal: d.fatal, url: String(d.url || d.frag?.url || d.context?.url || '').slice(-80) })
})
hls.on(Hls.Events.MANIFEST_PARSED, () => { video.play().catch(() => {}) })
S.loadSourceAt = Date.now()
hls.loadSource(${JSON.stringify(src)})
hls.attachMedia(video)
window.hls = hls
setInterval(() => {
  const now = Date.now()
  const pd = hls.playingDate
  const level = hls.levels[hls.currentLevel] || hls.levels[hls.loadLevel]
  const edge = level && level.details ? level.details.edge : NaN
  let bufEnd = NaN
  for (let i = 0; i < video.buffered.length; i++) {
    if (video.buffered.start(i) <= video.currentTime + 0.1 && video.buffered.end(i) >= video.currentTime) bufEnd = video.buffered.end(i)
  }
  S.samples.push({
    at: now,
    ct: video.currentTime,
    paused: video.paused,
    rs: video.readyState,
    rate: video.playbackRate,
    pdt: pd && Number.isFinite(pd.getTime()) ? (now - pd.getTime()) / 1000 : null,
    hlsLat: Number.isFinite(hls.latency) && hls.latency > 0 ? hls.latency : null,
    target: Number.isFinite(hls.targetLatency) ? hls.targetLatency : null,
    edgeAhead: Number.isFinite(edge) ? edge - video.currentTime : null,
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

/**
 * Serve the page at / (and `files`, path → { type, body }) on 127.0.0.1:0;
 * resolves with { url, close() }.
 */
export function servePage(html, files = {}) {
  const server = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' })
      res.end(html)
    } else if (files[req.url]) {
      res.writeHead(200, { 'Content-Type': files[req.url].type, 'Cache-Control': 'no-store' })
      res.end(files[req.url].body)
    } else {
      res.writeHead(404).end()
    }
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}/`,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r(undefined)) }),
  })))
}
