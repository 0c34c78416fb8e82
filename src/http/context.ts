/**
 * What a handler may know about a request. uWS's `req` dies with the first
 * callback (rule 2), so everything is copied out here before any await.
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js'

/** The parts of a request handlers use, copied out of uWS. */
export interface RequestContext {
  method: string
  path: string
  query: string
  acceptEncoding: string
  range: string
  ifNoneMatch: string
  remote: string
}

/** Copy a request's fields out of uWS's short-lived objects. */
export function readRequest(res: HttpResponse, req: HttpRequest): RequestContext {
  return {
    method: req.getMethod().toUpperCase(),
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    acceptEncoding: req.getHeader('accept-encoding'),
    range: req.getHeader('range'),
    ifNoneMatch: req.getHeader('if-none-match'),
    remote: Buffer.from(res.getRemoteAddressAsText()).toString(),
  }
}
