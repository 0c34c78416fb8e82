/// <reference lib="dom" />
/**
 * End to end: FFmpeg publishes over RTMP, the origin packages LL-HLS, and hls.js
 * (served by the origin) plays it in Debian's Chromium. Plays ≥ 10 s without a
 * stall, at a live latency under 3 s, using blocking playlist reload.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startOrigin, waitFor, get } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'
import { launchChromium, recordRequests } from '../helpers/browser.js'

/** Seconds of playback observed after the first `playing` event. */
const WATCH_SECONDS = 12
/** Samples taken in this first part of the watch are not counted for latency (start-up). */
const LATENCY_SETTLE_MS = 3000
const MAX_LATENCY_S = 3
const STUCK_MS = 1000

/** What the page records (see playerPage). */
interface Sample {
  at: number
  ct: number
  paused: boolean
  readyState: number
  buffered: Array<[number, number]>
  latency: number | null
  pdtLatency: number | null
  targetLatency: number | null
  rate: number
}
interface PageState {
  samples: Sample[]
  events: Array<{ type: string; at: number; ct: number }>
  errors: Array<{ at: number; type: string; details: string; fatal: boolean; info: string }>
  warnings: Array<{ at: number; level: string; text: string }>
  firstPlayingAt: number | null
  hlsVersion: string
  /** hls.js debug/log/info lines (dropped; counted to show the logger hook works). */
  debugLines: number
}

/** A minimal player page with the same hls.js settings as the `/` page, instrumented. */
function playerPage(origin: string, src: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>streamd e2e</title><link rel="icon" href="data:,"></head>
<body>
<video id="v" muted playsinline autoplay style="width:640px;height:360px"></video>
<script src="${origin}/static/hls.min.js"></script>
<script>
const S = window.__e2e = { samples: [], events: [], errors: [], warnings: [], firstPlayingAt: null, hlsVersion: Hls.version, debugLines: 0 }
const video = document.getElementById('v')
for (const type of ['playing', 'waiting', 'stalled', 'seeking', 'seeked', 'pause', 'ended', 'error', 'emptied']) {
  video.addEventListener(type, () => {
    const at = Date.now()
    if (type === 'playing' && S.firstPlayingAt === null) S.firstPlayingAt = at
    S.events.push({ type, at, ct: video.currentTime })
  })
}
const keep = (level) => (...args) => S.warnings.push({ at: Date.now(), level, text: args.map(String).join(' ').slice(0, 400) })
const noop = () => { S.debugLines++ }
// The same player settings as the / page (src/http/page.ts).
const hls = new Hls({
  lowLatencyMode: true,
  backBufferLength: 30,
  maxLiveSyncPlaybackRate: 1.5,
  debug: { debug: noop, log: noop, info: noop, warn: keep('warn'), error: keep('error') },
})
hls.on(Hls.Events.ERROR, (_, d) => {
  const info = [d.url || d.frag?.url || d.context?.url || '', d.response ? 'HTTP ' + d.response.code : '', d.reason || '', d.error ? String(d.error) : '']
    .filter(Boolean).join(' ').slice(0, 400)
  S.errors.push({ at: Date.now(), type: d.type, details: d.details, fatal: d.fatal, info })
})
hls.on(Hls.Events.MANIFEST_PARSED, () => { video.play().catch(() => {}) })
hls.loadSource(${JSON.stringify(src)})
hls.attachMedia(video)
window.hls = hls
setInterval(() => {
  const b = []
  for (let i = 0; i < video.buffered.length; i++) b.push([video.buffered.start(i), video.buffered.end(i)])
  const pd = hls.playingDate
  S.samples.push({
    at: Date.now(),
    ct: video.currentTime,
    paused: video.paused,
    readyState: video.readyState,
    buffered: b,
    latency: Number.isFinite(hls.latency) && hls.latency > 0 ? hls.latency : null,
    pdtLatency: pd ? (Date.now() - pd.getTime()) / 1000 : null,
    targetLatency: hls.targetLatency,
    rate: video.playbackRate,
  })
}, 250)
</script>
</body></html>
`
}

/** Serve one HTML page on 127.0.0.1:0 (a site embedding the stream from another origin). */
async function servePage(html: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' })
      res.end(html)
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` }
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return NaN
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!
}

const fmt = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : String(n))

