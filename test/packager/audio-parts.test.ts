import t from 'tap'
import { Segmenter } from '../../src/packager/segmenter.js'
import { RenditionStore } from '../../src/packager/rendition-store.js'
import { framesBefore, nextPartFrames } from '../../src/packager/part-plan.js'
import { renderMediaPlaylist } from '../../src/packager/hls-media-playlist.js'
import { silentLogger } from '../../src/log/logger.js'
import type { Sample, TrackInfo } from '../../src/media/types.js'
import type { InitRecord } from '../../src/packager/types.js'
import { parseStrict } from '../helpers/playlists.js'

// The audio rendition of a ladder is cut on the shared 2 s grid, which is no whole number
// of AAC frames (93.75 at 48 kHz, 86.13 at 44.1 kHz). Cut naively, parts of 9/15/23 frames
// leave a segment's last part 1–4 frames long, and hls.js was seen to skip such a part and
// stall on the hole. These tests pin the even spread for every part target in use.

const WALL = 1_700_000_000_000
const SEGMENT = 2

/** AAC frames (1024 samples) at `rate`; `msClock` gives FLV-style millisecond timestamps. */
function aacFrames(rate: number, seconds: number, msClock: boolean): Sample[] {
  const out: Sample[] = []
  for (let i = 0; i * 1024 < seconds * rate; i++) {
    const at = (k: number): number => (msClock ? Math.round((k * 1024 * 1000) / rate) : k * 1024)
    out.push({ trackId: 1, dts: at(i), duration: at(i + 1) - at(i), cts: 0, sync: true, data: Buffer.alloc(8) })
  }
  return out
}

function audioRendition(rate: number, partTarget: number, msClock: boolean) {
  const track: TrackInfo = { id: 1, kind: 'audio', timescale: msClock ? 1000 : rate, codec: 'mp4a.40.2', sampleRate: rate, channels: 2, language: 'und' }
  const init: InitRecord = { data: Buffer.from('a'), hash: 'aud', tracks: [track] }
  const store = new RenditionStore('audio', { targetDuration: SEGMENT, partTarget, windowSeconds: 30 }, 1)
  const seg = new Segmenter(store, init, { segmentTarget: SEGMENT, grid: { msnBase: 1 }, wallClockAt: (s) => WALL + s * 1000, logger: silentLogger() })
  return { store, seg, frame: 1024 / rate }
}

for (const rate of [48000, 44100]) {
  for (const partTarget of [0.2, 0.25, 0.33, 0.5]) {
    for (const msClock of [false, true]) {
      const clock = msClock ? 'millisecond timestamps' : 'sample-exact timestamps'
      t.test(`AAC ${rate} Hz, part target ${partTarget}, ${clock}: parts even, within PART-TARGET, no sliver at a segment's end`, async (t) => {
        const { store, seg, frame } = audioRendition(rate, partTarget, msClock)
        const frames = aacFrames(rate, 20.05, msClock)
        let seen = 0
        let late = 0
        for (const f of frames) {
          seg.push([f])
          const parts = store.segments.flatMap((s) => s.parts)
          if (parts.length === seen) continue
          seen = parts.length
          // Published with its last frame: the parts hold every frame pushed so far.
          const published = parts.reduce((sum, p) => sum + p.duration, 0)
          if (Math.abs(published - (f.dts + f.duration) / (msClock ? 1000 : rate)) > 1e-6) late++
        }
        t.equal(late, 0, 'no part waited for the frame after its last')
        const complete = store.segments.filter((s) => s.complete)
        t.equal(complete.length, 10, 'ten 2 s segments')
        // Millisecond timestamps move a part's length by at most a millisecond either way.
        const slack = msClock ? 0.0011 : 1e-9
        for (const s of complete) {
          t.ok(Math.abs(s.startTime - (s.msn - 1) * SEGMENT) < frame, `segment ${s.msn} starts on its grid slot (${s.startTime})`)
          const d = s.parts.map((p) => p.duration)
          const label = `segment ${s.msn}: ${d.map((x) => Math.round(x / frame)).join(',')} frames`
          t.ok(d.every((x) => x <= partTarget + 1e-9), `${label}: every part <= PART-TARGET`)
          const body = d.slice(0, -1)
          const last = d[d.length - 1]!
          t.ok(Math.max(...body) - Math.min(...body) <= frame + 2 * slack, `${label}: parts before the last differ by at most one frame`)
          // 4.4.4.9's 85% floor: strict parsers hold INDEPENDENT parts to it as well.
          t.ok(body.every((x) => x >= 0.85 * partTarget - 1e-9), `${label}: parts before the last >= 85% of PART-TARGET`)
          // Fewest parts that fit: one part fewer could not hold the segment within PART-TARGET.
          const perPart = Math.floor((partTarget + slack) / frame)
          t.equal(s.parts.length, Math.ceil(Math.round(s.duration / frame) / perPart), `${label}: fewest parts of whole frames`)
          t.ok(last >= 0.4 * partTarget && last >= 5 * frame, `${label}: the last part is no sliver`)
          t.ok(s.parts.every((p) => p.independent), 'audio parts are INDEPENDENT (4.4.4.9 exempts them from the 85% floor)')
        }
        const text = renderMediaPlaylist(store)
        t.doesNotThrow(() => parseStrict(text), 'the playlist passes a strict parser')
        t.match(text, /INDEPENDENT=YES/, 'the playlist marks audio parts INDEPENDENT=YES')
      })
    }
  }
}

