/**
 * The in-memory window of one rendition: its init segments, a bounded list of
 * segments and parts, and the waiters that watch it. Memory is bounded by the
 * window, never by the stream's length.
 */
import type { EdgePosition, InitChange, InitRecord, PartRecord, SegmentRecord } from './types.js'
import { WaiterSet } from './waiters.js'

/** Fixed parameters of a rendition's timeline. */
export interface RenditionTiming {
  /** EXT-X-TARGETDURATION: integer seconds, constant for the rendition's life. */
  targetDuration: number
  /** EXT-X-PART-INF PART-TARGET, seconds. */
  partTarget: number
  /** Seconds of segments listed in the playlist. */
  windowSeconds: number
}

/** How to describe the segments of a hole in a grid timeline. */
export interface GapFill {
  /** Seconds per gap segment (the segment target). */
  duration: number
  startTimeOf(msn: number): number
  pdtOf(msn: number): number
}

/**
 * What changed in a store, so a consumer (a recorder, the session's events, metrics) learns
 * it from the change itself rather than by diffing the store.
 */
export type StoreChange =
  | { kind: 'init'; init: InitRecord }
  | { kind: 'part'; part: PartRecord; segment: SegmentRecord }
  | { kind: 'segment'; segment: SegmentRecord }
  | { kind: 'ended' }

/** A store change listener. */
export type StoreListener = (change: StoreChange) => void

const EMPTY = Buffer.alloc(0)
/** Segments kept past the playlist window, for players that just loaded an older playlist. */
const GRACE_SEGMENTS = 3
/** Init changes remembered (each one a DASH Period while any of its segments is retained). */
const MAX_INIT_CHANGES = 16

/** One rendition's window of segments and parts. */
export class RenditionStore {
  readonly name: string
  readonly timing: RenditionTiming
  readonly waiters: WaiterSet
  /** Increments on every change; playlist caches key on it. */
  version = 0
  /** Discontinuity sequence number of the oldest retained segment. */
  discontinuitySequence = 0
  /** True once the publisher is gone and the last segment is complete. */
  ended = false
  /** Frames per second of the lead video track, measured by the segmenter. */
  frameRate: number | undefined
  /** Media seconds produced per wall second, measured by core (about 1 when keeping up). */
  speed: number | undefined
  /** Why this rendition was shed (no longer produced), if it was. */
  shed: string | undefined
  /** Too far behind the stream's other renditions to be waited for (publish-gate.ts). */
  lagging = false
  private segs: SegmentRecord[] = []
  private nextMsn: number
  private init: InitRecord | undefined
  private readonly inits = new Map<string, InitRecord>()
  private pendingDiscontinuity = false
  private readonly listeners = new Set<StoreListener>()
  /** Newest media segment's number and init hash. */
  private lastMedia: { msn: number; hash: string } | undefined
  /** Where the init changed, oldest first (bounded). */
  readonly initChanges: InitChange[] = []

  constructor(name: string, timing: RenditionTiming, firstMsn: number, onWaiterCount?: (d: number) => void) {
    this.name = name
    this.timing = timing
    this.nextMsn = firstMsn
    this.waiters = new WaiterSet(onWaiterCount)
  }

  /** Segments retained, oldest first (the playlist shows the newest `windowSeconds`). */
  get segments(): readonly SegmentRecord[] {
    return this.segs
  }

  /** The init segment of the newest epoch. */
  get currentInit(): InitRecord | undefined {
    return this.init
  }

  /** An init by its hash, while some retained segment (or the current epoch) uses it. */
  initByHash(hash: string): InitRecord | undefined {
    return this.inits.get(hash)
  }

  /**
   * Start a new epoch (worker start or restart). Its first segment is marked as a
   * discontinuity unless it is the rendition's very first segment.
   */
  beginEpoch(init: InitRecord): void {
    // An open gap segment is left to finish in step with the others (gap-cover.ts).
    if (!this.openSegment()?.gap) this.closeOpenSegment()
    this.init = init
    this.inits.set(init.hash, init)
    this.pendingDiscontinuity = this.segs.length > 0 || this.pendingDiscontinuity
    this.ended = false
    this.changed({ kind: 'init', init })
  }

