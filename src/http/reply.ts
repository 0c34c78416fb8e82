/**
 * The one place that reads uWebSockets.js requests and writes responses. uWS's
 * `req` dies with the first callback (rule 2), so its fields are copied out at
 * once; responses apply DESIGN.md's rules:
 * onAborted registered at once (1), one `done` flag and idempotent cleanup (3),
 * every write corked (4), known-size bodies through tryEnd + onWritable (5).
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js'

/** Header name → value; names are written as given. */
export type Headers = Record<string, string>

/** Status lines by code. */
export const STATUS_TEXT: Record<number, string> = {
  200: '200 OK', 204: '204 No Content', 206: '206 Partial Content', 304: '304 Not Modified',
  400: '400 Bad Request', 403: '403 Forbidden', 404: '404 Not Found', 405: '405 Method Not Allowed',
  410: '410 Gone', 414: '414 URI Too Long', 416: '416 Range Not Satisfiable', 500: '500 Internal Server Error',
  502: '502 Bad Gateway', 503: '503 Service Unavailable', 504: '504 Gateway Timeout',
}

/** CORS for every playlist and media response: any page may play. */
export const CORS: Headers = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Age, Content-Length, Content-Range, Date, ETag',
}

/** A response that is safe to finish from any context, exactly once. */
export class Reply {
  /** Status sent, for metrics; 0 until sent. */
  status = 0
  protected readonly res: HttpResponse
  private finished = false
  private aborted = false
  private readonly cleanups: Array<() => void> = []

  constructor(res: HttpResponse) {
    this.res = res
    // Rule 1: registered before any return or await.
    res.onAborted(() => {
      this.aborted = true
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
    else this.cleanups.push(fn)
  }

  /** Send status, headers and a complete body; `head` sends headers only. */
  send(status: number, headers: Headers, body: Buffer | string, head = false): void {
    if (!this.open) return
    const buf = typeof body === 'string' ? Buffer.from(body) : body
    this.status = status
    this.res.cork(() => {
      this.res.writeStatus(STATUS_TEXT[status] ?? `${status} Status`)
      for (const [k, v] of Object.entries(headers)) this.res.writeHeader(k, v)
      if (head || status === 204 || status === 304) {
        this.res.endWithoutBody(head ? buf.length : undefined)
        this.finish()
        return
      }
      this.writeBody(buf)
    })
  }

  /** A short text response (errors, health). */
  text(status: number, body: string, headers: Headers = {}): void {
    this.send(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers }, body)
  }

  private writeBody(body: Buffer): void {
    const total = body.length
    const start = this.res.getWriteOffset()
    const [ok, done] = this.res.tryEnd(body, total)
    if (done) {
      this.finish()
      return
    }
    if (ok) return
    // Rule 5: resume from the write offset whenever the socket drains.
    this.res.onWritable((offset) => {
      if (!this.open) return true
      const [ok2, done2] = this.res.tryEnd(body.subarray(offset - start), total)
      if (done2) this.finish()
      return ok2
    })
  }

  protected finish(): void {
    if (this.finished) return
    this.finished = true
    for (const fn of this.cleanups.splice(0)) fn()
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
  remote: string
}

/** Copy a request's fields out of uWS's short-lived objects. */
export function readRequest(res: HttpResponse, req: HttpRequest): RequestContext {
  return {
    method: req.getMethod().toUpperCase(),
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    acceptEncoding: req.getHeader('accept-encoding'),
    range: req.getHeader('range'),
    ifNoneMatch: req.getHeader('if-none-match'),
    remote: Buffer.from(res.getRemoteAddressAsText()).toString(),
  }
}
