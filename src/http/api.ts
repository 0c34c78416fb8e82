/**
 * JSON API: what is live, where it comes from (every input, and which is on
 * air), what it produces, who watches; DELETE kicks a publisher, POST .../input
 * switches inputs (api-input.ts). Guarded by a bearer token, or loopback-only when no
 * token is configured; which web pages may call it is api-origin.ts's rule.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { isLoopback } from '../config/address.js'
import type { Logger } from 'pino'
import type { InputInfo, LiveStream, OnAirInput, StreamDirectory } from '../packager/live-stream.js'
import { measureFigures } from '../packager/stats.js'
import { NO_STORE } from './cache-policy.js'
import type { Headers, Reply, RequestContext } from './reply.js'
import type { Route } from './router.js'
import { apiHeaders, decideOrigin, preflightHeaders } from './api-origin.js'
import { answerSwitch, MAX_INPUT_BODY, type SwitchInput } from './api-input.js'

/** What the API reads from and acts on. */
export interface ApiDeps {
  directory: StreamDirectory
  /** Required bearer token; null or undefined: loopback clients only. */
  apiToken?: string | null
  /** Web origins granted CORS (with a token only); none: no page but the server's own may call. */
  apiCorsOrigins?: readonly string[]
  /** Disconnect the publisher of a stream; false when nobody publishes it. */
  kick?: (name: string) => boolean
  /** Switch a stream's on-air input; without it every switch is refused (409). */
  switchInput?: SwitchInput
  /** Where switch requests and failures are logged. */
  logger?: Logger
}

/** JSON shape of one input of a stream. */
export interface InputJson {
  role: InputInfo['role']
  state: InputInfo['state']
  protocol: string
  remote: string
  /** bit/s over the last seconds. */
  bitrate: number
  /** When its publisher connected (ISO 8601). */
  since: string
  /** Milliseconds since its last media arrived, at the time of the request; null before any. */
  lastMediaAgeMs: number | null
  problem?: string
}

/** JSON shape of one stream in /api/v1/streams. */
export interface StreamJson {
  name: string
  state: string
  /** The on-air input's publisher (the only one before streams had two). */
  ingest: { protocol: string; remote: string; since: string; bitrate: number; key: string | null; tracks?: Array<{ kind: string; codec: string; language?: string; selected: boolean }> } | null
  /** Every input (primary, backup) with its state. */
  inputs: InputJson[]
  /** What viewers get: an input, the slate, or null while nothing is on air. */
  onAir: OnAirInput | null
  /** Since the current publish started; see ViewerStats for what each counts. */
  viewers: { playlistRequests: number; mediaRequests: number; distinctClients: number }
  /** Problems of the current publish a viewer would notice; empty when none. */
  warnings: string[]
  renditions: Array<{
    name: string
    codecs: string[]
    width?: number
    height?: number
    frameRate?: number
    bandwidth?: number
    lastMsn?: number
    lastPart?: number
    /** Media seconds produced per wall second (about 1 when keeping up). */
    speed?: number
    /** Why the rendition was shed, if it was. */
    shed?: string
  }>
}

/** Describe an input; its media age is counted at `now`, the time of the request. */
function inputJson(i: InputInfo, now: number): InputJson {
  return {
    role: i.role, state: i.state, protocol: i.protocol, remote: i.remote, bitrate: Math.round(i.bitrate),
    since: new Date(i.since).toISOString(),
    lastMediaAgeMs: i.lastMediaAt === undefined ? null : Math.max(0, now - i.lastMediaAt),
    ...(i.problem !== undefined ? { problem: i.problem } : {}),
  }
}

