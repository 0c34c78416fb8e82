/**
 * The one place that reads uWebSockets.js requests and writes responses. uWS's
 * `req` dies with the first callback (rule 2), so its fields are copied out at
 * once; responses apply DESIGN.md's rules:
 * onAborted registered before the handler returns an unfinished response (1), one
 * `done` flag and idempotent cleanup (3),
 * every write corked (4), known-size bodies through tryEnd + onWritable (5).
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js'

/** Header name → value; names are written as given. */
export type Headers = Record<string, string>

/** Status lines by code. */
export const STATUS_TEXT: Record<number, string> = {
  200: '200 OK', 204: '204 No Content', 206: '206 Partial Content', 304: '304 Not Modified',
  400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden', 404: '404 Not Found', 405: '405 Method Not Allowed',
  410: '410 Gone', 414: '414 URI Too Long', 416: '416 Range Not Satisfiable', 500: '500 Internal Server Error',
  502: '502 Bad Gateway', 503: '503 Service Unavailable', 504: '504 Gateway Timeout',
}
// Encoded once: uWS copies a typed array's bytes without converting a JS string.
const STATUS_LINE = new Map(Object.entries(STATUS_TEXT).map(([k, v]) => [Number(k), Buffer.from(v)]))

/** CORS for every playlist and media response: any page may play. */
export const CORS: Headers = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Age, Content-Length, Content-Range, Date, ETag',
}

/**
 * Header lines encoded to bytes once, for responses sent tens of thousands of
 * times a second (segments, parts): each string header costs uWS a UTF-8 copy.
 */
export class HeaderBlock {
  /** Name, value, name, value... (at most one pair: see joinHeaders). */
  readonly lines: readonly Buffer[]
  /** `headers` as an object, or as name/value pairs in the order they are to be sent. */
  constructor(headers: Headers | ReadonlyArray<readonly [string, string]>) {
    const joined = joinHeaders(Array.isArray(headers) ? headers : Object.entries(headers))
    this.lines = joined ? [Buffer.from(joined[0]), Buffer.from(joined[1])] : []
  }
}

/**
 * Several header lines as one name/value pair: `[n1, "v1\r\nn2: v2..."]`. uWS writes
 * `name: value\r\n` as given, so the bytes on the wire are exactly those of one call per
 * header, at the cost of one native call; the values are streamd's own constants, never
 * anything a client sent (a CR or LF in one is refused here).
 */
export function joinHeaders(pairs: ReadonlyArray<readonly [string, string]>): [string, string] | undefined {
  const [first, ...rest] = pairs
  if (!first) return undefined
  for (const [k, v] of pairs) if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) throw new Error(`header ${JSON.stringify(k)} holds a line break`)
  return [first[0], [first[1], ...rest.map(([k, v]) => `${k}: ${v}`)].join('\r\n')]
}

const EMPTY = Buffer.alloc(0)

/** Called once per response when it ends (sent or aborted), e.g. to count it. */
export type ReplyListener = (reply: Reply) => void

/** A response that is safe to finish from any context, exactly once. */
export class Reply {
  /** Status sent, for metrics; 0 until sent, and 0 again when the response is cut short. */
  status = 0
  /** Label the owner attaches for its end listener (the route kind). */
  label = ''
  /**
   * The request is a HEAD: every answer sends status and headers as for GET and no
   * body (RFC 9110 9.3.2), whichever route or error path answers it.
   */
  head = false
  /**
   * True while uWS's request handler runs: uWS corks that callback itself, so
   * a send from it needs no cork callback of its own (rule 4 covers the rest).
   */
  private synchronous: boolean
  protected readonly res: HttpResponse
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

  /**
   * The handler returned. Rule 1 asks for onAborted only when the response
   * outlives the handler, so the many answered at once skip it.
   */
  leaveHandler(): void {
    if (!this.synchronous) return
    this.synchronous = false
    if (!this.finished) this.watchAbort()
  }

  private watchAbort(): void {
    this.res.onAborted(() => {
      this.aborted = true
      // Ended before its last byte (the client left, or close() cut a stream short): whatever
      // status went out with the headers, the response did not succeed, so it counts as aborted.
      if (!this.finished) this.status = 0
      this.finish()
    })
  }

  /** True until the response is sent or the client is gone. */
  get open(): boolean {
    return !this.finished && !this.aborted
  }

