/**
 * How segments are numbered: on the segment grid counted from a fixed epoch, so
 * a number is the start date of its segment divided by the segment target. The
 * numbers stay far below 2^31 for decades: DASH declares `startNumber` an
 * xs:unsignedInt, and common players (GStreamer, FFmpeg, mpv) read media
 * sequence numbers into 32-bit integers, failing or wrapping beyond.
 */

/** Grid epoch: 2020-01-01T00:00:00Z. Fixed forever: changing it would renumber every stream. */
export const NUMBERING_EPOCH_MS = Date.UTC(2020, 0, 1)

/** Largest number a 32-bit signed integer holds; streamd's numbers stay below it. */
export const MAX_SAFE_NUMBER = 2 ** 31 - 1

/** Number of the grid slot of `segmentTarget` seconds that contains `dateMs` (0 before the epoch). */
export function gridNumber(dateMs: number, segmentTarget: number): number {
  return Math.max(0, Math.floor((dateMs - NUMBERING_EPOCH_MS) / (segmentTarget * 1000)))
}

/** The date (ms) at which grid numbers of this segment target reach 2^31. */
export function numberingHorizon(segmentTarget: number): number {
  return NUMBERING_EPOCH_MS + 2 ** 31 * segmentTarget * 1000
}

/**
 * Numbers reserved ahead of the segment in production. The number of the next segment
 * is on disk before that segment opens, so a restart at any moment (even within the
 * same grid slot) starts past every number a player may have seen.
 */
export const RESERVE_AHEAD = 2
