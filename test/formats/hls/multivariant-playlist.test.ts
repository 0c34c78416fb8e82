/**
 * The multivariant playlist renderer on hand-built models: session tags,
 * EXT-X-MEDIA renditions and EXT-X-STREAM-INF variants, each attribute
 * written as rfc8216bis 4.2 types it, read back by a strict parser.
 */
import t from 'tap'
import { formatMultivariantPlaylist, mediaTag, streamInfTag } from '../../../src/formats/hls/multivariant-playlist.js'
import type { MultivariantPlaylist } from '../../../src/formats/hls/model.js'
import { parseStrict } from '../../helpers/playlists.js'

const MODEL: MultivariantPlaylist = {
  version: 7,
  independentSegments: true,
  contentSteering: { serverUri: 'https://steer.example/s.json', pathwayId: 'CDN-A' },
  sessionData: [{ dataId: 'com.example.title', value: 'Launch', language: 'en' }, { dataId: 'com.example.meta', uri: 'meta.json', format: 'JSON' }],
  renditions: [
    { type: 'AUDIO', groupId: 'aac', name: 'English', language: 'en', default: true, autoselect: true, channels: '2', uri: 'a-en/index.m3u8' },
    { type: 'AUDIO', groupId: 'aac', name: 'English (described)', language: 'en', default: false, autoselect: true,
      characteristics: ['public.accessibility.describes-video'], channels: '2', uri: 'a-ad/index.m3u8' },
    { type: 'SUBTITLES', groupId: 'subs', name: 'Français', language: 'fr', assocLanguage: 'fr-CA', forced: false, uri: 's-fr/index.m3u8' },
    { type: 'CLOSED-CAPTIONS', groupId: 'cc', name: 'CC1', instreamId: 'CC1' },
  ],
  variants: [
    {
      uri: 'hd/index.m3u8', bandwidth: 5_000_000, averageBandwidth: 4_200_000, score: 2.5, codecs: ['avc1.640028', 'mp4a.40.2'],
      resolution: { width: 1920, height: 1080 }, frameRate: 30000 / 1001, hdcpLevel: 'NONE', videoRange: 'SDR', stableVariantId: 'hd',
      audio: 'aac', subtitles: 'subs', closedCaptions: 'cc', pathwayId: 'CDN-A',
    },
    { uri: 'sd/index.m3u8', bandwidth: 800_000, score: 1, codecs: ['avc1.4d401e', 'mp4a.40.2'], resolution: { width: 640, height: 360 }, frameRate: 25, audio: 'aac', closedCaptions: 'cc' },
  ],
}

t.test('a multivariant playlist: session tags, renditions, variants', async (t) => {
  t.equal(formatMultivariantPlaylist(MODEL), [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    '#EXT-X-CONTENT-STEERING:SERVER-URI="https://steer.example/s.json",PATHWAY-ID="CDN-A"',
    '#EXT-X-SESSION-DATA:DATA-ID="com.example.title",VALUE="Launch",LANGUAGE="en"',
    '#EXT-X-SESSION-DATA:DATA-ID="com.example.meta",URI="meta.json",FORMAT=JSON',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="a-en/index.m3u8"',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English (described)",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,'
      + 'CHARACTERISTICS="public.accessibility.describes-video",CHANNELS="2",URI="a-ad/index.m3u8"',
    '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Français",LANGUAGE="fr",ASSOC-LANGUAGE="fr-CA",FORCED=NO,URI="s-fr/index.m3u8"',
    '#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",INSTREAM-ID="CC1"',
    // 4.2: RESOLUTION is a decimal-resolution and FRAME-RATE a decimal (both unquoted); CODECS a quoted list.
    '#EXT-X-STREAM-INF:BANDWIDTH=5000000,AVERAGE-BANDWIDTH=4200000,SCORE=2.5,CODECS="avc1.640028,mp4a.40.2",RESOLUTION=1920x1080,'
      + 'FRAME-RATE=29.970,HDCP-LEVEL=NONE,VIDEO-RANGE=SDR,STABLE-VARIANT-ID="hd",AUDIO="aac",SUBTITLES="subs",CLOSED-CAPTIONS="cc",PATHWAY-ID="CDN-A"',
    'hd/index.m3u8',
    '#EXT-X-STREAM-INF:BANDWIDTH=800000,SCORE=1,CODECS="avc1.4d401e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=25.000,AUDIO="aac",CLOSED-CAPTIONS="cc"',
    'sd/index.m3u8',
    '',
  ].join('\n'))
})

t.test('a strict parser reads the attributes back', async (t) => {
  const parsed = parseStrict(formatMultivariantPlaylist(MODEL))
  t.equal(parsed.isMasterPlaylist, true)
  t.equal(parsed.variants.length, 2)
  const [hd, sd] = parsed.variants
  t.same(hd.resolution, { width: 1920, height: 1080 })
  t.equal(hd.frameRate, 29.97)
  t.equal(hd.averageBandwidth, 4_200_000)
  t.same(hd.audio.map((a: { name: string }) => a.name), ['English', 'English (described)'])
  t.equal(hd.audio[0].isDefault, true)
  t.equal(hd.subtitles[0].assocLanguage, 'fr-CA')
  t.equal(hd.closedCaptions[0].instreamId, 'CC1')
  t.equal(sd.closedCaptions[0].name, 'CC1')
  t.same(parsed.sessionDataList.map((d: { id: string }) => d.id), ['com.example.title', 'com.example.meta'])
})

t.test('renditions and variants leave out what is not set', async (t) => {
  t.equal(mediaTag({ type: 'AUDIO', groupId: 'a', name: 'x' }), '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="x"')
  t.equal(streamInfTag({ uri: 'v.m3u8', bandwidth: 1 }), '#EXT-X-STREAM-INF:BANDWIDTH=1')
})

t.test('CLOSED-CAPTIONS=NONE is the enumerated-string, not a group', async (t) => {
  const none = { ...MODEL, renditions: MODEL.renditions.slice(0, 3), variants: MODEL.variants.map((v) => ({ ...v, closedCaptions: false as const })) }
  const text = formatMultivariantPlaylist(none)
  t.equal(text.match(/,CLOSED-CAPTIONS=NONE(,|\n)/g)?.length, 2)
  t.same(parseStrict(text).variants.map((v: { closedCaptions: unknown[] }) => v.closedCaptions), [[], []], 'no caption renditions')
})

t.test('bad models are refused, not written', async (t) => {
  // 4.4.6.2: once one variant says CLOSED-CAPTIONS=NONE, every variant must.
  t.throws(() => formatMultivariantPlaylist({ ...MODEL, variants: [MODEL.variants[0]!, { ...MODEL.variants[1]!, closedCaptions: false }] }), /CLOSED-CAPTIONS=NONE/)
  t.throws(() => formatMultivariantPlaylist({ ...MODEL, sessionData: [{ dataId: 'd' }] }), /give VALUE or URI/)
  t.throws(() => formatMultivariantPlaylist({ ...MODEL, sessionData: [{ dataId: 'd', value: 'v', uri: 'u' }] }), /give VALUE or URI/)
  t.throws(() => mediaTag({ type: 'AUDIO', groupId: 'a', name: 'line\nbreak' }), /quoted-string cannot hold/)
  t.throws(() => streamInfTag({ uri: 'v.m3u8', bandwidth: -5 }), /not a valid HLS decimal/)
})
