import t from 'tap'
import {
  nalToRbsp, parseAvcDecoderConfig, parseH264Sps, RbspReader, sourceVideoInfo, type H264Sps,
} from '../../src/formats/h264-sps.js'
import { MediaFormatError } from '../../src/errors.js'
import { tempDir } from '../helpers/mp4-fixtures.js'
import { avcC, BitWriter, buildSps, flat, hex, ramp, type SpsFields } from '../helpers/sps-builder.js'
import {
  annexB, encodeH264, ffprobeProfile, flvSequenceHeader, limiter, ratio, type EncodeCase,
} from '../helpers/sps-encode.js'

t.test('RBSP reader: exp-Golomb codes of Table 9-2 and 9-3', async (t) => {
  const w = new BitWriter()
  const values = [0, 1, 2, 3, 7, 8, 254, 255, 65535, 2 ** 31, 2 ** 32 - 2]
  for (const v of values) w.ue(v)
  const signed = [0, 1, -1, 2, -2, 127, -128, 2 ** 30, -(2 ** 30)]
  for (const v of signed) w.se(v)
  const r = new RbspReader(w.rbsp(), 'test')
  t.same(values.map(() => r.ue()), values)
  t.same(signed.map(() => r.se()), signed)
  // Table 9-2 by hand: 1 → 010, 2 → 011, 3 → 00100.
  const h = new RbspReader(Buffer.from([0b01001100, 0b10000000]), 'test')
  t.same([h.ue(), h.ue(), h.ue()], [1, 2, 3])
  t.throws(() => new RbspReader(Buffer.alloc(5), 'test').ue(), MediaFormatError, '32 leading zeros')
  t.throws(() => new RbspReader(hex('00 01'), 'test').ue(), MediaFormatError, 'code runs past the end')
})

t.test('nalToRbsp: emulation prevention edge cases', async (t) => {
  const ok: Array<[string, string, string]> = [
    ['no escapes', '67 42 c0 1e', '67 42 c0 1e'],
    ['00 00 03 00', '11 00 00 03 00 22', '11 00 00 00 22'],
    ['00 00 03 01..03', '00 00 03 01 00 00 03 02 00 00 03 03', '00 00 01 00 00 02 00 00 03'],
    ['escape after escape', '00 00 03 00 00 03 01 11', '00 00 00 00 01 11'],
    ['03 after only one zero stays', '11 00 03 22', '11 00 03 22'],
    ['00 00 03 ending the unit (cabac_zero_word)', '11 00 00 03', '11 00 00'],
    ['trailing zero bytes ignored', '11 80 00 00 00 00', '11 80'],
  ]
  for (const [name, input, want] of ok) t.equal(nalToRbsp(hex(input), 'x').toString('hex'), hex(want).toString('hex'), name)
  const bad: Array<[string, string]> = [
    ['start code inside', '11 00 00 01 22'],
    ['00 00 00 inside', '11 00 00 00 22'],
    ['00 00 02 inside', '11 00 00 02 22'],
    ['00 00 03 followed by 0x04', '11 00 00 03 04'],
    ['00 00 03 followed by 0xff', '11 00 00 03 ff 22'],
  ]
  for (const [name, input] of bad) t.throws(() => nalToRbsp(hex(input), 'x'), MediaFormatError, name)
})

t.test('a hand-computed baseline SPS, byte for byte', async (t) => {
  // 42 c0 1e, then sps_id 0 "1", log2_max_frame_num-4 0 "1", poc type 2 "011", refs 1 "010"
  // (da), gaps "0", width_mbs-1 19 "000010100", height_map_units-1 14 "0001111", frame_mbs_only
  // "1", direct_8x8 "1", cropping "0", vui "0", stop bit "1" + "00": 0000 0101 0000 0111 1110 0100.
  const sps = hex('67 42 c0 1e da 05 07 e4')
  const built = buildSps({ profileIdc: 66, constraint: 0xc0, poc: { type: 2 }, widthMbs: 20, heightMapUnits: 15 })
  t.equal(built.toString('hex'), sps.toString('hex'), 'the test builder agrees with the hand encoding')
  t.same(parseH264Sps(sps), {
    profileIdc: 66, constraintFlags: 0xc0, levelIdc: 30, width: 320, height: 240, chromaFormatIdc: 1, bitDepth: 8,
  })
})

