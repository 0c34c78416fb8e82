import t from 'tap'
import { Segmenter } from '../../src/packager/segmenter.js'
import { RenditionStore } from '../../src/packager/rendition-store.js'
import { renderMediaPlaylist } from '../../src/packager/hls-media-playlist.js'
import { silentLogger } from '../../src/log/logger.js'
import type { Sample, TrackInfo } from '../../src/media/types.js'
import type { InitRecord } from '../../src/packager/types.js'
import { parseStrict, parseM3u8, partsOf } from '../helpers/playlists.js'

const video: TrackInfo = { id: 1, kind: 'video', timescale: 1000, codec: 'avc1.64001f', width: 640, height: 360, language: 'und' }
const audio: TrackInfo = { id: 2, kind: 'audio', timescale: 48000, codec: 'mp4a.40.2', sampleRate: 48000, channels: 2, language: 'und' }
const init: InitRecord = { data: Buffer.from('init'), hash: 'abc123', tracks: [video, audio] }

/** Video frames at `fps` with millisecond timestamps (as FLV gives them), key every `gop`. */
function frames(count: number, fps: number, gop: number, from = 0): Sample[] {
  const out: Sample[] = []
  for (let i = from; i < from + count; i++) {
    const dts = Math.round((i * 1000) / fps)
    const next = Math.round(((i + 1) * 1000) / fps)
    out.push({ trackId: 1, dts, duration: next - dts, cts: 0, sync: i % gop === 0, data: Buffer.alloc(100, i % 256) })
  }
  return out
}

function setup(partTarget = 0.5, segmentTarget = 2) {
  const store = new RenditionStore('v', { targetDuration: Math.ceil(segmentTarget), partTarget, windowSeconds: 30 }, 1000)
  const seg = new Segmenter(store, init, { segmentTarget, wallClockAt: (s) => 1_700_000_000_000 + s * 1000, logger: silentLogger() })
  return { store, seg }
}

for (const [fps, partTarget] of [[30, 0.5], [25, 0.5], [29.97, 0.5], [30, 0.334], [60, 0.2], [24, 0.334]] as const) {
  t.test(`${fps} fps, part target ${partTarget}: parts within [85%, 100%] of the target except segment ends`, async (t) => {
    const { store, seg } = setup(partTarget)
    const gop = Math.round(fps * 2)
    seg.push(frames(Math.round(fps * 12), fps, gop))
    const complete = store.segments.filter((s) => s.complete)
    t.ok(complete.length >= 4, `segments: ${complete.length}`)
    for (const s of complete) {
      t.ok(Math.round(s.duration) <= 2, `segment ${s.msn} ${s.duration} rounds to <= TARGETDURATION`)
      t.ok(s.parts[0]!.independent, 'segment starts on an independent part')
      s.parts.forEach((p, i) => {
        t.ok(p.duration <= partTarget + 1e-9, `part ${s.msn}.${i} ${p.duration} <= ${partTarget}`)
        if (i < s.parts.length - 1) t.ok(p.duration >= 0.85 * partTarget, `part ${s.msn}.${i} ${p.duration} >= 85%`)
      })
    }
  })
}

t.test('segments cut at key frames; a GOP longer than TARGETDURATION is cut without one', async (t) => {
  const { store, seg } = setup()
  seg.push(frames(30 * 9, 30, 30 * 3)) // 3 s GOP, 2 s target
  const complete = store.segments.filter((s) => s.complete)
  t.ok(complete.every((s) => s.duration < 2.5), 'never rounds above TARGETDURATION')
  t.ok(complete.some((s) => !s.independent), 'some segment starts without a key frame')
  t.ok(complete.every((s) => s.parts[0]!.independent === s.independent))
})

t.test('frames before the first key frame are dropped; audio joins the open part', async (t) => {
  const { store, seg } = setup()
  const v = frames(70, 30, 60, 0).slice(5) // starts mid-GOP
  const a: Sample[] = Array.from({ length: 100 }, (_, i) => ({ trackId: 2, dts: i * 1024, duration: 1024, cts: 0, sync: true, data: Buffer.alloc(20) }))
  seg.push(a.slice(0, 10))
  seg.push(v)
  seg.push(a.slice(10))
  seg.push(frames(60, 30, 60, 70 - 10).filter((s) => s.dts >= 2333))
  seg.flush()
  const first = store.segments[0]!
  t.ok(first.independent)
  t.equal(first.startTime, 2, 'first segment starts at the first key frame (2 s)')
})

t.test('program date time follows the wall clock of the media time', async (t) => {
  const { store, seg } = setup()
  seg.push(frames(30 * 6 + 1, 30, 60))
  const s = store.segments
  t.equal(s[0]!.pdt, 1_700_000_000_000)
  t.equal(s[1]!.pdt, 1_700_000_002_000)
  t.equal(s[2]!.pdt, 1_700_000_004_000)
})

