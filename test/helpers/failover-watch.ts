/**
 * Watching a stream through input switches (test/e2e/hlsjs-failover.test.ts): what
 * the API says is on air, sampled, and every part the packager completes, kept past
 * the playlist window, so that each phase of a test can tell whether part production
 * paused at a switch, for how long, and how far behind the wall clock it ran.
 */
import type { Test } from 'tap'
import type { LiveStream } from '../../src/packager/live-stream.js'
import { fmt, quantile } from './playback.js'

/** A named stretch of a test, wall clock ms since the epoch. */
export interface Phase { name: string; from: number; to: number }

/** The values `read` returned, each with when it was first seen. */
export interface OnAirWatch {
  readonly seen: Array<{ at: number; value: string }>
  /** Stop polling (also done at teardown). */
  stop: () => void
}

/** Poll `read` every 150 ms and keep each change of its value (a failed read is skipped). */
export function watchOnAir(t: Test, read: () => Promise<string>): OnAirWatch {
  const seen: Array<{ at: number; value: string }> = []
  let stopped = false
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const value = await read().catch(() => undefined)
      if (value !== undefined && seen.at(-1)?.value !== value) seen.push({ at: Date.now(), value })
      await new Promise((r) => setTimeout(r, 150))
    }
  }
  const done = loop()
  const stop = (): void => { stopped = true }
  t.teardown(async () => { stop(); await done })
  return { seen, stop }
}

/** One completed part as the packager recorded it. */
interface SeenPart {
  completedAt: number
  /** Completion minus the program date time of the part's end, ms. */
  lag: number
  gap: boolean
  /** First part of a segment that starts a discontinuity. */
  discontinuity: boolean
}

/** Every part each rendition completed while watched. */
export interface PartsWatch {
  /**
   * Per rendition, over parts completed in [from, to]: count, longest pause between
   * completions (when it began, ms after `zero`), lag median/max, gaps, discontinuities.
   */
  summary: (from: number, to: number, zero: number) => string
}

/** Read every rendition's window every 250 ms (well within any window) and remember each new part; stopped at teardown. */
export function watchParts(t: Test, stream: LiveStream): PartsWatch {
  const parts = new Map<string, Map<string, SeenPart>>()
  const read = (): void => {
    for (const [name, r] of stream.renditions) {
      const mine = parts.get(name) ?? new Map<string, SeenPart>()
      parts.set(name, mine)
      for (const seg of r.segments) {
        let offset = 0
        for (const p of seg.parts) {
          offset += p.duration
          const key = `${seg.msn}.${p.index}`
          if (!mine.has(key)) mine.set(key, { completedAt: p.completedAt, lag: p.completedAt - (seg.pdt + offset * 1000), gap: p.gap === true, discontinuity: seg.discontinuity && p.index === 0 })
        }
      }
    }
  }
  const timer = setInterval(read, 250)
  t.teardown(() => clearInterval(timer))
  return {
    summary: (from, to, zero) => {
      read()
      return [...parts].map(([name, mine]) => {
        const xs = [...mine.values()].filter((p) => p.completedAt >= from && p.completedAt <= to).sort((a, b) => a.completedAt - b.completedAt)
        let pause = { ms: 0, at: from }
        for (let i = 1; i < xs.length; i++) {
          const ms = xs[i]!.completedAt - xs[i - 1]!.completedAt
          if (ms > pause.ms) pause = { ms, at: xs[i - 1]!.completedAt }
        }
        const lags = xs.map((p) => p.lag)
        return `${name} ${xs.length} parts, longest pause ${pause.ms} ms from +${pause.at - zero} ms, lag ${fmt(quantile(lags, 0.5))}/${fmt(Math.max(...lags))} ms` +
          `${xs.some((p) => p.gap) ? `, ${xs.filter((p) => p.gap).length} GAP` : ''}${xs.some((p) => p.discontinuity) ? `, ${xs.filter((p) => p.discontinuity).length} discontinuity` : ''}`
      }).join('; ')
    },
  }
}

/**
 * One line per media playlist: its discontinuity sequence, its newest segment's number
 * and date, and how far that date is from now. Renditions of one stream must agree on
 * both at matching points, or a player cannot line up their media (hls.js aligns an
 * audio rendition with the video by discontinuity sequence).
 */
export function describeAlignment(playlists: Record<string, string>, now = Date.now()): string {
  return Object.entries(playlists).map(([name, text]) => {
    const dseq = /#EXT-X-DISCONTINUITY-SEQUENCE:(\d+)/.exec(text)?.[1] ?? '0'
    const msn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? NaN)
    let n = msn - 1
    let last: { msn: number; pdt: string } | undefined
    let discontinuities = 0
    let pdt = ''
    for (const line of text.split('\n')) {
      if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = line.slice(25)
      else if (line === '#EXT-X-DISCONTINUITY') discontinuities++
      else if (/^\d+\.m4s$/.test(line)) { n++; last = { msn: n, pdt } }
    }
    const ahead = last ? Date.parse(last.pdt) - now : NaN
    return `${name}: discontinuity sequence ${dseq} (+${discontinuities} listed), last segment ${last?.msn ?? '?'} dated ${last?.pdt ?? '?'} (${ahead >= 0 ? '+' : ''}${ahead} ms from now)`
  }).join('; ')
}
