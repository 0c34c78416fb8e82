/**
 * Incremental RTMP chunk stream parser (Adobe RTMP 1.0 §5.3). Bytes arrive in
 * arbitrary pieces; complete messages come out through `onMessage`. Chunk-layer
 * control (Set Chunk Size, Abort) is applied here because it changes how the very
 * next byte is read; every other message is passed up.
 *
 * Memory is bounded per connection: message lengths are checked against
 * `maxMessageSize` before anything is buffered, payload is kept only as the bytes
 * actually arrive, the number of chunk streams is capped, and so is the sum of
 * all half-received messages. The owner raises the limits once the peer has
 * earned it (an accepted publish): a stranger gets small ones.
 */
import { ProtocolError } from '../../errors.js'
import { limitError } from './limits.js'
import { MessageType, type RtmpMessage } from './messages.js'

/** Limits of one reader; all of them protect the process from one peer. */
export interface ChunkReaderOptions {
  /** Largest message accepted (bytes); longer headers are a protocol error. */
  maxMessageSize: number
  /** Distinct chunk stream ids a peer may use (default 64). */
  maxChunkStreams?: number
  /** Sum of all partially received messages (default 2 × maxMessageSize). */
  maxBufferedBytes?: number
  /** Receives each complete message, in order. */
  onMessage: (msg: RtmpMessage) => void
}

/** §5.4.1: chunk sizes above this are equivalent, since no message is longer. */
export const MAX_EFFECTIVE_CHUNK_SIZE = 0xffffff
/** §5.4.1: the initial chunk size of both directions. */
export const DEFAULT_CHUNK_SIZE = 128

interface ChunkStream {
  id: number
  timestamp: number
  /** Delta reused by type 3 headers that start a new message. */
  delta: number
  length: number
  typeId: number
  streamId: number
  /** Whether the last type 0/1/2 header used an extended timestamp (repeated on type 3). */
  extended: boolean
  parts: Buffer[]
  received: number
  /** A header for this stream has been seen: type 1/2/3 need one. */
  primed: boolean
}

const MAX_HEADER = 3 + 11 + 4

/** Reassembles RTMP messages from a chunked byte stream. */
export class ChunkReader {
  private chunkSize = DEFAULT_CHUNK_SIZE
  private readonly streams = new Map<number, ChunkStream>()
  private readonly header = Buffer.alloc(MAX_HEADER)
  private headerLen = 0
  /** Chunk stream whose chunk payload is being read, and bytes still due. */
  private current: ChunkStream | undefined
  private payloadLeft = 0
  private buffered = 0
  private stopped = false
  private readonly maxChunkStreams: number
  private maxMessage: number
  private maxBuffered: number

  constructor(private readonly opts: ChunkReaderOptions) {
    this.maxChunkStreams = opts.maxChunkStreams ?? 64
    this.maxMessage = opts.maxMessageSize
    this.maxBuffered = opts.maxBufferedBytes ?? opts.maxMessageSize * 2
  }

  /** Change the message and buffer limits; they apply to every header and byte read from now on. */
  setLimits(maxMessageSize: number, maxBufferedBytes = maxMessageSize * 2): void {
    this.maxMessage = maxMessageSize
    this.maxBuffered = maxBufferedBytes
  }

  /** Chunk size the peer currently uses. */
  get peerChunkSize(): number {
    return this.chunkSize
  }

  /** Ignore every later byte: the connection is going away. */
  stop(): void {
    this.stopped = true
  }

  /** Feed bytes; throws ProtocolError on malformed input (the connection must close). */
  push(data: Buffer): void {
    let off = 0
    while (off < data.length && !this.stopped) {
      if (this.current) {
        const take = Math.min(this.payloadLeft, data.length - off)
        this.appendPayload(this.current, data.subarray(off, off + take))
        off += take
        this.payloadLeft -= take
        if (this.payloadLeft === 0) this.finishChunk(this.current)
        continue
      }
      // Header bytes are gathered in a small fixed buffer so a header split across
      // pushes costs nothing more than a copy of at most 18 bytes.
      const take = Math.min(MAX_HEADER - this.headerLen, data.length - off)
      data.copy(this.header, this.headerLen, off, off + take)
      const used = this.parseHeader(this.headerLen + take)
      if (used < 0) {
        this.headerLen += take
        off += take
      } else {
        off += used - this.headerLen
        this.headerLen = 0
      }
    }
  }

