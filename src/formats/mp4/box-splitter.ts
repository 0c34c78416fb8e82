/**
 * Incremental splitter of an ISO BMFF byte stream (an FFmpeg worker's stdout) into
 * top-level boxes. Chunks may split anywhere; a box is returned as soon as its last
 * byte arrives. Pieces of a box are collected and concatenated once, so a large
 * mdat arriving in many chunks costs O(size), and a declared size above
 * `maxBoxSize` is refused before its bytes are buffered.
 */
import { MediaFormatError } from '../../errors.js'
import { MAX_HEADER_SIZE, peekBoxHeader, printable, type BoxHeader } from './box.js'

/** One complete top-level box. */
export interface Box {
  type: string
  /** The whole box, header included. May share memory with a pushed chunk. */
  data: Buffer
  /** Position of the box's first byte in the stream (for absolute base-data-offsets). */
  offset: number
}

/** Options of a BoxSplitter. */
export interface BoxSplitterOptions {
  /** Largest accepted box in bytes (default 64 MiB). */
  maxBoxSize?: number
}

/** Default `maxBoxSize`: far above any part or init segment, low enough to bound memory. */
export const DEFAULT_MAX_BOX_SIZE = 64 * 1024 * 1024

/** Splits a byte stream into complete top-level boxes. */
export class BoxSplitter {
  private readonly maxBoxSize: number
  private pieces: Buffer[] = []
  private buffered = 0
  /** Header of the box being collected, once known. */
  private header: BoxHeader | undefined
  /** Stream offset of the first buffered byte. */
  private streamOffset = 0
  /** First error: the stream has lost sync, so every later call repeats it. */
  private failure: MediaFormatError | undefined

  constructor(options: BoxSplitterOptions = {}) {
    this.maxBoxSize = options.maxBoxSize ?? DEFAULT_MAX_BOX_SIZE
  }

  /** Bytes received but not yet returned as part of a box. */
  get bufferedBytes(): number {
    return this.buffered
  }

  /** Feed the next chunk; returns every box completed by it, in stream order. */
  push(chunk: Buffer): Box[] {
    if (this.failure) throw this.failure
    try {
      return this.split(chunk)
    } catch (err) {
      if (err instanceof MediaFormatError) this.failure = err
      throw err
    }
  }

  private split(chunk: Buffer): Box[] {
    const out: Box[] = []
    if (chunk.length > 0) {
      this.pieces.push(chunk)
      this.buffered += chunk.length
    }
    for (;;) {
      if (!this.header) {
        this.header = this.readHeader()
        if (!this.header) break
      }
      const size = this.header.size
      if (size === 0) {
        // §4.2: with size 0 "this box shall be the last one in the file"; only the end
        // of the stream completes it.
        if (this.buffered > this.maxBoxSize) throw this.tooBig(this.header.type, this.buffered)
        break
      }
      if (this.buffered < size) break
      out.push(this.take(this.header.type, size))
      this.header = undefined
    }
    return out
  }

  /**
   * Signal the end of the stream: returns a pending size-0 box, throws if a
   * box was cut short (a worker that died mid-write).
   */
  end(): Box[] {
    if (this.failure) throw this.failure
    if (this.buffered === 0) return []
    if (this.header?.size === 0) {
      const box = this.take(this.header.type, this.buffered)
      this.header = undefined
      return [box]
    }
    const what = this.header ? `box '${printable(this.header.type)}' (${this.header.size} bytes)` : 'box header'
    throw new MediaFormatError(`stream ended inside a ${what}: ${this.buffered} bytes pending`)
  }

  /** Parse the header of the next box from the first buffered bytes, if they have arrived. */
  private readHeader(): BoxHeader | undefined {
    if (this.buffered < 8) return undefined
    const head = this.peek(Math.min(this.buffered, MAX_HEADER_SIZE))
    const h = peekBoxHeader(head)
    if (!h) return undefined
    // Top-level box types are printable four-character codes; anything else means
    // the stream is garbage or lost sync, and guessing further would be worse.
    if (!/^[\x20-\x7e]{4}$/.test(h.type)) {
      throw new MediaFormatError(`not an ISO BMFF box at stream offset ${this.streamOffset}: type '${printable(h.type)}'`)
    }
    if (h.size > this.maxBoxSize) throw this.tooBig(h.type, h.size)
    return h
  }

  private tooBig(type: string, size: number): MediaFormatError {
    return new MediaFormatError(`box '${printable(type)}' of ${size} bytes exceeds maxBoxSize ${this.maxBoxSize}`)
  }

  /** Copy of the first `n` buffered bytes (n ≤ 32, for header parsing). */
  private peek(n: number): Buffer {
    const first = this.pieces[0]
    if (first && first.length >= n) return first.subarray(0, n)
    const out = Buffer.alloc(n)
    let filled = 0
    for (const p of this.pieces) {
      if (filled >= n) break
      filled += p.copy(out, filled, 0, Math.min(p.length, n - filled))
    }
    return out
  }

  /** Remove the first `size` buffered bytes and return them as one box. */
  private take(type: string, size: number): Box {
    const offset = this.streamOffset
    const first = this.pieces[0]
    let data: Buffer
    if (first && first.length >= size) {
      data = first.subarray(0, size)
      if (first.length === size) this.pieces.shift()
      else this.pieces[0] = first.subarray(size)
    } else {
      // Walk by index and drop the consumed pieces once: shift() per piece would
      // make a box pushed one byte at a time quadratic.
      const parts: Buffer[] = []
      let need = size
      let i = 0
      while (need > 0) {
        const p = this.pieces[i]
        if (!p) throw new Error('BoxSplitter: buffered byte count out of sync')
        if (p.length <= need) {
          parts.push(p)
          need -= p.length
          i++
        } else {
          // The rest of this piece starts the next box and stays buffered.
          parts.push(p.subarray(0, need))
          this.pieces[i] = p.subarray(need)
          need = 0
        }
      }
      this.pieces = this.pieces.slice(i)
      data = Buffer.concat(parts, size)
    }
    this.buffered -= size
    this.streamOffset += size
    return { type, data, offset }
  }
}
