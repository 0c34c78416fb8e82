import t from 'tap'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import {
  nalToRbsp, parseAvcDecoderConfig, parseH264Sps, RbspReader, sourceVideoInfo, type H264Sps,
} from '../../src/formats/h264-sps.js'
import { parseHevcDecoderConfig, parseHevcSps } from '../../src/formats/hevc-sps.js'
import { MediaFormatError } from '../../src/errors.js'
import { FFMPEG, FFPROBE } from '../helpers/ffmpeg.js'
import { hasEncoder, tempDir } from '../helpers/mp4-fixtures.js'

const run = promisify(execFile)
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

/** Writes syntax elements MSB first, as an encoder does (H.264 §7.2, §9.1). */
class BitWriter {
  private readonly out: number[] = []
  u(n: number, v: number): this {
    for (let i = n - 1; i >= 0; i--) this.out.push(Math.floor(v / 2 ** i) % 2)
    return this
  }
  flag(b: boolean | number): this {
    return this.u(1, b ? 1 : 0)
  }
  ue(v: number): this {
    const code = (v + 1).toString(2)
    return this.u(code.length - 1, 0).u(code.length, v + 1)
  }
  se(v: number): this {
    return this.ue(v > 0 ? 2 * v - 1 : -2 * v)
  }
  /** rbsp_trailing_bits(): a stop bit, then zeros to the byte boundary. */
  rbsp(): Buffer {
    const bits = [...this.out, 1]
    while (bits.length % 8) bits.push(0)
    const bytes: number[] = []
    for (let i = 0; i < bits.length; i += 8) bytes.push(bits.slice(i, i + 8).reduce((a, b) => a * 2 + b, 0))
    return Buffer.from(bytes)
  }
}

/** §7.4.1: insert 0x03 wherever two zeros would be followed by a byte ≤ 3, or end the unit. */
function escape(rbsp: Buffer): Buffer {
  const out: number[] = []
  let zeros = 0
  for (const b of rbsp) {
    if (zeros === 2 && b <= 3) { out.push(3); zeros = 0 }
    out.push(b)
    zeros = b === 0 ? zeros + 1 : 0
  }
  if (zeros > 0) out.push(3)
  return Buffer.from(out)
}

/** Encode a scaling list as delta_scale values, ending early when the rest repeats (§7.3.2.1.1.1). */
function writeScalingList(w: BitWriter, list: ScalingListSpec): void {
  if (list === 'default') { w.se(-8); return } // nextScale 0 at j = 0: useDefaultScalingMatrixFlag
  if (!Array.isArray(list)) { for (const d of list.deltas) w.se(d); return }
  let last = 8
  for (let j = 0; j < list.length; j++) {
    if (list.slice(j).every((v) => v === last)) { w.se(((-last + 128) & 0xff) - 128); return }
    const v = list[j] as number
    w.se((((v - last) + 128) & 0xff) - 128)
    last = v
  }
}

/** A scaling list to write: its values, the default-matrix signal, or raw delta_scale values. */
type ScalingListSpec = number[] | 'default' | { deltas: number[] }

interface SpsFields {
  profileIdc: number
  constraint?: number
  level?: number
  chroma?: number
  separatePlanes?: boolean
  bitDepth?: number
  /** One entry per list (8, or 12 for 4:4:4): absent, 'default' or explicit values. */
  scaling?: Array<ScalingListSpec | undefined>
  poc?: { type: 0 } | { type: 1; cycle: number[] } | { type: 2 }
  widthMbs: number
  heightMapUnits: number
  frameMbsOnly?: boolean
  crop?: [number, number, number, number]
  vui?: { sar?: number | [number, number]; overscan?: boolean; signal?: { colour: boolean }; chromaLoc?: [number, number]; timing?: [number, number] }
}

