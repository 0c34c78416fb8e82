/**
 * URL parsing for the public URL contract (README, "URL contract"). Pure: path in, route out.
 * Names are checked against the same alphabet ingest enforces, so `..`,
 * percent-escapes and empty segments never reach a lookup.
 */
import { isValidName } from '../media/types.js'

/** A request target this server understands. */
export type Route =
  | { kind: 'page' }
  | { kind: 'healthz' }
  | { kind: 'metrics' }
  | { kind: 'static'; file: 'hls.min.js' }
  | { kind: 'api-streams' }
  | { kind: 'api-stream'; stream: string }
  | { kind: 'api-stream-input'; stream: string }
  | { kind: 'multivariant'; stream: string }
  | { kind: 'mpd'; stream: string }
  | { kind: 'steering'; stream: string }
  | { kind: 'time' }
  | { kind: 'media-playlist'; stream: string; rendition: string }
  | { kind: 'init'; stream: string; rendition: string }
  | { kind: 'segment'; stream: string; rendition: string; msn: number }
  | { kind: 'part'; stream: string; rendition: string; msn: number; part: number }
  | { kind: 'not-found' }

/** File name of a stream's content steering manifest, under /live/{stream}/. */
export const STEERING_FILE = 'steering.json'

/** Longest path accepted; longer ones get 414. */
export const MAX_PATH = 1024
/** Longest query string accepted; longer ones get 414. */
export const MAX_QUERY = 1024

const NUMBER = /^\d{1,15}$/
const MEDIA = /^(\d{1,15})(?:\.(\d{1,6}))?\.m4s$/

function media(stream: string, rendition: string, file: string): Route {
  if (file === 'index.m3u8') return { kind: 'media-playlist', stream, rendition }
  if (file === 'init.mp4') return { kind: 'init', stream, rendition }
  const m = MEDIA.exec(file)
  if (!m) return { kind: 'not-found' }
  const msn = Number(m[1])
  if (m[2] === undefined) return { kind: 'segment', stream, rendition, msn }
  return { kind: 'part', stream, rendition, msn, part: Number(m[2]) }
}

// Every viewer asks for the same few new URLs: parsing each once saves the splitting and
// name checks per request. Only routes to live objects are kept (a stranger's random
// paths never fill it), and the map starts over when full, so it stays small.
const parsed = new Map<string, Route>()
const PARSED_MAX = 4096

/** Map a raw (undecoded) URL path to a route. The result is shared: never modify it. */
export function route(path: string): Route {
  const known = parsed.get(path)
  if (known) return known
  const r = parse(path)
  if (r.kind === 'part' || r.kind === 'segment' || r.kind === 'media-playlist' || r.kind === 'init') {
    if (parsed.size >= PARSED_MAX) parsed.clear()
    parsed.set(path, r)
  }
  return r
}

function parse(path: string): Route {
  switch (path) {
    case '/':
      return { kind: 'page' }
    case '/healthz':
      return { kind: 'healthz' }
    case '/metrics':
      return { kind: 'metrics' }
    case '/static/hls.min.js':
      return { kind: 'static', file: 'hls.min.js' }
    case '/api/v1/streams':
      return { kind: 'api-streams' }
    case '/time':
      return { kind: 'time' }
  }
  const parts = path.split('/')
  // parts[0] is '' (leading slash)
  if (parts[1] === 'api' && parts[2] === 'v1' && parts[3] === 'streams' && (parts.length === 5 || (parts.length === 6 && parts[5] === 'input'))) {
    const name = parts[4]!
    if (!isValidName(name)) return { kind: 'not-found' }
    return parts.length === 5 ? { kind: 'api-stream', stream: name } : { kind: 'api-stream-input', stream: name }
  }
  if (parts[1] !== 'live' || parts.length < 4 || parts.length > 5) return { kind: 'not-found' }
  const stream = parts[2]!
  if (!isValidName(stream)) return { kind: 'not-found' }
  if (parts.length === 4) {
    if (parts[3] === 'manifest.mpd') return { kind: 'mpd', stream }
    if (parts[3] === STEERING_FILE) return { kind: 'steering', stream }
    return parts[3] === 'index.m3u8' ? { kind: 'multivariant', stream } : { kind: 'not-found' }
  }
  const rendition = parts[3]!
  if (!isValidName(rendition)) return { kind: 'not-found' }
  return media(stream, rendition, parts[4]!)
}

/** Value of one query parameter (first occurrence), undefined when absent. */
export function queryParam(query: string, key: string): string | undefined {
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=')
    if ((eq < 0 ? pair : pair.slice(0, eq)) === key) return eq < 0 ? '' : pair.slice(eq + 1)
  }
  return undefined
}

/** True for a plausible decimal integer parameter. */
export function isNumber(v: string | undefined): v is string {
  return v !== undefined && NUMBER.test(v)
}
