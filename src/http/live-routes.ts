/**
 * Handlers for /live/...: playlists (with blocking reload), init segments,
 * segments and parts (held until they exist when they are about to).
 */
import { gzipSync } from 'node:zlib'
import { createHash } from 'node:crypto'
import type { LiveStream, StreamDirectory } from '../packager/live-stream.js'
import type { RenditionStore } from '../packager/rendition-store.js'
import type { PartRecord } from '../packager/types.js'
import type { Metrics } from '../log/metrics.js'
import { renderMediaPlaylist, type RenditionReport } from '../packager/hls-media-playlist.js'
import { renderMultivariant } from '../packager/hls-multivariant.js'
import { blockingSatisfied, parsePlaylistQuery, refuseBlocking } from '../packager/hls-blocking.js'
import type { Route } from './router.js'
import { queryParam } from './router.js'
import type { RequestContext } from './context.js'
import { CORS, type Reply } from './reply.js'
import * as cache from './cache-policy.js'
import { parseRange } from './range.js'

/** What the live routes read from and report to. */
export interface LiveDeps {
  directory: StreamDirectory
  metrics: Metrics
}

const M3U8 = 'application/vnd.apple.mpegurl'
const MP4 = 'video/mp4'
const M4S = 'video/iso.segment'

interface CachedText { key: string; text: Buffer; gz: Buffer; etag: string }
const playlistCache = new WeakMap<RenditionStore, Map<string, CachedText>>()

function notFound(reply: Reply, why = 'not found'): void {
  reply.text(404, why, { ...CORS, 'Cache-Control': cache.NOT_YET })
}

/** Weak ETag: the same for the gzip and identity encodings of one text. */
function textEntry(key: string, text: Buffer): CachedText {
  const etag = `W/"${createHash('sha1').update(text).digest('base64url').slice(0, 16)}"`
  return { key, text, gz: gzipSync(text), etag }
}

function sendText(ctx: RequestContext, reply: Reply, body: CachedText, type: string, cacheControl: string): void {
  const gzip = /\bgzip\b/.test(ctx.acceptEncoding)
  const headers = { ...CORS, 'Content-Type': type, 'Cache-Control': cacheControl, Vary: 'Accept-Encoding', ETag: body.etag }
  // A cache revalidating an unchanged playlist gets 304 and no body.
  if (ctx.ifNoneMatch && ctx.ifNoneMatch.split(',').some((e) => e.trim() === body.etag)) return reply.send(304, headers, '')
  if (gzip) reply.send(200, { ...headers, 'Content-Encoding': 'gzip' }, body.gz, ctx.method === 'HEAD')
  else reply.send(200, headers, body.text, ctx.method === 'HEAD')
}

function reportsFor(stream: LiveStream, self: RenditionStore): RenditionReport[] {
  const out: RenditionReport[] = []
  for (const r of stream.renditions.values()) {
    const edge = r !== self ? r.edge() : undefined
    if (edge) out.push({ uri: `../${r.name}/index.m3u8`, lastMsn: edge.msn, lastPart: edge.part })
  }
  return out
}

function playlistText(stream: LiveStream, store: RenditionStore, skip: 'YES' | 'v2' | undefined): CachedText {
  let perStore = playlistCache.get(store)
  if (!perStore) playlistCache.set(store, (perStore = new Map()))
  const key = `${stream.version}:${store.ended}`
  const slot = skip ?? 'full'
  const hit = perStore.get(slot)
  if (hit && hit.key === key) return hit
  const entry = textEntry(key, Buffer.from(renderMediaPlaylist(store, { skip, reports: reportsFor(stream, store) })))
  perStore.set(slot, entry)
  return entry
}

function mediaPlaylist(ctx: RequestContext, reply: Reply, stream: LiveStream, store: RenditionStore, metrics: Metrics): void {
  const q = parsePlaylistQuery(ctx.query)
  if (!q.ok) return reply.text(400, q.message, { ...CORS, 'Cache-Control': cache.NO_STORE })
  const td = store.timing.targetDuration
  const respond = (): void => {
    const cc = store.ended ? cache.ENDED : q.msn !== undefined ? cache.blockingPlaylist(td) : cache.livePlaylist(td)
    sendText(ctx, reply, playlistText(stream, store, q.skip), M3U8, cc)
  }
  if (q.msn === undefined || store.ended) return respond()
  const refusal = refuseBlocking(store, q.msn, q.part)
  if (refusal) return reply.text(400, refusal, { ...CORS, 'Cache-Control': cache.NO_STORE })
  const { msn, part } = q
  // 6.2.5.2: hold until available; 503 if not within three target durations.
  const cancel = store.waiters.wait(() => blockingSatisfied(store, msn, part), 3 * td * 1000, (outcome) => {
    if (outcome === 'ready') observeDelay(metrics, 'playlist', awaitedPart(store, msn, part))
    if (outcome === 'ready' || outcome === 'ended') respond()
    else if (outcome === 'timeout') reply.text(503, 'playlist update not available in time', { ...CORS, 'Cache-Control': cache.NO_STORE })
  })
  reply.onDone(cancel)
}

/** The part whose arrival satisfied a blocking request for (msn, part). */
function awaitedPart(store: RenditionStore, msn: number, part: number | undefined): PartRecord | undefined {
  const seg = store.segment(msn)
  if (part === undefined) return seg?.parts[seg.parts.length - 1]
  return seg?.parts[part] ?? store.segment(msn + 1)?.parts[0]
}

/** Record how long after a part's last frame arrived a held request for it was answered. */
function observeDelay(metrics: Metrics, kind: 'playlist' | 'part', rec: PartRecord | undefined): void {
  if (rec) metrics.blockingAnswerDelay.observe({ kind }, Math.max(0, performance.now() - rec.readyAt) / 1000)
}

