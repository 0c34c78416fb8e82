import t from 'tap'
import { Writable } from 'node:stream'
import pino from 'pino'
import { Segmenter } from '../../src/packager/segmenter.js'
import { RenditionStore } from '../../src/packager/rendition-store.js'
import { renderMediaPlaylist } from '../../src/packager/hls-media-playlist.js'
import { renderMpd } from '../../src/packager/dash-mpd.js'
import { LiveStream } from '../../src/packager/live-stream.js'
import { BoxSplitter } from '../../src/formats/mp4/box-splitter.js'
import { parseFragment } from '../../src/formats/mp4/fragment.js'
import { silentLogger } from '../../src/log/logger.js'
import type { Sample, TrackInfo } from '../../src/media/types.js'
import type { InitRecord, SegmentRecord } from '../../src/packager/types.js'
import { parseStrict } from '../helpers/playlists.js'

// Sources encoded with B-frames (libx264 -bf 3 without zerolatency, OBS's x264 defaults):
// frames arrive in decode order, each with a composition offset. The worker writes the
// millisecond FLV timestamps at 16 ticks a millisecond, as FFmpeg's mp4 muxer does.
const TS = 16000
const video: TrackInfo = { id: 1, kind: 'video', timescale: TS, codec: 'avc1.64001f', width: 640, height: 360, language: 'und' }
const vInit: InitRecord = { data: Buffer.from('v'), hash: 'vvv', tracks: [video] }
const WALL = 1_700_000_000_000
const grid = { msnBase: 500 }
const FPS = 30
const ms = (frames: number): number => Math.round((frames * 1000) / FPS)

/**
 * Frames `from`..`to` (display indices; `from` a GOP start) of a closed-GOP stream with a
 * key frame every `gop` frames and mini-GOPs of four (P first, then the B-frames), in
 * decode order. Presentation runs two frames behind decoding (x264's reorder delay), so
 * the key frame's composition offset is two frames, as FLV from FFmpeg carries it.
 */
function bframeVideo(from: number, to: number, gop: number, keyAt: (display: number) => boolean = (d) => d % gop === 0): Sample[] {
  const order: number[] = []
  let d = from
  while (d < to) {
    order.push(d)
    let end = d + 1
    while (end < to && !keyAt(end)) end++
    for (let a = d + 1; a < end; a += 4) {
      const b = Math.min(a + 3, end - 1)
      order.push(b)
      for (let x = a; x < b; x++) order.push(x)
    }
    d = end
  }
  return order.map((disp, i) => {
    const dts = ms(from + i) * 16
    const pts = ms(disp + 2) * 16
    return { trackId: 1, dts, duration: (ms(from + i + 1) - ms(from + i)) * 16, cts: pts - dts, sync: keyAt(disp), data: Buffer.alloc(60, disp % 256) }
  })
}

/** The same pictures encoded without B-frames (an encoded rung): presentation = decode, from 0. */
function plainVideo(from: number, to: number, gop: number): Sample[] {
  const out: Sample[] = []
  for (let i = from; i < to; i++) out.push({ trackId: 1, dts: i * 512, duration: 512, cts: 0, sync: i % gop === 0, data: Buffer.alloc(40) })
  return out
}

function capture() {
  const lines: any[] = []
  const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { lines.push(JSON.parse(chunk.toString())); cb() } }))
  return { logger, lines }
}

function rendition(init: InitRecord, o: { partTarget?: number; logger?: pino.Logger; timescale?: number } = {}) {
  const store = new RenditionStore('v', { targetDuration: 2, partTarget: o.partTarget ?? 0.5, windowSeconds: 60 }, 1)
  const seg = new Segmenter(store, init, { segmentTarget: 2, grid, wallClockAt: (s) => WALL + s * 1000, logger: o.logger ?? silentLogger() })
  return { store, seg }
}

/** The lead samples of a stored segment, parsed back from its bytes. */
function samplesOf(s: SegmentRecord, track = video): Sample[] {
  const info = { tracks: [track], trex: new Map() }
  const boxes = new BoxSplitter().push(s.data ?? Buffer.concat(s.parts.map((p) => p.data)))
  const out: Sample[] = []
  for (let i = 0; i < boxes.length; i++) {
    if (boxes[i]!.type === 'moof') out.push(...parseFragment(boxes[i]!.data, boxes[i + 1]!.data, info))
  }
  return out
}

