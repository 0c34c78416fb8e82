/// <reference lib="dom" />
/**
 * End to end through the shield: hls.js in Debian's Chromium plays the same live
 * stream directly from the origin, through one shield, and through two chained
 * shields, all at once (same machine, same moment); the shielded players' live
 * latency stays within 0.3 s of the direct one's, and blocking reloads and parts
 * go through the shields' collapsing cache.
 */
import t from 'tap'
import { SAMPLER_SCRIPT, fmt, openPlayerPage, quantile, servePage, spread, startLiveSource, watchPlayback } from '../helpers/playback.js'
import { assertBlockingReload, assertSmoothPlayback } from '../helpers/playback-asserts.js'
import { startShield } from '../helpers/shield.js'
import { takeBrowserTurn } from '../helpers/browser-turn.js'

// Browser tests take turns (test/helpers/browser-turn.ts).
await takeBrowserTurn(t)

const WATCH_SECONDS = 16
const SETTLE_MS = 4000

function page(scriptOrigin: string, src: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body>
<video id="v" muted playsinline autoplay style="width:320px;height:180px"></video>
<script src="${scriptOrigin}/static/hls.min.js"></script>
<script>${SAMPLER_SCRIPT}</script>
<script>
S.playerVersion = Hls.version
const video = document.getElementById('v')
const hls = new Hls({ lowLatencyMode: true, backBufferLength: 30, maxLiveSyncPlaybackRate: 1.5, debug: false })
hls.on(Hls.Events.ERROR, (_, d) => S.errors.push({ at: Date.now(), type: d.type, details: d.details, fatal: d.fatal, info: String(d.url || d.frag?.url || '') }))
hls.on(Hls.Events.MANIFEST_PARSED, () => { video.play().catch(() => {}) })
window.__e2eStart(video, () => {
  const pd = hls.playingDate
  return { latency: Number.isFinite(hls.latency) && hls.latency > 0 ? hls.latency : null, pdtLatency: pd ? (Date.now() - pd.getTime()) / 1000 : null, targetLatency: hls.targetLatency }
})
hls.loadSource(${JSON.stringify(src)})
hls.attachMedia(video)
</script></body></html>`
}

t.test('hls.js plays through one and two chained shields at the direct latency', async (t) => {
  const { origin, browser, freezes } = await startLiveSource(t, 'sh')
  const one = await startShield(t, [origin.http])
  const two = await startShield(t, [one.url])
  const paths = { direct: origin.http, shield: one.url, chained: two.url }
  const sessions = await Promise.all(Object.entries(paths).map(async ([name, base]) => {
    const site = await servePage(t, page(base, `${base}/live/sh/index.m3u8`))
    return { name, session: await openPlayerPage(browser, site.url) }
  }))
  const watched = await Promise.all(sessions.map(async ({ name, session }) => ({ name, session, ...(await watchPlayback(session, WATCH_SECONDS)) })))
  const medians: Record<string, number> = {}
  for (const { name, session, s, firstPlayingAt } of watched) {
    await t.test(`${name}: smooth LL-HLS playback`, async (t) => {
      const samples = assertSmoothPlayback(t, s, firstPlayingAt, { minWallSeconds: WATCH_SECONDS - 2, freezes })
      assertBlockingReload(t, session.requests, { player: `hls.js via ${name}`, min: 10 })
      const lat = samples.filter((x) => x.at >= firstPlayingAt + SETTLE_MS).map((x) => x.pdtLatency).filter((v): v is number => v !== null)
      t.ok(lat.length >= 10, `latency samples (${lat.length})`)
      medians[name] = quantile(lat, 0.5)
      t.comment(`${name}: program-date-time latency ${spread(lat)}`)
    })
    await session.page.close()
  }
  t.comment(`median latency: direct ${fmt(medians.direct!)} s, one shield ${fmt(medians.shield!)} s, two shields ${fmt(medians.chained!)} s`)
  t.ok(medians.shield! - medians.direct! <= 0.3, `one shield adds ≤ 0.3 s (${fmt(medians.shield! - medians.direct!)} s)`)
  t.ok(medians.chained! - medians.direct! <= 0.3, `two chained shields add ≤ 0.3 s (${fmt(medians.chained! - medians.direct!)} s)`)
  const c1 = one.shield.cache.collapser.stats
  t.comment(`shield 1: ${c1.upstreamRequests} upstream requests, ${c1.collapsed} collapsed, prefetches ${one.shield.cache.prefetches.started}`)
  t.ok(one.shield.cache.prefetches.started > 0, 'the first shield prefetched preload-hinted parts')
})
