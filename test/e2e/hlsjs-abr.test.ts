/// <reference lib="dom" />
/**
 * End to end ABR: a 1280x720 publish becomes a ladder, hls.js (low-latency mode,
 * the `/` page's settings) plays it in Debian's Chromium, settles on a high
 * level, then the page's network is throttled (CDP) so only the lowest rung
 * fits: hls.js must switch down and keep playing with no stall longer than one
 * segment, and switch back up once the throttle is lifted.
 *
 * ABR_SOURCE_KBPS=800 publishes at the shared helper's rate instead, which makes
 * the ladder's 480p rung cost more than the 720p source (see SOURCE_KBPS).
 */
import { loadavg } from 'node:os'
import t from 'tap'
import { startOrigin, waitFor, get } from '../helpers/origin.js'
import { launchChromium, type RecordedRequest } from '../helpers/browser.js'
import { fmt, openPlayerPage, quantile, servePage, spread, type PageState, type Sample } from '../helpers/playback.js'
import { findStalls, networkThrottle, watchProduction } from '../helpers/playback-trouble.js'
import { abrPlayerPage, startAbrSource, type AbrPageState, type AbrState } from '../helpers/hlsjs-pages.js'
import { takeBrowserTurn } from '../helpers/browser-turn.js'

// Browser tests take turns (test/helpers/browser-turn.ts).
await takeBrowserTurn(t)

const STREAM = 'abr'
/**
 * Download limit while throttled, kbit/s: room for the 240p rung with audio (~330 kbit/s)
 * and the playlist requests, not for 360p (~900 kbit/s) or anything above.
 */
const THROTTLE_KBPS = 600
/** The origin's segment target, s; the longest tolerated stall is one segment. */
const SEGMENT_S = 2
const SEGMENT_MS = SEGMENT_S * 1000
/** Watch at least this long on a high level before throttling (page clock, after the first `playing`). */
const SETTLE_MS = 4000
/** Deadlines (wall clock), generous for a loaded 2-core box; hls.js usually needs 1-2 s down, 2-8 s up. */
const HIGH_DEADLINE_MS = 20_000
const DOWN_DEADLINE_MS = 10_000
const UP_DEADLINE_MS = 20_000
/** Play on the low level this long after the down-switch, still throttled. */
const THROTTLED_HOLD_MS = 6000
/** Play this long after the up-switch. */
const AFTER_UP_MS = 3000

/**
 * Video bitrate of the published 720p source, kbit/s: a usual 720p30 rate, above every
 * encoded rung. At the shared helper's 800 kbit/s the copied 720p top rung (~1 Mbit/s
 * with audio) costs less than the 480p rung (1.2 Mbit/s + audio), and hls.js (levels
 * ordered by height) then takes 10-16 s to leave 720p when throttled, stalling 3-4 s.
 */
const SOURCE_KBPS = Number(process.env.ABR_SOURCE_KBPS ?? 2500)

