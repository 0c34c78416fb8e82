/**
 * The MPD renderer over hand-built streams (synthetic samples through the real
 * Segmenter and RenditionStore, one shared clock): audio renditions in two
 * languages, a worker restart with a new init mid-session (a new Period at the
 * restart, 23009-1 5.3.9.2 one Initialization per Representation and Period),
 * and ProducerReferenceTime@inband only when the segments carry `prft`.
 */
import t from 'tap'
import { parse as parseMpdPlayer } from 'mpd-parser'
import { renderMpd } from '../../src/packager/dash-mpd.js'
import { renderMultivariant } from '../../src/packager/hls-multivariant.js'
import { LiveStream } from '../../src/packager/live-stream.js'
import { RenditionStore } from '../../src/packager/rendition-store.js'
import { Segmenter } from '../../src/packager/segmenter.js'
import { silentLogger } from '../../src/log/logger.js'
import type { Sample, TrackInfo } from '../../src/media/types.js'
import type { InitRecord } from '../../src/packager/types.js'
import { kid, kids, parseXml, representation, seconds, type XmlEl } from '../helpers/dash.js'

const CLOCK0 = Date.UTC(2030, 0, 1)
const MSN0 = 100
const SLOT = 2
const timing = { targetDuration: 2, partTarget: 0.5, windowSeconds: 6 }

const videoTrack = (height: number): TrackInfo =>
  ({ id: 1, kind: 'video', timescale: 1000, codec: 'avc1.64001f', width: (height * 16) / 9, height, language: 'und' })
const audioTrack = (language: string): TrackInfo =>
  ({ id: 1, kind: 'audio', timescale: 48000, codec: 'mp4a.40.2', sampleRate: 48000, channels: 2, language })
const initOf = (track: TrackInfo, hash: string): InitRecord => ({ data: Buffer.from(`init-${hash}`), hash, tracks: [track] })

/** One rendition fed by the real Segmenter on the session's grid; video at 30 fps with a 2 s GOP, or AAC frames. */
class Feed {
  readonly store: RenditionStore
  private seg: Segmenter
  private frame = 0
  private readonly track: TrackInfo

  constructor(name: string, init: InitRecord, private readonly raw = false) {
    this.track = init.tracks[0]!
    this.store = new RenditionStore(name, timing, MSN0)
    this.seg = this.segmenter(init)
  }

  private segmenter(init: InitRecord): Segmenter {
    return new Segmenter(this.store, init, {
      segmentTarget: SLOT, grid: { msnBase: MSN0 }, wallClockAt: (s) => CLOCK0 + s * 1000, logger: silentLogger(),
      // `raw`: parts as a packager without prft would write them (the first box a moof).
      onPart: this.raw ? (p) => { if (p.index === 0) p.data = p.data.subarray(p.data.readUInt32BE(0)) } : undefined,
    })
  }

  /** Push frames up to media time `until` (s) on the session's timeline. */
  until(until: number): void {
    const video = this.track.kind === 'video'
    const step = video ? 1 / 30 : 1024 / 48000
    const out: Sample[] = []
    while (this.frame * step < until - 1e-9) {
      const i = this.frame++
      const dts = Math.round(i * step * this.track.timescale)
      const next = Math.round((i + 1) * step * this.track.timescale)
      out.push({ trackId: 1, dts, duration: next - dts, cts: 0, sync: !video || i % 60 === 0, data: Buffer.alloc(video ? 900 : 200, i % 256) })
    }
    this.seg.push(out)
  }

  /** The worker restarts with another init; its timestamps continue the session's timeline. */
  restart(init: InitRecord): void {
    this.seg.flush()
    this.seg = this.segmenter(init)
  }
}

function liveStream(feeds: Feed[]): LiveStream {
  const stream = new LiveStream('s')
  for (const f of feeds) stream.addRendition(f.store)
  stream.addTimeline({ firstMsn: MSN0, wallAtZero: CLOCK0, gridSeconds: SLOT })
  stream.state = 'live'
  return stream
}

function mpdOf(stream: LiveStream): { root: XmlEl; text: string } {
  const text = renderMpd(stream, { publishTime: CLOCK0 + 60_000, utcUrl: 'http://127.0.0.1/time' })
  if (!text) throw new Error('no MPD')
  const problems: string[] = []
  parseMpdPlayer(text, { manifestUri: 'http://127.0.0.1/live/s/manifest.mpd', eventHandler: (e) => { if (e.type === 'error') problems.push(e.message) } })
  if (problems.length) throw new Error(`mpd-parser: ${problems.join('; ')}`)
  return { root: parseXml(text), text }
}

