/**
 * DASH handler: the MPD of a stream, whose UTCTiming names the time endpoint (time.ts).
 * The MPD is rendered once per change of the stream and served to everyone;
 * its publishTime moves only when its content does (ISO/IEC 23009-1 5.3.1.2:
 * publishTime "specifies the wall-clock time when the MPD was generated").
 */
import type { LiveStream } from '../packager/live-stream.js'
import { renderMpd } from '../packager/dash-mpd.js'
import type { SteeringView } from '../packager/hls-multivariant.js'
import type { Reply, RequestContext } from './reply.js'
import { TIME_PATH } from './time.js'
import * as cache from './cache-policy.js'
import { notFound, sendText, textEntry, unavailable, type CachedText, type LiveDeps } from './live-common.js'

/** Content type of MPDs (ISO/IEC 23009-1 Annex C). */
export const MPD_TYPE = 'application/dash+xml'


/**
 * UTCTiming URL as seen from the MPD (/live/{stream}/manifest.mpd): a relative reference,
 * resolved against the MPD's own URL (RFC 3986 5; dash.js and shaka both do so), so the
 * clock is read from whichever host served the MPD: the origin, a shield (which answers
 * /time itself) or a CDN, behind http or https, under any path prefix. A URL built from
 * the Host header would name the origin to viewers behind a cache that rewrites Host.
 */
export const TIME_FROM_MPD = `../..${TIME_PATH}`

interface MpdEntry {
  key: string
  /** Content rendered with a fixed publishTime, to tell real changes from re-renders. */
  content: string
  publishTime: number
  body: CachedText
}

/** One rendered MPD per stream: its text no longer depends on the request. */
const mpdCache = new WeakMap<LiveStream, MpdEntry>()

function mpdText(stream: LiveStream, steering: SteeringView | undefined): CachedText | undefined {
  // The pathways' order is part of the MPD (BaseURL order, ContentSteering's default).
  const order = steering?.pathways.map((p) => p.id).join(',') ?? ''
  const key = `${stream.version}:${stream.state}:${stream.timelines.length}:${order}`
  const prev = mpdCache.get(stream)
  if (prev && prev.key === key) return prev.body
  const content = renderMpd(stream, { publishTime: 0, utcUrl: TIME_FROM_MPD, steering })
  if (content === undefined) return undefined
  if (prev && prev.content === content) {
    prev.key = key
    return prev.body
  }
  const publishTime = Date.now()
  const body = textEntry(key, Buffer.from(renderMpd(stream, { publishTime, utcUrl: TIME_FROM_MPD, steering })!))
  mpdCache.set(stream, { key, content, publishTime, body })
  return body
}

/** GET /live/{stream}/manifest.mpd */
export function serveMpd(ctx: RequestContext, reply: Reply, stream: LiveStream, deps: LiveDeps): void {
  const td = deps.targetDuration
  const render = (): boolean => {
    const body = mpdText(stream, deps.steering?.view(stream.name))
    if (!body) return false
    // Like a live HLS playlist: short-lived, and an ended MPD too (the name may come back).
    sendText(ctx, reply, body, MPD_TYPE, cache.livePlaylist(td))
    return true
  }
  if (render()) return
  if (stream.state === 'ended') return notFound(reply, cache.notFound(td), 'stream ended before producing media')
  // A player that asks just after the publish starts is held until media exists.
  const cancel = stream.waiters.wait(() => mpdText(stream, deps.steering?.view(stream.name)) !== undefined || stream.state === 'ended', 3 * td * 1000, (outcome) => {
    if (outcome === 'cancelled') return
    if (!render()) {
      if (outcome === 'timeout') unavailable(reply, 'stream has not produced media yet')
      else notFound(reply, cache.notFound(td), 'stream ended before producing media')
    }
  })
  reply.onDone(cancel)
}
