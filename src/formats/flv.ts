/**
 * FLV container helpers (Adobe FLV spec v10.1, Annex E; Enhanced RTMP v1 for the
 * FourCC video header). Pure: RTMP audio/video/data message bodies are exactly
 * FLV tag bodies, so ingest wraps them here into a byte stream FFmpeg reads.
 */
import { MediaFormatError } from '../errors.js'

/** Kind of an FLV tag (mirrors the ingest TagKind without importing upward). */
export type FlvTagKind = 'audio' | 'video' | 'data'

/** FLV TagType values (spec E.4.1). */
export const FLV_TAG_TYPE: Readonly<Record<FlvTagKind, number>> = { audio: 8, video: 9, data: 18 }

/** Bytes of an FLV tag header before the body. */
export const FLV_TAG_HEADER_SIZE = 11

/** Largest body a tag can describe: DataSize is a UI24. */
export const FLV_MAX_TAG_BODY = 0xffffff

/** The 9-byte FLV header followed by PreviousTagSize0 (always 0), 13 bytes. */
export function flvHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  const b = Buffer.alloc(13)
  b.write('FLV', 0, 'latin1')
  b[3] = 1
  // E.2: TypeFlagsAudio is bit 2, TypeFlagsVideo bit 0.
  b[4] = (hasAudio ? 0x04 : 0) | (hasVideo ? 0x01 : 0)
  b.writeUInt32BE(9, 5)
  return b
}

/** One FLV tag (11-byte header, body) followed by its PreviousTagSize. */
export function flvTag(kind: FlvTagKind, timestampMs: number, body: Buffer): Buffer {
  if (body.length > FLV_MAX_TAG_BODY) throw new MediaFormatError(`flv: tag body of ${body.length} bytes exceeds UI24`)
  const out = Buffer.alloc(FLV_TAG_HEADER_SIZE + body.length + 4)
  out[0] = FLV_TAG_TYPE[kind]
  out.writeUIntBE(body.length, 1, 3)
  // E.4.1: Timestamp holds the lower 24 bits, TimestampExtended the upper 8.
  const ts = Math.floor(timestampMs) >>> 0
  out.writeUIntBE(ts & 0xffffff, 4, 3)
  out[7] = ts >>> 24
  // StreamID (bytes 8..10) is always 0.
  body.copy(out, FLV_TAG_HEADER_SIZE)
  out.writeUInt32BE(FLV_TAG_HEADER_SIZE + body.length, FLV_TAG_HEADER_SIZE + body.length)
  return out
}

/** AVC/HEVC packet role: decoder configuration, coded frames, or end of sequence. */
export type VideoPacketType = 'seq' | 'nalu' | 'eos'

/** Decoded VIDEODATA header of a tag body. */
export interface VideoTagHeader {
  /** 1 keyframe, 2 inter frame, 3 disposable, 4 generated keyframe, 5 info/command. */
  frameType: number
  keyframe: boolean
  /** Legacy CodecID (7 AVC, 12 HEVC); for an Enhanced RTMP header 7/12 mapped from the FourCC, else 0. */
  codecId: number
  /** FourCC of an Enhanced RTMP header (`hvc1`, `avc1`, `av01`...). */
  fourCc?: string
  /** Set for AVC/HEVC; undefined for other codecs and Enhanced RTMP metadata packets. */
  avcPacketType?: VideoPacketType
  /** Composition time offset (pts - dts) in ms; 0 when the header has none. */
  compositionTimeMs: number
  /** Offset of the codec payload inside the body. */
  headerSize: number
}

const FOURCC_CODEC_ID: Readonly<Record<string, number>> = { avc1: 7, hvc1: 12 }

function si24(b: Buffer, at: number): number {
  const v = b.readUIntBE(at, 3)
  return v & 0x800000 ? v - 0x1000000 : v
}

function need(body: Buffer, n: number, what: string): void {
  if (body.length < n) throw new MediaFormatError(`flv: ${what} needs ${n} bytes, body has ${body.length}`)
}

