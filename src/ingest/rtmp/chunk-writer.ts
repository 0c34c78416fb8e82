/**
 * Splits outgoing RTMP messages into chunks (Adobe RTMP 1.0 §5.3). The server
 * sends few, small messages, so every message opens with a full type 0 header and
 * continues with type 3 headers: always correct, and no per-stream state to get
 * wrong.
 */
import { DEFAULT_CHUNK_SIZE, MAX_EFFECTIVE_CHUNK_SIZE } from './chunk-reader.js'
import type { RtmpMessage } from './messages.js'

function basicHeader(fmt: number, csid: number): Buffer {
  // §5.3.1.1: 1 byte for csid 2..63, 2 bytes for 64..319, 3 bytes up to 65599.
  if (csid >= 2 && csid <= 63) return Buffer.from([(fmt << 6) | csid])
  if (csid >= 64 && csid <= 319) return Buffer.from([fmt << 6, csid - 64])
  if (csid >= 320 && csid <= 65599) {
    const v = csid - 64
    return Buffer.from([(fmt << 6) | 1, v & 0xff, v >> 8])
  }
  throw new RangeError(`chunk stream id ${csid} out of range`)
}

/** Encodes messages into chunk bytes with the chunk size announced to the peer. */
export class ChunkWriter {
  private size = DEFAULT_CHUNK_SIZE

  /** Current outgoing chunk size. */
  get chunkSize(): number {
    return this.size
  }

  /** Use a new chunk size; call after the Set Chunk Size message itself was encoded. */
  setChunkSize(size: number): void {
    if (!Number.isInteger(size) || size < 1 || size > MAX_EFFECTIVE_CHUNK_SIZE) throw new RangeError(`chunk size ${size}`)
    this.size = size
  }

  /** Bytes of `msg` as chunks: one type 0 header, then type 3 continuations. */
  encode(msg: RtmpMessage): Buffer {
    const ts = msg.timestamp >>> 0
    const extended = ts >= 0xffffff
    const head = Buffer.alloc(11)
    head.writeUIntBE(extended ? 0xffffff : ts, 0, 3)
    head.writeUIntBE(msg.payload.length, 3, 3)
    head[6] = msg.typeId
    head.writeUInt32LE(msg.streamId >>> 0, 7)
    const ext = Buffer.alloc(extended ? 4 : 0)
    if (extended) ext.writeUInt32BE(ts)
    const parts: Buffer[] = [basicHeader(0, msg.csid), head, ext]
    const cont = basicHeader(3, msg.csid)
    for (let off = 0; off === 0 || off < msg.payload.length; off += this.size) {
      // §5.3.1.3: type 3 chunks repeat the extended timestamp of their message.
      if (off > 0) parts.push(cont, ext)
      parts.push(msg.payload.subarray(off, off + this.size))
    }
    return Buffer.concat(parts)
  }
}
