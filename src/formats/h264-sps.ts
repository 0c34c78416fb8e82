/**
 * H.264 parameter sets: the AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1)
 * and the fields of a sequence parameter set (ITU-T H.264 §7.3.2.1.1, VUI Annex E.1.1)
 * that describe a source: size after cropping, frame rate, profile, level, chroma.
 * Pure and defensive: every malformed input ends in MediaFormatError.
 */
import { MediaFormatError } from '../errors.js'
import { parseVideoTagHeader } from './flv.js'
import { avcCodec } from './mp4/codec-config.js'
import { BitReader, ByteReader } from './mp4/reader.js'

/**
 * NAL unit payload → RBSP: drop each emulation_prevention_three_byte (H.264 §7.3.1,
 * H.265 §7.3.1.1 alike). Trailing zero bytes are ignored: they are trailing_zero_8bits
 * of a byte stream that leaked into the unit, and carry nothing we read.
 */
export function nalToRbsp(nal: Buffer, what: string): Buffer {
  let end = nal.length
  while (end > 0 && nal[end - 1] === 0) end--
  const out = Buffer.allocUnsafe(end)
  let n = 0
  let zeros = 0
  for (let i = 0; i < end; i++) {
    const b = nal[i] as number
    if (zeros >= 2 && b <= 3) {
      // §7.4.1: "0x000000, 0x000001, 0x000002 shall not occur at any byte-aligned
      // position" — such bytes are a start code, so the unit was split wrongly.
      if (b < 3) throw new MediaFormatError(`${what}: start code 0x0000${hex2(b)} inside the NAL unit at byte ${i - 2}`)
      // §7.4.1: after 0x000003 only 0x00..0x03 may follow.
      const next = nal[i + 1]
      if (next !== undefined && next > 3) throw new MediaFormatError(`${what}: 0x000003 followed by 0x${hex2(next)} at byte ${i - 2}`)
      zeros = 0
      continue
    }
    zeros = b === 0 ? zeros + 1 : 0
    out[n++] = b
  }
  return out.subarray(0, n)
}

/** Reads RBSP syntax elements: u(n) and the exp-Golomb codes ue(v)/se(v) of H.264 §9.1. */
export class RbspReader {
  private readonly r: BitReader

  constructor(rbsp: Buffer, readonly what: string) {
    this.r = new BitReader(rbsp, what)
  }

  /** u(n), n ≤ 32. */
  u(n: number): number {
    return this.r.bits(n)
  }

  /** u(1) as a boolean. */
  flag(): boolean {
    return this.r.bits(1) === 1
  }

  /** ue(v): §9.1 codeNum = 2^leadingZeroBits − 1 + read_bits(leadingZeroBits). */
  ue(): number {
    let zeros = 0
    while (this.r.bits(1) === 0) {
      // Values are at most 2^32 − 2 (§7.4), i.e. 31 leading zeros.
      if (++zeros > 31) throw new MediaFormatError(`${this.what}: exp-Golomb code longer than 63 bits`)
    }
    return zeros === 0 ? 0 : 2 ** zeros - 1 + this.r.bits(zeros)
  }

  /** ue(v) that the spec limits to 0..max; `field` names it in the error. */
  ueMax(max: number, field: string): number {
    const v = this.ue()
    if (v > max) throw new MediaFormatError(`${this.what}: ${field} ${v} out of range 0..${max}`)
    return v
  }

  /** se(v): §9.1.1 Table 9-3 maps codeNum k to (−1)^(k+1) · Ceil(k ÷ 2). */
  se(): number {
    const k = this.ue()
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2)
  }
}

/** An AVCDecoderConfigurationRecord (14496-15 §5.3.3.1.2). */
export interface AvcDecoderConfig {
  /** AVCProfileIndication (profile_idc of the SPS). */
  profile: number
  /** profile_compatibility (the constraint flags byte of the SPS). */
  compatibility: number
  /** AVCLevelIndication. */
  level: number
  /** Bytes of each NAL unit length prefix in samples: 1, 2 or 4. */
  lengthSize: number
  /** Sequence parameter set NAL units, copied out of the record. */
  sps: Buffer[]
  /** Picture parameter set NAL units, copied out of the record. */
  pps: Buffer[]
}

/** Parse an AVCDecoderConfigurationRecord (the avcC body, or an FLV AVC sequence header payload). */
export function parseAvcDecoderConfig(record: Buffer): AvcDecoderConfig {
  const r = new ByteReader(record, 'AVCDecoderConfigurationRecord')
  const version = r.u8()
  if (version !== 1) throw new MediaFormatError(`AVCDecoderConfigurationRecord: configurationVersion ${version}, expected 1`)
  const profile = r.u8()
  const compatibility = r.u8()
  const level = r.u8()
  // §5.3.3.1.2: "The value of this field shall be one of 0, 1, or 3" (3-byte lengths are not allowed).
  const lengthSize = (r.u8() & 0x03) + 1
  if (lengthSize === 3) throw new MediaFormatError('AVCDecoderConfigurationRecord: lengthSizeMinusOne 2 is not allowed')
  const sps = readNalArray(r, r.u8() & 0x1f, 7, 'sequenceParameterSet')
  const pps = readNalArray(r, r.u8(), 8, 'pictureParameterSet')
  // Any high-profile extension (chroma_format, bit depths, SPS ext) repeats what the SPS says; not read.
  return { profile, compatibility, level, lengthSize, sps, pps }
}

