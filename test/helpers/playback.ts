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
import type { Browser, CDPSession, Page } from 'playwright-core'
import { startOrigin, waitFor, get, type TestOrigin } from './origin.js'
import { startPublisher } from './ffmpeg.js'
import { launchChromium, recordRequests, type RecordedRequest, type RequestLog } from './browser.js'
import type { LiveStream } from '../../src/packager/live-stream.js'

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
}

/** Start an origin, publish a 640x360 30 fps test source as `stream`, and launch Chromium meanwhile. */
export async function startLiveSource(t: Test, stream: string): Promise<LiveSource> {
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
  return { origin, browser, multivariantUrl, mediaUrl }
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
 * stuck for more than `stuckMs`. Returns the samples taken after the first `playing`.
 */
export function assertSmoothPlayback(t: Test, s: PageState, firstPlayingAt: number, o: { minWallSeconds: number; stuckMs?: number; startupGraceMs?: number }): Sample[] {
  const stuckMs = o.stuckMs ?? 1000
  const grace = o.startupGraceMs ?? 0
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
  // A caller may excuse a `waiting` right after start (start-up buffering): said, not failed.
  // The stuck-currentTime check below still applies to the whole watch.
  const early = after.filter((e) => e.type === 'waiting' && e.at - firstPlayingAt <= grace)
  if (early.length > 0) t.comment(`start-up waiting (within ${grace} ms, not failed): ${early.map((e) => `+${e.at - firstPlayingAt} ms @${fmt(e.ct)}`).join(', ')}`)
  t.same(after.filter((e) => !early.includes(e)).filter((e) => e.type === 'waiting' || e.type === 'pause' || e.type === 'ended' || e.type === 'error')
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

/** An interval in which playback did not advance: from `waiting` to `playing`, or currentTime frozen between samples. */
export interface Stall {
  kind: 'waiting' | 'stuck'
  /** Wall clock, ms since the epoch. */
  from: number
  to: number
  ms: number
  /** currentTime when it began. */
  ct: number
  /** True when the stall had not ended when the state was read. */
  open: boolean
}

/**
 * Every stall at or after `since`: each `waiting` event up to the next `playing`
 * (or the last sample), and each run of samples with currentTime frozen while
 * not paused, measured from the first frozen sample to the first moving one
 * (the sampling period makes that ±250 ms). Unlike assertSmoothPlayback, this
 * tolerates short stalls, for tests that bound their length (ABR switches).
 */
export function findStalls(s: PageState, since: number): Stall[] {
  const stalls: Stall[] = []
  const end = s.samples.at(-1)?.at ?? since
  const events = s.events.filter((e) => e.at >= since)
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    if (e.type !== 'waiting') continue
    const resumed = events.slice(i + 1).find((x) => x.type === 'playing')
    const to = resumed?.at ?? end
    stalls.push({ kind: 'waiting', from: e.at, to, ms: to - e.at, ct: e.ct, open: resumed === undefined })
    // A second `waiting` before `playing` belongs to the same stall.
    while (i + 1 < events.length && events[i + 1] !== resumed) i++
  }
  const watched = s.samples.filter((x) => x.at >= since)
  let runStart: Sample | undefined
  for (let i = 1; i < watched.length; i++) {
    const prev = watched[i - 1]!
    const x = watched[i]!
    const frozen = !x.paused && !prev.paused && x.ct === prev.ct
    if (frozen && !runStart) runStart = prev
    if (runStart && (!frozen || i === watched.length - 1)) {
      stalls.push({ kind: 'stuck', from: runStart.at, to: x.at, ms: x.at - runStart.at, ct: runStart.ct, open: frozen })
      runStart = undefined
    }
  }
  return stalls.sort((a, b) => a.from - b.from)
}

/** Network conditions applied to one page through the Chrome DevTools Protocol. */
export interface NetworkThrottle {
  /** Limit downloads to `kbps` kbit/s (upload unlimited, no added latency); undefined lifts the limit. */
  set: (kbps: number | undefined) => Promise<void>
  cdp: CDPSession
}

/** Throttle `page`'s network with CDP `Network.emulateNetworkConditions` (Chromium only). */
export async function networkThrottle(page: Page): Promise<NetworkThrottle> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Network.enable')
  return {
    cdp,
    set: async (kbps) => {
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        // Bytes per second; -1 disables throttling.
        downloadThroughput: kbps === undefined ? -1 : (kbps * 1000) / 8,
        uploadThroughput: -1,
      })
    },
  }
}

/** Whether the origin's workers kept up with real time while a player watched (to tell a slow box from a player bug). */
export interface ProductionWatch {
  /** Stop sampling (also done at teardown). */
  stop: () => void
  /** Lowest encoder speed (media s per wall s, a 5 s average) sampled in [from, to]. */
  slowest: (from: number, to?: number) => number
  /** Per rendition: min/median speed and median/max part lag (ms after its media's wall-clock time) in [from, to]. */
  summary: (from: number, to?: number) => string
}

/**
 * Sample each rendition's speed every 500 ms; part lags come from the store's
 * parts: completion time minus the program date time of the part's end.
 */
export function watchProduction(t: Test, stream: LiveStream): ProductionWatch {
  const speeds = new Map<string, Array<{ at: number; v: number }>>()
  const timer = setInterval(() => {
    for (const [name, r] of stream.renditions) if (r.speed !== undefined) speeds.set(name, [...(speeds.get(name) ?? []), { at: Date.now(), v: r.speed }])
  }, 500)
  const stop = (): void => clearInterval(timer)
  t.teardown(stop)
  const within = (xs: Array<{ at: number; v: number }>, from: number, to: number): number[] => xs.filter((x) => x.at >= from && x.at <= to).map((x) => x.v)
  const lags = (name: string): Array<{ at: number; v: number }> => {
    const out: Array<{ at: number; v: number }> = []
    for (const seg of stream.renditions.get(name)?.segments ?? []) {
      let offset = 0
      for (const part of seg.parts) {
        offset += part.duration
        out.push({ at: part.completedAt, v: part.completedAt - (seg.pdt + offset * 1000) })
      }
    }
    return out
  }
  return {
    stop,
    slowest: (from, to = Infinity) => Math.min(...[...speeds.values()].flatMap((xs) => within(xs, from, to))),
    summary: (from, to = Infinity) => [...stream.renditions.keys()].map((n) => {
      const sp = within(speeds.get(n) ?? [], from, to)
      const lag = within(lags(n), from, to)
      return `${n} speed ${fmt(Math.min(...sp))}/${fmt(quantile(sp, 0.5))}, lag ${Math.round(quantile(lag, 0.5))}/${Math.round(Math.max(...lag))} ms`
    }).join('; '),
  }
}
