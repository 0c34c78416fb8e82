/**
 * End to end: FFmpeg publishes over RTMP, the origin packages a ladder, and
 * dash.js (low-latency: chunked segments, ServiceDescription target, catch-up)
 * plays the MPD in Debian's Chromium for ≥ 20 s without a stall or an error.
 * Then, with the same browser and origin, dash.js plays through a shield and
 * synchronizes its clock with the shield, never with the origin (the MPD's
 * UTCTiming is relative to the MPD, and the shield answers /time itself).
 */
import t from 'tap'
import { launchChromium } from '../helpers/browser.js'
import { fmt, openPlayerPage, quantile, servePage, spread, watchPlayback } from '../helpers/playback.js'
import { assertSmoothPlayback } from '../helpers/playback-asserts.js'
import { startDashLive } from '../helpers/dash.js'
import { DASHJS_JS, dashjsPage } from '../helpers/dash-pages.js'
import { startShield } from '../helpers/shield.js'
import { get, waitFor } from '../helpers/origin.js'
import { metric } from '../helpers/conformance.js'
import { takeBrowserTurn } from '../helpers/browser-turn.js'

// Browser tests take turns (test/helpers/browser-turn.ts).
await takeBrowserTurn(t)

const WATCH_SECONDS = 21
const LATENCY_SETTLE_MS = 3000
/** A sanity bound, not a speed goal (bench/latency measures that): far below HLS's 3-segment default. */
const MAX_LATENCY_S = 4

t.test('dash.js (low latency) plays the LL-DASH stream in Chromium without stalls', async (t) => {
  const [f, browser] = await Promise.all([startDashLive(t, 'dashjs'), launchChromium(t)])
  const site = await servePage(t, dashjsPage(f.mpdUrl), { '/dash.all.min.js': DASHJS_JS })
  const session = await openPlayerPage(browser, site.url)
  const { s, firstPlayingAt } = await watchPlayback(session, WATCH_SECONDS)
  const x = await session.page.evaluate(() => (window as unknown as { __dash: { stalls: number; lowLatency: boolean | null } }).__dash)
  const segs = session.requests.matching(/\/\d+\.m4s$/)
  await session.page.close()
  t.comment(`dash.js ${s.playerVersion}; low-latency mode ${x.lowLatency}; first \`playing\` ${firstPlayingAt - session.navigatedAt} ms after navigation`)
  for (const e of s.errors) t.comment(`dash.js ERROR ${e.details} ${e.info}`)
  for (const c of session.consoleErrors) t.comment(c)
  t.same(s.errors.map((e) => `${e.details} ${e.info}`), [], 'no dash.js error event')
  t.equal(x.lowLatency, true, 'dash.js took the MPD as low-latency')
  t.equal(x.stalls, 0, 'dash.js reported no playback stall')
  const watched = assertSmoothPlayback(t, s, firstPlayingAt, { minWallSeconds: 20 })
  const lat = watched.filter((v) => v.at >= firstPlayingAt + LATENCY_SETTLE_MS).map((v) => v.latency).filter((v): v is number => v !== null && v > 0)
  t.comment(`latency (dash.js getCurrentLiveLatency): ${spread(lat)}`)
  t.ok(lat.length >= 20, `latency known in ${lat.length} samples`)
  t.ok(quantile(lat, 0.5) < MAX_LATENCY_S, `median latency ${fmt(quantile(lat, 0.5))} s < ${MAX_LATENCY_S} s`)
  const bad = segs.filter((r) => r.status !== undefined && r.status >= 400)
  t.comment(`segment requests: ${segs.length}, refused: ${bad.map((r) => `${r.status} ${r.url}`).join(', ') || 'none'}`)
  t.ok(segs.length >= 20, 'dash.js loaded the {msn}.m4s segments')

  await t.test('through a shield, dash.js reads the clock from the shield', async (t) => {
    const shield = await startShield(t, [f.o.http])
    const timeRequests = async (base: string): Promise<number> =>
      metric((await get(`${base}/metrics`)).text, 'streamd_http_requests_total', 'route="time",status="200"') || 0
    const atOrigin0 = await timeRequests(f.o.http)
    const site = await servePage(t, dashjsPage(`${shield.url}/live/${f.name}/manifest.mpd`), { '/dash.all.min.js': DASHJS_JS })
    const session = await openPlayerPage(browser, site.url)
    const sync = await waitFor(() => session.requests.requests.find((r) => r.url.endsWith('/time') && r.status !== undefined), 30_000, 'dash.js clock sync request')
    const playing = await waitFor(async () => (await session.state()).firstPlayingAt !== null, 30_000, 'dash.js playing through the shield').catch(() => false)
    const state = await session.state()
    await session.page.close()
    t.equal(sync.url, `${shield.url}/time`, 'dash.js asked the shield for the time')
    t.equal(sync.status, 200)
    t.ok(await timeRequests(shield.url) >= 1, 'the shield answered /time itself')
    t.equal(await timeRequests(f.o.http), atOrigin0, 'no clock request reached the origin')
    t.ok(playing, 'dash.js plays through the shield')
    t.same(state.errors.map((e) => `${e.details} ${e.info}`), [], 'no dash.js error through the shield')
  })
})
