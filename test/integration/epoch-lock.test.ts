/**
 * Issue 18 item 1: two origins that ingest the same feed agree to the segment.
 *
 * "The same feed" here is one encoder's output, with its timestamps, delivered to each
 * origin as it is produced: one FFmpeg encodes a live test source to FLV, and the test
 * relays every tag to origin A over RTMP at once and to origin B from a key frame about
 * 3 s later (its sequence headers first), as a restreamer or a second encoder locked to
 * the same source and timestamps would. Both origins run on this machine's clock, so
 * their clocks are synchronised. B's session therefore starts at a later key frame than
 * A's; for 30 s the test compares, for every segment both list, the media sequence
 * number, EXTINF, the number and durations of its parts, and PROGRAM-DATE-TIME (within
 * one frame), for the encoded rung and the audio.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { startOrigin, get, waitFor, type TestOrigin } from '../helpers/origin.js'
import { FFMPEG, testSourceArgs } from '../helpers/ffmpeg.js'
import { RawRtmpClient } from '../helpers/rtmp-client.js'
import { FlvTagStream, type FlvFileTag } from '../helpers/flv-file.js'
import { collectSegments, type SeenSegment } from '../helpers/segment-log.js'

const FPS = 30
const FRAME_MS = 1000 / FPS
const JOIN_AFTER_MS = 3000
const COMPARE_MS = Number(process.env.EL_MS ?? 30_000)

/** A ladder of one small encoded rung and the audio: no copied rung. */
const config = {
  hls: { partTarget: 0.5, segmentTarget: 2 },
  ladder: { enabled: true, rungs: [{ name: 'low', height: 144, bitrate: 150, preset: 'ultrafast' }] },
  // EPOCHLOCK
  // The machine may be loaded: a stall of the test's encoder is not what is tested here.
  redundancy: { lossMs: 5000 },
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

t.test('two origins fed the same feed list the same segments, parts and dates', async (t) => {
  const [a, b] = await Promise.all([startOrigin(t, config), startOrigin(t, config)])
  const [ca, cb] = await Promise.all([publisher(a, 'x'), publisher(b, 'x')])
  t.teardown(() => { ca.destroy(); cb.destroy() })
  const ff = spawn(FFMPEG, [...testSourceArgs({ width: 320, height: 180, fps: FPS, gop: FPS }), '-flush_packets', '1', '-f', 'flv', 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const exited = new Promise<void>((resolve) => ff.once('exit', () => resolve()))
  t.teardown(async () => {
    if (ff.exitCode === null && ff.signalCode === null && ff.pid) process.kill(ff.pid, 'SIGKILL')
    await exited
  })
  const started = Date.now()
  const headers: FlvFileTag[] = []
  let bJoined = false
  const flv = new FlvTagStream((tag) => {
    const isSeq = (tag.type === 9 && tag.body[1] === 0) || (tag.type === 8 && tag.body[1] === 0) || tag.type === 18
    if (isSeq) headers.push(tag)
    send(ca, tag)
    if (!bJoined && tag.type === 9 && (tag.body[0]! >> 4) === 1 && tag.body[1] === 1 && Date.now() - started >= JOIN_AFTER_MS) {
      bJoined = true
      for (const h of headers) send(cb, h)
    }
    if (bJoined && !isSeq) send(cb, tag)
  })
  ff.stdout!.on('data', (d: Buffer) => flv.push(d))

  const renditions = ['low', 'audio']
  const seen = { a: new Map<string, Map<number, SeenSegment>>(), b: new Map<string, Map<number, SeenSegment>>() }
  await waitFor(async () => (await get(`${b.http}/live/x/low/index.m3u8`).catch(() => undefined))?.status === 200, 30_000, "B's playlist")
  const until = Date.now() + COMPARE_MS
  while (Date.now() < until) {
    for (const [key, o] of [['a', a], ['b', b]] as const) {
      for (const r of renditions) {
        const res = await get(`${o.http}/live/x/${r}/index.m3u8`)
        if (res.status !== 200) continue
        const map = seen[key].get(r) ?? new Map<number, SeenSegment>()
        seen[key].set(r, map)
        collectSegments(res.text, map)
      }
    }
    await new Promise((r) => setTimeout(r, 1000))
  }

  if (process.env.EL_DEBUG) console.log((await get(`${a.http}/live/x/low/index.m3u8`)).text, (await get(`${b.http}/live/x/low/index.m3u8`)).text)
  for (const r of renditions) {
    const sa = seen.a.get(r)!
    const sb = seen.b.get(r)!
    // B's first segment may begin mid-slot (its session starts at a later key frame): from its second on.
    const bFirst = Math.min(...sb.keys())
    const common = [...sb.keys()].filter((n) => n > bFirst && sa.has(n)).sort((x, y) => x - y)
    t.ok(common.length >= 10, `${r}: ${common.length} segments listed by both (${[...sa.keys()].length} by A, ${[...sb.keys()].length} by B)`)
    let differ = 0
    for (const n of common) {
      const x = sa.get(n)!
      const y = sb.get(n)!
      const problems: string[] = []
      if (Math.abs(x.duration - y.duration) > 0.0005) problems.push(`EXTINF ${x.duration} vs ${y.duration}`)
      if (Math.abs(x.pdt - y.pdt) > FRAME_MS) problems.push(`PDT ${new Date(x.pdt).toISOString()} vs ${new Date(y.pdt).toISOString()}`)
      if (x.parts && y.parts) {
        if (x.parts.length !== y.parts.length) problems.push(`${x.parts.length} parts vs ${y.parts.length}`)
        else if (x.parts.some((d, i) => Math.abs(d - y.parts![i]!) > 0.0005)) problems.push(`parts ${x.parts.join(',')} vs ${y.parts.join(',')}`)
      }
      if (problems.length > 0 && differ++ < 5) t.fail(`${r} msn ${n}: ${problems.join('; ')}`)
    }
    t.equal(differ, 0, `${r}: segments that differ`)
    t.ok(common.some((n) => sa.get(n)!.parts && sb.get(n)!.parts), `${r}: parts compared`)
  }
})
