/**
 * Keeps a rendition with no producer live in step with the others. While an
 * encoder is down (between its death and its restart) or for good (shed for
 * lack of CPU), its playlist goes on advancing: every segment and part another
 * rendition of the session adds is mirrored as a gap (EXT-X-GAP, GAP=YES; rfc8216bis
 * 4.4.4.7, 4.4.4.9) with the same number, duration and date. So the hole is shown
 * honestly rather than as a stalled playlist or an ENDLIST, players skip it
 * (hls.js switches level on a gap) and rendition reports stay true.
 */
import type { Logger } from 'pino'
import type { RenditionStore } from '../packager/rendition-store.js'

/** One covered rendition, following a leader that has media. */
class Follow {
  /** Gap segments are opened below this number only (Infinity while the producer is down). */
  until = Infinity
  private readonly unsubscribe: () => void
  private done = false

  constructor(readonly target: RenditionStore, private readonly leader: RenditionStore, private readonly onDone: () => void) {
    this.unsubscribe = leader.onChange(() => this.sync())
  }

  /** Whether this follow has ended. */
  get stopped(): boolean {
    return this.done
  }

  /** Mirror whatever the leader has that the target has not yet covered. */
  sync(): void {
    const t = this.target
    if (this.done) return
    if (this.leader.ended || t.ended) return this.stop()
    for (const s of this.leader.segments) {
      let open = t.openSegment()
      if (open && open.msn > s.msn) continue
      if (!open) {
        if (s.msn < t.upcomingMsn) continue
        // Only the next number: a hole wider than what the leader still holds is left alone.
        if (s.msn >= this.until || !t.startGapSegment(s.msn, s.startTime, s.pdt)) return this.finishIfIdle()
        open = t.openSegment()!
      }
      // Media took over (the restarted encoder), or the numbers are out of step: stop here.
      if (!open.gap || open.msn !== s.msn) return this.stop()
      while (open.parts.length < s.parts.length) {
        const last = s.complete && open.parts.length === s.parts.length - 1
        t.addGapPart(s.parts[open.parts.length]!.duration, last)
      }
      if (s.complete && t.openSegment() === open) t.completeSegment()
      if (!s.complete) return
    }
    this.finishIfIdle()
  }

  /** Stop following (the open gap segment, if any, stays open for media or the end). */
  stop(): void {
    if (this.done) return
    this.done = true
    this.unsubscribe()
    this.onDone()
  }

  private finishIfIdle(): void {
    if (this.target.upcomingMsn >= this.until && !this.target.openSegment()?.gap) this.stop()
  }
}

/** The gap covers of one session's renditions. */
export class GapCover {
  private readonly follows = new Map<string, Follow>()
  private stopped = false

  private readonly stores: RenditionStore[]

  constructor(stores: readonly RenditionStore[], private readonly log: Logger) {
    this.stores = [...stores]
  }

  /** A rendition of the session that may be covered, or followed. */
  add(store: RenditionStore): void {
    if (!this.stores.includes(store)) this.stores.push(store)
  }

  /** Whether `name` is being covered with gaps now. */
  covering(name: string): boolean {
    return this.follows.has(name)
  }

  /**
   * `name` has no producer: list its time as gaps, in step with a rendition that has one.
   * Deferred a turn: a dead worker's output stream closes (and its feed publishes its last
   * part) in the same turn as the exit is reported, sometimes after it.
   */
  down(name: string): void {
    setImmediate(() => { if (!this.stopped) this.downNow(name) })
  }

  private downNow(name: string): void {
    const existing = this.follows.get(name)
    if (existing) {
      existing.until = Infinity
      return
    }
    const target = this.stores.find((s) => s.name === name)
    // The leader: a rendition with media of its own (not covered, not shed, not ended).
    const leader = this.stores.find((s) => s !== target && !this.follows.has(s.name) && s.shed === undefined && !s.ended && s.currentInit)
    if (!target?.currentInit || !leader) {
      this.log.debug({ rendition: name }, 'no rendition to follow; the hole shows when media resumes')
      return
    }
    // Whatever its dead producer left open ends here; the gap starts at the next number.
    if (target.openSegment() && !target.openSegment()!.gap) target.completeSegment()
    const f: Follow = new Follow(target, leader, () => { if (this.follows.get(name) === f) this.follows.delete(name) })
    this.follows.set(name, f)
    f.sync()
  }

  /**
   * `name` has a producer again, whose media begins with segment `fromMsn` (when known: a
   * restarted encoder starts on the grid): gaps go on up to it, so the hole is listed whole
   * however long the new process takes to start; without it, the open gap is the last.
   */
  up(name: string, fromMsn = -Infinity): void {
    const f = this.follows.get(name)
    if (!f) return
    f.until = fromMsn
    f.sync()
  }

  /** Stop every cover (the session is ending). */
  stop(): void {
    this.stopped = true
    for (const f of [...this.follows.values()]) f.stop()
  }
}
