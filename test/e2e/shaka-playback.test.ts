/// <reference lib="dom" />
/**
 * End to end: FFmpeg publishes over RTMP, the origin packages LL-HLS, and
 * shaka-player (its compiled UI-less build, served locally) plays it in low-latency
 * mode in Debian's Chromium: ≥ 20 s without a stall or a player error, at a low
 * live latency, using blocking playlist reload with `_HLS_msn` and `_HLS_part`.
 */
import { createRequire } from 'node:module'
import t from 'tap'
import { get } from '../helpers/origin.js'
import { fmt, openPlayerPage, quantile, servePage, spread, startLiveSource, watchPlayback, playerPageStart } from '../helpers/playback.js'
import { assertBlockingReload, assertSmoothPlayback, commentStartup } from '../helpers/playback-asserts.js'
import { takeBrowserTurn } from '../helpers/browser-turn.js'

// Browser tests take turns (test/helpers/browser-turn.ts).
await takeBrowserTurn(t)

/** Seconds of playback observed after the first `playing` event (≥ 20 s of samples). */
const WATCH_SECONDS = 21
/** Samples taken in this first part of the watch are not counted for latency (start-up). */
const LATENCY_SETTLE_MS = 3000
/**
 * shaka has no live catch-up unless streaming.liveSync is enabled, so start-up delay and
 * renderer hiccups on a loaded host add up over the watch (medians seen: 1.35–2.56 s).
 */
const MAX_LATENCY_S = 4
/** shaka's compiled build without the UI: DASH, HLS, MSE; no CDN. */
const SHAKA_JS = createRequire(import.meta.url).resolve('shaka-player/dist/shaka-player.compiled.js')

/** What the page keeps about shaka beyond the common PageState (window.__shaka). */
interface ShakaState {
  /** player.getStats() at the end of the watch. */
  stats: {
    stallsDetected: number
    gapsJumped: number
    bufferingTime: number
    liveLatency: number
    nonFatalErrorCount: number
    stateHistory: Array<{ timestamp: number; duration: number; state: string }>
  } | null
  /** player.getNonDefaultConfiguration() after load. */
  config: unknown
  lowLatency: { manifestIsLowLatency: boolean | null; modeOn: boolean | null }
  /** Wall-clock times of shaka's `stalldetected` / `gapjumped` events. */
  stallEvents: number[]
  gapEvents: number[]
  /** Non-aborted failed downloads: "HTTP-status URL". */
  failedDownloads: string[]
}

/**
 * shaka-player in low-latency mode. shaka 5 turns `streaming.lowLatencyMode` on by
 * default; set explicitly, it applies shaka's LL defaults on streams that declare
 * parts (inaccurateManifestTolerance 0, segmentPrefetchLimit 2, updateIntervalSeconds
 * 0.1, 100 ms retry base delay) and makes the HLS parser start PART-HOLD-BACK from the
 * live edge and reload the playlist every PART-TARGET, blocking with
 * `_HLS_msn`/`_HLS_part` when the playlist says CAN-BLOCK-RELOAD.
 */
