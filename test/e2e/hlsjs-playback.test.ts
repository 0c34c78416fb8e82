/// <reference lib="dom" />
/**
 * End to end: FFmpeg publishes over RTMP, the origin packages LL-HLS, and hls.js
 * (served by the origin) plays it in Debian's Chromium. Plays ≥ 20 s without a
 * stall, at a live latency under 3 s, using blocking playlist reload.
 */
import t from 'tap'
import { waitFor, get } from '../helpers/origin.js'
import { fmt, openPlayerPage, quantile, servePage, spread, startLiveSource, watchPlayback } from '../helpers/playback.js'
import { assertBlockingReload, assertSmoothPlayback, commentStartup } from '../helpers/playback-asserts.js'
import { hlsjsPageEnd, hlsjsPageStart } from '../helpers/hlsjs-pages.js'
import { takeBrowserTurn } from '../helpers/browser-turn.js'

// Browser tests take turns (test/helpers/browser-turn.ts).
await takeBrowserTurn(t)

/** Seconds of playback observed after the first `playing` event (≥ 20 s of samples). */
const WATCH_SECONDS = 21
/** Samples taken in this first part of the watch are not counted for latency (start-up). */
const LATENCY_SETTLE_MS = 3000
const MAX_LATENCY_S = 3

/** A minimal player page with the same hls.js settings as the `/` page, instrumented. */
function playerPage(origin: string, src: string): string {
  return `${hlsjsPageStart('streamd e2e', origin)}
hls.on(Hls.Events.MANIFEST_PARSED, () => { video.play().catch(() => {}) })
window.__e2eStart(video, () => {
  const pd = hls.playingDate
  return {
    latency: Number.isFinite(hls.latency) && hls.latency > 0 ? hls.latency : null,
    pdtLatency: pd ? (Date.now() - pd.getTime()) / 1000 : null,
    targetLatency: hls.targetLatency,
  }
})
${hlsjsPageEnd(src)}`
}

t.test('hls.js plays the LL-HLS stream in Chromium without stalls at < 3 s latency', async (t) => {
  const { origin, browser, multivariantUrl, mediaUrl, freezes } = await startLiveSource(t, 'e2e')
  t.comment(`media playlist ${mediaUrl}`)

  const site = await servePage(t, playerPage(origin.http, multivariantUrl))
  const session = await openPlayerPage(browser, site.url)
  const { requests, consoleErrors } = session
  const { s, firstPlayingAt } = await watchPlayback(session, WATCH_SECONDS)
  await session.page.close()
  // Printed only if an assertion fails, to show what the player was given.
  const playlistAtEnd = (await get(mediaUrl).catch((err: Error) => ({ text: String(err) }))).text

  t.comment(`hls.js ${s.playerVersion} (${s.debugLines} debug lines, ${s.warnings.length} warnings); first \`playing\` ${firstPlayingAt - session.navigatedAt} ms after navigation`)

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

  // Playback advanced in step with the wall clock; no `waiting`, no pause, currentTime never stuck for > 1 s.
  const watched = assertSmoothPlayback(t, s, firstPlayingAt, { minWallSeconds: 20, freezes })

  // Live latency, by hls.js's estimate and by program date time against the wall clock.
  const settled = watched.filter((x) => x.at >= firstPlayingAt + LATENCY_SETTLE_MS)
  const hlsLat = settled.map((x) => x.latency).filter((v): v is number => v !== null)
  const pdtLat = settled.map((x) => x.pdtLatency).filter((v): v is number => v !== null)
  const target = settled.at(-1)?.targetLatency
  t.comment(`latency (hls.latency): ${spread(hlsLat)}; target ${target ?? '?'} s`)
  t.comment(`latency (now - playingDate): ${spread(pdtLat)}`)
  t.ok(hlsLat.length >= settled.length * 0.9 && hlsLat.length >= 20, `hls.latency known in most samples (${hlsLat.length}/${settled.length})`)
  t.ok(pdtLat.length >= settled.length * 0.9 && pdtLat.length >= 20, `playingDate known in most samples (${pdtLat.length}/${settled.length})`)
  t.ok(quantile(hlsLat, 0.5) < MAX_LATENCY_S, `median hls.latency ${fmt(quantile(hlsLat, 0.5))} s < ${MAX_LATENCY_S} s`)
  t.ok(quantile(pdtLat, 0.5) < MAX_LATENCY_S, `median program-date-time latency ${fmt(quantile(pdtLat, 0.5))} s < ${MAX_LATENCY_S} s`)
  // A PDT latency below zero would mean the playlist's dates run ahead of the media.
  t.ok(Math.min(...pdtLat) > 0, `program-date-time latency always positive (min ${fmt(Math.min(...pdtLat))} s)`)

  // hls.js used LL-HLS blocking playlist reload (_HLS_msn and _HLS_part) and loaded parts.
  assertBlockingReload(t, requests, { player: 'hls.js', min: 20 })

  if (!t.passing()) commentStartup(t, requests, s, playlistAtEnd)

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
