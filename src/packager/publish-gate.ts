/**
 * Keeps a stream's renditions advancing together as players see them. Each
 * rendition's segmenter hands its store changes to a lane; a part is *published*
 * (applied to the store: listed, hinted, released to blocking waiters) only once
 * every rendition the gate waits for has produced media up to one part target
 * before its end. LL-HLS players switch renditions by media position and by
 * EXT-X-RENDITION-REPORT; a rung whose edge trails the others by seconds leaves a
 * switching player behind or stalled (bench/RESULTS.md, latency problem 3).
 *
 * Bounded: a rendition more than `maxLagSeconds` of media behind the leader (worker
 * crashed, shed, hung, or the machine too slow for it) is no longer waited for, so it
 * cannot hold the others hostage; it is marked `lagging` on its store until it catches
 * up. A worker that is gone stops its lane at once. The gate also starts closed when
 * asked: nothing is published until `open()` (the date anchor has settled).
 *
 * Paced at segment ends: the change that completes a segment (its last part, or its
 * EXTINF) is never published less than `segmentEndGapMs` after the rendition's previous
 * part. hls.js (fragment-tracker.ts, bufferPadding 0.2 s) takes a complete segment for
 * fully buffered once its buffer reaches within 0.2 s of the segment's end; when a
 * playlist completing the segment arrives before the previous part is appended — parts
 * published in a burst, by a worker writing several at once or by this gate releasing
 * held ones — a last part of 0.2 s or less is never loaded, and playback stalls on the
 * hole (bench/RESULTS.md, latency problem 2).
 */
import type { RenditionStore } from './rendition-store.js'
import type { Publish } from './segmenter-options.js'

/** What a gate needs. */
export interface PublishGateOptions {
  /** PART-TARGET, seconds: renditions are kept within one part of each other. */
  partTarget: number
  /**
   * A rendition this many seconds of media behind the leader is no longer waited for; 0:
   * none is. Players ride out a hold this long from their buffer (about PART-HOLD-BACK and
   * more), so it is a bound on the gate's freeze, not on the renditions' skew.
   */
  maxLagSeconds: number
  /** Start closed: nothing is published before `open()`. */
  closed?: boolean
  /** Every part, when published: how long the gate held it (0 when not held). */
  onPart?: (rendition: string, heldSeconds: number) => void
  /** A rendition stopped or started being waited for because of its lag. */
  onLagging?: (rendition: string, lagging: boolean, behindSeconds: number) => void
  /** A change failed to apply (it is dropped; the rest go on). */
  onError?: (rendition: string, err: unknown) => void
  /** Least time between a rendition's part and the change completing its segment (default: half a part, at most 100 ms). */
  segmentEndGapMs?: number
}

interface Held {
  end: number
  part: boolean
  at: number
  apply: (held: boolean) => void
  /** Not published in the call that handed it over. */
  held: boolean
  /** Completes a segment: paced after the previous part. */
  closes: boolean
}

interface Lane {
  store: RenditionStore
  /** Media end (s) of the newest part produced; undefined before the first. */
  produced: number | undefined
  queue: Held[]
  /** No worker is producing (gone, restarting, shed): not waited for. */
  stopped: boolean
  /** performance.now() when its latest part was published. */
  lastPartAt: number
  /** Pending release of a segment end held for the pacing gap. */
  timer: NodeJS.Timeout | undefined
}

/** One stream session's gate. */
export class PublishGate {
  private readonly o: PublishGateOptions
  private readonly lanes: Lane[] = []
  private closed: boolean
  /** Earliest media time any lane produced: where lanes that have not started are deemed to be. */
  private origin: number | undefined
  private settling = false
  private again = false
  private readonly gapMs: number

  constructor(o: PublishGateOptions) {
    this.o = o
    this.closed = o.closed ?? false
    this.gapMs = o.segmentEndGapMs ?? Math.min(100, o.partTarget * 500)
  }