const initUrl = (rep: XmlEl, set: XmlEl): string =>
  (kids(rep, 'SegmentTemplate')[0] ?? kid(set, 'SegmentTemplate')).getAttribute('initialization')!

t.test('two audio languages: one AdaptationSet each, with its lang', async (t) => {
  const feeds = [new Feed('video', initOf(videoTrack(360), 'v1')), new Feed('audio-eng', initOf(audioTrack('eng'), 'ae')), new Feed('audio-fra', initOf(audioTrack('fra'), 'af'))]
  for (const f of feeds) f.until(5)
  const { root } = mpdOf(liveStream(feeds))
  const sets = kids(kid(root, 'Period'), 'AdaptationSet')
  t.same(sets.map((s) => s.getAttribute('contentType')), ['video', 'audio', 'audio'], 'video first, then the two audio sets')
  t.same(sets.map((s) => s.getAttribute('id')), ['0', '1', '2'], 'ids unique within the Period')
  const audio = sets.slice(1)
  t.same(audio.map((s) => s.getAttribute('lang')), ['en', 'fr'], 'BCP 47 lang per set (from ISO 639-2 eng, fra)')
  t.same(audio.map((s) => kids(s, 'Representation').map((r) => r.getAttribute('id'))), [['audio-eng'], ['audio-fra']], 'each language its own Representation')
  for (const s of audio) {
    t.equal(s.getAttribute('mimeType'), 'audio/mp4')
    t.equal(kid(kid(s, 'Representation'), 'AudioChannelConfiguration').getAttribute('value'), '2')
  }
  t.same(audio.map((s) => kids(s, 'Role').map((r) => `${r.getAttribute('schemeIdUri')} ${r.getAttribute('value')}`)),
    [['urn:mpeg:dash:role:2011 main'], ['urn:mpeg:dash:role:2011 alternate']], 'the first track is main, the other alternate')
  t.same(audio.map((s) => kids(s, 'Label').map((l) => l.textContent)), [['eng'], ['fra']], 'a Label each')
  t.notOk(sets[0]!.hasAttribute('lang'), 'video carries no lang')
  t.same(kids(sets[0]!, 'Role'), [], 'video has no Role')
})

