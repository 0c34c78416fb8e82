/**
 * Cache-Control values from rfc8216bis Appendix B.1 (Low-Latency Server
 * Configuration Profile), in target durations (TD) of the stream:
 *   blocking playlists: success 6 TD, failure 4 TD;
 *   non-blocking playlists: success TD / 2, failure 1 TD;
 *   media segments and parts: success 6 TD (or longer), failure 1 TD.
 */

const s = (seconds: number): number => Math.max(1, Math.floor(seconds))

/** Successful blocking playlist response (a fixed question: msn/part): six target durations. */
export function blockingPlaylist(td: number): string {
  return `public, max-age=${s(6 * td)}`
}

/** Failed blocking playlist response (404): four target durations. */
export function blockingPlaylistError(td: number): string {
  return `public, max-age=${s(4 * td)}`
}

/** Successful non-blocking live playlist (also an ended one: the name may resume): TD / 2. */
export function livePlaylist(td: number): string {
  return `public, max-age=${s(td / 2)}`
}

/** Failed non-blocking playlist or media response (404): one target duration. */
export function notFound(td: number): string {
  return `public, max-age=${s(td)}`
}

/**
 * Segments and parts: their URLs never name other content, so they may be cached
 * until the server plans to remove them (6.2.2: Expires reflects that time-to-live).
 */
export function media(ttlSeconds: number): string {
  return `public, max-age=${s(ttlSeconds)}, immutable`
}

/** Content-addressed init segments never change and outlive any one segment. */
export const IMMUTABLE = 'public, max-age=86400, immutable'

/** The multivariant playlist's attributes drift slowly (measured bandwidth). */
export const MULTIVARIANT = 'public, max-age=2'

/** Errors that depend on the request (400) or on load (503): not cached. */
export const NO_STORE = 'no-store'

/** 404 for a path outside the URL contract: it will not appear later. */
export const UNKNOWN_PATH = 'public, max-age=60'

/**
 * Whether the client accepts gzip (RFC 9110 12.5.3): listed with q > 0, or
 * covered by `*` with q > 0 when not listed.
 */
export function acceptsGzip(header: string): boolean {
  if (!header) return false
  let star: number | undefined
  for (const item of header.split(',')) {
    const [name = '', ...params] = item.trim().toLowerCase().split(';')
    const q = params.map((p) => /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined)
    const weight = q === undefined ? 1 : Number(q)
    if (name.trim() === 'gzip' || name.trim() === 'x-gzip') return weight > 0
    if (name.trim() === '*') star = weight
  }
  return star !== undefined && star > 0
}