  /** The Publish function of a rendition's segmenters. */
  lane(store: RenditionStore): { publish: Publish; stop: () => void; start: () => void } {
    const lane: Lane = { store, produced: undefined, queue: [], stopped: false, lastPartAt: -Infinity, timer: undefined }
    this.lanes.push(lane)
    return {
      publish: (end, part, apply, closes = false) => {
        const h: Held = { end, part, at: performance.now(), apply, held: false, closes }
        lane.queue.push(h)
        if (part) {
          lane.produced = end
          this.origin = Math.min(this.origin ?? end, end)
        }
        this.settle()
        if (lane.queue[lane.queue.length - 1] === h) h.held = true
      },
      stop: () => {
        // Its last changes go out now: whatever ends the rendition (shed, session end)
        // must find them applied, and a lane nobody produces for has nothing to wait for.
        lane.stopped = true
        if (!this.closed) this.release(lane, Infinity, true)
        this.settle()
      },
      start: () => {
        lane.stopped = false
      },
    }
  }

  /** Publish from now on (the session's date anchor has settled). */
  open(): void {
    this.closed = false
    this.settle()
  }

  /** True until `open()` when the gate started closed. */
  get isClosed(): boolean {
    return this.closed
  }

  /** Publish everything held, in order (the session ends). */
  drain(): void {
    this.closed = false
    for (const lane of this.lanes) this.release(lane, Infinity, true)
  }

  /** Media time up to which every waited-for lane has produced (Infinity when none is waited for). */
  private floor(): number {
    let floor = Infinity
    if (this.o.maxLagSeconds <= 0) return floor
    for (const lane of this.lanes) {
      if (lane.stopped || lane.store.lagging) continue
      floor = Math.min(floor, lane.produced ?? this.origin ?? -Infinity)
    }
    return floor
  }

  private settle(): void {
    if (this.closed) return
    // Applying a change wakes waiters synchronously; a re-entrant call is run after this one.
    if (this.settling) {
      this.again = true
      return
    }
    this.settling = true
    try {
      do {
        this.again = false
        this.judgeLag()
        const limit = this.floor() + this.o.partTarget + 1e-6
        for (const lane of this.lanes) this.release(lane, limit)
      } while (this.again)
    } finally {
      this.settling = false
    }
  }

  /** Stop waiting for lanes too far behind; wait again for those that caught up. */
  private judgeLag(): void {
    if (this.o.maxLagSeconds <= 0) return
    let lead = -Infinity
    for (const lane of this.lanes) if (lane.produced !== undefined) lead = Math.max(lead, lane.produced)
    if (lead === -Infinity) return
    const bound = Math.max(this.o.maxLagSeconds, 2 * this.o.partTarget)
    for (const lane of this.lanes) {
      const at = lane.produced ?? this.origin ?? lead
      if (!lane.stopped && !lane.store.lagging && lead - at > bound) this.mark(lane, true, lead - at)
    }
    const floor = this.floor()
    for (const lane of this.lanes) {
      if (!lane.store.lagging || lane.produced === undefined) continue
      // Caught up with the slowest lane still waited for (or with the leader when none is).
      const mark = floor === Infinity ? lead : floor
      if (lane.produced >= mark - this.o.partTarget) this.mark(lane, false, Math.max(0, lead - lane.produced))
    }
  }

  private mark(lane: Lane, lagging: boolean, behind: number): void {
    lane.store.lagging = lagging
    this.o.onLagging?.(lane.store.name, lagging, behind)
  }

  /** Publish a lane's changes up to `limit`; `force` skips the segment-end pacing (the lane or session ends). */
  private release(lane: Lane, limit: number, force = false): void {
    if (force && lane.timer) {
      clearTimeout(lane.timer)
      lane.timer = undefined
    }
    while (lane.queue.length > 0 && lane.queue[0]!.end <= limit) {
      const h = lane.queue[0]!
      if (h.closes && !force) {
        const wait = lane.lastPartAt + this.gapMs - performance.now()
        if (wait > 0) return this.later(lane, wait)
      }
      lane.queue.shift()
      // One rendition's broken change must not stop the others' (this may run in any lane's call).
      try {
        h.apply(h.held)
      } catch (err) {
        this.o.onError?.(lane.store.name, err)
        continue
      }
      if (h.part) {
        lane.lastPartAt = performance.now()
        this.o.onPart?.(lane.store.name, h.held ? (lane.lastPartAt - h.at) / 1000 : 0)
      }
    }
  }

  /** Settle again once a paced segment end may go out. */
  private later(lane: Lane, ms: number): void {
    if (lane.timer) return
    lane.timer = setTimeout(() => {
      lane.timer = undefined
      this.settle()
    }, Math.ceil(ms))
    lane.timer.unref()
  }
}
