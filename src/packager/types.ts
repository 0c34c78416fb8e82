/**
 * Records the packager keeps in memory per rendition: init segments, segments
 * and their LL-HLS parts. Part bytes are views into their segment's bytes once
 * the segment completes, so parts cost no memory beyond the segment.
 */
import type { TrackInfo } from '../media/types.js'

/** One CMAF init segment (ftyp+moov), named by its content hash. */
export interface InitRecord {
  data: Buffer
  /** Short content hash: the init URL carries it, so a URL never names two contents. */
  hash: string
  tracks: TrackInfo[]
}

/** One LL-HLS partial segment: a single coalesced CMAF chunk (moof+mdat). */
export interface PartRecord {
  msn: number
  index: number
  /** Seconds, measured on the lead track. */
  duration: number
  /** Begins with an independent (sync) frame. */
  independent: boolean
  data: Buffer
  /** Date.now() when the part's last byte was available. */
  completedAt: number
  /** performance.now() when the part's last frame arrived from the worker (latency metrics). */
  readyAt: number
  /** No media: listed with GAP=YES (rfc8216bis 4.4.4.9), its URI answers 404. */
  gap?: boolean
}

/** One media segment: whole parts, starting on a part boundary. */
export interface SegmentRecord {
  msn: number
  parts: PartRecord[]
  /** Seconds; sum of part durations. */
  duration: number
  /** Media time (s) at which the segment's first frame (its key frame) is presented; aligns renditions. */
  startTime: number
  /** Program date time (ms since epoch) of the segment's first presented sample. */
  pdt: number
  init: InitRecord
  /** First segment after a change of init or timeline. */
  discontinuity: boolean
  /** Starts with an independent frame. */
  independent: boolean
  /** A hole in the media (worker down): listed with EXT-X-GAP, its URI answers 404. */
  gap: boolean
  complete: boolean
  /** The whole segment, set when complete. */
  data?: Buffer
}

/** Where a rendition stands: the newest segment holding parts, and its last part. */
export interface EdgePosition {
  msn: number
  /** Index of the newest complete part of `msn`; -1 when it has none yet. */
  part: number
}

/**
 * A segment whose init differs from the rendition's previous media segment's (a worker
 * restarted with a new codec configuration). Kept after the segment leaves the window:
 * DASH starts a Period there, and that Period's start must not move.
 */
export interface InitChange {
  /** First segment with the new init. */
  msn: number
  /** Its program date time (ms). */
  pdt: number
  /** The last segment with the old init (tells a restart within a session from a new session). */
  previousMsn: number
}
