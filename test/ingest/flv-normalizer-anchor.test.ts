/**
 * The date of media time zero (PROGRAM-DATE-TIME's anchor): the earliest the first
 * second of ingest allows, then frozen, so a publisher that bursts after connecting
 * does not date every later frame ahead of its arrival. And where on that timeline a
 * consumer's first media lies (what a restarted worker's timestamps are shifted by).
 */
import t from 'tap'
import { pino } from 'pino'
import { ANCHOR_WINDOW_MS, FlvNormalizer } from '../../src/ingest/flv-normalizer.js'
import { avcDecoderConfig } from '../../src/formats/mpegts/h264-annexb.js'

const T0 = 1_700_000_000_000

function normalizer() {
  const norm = new FlvNormalizer(pino({ level: 'silent' }))
  let settled = 0
  norm.onAnchorSettled = () => { settled++ }
  const sps = Buffer.from([0x67, 0x42, 0xc0, 0x1e, 0x95, 0xa0, 0x50, 0x7f])
  const pps = Buffer.from([0x68, 0xce, 0x3c, 0x80])
  norm.push({ kind: 'video', timestamp: 0, data: Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0]), avcDecoderConfig(sps, pps)]), arrival: T0 })
  /** A video frame (key every 30) with FLV timestamp `ts`, arriving at `arrival`. */
  const frame = (ts: number, arrival: number): void => {
    const body = Buffer.alloc(16, 1)
    body[0] = ts % 990 === 0 ? 0x17 : 0x27
    body[1] = 1
    norm.push({ kind: 'video', timestamp: ts, data: body, arrival })
  }
  return { norm, frame, settled: () => settled }
}

t.test('a burst at the start dates zero by the frame that arrived earliest for its media time', async (t) => {
  const { norm, frame, settled } = normalizer()
  norm.attach(() => true, { replay: true }) // a worker: the epoch starts at the first key frame
  frame(0, T0)
  t.equal(norm.currentEpoch?.wallAtZero, T0, 'before more media, zero is dated by the key frame')
  // The first 2 s of media in 20 ms, then real time from there.
  for (let ts = 33; ts <= 1980; ts += 33) frame(ts, T0 + Math.round((ts / 1980) * 20))
  for (let ts = 2013; ts < 2013 + 600; ts += 33) frame(ts, T0 + 20 + (ts - 1980))
  t.equal(norm.currentEpoch?.wallAtZero, T0 + 20 - 1980, 'zero is dated 1.96 s before the first frame arrived')
  t.notOk(norm.anchorIsSettled, 'still inside the window')
  t.equal(settled(), 0)
  // Past the window: settled once, and no later arrival moves it.
  frame(2013 + 990, T0 + ANCHOR_WINDOW_MS + 100)
  t.ok(norm.anchorIsSettled)
  t.equal(settled(), 1, 'settled once')
  frame(2013 + 1023, T0 + ANCHOR_WINDOW_MS + 101 - 5000) // an arrival that would date zero earlier
  t.equal(norm.currentEpoch?.wallAtZero, T0 + 20 - 1980, 'a settled date never changes')
  norm.settleAnchor()
  t.equal(settled(), 1, 'settling again calls nobody')
})

t.test('a publisher at real time from the start keeps its first key frame as the anchor', async (t) => {
  const { norm, frame } = normalizer()
  norm.attach(() => true, { replay: true })
  for (let ts = 0; ts <= 1500; ts += 33) frame(ts, T0 + ts + (ts % 66 === 0 ? 3 : 9)) // network jitter, never early
  t.equal(norm.currentEpoch?.wallAtZero, T0 + 3, 'the least delayed frame dates zero')
  t.ok(norm.anchorIsSettled, 'settled by a frame past the window')
})

t.test('without tags past the window the anchor is settled on demand', async (t) => {
  const { norm, frame, settled } = normalizer()
  norm.settleAnchor()
  t.equal(settled(), 0, 'nothing to settle before an epoch exists')
  norm.attach(() => true, { replay: true })
  frame(0, T0)
  frame(33, T0 + 40)
  norm.settleAnchor()
  t.equal(settled(), 1)
  t.equal(norm.currentEpoch?.wallAtZero, T0)
})

t.test('a consumer learns the media time of the first tag it is sent: its FFmpeg\'s zero', async (t) => {
  const { norm, frame } = normalizer()
  const aac = (ts: number, type: 0 | 1): void => norm.push({ kind: 'audio', timestamp: ts, data: Buffer.from([0xaf, type, 0x11, 0x90]), arrival: T0 + ts })
  aac(0, 0) // AudioSpecificConfig
  const firsts: Record<string, number[]> = { video: [], audio: [], audioStart: [] }
  norm.attach(() => true, { replay: true, onFirstMedia: (ms) => firsts.video!.push(ms) })
  frame(0, T0)
  aac(12, 1)
  for (let ts = 33; ts < 990; ts += 33) frame(ts, T0 + ts)
  // Joining mid-GOP, audio only (as a restarted audio worker does): it starts at the next
  // key frame's time, but its first media is the first audio tag from there on.
  norm.attach(() => true, { select: { video: false }, onStart: (ms) => firsts.audioStart!.push(ms), onFirstMedia: (ms) => firsts.audio!.push(ms) })
  aac(980, 1) // before the key frame: not sent
  frame(990, T0 + 990)
  aac(1001, 1)
  aac(1022, 1)
  t.same(firsts.video, [0], 'a video consumer: its first key frame, once')
  t.same(firsts.audioStart, [990], 'the audio consumer starts at the key frame')
  t.same(firsts.audio, [1001], 'and is first sent the audio tag after it, once')
})