function playerPage(src: string): string {
  return `${playerPageStart('streamd e2e (shaka)', `/shaka-player.compiled.js`)}
S.playerVersion = shaka.Player.version
const X = window.__shaka = { stats: null, config: null, lowLatency: { manifestIsLowLatency: null, modeOn: null }, stallEvents: [], gapEvents: [], failedDownloads: [] }
shaka.polyfill.installAll()
const video = document.getElementById('v')
const player = new shaka.Player()
window.player = player
player.addEventListener('error', (ev) => {
  const e = ev.detail || {}
  S.errors.push({ at: Date.now(), type: 'category ' + e.category, details: 'code ' + e.code, fatal: e.severity === 2,
    info: ((e.message || '') + ' ' + JSON.stringify(e.data || [])).slice(0, 400) })
})
player.addEventListener('stalldetected', () => X.stallEvents.push(Date.now()))
player.addEventListener('gapjumped', () => X.gapEvents.push(Date.now()))
player.addEventListener('downloadfailed', (ev) => {
  if (!ev.aborted) X.failedDownloads.push((ev.httpResponseCode || '') + ' ' + (ev.request && ev.request.uris ? ev.request.uris[0] : '?'))
})
window.__e2eStart(video, () => {
  if (!player.isLive() || !video.currentTime) return {}
  // getStats().liveLatency's formula (getLiveLatency() itself is not exported by the compiled build).
  const start = player.getPresentationStartTimeAsDate()
  const date = player.getPlayheadTimeAsDate()
  const range = player.seekRange()
  return {
    latency: start ? (Date.now() - start.getTime()) / 1000 - video.currentTime : null,
    pdtLatency: date ? (Date.now() - date.getTime()) / 1000 : null,
    edge: range ? range.end - video.currentTime : null,
  }
})
;(async () => {
  await player.attach(video)
  player.configure({
    streaming: {
      lowLatencyMode: true,
      // Leave the stall detector on (1 s threshold) so a stall shows in getStats().stallsDetected.
      stallEnabled: true,
    },
  })
  await player.load(${JSON.stringify(src)})
  X.config = player.getNonDefaultConfiguration()
  X.lowLatency = { manifestIsLowLatency: player.getManifest() ? player.getManifest().isLowLatency : null, modeOn: player.getConfiguration().streaming.lowLatencyMode }
  await video.play().catch(() => {})
})().catch((e) => {
  S.errors.push({ at: Date.now(), type: 'load', details: 'code ' + (e && e.code), fatal: true, info: String((e && e.stack) || e).slice(0, 1500) })
})
</script>
</body></html>
`
}

