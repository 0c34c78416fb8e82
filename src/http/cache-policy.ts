/**
 * Cache-Control values, following rfc8216bis Appendix B: objects whose URL
 * never names other content are cacheable for long; live playlists only for
 * a fraction of a target duration; errors briefly.
 */

/** Segments, parts and content-addressed init segments never change. */
export const IMMUTABLE = 'public, max-age=86400, immutable'

/** A blocking-reload response answers a fixed question (msn/part): it stays valid. */
export function blockingPlaylist(targetDuration: number): string {
  return `public, max-age=${Math.max(6 * targetDuration, 10)}`
}

/** A non-blocking live playlist: at most half a target duration. */
export function livePlaylist(targetDuration: number): string {
  return `public, max-age=${Math.max(1, Math.floor(targetDuration / 2))}`
}

/** The multivariant playlist's attributes drift slowly (measured bandwidth). */
export const MULTIVARIANT = 'public, max-age=2'

/** A playlist of an ended stream no longer changes until it is dropped. */
export const ENDED = 'public, max-age=60'

/** 404 for an object that may appear soon: short, so a CDN re-asks. */
export const NOT_YET = 'public, max-age=1'

/** Errors that depend on the request (400) or on load (503): not cached. */
export const NO_STORE = 'no-store'