/** 30 fps video at timescale 15360 with a key frame every 2 s, the ladder's encoded rungs. */
function videoFrames(seconds: number): Sample[] {
  const out: Sample[] = []
  for (let i = 0; i < seconds * 30; i++) out.push({ trackId: 1, dts: i * 512, duration: 512, cts: 0, sync: i % 60 === 0, data: Buffer.alloc(40) })
  return out
}

for (const [partTarget, perPart, lastPart] of [[0.2, 6, 6], [0.25, 7, 4], [0.33, 9, 6], [0.5, 15, 15]] as const) {
  t.test(`30 fps video on the grid, part target ${partTarget}: ${perPart}-frame parts, each published with its last frame`, async (t) => {
    const track: TrackInfo = { id: 1, kind: 'video', timescale: 15360, codec: 'avc1.64001f', width: 640, height: 360, language: 'und' }
    const store = new RenditionStore('v', { targetDuration: SEGMENT, partTarget, windowSeconds: 30 }, 1)
    const seg = new Segmenter(store, { data: Buffer.from('v'), hash: 'vid', tracks: [track] }, { segmentTarget: SEGMENT, grid: { msnBase: 1 }, keyframesOnGrid: true, wallClockAt: (s) => WALL + s * 1000, logger: silentLogger() })
    let seen = 0
    let late = 0
    for (const f of videoFrames(10.02)) {
      seg.push([f])
      const parts = store.segments.flatMap((s) => s.parts)
      if (parts.length === seen) continue
      seen = parts.length
      if (Math.abs(parts.reduce((a, p) => a + p.duration, 0) - (f.dts + f.duration) / 15360) > 1e-9) late++
    }
    t.equal(late, 0, 'no part waited for the frame after its last')
    for (const s of store.segments.filter((x) => x.complete)) {
      const frames = s.parts.map((p) => Math.round(p.duration * 30))
      t.same(frames.slice(0, -1), frames.slice(0, -1).map(() => perPart), `segment ${s.msn}: ${frames.join(',')}`)
      t.equal(frames[frames.length - 1], lastPart, 'the last part takes the rest of the GOP')
      // 4.4.4.9: non-independent parts other than a segment's last are at least 85% of PART-TARGET.
      s.parts.slice(1, -1).forEach((p) => t.ok(p.duration >= 0.85 * partTarget && p.duration <= partTarget + 1e-9, `${p.duration} within [85%, 100%]`))
    }
  })
}

t.test('nextPartFrames: even when even parts reach the floor, else floor-sized parts and the rest last, never a sliver', async (t) => {
  // framesLeft, min (85%), max (PART-TARGET) → frames of the next part
  t.equal(nextPartFrames(94, 8, 9), 9, '0.2 s at 48 kHz: 94 = 6×9 + 5×8, larger first')
  t.equal(nextPartFrames(85, 8, 9), 9, '...the plan for the rest is the same plan')
  t.equal(nextPartFrames(40, 8, 9), 8)
  t.equal(nextPartFrames(94, 20, 23), 20, '0.5 s at 48 kHz: even would be 18–19 (< 85%), so 20s and 14 last')
  t.equal(nextPartFrames(14, 20, 23), 14, 'the rest in one part')
  t.equal(nextPartFrames(19, 10, 10), 10, '19 = 10 + 9')
  t.equal(nextPartFrames(21, 10, 10), 7, '21 = 10 + 10 + 1 leaves a sliver: even 7 + 7 + 7 instead')
  t.equal(nextPartFrames(3, 8, 9), 3, 'fewer frames than a part: all of them')
  t.equal(nextPartFrames(0, 8, 9), 1, 'never zero')
  t.equal(nextPartFrames(10, 12, 9), 5, 'a floor above the cap is clamped to it (9 + 1 would be a sliver: 5 + 5)')
  t.equal(framesBefore(0, 96000, 1024, 512), 94, '2 s at 48 kHz: frames whose midpoint is before the end')
  t.equal(framesBefore(1024 * 93, 96000, 1024, 512), 1)
  t.equal(framesBefore(96000, 96000, 1024, 512), 0)
})
