/// <reference lib="dom" />
/**
 * End to end: hls.js (the `/` page's settings) in Chromium plays one stream through
 * every change of its input: the primary (RTMP, red) is killed and the backup (SRT,
 * blue) takes over, the primary comes back and returns, both die and the slate holds
 * the stream for over 10 s, then the backup comes back. No fatal player error, no
 * stall, and the playhead moves on through every phase.
 */
import t from 'tap'
import { startOrigin, waitFor, get, type TestOrigin } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'
import { srtUrl, startSrtPublisher } from '../helpers/srt.js'
import { launchChromium } from '../helpers/browser.js'
import { fmt, openPlayerPage, quantile, servePage, watchPlayback, type PageState, type PlayerSession } from '../helpers/playback.js'
import { assertSmoothPlayback } from '../helpers/playback-asserts.js'
import { findStalls, watchProduction } from '../helpers/playback-trouble.js'
import { hlsjsPageEnd, hlsjsPageStart } from '../helpers/hlsjs-pages.js'
import { watchLoopFreezes } from '../helpers/loop-freezes.js'
import { describeAlignment, watchOnAir, watchParts, type Phase } from '../helpers/failover-watch.js'
import { takeBrowserTurn } from '../helpers/browser-turn.js'

// Browser tests take turns (test/helpers/browser-turn.ts).
await takeBrowserTurn(t)

const STREAM = 'failover'
/** Small and cheap: the box has 2 cores for every test file, the browser and three FFmpegs. */
const SOURCE = { width: 320, height: 180, fps: 30, gop: 30 }

/** hls.js page with the `/` page's settings, recording every fragment and part it loads. */
function playerPage(origin: string, src: string): string {
  return `${hlsjsPageStart('streamd e2e failover', origin)}
S.loads = []
hls.on(Hls.Events.MANIFEST_PARSED, () => { video.play().catch(() => {}) })
hls.on(Hls.Events.FRAG_LOADED, (_, d) => {
  if (d.frag.sn === 'initSegment') return
  const start = d.part ? d.part.start : d.frag.start
  const dur = d.part ? d.part.duration : d.frag.duration
  S.loads.push({ at: Date.now(), type: d.frag.type, level: d.frag.level, sn: d.frag.sn, part: d.part ? d.part.index : -1, start: +start.toFixed(3), end: +(start + dur).toFixed(3) })
  if (S.loads.length > 4000) S.loads.splice(0, 2000)
})
window.__e2eStart(video, () => {
  const pd = hls.playingDate
  return {
    latency: Number.isFinite(hls.latency) && hls.latency > 0 ? hls.latency : null,
    pdtLatency: pd ? (Date.now() - pd.getTime()) / 1000 : null,
    targetLatency: hls.targetLatency,
    level: hls.currentLevel,
  }
})
${hlsjsPageEnd(src)}`
}

type FailoverPageState = PageState & { loads: Array<{ at: number; type: string; level: number; sn: number; part: number; start: number; end: number }> }

const api = async (o: TestOrigin): Promise<any> => JSON.parse((await get(`${o.http}/api/v1/streams/${STREAM}`)).text)

/** Seconds of media buffered ahead of the playhead in a sample. */
const ahead = (x: PageState['samples'][number]): number => {
  const r = x.buffered.find(([a, b]) => a <= x.ct + 0.01 && x.ct <= b)
  return r ? r[1] - x.ct : 0
}

