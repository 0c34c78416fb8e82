/**
 * The HTTP/1.1 response writer over uWebSockets.js: the one module that reads a
 * uWS request and writes to a uWS response. Known-size bodies, bodies still
 * arriving and chunked bodies all go through it, under eight rules:
 *
 * 1. Respond synchronously, or register `res.onAborted` before returning or
 *    awaiting: uWS aborts the process when a handler returns an open response
 *    without one.
 * 2. Read method, URL, query and headers before the first await: `req` dies
 *    with the handler callback.
 * 3. Never touch `res` after abort or end: one done flag, one idempotent cleanup.
 * 4. Every write outside the synchronous handler body inside `res.cork`, status,
 *    headers and body together (uWS corks the handler itself).
 * 5. Known-size bodies: `tryEnd` with the total size, and under backpressure
 *    `onWritable` resumes from `getWriteOffset()`.
 * 6. Unknown-size bodies: chunked `write` in pieces of at most MAX_PIECE,
 *    pausing whenever `write` returns false until the socket drains.
 * 7. Copy `onData` chunks: uWS reuses their memory once the callback returns.
 *    Only the API reads request bodies, small and bounded (readBody).
 * 8. A client that goes away releases its waiter at once (onDone cleanups run
 *    on abort) and never cancels a fill that other clients share (a stream only
 *    unsubscribes from the body it follows).
 *
 * A HEAD is answered with GET's status and headers and no body; its
 * Content-Length is written as a header and the response ended with a bare
 * `endWithoutBody()`: `endWithoutBody(length)` would wait for that many body
 * bytes in this uWS build and leave the response open.
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js'
import {
  HeaderBlock, MAX_PIECE, STATUS_TEXT,
  type ChunkedBody, type GrowingBody, type Headers, type MoreHeaders, type Reply, type ReplyListener, type RequestContext,
} from './reply.js'

// Encoded once: uWS copies a typed array's bytes without converting a JS string.
const STATUS_LINE = new Map(Object.entries(STATUS_TEXT).map(([k, v]) => [Number(k), Buffer.from(v)]))
const statusLine = (status: number): Uint8Array | string => STATUS_LINE.get(status) ?? `${status} Status`
const EMPTY = Buffer.alloc(0)
/** RFC 9110 6.4.1 / 8.6: these never carry content, nor a Content-Length for a HEAD. */
const bodiless = (status: number): boolean => status === 204 || status === 304

/** A uWS response that is safe to finish from any context, exactly once (rules 1, 3, 4). */
export class UwsReply implements Reply {
  status = 0
  label = ''
  head = false
  /** True while uWS's request handler runs: uWS corks that callback itself (rule 4). */
  private synchronous: boolean
  private readonly res: HttpResponse
  private readonly listener: ReplyListener | undefined
  private finished = false
  private aborted = false
  private cleanups: Array<() => void> | undefined

  /**
   * `inHandler`: constructed inside uWS's handler, whose caller promises to call
   * leaveHandler() when the handler returns; otherwise onAborted is registered now.
   */
  constructor(res: HttpResponse, listener?: ReplyListener, inHandler = false) {
    this.res = res
    this.listener = listener
    this.synchronous = inHandler
    if (!inHandler) this.watchAbort()
  }

  /** The handler returned. Rule 1 asks for onAborted only when the response outlives it. */
  leaveHandler(): void {
    if (!this.synchronous) return
    this.synchronous = false
    if (!this.finished) this.watchAbort()
  }

  private watchAbort(): void {
    this.res.onAborted(() => {
      this.aborted = true
      // Ended before its last byte (the client left): whatever status went out, it did not succeed.
      if (!this.finished) this.status = 0
      this.finish()
    })
  }

  /** True until the response is sent or the client is gone. */
  get open(): boolean {
    return !this.finished && !this.aborted
  }

  /** Run `fn` once when the response ends for any reason. */
  onDone(fn: () => void): void {
    if (this.finished) fn()
    else (this.cleanups ??= []).push(fn)
  }

  /** Status, headers and a complete body, in one corked burst. */
  send(status: number, headers: Headers | HeaderBlock, body: Buffer | string, head = false, more?: MoreHeaders): void {
    if (!this.open) return
    const buf = typeof body === 'string' ? (body === '' ? EMPTY : Buffer.from(body)) : body
    this.status = status
    const noBody = head || this.head
    // The hot path (a part or segment answered in the handler) allocates no cork callback.
    if (this.synchronous) this.writeWhole(status, headers, buf, noBody, more)
    else this.res.cork(() => this.writeWhole(status, headers, buf, noBody, more))
  }

