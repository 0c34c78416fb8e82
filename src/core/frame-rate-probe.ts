/**
 * A source's frame rate measured from its first video timestamps, for sources
 * that state none (no onMetaData `framerate`, no timing info in the SPS VUI):
 * the ladder's decoder resamples to the planned rate, so planning a 25 fps
 * source at a guessed 30 would duplicate every fifth frame for the whole session.
 */
import { parseVideoTagHeader } from '../formats/flv.js'
import type { MediaTag } from '../ingest/types.js'

/** Media time (ms of timestamps) the measurement covers: ±1 ms of rounding is then ±0.1%. */
export const MEASURE_SPAN_MS = 1000
/** Wall-clock bound (ms) on the wait, counted from the first planning attempt. */
export const MEASURE_WAIT_MS = 2000

/** Rates encoders use; a measurement within 1% is taken to be one of them (NTSC rates exact). */
const COMMON_RATES = [10, 12, 12.5, 15, 20, 24000 / 1001, 24, 25, 30000 / 1001, 30, 48, 50, 60000 / 1001, 60, 100, 120000 / 1001, 120]

/**
 * Frames per second from increasing timestamps (ms) of consecutive frames; undefined
 * with fewer than two distinct ones. A missing frame counts as the frames it stands
 * for (intervals are measured in units of the median interval), so a gap does not
 * lower the rate.
 */
export function measureFrameRate(stamps: readonly number[]): number | undefined {
  const deltas: number[] = []
  for (let i = 1; i < stamps.length; i++) {
    const d = stamps[i]! - stamps[i - 1]!
    if (d > 0) deltas.push(d)
  }
  if (deltas.length === 0) return undefined
  const median = [...deltas].sort((a, b) => a - b)[deltas.length >> 1]!
  const frames = deltas.reduce((n, d) => n + Math.max(1, Math.round(d / median)), 0)
  const span = deltas.reduce((a, b) => a + b, 0)
  const fps = (frames * 1000) / span
  if (!(fps >= 1 && fps <= 240)) return undefined
  const nearest = COMMON_RATES.reduce((a, b) => (Math.abs(b - fps) < Math.abs(a - fps) ? b : a))
  return Math.abs(nearest - fps) <= nearest * 0.01 ? nearest : Math.round(fps * 1000) / 1000
}

/** The measurement of one session, fed every video tag until planning. */
export class FrameRateProbe {
  private readonly stamps: number[] = []
  private since: number | undefined

  /** Note a video tag's timestamp (sequence headers and out-of-order stamps are ignored). */
  observe(tag: MediaTag): void {
    if (tag.kind !== 'video' || this.covered()) return
    try {
      if (parseVideoTagHeader(tag.data).avcPacketType === 'seq') return
    } catch {
      return // the normalizer skips unparseable tags; so does the measurement
    }
    const last = this.stamps[this.stamps.length - 1]
    if (last === undefined || tag.timestamp > last) this.stamps.push(tag.timestamp)
  }

  /** True once the measurement covers MEASURE_SPAN_MS, or MEASURE_WAIT_MS after the first call at `now` (ms). */
  ready(now: number): boolean {
    if (this.covered()) return true
    this.since ??= now
    return now - this.since >= MEASURE_WAIT_MS
  }

  /** The measured rate, if there are two frames to measure. */
  get fps(): number | undefined {
    return measureFrameRate(this.stamps)
  }

  private covered(): boolean {
    const first = this.stamps[0]
    return first !== undefined && this.stamps[this.stamps.length - 1]! - first >= MEASURE_SPAN_MS
  }
}