t.test('hand-built SPS table', async (t) => {
  const cases: Array<{ name: string; sps: SpsFields; want: H264Sps }> = [
    {
      name: 'High: scaling lists (explicit, default, early stop), poc type 1, field coding, crop, full VUI with Extended_SAR',
      sps: {
        profileIdc: 100, level: 40, chroma: 1,
        scaling: [ramp(16), 'default', undefined, flat(16), undefined, undefined, ramp(64), [...ramp(10), ...flat(54, 20)]],
        poc: { type: 1, cycle: [1, -2, 3] }, widthMbs: 120, heightMapUnits: 34, frameMbsOnly: false, crop: [0, 0, 0, 2],
        vui: { sar: [7, 5], overscan: true, signal: { colour: true }, chromaLoc: [1, 1], timing: [1001, 60000] },
      },
      // 34 map units of field MB pairs = 68 MB rows = 1088; CropUnitY = SubHeightC 2 × 2 for fields.
      want: { profileIdc: 100, constraintFlags: 0, levelIdc: 40, width: 1920, height: 1080, frameRate: 60000 / 2002,
        chromaFormatIdc: 1, bitDepth: 8, sampleAspectRatio: { width: 7, height: 5 } },
    },
    {
      name: '4:4:4 with 12 scaling lists and separate colour planes: ChromaArrayType 0 crops in luma samples',
      sps: {
        profileIdc: 244, chroma: 3, separatePlanes: true, bitDepth: 10,
        scaling: [undefined, undefined, undefined, undefined, undefined, undefined, 'default', undefined, ramp(64), 'default', flat(64, 9), ramp(64)],
        widthMbs: 20, heightMapUnits: 8, frameMbsOnly: false, crop: [1, 2, 3, 4], vui: { sar: 1, timing: [1, 50] },
      },
      // CropUnitX 1; CropUnitY 2 − frame_mbs_only_flag = 2.
      want: { profileIdc: 244, constraintFlags: 0, levelIdc: 30, width: 317, height: 242, frameRate: 25,
        chromaFormatIdc: 3, bitDepth: 10, sampleAspectRatio: { width: 1, height: 1 } },
    },
    {
      name: '4:2:2 crops 2 columns and 1 row per unit; SAR from Table E-1; no timing',
      sps: { profileIdc: 122, chroma: 2, bitDepth: 10, widthMbs: 20, heightMapUnits: 15, crop: [1, 1, 1, 1], vui: { sar: 14 } },
      want: { profileIdc: 122, constraintFlags: 0, levelIdc: 30, width: 316, height: 238, chromaFormatIdc: 2, bitDepth: 10,
        sampleAspectRatio: { width: 4, height: 3 } },
    },
    {
      name: '4:4:4 without separate planes crops in luma samples',
      sps: { profileIdc: 244, chroma: 3, widthMbs: 2, heightMapUnits: 2, crop: [0, 1, 0, 1] },
      want: { profileIdc: 244, constraintFlags: 0, levelIdc: 30, width: 31, height: 31, chromaFormatIdc: 3, bitDepth: 8 },
    },
    {
      name: 'monochrome (High) crops in luma samples',
      sps: { profileIdc: 100, chroma: 0, widthMbs: 20, heightMapUnits: 15, crop: [0, 1, 0, 1] },
      want: { profileIdc: 100, constraintFlags: 0, levelIdc: 30, width: 319, height: 239, chromaFormatIdc: 0, bitDepth: 8 },
    },
    {
      name: 'Main: unspecified SAR, zero time_scale and Extended_SAR 0:0 give neither SAR nor rate',
      sps: { profileIdc: 77, constraint: 0x40, level: 31, widthMbs: 80, heightMapUnits: 45, vui: { sar: 0, timing: [1, 0] } },
      want: { profileIdc: 77, constraintFlags: 0x40, levelIdc: 31, width: 1280, height: 720, chromaFormatIdc: 1, bitDepth: 8 },
    },
    {
      name: 'Extended_SAR 0:0 is unspecified',
      sps: { profileIdc: 66, widthMbs: 80, heightMapUnits: 45, poc: { type: 2 }, vui: { sar: [0, 0], timing: [1, 120] } },
      want: { profileIdc: 66, constraintFlags: 0, levelIdc: 30, width: 1280, height: 720, frameRate: 60, chromaFormatIdc: 1, bitDepth: 8 },
    },
  ]
  for (const c of cases) t.same(parseH264Sps(buildSps(c.sps)), c.want, c.name)
})

