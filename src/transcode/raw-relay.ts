/**
 * Relays one rung's raw frames from the decoder to that rung's encoder. Node
 * sits in the middle on purpose: an encoder that dies or falls behind is
 * disconnected without the decoder ever seeing a broken pipe, so every other
 * rung keeps going. Frames are counted by bytes, so an encoder can be fed from
 * an exact frame (one on the segment grid).
 *
 * Once an encoder has shown it is working (armed), the relay applies
 * backpressure instead of buffering: more than `highWater` bytes unread and it
 * asks for the source to pause until the encoder drains. So the ladder runs as
 * fast as its slowest rung when the input comes faster than real time, and an
 * encoder that stops reading altogether is the caller's to cut loose (stall).
 */
import type { Writable } from 'node:stream'

/** Frame-counting relay of one rung. */
export class RawRelay {
  readonly frameBytes: number
  private readonly maxBacklog: number
  private readonly onOverrun: () => void
  private posInFrame = 0
  private frame = 0
  private target: Writable | undefined
  private feedFrom = Infinity
  private armed = false
  private held = false
  /** Pressure changes: true = pause the source, false = resume it. */
  onPressure: (held: boolean) => void = () => {}
  /** Bytes unread by an armed encoder before the source is paused. */
  highWater = Infinity

  /** `onOverrun` fires when the encoder has more than `maxBacklog` bytes unread. */
  constructor(frameBytes: number, maxBacklog: number, onOverrun: () => void) {
    this.frameBytes = frameBytes
    this.maxBacklog = maxBacklog
    this.onOverrun = onOverrun
  }

  /** Index (from the decoder's first frame) of the next frame to begin. */
  get nextFrame(): number {
    return this.posInFrame === 0 ? this.frame : this.frame + 1
  }

  /** The decoder restarted: count frames from zero again. */
  resetSource(): void {
    this.posInFrame = 0
    this.frame = 0
  }

  /** Feed `target` from frame `from` on (frames before it are skipped). */
  connect(target: Writable, from: number): void {
    this.target = target
    this.feedFrom = from
    this.armed = false
  }

  /** The encoder is working (it wrote output): from now on slow reading pauses the source. */
  arm(): void {
    this.armed = true
  }

  /** Bytes written to the encoder and not yet taken by it (beyond the pipe). */
  get backlog(): number {
    return this.target?.writableLength ?? 0
  }

  /** Whether the source is paused on this encoder's account. */
  get holding(): boolean {
    return this.held
  }

  /** Stop feeding (and stop holding the source). */
  disconnect(): void {
    this.target = undefined
    this.feedFrom = Infinity
    this.armed = false
    this.release()
  }

  private release(): void {
    if (!this.held) return
    this.held = false
    this.onPressure(false)
  }

  /** Bytes from the decoder's pipe for this rung. */
  push(chunk: Buffer): void {
    let off = 0
    while (off < chunk.length) {
      const take = Math.min(chunk.length - off, this.frameBytes - this.posInFrame)
      // Whole runs of fed frames go out as one write; only the first fed frame splits a chunk.
      let end = off + take
      const feeding = this.target !== undefined && this.frame >= this.feedFrom
      this.advance(take)
      if (feeding) {
        while (end < chunk.length) {
          const more = Math.min(chunk.length - end, this.frameBytes - this.posInFrame)
          this.advance(more)
          end += more
        }
        this.write(chunk.subarray(off, end))
      }
      off = end
    }
  }

  private advance(bytes: number): void {
    this.posInFrame += bytes
    if (this.posInFrame === this.frameBytes) {
      this.posInFrame = 0
      this.frame++
    }
  }

  private write(bytes: Buffer): void {
    const t = this.target
    if (!t || t.destroyed || !t.writable) return
    t.write(bytes)
    if (this.armed && !this.held && t.writableLength > this.highWater) {
      this.held = true
      t.once('drain', () => { if (this.target === t) this.release() })
      this.onPressure(true)
    }
    if (t.writableLength > this.maxBacklog) this.onOverrun()
  }
}
