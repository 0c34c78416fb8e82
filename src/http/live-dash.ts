/**
 * DASH handlers: the MPD of a stream and the time endpoint its UTCTiming names.
 * The MPD is rendered once per change of the stream and served to everyone;
 * its publishTime moves only when its content does (ISO/IEC 23009-1 5.3.1.2:
 * publishTime "specifies the wall-clock time when the MPD was generated").
 */
import type { LiveStream } from '../packager/live-stream.js'
import { renderMpd } from '../packager/dash-mpd.js'
import { CORS, type Reply, type RequestContext } from './reply.js'
import * as cache from './cache-policy.js'
import { notFound, sendText, textEntry, unavailable, type CachedText, type LiveDeps } from './live-common.js'

/** Content type of MPDs (ISO/IEC 23009-1 Annex C). */
export const MPD_TYPE = 'application/dash+xml'

/** The time endpoint's path; its body is an ISO 8601 date (urn:mpeg:dash:utc:http-iso:2014). */
export const TIME_PATH = '/time'

interface MpdEntry {
  key: string
  /** Content rendered with a fixed publishTime, to tell real changes from re-renders. */
  content: string
  publishTime: number
  body: CachedText
}

/** Per stream, per Host header (the UTCTiming URL carries it); a handful of hosts at most. */
const mpdCache = new WeakMap<LiveStream, Map<string, MpdEntry>>()
const MAX_HOSTS = 8

/** Hosts are echoed into the MPD only when they look like a host[:port]. */
const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$/

/** UTCTiming URL: scheme-relative on the request's host, so it works behind http or https. */
export function timeUrl(host: string): string {
  return HOST.test(host) ? `//${host}${TIME_PATH}` : TIME_PATH
}

function mpdText(stream: LiveStream, host: string): CachedText | undefined {
  let perHost = mpdCache.get(stream)
  if (!perHost) mpdCache.set(stream, (perHost = new Map()))
  const key = `${stream.version}:${stream.state}:${stream.timelines.length}`
  const prev = perHost.get(host)
  if (prev && prev.key === key) return prev.body
  const utcUrl = timeUrl(host)
  const content = renderMpd(stream, { publishTime: 0, utcUrl })
  if (content === undefined) return undefined
  if (prev && prev.content === content) {
    prev.key = key
    return prev.body
  }
  const publishTime = Date.now()
  const body = textEntry(key, Buffer.from(renderMpd(stream, { publishTime, utcUrl })!))
  if (!perHost.has(host) && perHost.size >= MAX_HOSTS) perHost.delete(perHost.keys().next().value!)
  perHost.set(host, { key, content, publishTime, body })
  return body
}

/** GET /live/{stream}/manifest.mpd */
export function serveMpd(ctx: RequestContext, reply: Reply, stream: LiveStream, deps: LiveDeps): void {
  const td = deps.targetDuration
  const render = (): boolean => {
    const body = mpdText(stream, ctx.host)
    if (!body) return false
    // Like a live HLS playlist: short-lived, and an ended MPD too (the name may come back).
    sendText(ctx, reply, body, MPD_TYPE, cache.livePlaylist(td))
    return true
  }
  if (render()) return
  if (stream.state === 'ended') return notFound(reply, cache.notFound(td), 'stream ended before producing media')
  // A player that asks just after the publish starts is held until media exists.
  const cancel = stream.waiters.wait(() => mpdText(stream, ctx.host) !== undefined || stream.state === 'ended', 3 * td * 1000, (outcome) => {
    if (outcome === 'cancelled') return
    if (!render()) {
      if (outcome === 'timeout') unavailable(reply, 'stream has not produced media yet')
      else notFound(reply, cache.notFound(td), 'stream ended before producing media')
    }
  })
  reply.onDone(cancel)
}

/** GET /time: the server's clock for DASH players (UTCTiming http-iso), never cached. */
export function serveTime(ctx: RequestContext, reply: Reply): void {
  reply.send(200, {
    ...CORS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': cache.NO_STORE,
  }, new Date().toISOString(), ctx.method === 'HEAD')
}
