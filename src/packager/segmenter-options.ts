/**
 * Options of a Segmenter (segmenter.ts): boundary policy, clock, and where its store
 * changes go.
 */
import type { Logger } from 'pino'
import type { PartRecord, SegmentRecord } from './types.js'

/**
 * A shared segment grid: segment k covers media time [k·S, (k+1)·S) and is numbered
 * msnBase + k in every rendition fed from one timeline, so renditions align by
 * construction and a rendition that misses slots lists them as gaps.
 */
export interface SegmentGrid {
  msnBase: number
  /**
   * Seconds from the start of slot msnBase to media time zero (default 0): slots begin where
   * media time + offset is a multiple of the segment target. An epoch-locked grid puts them
   * where media dates cross multiples of the target from the numbering epoch, so the
   * session's first slot is shorter.
   */
  offset?: number
  /**
   * The grid is shared with other origins (epoch-locked): the slack a frame gets to open a
   * slot is whole milliseconds of a frame's half, as every origin computes it alike from
   * the publisher's millisecond timestamps, whichever frame it happened to start with.
   */
  locked?: boolean
}

/** Boundary policy and clock of one rendition. */
export interface SegmenterOptions {
  segmentTarget: number
  /** Cut segments on the shared grid (transcoded ladders) instead of on source key frames. */
  grid?: SegmentGrid
  /**
   * With `grid`: the encoder forces a key frame at the start of every slot (an encoded
   * rung), so a segment's end is known a frame ahead. A source's key frames (a copied
   * rung) are not known until they arrive.
   */
  keyframesOnGrid?: boolean
  /** Maps a media time (seconds, presentation) of this epoch to wall-clock ms. */
  wallClockAt: (mediaSeconds: number) => number
  logger: Logger
  onPart?: (part: PartRecord) => void
  onSegment?: (seg: SegmentRecord) => void
  /**
   * Where store changes go (a publish gate, publish-gate.ts); by default they apply at once.
   * Dates are computed inside `apply`, so a gate that holds the session's first changes
   * until its date anchor settles serves only settled dates.
   */
  publish?: Publish
  /** Warnings already logged for this rendition; a new segmenter (worker restart) shares it so each is logged once per stream. */
  warned?: Set<string>
  /**
   * Grid video whose key frames do not fit the grid (a copied source with another GOP),
   * so that a slot went by without one: called once per stream, with the reason.
   */
  onOffGrid?: (reason: string) => void
}

/**
 * Hands one store change to whoever decides when players may see it. `mediaEnd` is the
 * media time (s) the change completes; `part` marks a new part; `closes` marks the change
 * that completes a segment (its EXTINF appears); `apply` receives whether the change was
 * held (then its part counts as ready when released).
 */
export type Publish = (mediaEnd: number, part: boolean, apply: (held: boolean) => void, closes?: boolean) => void

/** The default Publish: every change applies at once. */
export const applyNow: Publish = (_end, _part, apply) => apply(false)