/** An SPS NAL unit written field by field from H.264 §7.3.2.1.1 and E.1.1. */
function buildSps(f: SpsFields): Buffer {
  const w = new BitWriter().u(8, f.profileIdc).u(8, f.constraint ?? 0).u(8, f.level ?? 30).ue(0)
  if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(f.profileIdc)) {
    w.ue(f.chroma ?? 1)
    if (f.chroma === 3) w.flag(f.separatePlanes ?? false)
    w.ue((f.bitDepth ?? 8) - 8).ue((f.bitDepth ?? 8) - 8).flag(0).flag(f.scaling !== undefined)
    for (const list of f.scaling ?? []) {
      w.flag(list !== undefined)
      if (list !== undefined) writeScalingList(w, list)
    }
  }
  const poc = f.poc ?? { type: 0 }
  w.ue(0).ue(poc.type)
  if (poc.type === 0) w.ue(2)
  if (poc.type === 1) {
    w.flag(0).se(-3).se(5).ue(poc.cycle.length)
    for (const o of poc.cycle) w.se(o)
  }
  w.ue(1).flag(0).ue(f.widthMbs - 1).ue(f.heightMapUnits - 1).flag(f.frameMbsOnly ?? true)
  if (f.frameMbsOnly === false) w.flag(1)
  w.flag(1).flag(f.crop !== undefined)
  for (const c of f.crop ?? []) w.ue(c)
  w.flag(f.vui !== undefined)
  const v = f.vui
  if (v) {
    w.flag(v.sar !== undefined)
    if (typeof v.sar === 'number') w.u(8, v.sar)
    else if (v.sar) w.u(8, 255).u(16, v.sar[0]).u(16, v.sar[1])
    w.flag(v.overscan ?? false)
    if (v.overscan) w.flag(1)
    w.flag(v.signal !== undefined)
    if (v.signal) w.u(3, 5).flag(1).flag(v.signal.colour)
    if (v.signal?.colour) w.u(8, 1).u(8, 1).u(8, 1)
    w.flag(v.chromaLoc !== undefined)
    if (v.chromaLoc) w.ue(v.chromaLoc[0]).ue(v.chromaLoc[1])
    w.flag(v.timing !== undefined)
    if (v.timing) w.u(32, v.timing[0]).u(32, v.timing[1]).flag(1)
    w.flag(0).flag(0).flag(0).flag(0) // nal_hrd, vcl_hrd, pic_struct, bitstream_restriction
  }
  return Buffer.concat([Buffer.from([0x67]), escape(w.rbsp())])
}

const flat = (n: number, v = 16): number[] => Array.from({ length: n }, () => v)
const ramp = (n: number): number[] => Array.from({ length: n }, (_, i) => 6 + ((i * 7) % 60))

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

/** An avcC record around the given parameter sets (14496-15 §5.3.3.1.2). */
function avcC(sps: Buffer[], pps: Buffer[], lengthSizeMinusOne = 3, head = '01 64 00 28'): Buffer {
  const parts = [hex(head), Buffer.from([0xfc | lengthSizeMinusOne, 0xe0 | sps.length])]
  for (const s of sps) parts.push(Buffer.from([s.length >> 8, s.length & 0xff]), s)
  parts.push(Buffer.from([pps.length]))
  for (const p of pps) parts.push(Buffer.from([p.length >> 8, p.length & 0xff]), p)
  return Buffer.concat(parts)
}

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

/** Run at most `n` tasks at a time (FFmpeg jobs on a small CI box). */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0
  const queue: Array<() => void> = []
  return async (task) => {
    if (active >= n) await new Promise<void>((resolve) => queue.push(resolve))
    active++
    try {
      return await task()
    } finally {
      active--
      queue.shift()?.()
    }
  }
}

/** Body of the first FLV video tag that is an AVC sequence header. */
function flvSequenceHeader(file: Buffer): Buffer {
  for (let p = 13; p + 11 <= file.length;) {
    const size = file.readUIntBE(p + 1, 3)
    const body = file.subarray(p + 11, p + 11 + size)
    if (file[p] === 9 && body[1] === 0) return body
    p += 11 + size + 4
  }
  throw new Error('no AVC sequence header in the FLV file')
}

/** Split an Annex B byte stream at its start codes (the zero_byte before a 4-byte code stays on the previous unit). */
function annexB(stream: Buffer): Buffer[] {
  const starts: number[] = []
  for (let i = 0; i + 2 < stream.length; i++) if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) starts.push(i)
  return starts.map((s, k) => stream.subarray(s + 3, starts[k + 1] ?? stream.length))
}

interface Probe { width: number; height: number; profile: string; level: number; r_frame_rate: string; sample_aspect_ratio?: string }