t.test('shaka-player (lowLatencyMode) plays the LL-HLS stream in Chromium without stalls', async (t) => {
  const { browser, multivariantUrl, mediaUrl, freezes } = await startLiveSource(t, 'shaka')
  t.comment(`media playlist ${mediaUrl}`)

  const site = await servePage(t, playerPage(multivariantUrl), { '/shaka-player.compiled.js': SHAKA_JS })
  const session = await openPlayerPage(browser, site.url)
  const { requests, consoleErrors } = session
  const { s, firstPlayingAt } = await watchPlayback(session, WATCH_SECONDS)
  const x = await session.page.evaluate(() => {
    const X = (window as unknown as { __shaka: ShakaState; player: { getStats: () => ShakaState['stats'] } })
    X.__shaka.stats = X.player.getStats()
    return X.__shaka
  })
  await session.page.close()
  const playlistAtEnd = (await get(mediaUrl).catch((err: Error) => ({ text: String(err) }))).text

  t.comment(`shaka-player ${s.playerVersion}; first \`playing\` ${firstPlayingAt - session.navigatedAt} ms after navigation; ` +
    `manifest isLowLatency ${x.lowLatency.manifestIsLowLatency}, lowLatencyMode ${x.lowLatency.modeOn}`)
  t.comment(`non-default configuration after load: ${JSON.stringify(x.config)}`)

  // No shaka error event at all (recoverable or critical), no uncaught page error.
  for (const e of s.errors) t.comment(`shaka ERROR ${e.fatal ? 'CRITICAL ' : ''}${e.type} ${e.details} at +${e.at - firstPlayingAt} ms ${e.info}`)
  for (const f of x.failedDownloads) t.comment(`shaka download failed: ${f}`)
  for (const c of consoleErrors) t.comment(c)
  t.ok(x.lowLatency.manifestIsLowLatency === true && x.lowLatency.modeOn === true, 'shaka took the stream as low-latency and played it in lowLatencyMode')
  t.same(s.errors.map((e) => `${e.type} ${e.details} ${e.info}`), [], 'no shaka error event')
  t.same(consoleErrors.filter((c) => c.startsWith('pageerror')), [], 'no uncaught error in the page')

  // Playback advanced in step with the wall clock; no `waiting`, no pause, currentTime never stuck for > 1 s.
  const watched = assertSmoothPlayback(t, s, firstPlayingAt, { minWallSeconds: 20, freezes })

  // shaka's own account: no stall detected, no gap jumped, no buffering state after the first `playing`.
  const stats = x.stats
  t.ok(stats, 'player.getStats() read')
  if (stats) {
    const bufferingAfterStart = stats.stateHistory
      .filter((h) => h.state === 'buffering' && (h.timestamp + h.duration) * 1000 > firstPlayingAt + 100)
      .map((h) => `${fmt(h.duration)} s from +${Math.round(h.timestamp * 1000 - firstPlayingAt)} ms`)
    t.comment(`getStats(): stallsDetected ${stats.stallsDetected}, gapsJumped ${stats.gapsJumped}, bufferingTime ${fmt(stats.bufferingTime)} s, ` +
      `liveLatency ${fmt(stats.liveLatency)} s, nonFatalErrorCount ${stats.nonFatalErrorCount}; states ${stats.stateHistory.map((h) => `${h.state} ${fmt(h.duration)} s`).join(', ')}`)
    const at = (ts: number[]): string => ts.map((v) => `+${v - firstPlayingAt} ms`).join(', ') || 'none'
    if (x.stallEvents.length + x.gapEvents.length > 0) t.comment(`stalldetected events: ${at(x.stallEvents)}; gapjumped events: ${at(x.gapEvents)}`)
    t.equal(stats.stallsDetected, 0, 'shaka detected no stall')
    t.equal(stats.gapsJumped, 0, 'shaka jumped no gap')
    t.same(bufferingAfterStart, [], 'shaka never buffered after the first `playing`')
    t.equal(stats.nonFatalErrorCount, 0, 'shaka counted no non-fatal error')
  }

  // Live latency by shaka's estimate (program date time of the presentation start + currentTime against the clock),
  // by the program date time at the playhead, and the distance to shaka's live edge.
  const settled = watched.filter((v) => v.at >= firstPlayingAt + LATENCY_SETTLE_MS)
  const lat = settled.map((v) => v.latency).filter((v): v is number => v !== null)
  const pdtLat = settled.map((v) => v.pdtLatency).filter((v): v is number => v !== null)
  const edge = settled.map((v) => v.edge).filter((v): v is number => v !== null)
  t.comment(`latency (shaka's liveLatency): ${spread(lat)}`)
  t.comment(`latency (now - getPlayheadTimeAsDate): ${spread(pdtLat)}`)
  t.comment(`distance to the live edge (seekRange().end - currentTime): ${spread(edge)}`)
  t.ok(lat.length >= settled.length * 0.9 && lat.length >= 20, `shaka's live latency known in most samples (${lat.length}/${settled.length})`)
  t.ok(pdtLat.length >= settled.length * 0.9 && pdtLat.length >= 20, `getPlayheadTimeAsDate known in most samples (${pdtLat.length}/${settled.length})`)
  t.ok(quantile(lat, 0.5) < MAX_LATENCY_S, `median shaka live latency ${fmt(quantile(lat, 0.5))} s < ${MAX_LATENCY_S} s`)
  t.ok(quantile(pdtLat, 0.5) < MAX_LATENCY_S, `median program-date-time latency ${fmt(quantile(pdtLat, 0.5))} s < ${MAX_LATENCY_S} s`)
  t.ok(Math.min(...pdtLat) > 0, `program-date-time latency always positive (min ${fmt(Math.min(...pdtLat))} s)`)

  // shaka used LL-HLS blocking playlist reload (_HLS_msn and _HLS_part) and loaded parts.
  assertBlockingReload(t, requests, { player: 'shaka', min: 20 })

  if (!t.passing()) commentStartup(t, requests, s, playlistAtEnd)
})
