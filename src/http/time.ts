/**
 * The time endpoint DASH players synchronize their clocks with (the MPD's
 * UTCTiming, scheme urn:mpeg:dash:utc:http-iso:2014). Origin and shield both
 * answer it from their own clock: a cached or forwarded time would be wrong by
 * however long it travelled.
 */
import { CORS, type Reply, type RequestContext } from './reply.js'
import { NO_STORE } from './cache-policy.js'

/** The time endpoint's path; its body is an ISO 8601 date. */
export const TIME_PATH = '/time'

/** GET /time: this server's clock, never cached. */
export function serveTime(_ctx: RequestContext, reply: Reply): void {
  reply.send(200, { ...CORS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': NO_STORE }, new Date().toISOString())
}
