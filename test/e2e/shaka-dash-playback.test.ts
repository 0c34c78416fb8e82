/**
 * End to end: shaka-player (lowLatencyMode) plays streamd's MPD in Debian's
 * Chromium for ≥ 20 s without a stall or an error.
 */
import t from 'tap'
import { launchChromium } from '../helpers/browser.js'
import { fmt, openPlayerPage, quantile, servePage, spread, watchPlayback } from '../helpers/playback.js'
import { assertSmoothPlayback } from '../helpers/playback-asserts.js'
import { startDashLive } from '../helpers/dash.js'
import { SHAKA_JS, shakaDashPage } from '../helpers/dash-pages.js'
import { takeBrowserTurn } from '../helpers/browser-turn.js'

// Browser tests take turns (test/helpers/browser-turn.ts).
await takeBrowserTurn(t)

const WATCH_SECONDS = 21
const LATENCY_SETTLE_MS = 3000
/** A sanity bound, not a speed goal: shaka has no catch-up by default. */
const MAX_LATENCY_S = 6

t.test('shaka-player plays the DASH stream in Chromium without stalls', async (t) => {
  const [f, browser] = await Promise.all([startDashLive(t, 'shakadash'), launchChromium(t)])
  const site = await servePage(t, shakaDashPage(f.mpdUrl), { '/shaka-player.compiled.js': SHAKA_JS })
  const session = await openPlayerPage(browser, site.url)
  const { s, firstPlayingAt } = await watchPlayback(session, WATCH_SECONDS)
  const stats = await session.page.evaluate(() => (window as unknown as { player: { getStats: () => { stallsDetected: number; gapsJumped: number } } }).player.getStats())
  await session.page.close()
  t.comment(`shaka-player ${s.playerVersion}; first \`playing\` ${firstPlayingAt - session.navigatedAt} ms after navigation`)
  for (const e of s.errors) t.comment(`shaka ERROR ${e.type} ${e.details} ${e.info}`)
  t.same(s.errors.map((e) => `${e.type} ${e.details} ${e.info}`), [], 'no shaka error event')
  t.equal(stats.stallsDetected, 0, 'shaka detected no stall')
  const watched = assertSmoothPlayback(t, s, firstPlayingAt, { minWallSeconds: 20 })
  const lat = watched.filter((v) => v.at >= firstPlayingAt + LATENCY_SETTLE_MS).map((v) => v.pdtLatency).filter((v): v is number => v !== null)
  t.comment(`latency (now - getPlayheadTimeAsDate): ${spread(lat)}`)
  t.ok(lat.length >= 20, `latency known in ${lat.length} samples`)
  t.ok(quantile(lat, 0.5) < MAX_LATENCY_S, `median latency ${fmt(quantile(lat, 0.5))} s < ${MAX_LATENCY_S} s`)
})
