/**
 * H.265 parameter sets, as far as a source description needs them: the
 * HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1) and, from a sequence
 * parameter set (ITU-T H.265 §7.3.2.2.1), the picture size after the conformance
 * window, chroma format and bit depth, and the frame rate of the VUI timing info
 * (hevc-vui.ts walks the rest of the SPS to reach it).
 */
import { MediaFormatError } from '../errors.js'
import { nalToRbsp, RbspReader } from './h264-sps.js'
import { ByteReader } from './mp4/reader.js'
import { readHevcSpsTail } from './hevc-vui.js'

/** H.265 Table 7-1 nal_unit_type values of the parameter sets. */
const VPS_NUT = 32
const SPS_NUT = 33
const PPS_NUT = 34

/** An HEVCDecoderConfigurationRecord (14496-15 §8.3.3.1.2). */
export interface HevcDecoderConfig {
  /** general_profile_space (0 in every published profile). */
  profileSpace: number
  /** general_tier_flag: 0 Main tier, 1 High tier. */
  tier: number
  profileIdc: number
  /** general_profile_compatibility_flags, flag j at bit 31 − j. */
  compatibilityFlags: number
  /** general_constraint_indicator_flags, 6 bytes. */
  constraintFlags: Buffer
  levelIdc: number
  /** 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4. */
  chromaFormatIdc: number
  bitDepthLuma: number
  bitDepthChroma: number
  /** Bytes of each NAL unit length prefix in samples: 1, 2 or 4. */
  lengthSize: number
  /** Parameter set NAL units by type, copied out of the record; SEI arrays are skipped. */
  vps: Buffer[]
  sps: Buffer[]
  pps: Buffer[]
}

/** Parse an HEVCDecoderConfigurationRecord (the hvcC body, or an Enhanced RTMP hvc1 sequence start payload). */
export function parseHevcDecoderConfig(record: Buffer): HevcDecoderConfig {
  const what = 'HEVCDecoderConfigurationRecord'
  const r = new ByteReader(record, what)
  const version = r.u8()
  if (version !== 1) throw new MediaFormatError(`${what}: configurationVersion ${version}, expected 1`)
  const b = r.u8()
  const compatibilityFlags = r.u32()
  const constraintFlags = Buffer.from(r.bytes(6))
  const levelIdc = r.u8()
  r.skip(3) // reserved(4) min_spatial_segmentation_idc(12), reserved(6) parallelismType(2)
  const chromaFormatIdc = r.u8() & 0x03
  const bitDepthLuma = (r.u8() & 0x07) + 8
  const bitDepthChroma = (r.u8() & 0x07) + 8
  r.skip(2) // avgFrameRate in frames/256 s, where "0 indicates an unspecified average frame rate"
  const lengthSize = (r.u8() & 0x03) + 1
  if (lengthSize === 3) throw new MediaFormatError(`${what}: lengthSizeMinusOne 2 is not allowed`)
  const config: HevcDecoderConfig = {
    profileSpace: b >> 6, tier: (b >> 5) & 1, profileIdc: b & 0x1f, compatibilityFlags, constraintFlags, levelIdc,
    chromaFormatIdc, bitDepthLuma, bitDepthChroma, lengthSize, vps: [], sps: [], pps: [],
  }
  const arrays = r.u8()
  for (let j = 0; j < arrays; j++) {
    const type = r.u8() & 0x3f // array_completeness(1) reserved(1) NAL_unit_type(6)
    const count = r.u16()
    for (let i = 0; i < count; i++) {
      const nal = r.bytes(r.u16())
      const actual = ((nal[0] ?? 0) >> 1) & 0x3f
      if (nal.length < 2 || actual !== type) {
        throw new MediaFormatError(`${what}: array of nal_unit_type ${type} holds a ${nal.length}-byte unit of type ${actual}`)
      }
      const list = type === VPS_NUT ? config.vps : type === SPS_NUT ? config.sps : type === PPS_NUT ? config.pps : undefined
      list?.push(Buffer.from(nal))
    }
  }
  return config
}

/** What an HEVC sequence parameter set says about picture size and format. */
export interface HevcSps {
  profileSpace: number
  tier: number
  profileIdc: number
  levelIdc: number
  /** Luma samples per row after the conformance window. */
  width: number
  /** Luma rows after the conformance window. */
  height: number
  chromaFormatIdc: number
  /** Luma bit depth. */
  bitDepth: number
  /** Pictures per second from the VUI timing info (Annex E.2.1), when present and readable. */
  frameRate?: number
}

/** A.4.1: a side is at most Sqrt(MaxLumaPs · 8), 16888 at level 6.2 (Table A.8); more is corruption. */
const MAX_SIDE = 16888

