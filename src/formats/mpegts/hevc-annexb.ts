/**
 * H.265 in MPEG-TS (Annex B byte stream) → what FLV and MP4 carry: the
 * HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1) built from the
 * VPS, SPS and PPS found in-band. Pure. The SPS is parsed in full first, so a
 * broken one is refused here rather than by a worker later.
 */
import { MediaFormatError } from '../../errors.js'
import { nalToRbsp } from '../h264-sps.js'
import { parseHevcSps, type HevcSps } from '../hevc-sps.js'

/** nal_unit_type of an H.265 NAL unit (H.265 Table 7-1). */
export function hevcNalType(nal: Buffer): number {
  return ((nal[0] ?? 0) >> 1) & 0x3f
}

/** True for the IRAP types (BLA, IDR, CRA: 16..23), where decoding can start. */
export function isHevcIrap(type: number): boolean {
  return type >= 16 && type <= 23
}

/** H.265 Table 7-1: parameter sets and access unit delimiters. */
export const HEVC_NUT = { VPS: 32, SPS: 33, PPS: 34, AUD: 35 } as const

/** An hvcC record with 4-byte NAL lengths and one VPS, SPS and PPS; also returns the parsed SPS. */
export function hevcDecoderConfig(vps: Buffer, sps: Buffer, pps: Buffer): { record: Buffer; sps: HevcSps } {
  const info = parseHevcSps(sps) // throws MediaFormatError on a broken SPS
  const rbsp = nalToRbsp(sps.subarray(2), 'H.265 SPS')
  // §7.3.2.2.1: one byte (vps id, max_sub_layers_minus1, temporal_id_nesting), then the
  // 12-byte general profile_tier_level, which hvcC copies verbatim (14496-15 §8.3.3.1.2).
  if (rbsp.length < 13) throw new MediaFormatError('H.265 SPS: too short for profile_tier_level')
  const maxSubLayers = ((rbsp[0]! >> 1) & 0x07) + 1
  const nested = rbsp[0]! & 0x01
  const head = Buffer.alloc(23)
  rbsp.copy(head, 1, 1, 13) // profile_space/tier/idc, compatibility flags, constraint flags, level
  head[0] = 1 // configurationVersion
  head.writeUInt16BE(0xf000, 13) // min_spatial_segmentation_idc 0
  head[15] = 0xfc // parallelismType 0 (unknown)
  head[16] = 0xfc | info.chromaFormatIdc
  head[17] = 0xf8 | (info.bitDepth - 8)
  head[18] = 0xf8 | (info.bitDepth - 8) // chroma depth: not parsed, the luma depth in every common profile
  head.writeUInt16BE(0, 19) // avgFrameRate unspecified
  head[21] = (maxSubLayers << 3) | (nested << 2) | 3 // constantFrameRate 0, lengthSizeMinusOne 3
  head[22] = 3 // numOfArrays
  const array = (type: number, nal: Buffer): Buffer => {
    const b = Buffer.alloc(5)
    b[0] = 0x80 | type // array_completeness 1: every set of this type is in the record
    b.writeUInt16BE(1, 1)
    b.writeUInt16BE(nal.length, 3)
    return Buffer.concat([b, nal])
  }
  const record = Buffer.concat([head, array(HEVC_NUT.VPS, vps), array(HEVC_NUT.SPS, sps), array(HEVC_NUT.PPS, pps)])
  return { record, sps: info }
}
