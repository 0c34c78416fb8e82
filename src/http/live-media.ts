/**
 * Media handlers: init segments, segments and parts. Only what is about to
 * exist is waited for: the hinted part (6.2.6: "available for request when its
 * EXT-X-PRELOAD-HINT tag is added") and the segment in production; anything
 * else absent is 404 at once.
 */
import type { RenditionStore } from '../packager/rendition-store.js'
import { queryParam } from './router.js'
import type { Reply, RequestContext } from './reply.js'
import * as cache from './cache-policy.js'
import { mediaHeaders } from './media-wire.js'
import { M4S, MP4, notFound, observeDelay, plannedTtl, sendMedia, unavailable, type LiveDeps } from './live-common.js'

/** GET .../init.mp4[?v=HASH] */
export function serveInit(ctx: RequestContext, reply: Reply, store: RenditionStore): void {
  const v = queryParam(ctx.query, 'v')
  const rec = v === undefined ? store.currentInit : store.initByHash(v)
  if (!rec) return notFound(reply, cache.notFound(store.timing.targetDuration), 'no such init segment')
  // The unversioned name follows the newest epoch, so it must not be cached long.
  if (v === undefined) return sendMedia(ctx, reply, rec.data, MP4, { cacheControl: cache.livePlaylist(store.timing.targetDuration) })
  sendMedia(ctx, reply, rec.data, MP4, { etag: `"${rec.hash}"` })
}

/** Bytes of a segment or part ready to send, with what its headers need. */
interface Media { data: Buffer; etag: string; ttl: number }

/** Answer now, or hold until `get` yields bytes (or it cannot any more): 3 target durations at most. */
function hold(ctx: RequestContext, reply: Reply, store: RenditionStore, o: {
  get: () => Media | undefined
  waitable: () => boolean
  onHeldReady?: () => void
}): void {
  const td = store.timing.targetDuration
  const send = (m: Media): void => sendMedia(ctx, reply, m.data, M4S, m)
  const now = o.get()
  if (now) return send(now)
  if (!o.waitable()) return notFound(reply, cache.notFound(td))
  const cancel = store.waiters.wait(() => o.get() !== undefined || !o.waitable(), 3 * td * 1000, (outcome) => {
    const m = o.get()
    if (m) {
      o.onHeldReady?.()
      send(m)
    } else if (outcome === 'timeout') unavailable(reply, 'not available in time')
    else if (outcome !== 'cancelled') notFound(reply, cache.notFound(td))
  })
  reply.onDone(cancel)
}

/** A complete segment's bytes, ETag and lifetime; undefined while absent or in production. */
function segmentMedia(store: RenditionStore, msn: number): Media | undefined {
  const s = store.segment(msn)
  return s?.complete && !s.gap && s.data ? { data: s.data, etag: `"${s.init.hash}-${msn}"`, ttl: plannedTtl(store, s) } : undefined
}

/** A part's bytes, ETag and lifetime; undefined while absent. */
function partMedia(store: RenditionStore, msn: number, index: number): Media | undefined {
  const s = store.segment(msn)
  const p = s?.parts[index]
  // A gap part (4.4.4.9) has no media: 404, as its segment.
  return s && p && !p.gap ? { data: p.data, etag: `"${s.init.hash}-${msn}.${index}"`, ttl: plannedTtl(store, s) } : undefined
}

/**
 * Send a ready segment or part. A plain GET (no Range, no If-None-Match: nearly every
 * request) gets headers encoded once a second for `record`; `etag` and `ttl` run only then.
 */
function sendReady(ctx: RequestContext, reply: Reply, record: object, data: Buffer, etag: () => string, ttl: () => number): void {
  if (ctx.range === '' && ctx.ifNoneMatch === '') return reply.send(200, mediaHeaders(record, M4S, etag, ttl), data)
  sendMedia(ctx, reply, data, M4S, { etag: etag(), ttl: ttl() })
}

/** GET .../{msn}.m4s */
export function serveSegment(ctx: RequestContext, reply: Reply, store: RenditionStore, msn: number): void {
  // Nearly every request names a segment that exists: answer it without building a waiter.
  const seg = store.segment(msn)
  if (seg?.complete && !seg.gap && seg.data) {
    return sendReady(ctx, reply, seg, seg.data, () => `"${seg.init.hash}-${msn}"`, () => plannedTtl(store, seg))
  }
  hold(ctx, reply, store, {
    get: () => segmentMedia(store, msn),
    // Worth waiting for: the segment in production, or the one about to start.
    waitable: () => !store.ended && msn === store.upcomingMsn,
  })
}

/** GET .../{msn}.{part}.m4s */
export function servePart(ctx: RequestContext, reply: Reply, store: RenditionStore, msn: number, index: number, deps: LiveDeps): void {
  const seg = store.segment(msn)
  const part = seg?.parts[index]
  if (seg && part && !part.gap) return sendReady(ctx, reply, part, part.data, () => `"${seg.init.hash}-${msn}.${index}"`, () => plannedTtl(store, seg))
  hold(ctx, reply, store, {
    get: () => partMedia(store, msn, index),
    // Worth waiting for: exactly the part the playlist hints next.
    waitable: () => {
      if (store.ended) return false
      const open = store.openSegment()
      return open ? open.msn === msn && open.parts.length === index : msn === store.upcomingMsn && index === 0
    },
    onHeldReady: () => observeDelay(deps.metrics, 'part', store.part(msn, index)),
  })
}