t.test('emulation prevention inside a real field: timing_info of 1 / 50', async (t) => {
  const nal = buildSps({ profileIdc: 66, widthMbs: 20, heightMapUnits: 15, poc: { type: 2 }, vui: { timing: [1, 50] } })
  t.ok(nal.includes(hex('000003')), 'the NAL unit carries emulation_prevention_three_bytes')
  t.equal(parseH264Sps(nal).frameRate, 25)
  // The same bytes without the escapes hold a start code prefix: a wrongly split unit.
  const unescaped = Buffer.concat([nal.subarray(0, 1), nalToRbsp(nal.subarray(1), 'x')])
  t.throws(() => parseH264Sps(unescaped), MediaFormatError)
})

t.test('malformed SPS throws MediaFormatError', async (t) => {
  const good = buildSps({
    profileIdc: 100, scaling: [ramp(16), undefined, undefined, undefined, undefined, undefined, ramp(64), undefined],
    poc: { type: 1, cycle: [4, 5] }, widthMbs: 120, heightMapUnits: 68, crop: [0, 0, 0, 4],
    vui: { sar: [4, 3], overscan: true, signal: { colour: true }, chromaLoc: [0, 0], timing: [1, 50] },
  })
  const full = parseH264Sps(good)
  // Every prefix either lacks a bit the parser needs (and throws) or holds them all (same answer).
  let threw = 0
  for (let n = 0; n < good.length; n++) {
    try {
      t.same(parseH264Sps(good.subarray(0, n)), full, `prefix of ${n} bytes`)
    } catch (err) {
      t.type(err, MediaFormatError, `prefix of ${n} bytes`)
      threw++
    }
  }
  t.ok(threw >= good.length - 2, `${threw} of ${good.length} prefixes are too short`)

  const bad: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['PPS, not SPS', hex('68 ee 3c 80')],
    ['forbidden_zero_bit', hex('e7 42 c0 1e da 05 07 e4')],
    ['chroma_format_idc 4', buildSps({ profileIdc: 100, chroma: 4, widthMbs: 1, heightMapUnits: 1 })],
    ['bit depth 15', buildSps({ profileIdc: 110, bitDepth: 15, widthMbs: 1, heightMapUnits: 1 })],
    ['delta_scale 200', buildSps({ profileIdc: 100, scaling: [{ deltas: [200] }], widthMbs: 1, heightMapUnits: 1 })],
    ['pic_order_cnt_type 3', buildSps({ profileIdc: 66, poc: { type: 3 } as unknown as { type: 2 }, widthMbs: 1, heightMapUnits: 1 })],
    ['crop eats the width', buildSps({ profileIdc: 66, widthMbs: 1, heightMapUnits: 1, crop: [4, 4, 0, 0] })],
    ['crop eats the height of a field picture', buildSps({ profileIdc: 66, widthMbs: 1, heightMapUnits: 1, frameMbsOnly: false, crop: [0, 0, 4, 4] })],
    ['width of 3000 macroblocks', buildSps({ profileIdc: 66, widthMbs: 3000, heightMapUnits: 1 })],
    ['00 00 03 04 inside', hex('67 42 c0 1e 00 00 03 04')],
    ['truncated ue in the header', hex('67 42 c0 1e 00')],
  ]
  for (const [name, nal] of bad) t.throws(() => parseH264Sps(nal), MediaFormatError, name)
})
const SPS_1080 = buildSps({ profileIdc: 100, level: 40, widthMbs: 120, heightMapUnits: 68, crop: [0, 0, 0, 4], vui: { timing: [1001, 60000] } })
const PPS = hex('68 ee 3c 80')

t.test('parseAvcDecoderConfig', async (t) => {
  const record = avcC([SPS_1080], [PPS])
  const got = parseAvcDecoderConfig(record)
  t.same(got, { profile: 0x64, compatibility: 0, level: 0x28, lengthSize: 4, sps: [SPS_1080], pps: [PPS] })
  record.fill(0xaa, 8)
  t.same(got.sps[0], SPS_1080, 'parameter sets are copies, not views into the record')

  t.equal(parseAvcDecoderConfig(avcC([SPS_1080], [PPS], 0)).lengthSize, 1)
  t.equal(parseAvcDecoderConfig(avcC([SPS_1080], [PPS], 1)).lengthSize, 2)
  t.same(parseAvcDecoderConfig(avcC([], [])), { profile: 0x64, compatibility: 0, level: 0x28, lengthSize: 4, sps: [], pps: [] },
    'avc3-style record without parameter sets')
  const ext = Buffer.concat([avcC([SPS_1080], [PPS]), hex('fd f8 f8 00')])
  t.same(parseAvcDecoderConfig(ext).sps, [SPS_1080], 'high-profile extension bytes after the PPS are ignored')
  t.same(parseAvcDecoderConfig(avcC([SPS_1080, SPS_1080], [PPS, PPS])).pps.length, 2)

  const full = avcC([SPS_1080], [PPS])
  const bad: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['configurationVersion 0', avcC([SPS_1080], [PPS], 3, '00 64 00 28')],
    ['lengthSizeMinusOne 2', avcC([SPS_1080], [PPS], 2)],
    ['SPS array holds a PPS', avcC([PPS], [PPS])],
    ['PPS array holds an SPS', avcC([SPS_1080], [SPS_1080])],
    ['two SPS announced, one present', Buffer.concat([hex('01 64 00 28 ff e2'), full.subarray(6)])],
    ['zero-length SPS', avcC([Buffer.alloc(0)], [])],
  ]
  for (let n = 0; n < full.length; n++) bad.push([`truncated to ${n} bytes`, full.subarray(0, n)])
  for (const [name, rec] of bad) t.throws(() => parseAvcDecoderConfig(rec), MediaFormatError, name)
})

