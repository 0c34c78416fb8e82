/**
 * Conditional requests and ranges, parsed and answered in one place for origin
 * and shield: If-None-Match with the weak comparison (RFC 9110 13.1.2, 13.1.2's
 * "weak comparison function" of 8.8.3.2), then Range (RFC 9110 14). LL-HLS
 * clients in byte-range mode ask for open-ended ranges such as
 * `bytes=N-9007199254740991`; one range is served as 206, several ranges are
 * answered with the whole body (a server MAY ignore Range, 14.2).
 */
import type { HeaderBlock, Headers, MoreHeaders, Reply, RequestContext } from './reply.js'

/** What to send for a Range header against a body of `size` bytes. */
export type RangeResult =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' }

const SINGLE = /^bytes=(\d{0,16})-(\d{0,16})$/

/** Decide a Range header (empty string = no header). */
export function parseRange(header: string, size: number): RangeResult {
  if (!header) return { kind: 'full' }
  const m = SINGLE.exec(header.trim())
  // Multiple ranges, other units or junk: ignoring Range is always allowed.
  if (!m) return { kind: 'full' }
  const [, a, b] = m as unknown as [string, string, string]
  if (a === '' && b === '') return { kind: 'full' }
  if (a === '') {
    // Suffix range: the last N bytes.
    const n = Number(b)
    if (n === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(a)
  if (start >= size) return { kind: 'unsatisfiable' }
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1)
  if (end < start) return { kind: 'full' } // invalid: ignore the header
  return { kind: 'partial', start, end }
}

/** The opaque part of an entity tag: the weak comparison ignores the `W/` prefix (RFC 9110 8.8.3.2). */
const opaque = (etag: string): string => (etag.startsWith('W/') ? etag.slice(2) : etag)

/**
 * True when If-None-Match names `etag` or is `*` (RFC 9110 13.1.2: "A recipient MUST use the
 * weak comparison function when comparing entity tags for If-None-Match"), so `W/"x"` matches `"x"`.
 */
export function noneMatch(ifNoneMatch: string, etag: string | undefined): boolean {
  if (ifNoneMatch === '' || etag === undefined) return false
  const want = opaque(etag)
  for (const e of ifNoneMatch.split(',')) {
    const tag = e.trim()
    if (tag === '*' || opaque(tag) === want) return true
  }
  return false
}

/**
 * Answer the request's Range against `body`: 206 with the one range, or 416 for a range
 * beyond the end; false when the whole body is to be sent (no Range, several, or junk).
 */
export function sendRange(ctx: RequestContext, reply: Reply, headers: Headers | HeaderBlock, body: Buffer, more: MoreHeaders = []): boolean {
  if (ctx.range === '') return false
  const range = parseRange(ctx.range, body.length)
  if (range.kind === 'full') return false
  if (range.kind === 'unsatisfiable') {
    reply.send(416, headers, '', false, [...more, 'Content-Range', `bytes */${body.length}`])
    return true
  }
  reply.send(206, headers, body.subarray(range.start, range.end + 1), false, [...more, 'Content-Range', `bytes ${range.start}-${range.end}/${body.length}`])
  return true
}

/**
 * Answer a GET or HEAD of a complete representation: 304 when If-None-Match names its
 * `etag` (13.2.2: evaluated before Range), else 206/416 for a Range, else 200 with `body`.
 */
export function sendRepresentation(ctx: RequestContext, reply: Reply, headers: Headers | HeaderBlock, body: Buffer, o: { etag?: string; more?: MoreHeaders } = {}): void {
  if (noneMatch(ctx.ifNoneMatch, o.etag)) return reply.send(304, headers, '', false, o.more)
  if (sendRange(ctx, reply, headers, body, o.more)) return
  reply.send(200, headers, body, false, o.more)
}