  private writeWhole(status: number, headers: Headers | HeaderBlock, buf: Buffer, noBody: boolean, more: MoreHeaders | undefined): void {
    this.writeHead(status, headers, more)
    if (bodiless(status)) return this.endBodiless(status, undefined)
    if (noBody) return this.endBodiless(status, buf.length)
    this.tryEndFrom(buf, buf.length)
  }

  /** A short text response (errors, health). */
  text(status: number, body: string, headers: Headers = {}): void {
    this.send(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers }, body)
  }

  /** A body of unknown length, chunked (rule 6). */
  chunked(status: number, headers: Headers): ChunkedBody {
    return new UwsChunked(this, status, headers)
  }

  /** Follow a body still arriving: tryEnd pieces with a known length (5), chunked writes without (6). */
  stream(status: number, headers: Headers, body: GrowingBody): void {
    if (!this.open) return
    const total = body.done && !body.error ? body.size : body.expectedLength
    if (total === undefined && !this.head) return this.streamChunked(status, headers, body)
    const res = this.res
    this.status = status
    if (this.head) {
      // Length as GET would send it when known; without one GET would be chunked, and says none.
      return this.corked(() => {
        this.writeHead(status, headers, undefined)
        this.endBodiless(status, total)
      })
    }
    const length = total!
    this.corked(() => this.writeHead(status, headers, undefined))
    let blocked = false
    const start = res.getWriteOffset()
    const pump = (): void => {
      if (!this.open || blocked) return
      this.corked(() => {
        for (;;) {
          const pos = res.getWriteOffset() - start
          const piece = body.sliceFrom(pos, MAX_PIECE)
          if (!piece) break
          const [ok, done] = res.tryEnd(piece, length)
          // After the last byte the response is gone: touch nothing more (3).
          if (done) return this.finish()
          if (!ok) {
            blocked = true
            return
          }
        }
        // Zero-length bodies never pass through tryEnd above.
        if (body.done && !body.error && res.getWriteOffset() - start >= length) {
          res.end()
          this.finish()
        }
      })
      if (this.open && !blocked && body.error) this.cut()
    }
    res.onWritable(() => {
      blocked = false
      pump()
      return !blocked
    })
    this.onDone(body.subscribe(pump))
    pump()
  }

  /** A growing body without a known length, through the chunked writer. */
  private streamChunked(status: number, headers: Headers, body: GrowingBody): void {
    const out = this.chunked(status, headers)
    let pos = 0
    const pump = (): void => {
      if (!out.open) return
      for (let piece = body.sliceFrom(pos, MAX_PIECE); piece; piece = body.sliceFrom(pos, MAX_PIECE)) {
        pos += piece.length
        out.write(piece)
      }
      if (body.error) out.abort()
      else if (body.done) out.end()
    }
    this.onDone(body.subscribe(pump))
    pump()
  }

  /** Run `fn` corked, unless uWS's handler is running (it corks itself). */
  corked(fn: () => void): void {
    if (this.synchronous) fn()
    else this.res.cork(fn)
  }

  /** Status line (none for 200: uWS sends "200 OK" unless told otherwise) and headers. */
  writeHead(status: number, headers: Headers | HeaderBlock, more: MoreHeaders | undefined): void {
    const res = this.res
    if (status !== 200) res.writeStatus(statusLine(status))
    if (headers instanceof HeaderBlock) {
      const l = headers.lines
      for (let i = 0; i < l.length; i += 2) res.writeHeader(l[i]!, l[i + 1]!)
    } else {
      for (const k in headers) res.writeHeader(k, headers[k]!)
    }
    if (more) for (let i = 0; i < more.length; i += 2) res.writeHeader(more[i]!, more[i + 1]!)
  }

  /** End without a body, saying `length` as GET's Content-Length when known (never for 204 and 304). */
  private endBodiless(status: number, length: number | undefined): void {
    if (length !== undefined) this.res.writeHeader('Content-Length', String(length))
    this.res.endWithoutBody()
    this.finish()
  }

  /** Rule 5: one tryEnd, then resume from the write offset whenever the socket drains. */
  private tryEndFrom(body: Buffer, total: number): void {
    // One body per response, so its first byte is at write offset 0.
    const [ok, done] = this.res.tryEnd(body, total)
    if (done) return this.finish()
    if (ok) return
    this.res.onWritable((offset) => {
      if (!this.open) return true
      const [ok2, done2] = this.res.tryEnd(body.subarray(offset), total)
      if (done2) this.finish()
      return ok2
    })
  }

  /** Chunked write of one piece; false when uWS buffered it (the socket is backed up). */
  writePiece(piece: Buffer): boolean {
    return this.res.write(piece)
  }

  /** Call `fn` once the socket drains. */
  onDrain(fn: () => void): void {
    this.res.onWritable(() => {
      fn()
      return true
    })
  }

  /** End a chunked body (its last, empty chunk). */
  endChunked(): void {
    this.res.end()
    this.finish()
  }

  /** Close the connection: a truncated body must never look complete. The response did not succeed. */
  cut(): void {
    if (!this.open) return
    this.status = 0
    this.finish()
    this.res.close()
  }

  private finish(): void {
    if (this.finished) return
    this.finished = true
    this.listener?.(this)
    const fns = this.cleanups
    if (fns) {
      this.cleanups = undefined
      for (const fn of fns) fn()
    }
  }
}

