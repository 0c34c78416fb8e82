/**
 * Requests held until something exists: blocking playlist reloads, preload-hinted
 * parts, segments in production. Checked synchronously on every store change so
 * a waiter is answered in the same tick its part completes.
 */

/** How a wait ended. */
export type WaitOutcome = 'ready' | 'timeout' | 'ended' | 'cancelled'

interface Waiter {
  ready: () => boolean
  done: (outcome: WaitOutcome) => void
  timer: NodeJS.Timeout
}

/** A set of pending waits re-checked on every change. */
export class WaiterSet {
  private readonly waiters = new Set<Waiter>()
  private readonly onCount?: (delta: number) => void

  /** `onCount` reports +1/-1 as waits open and close (for a gauge). */
  constructor(onCount?: (delta: number) => void) {
    this.onCount = onCount
  }

  /** Number of waits open. */
  get size(): number {
    return this.waiters.size
  }

  /**
   * Wait until `ready()` is true, calling `done` exactly once. Returns a cancel
   * function; a client that goes away calls it to release the wait at once.
   */
  wait(ready: () => boolean, timeoutMs: number, done: (outcome: WaitOutcome) => void): () => void {
    if (ready()) {
      done('ready')
      return () => {}
    }
    const w: Waiter = {
      ready,
      done,
      timer: setTimeout(() => this.finish(w, 'timeout'), timeoutMs),
    }
    this.waiters.add(w)
    this.onCount?.(1)
    return () => this.finish(w, 'cancelled')
  }

  /** Re-check every wait; call after each change of the thing waited on. */
  check(): void {
    for (const w of this.waiters) {
      if (w.ready()) this.finish(w, 'ready')
    }
  }

  /** End every wait with `outcome` (stream ended, server closing). */
  finishAll(outcome: WaitOutcome): void {
    for (const w of this.waiters) this.finish(w, outcome)
  }

  private finish(w: Waiter, outcome: WaitOutcome): void {
    if (!this.waiters.delete(w)) return
    clearTimeout(w.timer)
    this.onCount?.(-1)
    w.done(outcome)
  }
}