t.test('hls.js plays the LL-HLS stream in Chromium without stalls at < 3 s latency', async (t) => {
  const origin = await startOrigin(t)
  const publisher = startPublisher(`${origin.rtmp}/e2e`, { width: 640, height: 360, fps: 30, gop: 30 })
  t.teardown(() => publisher.stop())

  // Start Chromium while the first segments are produced.
  const [browser, mediaUrl] = await Promise.all([
    launchChromium(t),
    (async () => {
      const multivariant = await waitFor(async () => {
        const r = await get(`${origin.http}/live/e2e/index.m3u8`).catch(() => undefined)
        return r?.status === 200 ? r.text : undefined
      }, 30_000, 'the multivariant playlist (publisher stderr: see below)').catch((err: Error) => {
        throw new Error(`${err.message}\n${(publisher as unknown as { stderrText: () => string }).stderrText()}`)
      })
      const uri = multivariant.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'))
      if (!uri) throw new Error(`multivariant playlist lists no variant:\n${multivariant}`)
      const url = new URL(uri.trim(), `${origin.http}/live/e2e/index.m3u8`).href
      await waitFor(async () => {
        const r = await get(url).catch(() => undefined)
        return r?.status === 200 && (r.text.match(/^#EXTINF/gm)?.length ?? 0) >= 2
      }, 30_000, `2 segments at ${url}`)
      return url
    })(),
  ])
  t.comment(`media playlist ${mediaUrl}`)

  const site = await servePage(playerPage(origin.http, `${origin.http}/live/e2e/index.m3u8`))
  t.teardown(() => new Promise<void>((resolve) => { site.server.closeAllConnections(); site.server.close(() => resolve()) }))

  const page = await browser.newPage()
  const requests = recordRequests(page)
  const consoleErrors: string[] = []
  page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`))
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(`console.error: ${msg.text()} (${msg.location().url})`) })

  const navigatedAt = Date.now()
  await page.goto(site.url, { waitUntil: 'load', timeout: 20_000 })
  const state = (): Promise<PageState> => page.evaluate(() => (window as unknown as { __e2e: PageState }).__e2e)

  const describe = async (): Promise<string> => {
    const s = await state().catch(() => undefined)
    return JSON.stringify({
      errors: s?.errors, warnings: s?.warnings.slice(-10), events: s?.events.slice(-10),
      lastSample: s?.samples.at(-1), consoleErrors: consoleErrors.slice(-10),
      lastRequests: requests.requests.slice(-8).map((r) => `${r.status ?? r.failure ?? 'pending'} ${r.url}`),
    }, null, 1)
  }

  // Playback starts.
  const firstPlayingAt = await waitFor(() => page.evaluate(() => (window as unknown as { __e2e: PageState }).__e2e.firstPlayingAt ?? undefined), 20_000, 'the first `playing` event')
    .catch(async (err: Error) => { throw new Error(`${err.message}\n${await describe()}`) })

  // Watch WATCH_SECONDS of playback (by the page's own clock, so host hiccups only lengthen the watch).
  await waitFor(() => page.evaluate((until) => {
    const s = (window as unknown as { __e2e: PageState }).__e2e
    return s.errors.some((e) => e.fatal) || (s.samples.at(-1)?.at ?? 0) >= until
  }, firstPlayingAt + WATCH_SECONDS * 1000), WATCH_SECONDS * 1000 + 15_000, `${WATCH_SECONDS} s of playback`)
  const s = await state()
  await page.close()
  // Printed only if an assertion fails, to show what the player was given.
  const playlistAtEnd = (await get(mediaUrl).catch((err: Error) => ({ text: String(err) }))).text

  t.comment(`hls.js ${s.hlsVersion} (${s.debugLines} debug lines, ${s.warnings.length} warnings); first \`playing\` ${firstPlayingAt - navigatedAt} ms after navigation`)

  // hls.js errors: none fatal; non-fatal ones are reported, stalling media errors fail.
  for (const e of s.errors) t.comment(`hls.js ERROR ${e.fatal ? 'FATAL ' : ''}${e.type}/${e.details} at +${e.at - firstPlayingAt} ms ${e.info}`)
  for (const w of s.warnings) t.comment(`hls.js ${w.level} at +${w.at - firstPlayingAt} ms: ${w.text}`)
  for (const c of consoleErrors) t.comment(c)
  t.same(s.errors.filter((e) => e.fatal).map((e) => `${e.type}/${e.details} ${e.info}`), [], 'no fatal hls.js error')
  t.same(
    s.errors.filter((e) => e.at >= firstPlayingAt && e.type === 'mediaError' && /stall/i.test(e.details)).map((e) => `${e.details} ${e.info}`),
    [], 'no stalling media error after playback started',
  )
  t.same(consoleErrors.filter((c) => c.startsWith('pageerror')), [], 'no uncaught error in the page')

  // Playback advanced in step with the wall clock.
  const watched = s.samples.filter((x) => x.at >= firstPlayingAt)
  t.ok(watched.length >= 20, `enough samples (${watched.length})`)
  const first = watched[0]!
  const last = watched.at(-1)!
  const wall = (last.at - first.at) / 1000
  const advanced = last.ct - first.ct
  t.comment(`currentTime advanced ${fmt(advanced)} s over ${fmt(wall)} s of wall time (${watched.length} samples)`)
  t.ok(wall >= 10, `watched ≥ 10 s of wall time (${fmt(wall)} s)`)
  t.ok(advanced >= 9 && advanced >= wall - 1.5, `currentTime advanced ${fmt(advanced)} s over ${fmt(wall)} s`)

  // No stall after start: no `waiting`, no pause, currentTime never stuck for > 1 s.
  const after = s.events.filter((e) => e.at > firstPlayingAt)
  t.same(after.filter((e) => e.type === 'waiting' || e.type === 'pause' || e.type === 'ended' || e.type === 'error')
    .map((e) => `${e.type} at +${e.at - firstPlayingAt} ms (currentTime ${fmt(e.ct)})`), [], 'no waiting/pause/ended/error event after the first `playing`')
  const seeks = after.filter((e) => e.type === 'seeking')
  if (seeks.length > 0) t.comment(`seeks after start: ${seeks.map((e) => `+${e.at - firstPlayingAt} ms @${fmt(e.ct)}`).join(', ')}`)
  const stuck: string[] = []
  let since = first
  for (const x of watched) {
    if (x.paused) stuck.push(`paused at +${x.at - firstPlayingAt} ms`)
    if (x.ct !== since.ct || x.paused) since = x
    else if (x.at - since.at > STUCK_MS) {
      stuck.push(`currentTime stuck at ${fmt(x.ct)} from +${since.at - firstPlayingAt} ms to +${x.at - firstPlayingAt} ms (readyState ${x.readyState}, buffered ${JSON.stringify(x.buffered)})`)
      since = x
    }
  }
  t.same(stuck, [], `currentTime never stuck for > ${STUCK_MS} ms while playing`)

  // Live latency, by hls.js's estimate and by program date time against the wall clock.
  const settled = watched.filter((x) => x.at >= firstPlayingAt + LATENCY_SETTLE_MS)
  const hlsLat = settled.map((x) => x.latency).filter((v): v is number => v !== null)
  const pdtLat = settled.map((x) => x.pdtLatency).filter((v): v is number => v !== null)
  const target = settled.at(-1)?.targetLatency
  t.comment(`latency (hls.latency): median ${fmt(quantile(hlsLat, 0.5))} s, p95 ${fmt(quantile(hlsLat, 0.95))} s, max ${fmt(Math.max(...hlsLat))} s over ${hlsLat.length} samples; target ${target ?? '?'} s`)
  t.comment(`latency (now - playingDate): median ${fmt(quantile(pdtLat, 0.5))} s, p95 ${fmt(quantile(pdtLat, 0.95))} s, max ${fmt(Math.max(...pdtLat))} s over ${pdtLat.length} samples`)
  t.ok(hlsLat.length >= settled.length * 0.9 && hlsLat.length >= 20, `hls.latency known in most samples (${hlsLat.length}/${settled.length})`)
  t.ok(pdtLat.length >= settled.length * 0.9 && pdtLat.length >= 20, `playingDate known in most samples (${pdtLat.length}/${settled.length})`)
  t.ok(quantile(hlsLat, 0.5) < MAX_LATENCY_S, `median hls.latency ${fmt(quantile(hlsLat, 0.5))} s < ${MAX_LATENCY_S} s`)
  t.ok(quantile(pdtLat, 0.5) < MAX_LATENCY_S, `median program-date-time latency ${fmt(quantile(pdtLat, 0.5))} s < ${MAX_LATENCY_S} s`)
  // A PDT latency below zero would mean the playlist's dates run ahead of the media.
  t.ok(Math.min(...pdtLat) > 0, `program-date-time latency always positive (min ${fmt(Math.min(...pdtLat))} s)`)

  // hls.js used LL-HLS blocking playlist reload.
  const playlists = requests.matching(/\.m3u8(\?|$)/)
  const blocking = requests.withQueryParam('_HLS_msn')
  const blockingPart = blocking.filter((r) => new URL(r.url).searchParams.has('_HLS_part'))
  const parts = requests.matching(/\/\d+\.\d+\.m4s(\?|$)/)
  const segments = requests.matching(/\/\d+\.m4s(\?|$)/)
  const statuses = (rs: typeof playlists): string => {
    const m = new Map<string, number>()
    for (const r of rs) m.set(String(r.status ?? r.failure ?? 'pending'), (m.get(String(r.status ?? r.failure ?? 'pending')) ?? 0) + 1)
    return [...m].map(([k, v]) => `${k}×${v}`).join(' ')
  }
  const held = blocking.filter((r) => r.respondedAt !== undefined).map((r) => r.respondedAt! - r.startedAt)
  t.comment(`requests: ${requests.requests.length} total; playlists ${playlists.length} [${statuses(playlists)}], ` +
    `with _HLS_msn ${blocking.length}, with _HLS_msn+_HLS_part ${blockingPart.length}; parts ${parts.length} [${statuses(parts)}], segments ${segments.length} [${statuses(segments)}]`)
  t.comment(`blocking playlist hold: median ${fmt(quantile(held, 0.5))} ms, p95 ${fmt(quantile(held, 0.95))} ms`)
  t.ok(blocking.length >= 5, `hls.js made blocking playlist requests with _HLS_msn (${blocking.length})`)
  t.ok(blockingPart.length >= 5, `hls.js made blocking playlist requests with _HLS_part (${blockingPart.length})`)
  t.ok(parts.length >= 5, `hls.js loaded LL-HLS parts (${parts.length})`)
  const refused = [...playlists, ...parts, ...segments].filter((r) => r.status !== undefined && r.status >= 400 && r.status !== 503)
  t.same(refused.map((r) => `${r.status} ${r.url}`), [], 'no playlist, part or segment request refused (4xx/5xx other than 503)')

  if (!t.passing()) {
    const t0 = requests.requests[0]?.startedAt ?? 0
    t.comment(`start-up requests (ms after the page request: issued → headers → done):\n${requests.requests.slice(0, 16)
      .map((r) => `+${r.startedAt - t0} → +${(r.respondedAt ?? NaN) - t0} → +${(r.finishedAt ?? NaN) - t0} ${r.status ?? r.failure} ${r.url}`).join('\n')}`)
    t.comment(`media events: ${s.events.map((e) => `${e.type}@+${e.at - t0}(${fmt(e.ct)})`).join(' ')}`)
    t.comment(`media playlist at the end of the watch:\n${playlistAtEnd}`)
  }

  // The product's own `/` page (same hls.js settings, served by the origin) plays the stream too.
  await t.test('the / page plays the stream', async (t) => {
    const home = await browser.newPage()
    const errors: string[] = []
    home.on('pageerror', (err) => errors.push(err.message))
    await home.goto(`${origin.http}/`, { waitUntil: 'load', timeout: 20_000 })
    t.equal(await home.evaluate(() => ((window as unknown as { players?: unknown[] }).players ?? []).length), 1, 'one hls.js player on the page (window.players)')
    const video = 'video[data-src="/live/e2e/index.m3u8"]'
    const currentTime = (): Promise<number | undefined> => home.evaluate((sel) => {
      const v = document.querySelector(sel) as HTMLVideoElement | null
      return v && !v.paused && v.readyState >= 3 ? v.currentTime : undefined
    }, video)
    const stats = (): Promise<string> => home.locator('.stats').first().textContent().then((x) => x ?? '', () => '?')
    const onFail = async (err: Error): Promise<never> => { throw new Error(`${err.message}; page stats: ${await stats()}`) }
    const startedAt = Date.now()
    const c0 = await waitFor(currentTime, 20_000, 'the / page to start playing').catch(onFail)
    const c1 = await waitFor(async () => ((await currentTime()) ?? 0) >= c0 + 3 ? currentTime() : undefined, 20_000, 'the / page to play 3 s').catch(onFail)
    const line = await waitFor(async () => /latency/.test(await stats()) && stats(), 5_000, 'the / page stats line').catch(() => stats())
    t.comment(`/ page played ${fmt(c1 - c0)} s (${Date.now() - startedAt} ms after load); its stats line: ${line}`)
    t.same(errors, [], 'no uncaught error in the / page')
    t.notMatch(await home.locator('.stats').first().textContent() ?? '', /player error/, 'no fatal player error shown')
    await home.close()
  })
})