/** Describe a stream for the API as of `now`. */
export function streamJson(s: LiveStream, now = Date.now()): StreamJson {
  return {
    name: s.name,
    state: s.state,
    ingest: s.ingest
      ? { protocol: s.ingest.protocol, remote: s.ingest.remote, since: new Date(s.ingest.since).toISOString(), bitrate: Math.round(s.inputBitrate), key: s.ingest.key ?? null, ...(s.ingest.tracks ? { tracks: s.ingest.tracks } : {}) }
      : null,
    inputs: s.inputs.map((i) => inputJson(i, now)),
    onAir: s.onAir ?? null,
    viewers: { playlistRequests: s.viewers.playlistRequests, mediaRequests: s.viewers.mediaRequests, distinctClients: s.viewers.distinctClients },
    warnings: s.ingest?.warnings ?? [],
    renditions: [...s.renditions.values()].map((r) => {
      const video = r.currentInit?.tracks.find((t) => t.kind === 'video')
      const edge = r.edge()
      return {
        name: r.name,
        codecs: r.currentInit?.tracks.map((t) => t.codec) ?? [],
        width: video?.width,
        height: video?.height,
        frameRate: r.frameRate ? Math.round(r.frameRate * 1000) / 1000 : undefined,
        bandwidth: measureFigures(r)?.peakBitrate,
        lastMsn: edge?.msn,
        lastPart: edge?.part,
        speed: r.speed !== undefined ? Math.round(r.speed * 1000) / 1000 : undefined,
        shed: r.shed,
        lagging: r.lagging || undefined,
      }
    }),
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

/** Constant-time token check: both sides hashed first, so lengths never differ. */
function tokenMatches(header: string, token: string): boolean {
  const m = /^Bearer[ \t]+(\S{1,1024})[ \t]*$/i.exec(header)
  return !!m && timingSafeEqual(digest(m[1]!), digest(token))
}

function json(reply: Reply, status: number, body: unknown, head = false, extra: Headers = {}): void {
  reply.send(status, { 'Content-Type': 'application/json', 'Cache-Control': NO_STORE, ...extra }, JSON.stringify(body), head)
}

function error(reply: Reply, status: number, code: string, message: string, extra: Headers = {}): void {
  json(reply, status, { error: code, message }, false, extra)
}

/** Why a caller (Authorization header, remote address) may not use the API, or undefined when it may. */
export function apiDenied(authorization: string, remote: string, apiToken: string | null | undefined): { status: number; code: string; message: string } | undefined {
  if (apiToken) {
    if (tokenMatches(authorization, apiToken)) return undefined
    return { status: 401, code: 'unauthorized', message: 'send Authorization: Bearer <api token>' }
  }
  if (isLoopback(remote)) return undefined
  return { status: 403, code: 'forbidden', message: 'the API answers loopback clients only; set api.token (or STREAMD_API_TOKEN) to use it from elsewhere' }
}

/** Serve /api/v1/streams and /api/v1/streams/{name}. */
export function serveApi(route: Route, ctx: RequestContext, reply: Reply, deps: ApiDeps): void {
  const { origin, host } = apiHeaders(ctx)
  const gate = decideOrigin(origin, host, { token: !!deps.apiToken, corsOrigins: deps.apiCorsOrigins ?? [] })
  // Refused without CORS headers, so a page that sent it can read nothing (and a preflight fails).
  if (!gate.allowed) return error(reply, 403, 'forbidden-origin', gate.message)
  const cors = gate.cors
  const allow = route.kind === 'api-stream' ? 'GET, HEAD, DELETE, OPTIONS' : route.kind === 'api-stream-input' ? 'POST, OPTIONS' : 'GET, HEAD, OPTIONS'
  // Fetch standard: a CORS preflight never carries credentials, so with a token it is answered without one.
  const preflight = ctx.method === 'OPTIONS'
  const no = preflight && deps.apiToken ? undefined : apiDenied(ctx.authorization, ctx.remote, deps.apiToken)
  if (no) return error(reply, no.status, no.code, no.message, no.status === 401 ? { ...cors, 'WWW-Authenticate': 'Bearer realm="streamd"' } : cors)
  // A JSON POST from a page needs Content-Type granted too (Fetch standard: it is not a CORS-safelisted type).
  const allowHeaders = route.kind === 'api-stream-input' ? 'Authorization, Content-Type' : 'Authorization'
  if (preflight) return reply.send(204, { ...preflightHeaders(cors, allow, allowHeaders), Allow: allow, 'Cache-Control': NO_STORE }, '')
  const head = ctx.method === 'HEAD'
  if (route.kind === 'api-streams') {
    if (ctx.method !== 'GET' && !head) return error(reply, 405, 'method-not-allowed', `${ctx.method} is not allowed here`, { ...cors, Allow: allow })
    const now = Date.now()
    return json(reply, 200, { streams: deps.directory.list().map((s) => streamJson(s, now)) }, head, cors)
  }
  if (route.kind === 'api-stream-input') return serveSwitch(route.stream, ctx, reply, deps, cors, allow)
  if (route.kind !== 'api-stream') return error(reply, 404, 'not-found', 'no such API path', cors)
  const stream = deps.directory.get(route.stream)
  if (ctx.method === 'DELETE') {
    // 204 once the publisher's connection is closed; the stream then ends as if it had left.
    if (deps.kick?.(route.stream)) return reply.send(204, { ...cors, 'Cache-Control': NO_STORE }, '')
    return error(reply, 404, 'not-found', `nobody is publishing ${route.stream}`, cors)
  }
  if (ctx.method !== 'GET' && !head) return error(reply, 405, 'method-not-allowed', `${ctx.method} is not allowed here`, { ...cors, Allow: allow })
  if (!stream) return error(reply, 404, 'not-found', `no stream named ${route.stream}`, cors)
  return json(reply, 200, streamJson(stream), head, cors)
}

/** POST /api/v1/streams/{name}/input: 404 for an unknown stream, else the body decides (api-input.ts). */
function serveSwitch(name: string, ctx: RequestContext, reply: Reply, deps: ApiDeps, cors: Headers, allow: string): void {
  if (ctx.method !== 'POST') return error(reply, 405, 'method-not-allowed', `${ctx.method} is not allowed here; POST {"input": ...}`, { ...cors, Allow: allow })
  if (!deps.directory.get(name)) return error(reply, 404, 'not-found', `no stream named ${name}`, cors)
  // Read now, inside the handler: the transport drops a body nobody asked for.
  const remote = ctx.remote
  void ctx.readBody(MAX_INPUT_BODY).then((body) => {
    const a = answerSwitch(name, body, deps.switchInput, deps.logger, remote)
    json(reply, a.status, a.body, false, cors)
  })
}