function parseExVideoHeader(body: Buffer, b0: number): VideoTagHeader {
  // Enhanced RTMP: IsExHeader(1) FrameType(3) PacketType(4), then a FourCC.
  need(body, 5, 'enhanced video header')
  const frameType = (b0 >> 4) & 0x07
  const packetType = b0 & 0x0f
  const fourCc = body.toString('latin1', 1, 5)
  const h: VideoTagHeader = {
    frameType,
    keyframe: frameType === 1,
    codecId: FOURCC_CODEC_ID[fourCc] ?? 0,
    fourCc,
    compositionTimeMs: 0,
    headerSize: 5,
  }
  switch (packetType) {
    case 0: h.avcPacketType = 'seq'; break
    case 1:
      h.avcPacketType = 'nalu'
      // Only AVC and HEVC CodedFrames carry a composition time (SI24).
      if (fourCc === 'avc1' || fourCc === 'hvc1') {
        need(body, 8, 'enhanced composition time')
        h.compositionTimeMs = si24(body, 5)
        h.headerSize = 8
      }
      break
    case 2: h.avcPacketType = 'eos'; break
    case 3: h.avcPacketType = 'nalu'; break // CodedFramesX: composition time implied 0
    default: break // Metadata, MPEG-2 TS sequence start: no packet role we map
  }
  return h
}

/** Parse the VIDEODATA header of a video tag body (legacy or Enhanced RTMP). */
export function parseVideoTagHeader(body: Buffer): VideoTagHeader {
  need(body, 1, 'video header')
  const b0 = body[0] as number
  if (b0 & 0x80) return parseExVideoHeader(body, b0)
  const frameType = b0 >> 4
  const codecId = b0 & 0x0f
  const h: VideoTagHeader = { frameType, keyframe: frameType === 1, codecId, compositionTimeMs: 0, headerSize: 1 }
  // CodecID 12 is the widespread pre-Enhanced HEVC extension with the AVC layout.
  if (codecId === 7 || codecId === 12) {
    need(body, 5, 'AVC video header')
    const pt = body[1] as number
    h.avcPacketType = pt === 0 ? 'seq' : pt === 1 ? 'nalu' : pt === 2 ? 'eos' : undefined
    if (h.avcPacketType === undefined) throw new MediaFormatError(`flv: unknown AVCPacketType ${pt}`)
    h.compositionTimeMs = si24(body, 2)
    h.headerSize = 5
  }
  return h
}

/** Decoded AUDIODATA header of a tag body. */
export interface AudioTagHeader {
  /** 2 MP3, 10 AAC, 11 Speex, 9 Enhanced RTMP ex-header ... */
  soundFormat: number
  /** 0..3 for 5.5/11/22/44 kHz (informational; AAC signals its own rate). */
  soundRate: number
  /** True for 16-bit samples. */
  sixteenBit: boolean
  stereo: boolean
  /** Set for AAC: AudioSpecificConfig or a raw frame. */
  aacPacketType?: 'seq' | 'raw'
  /** Offset of the codec payload inside the body. */
  headerSize: number
}

/** Parse the AUDIODATA header of an audio tag body. */
export function parseAudioTagHeader(body: Buffer): AudioTagHeader {
  need(body, 1, 'audio header')
  const b0 = body[0] as number
  const h: AudioTagHeader = {
    soundFormat: b0 >> 4,
    soundRate: (b0 >> 2) & 0x03,
    sixteenBit: (b0 & 0x02) !== 0,
    stereo: (b0 & 0x01) !== 0,
    headerSize: 1,
  }
  if (h.soundFormat === 10) {
    need(body, 2, 'AAC audio header')
    const pt = body[1] as number
    if (pt > 1) throw new MediaFormatError(`flv: unknown AACPacketType ${pt}`)
    h.aacPacketType = pt === 0 ? 'seq' : 'raw'
    h.headerSize = 2
  }
  return h
}
