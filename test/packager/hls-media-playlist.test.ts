import t from 'tap'
import { Segmenter } from '../../src/packager/segmenter.js'
import { RenditionStore } from '../../src/packager/rendition-store.js'
import { mediaPlaylistModel, renderMediaPlaylist } from '../../src/packager/hls-media-playlist.js'
import { formatMediaPlaylist } from '../../src/formats/hls/media-playlist.js'
import { silentLogger } from '../../src/log/logger.js'
import type { Sample, TrackInfo } from '../../src/media/types.js'
import { parseStrict, parseM3u8 } from '../helpers/playlists.js'

const video: TrackInfo = { id: 1, kind: 'video', timescale: 1000, codec: 'avc1.64001f', width: 640, height: 360, language: 'und' }

function frames(count: number, from = 0): Sample[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k
    const dts = Math.round((i * 1000) / 30)
    return { trackId: 1, dts, duration: Math.round(((i + 1) * 1000) / 30) - dts, cts: 0, sync: i % 60 === 0, data: Buffer.alloc(50) }
  })
}

function longStream() {
  const store = new RenditionStore('v', { targetDuration: 2, partTarget: 0.5, windowSeconds: 30 }, 5000)
  const seg = new Segmenter(store, { data: Buffer.from('i1'), hash: 'aaa', tracks: [video] }, { segmentTarget: 2, wallClockAt: (s) => 1_700_000_000_000 + s * 1000, logger: silentLogger() })
  seg.push(frames(30 * 40 + 20)) // 40 s: the 30 s window is full
  return store
}

const header = (text: string, tag: string): string | undefined => new RegExp(`^#${tag}:(.*)$`, 'm').exec(text)?.[1]

for (const skip of ['YES', 'v2'] as const) {
  t.test(`rfc8216bis 6.2.5.1: _HLS_skip=${skip} replaces segments past the skip boundary with EXT-X-SKIP`, async (t) => {
    const store = longStream()
    const full = renderMediaPlaylist(store)
    const delta = renderMediaPlaylist(store, { skip })
    const skipped = Number(/^#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)/m.exec(delta)?.[1])
    if (skip === 'v2') t.match(delta, /^#EXT-X-SKIP:SKIPPED-SEGMENTS=\d+,RECENTLY-REMOVED-DATERANGES=""$/m, 'v2 names removed date ranges (none)')
    else t.notMatch(delta, /RECENTLY-REMOVED-DATERANGES/)
    t.ok(skipped > 0, `skipped ${skipped} segments`)
    t.equal(header(delta, 'EXT-X-VERSION'), skip === 'YES' ? '9' : '10')
    t.equal(header(full, 'EXT-X-VERSION'), '6')
    t.equal(header(delta, 'EXT-X-MEDIA-SEQUENCE'), header(full, 'EXT-X-MEDIA-SEQUENCE'), 'same media sequence')
    t.equal(header(delta, 'EXT-X-DISCONTINUITY-SEQUENCE'), header(full, 'EXT-X-DISCONTINUITY-SEQUENCE'), 'same discontinuity sequence')
    // What remains covers less than CAN-SKIP-UNTIL (12 s) plus one segment, and every segment
    // that remains is one the full playlist lists at the same position from the end.
    const fullUris = [...full.matchAll(/^(\d+)\.m4s$/gm)].map((m) => m[1])
    const deltaUris = [...delta.matchAll(/^(\d+)\.m4s$/gm)].map((m) => m[1])
    t.same(deltaUris, fullUris.slice(skipped), 'the newest segments are kept, in order')
    const kept = [...delta.matchAll(/^#EXTINF:([\d.]+),$/gm)].reduce((a, m) => a + Number(m[1]), 0)
    t.ok(kept < 12 + 2, `kept ${kept} s of complete segments`)
    t.match(delta, /#EXT-X-SKIP:SKIPPED-SEGMENTS=\d+[^\n]*\n#EXT-X-MAP:URI="init\.mp4\?v=aaa"/, 'the map is restated after the skip')
    t.equal(delta.match(/#EXT-X-PART:/g)?.length, full.match(/#EXT-X-PART:/g)?.length, 'parts are untouched')
    const parsed = parseStrict(delta)
    t.equal(parsed.mediaSequenceBase, Number(header(full, 'EXT-X-MEDIA-SEQUENCE')))
    t.same(parseM3u8(delta).warnings, [])
  })
}

t.test('rfc8216bis 6.2.5.1: _HLS_skip is ignored once the playlist has EXT-X-ENDLIST', async (t) => {
  const store = longStream()
  store.end()
  const delta = renderMediaPlaylist(store, { skip: 'YES' })
  t.notMatch(delta, /EXT-X-SKIP/)
  t.match(delta, /#EXT-X-ENDLIST\n$/)
  t.equal(header(delta, 'EXT-X-VERSION'), '6')
  parseStrict(delta)
})

t.test('rfc8216bis 4.4.3.8: CAN-SKIP-UNTIL is six target durations, PART-HOLD-BACK three part targets', async (t) => {
  const text = renderMediaPlaylist(longStream())
  t.match(text, /^#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12,PART-HOLD-BACK=1\.5$/m)
})

t.test('a date range is an addition to the model: the rest of the text is unchanged', async (t) => {
  const store = longStream()
  const model = mediaPlaylistModel(store)
  t.equal(formatMediaPlaylist(model), renderMediaPlaylist(store), 'the model renders what the packager serves')
  const target = model.segments[model.segments.length - 3]!
  target.dateranges = [{ id: 'break-1', class: 'com.example.ad', startDate: target.pdt!, plannedDuration: 30 }]
  const text = formatMediaPlaylist(model)
  const added = text.split('\n').filter((l) => !renderMediaPlaylist(store).split('\n').includes(l))
  t.same(added, [`#EXT-X-DATERANGE:ID="break-1",CLASS="com.example.ad",START-DATE="${new Date(target.pdt!).toISOString()}",PLANNED-DURATION=30`])
  t.equal(text.replace(`${added[0]}\n`, ''), renderMediaPlaylist(store))
  t.equal(parseStrict(text).segments.find((s: { uri: string }) => s.uri === target.uri).dateRange.id, 'break-1')
})
