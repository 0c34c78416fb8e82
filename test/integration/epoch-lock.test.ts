/**
 * Issue 18 item 1: two origins that ingest the same feed agree to the segment.
 *
 * "The same feed" here is one encoder's output, with its timestamps, delivered to each
 * origin as it is produced: one FFmpeg encodes a live test source to FLV, and the test
 * relays every tag to origin A over RTMP at once and to origin B from a key frame 3 s or
 * more later, an odd number of seconds after A's first (its sequence headers first; the
 * source has a key frame every second and segments are 2 s), as a restreamer or a second encoder locked to
 * the same source and timestamps would. Both origins run on this machine's clock, so
 * their clocks are synchronised. B's session therefore starts at a later key frame than
 * A's; for 30 s the test compares, for every segment both list, the media sequence
 * number, EXTINF, the number and durations of its parts, PROGRAM-DATE-TIME (within one
 * frame) and where in the feed it starts (the publisher's timestamp), for the encoded rung
 * and the audio. A second test skews B's clock by 300 ms and measures what then differs.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { startOrigin, get, waitFor, type TestOrigin } from '../helpers/origin.js'
import { FFMPEG, testSourceArgs } from '../helpers/ffmpeg.js'
import { RawRtmpClient } from '../helpers/rtmp-client.js'
import { FlvTagStream, type FlvFileTag } from '../helpers/flv-file.js'
import { collectSegments, type SeenSegment } from '../helpers/segment-log.js'

const FPS = 30
const FRAME_MS = 1000 / FPS
const RENDITIONS = ['low', 'audio']
/** One AAC frame at 48 kHz: audio slots may begin one frame apart between origins. */
const AAC_FRAME_S = 1024 / 48000
const JOIN_AFTER_MS = 3000
const COMPARE_MS = 30_000

/** A ladder of one small encoded rung and the audio: no copied rung. */
const config = {
  hls: { partTarget: 0.5, segmentTarget: 2 },
  ladder: { enabled: true, rungs: [{ name: 'low', height: 144, bitrate: 150, preset: 'ultrafast' }] },
  // The machine may be loaded: a stall of the test's encoder is not what is tested here.
  redundancy: { lossMs: 5000, epochLock: true },
}

async function publisher(o: TestOrigin, name: string): Promise<RawRtmpClient> {
  const c = await RawRtmpClient.open(o.rtmpPort)
  await c.handshake()
  c.setChunkSize(65536)
  const status = await c.publish('live', name)
  if (status.code !== 'NetStream.Publish.Start') throw new Error(`publish refused: ${String(status.code)}`)
  return c
}

function send(c: RawRtmpClient, tag: FlvFileTag): void {
  if (c.isClosed) return
  const csid = tag.type === 9 ? 6 : tag.type === 8 ? 4 : 5
  c.send(c.chunks(csid, tag.type, 1, tag.timestamp, tag.body))
}

interface PairResult {
  seen: { a: Map<string, Map<number, SeenSegment>>; b: Map<string, Map<number, SeenSegment>> }
  /** Per rendition and msn, B's segment start minus A's, in the feed's timestamps (ms). */
  feedDelta: Map<string, Map<number, number>>
  /** Per rendition, each origin's segments by msn: where they start in the feed (ms) and their PDT. */
  starts: Map<string, { a: Map<number, { feed: number; pdt: number }>; b: Map<number, { feed: number; pdt: number }> }>
}

