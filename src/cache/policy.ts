/**
 * How long the shield keeps an answer. The origin's Cache-Control decides
 * (RFC 9111 5.2.2: s-maxage over max-age, no-store and private never stored),
 * bounded for LL-HLS by rfc8216bis Appendix B.1 in target durations (TD):
 * a non-blocking playlist at most TD / 2 (so it is never served older than that),
 * a blocking playlist at most 6 TD, a 404 for a not-yet-available object at most
 * 1 TD (it is about to exist), a 404 for a blocking playlist at most 4 TD.
 * Server errors (5xx) are never stored: each fill asks again.
 */
import type { ObjectKind } from './key.js'

/** Parsed Cache-Control: the lifetime it grants, seconds; 0 = do not store. */
export function cacheControlTtl(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  let maxAge: number | undefined
  let sMaxAge: number | undefined
  for (const part of value.toLowerCase().split(',')) {
    const [name = '', arg] = part.trim().split('=')
    if (name === 'no-store' || name === 'private' || name === 'no-cache') return 0
    const n = Number(arg?.replace(/"/g, ''))
    if (name === 'max-age' && Number.isFinite(n)) maxAge = Math.max(0, n)
    if (name === 's-maxage' && Number.isFinite(n)) sMaxAge = Math.max(0, n)
  }
  return sMaxAge ?? maxAge
}

/** What the lifetime depends on besides the response itself. */
export interface TtlInput {
  status: number
  cacheControl: string | undefined
  kind: ObjectKind
  /** The request carried `_HLS_msn`. */
  blocking: boolean
  /** Target duration of the stream, seconds, when known (from this or an earlier playlist). */
  targetDuration: number | undefined
  /** Lifetime used for media without any Cache-Control, seconds. */
  defaultMediaTtl: number
}

/** Freshness lifetime in ms for a response (0: do not store). */
export function ttlMs(i: TtlInput): number {
  if (i.status >= 500 || i.status === 206 || i.status === 304) return 0
  if (i.status !== 200 && i.status !== 404 && i.status !== 410 && i.status !== 400 && i.status !== 403) return 0
  const cc = cacheControlTtl(i.cacheControl)
  if (cc === 0) return 0
  const td = i.targetDuration
  let ttl: number
  if (i.status === 200) {
    ttl = cc ?? (i.kind === 'playlist' ? 0 : i.defaultMediaTtl)
    if (i.kind === 'playlist' && td !== undefined) ttl = Math.min(ttl, i.blocking ? 6 * td : td / 2)
  } else {
    // Negative answers: only as long as the origin allows, and never past one TD for
    // objects that are about to exist (a 404 for the next part must not outlive it).
    ttl = cc ?? 0
    const bound = i.kind === 'playlist' && i.blocking ? 4 * (td ?? 1) : td ?? 1
    ttl = Math.min(ttl, bound)
  }
  return Math.max(0, Math.round(ttl * 1000))
}