t.test('hls.js plays through a primary kill, its return and 10 s of slate without a stall', async (t) => {
  const freezes = watchLoopFreezes(t)
  const o = await startOrigin(t, {
    ladder: { enabled: true, preset: 'ultrafast', rungs: [{ name: 'source', copy: true }, { name: '144p', height: 144, bitrate: 200 }] },
    worker: { minBackoffMs: 100, maxBackoffMs: 1000 },
    // A kill closes the connection (RTMP at once; SRT by silence), so lossMs only decides how long a
    // silence is a loss. The test's FFmpeg publishers share a 2-core box with every other test and
    // were seen going silent for 0.5-1 s at start-up: with 500 ms each was a loss and a slate.
    redundancy: { lossMs: 1500, returnAfterMs: 3000 },
    slate: { maxSeconds: 40 },
  })
  const multivariantUrl = `${o.http}/live/${STREAM}/index.m3u8`
  // The primary first, so it is on air from the start; the backup joins it standing by.
  let primary = startPublisher(`${o.rtmp}/${STREAM}`, { ...SOURCE, color: 'red' })
  t.teardown(() => primary.stop())
  const [browser] = await Promise.all([
    launchChromium(t),
    waitFor(async () => ((await get(`${o.http}/live/${STREAM}/144p/index.m3u8`)).text.match(/^#EXTINF/gm)?.length ?? 0) >= 2, 30_000, 'two 144p segments'),
  ])
  const backupUrl = srtUrl(o.srtPort, `publish:${STREAM}:KEY:backup`)
  let backup = startSrtPublisher(backupUrl, { ...SOURCE, color: 'blue' })
  t.teardown(() => backup.stop())
  await waitFor(async () => (await api(o)).inputs?.find((i: any) => i.role === 'backup')?.state === 'standby', 30_000, 'the backup standing by')
  const stream = o.origin.directory.get(STREAM)!
  const production = watchProduction(t, stream)
  const parts = watchParts(t, stream)

  const site = await servePage(t, playerPage(o.http, multivariantUrl))
  const session = await openPlayerPage(browser, site.url)
  const state = (): Promise<FailoverPageState> => session.page.evaluate(() => (window as unknown as { __e2e: FailoverPageState }).__e2e)
  const mediaPlaylists = async (): Promise<Record<string, string>> => Object.fromEntries(await Promise.all(['source', '144p', 'audio']
    .map(async (r) => [r, (await get(`${o.http}/live/${STREAM}/${r}/index.m3u8`).catch((e: Error) => ({ text: String(e) }))).text] as const)))
  const fail = async (err: Error): Promise<never> => {
    const texts = await mediaPlaylists()
    throw new Error(`${err.message}\n${await session.describe()}\n${describeAlignment(texts)}\n${Object.entries(texts).map(([r, x]) => `${r}:\n${x}`).join('\n')}`)
  }
  const { firstPlayingAt } = await watchPlayback(session, 10).catch(fail)
  const onAir = watchOnAir(t, async () => (await api(o)).onAir)

  const phases: Phase[] = []
  // A phase begins at the kill that starts it (the switch is part of it), or when a returning input goes on air.
  let phase: Phase = { name: 'primary', from: firstPlayingAt, to: NaN }
  const alignments: string[] = []
  const next = async (name: string): Promise<void> => {
    phase.to = Date.now()
    phases.push(phase)
    phase = { name, from: phase.to, to: NaN }
    alignments.push(`at the end of ${phases.at(-1)!.name}: ${describeAlignment(await mediaPlaylists())}`)
  }
  /** The switch counters of /metrics that the watched sequence moves. */
  const switchCounts = async (): Promise<{ loss: number; return: number; recovered: number }> => {
    const metrics = (await get(`${o.http}/metrics`)).text
    const n = (cause: string): number => Number(new RegExp(`streamd_input_switches_total\\{stream="${STREAM}",cause="${cause}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0)
    return { loss: n('loss'), return: n('return'), recovered: n('recovered') }
  }
  const before = await switchCounts()
  t.comment(`switches before the watch: ${JSON.stringify(before)}`)
  const onAirIs = (want: string, ms = 20_000): Promise<unknown> => waitFor(async () => (await api(o)).onAir === want, ms, `${want} on air`).catch(fail)

  // The primary dies without a word (kill -9): its connection drops and the backup takes over.
  await next('backup')
  await primary.stop()
  await onAirIs('backup')
  await playFor(session, 6_000)

  // The primary comes back; after returnAfterMs of media it returns at its key frame.
  primary = startPublisher(`${o.rtmp}/${STREAM}`, { ...SOURCE, color: 'red' })
  await onAirIs('primary')
  await next('primary again')
  await playFor(session, 5_000)

  // Both die: the backup (standing by) first, then the primary on air, so the slate follows the primary directly.
  await backup.stop()
  await waitFor(async () => (await api(o)).inputs?.find((i: any) => i.role === 'backup')?.state === 'lost', 10_000, 'the backup lost').catch(fail)
  await next('slate')
  await primary.stop()
  await onAirIs('slate')
  await playFor(session, 11_000)

  // The backup comes back and goes on air at its first key frame.
  backup = startSrtPublisher(backupUrl, { ...SOURCE, color: 'blue' })
  await onAirIs('backup')
  await next('backup again')
  await playFor(session, 4_000)
  await next('end')

  const s = await state()
  await session.page.close()
  onAir.stop()

  // What happened, phase by phase: printed always (the numbers this test exists for).
  for (const p of phases) {
    const xs = s.samples.filter((x) => x.at >= p.from && x.at <= p.to)
    const stalls = findStalls(s, p.from).filter((x) => x.from <= p.to)
    const lat = xs.map((x) => x.latency).filter((v): v is number => v !== null)
    t.comment(`${p.name}: ${fmt((p.to - p.from) / 1000)} s; currentTime +${fmt((xs.at(-1)?.ct ?? NaN) - (xs[0]?.ct ?? NaN))} s; ` +
      `buffer ahead min ${fmt(Math.min(...xs.map(ahead)))} s; hls.latency median ${fmt(quantile(lat, 0.5))} s; ` +
      `levels ${[...new Set(xs.map((x) => x.level))].join(',')}; stalls: ${stalls.map((x) => `${x.kind} ${x.ms} ms at +${x.from - firstPlayingAt} ms`).join(', ') || 'none'}`)
    t.comment(`  production: ${production.summary(p.from, p.to)}; ${parts.summary(p.from, p.to, firstPlayingAt)}`)
  }
  for (const a of alignments) t.comment(a)
  t.comment(`on air: ${onAir.seen.map((x) => `${x.value} at +${x.at - firstPlayingAt} ms`).join(', ')}`)
  for (const w of s.warnings) t.comment(`hls.js ${w.level} at +${w.at - firstPlayingAt} ms: ${w.text}`)
  for (const e of s.errors) t.comment(`hls.js ERROR ${e.fatal ? 'FATAL ' : ''}${e.type}/${e.details} at +${e.at - firstPlayingAt} ms ${e.info}`)

  t.same(s.errors.filter((e) => e.fatal).map((e) => `${e.type}/${e.details} ${e.info}`), [], 'no fatal hls.js error')
  t.same(session.consoleErrors.filter((c) => c.startsWith('pageerror')), [], 'no uncaught error in the page')
  t.same(onAir.seen.map((x) => x.value), ['primary', 'backup', 'primary', 'slate', 'backup'], 'on air: primary → backup → primary → slate → backup')
  const after = await switchCounts()
  t.same(Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof typeof before]])), { loss: 2, return: 1, recovered: 1 },
    'switches while watched, counted by cause: none missed by polling')

  // Zero stalls over the whole watch, as every playback test counts them.
  assertSmoothPlayback(t, s, firstPlayingAt, { minWallSeconds: 40, freezes })
  // And the playhead kept pace with the wall clock within each phase.
  for (const p of phases) {
    const xs = s.samples.filter((x) => x.at >= p.from && x.at <= p.to)
    const wall = ((xs.at(-1)?.at ?? 0) - (xs[0]?.at ?? 0)) / 1000
    const advanced = (xs.at(-1)?.ct ?? 0) - (xs[0]?.ct ?? 0)
    t.ok(xs.length >= 8 && advanced >= wall - 1.5, `${p.name}: currentTime advanced ${fmt(advanced)} s over ${fmt(wall)} s`)
  }
  // The media hls.js loaded in the 2 s before each stall: which rendition ran dry.
  for (const x of findStalls(s, firstPlayingAt)) {
    const loads = s.loads.filter((l) => l.at >= x.from - 2000 && l.at <= x.from)
    t.comment(`before the ${x.kind} stall at +${x.from - firstPlayingAt} ms (currentTime ${fmt(x.ct)}): ` +
      `${loads.map((l) => `${l.type} ${l.sn}.${l.part} [${l.start}, ${l.end}) at +${l.at - firstPlayingAt}`).join('; ') || 'no loads'}`)
  }

  /** Wait for `ms` more of playback by the page's clock, or a fatal player error. */
  async function playFor(session: PlayerSession, ms: number): Promise<void> {
    const until = Date.now() + ms
    await waitFor(() => session.page.evaluate((until) => {
      const s = (window as unknown as { __e2e: PageState }).__e2e
      return s.errors.some((e) => e.fatal) || (s.samples.at(-1)?.at ?? 0) >= until
    }, until), ms + 15_000, `${ms} ms of playback`).catch(fail)
  }
})
