import t from 'tap'
import { Segmenter } from '../../src/packager/segmenter.js'
import { RenditionStore } from '../../src/packager/rendition-store.js'
import { renderMediaPlaylist } from '../../src/packager/hls-media-playlist.js'
import { silentLogger } from '../../src/log/logger.js'
import type { Sample, TrackInfo } from '../../src/media/types.js'
import type { InitRecord } from '../../src/packager/types.js'
import { parseStrict, parseM3u8 } from '../helpers/playlists.js'

const video: TrackInfo = { id: 1, kind: 'video', timescale: 15360, codec: 'avc1.64001f', width: 640, height: 360, language: 'und' }
const audio: TrackInfo = { id: 1, kind: 'audio', timescale: 48000, codec: 'mp4a.40.2', sampleRate: 48000, channels: 2, language: 'eng' }
const vInit: InitRecord = { data: Buffer.from('v'), hash: 'vvv', tracks: [video] }
const aInit: InitRecord = { data: Buffer.from('a'), hash: 'aaa', tracks: [audio] }
const WALL = 1_700_000_000_000
const grid = { msnBase: 500 }

/** 30 fps at timescale 15360 (512 ticks a frame), key frames forced every 2 s. */
function videoFrames(fromSec: number, toSec: number): Sample[] {
  const out: Sample[] = []
  for (let i = Math.round(fromSec * 30); i < Math.round(toSec * 30); i++) {
    out.push({ trackId: 1, dts: i * 512, duration: 512, cts: 0, sync: i % 60 === 0, data: Buffer.alloc(80) })
  }
  return out
}

/** AAC: 1024 samples a frame at 48 kHz (21.33 ms), never on the 2 s grid exactly. */
function audioFrames(fromSec: number, toSec: number): Sample[] {
  const out: Sample[] = []
  for (let i = Math.ceil((fromSec * 48000) / 1024); i * 1024 < toSec * 48000; i++) {
    out.push({ trackId: 1, dts: i * 1024, duration: 1024, cts: 0, sync: true, data: Buffer.alloc(20) })
  }
  return out
}

function rendition(name: string, init: InitRecord) {
  const store = new RenditionStore(name, { targetDuration: 2, partTarget: 0.5, windowSeconds: 30 }, 1)
  const seg = new Segmenter(store, init, { segmentTarget: 2, grid, wallClockAt: (s) => WALL + s * 1000, logger: silentLogger() })
  return { store, seg }
}

t.test('segments of a video and an audio rendition on one grid share numbers, times and dates', async (t) => {
  const v = rendition('v', vInit)
  const a = rendition('a', aInit)
  v.seg.push(videoFrames(0, 10.1))
  a.seg.push(audioFrames(0, 10.1))
  const vs = v.store.segments.filter((s) => s.complete)
  const as = a.store.segments.filter((s) => s.complete)
  t.same(vs.map((s) => s.msn), [500, 501, 502, 503, 504])
  t.same(as.map((s) => s.msn), [500, 501, 502, 503, 504], 'audio numbered like video')
  for (let i = 0; i < vs.length; i++) {
    t.ok(Math.abs(vs[i]!.startTime - as[i]!.startTime) < 1 / 30, `segment ${vs[i]!.msn} starts at the same media time (${vs[i]!.startTime} vs ${as[i]!.startTime})`)
    t.ok(Math.abs(vs[i]!.pdt - as[i]!.pdt) < 34, 'and the same program date time')
  }
  t.ok(as.every((s) => Math.round(s.duration) <= 2), 'audio segments within TARGETDURATION')
  t.ok(a.store.segments.every((s) => s.parts.every((p) => p.duration <= 0.5)), 'audio parts within PART-TARGET')
  // No sliver at a segment's end (AAC frames are 21.3 ms): parts before the last are even and
  // at least 85% of PART-TARGET, the last takes the rest (test/packager/audio-parts.test.ts).
  for (const seg of as.slice(1)) {
    const d = seg.parts.map((p) => p.duration)
    const body = d.slice(0, -1)
    t.ok(Math.max(...body) - Math.min(...body) <= 1024 / 48000 + 1e-9 && Math.min(...body) >= 0.85 * 0.5, `segment ${seg.msn} audio parts even: ${d.map((x) => x.toFixed(3)).join(' ')}`)
    t.ok(d[d.length - 1]! >= 0.2, `segment ${seg.msn}: its last audio part is no sliver`)
  }
})

t.test('a hole in one rendition is listed as EXT-X-GAP segments; numbering stays aligned', async (t) => {
  const v = rendition('v', vInit)
  v.seg.push(videoFrames(0, 4))
  v.seg.flush() // worker died at 4 s
  const v2 = new Segmenter(v.store, { ...vInit, hash: 'vv2' }, { segmentTarget: 2, grid, wallClockAt: (s) => WALL + s * 1000, logger: silentLogger() })
  v2.push(videoFrames(10, 14.1)) // back at 10 s, on the same timeline
  const msns = v.store.segments.map((s) => s.msn)
  t.same(msns, [500, 501, 502, 503, 504, 505, 506, 507], 'contiguous numbers through the hole')
  t.same(v.store.segments.filter((s) => s.gap).map((s) => s.msn), [502, 503, 504], 'the missing slots are gaps')
  const resumed = v.store.segment(505)!
  t.equal(resumed.startTime, 10)
  t.ok(resumed.discontinuity, 'the restart is a discontinuity')
  t.equal(v.store.segment(503)!.pdt, WALL + 6000, 'gap segments carry the grid slot\'s date')
  const text = renderMediaPlaylist(v.store)
  t.equal(text.match(/^#EXT-X-GAP$/gm)?.length, 3)
  t.match(text, /#EXT-X-GAP\n#EXTINF:2\.0,\n502\.m4s/)
  const p = parseStrict(text)
  t.same(p.segments.filter((s: any) => s.gap).map((s: any) => s.mediaSequenceNumber), [502, 503, 504])
  t.same(parseM3u8(text).warnings, [])
})

t.test('a hole longer than the window does not break msn lookups', async (t) => {
  const v = rendition('v', vInit)
  v.seg.push(videoFrames(0, 4))
  v.seg.flush()
  const v2 = new Segmenter(v.store, vInit, { segmentTarget: 2, grid, wallClockAt: (s) => WALL + s * 1000, logger: silentLogger() })
  v2.push(videoFrames(300, 304.1))
  const segs = v.store.segments
  segs.forEach((s, i) => t.equal(v.store.segment(s.msn), s, `lookup of ${s.msn} (${i})`))
  t.equal(segs.at(-1)!.msn, 500 + 152, 'the open segment is slot 152 (304 s / 2 s)')
  t.ok(segs.length <= 22, `held ${segs.length} segments`)
  parseStrict(renderMediaPlaylist(v.store))
})
