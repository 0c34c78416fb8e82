/**
 * The origin's HTTP server (uWebSockets.js, whose responses only uws-reply.ts writes).
 * Routes every request through one handler so limits, CORS and metrics apply
 * to all of them.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import uws from 'uWebSockets.js'
import { answeredBeforeRouting, handleEvery, listenApp, type Listening } from './front.js'
import type { Logger } from 'pino'
import type { Metrics } from '../log/metrics.js'
import type { StreamDirectory } from '../packager/live-stream.js'
import { CORS, type Reply, type RequestContext } from './reply.js'
import { route, type Route } from './router.js'
import { serveLive } from './live-routes.js'
import type { SteeringSource } from './live-common.js'
import { serveTime } from './time.js'
import { renderPage } from './page.js'
import { serveApi } from './api.js'
import type { SwitchInput } from './api-input.js'
import { NO_STORE, UNKNOWN_PATH } from './cache-policy.js'

/** What the HTTP layer reads from and reports to. */
export interface HttpDeps {
  directory: StreamDirectory
  metrics: Metrics
  logger: Logger
  /** Serve HTTP/1.0 through the front (uWS behind it on a loopback port). */
  http10?: boolean
  /** TARGETDURATION of the configuration, for cache lifetimes of answers about unknown streams. */
  targetDuration: number
  /** Bearer token the API requires; null: loopback clients only. */
  apiToken?: string | null
  /** Web origins granted CORS on the API (with a token only). */
  apiCorsOrigins?: readonly string[]
  /** Disconnect a stream's publisher (API DELETE); false when nobody publishes it. */
  kick?: (name: string) => boolean
  /** Put an input (or the slate) of a stream on air at that input's next key frame (API POST .../input). */
  switchInput?: SwitchInput
  /** Content steering, when pathways are configured. */
  steering?: SteeringSource
}

function loadHlsJs(): Buffer {
  const req = createRequire(import.meta.url)
  return readFileSync(req.resolve('hls.js/dist/hls.min.js'))
}

/** streamd's HTTP front: playlists, media, page, API, metrics, health. */
export class HttpServer {
  private readonly deps: HttpDeps
  private readonly app: uws.TemplatedApp
  private readonly hlsJs: Buffer
  private listening: Listening | undefined

  constructor(deps: HttpDeps) {
    this.deps = deps
    this.hlsJs = loadHlsJs()
    this.app = uws.App()
    // One listener for every response: counts it by route and final status once it ends.
    const count = (reply: Reply): void => deps.metrics.countRequest(reply.label, reply.status)
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
    const r = route(ctx.path)
    // The API answers its own methods (DELETE, POST) and auth.
    if (r.kind === 'api-streams' || r.kind === 'api-stream' || r.kind === 'api-stream-input') return this.finish(reply, r.kind, () => serveApi(r, ctx, reply, this.deps))
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      return this.finish(reply, r.kind, () => reply.text(405, 'method not allowed', { ...CORS, Allow: 'GET, HEAD, OPTIONS' }))
    }
    this.finish(reply, r.kind, () => this.dispatch(r, ctx, reply))
  }

  /** Label the request with its route (counted when it ends), then answer it. */
  private finish(reply: Reply, routeKind: string, run: () => void): void {
    reply.label = routeKind
    run()
  }

  private dispatch(r: Route, ctx: RequestContext, reply: Reply): void {
    switch (r.kind) {
      case 'healthz':
        return reply.text(200, 'ok\n', { 'Cache-Control': NO_STORE })
      case 'page':
        return reply.send(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': NO_STORE }, renderPage(this.deps.directory.list()))
      case 'static':
        return reply.send(200, { ...CORS, 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=3600' }, this.hlsJs)
      case 'metrics': {
        const registry = this.deps.metrics.registry
        registry.metrics().then(
          (text) => reply.send(200, { 'Content-Type': registry.contentType, 'Cache-Control': NO_STORE }, text),
          () => reply.text(500, 'metrics failed'),
        )
        return
      }
      case 'time':
        return serveTime(ctx, reply)
      case 'not-found':
        return reply.text(404, 'not found', { ...CORS, 'Cache-Control': UNKNOWN_PATH })
      default:
        return serveLive(r, ctx, reply, this.deps)
    }
  }
}
