/**
 * The shield's HTTP front: every path of the origin's URL space is answered
 * from the cache; only /healthz, /metrics and /time are the shield's own. Same limits
 * as the origin's server (414, 405, CORS preflight) so a CDN sees one behaviour.
 */
import uws from 'uWebSockets.js'
import { answeredBeforeRouting, handleEvery, listenApp, type Listening } from './front.js'
import type { Logger } from 'pino'
import type { Metrics } from '../log/metrics.js'
import type { ShieldCache } from '../cache/shield-cache.js'
import { CORS, type Reply, type RequestContext } from './reply.js'
import { NO_STORE } from './cache-policy.js'
import { serveShield } from './shield-routes.js'
import { serveTime, TIME_PATH } from './time.js'

/** What the shield's HTTP layer needs. */
export interface ShieldHttpDeps {
  cache: ShieldCache
  metrics: Metrics
  logger: Logger
  /** Serve HTTP/1.0 through the front (uWS behind it on a loopback port). */
  http10?: boolean
}

/** uWebSockets.js server in front of a ShieldCache. */
export class ShieldHttpServer {
  private readonly deps: ShieldHttpDeps
  private readonly app: uws.TemplatedApp
  private listening: Listening | undefined

  constructor(deps: ShieldHttpDeps) {
    this.deps = deps
    // Slow clients that never finish their headers are uWS's to time out (it drops
    // connections idle for 10 s), so they cost a socket each and never a fill.
    this.app = uws.App()
    // Counted by route and final status once each response ends, as on the origin.
    const count = (reply: Reply): void => {
      if (reply.label) deps.metrics.countRequest(reply.label, reply.status)
    }
    handleEvery(this.app, deps.logger, count, (ctx, reply) => this.handle(ctx, reply), deps.http10 === true)
  }

  /** Listen on host:port (0 = any free port); resolves with the bound port. */
  async listen(host: string, port: number): Promise<number> {
    this.listening = await listenApp(this.app, host, port, this.deps.http10 ? this.deps.logger : undefined)
    return this.listening.port
  }

  /** Stop accepting connections. */
  close(): void {
    this.listening?.close()
    this.listening = undefined
  }

  private handle(ctx: RequestContext, reply: Reply): void {
    if (answeredBeforeRouting(ctx, reply)) return
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      reply.label = 'other'
      return reply.text(405, 'method not allowed', { ...CORS, Allow: 'GET, HEAD, OPTIONS' })
    }
    if (ctx.path === '/healthz') return reply.text(200, 'ok\n', { 'Cache-Control': NO_STORE })
    // The MPD's UTCTiming names /time relative to the MPD: players behind the shield read the
    // shield's clock, never a cached or forwarded one (a cached time is a wrong time).
    if (ctx.path === TIME_PATH) {
      reply.label = 'time'
      return serveTime(ctx, reply)
    }
    if (ctx.path === '/metrics') {
      const registry = this.deps.metrics.registry
      registry.metrics().then(
        (text) => reply.send(200, { 'Content-Type': registry.contentType, 'Cache-Control': NO_STORE }, text),
        () => reply.text(500, 'metrics failed'),
      )
      return
    }
    reply.label = 'shield'
    serveShield(ctx, reply, this.deps.cache)
  }
}
