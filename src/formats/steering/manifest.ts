/**
 * The content steering manifest (HLS Content Steering specification; DASH-IF
 * Content Steering uses the same JSON with SERVICE-LOCATION-PRIORITY), and the
 * query a player appends when it reloads one. Pure.
 */

/** HLS Content Steering: a Pathway ID holds only [a-z], [A-Z], [0-9], '.', '-' and '_'. */
export const PATHWAY_ID = /^[A-Za-z0-9._-]{1,64}$/

/** A steering manifest as sent. */
export interface SteeringManifest {
  VERSION: 1
  /** Seconds the client waits before reloading the manifest. */
  TTL: number
  'RELOAD-URI'?: string
  /** HLS: PATHWAY-IDs, most preferred first. */
  'PATHWAY-PRIORITY': string[]
  /** DASH: the same order as BaseURL@serviceLocation values. */
  'SERVICE-LOCATION-PRIORITY': string[]
}

/** One manifest serving both HLS and DASH players: each reads its own priority key and ignores the other. */
export function steeringManifest(order: string[], ttl: number, reloadUri: string | undefined): SteeringManifest {
  return { VERSION: 1, TTL: ttl, 'RELOAD-URI': reloadUri, 'PATHWAY-PRIORITY': order, 'SERVICE-LOCATION-PRIORITY': order }
}

/** The query of a steering manifest request, validated. */
export type SteeringQuery =
  | { ok: true; pathway?: string; throughput?: number }
  | { ok: false; message: string }

const THROUGHPUT = /^\d{1,15}$/

/**
 * Parse `_HLS_pathway` / `_HLS_throughput` (and DASH's `_DASH_pathway` / `_DASH_throughput`).
 * A malformed value is refused; a well-formed pathway that is not configured is the
 * caller's to ignore. Other parameters are ignored (a cache-buster must not fail a reload).
 */
export function parseSteeringQuery(query: string): SteeringQuery {
  let pathway: string | undefined
  let throughput: number | undefined
  for (const pair of query.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const name = eq < 0 ? pair : pair.slice(0, eq)
    const raw = eq < 0 ? '' : pair.slice(eq + 1)
    if (name === '_HLS_pathway' || name === '_DASH_pathway') {
      let value: string
      try {
        value = decodeURIComponent(raw)
      } catch {
        return { ok: false, message: `${name} is not valid percent-encoding` }
      }
      // hls.js sends "." before it knows any pathway.
      if (value !== '.' && !PATHWAY_ID.test(value)) return { ok: false, message: `${name} must be 1-64 characters of A-Z a-z 0-9 . - _` }
      if (pathway !== undefined && pathway !== value) return { ok: false, message: 'two different pathways in one request' }
      pathway = value
    } else if (name === '_HLS_throughput' || name === '_DASH_throughput') {
      if (!THROUGHPUT.test(raw)) return { ok: false, message: `${name} must be a whole number of bits per second` }
      throughput = Number(raw)
    }
  }
  return { ok: true, pathway, throughput }
}
