/**
 * The `/` page: every live stream with an hls.js player in low-latency mode.
 * hls.js is served by streamd itself (`/static/hls.min.js`), never from a CDN.
 */
import type { LiveStream } from '../packager/live-stream.js'

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

function card(s: LiveStream): string {
  const n = esc(s.name)
  const rungs = [...s.renditions.keys()].map(esc).join(', ')
  return `<section class="stream">
  <h2>${n} <small>${esc(s.state)}${s.ingest ? ` · ${esc(s.ingest.protocol)}` : ''}${rungs ? ` · ${rungs}` : ''}</small></h2>
  <video data-src="/live/${n}/index.m3u8" controls muted playsinline autoplay></video>
  <p class="stats" data-for="${n}"></p>
  <p class="urls"><code>/live/${n}/index.m3u8</code></p>
</section>`
}

/** Render the page for the streams the directory lists. */
export function renderPage(streams: LiveStream[]): string {
  const live = streams.filter((s) => s.state !== 'ended')
  const body = live.length > 0
    ? live.map(card).join('\n')
    // Publishing is closed by default, so the hint carries the key a publish needs.
    : `<p>No live streams. Create a publish key with <code>streamd keys add NAME</code>, then publish: <code>ffmpeg -re -i input.mp4 -c copy -f flv 'rtmp://HOST:1935/live/NAME?key=SECRET'</code>; or start <code>streamd serve --demo</code>.</p>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>streamd</title>
<style>
body{font:15px system-ui,sans-serif;margin:2rem auto;max-width:960px;padding:0 1rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-bottom:.4rem}small{color:#777;font-weight:normal}
video{width:100%;background:#000;aspect-ratio:16/9}.stats{color:#555;font-size:.9rem;min-height:1.2em}
code{background:#f3f3f3;padding:0 .25rem}
</style></head>
<body><h1>streamd</h1>
${body}
<script src="/static/hls.min.js"></script>
<script>
for (const video of document.querySelectorAll('video[data-src]')) {
  const src = video.dataset.src
  const stats = document.querySelector('.stats[data-for="' + src.split('/')[2] + '"]')
  if (window.Hls && Hls.isSupported()) {
    // Playing slightly fast lets a player that started late catch up to its latency target.
    const hls = new Hls({ lowLatencyMode: true, backBufferLength: 30, maxLiveSyncPlaybackRate: 1.5 })
    hls.loadSource(src)
    hls.attachMedia(video)
    hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) stats.textContent = 'player error: ' + d.details })
    setInterval(() => {
      if (hls.latency) stats.textContent = 'latency ' + hls.latency.toFixed(2) + ' s · ' + (hls.levels[hls.currentLevel]?.height ?? '?') + 'p'
    }, 1000)
    window.players = (window.players || []).concat([hls])
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = src
  }
}
</script>
</body></html>
`
}
