/**
 * Cache key normalisation. Two requests that must get the same bytes must map to
 * one key, or the shield fans out to the origin: parameters are sorted, and only
 * the LL-HLS `_HLS_*` ones (rfc8216bis 6.2.5: they change the answer) and the ones
 * configured are kept — a player's cache-buster must not split the audience.
 */

/** A request reduced to what decides its answer. */
export interface CacheKey {
  /** The normalised path plus sorted, filtered query: the cache key. */
  key: string
  /** Path (undecoded, as received). */
  path: string
  /** The kept query, `a=1&b=2`, '' when none. */
  query: string
}

/** A content steering manifest under the URL contract. */
const STEERING = /\/steering\.json$/
/** A well-formed `_HLS_throughput` (bit/s). */
const THROUGHPUT = /^\d{1,15}$/

/** Build the key for `path?query`, keeping `_HLS_*` and the names in `keep`. */
export function cacheKey(path: string, query: string, keep: ReadonlySet<string> = new Set()): CacheKey {
  const steering = STEERING.test(path)
  const pairs: Array<[string, string]> = []
  if (query !== '') {
    for (const pair of query.split('&')) {
      if (pair === '') continue
      const eq = pair.indexOf('=')
      const name = eq < 0 ? pair : pair.slice(0, eq)
      if (!name.startsWith('_HLS_') && !keep.has(name)) continue
      const value = eq < 0 ? '' : pair.slice(eq + 1)
      // The steering manifest does not depend on the throughput a player reports (pathways are
      // ordered by probed health), and every player reports another: a well-formed one would
      // give each reload a key of its own. A malformed one is kept, so the origin refuses it.
      if (steering && name === '_HLS_throughput' && THROUGHPUT.test(value)) continue
      pairs.push([name, value])
    }
  }
  // Sort by name, then value, so the order a client chose never splits a key.
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
  const q = pairs.map(([k, v]) => (v === '' ? k : `${k}=${v}`)).join('&')
  return { key: q === '' ? path : `${path}?${q}`, path, query: q }
}

/** What kind of object a path names, for the LL-HLS rules that differ by kind. */
export type ObjectKind = 'playlist' | 'part' | 'segment' | 'init' | 'other'

/** Classify a path by its file name (the URL contract in the README; also generic HLS/DASH names). */
export function objectKind(path: string): ObjectKind {
  const file = path.slice(path.lastIndexOf('/') + 1)
  if (file.endsWith('.m3u8')) return 'playlist'
  if (/^\d+\.\d+\.m4s$/.test(file)) return 'part'
  if (file.endsWith('.mp4') && file.startsWith('init')) return 'init'
  if (/\.(m4s|ts|m4a|m4v|mp4|aac)$/.test(file)) return 'segment'
  return 'other'
}