function readNalArray(r: ByteReader, count: number, nalType: number, what: string): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const nal = r.bytes(r.u16())
    const type = (nal[0] ?? 0) & 0x1f
    if (type !== nalType) throw new MediaFormatError(`AVCDecoderConfigurationRecord: ${what} ${i} has nal_unit_type ${type}, expected ${nalType}`)
    out.push(Buffer.from(nal))
  }
  return out
}

/** What a sequence parameter set says about the pictures it governs. */
export interface H264Sps {
  profileIdc: number
  /** constraint_set0..5_flag and reserved_zero_2bits, as the byte RFC 6381 calls CC. */
  constraintFlags: number
  levelIdc: number
  /** Luma samples per row after frame cropping. */
  width: number
  /** Luma rows of a whole frame (both fields) after frame cropping. */
  height: number
  /** Frames per second from VUI timing_info, when present. */
  frameRate?: number
  /** 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4. */
  chromaFormatIdc: number
  /** Luma bit depth. */
  bitDepth: number
  /** Sample aspect ratio from VUI aspect_ratio_info, when signalled and not "Unspecified". */
  sampleAspectRatio?: { width: number; height: number }
}

/** §7.3.2.1.1: profiles whose SPS carries chroma_format_idc, bit depths and scaling matrices. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135])

/** A.3.1 f bounds PicWidthInMbs by Sqrt(MaxFS · 8) = 1055 at level 6.2; far beyond is corruption. */
const MAX_MBS = 2048

/** Parse an SPS NAL unit (header byte included, emulation prevention still in place). */
export function parseH264Sps(nal: Buffer): H264Sps {
  const what = 'H.264 SPS'
  const header = nal[0]
  if (header === undefined) throw new MediaFormatError(`${what}: empty NAL unit`)
  if (header & 0x80) throw new MediaFormatError(`${what}: forbidden_zero_bit set`)
  if ((header & 0x1f) !== 7) throw new MediaFormatError(`${what}: nal_unit_type ${header & 0x1f}, expected 7`)
  const r = new RbspReader(nalToRbsp(nal.subarray(1), what), what)
  const profileIdc = r.u(8)
  const constraintFlags = r.u(8)
  const levelIdc = r.u(8)
  r.ueMax(31, 'seq_parameter_set_id')
  // Inferred when absent (§7.4.2.1.1): chroma_format_idc 1, bit depths 8.
  let chromaFormatIdc = 1
  let separateColourPlane = false
  let bitDepth = 8
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ueMax(3, 'chroma_format_idc')
    if (chromaFormatIdc === 3) separateColourPlane = r.flag()
    bitDepth = 8 + r.ueMax(6, 'bit_depth_luma_minus8')
    r.ueMax(6, 'bit_depth_chroma_minus8')
    r.flag() // qpprime_y_zero_transform_bypass_flag
    if (r.flag()) { // seq_scaling_matrix_present_flag
      const lists = chromaFormatIdc !== 3 ? 8 : 12
      for (let i = 0; i < lists; i++) if (r.flag()) skipScalingList(r, i < 6 ? 16 : 64)
    }
  }
  r.ueMax(12, 'log2_max_frame_num_minus4')
  const pocType = r.ueMax(2, 'pic_order_cnt_type')
  if (pocType === 0) {
    r.ueMax(12, 'log2_max_pic_order_cnt_lsb_minus4')
  } else if (pocType === 1) {
    r.flag() // delta_pic_order_always_zero_flag
    r.se() // offset_for_non_ref_pic
    r.se() // offset_for_top_to_bottom_field
    const cycle = r.ueMax(255, 'num_ref_frames_in_pic_order_cnt_cycle')
    for (let i = 0; i < cycle; i++) r.se() // offset_for_ref_frame[i]
  }
  r.ue() // max_num_ref_frames
  r.flag() // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ueMax(MAX_MBS - 1, 'pic_width_in_mbs_minus1') + 1
  const heightMapUnits = r.ueMax(MAX_MBS - 1, 'pic_height_in_map_units_minus1') + 1
  const frameMbsOnly = r.flag()
  if (!frameMbsOnly) r.flag() // mb_adaptive_frame_field_flag
  r.flag() // direct_8x8_inference_flag
  // (7-8), (7-18): a map unit is a field macroblock pair row when frame_mbs_only_flag is 0.
  let width = widthMbs * 16
  let height = (frameMbsOnly ? 1 : 2) * heightMapUnits * 16
  if (r.flag()) { // frame_cropping_flag
    const [left, right, top, bottom] = [r.ue(), r.ue(), r.ue(), r.ue()]
    // (7-19)..(7-22): ChromaArrayType 0 crops in luma samples, else in chroma
    // samples (SubWidthC, SubHeightC of Table 6-1); rows count double for fields.
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc
    const cropUnitX = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1
    const cropUnitY = (chromaArrayType === 1 ? 2 : 1) * (frameMbsOnly ? 1 : 2)
    const cropX = cropUnitX * (left + right)
    const cropY = cropUnitY * (top + bottom)
    // §7.4.2.1.1: the crop "shall be less than" the coded size.
    if (cropX >= width || cropY >= height) {
      throw new MediaFormatError(`${what}: frame cropping ${cropX}x${cropY} leaves no picture of ${width}x${height}`)
    }
    width -= cropX
    height -= cropY
  }
  const sps: H264Sps = { profileIdc, constraintFlags, levelIdc, width, height, chromaFormatIdc, bitDepth }
  if (r.flag()) readVui(r, sps) // vui_parameters_present_flag
  return sps
}

