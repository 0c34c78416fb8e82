/**
 * Freezes of the test process's event loop. In the player tests the origin, the
 * shields and the browser driver all run in the test process; on a shared 2-core
 * box that process was seen standing still for 0.6–0.9 s (no JavaScript running,
 * no profiler samples either: the process was not scheduled) while two test files
 * and their browsers ran at once. Every response in flight then arrives late at
 * once, and a player that has just started, with half a second of buffer, waits.
 * Such a wait says nothing about streamd; one without a freeze does, and still fails.
 */
import type { Test } from 'tap'

/** One interval in which the event loop did not turn. */
export interface Freeze {
  /** Wall clock (ms since the epoch) when the loop last turned before it. */
  from: number
  to: number
  ms: number
}

/** Event-loop freezes seen since the monitor started. */
export interface FreezeLog {
  readonly freezes: Freeze[]
  /** The freeze of ≥ `minMs` that covers `at`, or ended at most `afterMs` before it. */
  explaining: (at: number, o?: { minMs?: number; afterMs?: number }) => Freeze | undefined
}

/** Watch the loop every 20 ms and keep every gap over `thresholdMs`; stopped at teardown. */
export function watchLoopFreezes(t: Test, thresholdMs = 150): FreezeLog {
  const freezes: Freeze[] = []
  let last = Date.now()
  const timer = setInterval(() => {
    const now = Date.now()
    if (now - last > thresholdMs) freezes.push({ from: last, to: now, ms: now - last })
    last = now
  }, 20)
  timer.unref()
  t.teardown(() => clearInterval(timer))
  return {
    freezes,
    explaining: (at, o = {}) => {
      const minMs = o.minMs ?? 400
      const afterMs = o.afterMs ?? 500
      return freezes.find((f) => f.ms >= minMs && f.from <= at && at <= f.to + afterMs)
    },
  }
}
