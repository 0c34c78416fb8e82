/// <reference lib="dom" />
/**
 * End to end "degrade, never stall": hls.js (low-latency mode) plays the rung
 * that the origin then sheds (a speed threshold no encoder can reach forces
 * it). The shed rung's playlist goes on as EXT-X-GAP segments, so hls.js must
 * move to a rung that exists and keep playing, with no fatal error and no
 * stall longer than two segments.
 */
import t from 'tap'
import { startOrigin, waitFor, get } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'
import { launchChromium } from '../helpers/browser.js'
import { openPlayerPage, servePage, type PageState, playerPageStart } from '../helpers/playback.js'
import { findStalls } from '../helpers/playback-trouble.js'
import { takeBrowserTurn } from '../helpers/browser-turn.js'

// Browser tests take turns (test/helpers/browser-turn.ts).
await takeBrowserTurn(t)

const STREAM = 'shedplay'
/** Play this long after the shed (page clock). */
const AFTER_SHED_MS = 10_000

/** hls.js page, its automatic level choice capped at the 480p rung (the one shed first). */
function playerPage(origin: string, src: string): string {
  return `${playerPageStart('streamd e2e shed', `${origin}/static/hls.min.js`)}
S.playerVersion = Hls.version
S.levels = []
S.loads = []
const video = document.getElementById('v')
const hls = new Hls({ lowLatencyMode: true, backBufferLength: 30 })
hls.on(Hls.Events.ERROR, (_, d) => {
  S.errors.push({ at: Date.now(), type: d.type, details: d.details, fatal: d.fatal, info: String(d.frag?.url || d.url || d.reason || '').slice(0, 300) })
})
hls.on(Hls.Events.MANIFEST_PARSED, () => {
  S.levels = hls.levels.map((l) => l.height)
  const cap = hls.levels.findIndex((l) => l.height === 480)
  hls.autoLevelCapping = cap
  hls.startLevel = cap
  video.play().catch(() => {})
})
hls.on(Hls.Events.FRAG_LOADED, (_, d) => {
  if (d.frag.sn === 'initSegment') return
  S.loads.push({ at: Date.now(), level: d.frag.level, height: hls.levels[d.frag.level]?.height, sn: d.frag.sn, part: d.part ? d.part.index : -1 })
  if (S.loads.length > 2000) S.loads.splice(0, 1000)
})
window.__e2eStart(video, () => ({ level: hls.currentLevel, height: hls.currentLevel >= 0 ? hls.levels[hls.currentLevel]?.height : null }))
hls.loadSource(${JSON.stringify(src)})
hls.attachMedia(video)
</script>
</body></html>
`
}

type ShedPageState = PageState & { levels: number[]; loads: Array<{ at: number; level: number; height: number; sn: number; part: number }> }

t.test('hls.js on a rung that is shed moves to one that exists and keeps playing', async (t) => {
  const origin = await startOrigin(t, { ladder: { enabled: true }, worker: { shedBelowSpeed: 50 } })
  const pub = startPublisher(`${origin.rtmp}/${STREAM}`, { width: 1280, height: 720, fps: 30, gop: 60 })
  t.teardown(() => pub.stop())
  const multivariantUrl = `${origin.http}/live/${STREAM}/index.m3u8`
  const [browser] = await Promise.all([
    launchChromium(t),
    waitFor(async () => {
      const r = await get(multivariantUrl).catch(() => undefined)
      return r?.status === 200 && /^480p\/index\.m3u8$/m.test(r.text)
    }, 40_000, 'a multivariant playlist with the 480p rung'),
  ])
  const site = await servePage(t, playerPage(origin.http, multivariantUrl))
  const session = await openPlayerPage(browser, site.url)
  const state = (): Promise<ShedPageState> => session.page.evaluate(() => (window as unknown as { __e2e: ShedPageState }).__e2e)
  const fail = async (err: Error): Promise<never> => { throw new Error(`${err.message}\n${await session.describe()}`) }

  await waitFor(async () => (await state()).loads.some((l) => l.height === 480), 30_000, 'hls.js loading the 480p rung').catch(fail)
  const stream = origin.origin.directory.get(STREAM)!
  const shed = await waitFor(() => stream.renditions.get('480p')?.shed, 40_000, '480p to be shed').catch(fail)
  const shedAt = Date.now()
  t.pass(`480p shed: ${shed}`)
  await waitFor(async () => ((await state()).samples.at(-1)?.at ?? 0) >= shedAt + AFTER_SHED_MS, AFTER_SHED_MS + 15_000, 'playback after the shed').catch(fail)
  const s = await state()

  t.same(s.errors.filter((e) => e.fatal), [], 'no fatal hls.js error')
  const later = s.loads.filter((l) => l.at >= shedAt + 4000)
  t.ok(later.length > 0, `hls.js kept loading media (${later.length} loads in the last ${AFTER_SHED_MS / 1000 - 4} s)`)
  t.ok(later.every((l) => l.height !== 480), `and no longer from the shed rung (heights ${[...new Set(later.map((l) => l.height))].join(', ')})`)
  const first = s.samples.find((x) => x.at >= shedAt)
  const last = s.samples.at(-1)
  t.ok(first && last && last.ct - first.ct >= (last.at - first.at) / 1000 - 4, `currentTime advanced ${first && last ? (last.ct - first.ct).toFixed(2) : '?'} s over ${first && last ? ((last.at - first.at) / 1000).toFixed(2) : '?'} s after the shed`)
  const stalls = findStalls(s, shedAt)
  t.ok(stalls.every((x) => x.ms <= 4000), `no stall over two segments (${stalls.map((x) => `${x.kind} ${x.ms} ms`).join(', ') || 'none'})`)
})
