import t from 'tap'
import { FrameRateProbe, MEASURE_SPAN_MS, MEASURE_WAIT_MS, measureFrameRate } from '../../src/core/frame-rate-probe.js'
import type { MediaTag } from '../../src/ingest/types.js'

/** Millisecond timestamps of `count` frames at `fps`, as an ingest rounds them (`round`: Math.round or Math.floor). */
const stamps = (fps: number, count: number, round = Math.round, from = 1234): number[] =>
  Array.from({ length: count }, (_, i) => from + round((i * 1000) / fps))

t.test('measureFrameRate: common rates from millisecond timestamps over one second', async (t) => {
  const cases: Array<[string, number[], number]> = [
    ['25', stamps(25, 26), 25],
    ['30, rounded', stamps(30, 31), 30],
    ['29.97, floored as the MPEG-TS ingest does', stamps(30000 / 1001, 31, Math.floor), 30000 / 1001],
    ['50', stamps(50, 51), 50],
    ['59.94, floored', stamps(60000 / 1001, 61, Math.floor), 60000 / 1001],
    ['60, rounded', stamps(60, 61), 60],
    ['24', stamps(24, 25), 24],
    ['17, no common rate near: kept to the millisecond', stamps(17, 18), 17],
  ]
  for (const [name, s, want] of cases) t.equal(measureFrameRate(s), want, name)
})

t.test('measureFrameRate: missing frames, jitter and nonsense', async (t) => {
  const gappy = stamps(25, 30).filter((_, i) => i !== 5 && i !== 6 && i !== 17)
  t.equal(measureFrameRate(gappy), 25, 'three lost frames do not lower the rate')
  const jitter = stamps(50, 51).map((x, i) => x + [0, 1, -1, 2, -2][i % 5]!)
  t.equal(measureFrameRate(jitter), 50, '±2 ms of arrival jitter in the stamps')
  t.equal(measureFrameRate([]), undefined, 'no frames')
  t.equal(measureFrameRate([40]), undefined, 'one frame')
  t.equal(measureFrameRate([40, 40, 40]), undefined, 'one timestamp')
  t.equal(measureFrameRate([0, 2000]), undefined, 'under 1 fps')
  t.equal(measureFrameRate([0, 1, 2, 3]), undefined, 'over 240 fps')
})

/** An FLV AVC video tag body: sequence header or coded frame. */
const video = (timestamp: number, seq = false): MediaTag =>
  ({ kind: 'video', timestamp, arrival: 0, data: Buffer.from([0x17, seq ? 0 : 1, 0, 0, 0, 0xaa]) })

t.test('FrameRateProbe: waits for a second of timestamps, or a bound', async (t) => {
  const p = new FrameRateProbe()
  t.equal(p.fps, undefined)
  p.observe(video(0, true))
  p.observe({ kind: 'audio', timestamp: 3, arrival: 0, data: Buffer.from([0xaf, 1, 0]) })
  p.observe({ kind: 'video', timestamp: 5, arrival: 0, data: Buffer.from([0x17, 9]) }) // unparseable: ignored
  const frames = stamps(25, 26, Math.round, 100)
  for (const ts of frames.slice(0, 25)) p.observe(video(ts))
  p.observe(video(frames[24]!)) // a repeated stamp is not a frame
  p.observe(video(frames[3]!)) // nor is one going back
  t.notOk(p.ready(10_000), `${frames[24]! - frames[0]!} ms of frames are not yet ${MEASURE_SPAN_MS}`)
  t.equal(p.fps, 25, 'sequence headers, audio and repeated stamps are not counted')
  p.observe(video(frames[25]!))
  t.ok(p.ready(10_001), 'a second of frames measured')
  p.observe(video(frames[25]! + 10)) // done: later frames change nothing
  t.equal(p.fps, 25)

  const slow = new FrameRateProbe()
  for (const ts of stamps(25, 5)) slow.observe(video(ts))
  t.notOk(slow.ready(500))
  t.notOk(slow.ready(500 + MEASURE_WAIT_MS - 1))
  t.ok(slow.ready(500 + MEASURE_WAIT_MS), 'the wait is bounded; the rate is measured from what came')
  t.equal(slow.fps, 25)
})