  /**
   * Open a new segment; an open one is completed first. With `msn` (grid timelines)
   * the number is given: numbers skipped since the last segment become gap segments,
   * each `gapDuration` long with its own program date time, so msns stay contiguous.
   */
  startSegment(startTime: number, pdt: number, independent: boolean, msn?: number, gap?: GapFill): SegmentRecord {
    if (!this.init) throw new Error('startSegment before beginEpoch')
    this.closeOpenSegment()
    // Fill a hole only after media: a rendition's first segment simply takes its number.
    if (msn !== undefined && msn > this.nextMsn && gap && this.segs.length > 0) this.fillGap(msn, gap)
    const seg: SegmentRecord = {
      msn: Math.max(msn ?? this.nextMsn, this.nextMsn), parts: [], duration: 0, startTime, pdt, init: this.init,
      discontinuity: this.pendingDiscontinuity, independent, gap: false, complete: false,
    }
    this.nextMsn = seg.msn + 1
    this.pendingDiscontinuity = false
    this.segs.push(seg)
    const prev = this.lastMedia
    if (prev && prev.hash !== this.init.hash && prev.msn < seg.msn) {
      this.initChanges.push({ msn: seg.msn, pdt, previousMsn: prev.msn })
      if (this.initChanges.length > MAX_INIT_CHANGES) this.initChanges.shift()
    }
    this.lastMedia = { msn: seg.msn, hash: this.init.hash }
    return seg
  }

  private fillGap(untilMsn: number, gap: GapFill): void {
    const count = untilMsn - this.nextMsn
    // A hole longer than the window is not worth listing segment by segment.
    const listed = Math.min(count, Math.ceil(this.timing.windowSeconds / gap.duration) + GRACE_SEGMENTS)
    if (listed < count) {
      // Everything held is older than the window once the hole is listed: drop it all, so
      // the retained list stays contiguous (lookups index by msn).
      for (const s of this.segs) if (s.discontinuity) this.discontinuitySequence++
      this.segs = []
    }
    this.nextMsn = untilMsn - listed
    for (let i = 0; i < listed; i++) {
      const msn = this.nextMsn++
      this.segs.push({
        msn, parts: [], duration: gap.duration, startTime: gap.startTimeOf(msn), pdt: gap.pdtOf(msn), init: this.init!,
        discontinuity: false, independent: false, gap: true, complete: true, data: Buffer.alloc(0),
      })
    }
    this.evict()
  }

  /**
   * Open gap segment `msn` (the next number): the rendition has no media for it while the
   * others go on, so it is listed with EXT-X-GAP (rfc8216bis 4.4.4.7) and filled with gap
   * parts in step with another rendition. False when `msn` is not the next number.
   */
  startGapSegment(msn: number, startTime: number, pdt: number): boolean {
    if (!this.init || this.ended) return false
    this.closeOpenSegment()
    if (msn !== this.nextMsn) return false
    // A gap carries no timeline change: a pending discontinuity waits for the media after it.
    this.segs.push({ msn, parts: [], duration: 0, startTime, pdt, init: this.init, discontinuity: false, independent: false, gap: true, complete: false })
    this.nextMsn = msn + 1
    return true
  }

  /** Append a gap part (no media, GAP=YES) to the open gap segment; `last` completes it. */
  addGapPart(duration: number, last = false): void {
    const seg = this.openSegment()
    if (!seg?.gap) return
    const part: PartRecord = { msn: seg.msn, index: seg.parts.length, duration, independent: false, data: EMPTY, completedAt: Date.now(), readyAt: performance.now(), gap: true }
    seg.parts.push(part)
    seg.duration += duration
    if (last) this.completeSegment(part)
    else this.changed({ kind: 'part', part, segment: seg })
  }

