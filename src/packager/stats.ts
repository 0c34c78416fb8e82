/**
 * Bitrate and frame-rate figures of a rendition, measured on what it produced:
 * the multivariant playlist advertises what the window really holds.
 */
import type { RenditionStore } from './rendition-store.js'

/** Measured figures; undefined until the rendition has produced media. */
export interface RenditionFigures {
  /** Peak segment bitrate over the window, bit/s (BANDWIDTH). */
  peakBitrate: number
  /** Mean bitrate over the window, bit/s (AVERAGE-BANDWIDTH). */
  averageBitrate: number
}

/** Compute BANDWIDTH / AVERAGE-BANDWIDTH from complete segments, else from parts. */
export function measureFigures(store: RenditionStore): RenditionFigures | undefined {
  let peak = 0
  let bytes = 0
  let seconds = 0
  for (const s of store.segments) {
    if (!s.complete || s.gap || !s.data || s.duration <= 0) continue
    // Short trailing segments exaggerate peaks; weigh those with at least half a target.
    if (s.duration >= store.timing.targetDuration / 2) peak = Math.max(peak, (s.data.length * 8) / s.duration)
    bytes += s.data.length
    seconds += s.duration
  }
  if (seconds === 0) {
    // Only parts so far: use them, padded, so the first playlist is not absurd.
    for (const s of store.segments) for (const p of s.gap ? [] : s.parts) {
      bytes += p.data.length
      seconds += p.duration
    }
    if (seconds === 0) return undefined
    const rate = (bytes * 8) / seconds
    return { peakBitrate: Math.ceil(rate * 1.5), averageBitrate: Math.ceil(rate) }
  }
  const average = (bytes * 8) / seconds
  return { peakBitrate: Math.ceil(Math.max(peak, average)), averageBitrate: Math.ceil(average) }
}
