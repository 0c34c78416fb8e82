/**
 * Blocking playlist reload (rfc8216bis 6.2.5.2): parsing `_HLS_msn`,
 * `_HLS_part`, `_HLS_skip` strictly, and deciding when a request is satisfied.
 */
import type { RenditionStore } from './rendition-store.js'

/** A parsed, validated playlist request. */
export type PlaylistQuery =
  | { ok: true; msn?: number; part?: number; skip?: 'YES' | 'v2' }
  | { ok: false; status: 400; message: string }

const DIGITS = /^\d{1,15}$/

/**
 * Parse the `_HLS_*` parameters from a raw query string. Duplicates, signs,
 * non-digits and values past 15 digits are refused rather than guessed at.
 */
export function parsePlaylistQuery(query: string): PlaylistQuery {
  const seen = new Map<string, string>()
  if (query.length > 0) {
    for (const pair of query.split('&')) {
      if (pair === '') continue
      const eq = pair.indexOf('=')
      const key = eq < 0 ? pair : pair.slice(0, eq)
      const value = eq < 0 ? '' : pair.slice(eq + 1)
      if (!key.startsWith('_HLS_')) continue // other parameters are the client's business
      if (seen.has(key)) return { ok: false, status: 400, message: `duplicate ${key}` }
      seen.set(key, value)
    }
  }
  const out: { ok: true; msn?: number; part?: number; skip?: 'YES' | 'v2' } = { ok: true }
  const msn = seen.get('_HLS_msn')
  const part = seen.get('_HLS_part')
  const skip = seen.get('_HLS_skip')
  if (msn !== undefined) {
    if (!DIGITS.test(msn)) return { ok: false, status: 400, message: '_HLS_msn must be a decimal integer' }
    out.msn = Number(msn)
  }
  if (part !== undefined) {
    if (msn === undefined) return { ok: false, status: 400, message: '_HLS_part requires _HLS_msn' }
    if (!DIGITS.test(part)) return { ok: false, status: 400, message: '_HLS_part must be a decimal integer' }
    out.part = Number(part)
  }
  if (skip !== undefined) {
    if (skip !== 'YES' && skip !== 'v2') return { ok: false, status: 400, message: '_HLS_skip must be YES or v2' }
    out.skip = skip
  }
  return out
}

/** Parts in three seconds (or three parts when parts are a second or longer): 6.2.5.2. */
export function advancePartLimit(store: RenditionStore): number {
  const pt = store.timing.partTarget
  return pt < 1 ? Math.ceil(3 / pt) : 3
}

/**
 * Why a blocking request cannot be satisfied as asked (400), or undefined if it
 * may wait. `last` is the newest segment holding parts.
 */
export function refuseBlocking(store: RenditionStore, msn: number, part: number | undefined): string | undefined {
  const edge = store.edge()
  const lastMsn = edge?.msn ?? store.upcomingMsn - 1
  if (msn > lastMsn + 2) return `_HLS_msn ${msn} is beyond the last media sequence number ${lastMsn} plus two`
  if (part !== undefined) {
    // "exceeds the last Partial Segment in the current Playlist by the Advance Part Limit":
    // in the same segment, count from its last part; in a later one, from that segment's start.
    const lastPart = edge?.part ?? -1
    const ahead = msn === lastMsn ? part - lastPart : msn > lastMsn ? part + 1 : 0
    if (ahead > advancePartLimit(store)) return `_HLS_part ${part} is beyond the advance part limit of ${advancePartLimit(store)} parts`
  }
  return undefined
}

/**
 * True when the playlist contains segment `msn` (whole), or part `part` of it;
 * a part index past the last of a complete segment means part 0 of the next.
 */
export function blockingSatisfied(store: RenditionStore, msn: number, part: number | undefined): boolean {
  if (store.ended) return true // ENDLIST: blocking parameters are ignored
  const seg = store.segment(msn)
  if (!seg) {
    const first = store.segments[0]
    return first !== undefined && msn < first.msn
  }
  if (part === undefined) return seg.complete
  if (part < seg.parts.length) return true
  if (!seg.complete) return false
  return (store.segment(msn + 1)?.parts.length ?? 0) > 0
}
