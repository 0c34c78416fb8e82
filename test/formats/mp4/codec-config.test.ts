import t from 'tap'
import {
  ac3Channels, avcCodec, ec3Channels, hevcCodec, mp4aCodec, parseAudioSpecificConfig, parseEsds,
} from '../../../src/formats/mp4/codec-config.js'
import { readBox } from '../../../src/formats/mp4/box.js'
import { rawBox } from '../../helpers/mp4-fixtures.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

/** Pack [value, bits] pairs MSB first, zero-padded to whole bytes. */
function bits(fields: [number, number][]): Buffer {
  let s = ''
  for (const [v, n] of fields) s += v.toString(2).padStart(n, '0')
  s = s.padEnd(Math.ceil(s.length / 8) * 8, '0')
  return Buffer.from(s.match(/.{8}/g)!.map((b) => parseInt(b, 2)))
}

t.test('avcC → avc1.PPCCLL', async (t) => {
  t.equal(avcCodec('avc1', hex('01 64 00 1f ff e1')), 'avc1.64001f')
  t.equal(avcCodec('avc3', hex('01 42 c0 1e')), 'avc3.42c01e')
  t.throws(() => avcCodec('avc1', hex('01 64')), /truncated/)
  t.throws(() => avcCodec('avc1', hex('00 64 00 1f')), /configurationVersion 0/)
})

t.test('hvcC → 14496-15 Annex E codec string', async (t) => {
  const cases: [string, string, string][] = [
    // version, space|tier|profile, compat(32), constraints(48), level
    ['Main L3.1', '01 01 60000000 900000000000 5d', 'hvc1.1.6.L93.90'],
    ['Main, spec example B0', '01 01 60000000 b00000000000 5d', 'hvc1.1.6.L93.B0'],
    ['Main10 high tier, profile space 1', '01 62 20000000 b02300000000 78', 'hvc1.A2.4.H120.B0.23'],
    ['no constraint bytes', '01 01 60000000 000000000000 5d', 'hvc1.1.6.L93'],
  ]
  for (const [name, bytes, want] of cases) t.equal(hevcCodec('hvc1', hex(bytes)), want, name)
  t.throws(() => hevcCodec('hev1', hex('01 01 60000000')), /truncated/)
})

t.test('AudioSpecificConfig', async (t) => {
  const cases: { name: string; asc: Buffer; want: object }[] = [
    { name: 'AAC-LC 48 kHz stereo', asc: hex('1190'), want: { objectType: 2, sampleRate: 48000, channels: 2 } },
    { name: 'AAC-LC 44.1 kHz mono', asc: bits([[2, 5], [4, 4], [1, 4]]), want: { objectType: 2, sampleRate: 44100, channels: 1 } },
    {
      name: 'HE-AAC explicit: extension rate is the output rate',
      asc: bits([[5, 5], [6, 4], [2, 4], [3, 4], [2, 5]]),
      want: { objectType: 5, sampleRate: 48000, channels: 2 },
    },
    { name: 'HE-AACv2 (PS): mono core, stereo output', asc: bits([[29, 5], [6, 4], [1, 4], [3, 4], [2, 5]]), want: { objectType: 29, sampleRate: 48000, channels: 2 } },
    { name: 'escape 31: USAC (42)', asc: bits([[31, 5], [10, 6], [3, 4], [2, 4]]), want: { objectType: 42, sampleRate: 48000, channels: 2 } },
    { name: 'explicit 24-bit frequency', asc: bits([[2, 5], [15, 4], [37800, 24], [7, 4]]), want: { objectType: 2, sampleRate: 37800, channels: 8 } },
  ]
  for (const c of cases) t.same(parseAudioSpecificConfig(c.asc), c.want, c.name)
  t.throws(() => parseAudioSpecificConfig(hex('f8')), /truncated/)
})

t.test('esds → mp4a codec strings', async (t) => {
  // ES_Descriptor with FFmpeg's 4-byte descriptor sizes, DecoderConfig 0x40, ASC 1190.
  const ffmpegStyle = rawBox('esds', '00000000 03808080 22 0001 00 04808080 14 40 15 000000 0001f400 0001f400 05808080 02 1190 06808080 0102')
  t.same(parseEsds(readBox(ffmpegStyle)), { objectTypeIndication: 0x40, asc: { objectType: 2, sampleRate: 48000, channels: 2 } })
  t.equal(mp4aCodec(parseEsds(readBox(ffmpegStyle))), 'mp4a.40.2')
  // 1-byte sizes, URL_Flag and streamDependenceFlag set, MP3 (0x6B) with no DecoderSpecificInfo.
  const mp3 = rawBox('esds', '00000000 03 18 0001 c0 0002 03 616263 04 0d 6b 15 000000 00000000 00000000')
  t.equal(mp4aCodec(parseEsds(readBox(mp3))), 'mp4a.6B')
  const noAsc = rawBox('esds', '00000000 03 12 0001 00 04 0d 40 15 000000 00000000 00000000')
  t.equal(mp4aCodec(parseEsds(readBox(noAsc))), 'mp4a.40')
  const wrongTag = rawBox('esds', '00000000 04 02 0000')
  t.throws(() => parseEsds(readBox(wrongTag)), /descriptor tag 0x04, expected 0x03/)
  const overlong = rawBox('esds', '00000000 03 7f 0001 00')
  t.throws(() => parseEsds(readBox(overlong)), /truncated/)
})

t.test('AC-3 / E-AC-3 channel counts', async (t) => {
  // fscod bsid bsmod acmod lfeon bit_rate_code reserved
  t.equal(ac3Channels(bits([[0, 2], [8, 5], [0, 3], [7, 3], [1, 1], [10, 5], [0, 5]])), 6, '3/2 + LFE')
  t.equal(ac3Channels(bits([[0, 2], [8, 5], [0, 3], [2, 3], [0, 1], [10, 5], [0, 5]])), 2, '2/0')
  // data_rate num_ind_sub | fscod bsid reserved asvc bsmod acmod lfeon reserved num_dep_sub reserved
  t.equal(ec3Channels(bits([[384, 13], [0, 3], [0, 2], [16, 5], [0, 1], [0, 1], [0, 3], [7, 3], [1, 1], [0, 3], [0, 4], [0, 1]])), 6)
})
