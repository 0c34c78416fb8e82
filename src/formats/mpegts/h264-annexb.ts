/**
 * H.264 Annex B byte streams (ITU-T H.264 Annex B) → the length-prefixed form
 * FLV and MP4 carry (ISO/IEC 14496-15 §5.3), and the AVCDecoderConfigurationRecord
 * built from SPS and PPS (§5.3.3.1). Pure.
 */
import { MediaFormatError } from '../../errors.js'

/** Split an Annex B buffer into NAL units (start codes removed, trailing zeros kept out). */
export function splitAnnexB(b: Buffer): Buffer[] {
  const out: Buffer[] = []
  let start = -1
  let i = 0
  while (i + 2 < b.length) {
    if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 1) {
      if (start >= 0) out.push(trimZeros(b.subarray(start, i)))
      i += 3
      start = i
    } else {
      i++
    }
  }
  if (start >= 0 && start < b.length) out.push(trimZeros(b.subarray(start)))
  return out.filter((n) => n.length > 0)
}

function trimZeros(nal: Buffer): Buffer {
  let end = nal.length
  // The zero_byte of a 4-byte start code (and trailing_zero_8bits) belong to no NAL unit.
  while (end > 0 && nal[end - 1] === 0) end--
  return nal.subarray(0, end)
}

/** nal_unit_type of an H.264 NAL unit. */
export function h264NalType(nal: Buffer): number {
  return (nal[0] ?? 0) & 0x1f
}

/** An AVCDecoderConfigurationRecord with 4-byte NAL lengths, one SPS and one PPS. */
export function avcDecoderConfig(sps: Buffer, pps: Buffer): Buffer {
  if (sps.length < 4) throw new MediaFormatError('h264: SPS too short for a decoder configuration')
  const head = Buffer.from([1, sps[1]!, sps[2]!, sps[3]!, 0xff, 0xe1])
  const spsLen = Buffer.alloc(2)
  spsLen.writeUInt16BE(sps.length)
  const ppsLen = Buffer.alloc(3)
  ppsLen[0] = 1
  ppsLen.writeUInt16BE(pps.length, 1)
  return Buffer.concat([head, spsLen, sps, ppsLen, pps])
}

/** NAL units with 4-byte big-endian length prefixes. */
export function lengthPrefixed(nals: Buffer[]): Buffer {
  const out = Buffer.alloc(nals.reduce((a, n) => a + 4 + n.length, 0))
  let at = 0
  for (const n of nals) {
    out.writeUInt32BE(n.length, at)
    n.copy(out, at + 4)
    at += 4 + n.length
  }
  return out
}
