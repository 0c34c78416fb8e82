/**
 * The media playlist renderer on hand-built models: tag order, EXT-X-MAP
 * placement, open segments, delta updates, and the tags streamd does not emit
 * yet (EXT-X-DATERANGE, EXT-X-KEY, EXT-X-START) as plain additions to the
 * model, each attribute written as rfc8216bis 4.2 types it.
 */
import t from 'tap'
import { dateRangeTag, formatMediaPlaylist, keyTag } from '../../../src/formats/hls/media-playlist.js'
import type { DateRange, MediaPlaylist, MediaSegment } from '../../../src/formats/hls/model.js'
import { parseStrict } from '../../helpers/playlists.js'

const T0 = Date.UTC(2030, 0, 1)
const MAP = { uri: 'init.mp4' }

const seg = (n: number, extra: Partial<MediaSegment> = {}): MediaSegment =>
  ({ duration: 2, uri: `${n}.m4s`, map: MAP, pdt: T0 + n * 2000, parts: [], ...extra })

const playlist = (extra: Partial<MediaPlaylist> = {}): MediaPlaylist => ({
  version: 6, targetDuration: 2, mediaSequence: 0, discontinuitySequence: 0,
  segments: [seg(0), seg(1)], endList: true, preloadHints: [], renditionReports: [], ...extra,
})

const lines = (text: string): string[] => text.split('\n')

t.test('a plain playlist: header, segments, end', async (t) => {
  t.equal(formatMediaPlaylist(playlist()), [
    '#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-DISCONTINUITY-SEQUENCE:0',
    '#EXT-X-MAP:URI="init.mp4"',
    '#EXT-X-PROGRAM-DATE-TIME:2030-01-01T00:00:00.000Z', '#EXTINF:2.0,', '0.m4s',
    '#EXT-X-PROGRAM-DATE-TIME:2030-01-01T00:00:02.000Z', '#EXTINF:2.0,', '1.m4s',
    '#EXT-X-ENDLIST', '',
  ].join('\n'))
})

t.test('low-latency header, open segment, hint and reports', async (t) => {
  const text = formatMediaPlaylist(playlist({
    version: 9,
    serverControl: { canBlockReload: true, canSkipUntil: 12, canSkipDateranges: true, holdBack: 6, partHoldBack: 1.5 },
    partTarget: 0.5,
    mediaSequence: 40,
    skip: { skippedSegments: 3, recentlyRemovedDateranges: ['ad-1', 'ad-2'] },
    segments: [seg(43, { parts: [{ duration: 0.5, uri: '43.0.m4s', independent: true }, { duration: 0.5, uri: '43.1.m4s', gap: true }], uri: undefined })],
    endList: false,
    preloadHints: [{ type: 'PART', uri: '43.2.m4s' }, { type: 'MAP', uri: 'init2.mp4', byterangeStart: 0, byterangeLength: 800 }],
    renditionReports: [{ uri: '../a/index.m3u8', lastMsn: 43, lastPart: 1 }],
  }))
  t.equal(text, [
    '#EXTM3U', '#EXT-X-VERSION:9', '#EXT-X-TARGETDURATION:2',
    '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12,CAN-SKIP-DATERANGES=YES,HOLD-BACK=6,PART-HOLD-BACK=1.5',
    '#EXT-X-PART-INF:PART-TARGET=0.5', '#EXT-X-MEDIA-SEQUENCE:40', '#EXT-X-DISCONTINUITY-SEQUENCE:0',
    // 4.2: RECENTLY-REMOVED-DATERANGES is one quoted-string of tab-separated IDs.
    '#EXT-X-SKIP:SKIPPED-SEGMENTS=3,RECENTLY-REMOVED-DATERANGES="ad-1\tad-2"',
    '#EXT-X-MAP:URI="init.mp4"', '#EXT-X-PROGRAM-DATE-TIME:2030-01-01T00:01:26.000Z',
    '#EXT-X-PART:DURATION=0.5,URI="43.0.m4s",INDEPENDENT=YES', '#EXT-X-PART:DURATION=0.5,URI="43.1.m4s",GAP=YES',
    '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="43.2.m4s"', '#EXT-X-PRELOAD-HINT:TYPE=MAP,URI="init2.mp4",BYTERANGE-START=0,BYTERANGE-LENGTH=800',
    '#EXT-X-RENDITION-REPORT:URI="../a/index.m3u8",LAST-MSN=43,LAST-PART=1', '',
  ].join('\n'), 'no EXTINF for the segment in production')
})

