/**
 * The strict playlist parser tests use (helpers/playlists.ts): hls-parser, with
 * rfc8216bis 4.4.4.9's 85% part floor checked as the draft states it. An audio
 * playlist of the ladder (parts of ~0.4 s on the 2 s grid, each INDEPENDENT=YES)
 * passes; a short part the draft does not exempt, and any other violation, fail.
 */
import t from 'tap'
import HLS from 'hls-parser'
import { parseStrict } from '../helpers/playlists.js'
import { HLS_PARSER_PART_FLOOR, partFloorViolations } from '../helpers/part-floor.js'

/** An LL-HLS media playlist: a complete segment listed by its parts, then the open one. */
function playlist(complete: string[], open: string[]): string {
  return [
    '#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-TARGETDURATION:2',
    '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12,PART-HOLD-BACK=1.5', '#EXT-X-PART-INF:PART-TARGET=0.5',
    '#EXT-X-MEDIA-SEQUENCE:10', '#EXT-X-MAP:URI="init.mp4"',
    '#EXTINF:2.00533,', '10.m4s',
    ...complete.map((a, i) => `#EXT-X-PART:${a.replace('$', `11.${i}.m4s`)}`), '#EXTINF:1.984,', '11.m4s',
    ...open.map((a, i) => `#EXT-X-PART:${a.replace('$', `12.${i}.m4s`)}`),
    '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="12.' + open.length + '.m4s"', '',
  ].join('\n')
}

const audio = (d: number): string => `DURATION=${d},URI="$",INDEPENDENT=YES`
const video = (d: number): string => `DURATION=${d},URI="$"`

t.test('a ladder audio playlist: INDEPENDENT parts under 85% are exempt (4.4.4.9)', async (t) => {
  const text = playlist([audio(0.40533), audio(0.40533), audio(0.40533), audio(0.384), audio(0.384)], [audio(0.40533), audio(0.40533)])
  HLS.setOptions({ strictMode: true })
  t.throws(() => HLS.parse(text), new RegExp(HLS_PARSER_PART_FLOOR), 'hls-parser alone rejects it')
  t.same(partFloorViolations(text), [])
  const p = parseStrict(text)
  t.same(p.segments[1].parts.map((x: any) => x.duration), [0.40533, 0.40533, 0.40533, 0.384, 0.384], 'real durations in the result')
  t.same(p.segments[2].parts.filter((x: any) => !x.hint).map((x: any) => x.independent), [true, true], 'the open segment, preload hint aside')
})

t.test('GAP parts and the part before a GAP are exempt too', async (t) => {
  const text = playlist([video(0.5), video(0.2), 'DURATION=0.1,URI="$",GAP=YES', video(0.5), video(0.3)], [video(0.5)])
  t.same(partFloorViolations(text), [])
  t.doesNotThrow(() => parseStrict(text))
})

t.test('what the draft does not exempt still fails', async (t) => {
  const notIndependent = playlist([audio(0.5), video(0.3), audio(0.5), audio(0.5)], [audio(0.5)])
  t.throws(() => parseStrict(notIndependent), /rfc8216bis 4\.4\.4\.9: 11\.1\.m4s lasts 0\.3 s/, 'a short part that is not INDEPENDENT')
  const openShort = playlist([audio(0.4), audio(0.4)], [video(0.3), video(0.5)])
  t.throws(() => parseStrict(openShort), /12\.0\.m4s lasts 0\.3 s/, 'in the open segment too, except its newest part')
  t.doesNotThrow(() => parseStrict(playlist([audio(0.5)], [video(0.5), video(0.3)])), "the open segment's newest part may be its last")
  // hls-parser stops at the first short part; the lifted re-parse still finds what lies beyond it.
  const overLater = playlist([audio(0.4), audio(0.4)], [audio(0.5), 'DURATION=0.6,URI="$",INDEPENDENT=YES'])
  t.throws(() => parseStrict(overLater), /PART-TARGET is the maximum duration/, 'a part over PART-TARGET after an exempt short one')
  const otherRule = playlist([audio(0.4), audio(0.4)], [audio(0.4)]).replace('PART-HOLD-BACK=1.5', 'PART-HOLD-BACK=0.4')
  t.throws(() => parseStrict(otherRule), /PART-HOLD-BACK must be at least PART-TARGET/, 'other strict checks are untouched')
})
