/**
 * Shared scaffolding for real-player playback tests (hls.js, shaka-player) in
 * Debian's Chromium: a live source, a page server, an in-page sampler of the
 * video element, and the assertions every player must pass (smooth playback,
 * LL-HLS blocking reload).
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import type { Browser, Page } from 'playwright-core'
import { startOrigin, waitFor, get, type TestOrigin } from './origin.js'
import { startPublisher } from './ffmpeg.js'
import { launchChromium, recordRequests, type RecordedRequest, type RequestLog } from './browser.js'
import { watchLoopFreezes, type FreezeLog } from './loop-freezes.js'

/** One sample of the video element and the player's latency estimates (taken every 250 ms). */
export interface Sample {
  at: number
  ct: number
  paused: boolean
  readyState: number
  buffered: Array<[number, number]>
  /** The player's own live latency estimate, s. */
  latency: number | null
  /** Wall clock minus the program date time at the playhead, s. */
  pdtLatency: number | null
  targetLatency: number | null
  /** Distance from the playhead to the end of the player's seekable range, s (if the player tells). */
  edge: number | null
  rate: number
  /** The player's current (playing) quality level index, if the probe tells (ABR tests). */
  level?: number | null
  /** Picture height of that level, if the probe tells. */
  height?: number | null
  /** The player's bandwidth estimate, bit/s, if the probe tells. */
  bwEstimate?: number | null
}

/** A player error as the page recorded it. */
export interface PlayerError { at: number; type: string; details: string; fatal: boolean; info: string }

/** What the page records: window.__e2e (see SAMPLER_SCRIPT). */
export interface PageState {
  samples: Sample[]
  events: Array<{ type: string; at: number; ct: number }>
  errors: PlayerError[]
  warnings: Array<{ at: number; level: string; text: string }>
  firstPlayingAt: number | null
  playerVersion: string
  /** Player debug lines dropped (counted to show the logger hook works). */
  debugLines: number
}

/**
 * In-page script: creates window.__e2e (a PageState) and `__e2eStart(video, probe)`,
 * which records the video's media events and, every 250 ms, a Sample whose latency
 * fields come from `probe()`.
 */
export const SAMPLER_SCRIPT = `
const S = window.__e2e = { samples: [], events: [], errors: [], warnings: [], firstPlayingAt: null, playerVersion: '?', debugLines: 0 }
window.__e2eStart = (video, probe) => {
  for (const type of ['playing', 'waiting', 'stalled', 'seeking', 'seeked', 'pause', 'ended', 'error', 'emptied']) {
    video.addEventListener(type, () => {
      const at = Date.now()
      if (type === 'playing' && S.firstPlayingAt === null) S.firstPlayingAt = at
      S.events.push({ type, at, ct: video.currentTime })
    })
  }
  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null)
  setInterval(() => {
    const b = []
    for (let i = 0; i < video.buffered.length; i++) b.push([video.buffered.start(i), video.buffered.end(i)])
    let p = {}
    try { p = probe() || {} } catch (e) { p = {} }
    S.samples.push({
      at: Date.now(), ct: video.currentTime, paused: video.paused, readyState: video.readyState, buffered: b,
      latency: num(p.latency), pdtLatency: num(p.pdtLatency), targetLatency: num(p.targetLatency), edge: num(p.edge),
      rate: video.playbackRate, level: num(p.level), height: num(p.height), bwEstimate: num(p.bwEstimate),
    })
  }, 250)
}
`

/**
 * The start of a player test page: a muted autoplaying 640x360 video `#v`, the player
 * script at `scriptSrc`, the sampler (SAMPLER_SCRIPT), and an open script tag for the
 * page's own code, which closes it.
 */
