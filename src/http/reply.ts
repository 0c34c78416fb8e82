/**
 * What routes see of a request and its response, independent of the transport:
 * `RequestContext` (the request's fields, copied out) and `Reply` (a response
 * that can be finished from any context, exactly once). uws-reply.ts implements
 * them over uWebSockets.js; another transport (node:http2) implements the same
 * interfaces and the routes do not change.
 */

/** Header name → value; names are written as given. */
export type Headers = Record<string, string>

/** Status lines by code: the one table every writer uses. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: '200 OK', 202: '202 Accepted', 204: '204 No Content', 206: '206 Partial Content', 304: '304 Not Modified',
  400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden', 404: '404 Not Found', 405: '405 Method Not Allowed',
  409: '409 Conflict', 410: '410 Gone', 413: '413 Content Too Large', 414: '414 URI Too Long', 416: '416 Range Not Satisfiable', 500: '500 Internal Server Error',
  502: '502 Bad Gateway', 503: '503 Service Unavailable', 504: '504 Gateway Timeout',
}

/** Largest piece of a body handed to the transport in one write: bounds what one slow socket buffers. */
export const MAX_PIECE = 256 * 1024

/** CORS for every playlist and media response: any page may play. */
export const CORS: Headers = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Age, Content-Length, Content-Range, Date, ETag',
}

/**
 * Header lines encoded to bytes once, for responses sent tens of thousands of
 * times a second (segments, parts): each string header costs a UTF-8 copy.
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
 * Several header lines as one name/value pair: `[n1, "v1\r\nn2: v2..."]`. An HTTP/1.1
 * writer sends `name: value\r\n` as given, so the bytes on the wire are exactly those of
 * one call per header, at the cost of one native call; the values are streamd's own
 * constants, never anything a client sent (a CR or LF in one is refused here).
 */
export function joinHeaders(pairs: ReadonlyArray<readonly [string, string]>): [string, string] | undefined {
  const [first, ...rest] = pairs
  if (!first) return undefined
  for (const [k, v] of pairs) if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) throw new Error(`header ${JSON.stringify(k)} holds a line break`)
  return [first[0], [first[1], ...rest.map(([k, v]) => `${k}: ${v}`)].join('\r\n')]
}

/** Extra header pairs after a shared set: name, value, name, value... (strings or encoded bytes). */
export type MoreHeaders = ReadonlyArray<string | Uint8Array>

/** A body of unknown length, sent as its bytes come into being. */
export interface ChunkedBody {
  /** True while the client is there and the body has not ended. */
  readonly open: boolean
  /** Bytes handed on so far. */
  readonly written: number
  /** Queue bytes; they go out at once unless the client's socket is backed up. */
  write(bytes: Buffer): void
  /** End the body once everything queued is out. */
  end(): void
  /**
   * Cut the response short by closing the connection: the client sees a body without
   * its end, never a truncated object that looks whole (RFC 9112 7.1).
   */
  abort(): void
}

/** A body still arriving (a shield cache entry being filled), read from any position. */
export interface GrowingBody {
  /** Bytes received so far. */
  readonly size: number
  /** Length announced by its source, if any. */
  readonly expectedLength: number | undefined
  readonly done: boolean
  /** Set when the fill failed: a response already under way must be cut. */
  readonly error: Error | undefined
  /** Up to `max` bytes from `pos`, or undefined when none are there yet. */
  sliceFrom(pos: number, max: number): Buffer | undefined
  /** Call `fn` on every change (bytes, end, failure); returns the unsubscribe. */
  subscribe(fn: () => void): () => void
}

/** A response that is safe to finish from any context, exactly once. */
export interface Reply {
  /** Status sent, for metrics; 0 until sent, and 0 again when the response is cut short. */
  status: number
  /** Label the owner attaches for its end listener (the route kind). */
  label: string
  /** The request is a HEAD: every answer sends GET's status and headers, no body (RFC 9110 9.3.2). */
  head: boolean
  /** True until the response is sent or the client is gone. */
  readonly open: boolean
  /** Run `fn` once when the response ends for any reason (sent, aborted, cut). */
  onDone(fn: () => void): void
  /**
   * Send status, headers and a complete body; `head` sends headers only (as any HEAD
   * request does anyway). `more` adds name, value... after `headers`.
   */
  send(status: number, headers: Headers | HeaderBlock, body: Buffer | string, head?: boolean, more?: MoreHeaders): void
  /** A short text response (errors, health). */
  text(status: number, body: string, headers?: Headers): void
  /** Start a body of unknown length (chunked); status and headers go out with its first bytes. */
  chunked(status: number, headers: Headers): ChunkedBody
  /**
   * Send `body` while it is still arriving, following it as it grows: with its announced
   * length when known, chunked otherwise. A fill that fails mid-body cuts the connection.
   */
  stream(status: number, headers: Headers, body: GrowingBody): void
}

/** Called once per response when it ends (sent or aborted), e.g. to count it. */
export type ReplyListener = (reply: Reply) => void

/** The parts of a request handlers use, copied out of the transport's request. */
export interface RequestContext {
  method: string
  path: string
  query: string
  acceptEncoding: string
  range: string
  ifNoneMatch: string
  /** Remote address; read it synchronously in the handler (the transport's response may be gone later). */
  readonly remote: string
  /** Authorization header, for the API's bearer token; read for /api/ paths only. */
  readonly authorization: string
  /**
   * The request's content, at most `limit` bytes: 'too-large' as soon as it is
   * longer (a larger Content-Length says so before a byte is read; the transport
   * discards the rest). Call it synchronously in the handler, or the bytes are lost.
   * Never settles when the client leaves first. Bodies are read on /api/ paths only.
   */
  readBody(limit: number): Promise<Buffer | 'too-large'>
}
