/**
 * The response headers of one segment or part, encoded to bytes once a second.
 * A popular part is fetched by every viewer within the same second or two, and
 * its headers only change with the clock (Expires, a lifetime counted down from
 * its completion): building them per request would cost more than the rest of
 * the answer. One header pair carries all seven lines (see joinHeaders).
 */
import { CORS, HeaderBlock } from './reply.js'
import * as cache from './cache-policy.js'

interface Wire { second: number; block: HeaderBlock }

// Keyed by the packager's record of the object: an entry goes when the record does.
const memo = new WeakMap<object, Wire>()

/**
 * Headers for a plain 200 of `record`'s bytes (no Range, no If-None-Match): CORS,
 * type, Accept-Ranges, Cache-Control and Expires from `ttl()` seconds, ETag from
 * `etag()`. Both callbacks run at most once a second per record.
 */
export function mediaHeaders(record: object, type: string, etag: () => string, ttl: () => number): HeaderBlock {
  const now = Date.now()
  const second = Math.floor(now / 1000)
  const hit = memo.get(record)
  if (hit && hit.second === second) return hit.block
  const whole = Math.max(1, Math.floor(ttl()))
  const pairs: Array<[string, string]> = [
    ...Object.entries(CORS),
    ['Content-Type', type],
    ['Accept-Ranges', 'bytes'],
    ['Cache-Control', cache.media(whole)],
    ['Expires', new Date(second * 1000 + whole * 1000).toUTCString()],
    ['ETag', etag()],
  ]
  const block = new HeaderBlock(pairs)
  memo.set(record, { second, block })
  return block
}