  /** Run `fn` once when the response ends for any reason (sent, aborted). */
  onDone(fn: () => void): void {
    if (this.finished) fn()
    else (this.cleanups ??= []).push(fn)
  }

  /**
   * Send status, headers and a complete body; `head` sends headers only.
   * `more` adds name, value, name, value... after `headers` (per-response values beside a shared block).
   */
  send(status: number, headers: Headers | HeaderBlock, body: Buffer | string, head = false, more?: ReadonlyArray<string | Uint8Array>): void {
    if (!this.open) return
    const buf = typeof body === 'string' ? (body === '' ? EMPTY : Buffer.from(body)) : body
    this.status = status
    const bodiless = head || this.head
    if (this.synchronous) this.write(status, headers, buf, bodiless, more)
    else this.res.cork(() => this.write(status, headers, buf, bodiless, more))
  }

  /**
   * Hand the response to a streaming writer (chunked.ts) that writes status, headers and
   * body itself under the same rules; `end` must be called once it has ended the response.
   */
  takeOver(status: number): { res: HttpResponse; end: () => void } | undefined {
    if (!this.open) return undefined
    this.status = status
    return { res: this.res, end: () => this.finish() }
  }

  /** A short text response (errors, health). */
  text(status: number, body: string, headers: Headers = {}): void {
    this.send(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers }, body)
  }

  private write(status: number, headers: Headers | HeaderBlock, buf: Buffer, head: boolean, more: ReadonlyArray<string | Uint8Array> | undefined): void {
    const res = this.res
    // uWS sends "200 OK" unless told otherwise: the most common status costs no call.
    if (status !== 200) res.writeStatus(STATUS_LINE.get(status) ?? `${status} Status`)
    if (headers instanceof HeaderBlock) {
      const l = headers.lines
      for (let i = 0; i < l.length; i += 2) res.writeHeader(l[i]!, l[i + 1]!)
    } else {
      for (const k in headers) res.writeHeader(k, headers[k]!)
    }
    if (more) for (let i = 0; i < more.length; i += 2) res.writeHeader(more[i]!, more[i + 1]!)
    if (head || status === 204 || status === 304) {
      // RFC 9110 8.6: a HEAD says the Content-Length GET would send; 204 and 304 send none.
      // endWithoutBody(length) would wait for that many body bytes in this uWS build (the
      // response stays open), so the header is written here and the response ended bare.
      if (head && status !== 204 && status !== 304) res.writeHeader('Content-Length', String(buf.length))
      res.endWithoutBody()
      this.finish()
      return
    }
    this.writeBody(buf)
  }

  private writeBody(body: Buffer): void {
    const total = body.length
    // One body per response, so its first byte is at write offset 0.
    const [ok, done] = this.res.tryEnd(body, total)
    if (done) {
      this.finish()
      return
    }
    if (ok) return
    // Rule 5: resume from the write offset whenever the socket drains.
    this.res.onWritable((offset) => {
      if (!this.open) return true
      const [ok2, done2] = this.res.tryEnd(body.subarray(offset), total)
      if (done2) this.finish()
      return ok2
    })
  }

  protected finish(): void {
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

/** The parts of a request handlers use, copied out of uWS. */
export interface RequestContext {
  method: string
  path: string
  query: string
  acceptEncoding: string
  range: string
  ifNoneMatch: string
  /** Remote address; read it synchronously in the handler (uWS's response may be gone later). */
  readonly remote: string
  /** Authorization header, for the API's bearer token; read for /api/ paths only. */
  readonly authorization: string
}

/** A request's fields; the remote address is formatted only when asked for (few routes need it). */
class Context implements RequestContext {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly acceptEncoding: string
  readonly range: string
  readonly ifNoneMatch: string
  readonly authorization: string
  private readonly res: HttpResponse
  private remoteText: string | undefined

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
    this.authorization = this.path.startsWith('/api/') ? req.getHeader('authorization') : ''
  }

  get remote(): string {
    return (this.remoteText ??= Buffer.from(this.res.getRemoteAddressAsText()).toString())
  }
}

/** Copy a request's fields out of uWS's short-lived objects. */
export function readRequest(res: HttpResponse, req: HttpRequest): RequestContext {
  return new Context(res, req)
}