/** Parse an HEVC SPS NAL unit (2-byte header included, emulation prevention still in place). */
export function parseHevcSps(nal: Buffer): HevcSps {
  const what = 'H.265 SPS'
  if (nal.length < 2) throw new MediaFormatError(`${what}: NAL unit of ${nal.length} bytes`)
  const h0 = nal[0] as number
  if (h0 & 0x80) throw new MediaFormatError(`${what}: forbidden_zero_bit set`)
  if (((h0 >> 1) & 0x3f) !== SPS_NUT) throw new MediaFormatError(`${what}: nal_unit_type ${(h0 >> 1) & 0x3f}, expected ${SPS_NUT}`)
  const r = new RbspReader(nalToRbsp(nal.subarray(2), what), what)
  r.u(4) // sps_video_parameter_set_id
  const maxSubLayersMinus1 = r.u(3)
  // §7.4.3.2.1: sps_max_sub_layers_minus1 "shall be in the range of 0 to 6".
  if (maxSubLayersMinus1 > 6) throw new MediaFormatError(`${what}: sps_max_sub_layers_minus1 ${maxSubLayersMinus1} out of range 0..6`)
  r.flag() // sps_temporal_id_nesting_flag
  // §7.3.3 profile_tier_level(1, sps_max_sub_layers_minus1), general part: 96 bits.
  const profileSpace = r.u(2)
  const tier = r.u(1)
  const profileIdc = r.u(5)
  r.u(32) // general_profile_compatibility_flag[32]
  r.u(32); r.u(16) // progressive/interlaced/non-packed/frame-only flags + 43 reserved/constraint bits + inbld
  const levelIdc = r.u(8)
  skipSubLayers(r, maxSubLayersMinus1)
  r.ueMax(15, 'sps_seq_parameter_set_id')
  const chromaFormatIdc = r.ueMax(3, 'chroma_format_idc')
  const separateColourPlane = chromaFormatIdc === 3 && r.flag()
  let width = r.ueMax(MAX_SIDE, 'pic_width_in_luma_samples')
  let height = r.ueMax(MAX_SIDE, 'pic_height_in_luma_samples')
  // §7.4.3.2.1: "pic_width_in_luma_samples shall not be equal to 0".
  if (width === 0 || height === 0) throw new MediaFormatError(`${what}: picture size ${width}x${height}`)
  if (r.flag()) { // conformance_window_flag
    const [left, right, top, bottom] = [r.ue(), r.ue(), r.ue(), r.ue()]
    // §7.4.3.2.1: offsets count SubWidthC / SubHeightC luma samples (Table 6-1;
    // both 1 for monochrome, 4:4:4 and separate colour planes).
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc
    const subWidth = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1
    const subHeight = chromaArrayType === 1 ? 2 : 1
    const cropX = subWidth * (left + right)
    const cropY = subHeight * (top + bottom)
    // §7.4.3.2.1: SubWidthC · (left + right) "shall be less than pic_width_in_luma_samples".
    if (cropX >= width || cropY >= height) {
      throw new MediaFormatError(`${what}: conformance window ${cropX}x${cropY} leaves no picture of ${width}x${height}`)
    }
    width -= cropX
    height -= cropY
  }
  const bitDepth = 8 + r.ueMax(8, 'bit_depth_luma_minus8')
  const sps: HevcSps = { profileSpace, tier, profileIdc, levelIdc, width, height, chromaFormatIdc, bitDepth }
  // The rest only leads to the frame rate, which the caller can measure instead: a tail
  // this reader gets wrong (or an SPS extension it does not know) must not refuse a
  // stream whose picture is described above.
  try {
    const frameRate = readHevcSpsTail(r, maxSubLayersMinus1)
    if (frameRate !== undefined) sps.frameRate = frameRate
  } catch (err) {
    if (!(err instanceof MediaFormatError)) throw err
  }
  return sps
}

/** §7.3.3: the sub-layer presence flags, the 2-bit alignment, then each present sub-layer's profile and level. */
function skipSubLayers(r: RbspReader, maxSubLayersMinus1: number): void {
  const profilePresent: boolean[] = []
  const levelPresent: boolean[] = []
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    profilePresent.push(r.flag())
    levelPresent.push(r.flag())
  }
  if (maxSubLayersMinus1 > 0) for (let i = maxSubLayersMinus1; i < 8; i++) r.u(2) // reserved_zero_2bits
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (profilePresent[i]) { r.u(32); r.u(32); r.u(24) } // 2+1+5+32+48 = 88 bits
    if (levelPresent[i]) r.u(8) // sub_layer_level_idc
  }
}
