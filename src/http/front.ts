/**
 * What the uWebSockets.js fronts streamd runs (origin and shield) share: the
 * catch-all handler with its error answer, the answers before routing (414,
 * CORS preflight), listening and closing. One place, so a CDN sees one behaviour.
 */
import uws from 'uWebSockets.js'
import type { Logger } from 'pino'
import { CORS, type Reply, type ReplyListener, type RequestContext } from './reply.js'
import { readRequest, UwsReply } from './uws-reply.js'
import { MAX_PATH, MAX_QUERY } from './router.js'
import { NO_STORE } from './cache-policy.js'
import { startHttp10Front, withClientAddress } from './http10-front.js'
import { isApiPath, noteApiHeaders } from './api-origin.js'

/**
 * Route every request of `app` to `handle` with a Reply made inside uWS's handler, which
 * tells `listener` when it ends; a throw is logged once and answered 500, and the reply
 * learns when the handler has returned (onAborted for what outlives it). `behindFront`:
 * the app listens behind the HTTP/1.0 front, so a client's address is the one the front names.
 */
export function handleEvery(app: uws.TemplatedApp, logger: Logger, listener: ReplyListener, handle: (ctx: RequestContext, reply: Reply) => void, behindFront = false): void {
  app.any('/*', (res, req) => {
    const reply = new UwsReply(res, listener, true)
    let ctx: RequestContext | undefined
    try {
      // The API's Origin/Host are recorded on the context the handler gets (a WeakMap key).
      ctx = noteApiHeaders(behindFront ? withClientAddress(readRequest(res, req), res) : readRequest(res, req), req)
      reply.head = ctx.method === 'HEAD'
      handle(ctx, reply)
    } catch (err) {
      logger.error({ err, path: ctx?.path }, 'http handler failed')
      reply.text(500, 'internal error', { 'Cache-Control': NO_STORE })
    } finally {
      reply.leaveHandler()
    }
  })
}

/** Answer what needs no route (an overlong target: 414; a CORS preflight outside the API: 204); true when answered. */
export function answeredBeforeRouting(ctx: RequestContext, reply: Reply): boolean {
  if (ctx.path.length > MAX_PATH || ctx.query.length > MAX_QUERY) {
    reply.label = 'other'
    reply.text(414, 'URI too long', { ...CORS, 'Cache-Control': NO_STORE })
    return true
  }
  if (ctx.method === 'OPTIONS' && !isApiPath(ctx.path)) {
    reply.label = 'preflight'
    // Playlists and media are read-only for any page; the API answers its own preflights (api-origin.ts).
    reply.send(204, {
      ...CORS,
      'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
      'Access-Control-Allow-Headers': 'Range, If-None-Match',
      'Access-Control-Max-Age': '86400',
    }, '')
    return true
  }
  return false
}

/** A listening app: its bound port and how to stop accepting. */
export interface Listening {
  port: number
  close(): void
}

/**
 * Listen on host:port (0 = any free port); resolves once bound. With `http10` (a logger),
 * uWS listens on a loopback port behind the HTTP/1.0 front, which takes host:port.
 */
export async function listenApp(app: uws.TemplatedApp, host: string, port: number, http10?: Logger): Promise<Listening> {
  if (!http10) return listenUws(app, host, port)
  const inner = await listenUws(app, '127.0.0.1', 0)
  try {
    const front = await startHttp10Front(host, port, { upstreamPort: inner.port, logger: http10 })
    return { port: front.port, close: () => { front.close(); inner.close() } }
  } catch (err) {
    inner.close()
    throw new Error(`cannot listen for HTTP on ${host}:${port} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
}

/** uWS itself on host:port. */
function listenUws(app: uws.TemplatedApp, host: string, port: number): Promise<Listening> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (token) => {
      if (!token) return reject(new Error(`cannot listen for HTTP on ${host}:${port} (in use or not permitted)`))
      let open = true
      resolve({
        port: uws.us_socket_local_port(token),
        close: () => {
          if (open) uws.us_listen_socket_close(token)
          open = false
        },
      })
    })
  })
}
