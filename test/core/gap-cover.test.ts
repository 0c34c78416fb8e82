/**
 * GapCover: a rendition without a producer keeps advancing in step with another
 * one as EXT-X-GAP segments of GAP=YES parts, and hands over to media cleanly.
 */
import t from 'tap'
import { setImmediate as turn } from 'node:timers/promises'
import { Segmenter } from '../../src/packager/segmenter.js'
import { RenditionStore } from '../../src/packager/rendition-store.js'
import { renderMediaPlaylist } from '../../src/packager/hls-media-playlist.js'
import { GapCover } from '../../src/core/gap-cover.js'
import { silentLogger } from '../../src/log/logger.js'
import type { Sample, TrackInfo } from '../../src/media/types.js'
import { parseStrict } from '../helpers/playlists.js'

const video = (id: string): { data: Buffer; hash: string; tracks: TrackInfo[] } => ({
  data: Buffer.from(id), hash: id, tracks: [{ id: 1, kind: 'video', timescale: 1000, codec: 'avc1.64001f', width: 640, height: 360, language: 'und' }],
})

/** 30 fps frames `from`..`from+count-1`, a key frame every 2 s (the grid). */
function frames(count: number, from = 0): Sample[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k
    const dts = Math.round((i * 1000) / 30)
    return { trackId: 1, dts, duration: Math.round(((i + 1) * 1000) / 30) - dts, cts: 0, sync: i % 60 === 0, data: Buffer.alloc(50) }
  })
}

function session() {
  const timing = { targetDuration: 2, partTarget: 0.5, windowSeconds: 30 }
  const a = new RenditionStore('a', timing, 100)
  const b = new RenditionStore('b', timing, 100)
  const opts = { segmentTarget: 2, grid: { msnBase: 100 }, wallClockAt: (s: number) => 1_700_000_000_000 + s * 1000, logger: silentLogger() }
  const segA = new Segmenter(a, video('aa'), opts)
  const segB = new Segmenter(b, video('bb'), opts)
  return { a, b, segA, segB, opts, cover: new GapCover([a, b], silentLogger()) }
}

/** A session where both renditions made segments 100 and 101, then b's producer died (and was shed, if `shed`) and the cover took it. */
async function bDown(shed?: string): Promise<ReturnType<typeof session>> {
  const s = session()
  s.segA.push(frames(120))
  s.segB.push(frames(120))
  s.segB.flush()
  if (shed) s.b.shed = shed
  s.cover.down('b')
  await turn()
  return s
}

t.test('a rendition that is down advances as gaps in step with the other', async (t) => {
  const s = await bDown()
  s.segA.push(frames(100, 120)) // a goes on: 102 complete, 103 open with parts
  const b = s.b.segments
  t.same(b.map((x) => x.msn), [100, 101, 102, 103], 'contiguous numbers, the same as a')
  t.same(b.filter((x) => x.gap).map((x) => x.msn), [102, 103])
  t.equal(s.b.segment(102)!.duration, s.a.segment(102)!.duration, 'a gap segment lasts what the leader\'s did')
  t.equal(s.b.segment(102)!.pdt, s.a.segment(102)!.pdt, 'and carries its date')
  t.equal(s.b.segment(103)!.parts.length, s.a.segment(103)!.parts.length, 'the open gap segment has as many parts as the leader\'s')
  t.same(s.b.edge(), s.a.edge(), 'so rendition reports agree')
  const text = renderMediaPlaylist(s.b)
  parseStrict(text)
  t.match(text, /#EXT-X-GAP\n(#EXT-X-PART:[^\n]*GAP=YES[^\n]*\n)*#EXTINF:[\d.]+,\n102\.m4s/, 'a complete gap: EXT-X-GAP before its GAP=YES parts and EXTINF')
  t.match(text, /URI="103\.0\.m4s",GAP=YES/, 'the open gap segment lists GAP=YES parts')
  t.match(text, /EXT-X-PRELOAD-HINT:TYPE=PART,URI="103\.\d+\.m4s"/, 'the hint names the next (gap) part: a playlist with parts needs one')
  t.notMatch(text, /ENDLIST/)
  t.equal(/^#EXT-X-VERSION:(\d+)/m.exec(text)?.[1], '8', 'EXT-X-GAP needs version 8')
})

t.test('when the producer is back the open gap is finished and media takes the next slot', async (t) => {
  const s = await bDown()
  s.segA.push(frames(20, 120)) // 102 open on a, and so as a gap on b
  s.cover.up('b') // the restarted encoder starts at the next slot (103)
  s.segA.push(frames(60, 140)) // a completes 102, opens 103
  t.ok(s.b.segment(102)!.complete && s.b.segment(102)!.gap, 'the open gap segment completed with the leader')
  t.equal(s.b.segment(103), undefined, 'no new gap opened once the producer is back')
  const seg = new Segmenter(s.b, video('bb2'), s.opts)
  seg.push(frames(60, 180)) // slot 103... media from 6.0 s on
  t.ok(s.b.segment(103) && !s.b.segment(103)!.gap, 'media takes 103')
  t.ok(s.b.segment(103)!.discontinuity, 'after a discontinuity (new epoch)')
  t.notOk(s.cover.covering('b'))
  parseStrict(renderMediaPlaylist(s.b))
})

t.test('a restart known to begin at a later slot: gaps go on up to it, then stop', async (t) => {
  const s = await bDown()
  s.cover.up('b', 104) // the new encoder starts at 8.0 s: slot 104
  s.segA.push(frames(160, 120)) // a: 102, 103 complete, 104 open
  t.same(s.b.segments.filter((x) => x.gap).map((x) => [x.msn, x.complete]), [[102, true], [103, true]], 'gaps for 102 and 103, none from 104')
  t.notOk(s.cover.covering('b'), 'done once the hole before the restart is listed')
  const seg = new Segmenter(s.b, video('bb2'), s.opts)
  seg.push(frames(60, 240))
  t.ok(s.b.segment(104) && !s.b.segment(104)!.gap && s.b.segment(104)!.discontinuity, 'media takes 104, after a discontinuity')
  parseStrict(renderMediaPlaylist(s.b))
})

t.test('a shed rendition is covered for the rest of the session; the cover stops when the leader ends', async (t) => {
  const s = await bDown('shed: test')
  s.segA.push(frames(300, 120))
  t.equal(s.b.upcomingMsn, s.a.upcomingMsn, 'still in step after 10 s')
  s.segA.flush()
  s.a.end()
  t.notOk(s.cover.covering('b'), 'stopped with the leader')
  s.b.end()
  parseStrict(renderMediaPlaylist(s.b))
})

t.test('nothing to follow: no cover, no error', async (t) => {
  const timing = { targetDuration: 2, partTarget: 0.5, windowSeconds: 30 }
  const only = new RenditionStore('x', timing, 1)
  const cover = new GapCover([only], silentLogger())
  cover.down('x')
  cover.down('nope')
  await turn()
  t.notOk(cover.covering('x'))
})