export function playerPageStart(title: string, scriptSrc: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title><link rel="icon" href="data:,"></head>
<body>
<video id="v" muted playsinline autoplay style="width:640px;height:360px"></video>
<script src="${scriptSrc}"></script>
<script>${SAMPLER_SCRIPT}</script>
<script>
`
}

/** Quantile by nearest rank (NaN for no values). */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return NaN
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!
}

/** Two decimals, or the value's own text when not finite. */
export const fmt = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : String(n))

/** "median …, p95 …, max … over N samples" for a list of seconds. */
export const spread = (xs: number[]): string =>
  `median ${fmt(quantile(xs, 0.5))} s, p95 ${fmt(quantile(xs, 0.95))} s, max ${fmt(Math.max(...xs))} s over ${xs.length} samples`

/** Serve `/` (the page) and static files (`/name` → file path) on 127.0.0.1:0; closed at teardown. */
export async function servePage(t: Test, html: string, files: Record<string, string> = {}): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!
    const file = files[path]
    if (path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' })
      res.end(html)
    } else if (file) {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'max-age=3600' })
      res.end(readFileSync(file))
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` }
}

/** A live stream published over RTMP to a fresh origin, and a Chromium to watch it with. */
export interface LiveSource {
  origin: TestOrigin
  browser: Browser
  multivariantUrl: string
  /** The first variant's media playlist, once it lists ≥ 2 segments. */
  mediaUrl: string
  /** Freezes of this process's event loop (origin, shields, browser driver) from the start. */
  freezes: FreezeLog
}