function sendMedia(ctx: RequestContext, reply: Reply, data: Buffer, type: string, cacheControl = cache.IMMUTABLE): void {
  const headers = { ...CORS, 'Content-Type': type, 'Cache-Control': cacheControl, 'Accept-Ranges': 'bytes' }
  const head = ctx.method === 'HEAD'
  const range = parseRange(ctx.range, data.length)
  if (range.kind === 'full') return reply.send(200, headers, data, head)
  if (range.kind === 'unsatisfiable') {
    return reply.send(416, { ...headers, 'Content-Range': `bytes */${data.length}` }, '', head)
  }
  const slice = data.subarray(range.start, range.end + 1)
  reply.send(206, { ...headers, 'Content-Range': `bytes ${range.start}-${range.end}/${data.length}` }, slice, head)
}

function init(ctx: RequestContext, reply: Reply, store: RenditionStore): void {
  const v = queryParam(ctx.query, 'v')
  const rec = v === undefined ? store.currentInit : store.initByHash(v)
  if (!rec) return notFound(reply, 'no such init segment')
  if (v === undefined) {
    // The unversioned name follows the newest epoch, so it must not be cached long.
    return sendMedia(ctx, reply, rec.data, MP4, cache.NOT_YET)
  }
  sendMedia(ctx, reply, rec.data, MP4)
}

/** Hold a request until `get` yields bytes, the thing becomes impossible, or 3 target durations pass. */
function holdFor(ctx: RequestContext, reply: Reply, store: RenditionStore, get: () => Buffer | undefined, impossible: () => boolean, onHeldReady?: () => void): void {
  const now = get()
  if (now) return sendMedia(ctx, reply, now, M4S)
  if (impossible()) return notFound(reply)
  const cancel = store.waiters.wait(() => get() !== undefined || impossible(), 3 * store.timing.targetDuration * 1000, (outcome) => {
    const data = get()
    if (data) onHeldReady?.()
    if (data) sendMedia(ctx, reply, data, M4S)
    else if (outcome === 'timeout') reply.text(503, 'not available in time', { ...CORS, 'Cache-Control': cache.NO_STORE })
    else if (outcome !== 'cancelled') notFound(reply)
  })
  reply.onDone(cancel)
}

function segment(ctx: RequestContext, reply: Reply, store: RenditionStore, msn: number): void {
  const get = (): Buffer | undefined => {
    const s = store.segment(msn)
    return s?.complete && !s.gap ? s.data : undefined
  }
  // Only the segment in production (or the next one) is worth waiting for.
  const impossible = (): boolean => {
    const s = store.segment(msn)
    return store.ended || msn > store.upcomingMsn || (msn < store.upcomingMsn && !s) || s?.gap === true
  }
  holdFor(ctx, reply, store, get, impossible)
}

function part(ctx: RequestContext, reply: Reply, store: RenditionStore, msn: number, index: number, metrics: Metrics): void {
  const get = (): Buffer | undefined => store.part(msn, index)?.data
  const impossible = (): boolean => {
    if (store.ended || msn > store.upcomingMsn + 1) return true
    const s = store.segment(msn)
    if (s) return s.complete && index >= s.parts.length
    // Not yet started: only the next segment's first parts can be waited for.
    return msn < store.upcomingMsn || index > 1
  }
  holdFor(ctx, reply, store, get, impossible, () => observeDelay(metrics, 'part', store.part(msn, index)))
}

/** Hold a request until a starting rendition has produced media (3 target durations at most). */
function holdUntilReady(reply: Reply, store: RenditionStore, ready: () => boolean, then: () => void): void {
  const cancel = store.waiters.wait(ready, 3 * store.timing.targetDuration * 1000, (outcome) => {
    if (outcome === 'ready') then()
    else if (outcome === 'timeout') reply.text(503, 'stream is starting', { ...CORS, 'Cache-Control': cache.NO_STORE, 'Retry-After': '1' })
    else if (outcome === 'ended') notFound(reply, 'stream ended before producing media')
  })
  reply.onDone(cancel)
}

/** Serve a /live/... route. */
export function serveLive(route: Route, ctx: RequestContext, reply: Reply, deps: LiveDeps): void {
  if (!('stream' in route)) return notFound(reply)
  const stream = deps.directory.get(route.stream)
  if (!stream) return notFound(reply, 'no such stream')
  if (route.kind === 'multivariant') {
    const first = stream.renditions.values().next().value
    const render = (): void => {
      const text = renderMultivariant(stream)
      if (!text) return notFound(reply, 'stream has not produced media yet')
      sendText(ctx, reply, textEntry('', Buffer.from(text)), M3U8, cache.MULTIVARIANT)
    }
    // A player that asks just after the publish starts is held until media exists.
    if (!first || stream.ready || stream.state === 'ended') return render()
    return holdUntilReady(reply, first, () => stream.ready, render)
  }
  if (!('rendition' in route)) return notFound(reply)
  const store = stream.renditions.get(route.rendition)
  if (!store) return notFound(reply, 'no such rendition')
  switch (route.kind) {
    case 'media-playlist':
      if (store.edge() || store.ended) return mediaPlaylist(ctx, reply, stream, store, deps.metrics)
      return holdUntilReady(reply, store, () => store.edge() !== undefined, () => mediaPlaylist(ctx, reply, stream, store, deps.metrics))
    case 'init':
      return init(ctx, reply, store)
    case 'segment':
      return segment(ctx, reply, store, route.msn)
    case 'part':
      return part(ctx, reply, store, route.msn, route.part, deps.metrics)
  }
}
