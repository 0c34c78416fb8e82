/**
 * Bounds-checked big-endian reads over one buffer. Every read that would run past
 * the end throws MediaFormatError instead of RangeError or a silent zero, so a
 * parser built on it cannot read out of bounds whatever bytes a worker sends.
 */
import { MediaFormatError } from '../../errors.js'

/** Sequential big-endian reader that throws MediaFormatError when data runs out. */
export class ByteReader {
  /** Next byte to read, relative to the start of `buf`. */
  pos: number

  /** `what` names the structure being read, for error messages. */
  constructor(readonly buf: Buffer, readonly what: string, pos = 0) {
    this.pos = pos
  }

  /** Bytes left between the cursor and the end of the buffer. */
  get remaining(): number {
    return this.buf.length - this.pos
  }

  /** Throw unless `n` more bytes are available. */
  need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new MediaFormatError(`${this.what}: truncated (need ${n} bytes at ${this.pos}, have ${this.remaining})`)
    }
  }

  /** Advance the cursor by `n` bytes. */
  skip(n: number): void {
    this.need(n)
    this.pos += n
  }

  /** Unsigned 8-bit integer. */
  u8(): number {
    this.need(1)
    return this.buf.readUInt8(this.pos++)
  }

  /** Unsigned 16-bit integer. */
  u16(): number {
    this.need(2)
    const v = this.buf.readUInt16BE(this.pos)
    this.pos += 2
    return v
  }

  /** Unsigned 24-bit integer (full-box flags). */
  u24(): number {
    this.need(3)
    const v = this.buf.readUIntBE(this.pos, 3)
    this.pos += 3
    return v
  }

  /** Unsigned 32-bit integer. */
  u32(): number {
    this.need(4)
    const v = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return v
  }

  /** Signed 32-bit integer. */
  i32(): number {
    this.need(4)
    const v = this.buf.readInt32BE(this.pos)
    this.pos += 4
    return v
  }

  /** Unsigned 64-bit integer; throws beyond 2^53 - 1, where a JS number would lose ticks. */
  u64(): number {
    this.need(8)
    const v = this.buf.readBigUInt64BE(this.pos)
    this.pos += 8
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new MediaFormatError(`${this.what}: 64-bit value ${v} too large`)
    return Number(v)
  }

  /** Four-character code as a latin1 string. */
  fourcc(): string {
    this.need(4)
    const s = this.buf.toString('latin1', this.pos, this.pos + 4)
    this.pos += 4
    return s
  }

  /** The next `n` bytes as a subarray (no copy). */
  bytes(n: number): Buffer {
    this.need(n)
    const b = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return b
  }
}

/** Reads a bit string MSB first, as MPEG descriptors (AudioSpecificConfig) are laid out. */
export class BitReader {
  private bit = 0

  constructor(private readonly buf: Buffer, private readonly what: string) {}

  /** Read `n` ≤ 32 bits as an unsigned integer. */
  bits(n: number): number {
    if (this.bit + n > this.buf.length * 8) throw new MediaFormatError(`${this.what}: truncated bit string`)
    let v = 0
    for (let i = 0; i < n; i++) {
      const byte = this.buf[(this.bit >> 3)] ?? 0
      v = v * 2 + ((byte >> (7 - (this.bit & 7))) & 1)
      this.bit++
    }
    return v
  }
}