/** Start an origin, publish a 640x360 30 fps test source as `stream`, and launch Chromium meanwhile. */
export async function startLiveSource(t: Test, stream: string): Promise<LiveSource> {
  const freezes = watchLoopFreezes(t)
  const origin = await startOrigin(t)
  const publisher = startPublisher(`${origin.rtmp}/${stream}`, { width: 640, height: 360, fps: 30, gop: 30 })
  t.teardown(() => publisher.stop())
  const multivariantUrl = `${origin.http}/live/${stream}/index.m3u8`
  const [browser, mediaUrl] = await Promise.all([
    launchChromium(t),
    (async () => {
      const multivariant = await waitFor(async () => {
        const r = await get(multivariantUrl).catch(() => undefined)
        return r?.status === 200 ? r.text : undefined
      }, 30_000, 'the multivariant playlist (publisher stderr: see below)').catch((err: Error) => {
        throw new Error(`${err.message}\n${publisher.stderrText()}`)
      })
      const uri = multivariant.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'))
      if (!uri) throw new Error(`multivariant playlist lists no variant:\n${multivariant}`)
      const url = new URL(uri.trim(), multivariantUrl).href
      await waitFor(async () => {
        const r = await get(url).catch(() => undefined)
        return r?.status === 200 && (r.text.match(/^#EXTINF/gm)?.length ?? 0) >= 2
      }, 30_000, `2 segments at ${url}`)
      return url
    })(),
  ])
  return { origin, browser, multivariantUrl, mediaUrl, freezes }
}

/** An open player page with its request log. */
export interface PlayerSession {
  page: Page
  requests: RequestLog
  /** Uncaught page errors (`pageerror: …`) and console errors (`console.error: …`). */
  consoleErrors: string[]
  navigatedAt: number
  state: () => Promise<PageState>
  /** A JSON digest of the page's recent state, for failure messages. */
  describe: () => Promise<string>
}

/** Open `url` in a new page of `browser`, recording its requests and console errors. */
export async function openPlayerPage(browser: Browser, url: string): Promise<PlayerSession> {
  const page = await browser.newPage()
  const requests = recordRequests(page)
  const consoleErrors: string[] = []
  page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`))
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(`console.error: ${msg.text()} (${msg.location().url})`) })
  const navigatedAt = Date.now()
  await page.goto(url, { waitUntil: 'load', timeout: 20_000 })
  const state = (): Promise<PageState> => page.evaluate(() => (window as unknown as { __e2e: PageState }).__e2e)
  const describe = async (): Promise<string> => {
    const s = await state().catch(() => undefined)
    return JSON.stringify({
      errors: s?.errors, warnings: s?.warnings.slice(-10), events: s?.events.slice(-10),
      lastSample: s?.samples.at(-1), consoleErrors: consoleErrors.slice(-10),
      lastRequests: requests.requests.slice(-8).map((r) => `${r.status ?? r.failure ?? 'pending'} ${r.url}`),
    }, null, 1)
  }
  return { page, requests, consoleErrors, navigatedAt, state, describe }
}

/**
 * Wait for the first `playing`, then for `seconds` of playback by the page's own clock
 * (host hiccups only lengthen the watch), or a fatal player error. Returns the final state.
 */
export async function watchPlayback(session: PlayerSession, seconds: number): Promise<{ s: PageState; firstPlayingAt: number }> {
  const { page } = session
  const firstPlayingAt = await waitFor(() => page.evaluate(() => (window as unknown as { __e2e: PageState }).__e2e.firstPlayingAt ?? undefined), 20_000, 'the first `playing` event')
    .catch(async (err: Error) => { throw new Error(`${err.message}\n${await session.describe()}`) })
  await waitFor(() => page.evaluate((until) => {
    const s = (window as unknown as { __e2e: PageState }).__e2e
    return s.errors.some((e) => e.fatal) || (s.samples.at(-1)?.at ?? 0) >= until
  }, firstPlayingAt + seconds * 1000), seconds * 1000 + 15_000, `${seconds} s of playback`)
  return { s: await session.state(), firstPlayingAt }
}

/**
 * Assert that playback after the first `playing` advanced in step with the wall clock
 * for ≥ `minWallSeconds`, with no waiting/pause/ended/error event and currentTime never
 * stuck for more than `stuckMs`. A `waiting` that this process's own event loop freeze
 * explains (`freezes`: the origin could not answer; see loop-freezes.ts) is reported,
 * not failed. Returns the samples taken after the first `playing`.
 */
export function assertSmoothPlayback(t: Test, s: PageState, firstPlayingAt: number, o: { minWallSeconds: number; stuckMs?: number; freezes?: FreezeLog }): Sample[] {
  const stuckMs = o.stuckMs ?? 1000
  const watched = s.samples.filter((x) => x.at >= firstPlayingAt)
  t.ok(watched.length >= o.minWallSeconds * 2, `enough samples (${watched.length})`)
  const first = watched[0]
  const last = watched.at(-1)
  if (!first || !last) return watched
  const wall = (last.at - first.at) / 1000
  const advanced = last.ct - first.ct
  t.comment(`currentTime advanced ${fmt(advanced)} s over ${fmt(wall)} s of wall time (${watched.length} samples)`)
  t.ok(wall >= o.minWallSeconds, `watched ≥ ${o.minWallSeconds} s of wall time (${fmt(wall)} s)`)
  t.ok(advanced >= o.minWallSeconds - 1 && advanced >= wall - 1.5, `currentTime advanced ${fmt(advanced)} s over ${fmt(wall)} s`)

  const after = s.events.filter((e) => e.at > firstPlayingAt)
  // The stuck-currentTime check below still applies to the whole watch, excused or not.
  const excused = after.filter((e) => e.type === 'waiting' && o.freezes?.explaining(e.at))
  for (const e of excused) {
    const f = o.freezes!.explaining(e.at)!
    t.comment(`waiting at +${e.at - firstPlayingAt} ms (currentTime ${fmt(e.ct)}) not failed: this process's event loop stood still ${f.ms} ms from +${f.from - firstPlayingAt} ms (the origin could not answer)`)
  }
  t.same(after.filter((e) => !excused.includes(e)).filter((e) => e.type === 'waiting' || e.type === 'pause' || e.type === 'ended' || e.type === 'error')
    .map((e) => `${e.type} at +${e.at - firstPlayingAt} ms (currentTime ${fmt(e.ct)})`), [], 'no waiting/pause/ended/error event after the first `playing`')
  const seeks = after.filter((e) => e.type === 'seeking')
  if (seeks.length > 0) t.comment(`seeks after start: ${seeks.map((e) => `+${e.at - firstPlayingAt} ms @${fmt(e.ct)}`).join(', ')}`)
  const stuck: string[] = []
  let since = first
  for (const x of watched) {
    if (x.paused) stuck.push(`paused at +${x.at - firstPlayingAt} ms`)
    if (x.ct !== since.ct || x.paused) since = x
    else if (x.at - since.at > stuckMs) {
      stuck.push(`currentTime stuck at ${fmt(x.ct)} from +${since.at - firstPlayingAt} ms to +${x.at - firstPlayingAt} ms (readyState ${x.readyState}, buffered ${JSON.stringify(x.buffered)})`)
      since = x
    }
  }
  t.same(stuck, [], `currentTime never stuck for > ${stuckMs} ms while playing`)
  return watched
}

const statuses = (rs: RecordedRequest[]): string => {
  const m = new Map<string, number>()
  for (const r of rs) m.set(String(r.status ?? r.failure ?? 'pending'), (m.get(String(r.status ?? r.failure ?? 'pending')) ?? 0) + 1)
  return [...m].map(([k, v]) => `${k}×${v}`).join(' ')
}

/**
 * Assert the player used LL-HLS: ≥ `min` playlist requests with `_HLS_msn`, ≥ `min` with
 * `_HLS_msn` and `_HLS_part`, ≥ `min` part loads, and no request refused (4xx/5xx but 503).
 */
export function assertBlockingReload(t: Test, requests: RequestLog, o: { player: string; min: number }): void {
  const playlists = requests.matching(/\.m3u8(\?|$)/)
  const blocking = requests.withQueryParam('_HLS_msn')
  const blockingPart = blocking.filter((r) => new URL(r.url).searchParams.has('_HLS_part'))
  const skip = requests.withQueryParam('_HLS_skip')
  const parts = requests.matching(/\/\d+\.\d+\.m4s(\?|$)/)
  const segments = requests.matching(/\/\d+\.m4s(\?|$)/)
  const held = blocking.filter((r) => r.respondedAt !== undefined).map((r) => r.respondedAt! - r.startedAt)
  t.comment(`requests: ${requests.requests.length} total; playlists ${playlists.length} [${statuses(playlists)}], ` +
    `with _HLS_msn ${blocking.length}, with _HLS_msn+_HLS_part ${blockingPart.length}, with _HLS_skip ${skip.length}; ` +
    `parts ${parts.length} [${statuses(parts)}], segments ${segments.length} [${statuses(segments)}]`)
  t.comment(`blocking playlist hold: median ${fmt(quantile(held, 0.5))} ms, p95 ${fmt(quantile(held, 0.95))} ms; ` +
    `${held.filter((ms) => ms >= 100).length} of ${held.length} held ≥ 100 ms`)
  t.ok(blocking.length >= o.min, `${o.player} made blocking playlist requests with _HLS_msn (${blocking.length})`)
  t.ok(blockingPart.length >= o.min, `${o.player} made blocking playlist requests with _HLS_part (${blockingPart.length})`)
  t.ok(parts.length >= o.min, `${o.player} loaded LL-HLS parts (${parts.length})`)
  const refused = [...playlists, ...parts, ...segments].filter((r) => r.status !== undefined && r.status >= 400 && r.status !== 503)
  t.same(refused.map((r) => `${r.status} ${r.url}`), [], 'no playlist, part or segment request refused (4xx/5xx other than 503)')
}

/** Failure diagnostics: the start-up requests with timing, the media events, the playlist at the end. */
export function commentStartup(t: Test, requests: RequestLog, s: PageState, playlistAtEnd: string): void {
  const t0 = requests.requests[0]?.startedAt ?? 0
  t.comment(`start-up requests (ms after the page request: issued → headers → done):\n${requests.requests.slice(0, 16)
    .map((r) => `+${r.startedAt - t0} → +${(r.respondedAt ?? NaN) - t0} → +${(r.finishedAt ?? NaN) - t0} ${r.status ?? r.failure} ${r.url}`).join('\n')}`)
  t.comment(`media events: ${s.events.map((e) => `${e.type}@+${e.at - t0}(${fmt(e.ct)})`).join(' ')}`)
  t.comment(`media playlist at the end of the watch:\n${playlistAtEnd}`)
}
