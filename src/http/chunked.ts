/**
 * Responses of unknown length, sent with chunked transfer coding as their bytes
 * come into being (a segment still being produced). Applies DESIGN.md's
 * uWebSockets.js rules: every write corked (4), pieces of at most 256 KiB and a
 * pause whenever `write` returns false until the socket drains (6), nothing
 * touched after abort or end (3).
 */
import type { Headers, Reply } from './reply.js'

/** Largest piece handed to one `write` (rule 6). */
export const MAX_PIECE = 256 * 1024

const STATUS: Record<number, string> = { 200: '200 OK' }

/** Streams a body piece by piece; `end` finishes it, `abort` cuts it short. */
export class ChunkedWriter {
  private readonly reply: Reply
  private readonly statusCode: number
  private readonly headers: Headers
  private handle: ReturnType<Reply['takeOver']>
  private readonly queue: Buffer[] = []
  private paused = false
  private ending = false
  private started = false
  /** Bytes handed to the socket so far. */
  written = 0

  constructor(reply: Reply, status: number, headers: Headers) {
    this.reply = reply
    this.statusCode = status
    this.headers = headers
  }

  /** True while the client is there and the body has not ended. */
  get open(): boolean {
    return this.reply.open && !this.ending
  }

  /** Queue bytes; they go out at once unless the socket is backed up. */
  write(bytes: Buffer): void {
    if (!this.open || bytes.length === 0) return
    this.queue.push(bytes)
    this.pump()
  }

  /** End the body once everything queued is out. */
  end(): void {
    if (!this.reply.open || this.ending) return
    this.ending = true
    this.pump()
  }

  /**
   * Cut the response short by closing the connection: the client sees a body without
   * its last chunk, never a truncated object that looks whole (RFC 9112 7.1).
   */
  abort(): void {
    if (!this.reply.open) return
    this.ending = true
    this.handle ??= this.reply.takeOver(this.statusCode)
    const h = this.handle
    if (!h) return
    h.res.close()
    h.end()
  }

  private pump(): void {
    if (!this.reply.open) return
    this.handle ??= this.reply.takeOver(this.statusCode)
    const h = this.handle
    if (!h) return
    h.res.cork(() => {
      if (!this.started) {
        this.started = true
        h.res.writeStatus(STATUS[this.statusCode] ?? `${this.statusCode} Status`)
        for (const [k, v] of Object.entries(this.headers)) h.res.writeHeader(k, v)
      }
      while (!this.paused && this.queue.length > 0) {
        const head = this.queue[0]!
        const piece = head.subarray(0, MAX_PIECE)
        if (piece.length < head.length) this.queue[0] = head.subarray(MAX_PIECE)
        else this.queue.shift()
        this.written += piece.length
        if (!h.res.write(piece)) {
          // uWS keeps what it could not send; write nothing more until the socket drains.
          this.paused = true
          h.res.onWritable(() => {
            this.paused = false
            this.pump()
            return true
          })
        }
      }
      if (!this.paused && this.ending && this.queue.length === 0) {
        h.res.end()
        h.end()
      }
    })
  }
}
