/**
 * GET /live/{stream}/steering.json: the stream's content steering manifest
 * (HLS Content Steering; DASH-IF Content Steering reads the same document).
 * Pathways are ordered by their measured health; the query a player appends
 * (`_HLS_pathway`, `_HLS_throughput`, or the `_DASH_` forms) is validated: a
 * malformed one is 400, a pathway id that is not configured is ignored.
 */
import type { LiveStream } from '../packager/live-stream.js'
import { parseSteeringQuery, steeringManifest } from '../formats/steering/manifest.js'
import { STEERING_FILE } from './router.js'
import { CORS, type Reply, type RequestContext } from './reply.js'
import * as cache from './cache-policy.js'
import { notFound, sendText, textEntry, type LiveDeps } from './live-common.js'

/** Content type of the steering manifest (a JSON document). */
export const STEERING_TYPE = 'application/json'

/** GET /live/{stream}/steering.json */
export function serveSteering(ctx: RequestContext, reply: Reply, stream: LiveStream, deps: LiveDeps): void {
  const steering = deps.steering
  if (!steering) return notFound(reply, cache.UNKNOWN_PATH, 'content steering is not configured')
  const q = parseSteeringQuery(ctx.query)
  if (!q.ok) return reply.text(400, q.message, { ...CORS, 'Cache-Control': cache.NO_STORE })
  // The order does not depend on the client's current pathway: an unknown one changes nothing.
  const order = steering.view(stream.name).pathways.map((p) => p.id)
  // RELOAD-URI relative to this manifest: the next reload goes where this one came from.
  const body = JSON.stringify(steeringManifest(order, steering.ttlSeconds, STEERING_FILE))
  // The manifest holds for its TTL; a cache keeps it no longer than a player would.
  sendText(ctx, reply, textEntry('', Buffer.from(body)), STEERING_TYPE, `public, max-age=${steering.ttlSeconds}`)
}