async function ffprobe(path: string): Promise<Probe> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-print_format', 'json', '-show_entries',
    'stream=width,height,profile,level,r_frame_rate,sample_aspect_ratio', path])
  const s = JSON.parse(stdout).streams?.[0] as Probe | undefined
  if (!s) throw new Error(`ffprobe found no video stream in ${path}`)
  return s
}

const ratio = (r: string): number => {
  const [n, d] = r.split('/').map(Number)
  return (n ?? NaN) / (d ?? 1)
}

/** ffprobe's name for an H.264 profile (libavcodec's profile table). */
function ffprobeProfile(s: H264Sps): string {
  const set1 = (s.constraintFlags & 0x40) !== 0
  const intra = (s.constraintFlags & 0x10) !== 0
  const names: Record<number, string> = {
    66: set1 ? 'Constrained Baseline' : 'Baseline', 77: 'Main', 100: 'High', 110: intra ? 'High 10 Intra' : 'High 10',
    122: intra ? 'High 4:2:2 Intra' : 'High 4:2:2', 244: intra ? 'High 4:4:4 Intra' : 'High 4:4:4 Predictive',
  }
  return names[s.profileIdc] ?? `profile_idc ${s.profileIdc}`
}

interface EncodeCase {
  name: string
  size: [number, number]
  rate: string
  /** -profile:v for libx264; its profile_idc is expected in the SPS. */
  profile?: 'baseline' | 'main' | 'high'
  args?: string[]
  /** testsrc2 size when a filter scales to `size`. */
  src?: string
  /** Only an Annex B stream (the encoder cannot put its headers in the FLV sequence header). */
  annexBOnly?: boolean
  want: { profileIdc: number; chroma: number; bitDepth: number; sar?: { width: number; height: number } }
}

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
  const jobs = h264Cases.map((c, i) => limit(async () => {
    const flv = join(dir, `${i}.flv`)
    const h264 = join(dir, `${i}.h264`)
    // One encode, two muxers: the FLV sequence header for sourceVideoInfo, and an
    // Annex B copy for ffprobe, which takes the frame rate from the SPS there (from
    // a short FLV it would guess one from millisecond timestamps).
    // Global headers make the FLV sequence header; dump_extra puts them back in band for Annex B.
    const output = c.annexBOnly
      ? ['-f', 'h264', h264]
      : ['-flags', '+global_header', '-map', '0:v', '-f', 'tee', `[f=flv]${flv}|[f=h264:bsfs/v=dump_extra]${h264}`]
    await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i',
      `testsrc2=size=${c.src ?? c.size.join('x')}:rate=${c.rate}`, '-frames:v', '1', '-c:v', 'libx264', '-preset', 'veryfast',
      ...(c.profile ? ['-profile:v', c.profile] : []), ...(c.args ?? []), ...output])
    return { flv: c.annexBOnly ? undefined : await readFile(flv), annexB: await readFile(h264), probe: await ffprobe(h264) }
  }))
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

interface HevcSpsFields {
  width: number
  height: number
  profileIdc?: number
  tier?: number
  level?: number
  subLayers?: Array<{ profile: boolean; level: boolean }>
  chroma?: number
  separatePlanes?: boolean
  window?: [number, number, number, number]
  bitDepth?: number
}

/** An HEVC SPS NAL unit up to the bit depths, written from H.265 §7.3.2.2.1 and §7.3.3. */
function buildHevcSps(f: HevcSpsFields): Buffer {
  const subLayers = f.subLayers ?? []
  const w = new BitWriter().u(4, 0).u(3, subLayers.length).flag(1)
  w.u(2, 0).u(1, f.tier ?? 0).u(5, f.profileIdc ?? 1).u(32, 0x60000000).u(32, 0x90000000).u(16, 0).u(8, f.level ?? 123)
  for (const s of subLayers) w.flag(s.profile).flag(s.level)
  if (subLayers.length > 0) for (let i = subLayers.length; i < 8; i++) w.u(2, 0)
  // Busy bit patterns, so reading a sub-layer field that is absent (or skipping one that is there) shows.
  for (const s of subLayers) {
    if (s.profile) w.u(32, 0x5a123456).u(32, 0x789abcde).u(24, 0xf0f0f0)
    if (s.level) w.u(8, 0xa5)
  }
  w.ue(0).ue(f.chroma ?? 1)
  if (f.chroma === 3) w.flag(f.separatePlanes ?? false)
  w.ue(f.width).ue(f.height).flag(f.window !== undefined)
  for (const o of f.window ?? []) w.ue(o)
  w.ue((f.bitDepth ?? 8) - 8).ue((f.bitDepth ?? 8) - 8).ue(4) // bit depths, log2_max_pic_order_cnt_lsb_minus4
  return Buffer.concat([hex('42 01'), escape(w.rbsp())])
}

