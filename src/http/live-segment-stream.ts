/**
 * GET .../{msn}.m4s for a segment still being produced: the response starts with
 * the CMAF chunks (parts) already complete and sends each new one as it
 * completes, ending with the segment (DASH-IF IOP low-latency: chunked transfer
 * of segments announced early by availabilityTimeOffset). LL-HLS players get the
 * same early bytes. The next segment, not begun yet, is held until its first
 * chunk; anything later, earlier or complete takes the ordinary path
 * (live-media.ts: complete bytes with Range and ETag, or 404 at once).
 */
import type { RenditionStore } from '../packager/rendition-store.js'
import type { ChunkedBody, Reply, RequestContext } from './reply.js'
import * as cache from './cache-policy.js'
import { serveSegment } from './live-media.js'
import { M4S, notFound, plannedTtl, unavailable } from './live-common.js'
import { CORS } from './reply.js'

/** The segment in production, or the one right after it (it begins within one segment duration). */
function streamable(store: RenditionStore, msn: number): boolean {
  if (store.ended) return false
  const open = store.openSegment()
  if (open) return msn === open.msn || msn === open.msn + 1
  return msn === store.upcomingMsn
}

/** Serve a segment, streaming it chunk by chunk when it is still being produced. */
export function serveSegmentStreaming(ctx: RequestContext, reply: Reply, store: RenditionStore, msn: number): void {
  // A ranged or HEAD request wants a known length: the ordinary path waits for completion.
  if (ctx.method !== 'GET' || ctx.range !== '' || !streamable(store, msn)) return serveSegment(ctx, reply, store, msn)
  const td = store.timing.targetDuration
  let writer: ChunkedBody | undefined
  let sent = 0
  let cancel: () => void = () => {}
  reply.onDone(() => cancel())

  // Returns true once the response is finished (or handed to the ordinary path).
  const advance = (): boolean => {
    const seg = store.segment(msn)
    if (!writer) {
      if (seg?.complete || (!seg && !streamable(store, msn))) {
        // Completed (or never came) while we waited: the ordinary path answers exactly.
        serveSegment(ctx, reply, store, msn)
        return true
      }
      if (!seg || seg.parts.length === 0) return false
      writer = reply.chunked(200, {
        ...CORS, 'Content-Type': M4S, 'Cache-Control': cache.media(plannedTtl(store, seg)), ETag: `"${seg.init.hash}-${msn}"`,
      })
    }
    if (!seg) {
      // Evicted mid-stream (cannot happen within a window, but never send a wrong tail).
      writer.abort()
      return true
    }
    while (sent < seg.parts.length) writer.write(seg.parts[sent++]!.data)
    if (seg.complete) {
      writer.end()
      return true
    }
    if (store.ended) {
      writer.abort()
      return true
    }
    return false
  }

  const waitMore = (): void => {
    if (!reply.open) return
    if (advance()) return
    const seen = store.segment(msn)?.parts.length ?? -1
    cancel = store.waiters.wait(() => {
      const s = store.segment(msn)
      return (s?.parts.length ?? -1) !== seen || Boolean(s?.complete) || store.ended || (!s && !streamable(store, msn))
    }, 3 * td * 1000, (outcome) => {
      if (outcome === 'cancelled') return
      if (outcome === 'timeout') {
        // The producer stalled: nothing sent yet is a plain 503; a started body is cut.
        if (writer) writer.abort()
        else unavailable(reply, 'not available in time')
        return
      }
      if (outcome === 'ended' && !writer && !store.segment(msn)?.complete) return notFound(reply, cache.notFound(td))
      waitMore()
    })
  }
  waitMore()
}
