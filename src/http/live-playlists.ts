/**
 * Playlist handlers: the multivariant playlist and LL-HLS media playlists with
 * blocking reload (rfc8216bis 6.2.5.2) and delta updates (6.2.5.1).
 */
import type { LiveStream } from '../packager/live-stream.js'
import type { RenditionStore } from '../packager/rendition-store.js'
import type { PartRecord } from '../packager/types.js'
import type { WaiterSet } from '../packager/waiters.js'
import { renderMediaPlaylist, type RenditionReport } from '../packager/hls-media-playlist.js'
import { renderMultivariant } from '../packager/hls-multivariant.js'
import { blockingSatisfied, parsePlaylistQuery, refuseBlocking } from '../packager/hls-blocking.js'
import { CORS, type Reply, type RequestContext } from './reply.js'
import * as cache from './cache-policy.js'
import { M3U8, notFound, observeDelay, sendText, textEntry, unavailable, type CachedText, type LiveDeps } from './live-common.js'

const playlistCache = new WeakMap<RenditionStore, Map<string, CachedText>>()

/** EXT-X-RENDITION-REPORT for every other rendition of the stream that has media. */
export function reportsFor(stream: LiveStream, self: RenditionStore): RenditionReport[] {
  const out: RenditionReport[] = []
  for (const r of stream.renditions.values()) {
    const edge = r !== self ? r.edge() : undefined
    if (edge) out.push({ uri: `../${r.name}/index.m3u8`, lastMsn: edge.msn, lastPart: edge.part })
  }
  return out
}

/** Rendered once per change of the stream, then served to everyone. */
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

/** The part whose arrival satisfied a blocking request for (msn, part). */
function awaitedPart(store: RenditionStore, msn: number, part: number | undefined): PartRecord | undefined {
  const seg = store.segment(msn)
  if (part === undefined) return seg?.parts[seg.parts.length - 1]
  return seg?.parts[part] ?? store.segment(msn + 1)?.parts[0]
}

/** Hold until `ready`, then run `then`; 503 after three target durations. */
function holdUntil(reply: Reply, waiters: WaiterSet, td: number, ready: () => boolean, then: () => void, onEnded: () => void): void {
  const cancel = waiters.wait(ready, 3 * td * 1000, (outcome) => {
    if (outcome === 'ready') then()
    else if (outcome === 'timeout') unavailable(reply, 'not available in time')
    else if (outcome === 'ended') onEnded()
  })
  reply.onDone(cancel)
}

function mediaPlaylist(ctx: RequestContext, reply: Reply, stream: LiveStream, store: RenditionStore, deps: LiveDeps): void {
  const q = parsePlaylistQuery(ctx.query)
  if (!q.ok) return reply.text(400, q.message, { ...CORS, 'Cache-Control': cache.NO_STORE })
  const td = store.timing.targetDuration
  const respond = (): void => {
    // An ended playlist is cached like a live one: the name may come back (B.1).
    const cc = q.msn !== undefined && !store.ended ? cache.blockingPlaylist(td) : cache.livePlaylist(td)
    sendText(ctx, reply, playlistText(stream, store, q.skip), M3U8, cc)
  }
  // 6.2.5.2: _HLS_msn and _HLS_part are ignored once the playlist has EXT-X-ENDLIST.
  if (q.msn === undefined || store.ended) return respond()
  const refusal = refuseBlocking(store, q.msn, q.part)
  if (refusal) return reply.text(400, refusal, { ...CORS, 'Cache-Control': cache.NO_STORE })
  const { msn, part } = q
  // Already there: answered now, and not a held request. The delay metric counts only held
  // ones: a client asking late for a part published long ago says nothing of the server.
  if (blockingSatisfied(store, msn, part)) return respond()
  // Hold until the playlist holds the asked-for segment or part; 503 after 3 target durations.
  holdUntil(reply, store.waiters, td, () => blockingSatisfied(store, msn, part), () => {
    observeDelay(deps.metrics, 'playlist', awaitedPart(store, msn, part))
    respond()
  }, respond)
}

/** GET /live/{stream}/{rendition}/index.m3u8 */
export function servePlaylist(ctx: RequestContext, reply: Reply, stream: LiveStream, store: RenditionStore, deps: LiveDeps): void {
  if (store.edge() || store.ended) return mediaPlaylist(ctx, reply, stream, store, deps)
  // A player that asks just after the publish starts is held until media exists.
  holdUntil(reply, store.waiters, store.timing.targetDuration, () => store.edge() !== undefined,
    () => mediaPlaylist(ctx, reply, stream, store, deps),
    () => notFound(reply, cache.notFound(store.timing.targetDuration), 'stream ended before producing media'))
}

/** GET /live/{stream}/index.m3u8 */
export function serveMultivariant(ctx: RequestContext, reply: Reply, stream: LiveStream, deps: LiveDeps): void {
  const render = (): void => {
    const text = renderMultivariant(stream, deps.steering?.view(stream.name))
    if (!text) return notFound(reply, cache.notFound(deps.targetDuration), 'stream has not produced media yet')
    sendText(ctx, reply, textEntry('', Buffer.from(text)), M3U8, cache.MULTIVARIANT)
  }
  if (stream.ready || stream.state === 'ended') return render()
  holdUntil(reply, stream.waiters, deps.targetDuration, () => stream.ready || stream.state === 'ended', render, render)
}
