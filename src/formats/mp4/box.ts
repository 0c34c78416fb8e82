/**
 * ISO BMFF box headers, child iteration, full-box fields, and a writer for building
 * boxes. ISO/IEC 14496-12 §4.2: a box is `size(32) type(32)`, then a 64-bit
 * `largesize` when size == 1, then a 16-byte `usertype` when type == 'uuid';
 * size == 0 means the box runs to the end of the file (here: of the enclosing buffer).
 */
import { MediaFormatError } from '../../errors.js'
import { ByteReader } from './reader.js'

/** Declared header fields of a box, read without needing its body. */
export interface BoxHeader {
  type: string
  /** Total size including the header; 0 when the box extends to the end of its container. */
  size: number
  /** 8, 16 with largesize, plus 16 for a uuid usertype. */
  headerSize: number
  /** Extended type of a `uuid` box. */
  usertype?: Buffer
}

/** One complete box located inside a buffer (all fields are subarrays, no copies). */
export interface BoxView {
  type: string
  /** The whole box, header included. */
  data: Buffer
  headerSize: number
  /** The body after the header. */
  payload: Buffer
  usertype?: Buffer
}

/** Longest possible header: size, type, largesize, usertype. */
export const MAX_HEADER_SIZE = 32

/**
 * Read the header at `offset`; undefined when `buf` ends before the header does.
 * Throws MediaFormatError on a size that cannot be valid.
 */
export function peekBoxHeader(buf: Buffer, offset = 0): BoxHeader | undefined {
  if (buf.length - offset < 8) return undefined
  let size = buf.readUInt32BE(offset)
  const type = buf.toString('latin1', offset + 4, offset + 8)
  let headerSize = 8
  if (size === 1) {
    if (buf.length - offset < 16) return undefined
    const large = buf.readBigUInt64BE(offset + 8)
    if (large > BigInt(Number.MAX_SAFE_INTEGER)) throw new MediaFormatError(`box '${printable(type)}': largesize ${large} too large`)
    size = Number(large)
    headerSize = 16
  }
  let usertype: Buffer | undefined
  if (type === 'uuid') {
    if (buf.length - offset < headerSize + 16) return undefined
    usertype = buf.subarray(offset + headerSize, offset + headerSize + 16)
    headerSize += 16
  }
  // §4.2: size counts the header itself, so anything smaller than the header is corrupt.
  if (size !== 0 && size < headerSize) throw new MediaFormatError(`box '${printable(type)}': size ${size} smaller than its header`)
  return usertype ? { type, size, headerSize, usertype } : { type, size, headerSize }
}

/** Read the complete box at `offset`; size 0 extends to the end of `buf`. */
export function readBox(buf: Buffer, offset = 0): BoxView {
  const h = peekBoxHeader(buf, offset)
  if (!h) throw new MediaFormatError(`box header truncated at ${offset} (${buf.length - offset} bytes left)`)
  const size = h.size === 0 ? buf.length - offset : h.size
  if (size < h.headerSize) throw new MediaFormatError(`box '${printable(h.type)}': no room for its header`)
  if (offset + size > buf.length) {
    throw new MediaFormatError(`box '${printable(h.type)}' at ${offset}: size ${size} runs past the end (${buf.length - offset} bytes left)`)
  }
  const data = buf.subarray(offset, offset + size)
  const view: BoxView = { type: h.type, data, headerSize: h.headerSize, payload: data.subarray(h.headerSize) }
  if (h.usertype) view.usertype = h.usertype
  return view
}

/**
 * Boxes laid end to end in `buf` from `offset`. Fewer than 8 trailing bytes are
 * ignored: QuickTime writers end some containers with a 4-byte zero terminator.
 */
export function readBoxes(buf: Buffer, offset = 0): BoxView[] {
  const out: BoxView[] = []
  let pos = offset
  while (buf.length - pos >= 8) {
    const b = readBox(buf, pos)
    out.push(b)
    pos += b.data.length
  }
  return out
}

/** Children of a container box; `skip` bytes of fixed fields precede them (e.g. 8 in stsd). */
export function childBoxes(box: BoxView, skip = 0): BoxView[] {
  if (skip > box.payload.length) throw new MediaFormatError(`box '${box.type}': truncated before its children`)
  return readBoxes(box.payload, skip)
}

