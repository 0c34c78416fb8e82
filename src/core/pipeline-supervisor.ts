/**
 * Watches a session's workers through what they produce. A worker that goes
 * silent for two part targets after producing, while its input keeps coming, is
 * hung: it is killed, and its supervisor restarts it. When encoded rungs run slower than real time for
 * several seconds, the machine cannot keep up: the most expensive rung is shed
 * (stopped, no longer offered in new multivariant playlists; its own playlist goes
 * on as gaps, see gap-cover.ts) so the others stay live — degrade, never stall.
 */
import type { Logger } from 'pino'
import type { RenditionFeed } from './rendition-feed.js'

/** What the supervisor watches and may do. */
export interface SupervisorOptions {
  feeds: Map<string, RenditionFeed>
  /** Encoded rung names, most expensive first: the order they are shed in. */
  encoded: string[]
  partTarget: number
  logger: Logger
  /** Stop a rung for the rest of the session. */
  shed: (rendition: string) => Promise<boolean>
  /** Date.now() of the publisher's latest tag: silence without input is not a hang. */
  lastInputAt: () => number
  /** Date.now() when the ladder's decoder was last held back by a slow encoder (encoded rungs wait then). */
  heldBackAt?: () => number
  /** Encoded rungs below this speed are falling behind real time (default 0.85). */
  slowSpeed?: number
  /** Clock (tests pass their own). */
  now?: () => number
  /** A rung was shed (its worker stopped), and why: count it, cover its time with gaps. */
  onShed?: (rendition: string, reason: string) => void
  /** Each rendition's speed, every tick. */
  onSpeed?: (rendition: string, speed: number) => void
}

const TICK_MS = 500
/** Encoded rungs below this speed are falling behind real time. */
const SLOW_SPEED = 0.85
/** Consecutive slow ticks before shedding (the speed itself is a 5 s average). */
const SLOW_TICKS = 8
/** After shedding, give the rest time to recover before judging again. */
const SETTLE_MS = 10_000

/** One session's watchdog. */
export class PipelineSupervisor {
  private readonly o: SupervisorOptions
  private timer: NodeJS.Timeout | undefined
  private slowTicks = 0
  private settleUntil = 0
  private readonly shedNames = new Set<string>()

  constructor(o: SupervisorOptions) {
    this.o = o
  }

  /** Start watching. */
  start(): void {
    this.settleUntil = this.now() + SETTLE_MS
    this.timer = setInterval(() => this.tick(), TICK_MS)
    this.timer.unref()
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now()
  }

  /** Stop watching. */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  /** One check of every worker (run every half second; public for tests). */
  tick(): void {
    const now = this.now()
    // "No output for 2 part targets" (with a floor for very short parts).
    const hungAfter = Math.max(1000, 2 * this.o.partTarget * 1000)
    for (const [name, feed] of this.o.feeds) {
      feed.store.speed = feed.speed
      if (feed.speed !== undefined) this.o.onSpeed?.(name, feed.speed)
      if (this.shedNames.has(name) || feed.lastOutputAt === undefined || !feed.fed) continue
      // Hung: silent for two part targets while the publisher kept sending. A worker that
      // is quiet because its input stopped (publisher stalled) is left alone.
      // An encoder quiet because another one held the decoder back is waiting, not hung.
      const waited = this.o.encoded.includes(name) && now - (this.o.heldBackAt?.() ?? 0) < hungAfter
      if (!waited && now - feed.lastOutputAt > hungAfter && this.o.lastInputAt() - feed.lastOutputAt > hungAfter) {
        this.o.logger.warn({ rendition: name, pid: feed.pid, silentMs: now - feed.lastOutputAt }, 'worker hung (no output); killing it for a restart')
        feed.lastOutputAt = undefined
        feed.restart()
      }
    }
    this.judgeSpeed(now)
  }

  private judgeSpeed(now: number): void {
    const remaining = this.o.encoded.filter((n) => !this.shedNames.has(n))
    if (now < this.settleUntil || remaining.length <= 1) return
    const speeds = remaining.map((n) => this.o.feeds.get(n)?.speed).filter((s): s is number => s !== undefined)
    const slowest = Math.min(...speeds)
    this.slowTicks = speeds.length > 0 && slowest < (this.o.slowSpeed ?? SLOW_SPEED) ? this.slowTicks + 1 : 0
    if (this.slowTicks < SLOW_TICKS) return
    const victim = remaining[0]!
    this.slowTicks = 0
    this.settleUntil = now + SETTLE_MS
    this.shedNames.add(victim)
    const store = this.o.feeds.get(victim)?.store
    const reason = `shed: encoders ran at ${slowest.toFixed(2)}x real time; the machine cannot keep up with the whole ladder`
    this.o.logger.warn({ rendition: victim, slowest }, 'ladder falling behind real time; shedding its most expensive rung')
    void this.o.shed(victim).then((done) => {
      if (!done || !store) return
      // Not ended: players on it must see gaps (and switch), not an ENDLIST they stay on.
      store.shed = reason
      this.o.onShed?.(victim, reason)
    })
  }
}
