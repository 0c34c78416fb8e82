/**
 * What a TS publisher can get wrong with its audio tracks, on streams made by
 * streamd's own muxer: a PMT that adds or removes a track mid-stream, a track
 * without a language, more tracks than the cap. Each is a notice naming the
 * track, and the tracks already numbered keep their numbers.
 */
import t from 'tap'
import { TsMuxer } from '../../../src/formats/mpegts/muxer.js'
import { adtsFrame, adtsParams } from '../../../src/formats/mpegts/es-from-tags.js'
import { TsToFlv, MAX_AUDIO_TRACKS, type FlvLikeTag, type TsTrack } from '../../../src/formats/mpegts/ts-to-flv.js'

const ADTS = adtsParams(Buffer.from([0x11, 0x90]))

/** `frames` AAC frames on every track of a program. */
function program(mux: TsMuxer, frames: number, from = 0): Buffer {
  const parts = [mux.tables()]
  for (let i = from; i < from + frames; i++) mux.program.audio.forEach((_, a) => parts.push(mux.audio(a, adtsFrame(ADTS, Buffer.alloc(10, a)), i * 1920)))
  return Buffer.concat(parts)
}

function run(ts: Buffer): { tags: FlvLikeTag[]; tracks: TsTrack[]; notices: Array<[string, Record<string, unknown>]>; conv: TsToFlv } {
  const tags: FlvLikeTag[] = []
  let tracks: TsTrack[] = []
  const notices: Array<[string, Record<string, unknown>]> = []
  const conv = new TsToFlv({ onTag: (x) => tags.push(x), onTracks: (x) => { tracks = x }, onNotice: (m, d) => notices.push([m, d]) })
  conv.push(ts)
  conv.flush()
  return { tags, tracks, notices, conv }
}

t.test('a track without a language is forwarded, with no language on its tags', async (t) => {
  const { tags, tracks, notices } = run(program(new TsMuxer({ audio: [{ language: 'eng' }, {}] }), 10))
  t.same(tracks.map((x) => [x.language ?? null, x.track, x.selected]), [['eng', 0, true], [null, 1, true]])
  const seq = tags.filter((x) => x.data[1] === 0)
  t.same(seq.map((x) => [x.track, x.language ?? null]), [[0, 'eng'], [1, null]])
  t.equal(tags.filter((x) => x.track === 1 && x.data[1] === 1).length, 10)
  t.same(notices, [])
})

t.test('a PMT that adds and then removes a track mid-stream: notices, stable numbers', async (t) => {
  const two = new TsMuxer({ audio: [{ language: 'eng' }, { language: 'hin' }] })
  // The new PMT keeps hin on its PID (0x102) and adds tam on 0x103.
  const three = new TsMuxer({ audio: [{ language: 'eng' }, { language: 'hin' }, { language: 'tam' }], version: 1 })
  const one = new TsMuxer({ audio: [{ language: 'eng' }], version: 2 })
  const { tags, notices } = run(Buffer.concat([program(two, 5), program(three, 5, 5), program(one, 5, 10)]))
  t.same(notices.map(([m, d]) => [m.split(':')[0], d.language, d.track]), [
    ['audio track added mid-stream', 'tam', 2],
    ['audio track removed mid-stream', 'hin', 1],
    ['audio track removed mid-stream', 'tam', 2],
  ])
  t.match(notices[0]![0], /not offered until the stream is published again/)
  const count = (track: number): number => tags.filter((x) => x.track === track && x.data[1] === 1).length
  t.same([count(0), count(1), count(2)], [15, 10, 5], 'eng throughout; hin until removed; tam from its arrival')
})

t.test(`more than ${MAX_AUDIO_TRACKS} audio tracks: the rest are dropped with a notice each`, async (t) => {
  const audio = Array.from({ length: MAX_AUDIO_TRACKS + 1 }, (_, i) => ({ language: i === MAX_AUDIO_TRACKS ? 'zul' : 'eng' }))
  const { tags, tracks, notices, conv } = run(program(new TsMuxer({ audio }), 3))
  t.equal(conv.unsupported, undefined, 'the stream itself is fine')
  t.equal(tracks.filter((x) => x.selected).length, MAX_AUDIO_TRACKS)
  t.same(tracks.filter((x) => !x.selected).map((x) => x.language), ['zul'])
  t.equal(notices.length, 1)
  t.match(notices[0]![0], /audio track dropped: at most 16/)
  t.same(notices[0]![1], { pid: 0x101 + MAX_AUDIO_TRACKS, language: 'zul' })
  t.equal(new Set(tags.map((x) => x.track)).size, MAX_AUDIO_TRACKS, 'tags of 16 tracks only')
})

t.test('a program with neither H.264/HEVC nor AAC is refused with what it holds', async (t) => {
  const mux = new TsMuxer({ audio: [] })
  const { conv } = run(mux.tables())
  t.match(conv.unsupported ?? '', /no H\.264\/HEVC video or AAC audio in the program \(no streams\)/)
})
