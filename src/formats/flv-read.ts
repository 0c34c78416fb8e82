/**
 * Reading a whole FLV byte stream back into tags (Adobe FLV spec v10.1, Annex E):
 * the inverse of `flvHeader` + `flvTag`. Pure and defensive: a short or damaged
 * stream ends in MediaFormatError, never in a read past the buffer.
 */
import { MediaFormatError } from '../errors.js'
import { FLV_TAG_HEADER_SIZE, type FlvTagKind } from './flv.js'

/** One tag of an FLV stream: its kind, timestamp and body (a view into the input). */
export interface FlvReadTag {
  kind: FlvTagKind
  /** Timestamp (ms) with TimestampExtended as its upper 8 bits. */
  timestamp: number
  body: Buffer
}

const KIND_OF_TYPE: Readonly<Record<number, FlvTagKind>> = { 8: 'audio', 9: 'video', 18: 'data' }

/**
 * Every audio, video and script-data tag of a complete FLV stream, in order.
 * Tags of other types are skipped, as E.4.1 reserves them; a stream that ends
 * inside a tag is an error (the writer was cut off).
 */
export function readFlvTags(buf: Buffer): FlvReadTag[] {
  if (buf.length < 9 || buf.toString('latin1', 0, 3) !== 'FLV') throw new MediaFormatError('flv: no FLV signature')
  // E.2: DataOffset is the header's size (9 for version 1); PreviousTagSize0 follows it.
  const dataOffset = buf.readUInt32BE(5)
  if (dataOffset < 9) throw new MediaFormatError(`flv: DataOffset ${dataOffset} is shorter than the 9-byte header`)
  let at = dataOffset + 4
  if (at > buf.length) throw new MediaFormatError('flv: stream ends inside the header')
  const tags: FlvReadTag[] = []
  while (at < buf.length) {
    if (at + FLV_TAG_HEADER_SIZE > buf.length) throw new MediaFormatError(`flv: stream ends inside the tag header at byte ${at}`)
    // E.4.1: Reserved(2) Filter(1) TagType(5); a filtered (encrypted) tag is not ours to read.
    const b0 = buf[at] as number
    if (b0 & 0x20) throw new MediaFormatError(`flv: encrypted tag at byte ${at}`)
    const size = buf.readUIntBE(at + 1, 3)
    const end = at + FLV_TAG_HEADER_SIZE + size
    if (end + 4 > buf.length) throw new MediaFormatError(`flv: stream ends inside the ${size}-byte tag at byte ${at}`)
    const timestamp = (buf.readUIntBE(at + 4, 3) | ((buf[at + 7] as number) << 24)) >>> 0
    const kind = KIND_OF_TYPE[b0 & 0x1f]
    if (kind) tags.push({ kind, timestamp, body: buf.subarray(at + FLV_TAG_HEADER_SIZE, end) })
    at = end + 4 // PreviousTagSize
  }
  return tags
}
