/**
 * Dispatch of /live/... requests to the playlist and media handlers.
 */
import type { Route } from './router.js'
import type { Reply, RequestContext } from './reply.js'
import * as cache from './cache-policy.js'
import { notFound, type LiveDeps } from './live-common.js'
import { serveMultivariant, servePlaylist } from './live-playlists.js'
import { serveInit, servePart } from './live-media.js'
import { serveMpd } from './live-dash.js'
import { serveSteering } from './live-steering.js'
import { serveSegmentStreaming } from './live-segment-stream.js'

/** What the live routes read from (defined beside the shared helpers). */
export type { LiveDeps } from './live-common.js'

/** Serve a /live/... route. */
export function serveLive(route: Route, ctx: RequestContext, reply: Reply, deps: LiveDeps): void {
  if (!('stream' in route)) return notFound(reply, cache.UNKNOWN_PATH)
  const stream = deps.directory.get(route.stream)
  const isPlaylist = route.kind === 'multivariant' || route.kind === 'media-playlist' || route.kind === 'mpd' || route.kind === 'steering'
  // B.1: a failed blocking playlist request is cached 4 target durations, others 1.
  const missing = (): string => {
    const td = deps.targetDuration
    return isPlaylist && /(^|&)_HLS_msn=/.test(ctx.query) ? cache.blockingPlaylistError(td) : cache.notFound(td)
  }
  // A removed stream's playlists are gone; its segments stay servable a while (6.2.1).
  if (!stream || (stream.removed && isPlaylist)) return notFound(reply, missing(), 'no such stream')
  // A steering reload is no viewing: players fetch it beside their playlists.
  if (route.kind === 'steering') return serveSteering(ctx, reply, stream, deps)
  if (isPlaylist) stream.viewers.playlist(ctx.remote)
  else stream.viewers.media()
  if (route.kind === 'multivariant') return serveMultivariant(ctx, reply, stream, deps)
  if (route.kind === 'mpd') return serveMpd(ctx, reply, stream, deps)
  if (!('rendition' in route)) return notFound(reply, cache.UNKNOWN_PATH)
  const store = stream.renditions.get(route.rendition)
  if (!store) return notFound(reply, missing(), 'no such rendition')
  switch (route.kind) {
    case 'media-playlist':
      return servePlaylist(ctx, reply, stream, store, deps)
    case 'init':
      return serveInit(ctx, reply, store)
    case 'segment':
      return serveSegmentStreaming(ctx, reply, store, route.msn)
    case 'part':
      return servePart(ctx, reply, store, route.msn, route.part, deps)
  }
}
