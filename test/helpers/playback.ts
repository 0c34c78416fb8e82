/**
 * Shared scaffolding for real-player playback tests (hls.js, shaka-player) in
 * Debian's Chromium: a live source, a page server, an in-page sampler of the
 * video element, and watching a player page. The assertions every player must
 * pass (smooth playback, LL-HLS blocking reload) live in playback-asserts.ts.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import type { Browser, Page } from 'playwright-core'
import { startOrigin, waitFor, get, type TestOrigin } from './origin.js'
import { startPublisher } from './ffmpeg.js'
import { launchChromium, recordRequests, type RequestLog } from './browser.js'
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