/** First child of `type`, if any. */
export function findChild(box: BoxView, type: string, skip = 0): BoxView | undefined {
  return childBoxes(box, skip).find((b) => b.type === type)
}

/** First child of `type`; throws MediaFormatError naming the parent when it is missing. */
export function requireChild(box: BoxView, type: string, skip = 0): BoxView {
  const child = findChild(box, type, skip)
  if (!child) throw new MediaFormatError(`'${box.type}' has no '${type}' box`)
  return child
}

/** Version and flags of a full box (§4.2 FullBox) and a reader positioned after them. */
export function readFullBox(box: BoxView): { version: number; flags: number; reader: ByteReader } {
  const reader = new ByteReader(box.payload, `'${box.type}'`)
  const version = reader.u8()
  const flags = reader.u24()
  return { version, flags, reader }
}

/** Escape non-printable type bytes so garbage shows up readably in error messages. */
export function printable(type: string): string {
  return type.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** Big-endian writer for building boxes; `begin`/`end` back-patch box sizes. */
export class BoxWriter {
  private buf: Buffer
  private pos = 0
  private readonly open: number[] = []

  constructor(initialCapacity = 256) {
    this.buf = Buffer.alloc(initialCapacity)
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos
  }

  private room(n: number): number {
    if (this.pos + n > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n))
      this.buf.copy(next, 0, 0, this.pos)
      this.buf = next
    }
    const at = this.pos
    this.pos += n
    return at
  }

  // Each writer takes its position from room() before touching this.buf, which
  // room() may have replaced.

  /** Write an unsigned 8-bit integer. */
  u8(v: number): this {
    const at = this.room(1)
    this.buf.writeUInt8(v, at)
    return this
  }

  /** Write an unsigned 16-bit integer. */
  u16(v: number): this {
    const at = this.room(2)
    this.buf.writeUInt16BE(v, at)
    return this
  }

  /** Write an unsigned 24-bit integer. */
  u24(v: number): this {
    const at = this.room(3)
    this.buf.writeUIntBE(v, at, 3)
    return this
  }

  /** Write an unsigned 32-bit integer. */
  u32(v: number): this {
    const at = this.room(4)
    this.buf.writeUInt32BE(v, at)
    return this
  }

  /** Write a signed 32-bit integer. */
  i32(v: number): this {
    const at = this.room(4)
    this.buf.writeInt32BE(v, at)
    return this
  }

  /** Write an unsigned 64-bit integer from a safe non-negative integer. */
  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`u64 out of range: ${v}`)
    const at = this.room(8)
    this.buf.writeBigUInt64BE(BigInt(v), at)
    return this
  }

  /** Write a four-character code. */
  fourcc(type: string): this {
    if (type.length !== 4) throw new RangeError(`fourcc must be 4 characters: '${type}'`)
    const at = this.room(4)
    this.buf.write(type, at, 4, 'latin1')
    return this
  }

  /** Copy raw bytes. */
  bytes(b: Uint8Array): this {
    const at = this.room(b.length)
    this.buf.set(b, at)
    return this
  }

  /** Open a box; its 32-bit size is filled in by the matching `end()`. */
  begin(type: string): this {
    this.open.push(this.pos)
    return this.u32(0).fourcc(type)
  }

  /** Open a full box (§4.2): header, then version(8) and flags(24). */
  beginFull(type: string, version: number, flags: number): this {
    return this.begin(type).u8(version).u24(flags)
  }

  /** Close the innermost open box by writing its size. */
  end(): this {
    const start = this.open.pop()
    if (start === undefined) throw new Error('BoxWriter.end() without begin()')
    const size = this.pos - start
    if (size > 0xffffffff) throw new RangeError(`box too large for a 32-bit size: ${size}`)
    this.buf.writeUInt32BE(size, start)
    return this
  }

  /** Overwrite a signed 32-bit field written earlier at `at`. */
  patchI32(at: number, v: number): void {
    this.buf.writeInt32BE(v, at)
  }

  /** The bytes written; every box must be closed. */
  finish(): Buffer {
    if (this.open.length > 0) throw new Error(`BoxWriter: ${this.open.length} box(es) still open`)
    return this.buf.subarray(0, this.pos)
  }
}