t.test('hls.js switches ladder levels when the bandwidth is throttled, without stalling > 1 segment', async (t) => {
  // ultrafast: the test is about hls.js's switching, and a 720p ladder at the default preset
  // next to another browser test (tap runs two files at once) left this 2-core box's
  // encoders at 0.6x real time, the player seconds behind live before the throttle began.
  const origin = await startOrigin(t, { ladder: { enabled: true, preset: 'ultrafast' }, hls: { segmentTarget: SEGMENT_S } })
  const publisher = startAbrSource(t, `${origin.rtmp}/${STREAM}`, SOURCE_KBPS)
  const multivariantUrl = `${origin.http}/live/${STREAM}/index.m3u8`

  const [browser, multivariant] = await Promise.all([
    launchChromium(t),
    (async () => {
      await waitFor(async () => {
        const r = await get(multivariantUrl).catch(() => undefined)
        return r?.status === 200 && (r.text.match(/EXT-X-STREAM-INF/g)?.length ?? 0) >= 3
      }, 40_000, 'a multivariant playlist with the ladder').catch((err: Error) => {
        throw new Error(`${err.message}\n${publisher.stderrText()}`)
      })
      // BANDWIDTH is measured over complete segments: wait until every rendition has two.
      await waitFor(() => [...origin.origin.directory.get(STREAM)!.renditions.values()]
        .every((r) => r.segments.filter((s) => s.complete).length >= 2), 20_000, 'two segments in every rendition')
      return (await get(multivariantUrl)).text
    })(),
  ])
  t.comment(`multivariant playlist:\n${multivariant}`)

  // Whether the encoders kept up: evidence for telling a slow box from a player or packaging problem.
  const stream = origin.origin.directory.get(STREAM)!
  const production = watchProduction(t, stream)

  const site = await servePage(t, abrPlayerPage(origin.http, multivariantUrl))
  const session = await openPlayerPage(browser, site.url)
  const { page } = session
  const throttle = await networkThrottle(page)
  const abrState = (): Promise<AbrPageState> => page.evaluate(() => (window as unknown as { __e2e: AbrPageState }).__e2e)
  const lastSample = (): Promise<Sample | undefined> => page.evaluate(() => (window as unknown as { __e2e: PageState }).__e2e.samples.at(-1))
  const buffers = (): Promise<string[]> => page.evaluate(() => (window as unknown as { __e2eBuffers: () => string[] }).__e2eBuffers()).catch((e: Error) => [String(e)])
  const loadLine = (l: AbrState['loads'][number], t0: number): string =>
    `+${((l.at - t0) / 1000).toFixed(1)} s ${l.type} L${l.level} ${l.sn}.${l.part} [${l.start}, ${l.end}] ${l.bytes} B ${l.ms} ms (first byte ${l.ttfb} ms)`
  const fail = async (err: Error): Promise<never> => {
    const st = await abrState().catch(() => undefined)
    const t0 = st?.firstPlayingAt ?? session.navigatedAt
    throw new Error(`${err.message}\n${await session.describe()}\nsource buffers: ${(await buffers()).join('; ')}\n` +
      `switching: ${st?.abr.switching.map((e) => `+${e.at - t0} ms L${e.level}`).join(', ')}\nloads:\n${st?.abr.loads.map((l) => loadLine(l, t0)).join('\n')}`)
  }

  const firstPlayingAt = await waitFor(() => page.evaluate(() => (window as unknown as { __e2e: PageState }).__e2e.firstPlayingAt ?? undefined), 20_000, 'the first `playing` event').catch(fail)
  const { levels } = (await abrState()).abr
  t.comment(`hls.js levels: ${levels.map((l) => `#${l.index} ${l.height}p ${Math.round(l.bitrate / 1000)} kbit/s`).join(', ')}`)
  // Low: fits the throttle with 20% to spare. High: does not fit at all.
  // hls.js orders levels by height; its ABR assumes bitrates grow in that order.
  const low = (level: number | null | undefined): boolean => level != null && level >= 0 && levels[level]!.bitrate <= 0.8 * THROTTLE_KBPS * 1000
  const high = (level: number | null | undefined): boolean => level != null && level >= 0 && levels[level]!.bitrate > THROTTLE_KBPS * 1000
  t.ok(levels.some((l) => low(l.index)), `some level fits under the ${THROTTLE_KBPS} kbit/s throttle`)
  t.ok(levels.some((l) => high(l.index)), `some level does not fit`)
  t.same(levels.map((l) => l.bitrate), [...levels].map((l) => l.bitrate).sort((a, b) => a - b), 'bitrates grow with the picture size')

  // 1. Settle on a high level (hls.js starts from its default 500 kbit/s estimate and climbs).
  const settled = await waitFor(async () => {
    const x = await lastSample()
    return x && x.at >= firstPlayingAt + SETTLE_MS && high(x.level) ? x : undefined
  }, HIGH_DEADLINE_MS, 'hls.js to play a high level').catch(fail)
  const throttledAt = Date.now()
  await throttle.set(THROTTLE_KBPS)
  t.comment(`playing ${settled.height}p (level ${settled.level}) ${throttledAt - firstPlayingAt} ms after the first \`playing\`; throttled to ${THROTTLE_KBPS} kbit/s`)

  // 2. Throttled: hls.js must be playing a level that fits, within the deadline.
  const down = await waitFor(async () => (await abrState()).abr.switched.find((e) => e.at > throttledAt && low(e.level)), DOWN_DEADLINE_MS, 'a switch to a low level')
    .catch(() => undefined)
  if (down) t.comment(`switched to ${levels[down.level]!.height}p ${down.at - throttledAt} ms after throttling`)
  // Keep playing throttled for a while (by the page's clock, so a busy host only lengthens the watch).
  const holdFrom = down?.at ?? Date.now()
  await waitFor(async () => ((await lastSample())?.at ?? 0) >= holdFrom + THROTTLED_HOLD_MS, THROTTLED_HOLD_MS + 10_000, 'throttled playback')
  const liftedAt = Date.now()
  await throttle.set(undefined)

  // 3. Lifted: hls.js must climb back above the level it played throttled.
  const throttledLevel = (await lastSample())?.level ?? down?.level ?? 0
  const up = await waitFor(async () => (await abrState()).abr.switched.find((e) => e.at > liftedAt && levels[e.level]!.bitrate > levels[throttledLevel]!.bitrate), UP_DEADLINE_MS, 'a switch back up')
    .catch(() => undefined)
  if (up) t.comment(`switched up to ${levels[up.level]!.height}p ${up.at - liftedAt} ms after lifting the throttle`)
  const upFrom = up?.at ?? Date.now()
  await waitFor(async () => ((await lastSample())?.at ?? 0) >= upFrom + AFTER_UP_MS, AFTER_UP_MS + 10_000, 'playback after the lift')
  const s = await abrState()
  const buffersAtEnd = await buffers()
  const hlsLog = await page.evaluate(() => (window as unknown as { __e2eLog: Array<[number, string]> }).__e2eLog)
  const endAt = s.samples.at(-1)!.at
  production.stop()
  await page.close()

  // The record: levels over time (runs of the playing level), switches, throughput, stalls, latency, encoder speed.
  const rel = (at: number): string => `+${((at - firstPlayingAt) / 1000).toFixed(1)} s`
  const watched = s.samples.filter((x) => x.at >= firstPlayingAt)
  const runs: string[] = []
  for (let i = 0; i < watched.length; i++) {
    const x = watched[i]!
    if (i === 0 || x.height !== watched[i - 1]!.height) runs.push(`${rel(x.at)} ${x.height ?? '?'}p (est ${x.bwEstimate ? Math.round(x.bwEstimate / 1000) : '?'} kbit/s)`)
  }
  t.comment(`throttled ${rel(throttledAt)} to ${rel(liftedAt)}; playing level by time: ${runs.join(' → ')}`)
  t.comment(`bandwidth estimate (kbit/s) every 2 s: ${watched.filter((_, i) => i % 8 === 0).map((x) => `${rel(x.at)} ${x.bwEstimate ? Math.round(x.bwEstimate / 1000) : '?'}`).join(', ')}`)
  t.comment(`LEVEL_SWITCHING: ${s.abr.switching.map((e) => `${rel(e.at)} ${levels[e.level]?.height}p`).join(', ')}`)
  t.comment(`LEVEL_SWITCHED: ${s.abr.switched.map((e) => `${rel(e.at)} ${levels[e.level]?.height}p`).join(', ')}`)
  const throughput = (from: number, to: number): string => {
    const ls = s.abr.loads.filter((l) => l.type === 'main' && l.at >= from && l.at < to)
    const kbps = ls.filter((l) => l.ms > 0).map((l) => (l.bytes * 8) / l.ms)
    return `${ls.length} main loads, ${Math.round(ls.reduce((a, l) => a + l.bytes, 0) / 1000)} kB, per-load kbit/s median ${fmt(quantile(kbps, 0.5))} max ${fmt(Math.max(...kbps))}`
  }
  const requestLine = (r: RecordedRequest): string => `${rel(r.startedAt)} → ${r.respondedAt ? rel(r.respondedAt) : '-'} → ${r.finishedAt ? rel(r.finishedAt) : '-'} ${r.status ?? r.failure ?? 'pending'} ${r.url.replace(origin.http, '')}`
  // A hole inside a SourceBuffer is media the player never appended (a skipped part or segment).
  t.comment(`source buffers at the end: ${buffersAtEnd.join('; ')}`)
  const loadsLog = (): string => `loads (main and audio):\n${s.abr.loads.map((l) => loadLine(l, firstPlayingAt)).join('\n')}` +
    `\nplaylist requests (issued → headers → done):\n${session.requests.matching(/\.m3u8/).filter((r) => r.startedAt >= throttledAt - 2000).map(requestLine).join('\n')}`
  const latency = (from: number, to: number): string =>
    spread(watched.filter((x) => x.at >= from && x.at < to).map((x) => x.latency).filter((v): v is number => v !== null))
  const phases: Array<[string, number, number]> = [['before the throttle', firstPlayingAt, throttledAt], ['throttled', throttledAt, liftedAt], ['after the lift', liftedAt, endAt + 1]]
  for (const [name, from, to] of phases) t.comment(`${name}: ${throughput(from, to)}; hls.latency ${latency(from, to)}`)
  t.comment(`hls.js target latency at the end: ${fmt(watched.at(-1)?.targetLatency ?? NaN)} s`)
  // Speed: media s per wall s (min/median); lag: ms from a part's media time to its completion (median/max).
  t.comment(`production while playing: ${production.summary(firstPlayingAt)}; ` +
    `shed: ${[...stream.renditions.values()].filter((r) => r.shed).map((r) => r.name).join(', ') || 'none'}; loadavg ${loadavg().map((x) => x.toFixed(2)).join(' ')}`)
  const slowest = production.slowest(firstPlayingAt)
  if (slowest < 0.85) t.comment(`an encoder ran at ${fmt(slowest)}x real time: this box could not keep up with the ladder and the browser for a while`)
  const stalls = findStalls(s, firstPlayingAt)
  t.comment(`stalls: ${stalls.map((x) => `${x.kind} ${rel(x.from)} ${x.ms} ms at ${fmt(x.ct)}${x.open ? ' (open)' : ''}`).join(', ') || 'none'}`)
  // Encoders that fell behind just before or during a stall make late parts: the machine, not the player.
  for (const x of stalls.filter((y) => y.kind === 'waiting' && y.ms > SEGMENT_MS / 2)) {
    t.comment(`production from 2 s before to the end of the stall at ${rel(x.from)}: ${production.summary(x.from - 2000, x.to)}`)
  }
  for (const e of s.errors) t.comment(`hls.js ERROR ${e.fatal ? 'FATAL ' : ''}${e.type}/${e.details} at ${rel(e.at)} ${e.info}`)
  for (const w of s.warnings) t.comment(`hls.js ${w.level} at ${rel(w.at)}: ${w.text}`)
  for (const c of session.consoleErrors) t.comment(c)

  t.same(s.errors.filter((e) => e.fatal).map((e) => `${e.type}/${e.details} ${e.info}`), [], 'no fatal hls.js error')
  t.same(session.consoleErrors.filter((c) => c.startsWith('pageerror')), [], 'no uncaught error in the page')
  t.ok(down && down.at - throttledAt <= DOWN_DEADLINE_MS, `throttled, hls.js switched to a level that fits (${down ? `${levels[down.level]!.height}p after ${down.at - throttledAt} ms` : 'never'})`)
  // Once down, hls.js chose no level that does not fit; what it had buffered before may still play for a segment.
  const badChoices = s.abr.switching.filter((e) => down && e.at > down.at && e.at < liftedAt && !low(e.level))
  t.same(badChoices.map((e) => `${rel(e.at)} ${levels[e.level]?.height}p`), [], 'throttled, hls.js chose only levels that fit after switching down')
  const whileThrottled = watched.filter((x) => x.at >= (down?.at ?? liftedAt) + SEGMENT_MS && x.at < liftedAt)
  t.ok(whileThrottled.length > 0 && whileThrottled.every((x) => x.height !== null && x.height! < settled.height!),
    `from one segment after the switch, the picture stayed smaller than ${settled.height}p while throttled (${[...new Set(whileThrottled.map((x) => x.height))].join(', ')})`)
  t.ok(up !== undefined, `unthrottled, hls.js switched back up (${up ? `${levels[up.level]!.height}p after ${up.at - liftedAt} ms` : 'never'})`)
  t.same(stalls.filter((x) => x.ms > SEGMENT_MS).map((x) => `${x.kind} at ${rel(x.from)} for ${x.ms} ms${x.open ? ' (still stalled)' : ''}`), [],
    `no stall longer than one segment (${SEGMENT_MS} ms)`)
  // Overall progress: playing time kept pace with the wall clock, minus the stalls allowed.
  const first = watched[0]!
  const last = watched.at(-1)!
  const wall = (last.at - first.at) / 1000
  const advanced = last.ct - first.ct
  t.ok(advanced >= wall * 0.85, `currentTime advanced ${fmt(advanced)} s over ${fmt(wall)} s of wall time`)
  // The throttle took effect: no main load ran much faster than the limit meanwhile.
  const fastWhileThrottled = s.abr.loads.filter((l) => l.type === 'main' && l.at >= throttledAt + 1000 && l.at < liftedAt && l.bytes >= 10_000 && (l.bytes * 8) / l.ms > 1.3 * THROTTLE_KBPS)
  t.same(fastWhileThrottled.map((l) => `${l.sn}.${l.part} ${l.bytes} B in ${l.ms} ms`), [], `every sizeable load was throttled to ~${THROTTLE_KBPS} kbit/s`)
  if (!t.passing()) {
    t.comment(loadsLog())
    // hls.js's own account of each long stall: its log lines from 3 s before to 1 s after.
    for (const x of stalls.filter((y) => y.kind === 'waiting' && y.ms > SEGMENT_MS / 2)) {
      t.comment(`hls.js log around the stall at ${rel(x.from)}:\n${hlsLog.filter(([at]) => at >= x.from - 3000 && at <= x.to + 1000)
        .map(([at, line]) => `${rel(at)} ${line}`).join('\n')}`)
    }
  }
})