t.test('sourceVideoInfo from an FLV AVC sequence header tag body', async (t) => {
  const record = avcC([SPS_1080], [PPS])
  const want = { width: 1920, height: 1080, frameRate: 60000 / 2002, codec: 'avc1.640028' }
  t.same(sourceVideoInfo(Buffer.concat([hex('17 00 000000'), record])), want, 'legacy AVC header')
  t.same(sourceVideoInfo(Buffer.concat([hex('90 61766331'), record])), want, 'Enhanced RTMP avc1 SequenceStart')
  const noTiming = avcC([buildSps({ profileIdc: 66, widthMbs: 40, heightMapUnits: 23, crop: [0, 0, 0, 4], poc: { type: 2 } })], [PPS], 3, '01 42 c0 1e')
  t.same(sourceVideoInfo(Buffer.concat([hex('17 00 000000'), noTiming])), { width: 640, height: 360, codec: 'avc1.42c01e' })

  const bad: Array<[string, Buffer]> = [
    ['coded frame, not a sequence header', Buffer.concat([hex('17 01 000000'), record])],
    ['HEVC (codec id 12)', Buffer.concat([hex('1c 00 000000'), record])],
    ['record without SPS', Buffer.concat([hex('17 00 000000'), avcC([], [PPS])])],
    ['empty body', Buffer.alloc(0)],
    ['header only', hex('17 00 000000')],
  ]
  for (const [name, body] of bad) t.throws(() => sourceVideoInfo(body), MediaFormatError, name)
})

const PROFILE_IDC = { baseline: 66, main: 77, high: 100 } as const
const h264Cases: EncodeCase[] = [
  { name: '1080p25 High (coded 1088, cropped)', size: [1920, 1080], rate: '25', profile: 'high', want: { profileIdc: 100, chroma: 1, bitDepth: 8 } },
  { name: '1080p29.97 Main', size: [1920, 1080], rate: '30000/1001', profile: 'main', want: { profileIdc: 77, chroma: 1, bitDepth: 8 } },
  { name: '720p50 High', size: [1280, 720], rate: '50', profile: 'high', want: { profileIdc: 100, chroma: 1, bitDepth: 8 } },
  { name: '720p60 Baseline', size: [1280, 720], rate: '60', profile: 'baseline', want: { profileIdc: 66, chroma: 1, bitDepth: 8 } },
  { name: '854x480 30 Main', size: [854, 480], rate: '30', profile: 'main', want: { profileIdc: 77, chroma: 1, bitDepth: 8 } },
  { name: '640x360 30 Baseline', size: [640, 360], rate: '30', profile: 'baseline', want: { profileIdc: 66, chroma: 1, bitDepth: 8 } },
  { name: '426x240 25 Baseline', size: [426, 240], rate: '25', profile: 'baseline', want: { profileIdc: 66, chroma: 1, bitDepth: 8 } },
  { name: '1366x768 29.97 High', size: [1366, 768], rate: '30000/1001', profile: 'high', want: { profileIdc: 100, chroma: 1, bitDepth: 8 } },
  {
    name: '1080i25 High (frame_mbs_only_flag 0)', size: [1920, 1080], rate: '25', profile: 'high',
    args: ['-flags', '+ildct+ilme', '-x264-params', 'interlaced=1:tff=1'], want: { profileIdc: 100, chroma: 1, bitDepth: 8 },
  },
  {
    name: '720x576 with Extended_SAR 7:5, overscan, video signal, colour description, chroma location',
    size: [720, 576], rate: '25', profile: 'high',
    args: ['-vf', 'setsar=7/5', '-x264-params', 'overscan=show:videoformat=pal:colorprim=bt709:transfer=bt709:colormatrix=bt709:chromaloc=1'],
    want: { profileIdc: 100, chroma: 1, bitDepth: 8, sar: { width: 7, height: 5 } },
  },
  { name: '321x241 4:4:4', size: [321, 241], src: '320x240', rate: '25', args: ['-vf', 'scale=321:241,format=yuv444p'], want: { profileIdc: 244, chroma: 3, bitDepth: 8 } },
  { name: '322x241 4:2:2 10-bit', size: [322, 241], src: '320x240', rate: '30', args: ['-vf', 'scale=322:241,format=yuv422p10le'], want: { profileIdc: 122, chroma: 2, bitDepth: 10 } },
  { name: '321x241 monochrome', size: [321, 241], src: '320x240', rate: '24000/1001', args: ['-vf', 'scale=321:241,format=gray'], want: { profileIdc: 100, chroma: 0, bitDepth: 8 } },
  {
    // x264 writes seq_scaling_matrix_present_flag 1 only for AVC-Intra, which refuses global headers.
    name: 'AVC-Intra 100 1080p25: scaling matrices in the SPS, zero-padded headers', size: [1920, 1080], rate: '25', annexBOnly: true,
    args: ['-pix_fmt', 'yuv422p10le', '-x264-params', 'avcintra-class=100'], want: { profileIdc: 122, chroma: 2, bitDepth: 10 },
  },
]