  /**
   * Append a completed part to the open segment. With `last`, the segment is completed
   * in the same change: nobody ever sees the part without the segment's EXTINF, so a
   * preload hint never names a part that will not come.
   */
  addPart(duration: number, independent: boolean, data: Buffer, readyAt = performance.now(), last = false): PartRecord {
    const seg = this.openSegment()
    if (!seg) throw new Error('addPart without an open segment')
    const part: PartRecord = { msn: seg.msn, index: seg.parts.length, duration, independent, data, completedAt: Date.now(), readyAt }
    seg.parts.push(part)
    seg.duration += duration
    if (last) this.completeSegment(part)
    else this.changed({ kind: 'part', part, segment: seg })
    return part
  }

  /**
   * Complete the open segment (if it has parts; an empty one is discarded). `lastPart`, when
   * the segment completes with a part just added: listeners hear of that part first, then of
   * the segment, both after the one store change that made them visible together.
   */
  completeSegment(lastPart?: PartRecord): SegmentRecord | undefined {
    const seg = this.openSegment()
    if (!seg) return undefined
    if (seg.parts.length === 0) {
      // Nothing was ever listed under this msn; reuse it rather than leave a hole.
      this.segs.pop()
      this.nextMsn = seg.msn
      if (seg.discontinuity) this.pendingDiscontinuity = true
      return undefined
    }
    const data = Buffer.concat(seg.parts.map((p) => p.data))
    let offset = 0
    for (const p of seg.parts) {
      // Re-point parts into the segment buffer so part and segment share memory.
      p.data = data.subarray(offset, offset + p.data.length)
      offset += p.data.length
    }
    seg.data = data
    seg.complete = true
    this.evict()
    this.changed(lastPart ? { kind: 'part', part: lastPart, segment: seg } : undefined, { kind: 'segment', segment: seg })
    return seg
  }

  /** The publisher is gone: complete what is open and mark the rendition ended. */
  end(): void {
    this.completeSegment()
    this.ended = true
    this.changed({ kind: 'ended' })
    this.waiters.finishAll('ended')
  }

  /** Segment by media sequence number, complete or in production. */
  segment(msn: number): SegmentRecord | undefined {
    const first = this.segs[0]
    if (!first) return undefined
    const s = this.segs[msn - first.msn]
    return s && s.msn === msn ? s : undefined
  }

  /** A part, while it exists and its URL is still servable. */
  part(msn: number, index: number): PartRecord | undefined {
    return this.segment(msn)?.parts[index]
  }

  /** The segment currently receiving parts, if any. */
  openSegment(): SegmentRecord | undefined {
    const last = this.segs[this.segs.length - 1]
    return last && !last.complete ? last : undefined
  }

  /** Newest segment with parts and its newest part; undefined before the first part. */
  edge(): EdgePosition | undefined {
    for (let i = this.segs.length - 1; i >= 0; i--) {
      const s = this.segs[i]!
      if (s.parts.length > 0) return { msn: s.msn, part: s.parts.length - 1 }
    }
    return undefined
  }

  /** Msn the next segment will get (the in-production one, or the one after the last). */
  get upcomingMsn(): number {
    return this.openSegment()?.msn ?? this.nextMsn
  }

  /** Subscribe to changes (init, part added, segment completed, ended); returns unsubscribe. */
  onChange(fn: StoreListener): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private closeOpenSegment(): void {
    if (this.openSegment()) this.completeSegment()
  }

  private evict(): void {
    // Keep the newest windowSeconds of complete segments, plus a few for late readers.
    let kept = 0
    let i = this.segs.length - 1
    for (; i >= 0 && kept < this.timing.windowSeconds; i--) kept += this.segs[i]!.duration
    const drop = Math.max(0, i + 1 - GRACE_SEGMENTS)
    if (drop === 0) return
    for (const s of this.segs.slice(0, drop)) if (s.discontinuity) this.discontinuitySequence++
    this.segs = this.segs.slice(drop)
    const live = new Set(this.segs.map((s) => s.init.hash))
    if (this.init) live.add(this.init.hash)
    for (const h of this.inits.keys()) if (!live.has(h)) this.inits.delete(h)
  }

  /** One version step: waiters and listeners see the store after the whole change. */
  private changed(...changes: Array<StoreChange | undefined>): void {
    this.version++
    this.waiters.check()
    for (const c of changes) if (c) for (const fn of this.listeners) fn(c)
  }
}