/** Feed one encoder to A at once and to B from a key frame JOIN_AFTER_MS later; watch both for `compareMs`. */
async function runPair(t: Test, compareMs: number, skewMs: number): Promise<PairResult> {
  const [a, b] = await Promise.all([startOrigin(t, config), startOrigin(t, config, { clockOffsetMs: skewMs })])
  const ca = await publisher(a, 'x')
  let cb: RawRtmpClient | undefined
  t.teardown(() => { ca.destroy(); cb?.destroy() })
  const ff = spawn(FFMPEG, [...testSourceArgs({ width: 320, height: 180, fps: FPS, gop: FPS }), '-flush_packets', '1', '-f', 'flv', 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const exited = new Promise<void>((resolve) => ff.once('exit', () => resolve()))
  t.teardown(async () => {
    if (ff.exitCode === null && ff.signalCode === null && ff.pid) process.kill(ff.pid, 'SIGKILL')
    await exited
  })
  const headers: FlvFileTag[] = []
  let bState: 'waiting' | 'connecting' | 'joined' = 'waiting'
  let firstTagAt = 0
  let firstKeyTs: number | undefined
  const flv = new FlvTagStream((tag) => {
    const isSeq = (tag.type === 9 && tag.body[1] === 0) || (tag.type === 8 && tag.body[1] === 0) || tag.type === 18
    if (isSeq) headers.push(tag)
    firstTagAt ||= Date.now()
    send(ca, tag)
    // B's publisher connects late, then sends from the next key frame on, headers first.
    if (bState === 'waiting' && Date.now() - firstTagAt >= JOIN_AFTER_MS) {
      bState = 'connecting'
      void publisher(b, 'x').then((c) => { cb = c; bState = 'joined' }, (err) => t.fail(`B's publish: ${String(err)}`))
    }
    const key = tag.type === 9 && (tag.body[0]! >> 4) === 1 && tag.body[1] === 1
    if (key) firstKeyTs ??= tag.timestamp
    // B starts at a key frame an odd number of seconds after A's first: a grid counted from
    // each session's first key frame would then be a second (half a slot) off A's.
    const oddSecond = key && Math.round((tag.timestamp - firstKeyTs!) / 1000) % 2 === 1
    if (bState === 'joined' && cb && oddSecond && headers.length > 0) {
      for (const h of headers) send(cb, h)
      headers.length = 0
    }
    if (bState === 'joined' && cb && headers.length === 0 && !isSeq) send(cb, tag)
  })
  ff.stdout!.on('data', (d: Buffer) => flv.push(d))

  const seen: PairResult['seen'] = { a: new Map(), b: new Map() }
  await waitFor(async () => (await get(`${b.http}/live/x/low/index.m3u8`).catch(() => undefined))?.status === 200, 30_000, "B's playlist")
  const until = Date.now() + compareMs
  while (Date.now() < until) {
    for (const [key, o] of [['a', a], ['b', b]] as const) {
      for (const r of RENDITIONS) {
        const res = await get(`${o.http}/live/x/${r}/index.m3u8`)
        if (res.status !== 200) continue
        const map = seen[key].get(r) ?? new Map<number, SeenSegment>()
        seen[key].set(r, map)
        collectSegments(res.text, map)
      }
    }
    await new Promise((r) => setTimeout(r, 1000))
  }
  // Where each segment starts in the feed: the publisher's timestamp of media time zero plus its media start.
  const feedDelta = new Map<string, Map<number, number>>()
  const zeroA = a.origin.sessions.get('x')?.feedTimestampOfZero
  const zeroB = b.origin.sessions.get('x')?.feedTimestampOfZero
  for (const r of RENDITIONS) {
    const deltas = new Map<number, number>()
    const segsA = new Map(a.origin.directory.get('x')!.renditions.get(r)!.segments.map((s) => [s.msn, s]))
    for (const sb of b.origin.directory.get('x')!.renditions.get(r)!.segments) {
      const sa = segsA.get(sb.msn)
      if (sa && !sa.gap && !sb.gap && zeroA !== undefined && zeroB !== undefined) deltas.set(sb.msn, (zeroB + sb.startTime * 1000) - (zeroA + sa.startTime * 1000))
    }
    feedDelta.set(r, deltas)
  }
  const starts: PairResult['starts'] = new Map()
  for (const r of RENDITIONS) {
    const of = (o: TestOrigin, zero: number | undefined): Map<number, { feed: number; pdt: number }> =>
      new Map(o.origin.directory.get('x')!.renditions.get(r)!.segments.filter((s) => !s.gap && zero !== undefined).map((s) => [s.msn, { feed: zero! + s.startTime * 1000, pdt: s.pdt }]))
    starts.set(r, { a: of(a, zeroA), b: of(b, zeroB) })
  }
  return { seen, feedDelta, starts }
}

/** Segments both list, from B's second on (its first begins mid-slot: its session starts at a later key frame). */
function common(sa: Map<number, SeenSegment>, sb: Map<number, SeenSegment>): number[] {
  const bFirst = Math.min(...sb.keys())
  return [...sb.keys()].filter((n) => n > bFirst && sa.has(n)).sort((x, y) => x - y)
}

t.test('two origins fed the same feed list the same segments, parts and dates', async (t) => {
  const { seen, feedDelta } = await runPair(t, COMPARE_MS, 0)
  for (const r of RENDITIONS) {
    const sa = seen.a.get(r)!
    const sb = seen.b.get(r)!
    const both = common(sa, sb)
    t.ok(both.length >= 10, `${r}: ${both.length} segments listed by both (${sa.size} by A, ${sb.size} by B)`)
    // The encoded rung agrees exactly; the copied audio to within one AAC frame at a slot's
    // edge (its frames sit a few ms differently on each session's timeline; see the README).
    const slack = r === 'audio' ? AAC_FRAME_S + 0.0005 : 0.0005
    let differ = 0
    for (const n of both) {
      const x = sa.get(n)!
      const y = sb.get(n)!
      const problems: string[] = []
      if (Math.abs(x.duration - y.duration) > slack) problems.push(`EXTINF ${x.duration} vs ${y.duration}`)
      if (Math.abs(x.pdt - y.pdt) > FRAME_MS) problems.push(`PDT ${new Date(x.pdt).toISOString()} vs ${new Date(y.pdt).toISOString()}`)
      if (x.parts && y.parts) {
        if (x.parts.length !== y.parts.length) problems.push(`${x.parts.length} parts vs ${y.parts.length}`)
        else if (x.parts.some((d, i) => Math.abs(d - y.parts![i]!) > slack)) problems.push(`parts ${x.parts.join(',')} vs ${y.parts.join(',')}`)
      }
      const delta = feedDelta.get(r)!.get(n)
      if (delta !== undefined && Math.abs(delta) > (r === 'audio' ? AAC_FRAME_S * 1000 + 1 : 1)) problems.push(`starts ${delta.toFixed(1)} ms apart in the feed`)
      if (problems.length > 0 && differ++ < 5) t.fail(`${r} msn ${n}: ${problems.join('; ')}`)
    }
    t.equal(differ, 0, `${r}: segments that differ`)
    t.ok(both.some((n) => sa.get(n)!.parts && sb.get(n)!.parts), `${r}: parts compared`)
    t.ok([...feedDelta.get(r)!.keys()].some((n) => both.includes(n)), `${r}: feed positions compared`)
  }
})

t.test('clocks 300 ms apart: cut at the same media, dated 300 ms apart, numbered alike or one apart', async (t) => {
  const { starts } = await runPair(t, 10_000, 300)
  const { a, b } = starts.get('low')!
  // Slots are cut where the feed's timestamps cross multiples of the segment target: skew
  // moves no cut. Each origin dates the media by its own clock, so B's PROGRAM-DATE-TIMEs
  // are 300 ms later than A's for the same media. Numbers come from the date of the feed
  // rounded to a whole slot: the same on both unless the two readings straddle a rounding
  // edge (a 300 ms skew does, for 300 ms of every 2 s slot's worth of readings), and then
  // B numbers the same media one apart from A for the whole session.
  const bFirst = Math.min(...b.keys())
  const pairs: Array<{ msnA: number; msnB: number; pdtDelta: number }> = []
  for (const [msnB, sb] of b) {
    if (msnB === bFirst) continue
    const match = [...a].find(([, sa]) => Math.abs(sa.feed - sb.feed) <= 1)
    t.ok(match, `B's segment ${msnB} begins where one of A's does in the feed`)
    if (match) pairs.push({ msnA: match[0], msnB, pdtDelta: sb.pdt - match[1].pdt })
  }
  t.ok(pairs.length >= 3, `${pairs.length} segments of the same media compared`)
  t.comment(`B's PROGRAM-DATE-TIME minus A's for the same media (ms): ${pairs.map((p) => p.pdtDelta.toFixed(0)).join(' ')}; numbers B minus A: ${pairs.map((p) => p.msnB - p.msnA).join(' ')}`)
  for (const p of pairs) t.ok(Math.abs(p.pdtDelta - 300) <= FRAME_MS, `PROGRAM-DATE-TIME ${p.pdtDelta.toFixed(0)} ms apart (expected 300 within a frame)`)
  const shifts = new Set(pairs.map((p) => p.msnB - p.msnA))
  t.equal(shifts.size, 1, 'one numbering shift for the whole session')
  t.ok([...shifts].every((d) => Math.abs(d) <= 1), `numbers the same or one apart (${[...shifts].join(', ')})`)
})
