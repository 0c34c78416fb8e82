/**
 * FLV-shaped tag bodies back to the elementary streams MPEG-TS carries:
 * length-prefixed AVC/HEVC NAL units → Annex B access units (an access unit
 * delimiter first, the parameter sets before every key frame, as H.222.0
 * §2.14 / FFmpeg's parsers expect in-band), raw AAC → ADTS frames. Pure.
 */
import { MediaFormatError } from '../../errors.js'
import { parseVideoTagHeader, type VideoTagHeader } from '../flv.js'
import { parseAvcDecoderConfig } from '../h264-sps.js'
import { parseHevcDecoderConfig } from '../hevc-sps.js'

/** Video codec of a sequence header, with what an Annex B writer needs from it. */
export interface VideoStreamConfig {
  codec: 'h264' | 'hevc'
  /** MPEG-TS stream_type: 0x1B H.264, 0x24 HEVC. */
  streamType: 0x1b | 0x24
  /** Parameter sets (VPS, SPS, PPS / SPS, PPS), without start codes. */
  paramSets: Buffer[]
  lengthSize: number
}

const START = Buffer.from([0, 0, 0, 1])
// H.264 §7.3.2.4 AUD (type 9, primary_pic_type 7 "any"); H.265 §7.3.2.5 AUD (type 35, pic_type 2 "any").
const AUD_H264 = Buffer.from([0, 0, 0, 1, 0x09, 0xf0])
const AUD_HEVC = Buffer.from([0, 0, 0, 1, 0x46, 0x01, 0x50])

/** Read a video sequence header tag body (AVC or HEVC, legacy or Enhanced RTMP layout). */
export function videoStreamConfig(seqBody: Buffer): VideoStreamConfig {
  const h = parseVideoTagHeader(seqBody)
  if (h.avcPacketType !== 'seq') throw new MediaFormatError('flv: not a video sequence header')
  const record = seqBody.subarray(h.headerSize)
  if (h.codecId === 12) {
    const c = parseHevcDecoderConfig(record)
    return { codec: 'hevc', streamType: 0x24, paramSets: [...c.vps, ...c.sps, ...c.pps], lengthSize: c.lengthSize }
  }
  if (h.codecId === 7) {
    const c = parseAvcDecoderConfig(record)
    return { codec: 'h264', streamType: 0x1b, paramSets: [...c.sps, ...c.pps], lengthSize: c.lengthSize }
  }
  throw new MediaFormatError(`flv: video codec ${h.fourCc ?? h.codecId} cannot be written to MPEG-TS`)
}

/** One coded video frame as an Annex B access unit, with its composition offset. */
export function annexBFrame(body: Buffer, config: VideoStreamConfig, header: VideoTagHeader = parseVideoTagHeader(body)): { au: Buffer; ctsMs: number; keyframe: boolean } | undefined {
  if (header.avcPacketType !== 'nalu') return undefined
  const parts: Buffer[] = [config.codec === 'hevc' ? AUD_HEVC : AUD_H264]
  if (header.keyframe) for (const p of config.paramSets) parts.push(START, p)
  const n = config.lengthSize
  for (let at = header.headerSize; at + n <= body.length;) {
    const len = body.readUIntBE(at, n)
    at += n
    if (len === 0) continue
    if (at + len > body.length) throw new MediaFormatError(`flv: NAL unit of ${len} bytes overruns its tag`)
    parts.push(START, body.subarray(at, at + len))
    at += len
  }
  return { au: Buffer.concat(parts), ctsMs: header.compositionTimeMs, keyframe: header.keyframe }
}

/** The fields of an AudioSpecificConfig that an ADTS header repeats (14496-3 §1.6.2.1). */
export interface AdtsParams { objectType: number; rateIndex: number; channelConfig: number }

/** Read the ADTS parameters from an AudioSpecificConfig. */
export function adtsParams(asc: Buffer): AdtsParams {
  if (asc.length < 2) throw new MediaFormatError('aac: AudioSpecificConfig shorter than 2 bytes')
  const objectType = asc[0]! >> 3
  const rateIndex = ((asc[0]! & 0x07) << 1) | (asc[1]! >> 7)
  const channelConfig = (asc[1]! >> 3) & 0x0f
  if (rateIndex > 12) throw new MediaFormatError(`aac: sampling_frequency_index ${rateIndex} has no ADTS form`)
  // ADTS profile is 2 bits (object types 1..4); HE-AAC (5, 29) signals its AAC-LC core implicitly.
  return { objectType: objectType >= 1 && objectType <= 4 ? objectType : 2, rateIndex, channelConfig }
}

/** One raw AAC frame in an ADTS header (13818-7 §6.2.1, protection_absent 1). */
export function adtsFrame(p: AdtsParams, raw: Buffer): Buffer {
  const len = raw.length + 7
  if (len > 0x1fff) throw new MediaFormatError(`aac: frame of ${raw.length} bytes is too long for ADTS`)
  const h = Buffer.from([
    0xff, 0xf1,
    ((p.objectType - 1) << 6) | (p.rateIndex << 2) | (p.channelConfig >> 2),
    ((p.channelConfig & 3) << 6) | (len >> 11),
    (len >> 3) & 0xff,
    ((len & 7) << 5) | 0x1f,
    0xfc,
  ])
  return Buffer.concat([h, raw])
}
