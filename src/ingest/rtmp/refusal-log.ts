/**
 * Rate-limited log of refused RTMP connections: one line per address per window
 * with a count, never one line per attacker connection or message. The first
 * refusal of an address is logged at once; the ones after it within the window
 * are counted and reported in one line when the window ends.
 */
import type { Logger } from 'pino'

interface Entry {
  /** When the last line for this address was written. */
  lastLine: number
  /** Refusals since that line. */
  unlogged: number
  reason: string
}

/** Addresses tracked at once; beyond this (an address-hopping flood), refusals are pooled under `*`. */
const MAX_ADDRESSES = 10_000

/** Per-address rate-limited warning lines for refusals. */
export class RefusalLog {
  private readonly entries = new Map<string, Entry>()
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly log: Logger, private readonly windowMs = 10_000) {}

  /** Record one refusal of a connection from `address`. */
  note(address: string, reason: string): void {
    const key = this.entries.has(address) || this.entries.size < MAX_ADDRESSES ? address : '*'
    const now = Date.now()
    const e = this.entries.get(key)
    if (e && now - e.lastLine < this.windowMs) {
      e.unlogged++
      e.reason = reason
      return
    }
    const count = (e?.unlogged ?? 0) + 1
    this.entries.set(key, { lastLine: now, unlogged: 0, reason })
    this.write(key, count, reason)
    this.timer ??= setInterval(() => this.sweep(), Math.max(50, this.windowMs / 4)).unref()
  }

  /** Write the pending counts and stop the timer (server shutdown). */
  close(): void {
    for (const [address, e] of this.entries) if (e.unlogged > 0) this.write(address, e.unlogged, e.reason)
    this.entries.clear()
    clearInterval(this.timer)
    this.timer = undefined
  }

  private sweep(): void {
    const now = Date.now()
    for (const [address, e] of this.entries) {
      if (now - e.lastLine < this.windowMs) continue
      if (e.unlogged === 0) {
        this.entries.delete(address)
        continue
      }
      this.write(address, e.unlogged, e.reason)
      e.lastLine = now
      e.unlogged = 0
    }
    if (this.entries.size === 0) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }

  private write(address: string, count: number, reason: string): void {
    this.log.warn({ address, count, reason, windowMs: this.windowMs }, 'rtmp: connection refused')
  }
}