t.test('two tracks of one language and one without: three AdaptationSets, never bitrate alternatives', async (t) => {
  const feeds = [new Feed('video', initOf(videoTrack(360), 'v1')), new Feed('audio-eng', initOf(audioTrack('eng'), 'ae')),
    new Feed('audio-eng-2', initOf(audioTrack('eng'), 'ae2')), new Feed('audio-und', initOf(audioTrack('und'), 'au'))]
  for (const f of feeds) f.until(5)
  const { root, text } = mpdOf(liveStream(feeds))
  const audio = kids(kid(root, 'Period'), 'AdaptationSet').filter((s) => s.getAttribute('contentType') === 'audio')
  t.same(audio.map((s) => kids(s, 'Representation').map((r) => r.getAttribute('id'))), [['audio-eng'], ['audio-eng-2'], ['audio-und']],
    'ISO/IEC 23009-1 5.3.3.1: one set per track, each with its own Representation')
  t.same(audio.map((s) => (s.hasAttribute('lang') ? s.getAttribute('lang') : null)), ['en', 'en', null], 'lang from each track; none when undetermined')
  t.same(audio.map((s) => kids(s, 'Label').map((l) => l.textContent)), [['eng'], ['audio-eng-2'], ['audio-und']],
    'Labels tell them apart, the same names as the HLS EXT-X-MEDIA NAME')
  t.same(audio.map((s) => kids(s, 'Role').map((r) => r.getAttribute('value'))), [['main'], ['alternate'], ['alternate']], 'one main')
  t.match(text, /<Label>eng<\/Label>\s*<ProducerReferenceTime[^]*?<Role /, 'schema order: Label, ProducerReferenceTime, Role')
  const mv = renderMultivariant(liveStream(feeds))!
  t.same([...mv.matchAll(/NAME="([^"]+)"/g)].map((m) => m[1]), ['eng', 'audio-eng-2', 'audio-und'], 'HLS names them alike')
})

t.test('one audio rendition: Role main, no Label needed', async (t) => {
  const feeds = [new Feed('video', initOf(videoTrack(360), 'v1')), new Feed('audio', initOf(audioTrack('eng'), 'a1'))]
  for (const f of feeds) f.until(5)
  const audio = kids(kid(mpdOf(liveStream(feeds)).root, 'Period'), 'AdaptationSet')[1]!
  t.equal(kid(audio, 'Role').getAttribute('value'), 'main')
  t.same(kids(audio, 'Label'), [])
})

t.test('a worker restart with a new init starts a new Period at its first segment', async (t) => {
  const video = new Feed('video', initOf(videoTrack(360), 'v1'))
  const audio = new Feed('audio', initOf(audioTrack('eng'), 'a1'))
  const stream = liveStream([video, audio])
  video.until(10)
  audio.until(10)
  video.restart(initOf(videoTrack(360), 'v2'))
  video.until(15)
  audio.until(15)

  const { root } = mpdOf(stream)
  const periods = kids(root, 'Period')
  t.same(periods.map((p) => p.getAttribute('id')), [`p${MSN0}`, `p${MSN0 + 5}`], 'the session, then a Period from the restart on')
  t.same(periods.map((p) => seconds(p.getAttribute('start'))), [0, 5 * SLOT], 'the new Period starts at the restart segment\'s media time')
  const inits = periods.map((p) => kids(p, 'AdaptationSet').map((s) => initUrl(kid(s, 'Representation'), s)))
  t.same(inits, [['video/init.mp4?v=v1', 'audio/init.mp4?v=a1'], ['video/init.mp4?v=v2', 'audio/init.mp4?v=a1']],
    'old segments keep their own init; the unchanged rendition continues with its own')
  for (const [i, p] of periods.entries()) {
    const tpl = kid(kids(p, 'AdaptationSet')[0]!, 'Representation').getElementsByTagName('SegmentTemplate')[0]!
    const first = i === 0 ? MSN0 : MSN0 + 5
    t.equal(Number(tpl.getAttribute('startNumber')), first, `Period ${i}: numbering continues (${first})`)
    t.equal(Number(tpl.getAttribute('presentationTimeOffset')), (first - MSN0) * SLOT * 1000, `Period ${i}: PTO is the media time at its start`)
  }
  const seg = stream.renditions.get('video')!.segment(MSN0 + 5)!
  t.equal(seg.init.hash, 'v2', 'the store agrees: segment 105 is the first with the new init')
  t.equal(stream.renditions.get('video')!.segment(MSN0 + 4)!.init.hash, 'v1')

  // Once the old segments leave the window, the restart's Period is the only one, unchanged.
  video.until(40)
  audio.until(40)
  const later = kids(mpdOf(stream).root, 'Period')
  t.same(later.map((p) => [p.getAttribute('id'), p.getAttribute('start')]), [[`p${MSN0 + 5}`, periods[1]!.getAttribute('start')]], 'same id and start after eviction')
  t.equal(representation(mpdOf(stream).root, 'video').template.getAttribute('startNumber'), String(MSN0 + 5), 'startNumber constant')

  // At the end: static, both Periods while both are retained, back to back.
  const ended = new Feed('video', initOf(videoTrack(360), 'w1'))
  const endedStream = liveStream([ended])
  ended.until(8)
  ended.restart(initOf(videoTrack(360), 'w2'))
  ended.until(12)
  ended.store.end()
  endedStream.state = 'ended'
  const st = mpdOf(endedStream).root
  const sp = kids(st, 'Period')
  t.equal(st.getAttribute('type'), 'static')
  t.equal(sp.length, 2, 'two Periods in the static MPD')
  t.equal(seconds(sp[1]!.getAttribute('start')), seconds(sp[0]!.getAttribute('start')) + seconds(sp[0]!.getAttribute('duration')), 'back to back')
  t.equal(seconds(st.getAttribute('mediaPresentationDuration')), sp.reduce((a, p) => a + seconds(p.getAttribute('duration')), 0), 'durations add up')
})

t.test('an init that comes back identical (same bytes) is no new Period', async (t) => {
  const video = new Feed('video', initOf(videoTrack(360), 'v1'))
  const stream = liveStream([video])
  video.until(6)
  video.restart(initOf(videoTrack(360), 'v1'))
  video.until(12)
  t.equal(kids(mpdOf(stream).root, 'Period').length, 1)
})

t.test('ProducerReferenceTime@inband only when the segments carry prft', async (t) => {
  const withPrft = new Feed('video', initOf(videoTrack(360), 'v1'))
  withPrft.until(5)
  t.equal(kid(kid(kid(mpdOf(liveStream([withPrft])).root, 'Period'), 'AdaptationSet'), 'ProducerReferenceTime').getAttribute('inband'), 'true')
  const raw = new Feed('video', initOf(videoTrack(360), 'v1'), true)
  raw.until(5)
  t.equal(raw.store.segment(MSN0)!.parts[0]!.data.toString('latin1', 4, 8), 'moof', 'this feed writes no prft')
  const prt = kid(kid(kid(mpdOf(liveStream([raw])).root, 'Period'), 'AdaptationSet'), 'ProducerReferenceTime')
  t.notOk(prt.hasAttribute('inband'), 'not claimed')
  t.equal(prt.getAttribute('wallClockTime'), new Date(CLOCK0).toISOString(), 'the MPD mapping is still given')
})

t.test('ISO 639-2 bibliographic codes become BCP 47 tags in both manifests', async (t) => {
  // RFC 5646 2.2.1: the ISO 639-1 code where there is one; `fre`, `ger`, `chi` are not valid tags.
  const feeds = [new Feed('video', initOf(videoTrack(360), 'v1')), new Feed('audio-fre', initOf(audioTrack('fre'), 'af')),
    new Feed('audio-ger', initOf(audioTrack('ger'), 'ag')), new Feed('audio-chi', initOf(audioTrack('chi'), 'ac')), new Feed('audio-haw', initOf(audioTrack('haw'), 'ah'))]
  for (const f of feeds) f.until(5)
  const audio = kids(kid(mpdOf(liveStream(feeds)).root, 'Period'), 'AdaptationSet').filter((s) => s.getAttribute('contentType') === 'audio')
  t.same(audio.map((s) => s.getAttribute('lang')), ['fr', 'de', 'zh', 'haw'], 'DASH @lang')
  const mv = renderMultivariant(liveStream(feeds))!
  t.same([...mv.matchAll(/LANGUAGE="([^"]+)"/g)].map((m) => m[1]), ['fr', 'de', 'zh', 'haw'], 'HLS LANGUAGE')
})

t.test('content steering: a BaseURL per pathway, best first, and ContentSteering naming the manifest', async (t) => {
  const feeds = [new Feed('video', initOf(videoTrack(360), 'v1')), new Feed('audio', initOf(audioTrack('eng'), 'a1'))]
  for (const f of feeds) f.until(5)
  const stream = liveStream(feeds)
  const steering = { serverUri: 'steering.json', pathways: [{ id: 'cdn-b', url: 'https://b.example/edge' }, { id: 'shield-a', url: 'http://a.example/' }] }
  const text = renderMpd(stream, { publishTime: CLOCK0 + 60_000, utcUrl: 'http://127.0.0.1/time', steering })!
  const root = parseXml(text)
  t.same(kids(root, 'BaseURL').map((b) => [b.getAttribute('serviceLocation'), b.textContent]),
    [['cdn-b', 'https://b.example/edge/live/s/'], ['shield-a', 'http://a.example/live/s/']], 'one BaseURL per pathway, in the given order, at the stream\'s path')
  const cs = kid(root, 'ContentSteering')
  t.equal(cs.getAttribute('defaultServiceLocation'), 'cdn-b', 'the best pathway until the manifest is loaded')
  t.equal(cs.textContent, 'steering.json')
  const parsed = parseMpdPlayer(text, { manifestUri: 'http://origin.example/live/s/manifest.mpd' })
  t.ok(parsed.contentSteering, 'mpd-parser reads the ContentSteering element')
  t.equal(parsed.contentSteering.defaultServiceLocation, 'cdn-b')
  t.same(parsed.playlists.filter((p: any) => p.attributes.NAME === 'video').map((p: any) => [p.attributes.serviceLocation, p.resolvedUri]),
    [['cdn-b', 'https://b.example/edge/live/s/'], ['shield-a', 'http://a.example/live/s/']], 'mpd-parser offers the video on each service location, under its BaseURL')
  t.notMatch(renderMpd(stream, { publishTime: CLOCK0 + 60_000, utcUrl: 'http://127.0.0.1/time' })!, /BaseURL|ContentSteering/, 'without steering: neither element')
})