t.test('SPS of real libx264 streams agree with ffprobe', async (t) => {
  const dir = await tempDir(t)
  const limit = limiter(3)
  const jobs = h264Cases.map((c, i) => limit(async () => encodeH264(dir, String(i), c)))
  // Keep a failed job from being reported as an unhandled rejection before its subtest awaits it.
  for (const j of jobs) j.catch(() => {})

  for (const [i, c] of h264Cases.entries()) {
    await t.test(c.name, async (t) => {
      const { flv, annexB: stream, probe } = await (jobs[i] as (typeof jobs)[number])
      const rate = ratio(c.rate)
      const nal = annexB(stream).find((n) => ((n[0] ?? 0) & 0x1f) === 7)
      if (!nal) throw new Error('no SPS in the stream')
      const sps = parseH264Sps(nal)
      t.same([sps.width, sps.height], c.size, 'size after cropping')
      t.same([sps.width, sps.height], [probe.width, probe.height], 'ffprobe agrees on the size')
      if (c.profile) t.equal(sps.profileIdc, PROFILE_IDC[c.profile], `-profile:v ${c.profile}`)
      t.equal(sps.profileIdc, c.want.profileIdc, 'profile_idc')
      t.equal(ffprobeProfile(sps), probe.profile, 'ffprobe agrees on the profile')
      t.equal(sps.levelIdc, probe.level, 'ffprobe agrees on the level')
      t.equal(sps.chromaFormatIdc, c.want.chroma, 'chroma_format_idc')
      t.equal(sps.bitDepth, c.want.bitDepth, 'bit depth')
      t.ok(Math.abs((sps.frameRate ?? 0) - rate) < 1e-9, `frame rate ${sps.frameRate} = ${c.rate}`)
      t.ok(Math.abs((sps.frameRate ?? 0) - ratio(probe.r_frame_rate)) < 1e-9, `ffprobe r_frame_rate ${probe.r_frame_rate}`)
      if (c.want.sar) {
        t.same(sps.sampleAspectRatio, c.want.sar, 'sample aspect ratio')
        t.equal(probe.sample_aspect_ratio, `${c.want.sar.width}:${c.want.sar.height}`, 'ffprobe agrees on the SAR')
      }
      if (!flv) return
      const body = flvSequenceHeader(flv)
      const config = parseAvcDecoderConfig(body.subarray(5))
      const first = config.sps[0] as Buffer
      t.equal(config.lengthSize, 4)
      t.equal(config.pps.length, 1)
      t.same(parseH264Sps(first), sps, 'the FLV sequence header holds the same SPS')
      t.same([config.profile, config.compatibility, config.level], [...first.subarray(1, 4)], 'record repeats the SPS bytes')
      const info = sourceVideoInfo(body)
      t.same(info, { width: c.size[0], height: c.size[1], frameRate: sps.frameRate, codec: `avc1.${first.subarray(1, 4).toString('hex')}` },
        'sourceVideoInfo')
    })
  }
})
