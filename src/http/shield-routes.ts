/**
 * Shield request handling: validate the path, ask the cache, and answer from
 * the entry it gives (streaming it if still filling), with `Age` (RFC 9111 5.1),
 * the origin's caching headers passed through, and CORS on every response.
 */
import type { ShieldCache } from '../cache/shield-cache.js'
import type { CacheEntry } from '../cache/entry.js'
import type { Lookup } from '../cache/collapser.js'
import { CORS, type Headers, type Reply, type RequestContext } from './reply.js'
import { NO_STORE, acceptsGzip } from './cache-policy.js'
import { gzipSync } from 'node:zlib'
import { noneMatch, sendRange } from './conditional.js'

/** Path characters the shield forwards: the URL contract's alphabet plus common media names. */
const SAFE_PATH = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,254})+$/

const PASS = ['content-type', 'cache-control', 'etag', 'last-modified', 'expires', 'content-encoding', 'vary', 'retry-after']

/** Why a path is refused, or undefined if it may be forwarded upstream. */
export function refusePath(path: string): string | undefined {
  if (path === '/') return undefined
  if (!SAFE_PATH.test(path)) return 'not found'
  if (path.split('/').some((s) => s === '.' || s === '..')) return 'not found'
  // The admin API belongs to the origin and is never relayed: a shield next to its origin
  // reaches it from loopback, which the origin trusts without a token.
  if (path === '/api' || path.startsWith('/api/')) return 'not found'
  return undefined
}

const CASED = new Map(PASS.map((n) => [n, n.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase())]))
/** The origin's headers as sent on, computed once per entry (hits are the hot path). */
const passed = new WeakMap<CacheEntry, Headers>()

/**
 * Response headers for a cached or filling entry. A compressible text says
 * `Vary: Accept-Encoding` in both its forms (RFC 9110 12.5.5), so a cache
 * below the shield never hands the gzip form to a client that did not ask.
 */
export function entryHeaders(entry: CacheEntry, source: string): Headers {
  let base = passed.get(entry)
  if (!base) {
    base = { ...CORS }
    for (const [name, cased] of CASED) {
      const v = entry.headers[name]
      if (v !== undefined) base[cased] = v
    }
    if (compressible(entry)) base.Vary = withAcceptEncoding(base.Vary)
    passed.set(entry, base)
  }
  return { ...base, Age: String(entry.age()), 'X-Cache': source.toUpperCase() }
}

/** Gzipped bodies of complete text entries (playlists, MPDs), made once per entry. */
const gzipped = new WeakMap<CacheEntry, Buffer>()
const TEXT = /mpegurl|dash\+xml|json|text\//i

/** A successful plain text (the upstream client decodes whatever came encoded). */
const compressible = (entry: CacheEntry): boolean =>
  entry.status === 200 && !entry.headers['content-encoding'] && TEXT.test(entry.headers['content-type'] ?? '')

/** `vary` with Accept-Encoding in it once. */
function withAcceptEncoding(vary: string | undefined): string {
  if (!vary) return 'Accept-Encoding'
  return /(^|,)\s*(accept-encoding|\*)\s*(,|$)/i.test(vary) ? vary : `${vary}, Accept-Encoding`
}

/** The gzip form's validator: another encoding is another representation, so a strong ETag turns weak (RFC 9110 8.8.3). */
const weak = (etag: string | undefined): string | undefined => (etag === undefined || etag.startsWith('W/') ? etag : `W/${etag}`)

/** The gzip form of a complete text entry the client accepts gzip for (6.2.1: playlists gzip-able). */
function gzipFor(ctx: RequestContext, entry: CacheEntry): Buffer | undefined {
  if (!compressible(entry)) return undefined
  if (!acceptsGzip(ctx.acceptEncoding)) return undefined
  let gz = gzipped.get(entry)
  if (!gz) {
    gz = gzipSync(entry.body())
    gzipped.set(entry, gz)
  }
  return gz
}

/** Answer one lookup outcome. */
export function answer(ctx: RequestContext, reply: Reply, l: Lookup): void {
  if (l.kind === 'busy') {
    return reply.text(503, `busy: ${l.reason}`, { ...CORS, 'Cache-Control': NO_STORE, 'Retry-After': String(l.retryAfter) })
  }
  if (l.kind === 'error') {
    return reply.text(l.status, `upstream failed: ${l.error.message}`, { ...CORS, 'Cache-Control': NO_STORE, 'Retry-After': '1' })
  }
  const { entry } = l
  // The entry's share of the in-flight budget is held until its last response ends.
  reply.onDone(entry.read())
  const headers = entryHeaders(entry, l.source)
  // If-None-Match is answered even while the object fills: the validator came with the head.
  if (entry.status === 200 && noneMatch(ctx.ifNoneMatch, entry.headers.etag)) return reply.send(304, headers, '')
  // A complete body goes out in one piece; a filling one follows the fill.
  if (entry.done && !entry.error) {
    // A range is of the identity form (the bytes the origin's Content-Length and ETag describe).
    if (entry.status === 200 && sendRange(ctx, reply, headers, entry.body())) return
    const gz = gzipFor(ctx, entry)
    if (gz) {
      const h: Headers = { ...headers, 'Content-Encoding': 'gzip' }
      const etag = weak(headers.Etag)
      if (etag !== undefined) h.Etag = etag
      return reply.send(entry.status, h, gz)
    }
    return reply.send(entry.status, headers, entry.body())
  }
  reply.stream(entry.status, headers, entry)
}

/** Serve one shield request from `cache`. */
export function serveShield(ctx: RequestContext, reply: Reply, cache: ShieldCache): void {
  const why = refusePath(ctx.path)
  if (why) return reply.text(404, why, { ...CORS, 'Cache-Control': 'public, max-age=60' })
  const r = cache.request(ctx.path, ctx.query)
  const cancel = cache.lookup(r, (l) => answer(ctx, reply, l))
  reply.onDone(cancel)
}
