/**
 * Base media types shared by every layer. No I/O here: these are plain shapes
 * and timescale arithmetic, so formats/, packager/ and transcode/ agree on units.
 */

/** Kind of an elementary stream. */
export type TrackKind = 'video' | 'audio'

/** What the packager needs to know about one track of a CMAF init segment. */
export interface TrackInfo {
  /** track_ID from tkhd/tfhd. */
  id: number
  kind: TrackKind
  /** mdhd timescale: ticks per second of every dts/duration of this track. */
  timescale: number
  /** RFC 6381 codec string, e.g. `avc1.64001f` or `mp4a.40.2`. */
  codec: string
  width?: number
  height?: number
  sampleRate?: number
  channels?: number
  /** ISO 639-2/T language from mdhd, `und` when unset. */
  language: string
}

/** One access unit (video frame or audio frame) as carried in a CMAF fragment. */
export interface Sample {
  trackId: number
  /** Decode timestamp in the track timescale. */
  dts: number
  /** Duration in the track timescale. */
  duration: number
  /** Composition offset (pts - dts) in the track timescale; may be negative (trun v1). */
  cts: number
  /** True when the sample is a sync sample (independent frame). */
  sync: boolean
  /** Raw sample bytes as stored in mdat (length-prefixed NAL units for AVC). */
  data: Buffer
}

/** Convert `ticks` in `timescale` to seconds. */
export function toSeconds(ticks: number, timescale: number): number {
  return ticks / timescale
}

/** Rescale `ticks` from one timescale to another, rounding to nearest. */
export function rescale(ticks: number, from: number, to: number): number {
  if (from === to) return ticks
  return Math.round((ticks * to) / from)
}

// Stream and rendition names appear in URLs, logs and file names, so both are
// held to a small safe alphabet everywhere they enter.

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

/** True for a name usable as `{stream}` or `{rendition}` in the URL contract. */
export function isValidName(name: string): boolean {
  return NAME.test(name) && !name.includes('..')
}

/** Human-readable rule, for refusal messages. */
export const NAME_RULE = '1-64 characters of A-Z a-z 0-9 _ . - starting with a letter or digit, no ".."'