/** Push frames one at a time; after each, note which part the playlist hints. */
function pushWatchingHints(r: { store: RenditionStore; seg: Segmenter }, frames: Sample[]): string[] {
  const hints: string[] = []
  for (const f of frames) {
    r.seg.push([f])
    const m = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\.(\d+)\.m4s"/.exec(renderMediaPlaylist(r.store))
    if (m && hints[hints.length - 1] !== `${m[1]}.${m[2]}`) hints.push(`${m[1]}.${m[2]}`)
  }
  return hints
}

t.test('B-frames, key frames every 2 s: each segment starts with its key frame, one per grid slot', async (t) => {
  const r = rendition(vInit)
  r.seg.push(bframeVideo(0, 30 * 12 + 5, 60))
  const done = r.store.segments.filter((s) => s.complete)
  t.same(done.map((s) => s.msn), [500, 501, 502, 503, 504, 505], 'one segment per 2 s slot, numbered by slot')
  t.notOk(r.store.segments.some((s) => s.gap), 'no gap segments')
  for (const [k, s] of done.entries()) {
    const samples = samplesOf(s)
    t.ok(samples[0]!.sync && s.independent && s.parts[0]!.independent, `segment ${s.msn} starts with a key frame`)
    t.equal(samples.filter((x) => x.sync).length, 1, `segment ${s.msn} holds one key frame`)
    t.equal(samples.length, 60, `segment ${s.msn}: 60 frames`)
    t.equal(s.duration, 2, `segment ${s.msn} EXTINF is its media duration`)
    // CMAF: the key frame's presentation time is the slot's start (the reorder delay is
    // taken out with signed composition offsets), as in the encoded rungs.
    const earliest = Math.min(...samples.map((x) => x.dts + x.cts))
    t.equal(earliest, k * 2 * TS, `segment ${s.msn} presents from ${k * 2} s`)
    t.equal(samples[0]!.dts + samples[0]!.cts, earliest, 'its key frame is presented first')
    t.equal(s.pdt, WALL + k * 2000, `segment ${s.msn} PROGRAM-DATE-TIME is the slot's`)
  }
})

t.test('B-frames: parts are INDEPENDENT only where a key frame opens them; durations within PART-TARGET', async (t) => {
  const r = rendition(vInit)
  r.seg.push(bframeVideo(0, 30 * 8 + 5, 60))
  const done = r.store.segments.filter((s) => s.complete)
  t.ok(done.length >= 3)
  for (const s of done) {
    let sum = 0
    for (const p of s.parts) {
      const first = samplesOf({ ...s, data: p.data })[0]!
      t.equal(p.independent, first.sync, `part ${s.msn}.${p.index} INDEPENDENT=${p.independent} matches its first frame`)
      t.ok(p.duration <= 0.5 + 1e-9, `part ${s.msn}.${p.index} ${p.duration} <= PART-TARGET`)
      sum += p.duration
    }
    t.ok(Math.abs(sum - s.duration) < 1e-9)
  }
  const p = parseStrict(renderMediaPlaylist(r.store))
  t.equal(p.targetDuration, 2)
})

t.test('a B-frame copy and a rung encoded without B-frames stay on the same numbers, times and dates', async (t) => {
  const copy = rendition(vInit)
  const enc = rendition({ data: Buffer.from('e'), hash: 'eee', tracks: [{ ...video, timescale: 15360 }] })
  copy.seg.push(bframeVideo(0, 30 * 10 + 5, 60))
  enc.seg.push(plainVideo(0, 30 * 10 + 1, 60))
  const a = copy.store.segments.filter((s) => s.complete)
  const b = enc.store.segments.filter((s) => s.complete)
  t.same(a.map((s) => s.msn), b.map((s) => s.msn), 'same numbers')
  for (let i = 0; i < a.length; i++) {
    t.equal(a[i]!.pdt, b[i]!.pdt, `segment ${a[i]!.msn}: same PROGRAM-DATE-TIME`)
    t.equal(a[i]!.duration, b[i]!.duration, `segment ${a[i]!.msn}: same EXTINF`)
    t.equal(a[i]!.startTime, b[i]!.startTime, `segment ${a[i]!.msn}: same start`)
  }
})

t.test('B-frames: the preload hint always names the part that is added next', async (t) => {
  for (const gop of [60, 80]) {
    const r = rendition(vInit)
    const hints = pushWatchingHints(r, bframeVideo(0, 30 * 10 + 5, gop))
    for (const h of hints.slice(0, -1)) {
      const [msn, part] = h.split('.').map(Number)
      t.ok(r.store.part(msn!, part!), `GOP ${gop}: hinted part ${h} was added`)
    }
  }
})

