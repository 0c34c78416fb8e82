/**
 * Shared pieces of the /live/... handlers: response helpers that apply the
 * caching rules (Appendix B.1), gzip, ETags and Range in one place.
 */
import { gzipSync } from 'node:zlib'
import { createHash } from 'node:crypto'
import type { StreamDirectory } from '../packager/live-stream.js'
import type { RenditionStore } from '../packager/rendition-store.js'
import type { PartRecord, SegmentRecord } from '../packager/types.js'
import type { Metrics } from '../log/metrics.js'
import type { SteeringView } from '../packager/hls-multivariant.js'
import { CORS, HeaderBlock, joinHeaders, type Reply, type RequestContext } from './reply.js'
import * as cache from './cache-policy.js'
import { noneMatch, sendRepresentation } from './conditional.js'

/** What the live routes read from and report to. */
export interface LiveDeps {
  directory: StreamDirectory
  metrics: Metrics
  /** TARGETDURATION of the server's configuration, for answers about unknown streams. */
  targetDuration: number
  /** Content steering, when pathways are configured. */
  steering?: SteeringSource
}

/** Content steering as the live routes see it: the manifest's TTL and each stream's pathways, best first. */
export interface SteeringSource {
  ttlSeconds: number
  view(stream: string): SteeringView
}

/** Content type of playlists. */
export const M3U8 = 'application/vnd.apple.mpegurl'
/** Content type of init segments. */
export const MP4 = 'video/mp4'
/** Content type of CMAF segments and parts. */
export const M4S = 'video/iso.segment'

/** A rendered text with its gzip form and ETag. */
export interface CachedText { key: string; text: Buffer; gz: Buffer; etag: string }

/** 404 with the given Cache-Control (see cache-policy for which). */
export function notFound(reply: Reply, cacheControl: string, why = 'not found'): void {
  reply.text(404, why, { ...CORS, 'Cache-Control': cacheControl })
}

/** 503 for something not available in time: not cached. */
export function unavailable(reply: Reply, why: string): void {
  reply.text(503, why, { ...CORS, 'Cache-Control': cache.NO_STORE, 'Retry-After': '1' })
}

/** Weak ETag: the same for the gzip and identity encodings of one text. */
export function textEntry(key: string, text: Buffer): CachedText {
  const etag = `W/"${createHash('sha1').update(text).digest('base64url').slice(0, 16)}"`
  return { key, text, gz: gzipSync(text), etag }
}

/** Send a playlist: gzip when acceptable (6.2.1), 304 when the client's copy is current. */
export function sendText(ctx: RequestContext, reply: Reply, body: CachedText, type: string, cacheControl: string): void {
  const headers = { ...CORS, 'Content-Type': type, 'Cache-Control': cacheControl, Vary: 'Accept-Encoding', ETag: body.etag }
  if (noneMatch(ctx.ifNoneMatch, body.etag)) return reply.send(304, headers, '')
  if (cache.acceptsGzip(ctx.acceptEncoding)) reply.send(200, { ...headers, 'Content-Encoding': 'gzip' }, body.gz)
  else reply.send(200, headers, body.text)
}

/** Seconds until the server plans to drop a segment (window plus grace, from its completion). */
export function plannedTtl(store: RenditionStore, seg: SegmentRecord | undefined): number {
  const td = store.timing.targetDuration
  const done = seg?.parts[seg.parts.length - 1]?.completedAt ?? Date.now()
  const left = store.timing.windowSeconds + 3 * td - (Date.now() - done) / 1000
  return Math.max(6 * td, left)
}

// The headers every media response shares, encoded once per content type.
const mediaBlocks = new Map<string, HeaderBlock>()
const mediaBlock = (type: string): HeaderBlock => {
  let b = mediaBlocks.get(type)
  if (!b) mediaBlocks.set(type, (b = new HeaderBlock({ ...CORS, 'Content-Type': type, 'Accept-Ranges': 'bytes' })))
  return b
}

// Cache-Control and Expires for a whole-second lifetime, rebuilt once a second and
// encoded as one header pair: formatting a date per request costs more than the rest.
let lifetimeSecond = -1
const lifetimes = new Map<number, [Buffer, Buffer]>()
function lifetime(ttl: number): [Buffer, Buffer] {
  const now = Date.now()
  const second = Math.floor(now / 1000)
  if (second !== lifetimeSecond) {
    lifetimeSecond = second
    lifetimes.clear()
  }
  const whole = Math.max(1, Math.floor(ttl))
  let l = lifetimes.get(whole)
  if (!l) {
    const [k, v] = joinHeaders([['Cache-Control', cache.media(whole)], ['Expires', new Date(second * 1000 + whole * 1000).toUTCString()]])!
    lifetimes.set(whole, (l = [Buffer.from(k), Buffer.from(v)]))
  }
  return l
}

/** Send media bytes: Range, a strong ETag, and a lifetime (Cache-Control + Expires, 6.2.2). */
export function sendMedia(ctx: RequestContext, reply: Reply, data: Buffer, type: string, o: { etag?: string; ttl?: number; cacheControl?: string }): void {
  let more: Array<string | Buffer>
  if (o.ttl !== undefined) {
    const [name, value] = lifetime(o.ttl)
    more = [name, value]
  } else {
    more = ['Cache-Control', o.cacheControl ?? cache.IMMUTABLE]
  }
  if (o.etag) more.push('ETag', o.etag)
  sendRepresentation(ctx, reply, mediaBlock(type), data, { etag: o.etag, more })
}

/** Record how long after a part's last frame arrived a held request for it was answered. */
export function observeDelay(metrics: Metrics, kind: 'playlist' | 'part', rec: PartRecord | undefined): void {
  if (rec) metrics.blockingAnswerDelay.observe({ kind }, Math.max(0, performance.now() - rec.readyAt) / 1000)
}