t.test('HEVC SPS: hand-built table and malformed input', async (t) => {
  const base = { profileSpace: 0, tier: 0, profileIdc: 1, levelIdc: 123, chromaFormatIdc: 1, bitDepth: 8 }
  const cases: Array<[string, HevcSpsFields, object]> = [
    ['1080p, no conformance window', { width: 1920, height: 1080 }, { ...base, width: 1920, height: 1080 }],
    ['640x368 coded, window of 4 chroma rows', { width: 640, height: 368, window: [0, 0, 0, 4] }, { ...base, width: 640, height: 360 }],
    ['three sub-layers with mixed profile/level presence, 4:2:2 10-bit, high tier',
      { width: 336, height: 256, tier: 1, profileIdc: 4, subLayers: [{ profile: true, level: true }, { profile: false, level: true }, { profile: true, level: false }],
        chroma: 2, bitDepth: 10, window: [1, 6, 0, 15] },
      { ...base, tier: 1, profileIdc: 4, chromaFormatIdc: 2, bitDepth: 10, width: 322, height: 241 }],
    ['4:4:4 with separate planes: window in luma samples', { width: 64, height: 64, chroma: 3, separatePlanes: true, window: [1, 2, 3, 4] },
      { ...base, chromaFormatIdc: 3, width: 61, height: 57 }],
    ['monochrome: window in luma samples', { width: 328, height: 248, chroma: 0, window: [0, 7, 0, 7] }, { ...base, chromaFormatIdc: 0, width: 321, height: 241 }],
  ]
  for (const [name, f, want] of cases) t.same(parseHevcSps(buildHevcSps(f)), want, name)

  const good = buildHevcSps({ width: 640, height: 368, window: [0, 0, 0, 4], subLayers: [{ profile: true, level: true }] })
  for (let n = 0; n < good.length - 1; n++) t.throws(() => parseHevcSps(good.subarray(0, n)), MediaFormatError, `prefix of ${n} bytes`)
  const bad: Array<[string, Buffer]> = [
    ['PPS header', Buffer.concat([hex('44 01'), good.subarray(2)])],
    ['forbidden_zero_bit', Buffer.concat([hex('c2 01'), good.subarray(2)])],
    ['sps_max_sub_layers_minus1 7', Buffer.concat([hex('42 01 0f'), good.subarray(3)])],
    ['width 0', buildHevcSps({ width: 0, height: 64 })],
    ['width 20000', buildHevcSps({ width: 20000, height: 64 })],
    ['chroma_format_idc 4', buildHevcSps({ width: 64, height: 64, chroma: 4 })],
    ['bit depth 17', buildHevcSps({ width: 64, height: 64, bitDepth: 17 })],
    ['window eats the picture', buildHevcSps({ width: 64, height: 64, window: [16, 16, 0, 0] })],
  ]
  for (const [name, nal] of bad) t.throws(() => parseHevcSps(nal), MediaFormatError, name)
})

/** An hvcC record (14496-15 §8.3.3.1.2) with the given NAL unit arrays. */
function hvcC(arrays: Array<[number, Buffer[]]>, lengthSizeMinusOne = 3, version = 1): Buffer {
  const parts = [Buffer.from([version]), hex('01 60000000 900000000000 5d f000 fc fd f9 f8 0000'), Buffer.from([0x0c | lengthSizeMinusOne, arrays.length])]
  for (const [type, nals] of arrays) {
    parts.push(Buffer.from([0x80 | type, nals.length >> 8, nals.length & 0xff]))
    for (const n of nals) parts.push(Buffer.from([n.length >> 8, n.length & 0xff]), n)
  }
  return Buffer.concat(parts)
}