t.test('key frames off the grid (GOP 80 at 30 fps): segments start only at key frames; logged once', async (t) => {
  const { logger, lines } = capture()
  const r = rendition(vInit, { logger })
  r.seg.push(bframeVideo(0, 30 * 20 + 5, 80))
  const media = r.store.segments.filter((s) => s.complete && !s.gap)
  t.ok(media.length >= 6, `${media.length} segments`)
  for (const s of media) {
    const samples = samplesOf(s)
    t.ok(samples[0]!.sync && s.independent, `segment ${s.msn} starts with a key frame`)
    t.equal(samples.filter((x) => x.sync).length, 1, `segment ${s.msn}: one key frame`)
    // Numbered by the slot its key frame is presented in.
    const pts = (samples[0]!.dts + samples[0]!.cts) / TS
    t.equal(s.msn, 500 + Math.floor(pts / 2 + 1e-6), `segment ${s.msn} key frame at ${pts} s is in its slot`)
  }
  const warned = lines.filter((l) => /GOP/.test(l.msg))
  t.equal(warned.length, 1, 'one line for the stream')
  t.match(warned[0], { gopSeconds: 2.667, segmentTarget: 2 }, 'with the numbers')
})

t.test('key frames at irregular times: never a segment without one at its start', async (t) => {
  const keys = new Set([0, 60, 130, 150, 230, 330, 340, 420])
  const r = rendition(vInit)
  r.seg.push(bframeVideo(0, 450, 0, (d) => keys.has(d)))
  r.seg.flush()
  const media = r.store.segments.filter((s) => !s.gap)
  t.ok(media.length >= 5)
  for (const s of media) t.ok(samplesOf(s)[0]!.sync, `segment ${s.msn} starts with a key frame`)
  const frames = media.reduce((a, s) => a + samplesOf(s).length, 0)
  t.equal(frames, 450, 'no frame lost')
})

t.test('passthrough (key-frame cuts) with B-frames: DASH SegmentTimeline t/d are the media\'s presentation times', async (t) => {
  const store = new RenditionStore('source', { targetDuration: 2, partTarget: 0.5, windowSeconds: 60 }, 1)
  const seg = new Segmenter(store, vInit, { segmentTarget: 2, wallClockAt: (s) => WALL + s * 1000, logger: silentLogger() })
  seg.push(bframeVideo(0, 30 * 10 + 5, 60))
  const stream = new LiveStream('s')
  stream.addRendition(store)
  stream.addTimeline({ firstMsn: 1, wallAtZero: WALL, gridSeconds: undefined })
  stream.state = 'live'
  const mpd = renderMpd(stream, { publishTime: WALL + 60_000, utcUrl: 'http://127.0.0.1/time' })!
  const entries = [...mpd.matchAll(/<S (?:t="(\d+)" )?d="(\d+)"(?: r="(\d+)")?\/>/g)]
  const starts: number[] = []
  let at = 0
  for (const [, tAttr, d, r] of entries) {
    if (tAttr !== undefined) at = Number(tAttr)
    for (let i = 0; i <= Number(r ?? 0); i++) {
      starts.push(at)
      at += Number(d)
    }
  }
  const done = store.segments.filter((s) => s.complete)
  t.equal(starts.length, done.length, `one S per complete segment (${entries.length} S elements)`)
  done.forEach((s, i) => {
    const samples = samplesOf(s)
    t.ok(samples[0]!.sync, `segment ${s.msn} starts with its key frame`)
    // Passthrough keeps the source's own offsets: the key frame is presented two frames after it is decoded.
    const earliest = Math.min(...samples.map((x) => x.dts + x.cts))
    t.equal(starts[i], earliest, `segment ${s.msn}: S@t ${starts[i]} is its earliest presentation time, not its key frame's decode time ${samples[0]!.dts}`)
  })
})

t.test('a source that stops sending key frames: its segment is cut after five segment targets, logged once', async (t) => {
  const { logger, lines } = capture()
  const r = rendition(vInit, { logger })
  r.seg.push(bframeVideo(0, 30 * 30, 0, (d) => d === 0)) // intra refresh: one key frame, then none
  const done = r.store.segments.filter((s) => s.complete && !s.gap)
  t.ok(done.length >= 2, `${done.length} segments`)
  t.ok(done.every((s) => s.duration <= 10 + 1e-9), `none longer than 10 s (${done.map((s) => s.duration).join(', ')})`)
  t.equal(lines.filter((l) => /no key frame/.test(l.msg)).length, 1, 'one line')
})