t.test('rfc8216bis 4.4.4.5: EXT-X-MAP on the first segment, where it changes and after each discontinuity', async (t) => {
  const other = { uri: 'init-b.mp4' }
  const text = formatMediaPlaylist(playlist({
    segments: [seg(0), seg(1), seg(2, { map: other }), seg(3, { map: other }), seg(4, { map: other, discontinuity: true }), seg(5, { map: other })],
  }))
  const maps = lines(text).flatMap((l, i) => (l.startsWith('#EXT-X-MAP') ? [`${l} before ${lines(text).slice(i).find((x) => x.endsWith('.m4s'))}`] : []))
  t.same(maps, ['#EXT-X-MAP:URI="init.mp4" before 0.m4s', '#EXT-X-MAP:URI="init-b.mp4" before 2.m4s', '#EXT-X-MAP:URI="init-b.mp4" before 4.m4s'])
  t.match(text, /#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init-b\.mp4"\n#EXT-X-PROGRAM-DATE-TIME:2030-01-01T00:00:08\.000Z\n#EXTINF:2\.0,\n4\.m4s/)
  const parsed = parseStrict(text)
  t.same(parsed.segments.map((s: { map: { uri: string } }) => s.map.uri), ['init.mp4', 'init.mp4', 'init-b.mp4', 'init-b.mp4', 'init-b.mp4', 'init-b.mp4'])
  t.same(parsed.segments.map((s: { discontinuity?: boolean }) => s.discontinuity === true), [false, false, false, false, true, false])
})

const AD: DateRange = {
  id: 'ad-1',
  class: 'com.example.ad',
  startDate: T0 + 2000,
  cue: ['PRE', 'ONCE'],
  duration: 30,
  plannedDuration: 30.5,
  clientAttributes: { 'X-AD-ID': 'XYZ-123', 'X-COUNT': 3, 'X-FLAGS': Uint8Array.of(0x0a, 0xff) },
  scte35Out: Uint8Array.of(0xfc, 0x30, 0x25),
}

t.test('rfc8216bis 4.4.5.1 EXT-X-DATERANGE: quoted-strings, decimals, hexadecimal-sequences and an enumerated-string-list', async (t) => {
  t.equal(dateRangeTag(AD), '#EXT-X-DATERANGE:ID="ad-1",CLASS="com.example.ad",START-DATE="2030-01-01T00:00:02.000Z",CUE="PRE,ONCE",'
    + 'DURATION=30,PLANNED-DURATION=30.5,X-AD-ID="XYZ-123",X-COUNT=3,X-FLAGS=0x0AFF,SCTE35-OUT=0xFC3025')
  t.equal(dateRangeTag({ id: 'chapter-2', class: 'com.example.chapter', startDate: T0, endOnNext: true }),
    '#EXT-X-DATERANGE:ID="chapter-2",CLASS="com.example.chapter",START-DATE="2030-01-01T00:00:00.000Z",END-ON-NEXT=YES')
  t.equal(dateRangeTag({ id: 'x', startDate: T0, endDate: T0 + 1500 }), '#EXT-X-DATERANGE:ID="x",START-DATE="2030-01-01T00:00:00.000Z",END-DATE="2030-01-01T00:00:01.500Z"')

  // An addition to the model: the segment carries it, the renderer places it, a strict parser reads it back.
  const text = formatMediaPlaylist(playlist({ segments: [seg(0), seg(1, { dateranges: [AD] })] }))
  t.match(text, /\n0\.m4s\n#EXT-X-DATERANGE:ID="ad-1"[^\n]*\n#EXT-X-PROGRAM-DATE-TIME:2030-01-01T00:00:02\.000Z\n#EXTINF:2\.0,\n1\.m4s\n/, 'before its segment')
  const range = parseStrict(text).segments[1].dateRange
  t.equal(range.id, 'ad-1')
  t.equal(range.start.getTime(), T0 + 2000)
  t.equal(range.duration, 30)
  t.equal(range.plannedDuration, 30.5)
  t.equal(range.attributes['X-AD-ID'], 'XYZ-123')
  t.equal(range.attributes['X-COUNT'], 3)
  t.same([...range.attributes['X-FLAGS']], [0x0a, 0xff])
})

t.test('EXT-X-DATERANGE refuses what 4.4.5.1 forbids', async (t) => {
  t.throws(() => dateRangeTag({ ...AD, clientAttributes: { 'X-lower': 'a' } }), /client attribute name: X-lower/)
  t.throws(() => dateRangeTag({ ...AD, clientAttributes: { 'AD-ID': 'a' } }), /client attribute name/)
  t.throws(() => dateRangeTag({ ...AD, clientAttributes: { 'X-N': -1 } }), /not a valid HLS decimal/, 'a client number is a decimal-floating-point: never negative')
  t.throws(() => dateRangeTag({ id: 'c', startDate: T0, endOnNext: true }), /END-ON-NEXT needs CLASS/)
  t.throws(() => dateRangeTag({ id: 'c', class: 'k', startDate: T0, duration: 5, endOnNext: true }), /excludes DURATION/)
  t.throws(() => dateRangeTag({ id: 'c', startDate: T0, endDate: T0 - 1 }), /END-DATE before START-DATE/)
  t.throws(() => dateRangeTag({ id: 'say "hi"', startDate: T0 }), /quoted-string cannot hold a quote/)
})

t.test('rfc8216bis 4.4.4.4 EXT-X-KEY: METHOD enumerated, URI and KEYFORMAT quoted, IV a hexadecimal-sequence', async (t) => {
  const iv = Uint8Array.from({ length: 16 }, (_, i) => i * 17)
  const key = { method: 'SAMPLE-AES' as const, uri: 'skd://key-1', iv, keyFormat: 'com.apple.streamingkeydelivery', keyFormatVersions: [1, 2] }
  t.equal(keyTag(key), '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://key-1",IV=0x00112233445566778899AABBCCDDEEFF,'
    + 'KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1/2"')
  t.equal(keyTag({ method: 'NONE' }), '#EXT-X-KEY:METHOD=NONE')

  // Keys apply from their segment on: the first two segments clear, then encrypted, then clear again.
  const text = formatMediaPlaylist(playlist({
    segments: [seg(0), seg(1, { keys: [{ method: 'AES-128', uri: 'https://keys.example/k1', iv }] }), seg(2), seg(3, { keys: [{ method: 'NONE' }] })],
  }))
  t.match(text, /0\.m4s\n#EXT-X-KEY:METHOD=AES-128,URI="https:\/\/keys\.example\/k1",IV=0x00112233445566778899AABBCCDDEEFF\n#EXT-X-PROGRAM-DATE-TIME/)
  const parsed = parseStrict(text)
  t.equal(parsed.segments[1].key.method, 'AES-128')
  t.same([...parsed.segments[1].key.iv], [...iv])
  t.equal(parsed.segments[2].key.uri, 'https://keys.example/k1', 'a key applies to the segments after it')
  t.equal(parsed.segments[3].key.method, 'NONE')

  t.throws(() => keyTag({ method: 'NONE', uri: 'k' }), /METHOD=NONE takes no other attribute/)
  t.throws(() => keyTag({ method: 'AES-128' }), /needs a URI/)
  t.throws(() => keyTag({ method: 'AES-128', uri: 'k', iv: new Uint8Array(8) }), /128-bit/)
})

t.test('rfc8216bis 4.4.2.2 EXT-X-START and the optional header tags', async (t) => {
  const text = formatMediaPlaylist(playlist({ independentSegments: true, start: { timeOffset: -4.5, precise: true }, playlistType: 'EVENT' }))
  t.same(lines(text).slice(0, 8), [
    '#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS', '#EXT-X-START:TIME-OFFSET=-4.5,PRECISE=YES',
    '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-DISCONTINUITY-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:EVENT',
  ])
  const parsed = parseStrict(text)
  t.equal(parsed.start.offset, -4.5)
  t.equal(parsed.playlistType, 'EVENT')
})
