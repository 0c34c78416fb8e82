/**
 * Which web pages may drive the admin API. A browser attaches no bearer token
 * by itself, but without a token the API trusts the loopback address, and every
 * page open in a browser on this machine speaks from it. So, with no token, a
 * request naming a foreign `Origin` is refused, and so is one whose `Host` is
 * not a loopback name (DNS rebinding: evil.example re-resolved to 127.0.0.1 is
 * same-origin to the browser, but still says `Host: evil.example`). With a
 * token, CORS is granted only to the origins listed in `api.corsOrigins`.
 */
import type { HttpRequest } from 'uWebSockets.js'
import { isLoopback } from '../config/address.js'
import type { Headers, RequestContext } from './reply.js'

/** Origin and Host of API requests, copied out of uWS's request while it lives. */
const seen = new WeakMap<RequestContext, { origin: string; host: string }>()

/** True for the API's paths (answered by serveApi, preflights included). */
export function isApiPath(path: string): boolean {
  return path === '/api/v1' || path.startsWith('/api/')
}

/** Record the Origin and Host headers of an API request (others pay one string test); returns `ctx`. */
export function noteApiHeaders(ctx: RequestContext, req: HttpRequest): RequestContext {
  if (isApiPath(ctx.path)) seen.set(ctx, { origin: req.getHeader('origin'), host: req.getHeader('host') })
  return ctx
}

/** The Origin and Host an API request carried ('' when absent or not recorded). */
export function apiHeaders(ctx: RequestContext): { origin: string; host: string } {
  return seen.get(ctx) ?? { origin: '', host: '' }
}

/** What the origin rules need from the config. */
export interface OriginPolicy {
  /** A bearer token is required (api.token or STREAMD_API_TOKEN). */
  token: boolean
  /** Origins granted CORS, as browsers serialise them (`https://admin.example`). */
  corsOrigins: readonly string[]
}

/** The decision on one request: refused (403, no CORS headers) or allowed with these CORS headers. */
export type OriginDecision = { allowed: false; message: string } | { allowed: true; cors: Headers }

/** The host part of a Host header value (`name`, `name:port`, `[v6]:port`), lower-cased; undefined when malformed. */
export function hostName(host: string): string | undefined {
  const m = /^(\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9._-]{1,253})(?::\d{1,5})?$/.exec(host)
  return m ? m[1]!.toLowerCase() : undefined
}

/** True when a Host header names this machine: `localhost` or a loopback address, with or without a port. */
export function isLoopbackHost(host: string): boolean {
  const name = hostName(host)
  if (name === undefined) return false
  if (name === 'localhost' || name === 'localhost.') return true
  return isLoopback(name)
}

/** `origin` (an Origin header) is the server's own: same scheme-less host and port as `host`. */
function sameOrigin(origin: string, host: string): boolean {
  try {
    const o = new URL(origin)
    if (o.protocol !== 'http:' && o.protocol !== 'https:') return false
    // The URL parser drops a default port, so `http://x` and Host `x:80` compare equal.
    return new URL(`${o.protocol}//${host}`).host === o.host
  } catch {
    return false
  }
}

/** CORS headers for an origin the config lists (RFC 9110 12.5.5: the answer varies by Origin). */
function corsFor(origin: string): Headers {
  return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin', 'Access-Control-Expose-Headers': 'Content-Length, Date, WWW-Authenticate' }
}

/** Decide a request from its Origin and Host headers under `p`. */
export function decideOrigin(origin: string, host: string, p: OriginPolicy): OriginDecision {
  if (!p.token) {
    if (!isLoopbackHost(host)) {
      return { allowed: false, message: `the API answers to loopback host names only (localhost, 127.0.0.1, [::1]), not ${JSON.stringify(host.slice(0, 100))}; set api.token to reach it under another name` }
    }
    // No token: no page but the server's own may call (there is no CORS to grant).
    if (origin === '' || sameOrigin(origin, host)) return { allowed: true, cors: {} }
    return { allowed: false, message: 'requests from other web origins are refused; set api.token and api.corsOrigins to allow a page to call the API' }
  }
  if (origin === '' || sameOrigin(origin, host)) return { allowed: true, cors: {} }
  if (p.corsOrigins.includes(origin)) return { allowed: true, cors: corsFor(origin) }
  return { allowed: false, message: `origin ${JSON.stringify(origin.slice(0, 100))} is not in api.corsOrigins` }
}

/** Headers of a preflight answer granted to a listed origin (Fetch standard: Authorization is never covered by a wildcard). */
export function preflightHeaders(cors: Headers, methods: string, allowHeaders = 'Authorization'): Headers {
  if (!cors['Access-Control-Allow-Origin']) return {}
  return { ...cors, 'Access-Control-Allow-Methods': methods, 'Access-Control-Allow-Headers': allowHeaders, 'Access-Control-Max-Age': '600' }
}