/** §7.3.2.1.1.1 scaling_list(): read delta_scale until nextScale hits 0 (the rest repeats). */
function skipScalingList(r: RbspReader, size: number): void {
  let lastScale = 8
  for (let j = 0; j < size; j++) {
    const delta = r.se()
    if (delta < -128 || delta > 127) throw new MediaFormatError(`${r.what}: delta_scale ${delta} out of range -128..127`)
    const nextScale = (lastScale + delta + 256) % 256
    if (nextScale === 0) return
    lastScale = nextScale
  }
}

/** Table E-1 aspect_ratio_idc 1..16 → sample aspect ratio. */
const SAR_TABLE: ReadonlyArray<readonly [number, number]> = [
  [1, 1], [12, 11], [10, 11], [16, 11], [40, 33], [24, 11], [20, 11], [32, 11],
  [80, 33], [18, 11], [15, 11], [64, 33], [160, 99], [4, 3], [3, 2], [2, 1],
]

/** Table E-1: aspect_ratio_idc 255 is Extended_SAR, followed by sar_width and sar_height. */
const EXTENDED_SAR = 255

/** E.1.1 vui_parameters() up to timing_info; HRD and bitstream restriction are not needed. */
function readVui(r: RbspReader, sps: H264Sps): void {
  if (r.flag()) { // aspect_ratio_info_present_flag
    const idc = r.u(8)
    const sar = idc === EXTENDED_SAR ? [r.u(16), r.u(16)] as const : SAR_TABLE[idc - 1]
    // E.2.1: sar_width and sar_height "shall be relatively prime or equal to 0" — 0 means unspecified.
    if (sar && sar[0] > 0 && sar[1] > 0) sps.sampleAspectRatio = { width: sar[0], height: sar[1] }
  }
  if (r.flag()) r.flag() // overscan_info_present_flag → overscan_appropriate_flag
  if (r.flag()) { // video_signal_type_present_flag
    r.u(3) // video_format
    r.flag() // video_full_range_flag
    if (r.flag()) r.u(24) // colour_description_present_flag → primaries, transfer, matrix
  }
  if (r.flag()) { // chroma_loc_info_present_flag
    r.ueMax(5, 'chroma_sample_loc_type_top_field')
    r.ueMax(5, 'chroma_sample_loc_type_bottom_field')
  }
  if (r.flag()) { // timing_info_present_flag
    const numUnitsInTick = r.u(32)
    const timeScale = r.u(32)
    r.flag() // fixed_frame_rate_flag: a fixed rate or a maximum, the tick is the same
    // E.2.1 (E-9): a frame lasts two ticks ("DeltaTfiDivisor" 2 for a progressive
    // frame), so frames per second = time_scale ÷ (2 · num_units_in_tick). Both
    // "shall be greater than 0"; a zero means no usable timing, not a broken SPS.
    if (numUnitsInTick > 0 && timeScale > 0) sps.frameRate = timeScale / (2 * numUnitsInTick)
  }
}

/** What the player-facing side needs to know about an ingested AVC source. */
export interface SourceVideoInfo {
  width: number
  height: number
  frameRate?: number
  /** RFC 6381 `avc1.PPCCLL`. */
  codec: string
}

/** Size, frame rate and codec string from an FLV AVC sequence header tag body (legacy or Enhanced RTMP avc1). */
export function sourceVideoInfo(avcSequenceHeaderBody: Buffer): SourceVideoInfo {
  const h = parseVideoTagHeader(avcSequenceHeaderBody)
  if (h.codecId !== 7 || h.avcPacketType !== 'seq') {
    throw new MediaFormatError(`flv: not an AVC sequence header (codec ${h.codecId}, packet ${h.avcPacketType ?? 'none'})`)
  }
  const record = avcSequenceHeaderBody.subarray(h.headerSize)
  const first = parseAvcDecoderConfig(record).sps[0]
  if (!first) throw new MediaFormatError('AVCDecoderConfigurationRecord: no sequence parameter set')
  const sps = parseH264Sps(first)
  const info: SourceVideoInfo = { width: sps.width, height: sps.height, codec: avcCodec('avc1', record) }
  if (sps.frameRate !== undefined) info.frameRate = sps.frameRate
  return info
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0')
}