t.test('the rendered playlist parses strictly and lists what the store holds', async (t) => {
  const { store, seg } = setup()
  seg.push(frames(30 * 7 + 20, 30, 60))
  const text = renderMediaPlaylist(store)
  const p = parseStrict(text)
  t.equal(p.targetDuration, 2)
  t.equal(p.mediaSequenceBase, 1000)
  t.equal(p.segments.length, 4, 'three complete segments and the open one (as parts)')
  t.equal(p.lowLatencyCompatibility?.canBlockReload, true)
  t.equal(p.partTargetDuration, 0.5)
  t.ok(p.lowLatencyCompatibility.partHoldBack >= 1.5, 'PART-HOLD-BACK >= 3 x PART-TARGET')
  t.equal(p.prefetchSegments.length, 0)
  t.match(text, /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="1003\.\d\.m4s"/)
  t.match(text, /#EXT-X-PROGRAM-DATE-TIME:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/)
  t.match(text, /#EXT-X-MAP:URI="init\.mp4\?v=abc123"/)
  const { manifest, warnings } = parseM3u8(text)
  t.same(warnings, [])
  t.equal(manifest.targetDuration, 2)
  t.equal(manifest.mediaSequence, 1000)
  // Part tags only within 3 target durations (6 s) of the end.
  const parts = partsOf(text)
  const listed = parts.reduce((a, p) => a + p.duration, 0)
  t.ok(listed <= 6 + 1e-9, `listed part time ${listed} <= 6 s`)
  t.ok(parts.length > 0)
})

t.test('memory is bounded by the window, not the stream length', async (t) => {
  const { store, seg } = setup()
  seg.push(frames(30 * 600, 30, 60)) // ten minutes
  const held = store.segments.reduce((a, s) => a + s.duration, 0)
  t.ok(held <= 30 + 3 * 2 + 2, `held ${held} s`)
  t.ok(store.segments.length <= 20)
})

t.test('a new epoch marks a discontinuity and numbering continues', async (t) => {
  const { store, seg } = setup()
  seg.push(frames(30 * 4 + 1, 30, 60))
  seg.flush()
  const lastMsn = store.segments.at(-1)!.msn
  const init2: InitRecord = { ...init, hash: 'def456' }
  const seg2 = new Segmenter(store, init2, { segmentTarget: 2, wallClockAt: (s) => 1_800_000_000_000 + s * 1000, logger: silentLogger() })
  seg2.push(frames(30 * 4 + 1, 30, 60))
  const next = store.segments.find((s) => s.init.hash === 'def456')!
  t.equal(next.msn, lastMsn + 1)
  t.ok(next.discontinuity)
  const text = renderMediaPlaylist(store)
  t.match(text, /#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init\.mp4\?v=def456"/)
  parseStrict(text)
})

t.test('with a regular GOP, a segment completes with its last frame and the hint moves to the next segment', async (t) => {
  // 0.3 s parts: a 60-frame GOP ends in a 6-frame part that no size rule would close.
  const { store, seg } = setup(0.3)
  seg.push(frames(120, 30, 60)) // two whole GOPs; the 121st frame (a key frame) is not pushed
  const second = store.segments[1]!
  t.ok(second.complete, 'second segment complete before the next key frame arrives')
  const covered = second.parts.reduce((a, p) => a + p.duration, 0)
  t.ok(Math.abs(covered - 2) < 1e-9, `all 2 s of its parts are published (${covered})`)
  t.equal(store.openSegment(), undefined)
  t.match(renderMediaPlaylist(store), new RegExp(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${second.msn + 1}\\.0\\.m4s"`), 'the hint names the next segment\'s first part')
  seg.push(frames(1, 30, 60, 120))
  t.equal(store.openSegment()!.msn, second.msn + 1, 'the key frame opens the next segment')
  t.ok(store.openSegment()!.independent)
})

t.test('a predicted cut that misses its key frame starts the next segment anyway', async (t) => {
  const { store, seg } = setup()
  seg.push(frames(120, 30, 60))
  // The GOP changes: frame 120 is not a key frame after all.
  seg.push(frames(30, 30, 1000, 120).map((f) => ({ ...f, sync: false })))
  const open = store.openSegment()!
  t.ok(open, 'frames after the missed key frame are kept in a new segment')
  t.notOk(open.independent, 'marked as not starting independently')
  t.ok(open.parts.length > 0)
})

for (const [fps, partTarget, perPart] of [[30, 0.33, 9], [30, 0.25, 7], [30, 0.5, 15], [25, 0.2, 5]] as const) {
  t.test(`${fps} fps, part target ${partTarget}: each part (${perPart} frames) is published with its last frame, not when the next one arrives`, async (t) => {
    const { store, seg } = setup(partTarget)
    const all = frames(fps * 6, fps, fps * 2)
    const partsIn = (): Array<{ duration: number }> => store.segments.flatMap((s) => s.parts)
    let seen = 0
    let late = 0
    for (const f of all) {
      seg.push([f])
      const parts = partsIn()
      if (parts.length === seen) continue
      seen = parts.length
      // Every frame pushed so far is in a published part: nothing waited for a later frame.
      // (The first GOP's end cannot be foreseen: its length is not known yet.)
      const published = parts.reduce((sum, p) => sum + p.duration, 0)
      if (f.dts > 2000 && Math.abs(published - (f.dts + f.duration) / 1000) > 1e-6) late++
    }
    t.ok(seen >= 3 * Math.floor(2 / partTarget), `parts published: ${seen}`)
    t.equal(late, 0, 'no part was held back for the frame after its last')
    for (const s of store.segments.filter((x) => x.complete)) {
      for (const p of s.parts.slice(0, -1)) t.equal(Math.round(p.duration * fps), perPart, `part of ${s.msn}: ${p.duration} s is ${perPart} frames`)
    }
  })
}