t.test('parseHevcDecoderConfig', async (t) => {
  const vps = hex('40 01 0c 01 ff ff')
  const sps = buildHevcSps({ width: 640, height: 368, window: [0, 0, 0, 4] })
  const pps = hex('44 01 c1 72')
  const sei = hex('4e 01 05 ff')
  const record = hvcC([[32, [vps]], [33, [sps]], [34, [pps, pps]], [39, [sei]]])
  t.same(parseHevcDecoderConfig(record), {
    profileSpace: 0, tier: 0, profileIdc: 1, compatibilityFlags: 0x60000000, constraintFlags: hex('900000000000'), levelIdc: 0x5d,
    chromaFormatIdc: 1, bitDepthLuma: 9, bitDepthChroma: 8, lengthSize: 4, vps: [vps], sps: [sps], pps: [pps, pps],
  })
  t.equal(parseHevcDecoderConfig(hvcC([], 1)).lengthSize, 2)
  const bad: Array<[string, Buffer]> = [
    ['configurationVersion 0', hvcC([], 3, 0)],
    ['lengthSizeMinusOne 2', hvcC([], 2)],
    ['SPS array holds a PPS', hvcC([[33, [pps]]])],
    ['1-byte NAL unit', hvcC([[34, [hex('44')]]])],
  ]
  for (let n = 0; n < record.length; n++) bad.push([`truncated to ${n} bytes`, record.subarray(0, n)])
  for (const [name, rec] of bad) t.throws(() => parseHevcDecoderConfig(rec), MediaFormatError, name)
})

const x265 = await hasEncoder('libx265')
t.test('HEVC SPS of real libx265 streams agree with ffprobe', { skip: !x265 && 'this FFmpeg has no libx265' }, async (t) => {
  const dir = await tempDir(t)
  const cases: Array<{ name: string; size: [number, number]; pix: string; params?: string; profile: string; subLayers: boolean }> = [
    { name: '640x360 Main (coded 368)', size: [640, 360], pix: 'yuv420p', profile: 'Main', subLayers: false },
    { name: '426x240 Main 10', size: [426, 240], pix: 'yuv420p10le', profile: 'Main 10', subLayers: false },
    { name: '1920x1080 Main with temporal sub-layers', size: [1920, 1080], pix: 'yuv420p', params: 'temporal-layers=1', profile: 'Main', subLayers: true },
    { name: '322x241 4:2:2 10-bit (RExt)', size: [322, 241], pix: 'yuv422p10le', profile: 'Rext', subLayers: false },
  ]
  const limit = limiter(2)
  const jobs = cases.map((c, i) => limit(async () => {
    const path = join(dir, `${i}.mp4`)
    await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
      '-vf', `scale=${c.size.join(':')},format=${c.pix}`, '-frames:v', '1', '-c:v', 'libx265', '-preset', 'ultrafast',
      '-x265-params', `log-level=error${c.params ? `:${c.params}` : ''}`, path])
    return { file: await readFile(path), probe: await ffprobe(path) }
  }))
  for (const j of jobs) j.catch(() => {})
  for (const [i, c] of cases.entries()) {
    await t.test(c.name, async (t) => {
      const { file, probe } = await (jobs[i] as (typeof jobs)[number])
      const at = file.indexOf('hvcC')
      t.ok(at >= 4, 'the MP4 has an hvcC box')
      const config = parseHevcDecoderConfig(file.subarray(at + 4, at - 4 + file.readUInt32BE(at - 4)))
      t.equal(config.vps.length, 1)
      t.equal(config.pps.length, 1)
      const nal = config.sps[0] as Buffer
      t.equal(((nal[2] ?? 0) >> 1 & 7) > 0, c.subLayers, 'sps_max_sub_layers_minus1 > 0 as intended')
      const sps = parseHevcSps(nal)
      t.same([sps.width, sps.height], c.size, 'size after the conformance window')
      t.same([sps.width, sps.height], [probe.width, probe.height], 'ffprobe agrees on the size')
      t.equal(probe.profile, c.profile)
      t.equal(sps.levelIdc, probe.level, 'ffprobe agrees on the level')
      t.same([sps.profileIdc, sps.levelIdc, sps.chromaFormatIdc, sps.bitDepth],
        [config.profileIdc, config.levelIdc, config.chromaFormatIdc, config.bitDepthLuma], 'record and SPS agree')
    })
  }
})