/** A chunked body over a UwsReply (rule 6): pieces of at most MAX_PIECE, paused while the socket is backed up. */
class UwsChunked implements ChunkedBody {
  private readonly reply: UwsReply
  private readonly statusCode: number
  private readonly headers: Headers
  private readonly queue: Buffer[] = []
  private paused = false
  private ending = false
  private started = false
  written = 0

  constructor(reply: UwsReply, status: number, headers: Headers) {
    this.reply = reply
    this.statusCode = status
    this.headers = headers
  }

  get open(): boolean {
    return this.reply.open && !this.ending
  }

  write(bytes: Buffer): void {
    if (!this.open || bytes.length === 0) return
    this.queue.push(bytes)
    this.pump()
  }

  end(): void {
    if (!this.reply.open || this.ending) return
    this.ending = true
    this.pump()
  }

  abort(): void {
    this.ending = true
    this.reply.cut()
  }

  private pump(): void {
    const reply = this.reply
    if (!reply.open) return
    reply.corked(() => {
      if (!this.started) {
        this.started = true
        reply.status = this.statusCode
        reply.writeHead(this.statusCode, this.headers, undefined)
      }
      while (!this.paused && this.queue.length > 0) {
        const head = this.queue[0]!
        const piece = head.subarray(0, MAX_PIECE)
        if (piece.length < head.length) this.queue[0] = head.subarray(MAX_PIECE)
        else this.queue.shift()
        this.written += piece.length
        if (!reply.writePiece(piece)) {
          // uWS keeps what it could not send; write nothing more until the socket drains.
          this.paused = true
          reply.onDrain(() => {
            this.paused = false
            this.pump()
          })
        }
      }
      if (!this.paused && this.ending && this.queue.length === 0) reply.endChunked()
    })
  }
}

/** A request's fields; the remote address is formatted only when asked for (few routes need it). */
class UwsContext implements RequestContext {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly acceptEncoding: string
  readonly range: string
  readonly ifNoneMatch: string
  readonly authorization: string
  private readonly res: HttpResponse
  private remoteText: string | undefined
  /** Content-Length as sent ('' when absent); read for API paths only, the only ones with bodies. */
  private readonly contentLength: string

  constructor(res: HttpResponse, req: HttpRequest) {
    this.res = res
    // RFC 9110 9.1: methods are case-sensitive, so take the method as sent.
    this.method = req.getCaseSensitiveMethod()
    this.path = req.getUrl()
    this.query = req.getQuery() ?? ''
    // Media (.m4s, .mp4) is never compressed: only other paths need Accept-Encoding.
    this.acceptEncoding = this.path.endsWith('.m4s') || this.path.endsWith('.mp4') ? '' : req.getHeader('accept-encoding')
    this.range = req.getHeader('range')
    this.ifNoneMatch = req.getHeader('if-none-match')
    // Headers only some routes use are read for those paths alone: each read is a native call.
    const api = this.path.startsWith('/api/')
    this.authorization = api ? req.getHeader('authorization') : ''
    this.contentLength = api ? req.getHeader('content-length') : ''
  }

  readBody(limit: number): Promise<Buffer | 'too-large'> {
    // uWS has validated the framing; a declared length over the limit needs no reading.
    if (this.contentLength !== '' && Number(this.contentLength) > limit) return Promise.resolve('too-large')
    return new Promise((resolve) => {
      const chunks: Buffer[] = []
      let size = 0
      let settled = false
      // uWS keeps parsing (and discarding) what follows once nobody wants it, so the
      // connection stays usable for the next request.
      this.res.onData((chunk, isLast) => {
        if (settled) return
        size += chunk.byteLength
        if (size > limit) {
          settled = true
          return resolve('too-large')
        }
        chunks.push(Buffer.from(new Uint8Array(chunk))) // a copy (rule 7)
        if (isLast) {
          settled = true
          resolve(Buffer.concat(chunks, size))
        }
      })
    })
  }

  get remote(): string {
    return (this.remoteText ??= Buffer.from(this.res.getRemoteAddressAsText()).toString())
  }
}

/** Copy a request's fields out of uWS's short-lived objects (rule 2). */
export function readRequest(res: HttpResponse, req: HttpRequest): RequestContext {
  return new UwsContext(res, req)
}