  /** Parse a chunk header from `this.header[0..avail)`; bytes used, or -1 if incomplete. */
  private parseHeader(avail: number): number {
    const h = this.header
    if (avail < 1) return -1
    const b0 = h[0] as number
    const fmt = b0 >> 6
    let csid = b0 & 0x3f
    let pos = 1
    // §5.3.1.1: csid 0 and 1 announce the 2- and 3-byte basic header forms.
    if (csid === 0) {
      if (avail < 2) return -1
      csid = 64 + (h[1] as number)
      pos = 2
    } else if (csid === 1) {
      if (avail < 3) return -1
      csid = 64 + (h[1] as number) + (h[2] as number) * 256
      pos = 3
    }
    const msgHeader = fmt === 0 ? 11 : fmt === 1 ? 7 : fmt === 2 ? 3 : 0
    if (avail < pos + msgHeader) return -1
    const cs = this.stream(csid, fmt)
    const inProgress = cs.received > 0 && cs.received < cs.length
    let tsField = 0
    if (fmt < 3) {
      if (inProgress) throw new ProtocolError('rtmp', `chunk stream ${csid}: new message header while a message is incomplete`)
      tsField = h.readUIntBE(pos, 3)
      if (fmt <= 1) {
        const length = h.readUIntBE(pos + 3, 3)
        // Refused on the header, before a byte of it is buffered.
        if (length > this.maxMessage) {
          throw limitError(`message of ${length} bytes exceeds the ${this.maxMessage}-byte limit`)
        }
        cs.length = length
        cs.typeId = h[pos + 6] as number
      }
      // §5.3.1.2.1: the message stream id is little-endian.
      if (fmt === 0) cs.streamId = h.readUInt32LE(pos + 7)
      pos += msgHeader
    }
    // §5.3.1.3: an extended timestamp follows when the 24-bit field is 0xFFFFFF;
    // type 3 chunks repeat it whenever the header they continue had one.
    const extended = fmt < 3 ? tsField === 0xffffff : cs.extended
    if (extended) {
      if (avail < pos + 4) return -1
      // On type 3 the repeated value is read past: the header it continues rules.
      if (fmt < 3) tsField = h.readUInt32BE(pos)
      pos += 4
    }
    if (fmt < 3) cs.extended = extended
    if (fmt === 0) {
      cs.timestamp = tsField
      // Like FFmpeg and librtmp, a type 3 new message after type 0 reuses the
      // type 0 timestamp field as its delta.
      cs.delta = tsField
    } else if (fmt < 3) {
      cs.delta = tsField
      cs.timestamp = (cs.timestamp + tsField) >>> 0
    } else if (!inProgress) {
      cs.timestamp = (cs.timestamp + cs.delta) >>> 0
    }
    if (!inProgress) {
      cs.parts = []
      cs.received = 0
    }
    this.payloadLeft = Math.min(this.chunkSize, cs.length - cs.received)
    this.current = cs
    if (this.payloadLeft === 0) this.finishChunk(cs)
    return pos
  }

  private stream(csid: number, fmt: number): ChunkStream {
    let cs = this.streams.get(csid)
    if (!cs) {
      if (this.streams.size >= this.maxChunkStreams) {
        throw limitError(`more than ${this.maxChunkStreams} chunk streams in use`)
      }
      cs = { id: csid, timestamp: 0, delta: 0, length: 0, typeId: 0, streamId: 0, extended: false, parts: [], received: 0, primed: false }
      this.streams.set(csid, cs)
    }
    if (!cs.primed) {
      // §5.3.1.2: only a type 0 header can open a chunk stream.
      if (fmt !== 0) throw new ProtocolError('rtmp', `chunk stream ${csid} starts with a type ${fmt} header`)
      cs.primed = true
    }
    return cs
  }

  private appendPayload(cs: ChunkStream, piece: Buffer): void {
    this.buffered += piece.length
    if (this.buffered > this.maxBuffered) {
      throw limitError(`more than ${this.maxBuffered} bytes of incomplete messages`)
    }
    cs.parts.push(piece)
    cs.received += piece.length
  }

  private finishChunk(cs: ChunkStream): void {
    this.current = undefined
    this.payloadLeft = 0
    if (cs.received < cs.length) return
    // Copy: the pieces are views of socket buffers that must not be retained.
    const payload = Buffer.concat(cs.parts, cs.length)
    this.buffered -= cs.received
    cs.parts = []
    cs.received = 0
    const msg: RtmpMessage = { csid: cs.id, typeId: cs.typeId, streamId: cs.streamId, timestamp: cs.timestamp, payload }
    if (this.control(msg)) return
    this.opts.onMessage(msg)
  }

  /** Apply chunk-layer control messages; true when consumed. */
  private control(msg: RtmpMessage): boolean {
    if (msg.typeId === MessageType.setChunkSize) {
      if (msg.payload.length < 4) throw new ProtocolError('rtmp', 'short Set Chunk Size message')
      const size = msg.payload.readUInt32BE(0)
      // §5.4.1: bit 31 must be zero and sizes are 1..0x7FFFFFFF. Sizes above
      // 0xFFFFFF are equivalent to it, so clamping keeps arithmetic small.
      if (size === 0 || size > 0x7fffffff) throw new ProtocolError('rtmp', `invalid chunk size ${size}`)
      this.chunkSize = Math.min(size, MAX_EFFECTIVE_CHUNK_SIZE)
      return true
    }
    if (msg.typeId === MessageType.abort) {
      if (msg.payload.length < 4) throw new ProtocolError('rtmp', 'short Abort message')
      const cs = this.streams.get(msg.payload.readUInt32BE(0))
      if (cs && cs.received > 0) {
        this.buffered -= cs.received
        cs.parts = []
        cs.received = 0
      }
      return true
    }
    return false
  }
}
