/**
 * A session's renditions once planned: their stores (numbered from the session's grid
 * slot), the publish gate they share, one feed per rendition from worker output to
 * store, and the bridge from each store's changes to the session's events.
 */
import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import type { FlvNormalizer } from '../ingest/flv-normalizer.js'
import { ANCHOR_WINDOW_MS } from '../ingest/flv-normalizer.js'
import type { LiveStream, SessionTimeline } from '../packager/live-stream.js'
import type { RenditionStore, StoreChange } from '../packager/rendition-store.js'
import { PublishGate } from '../packager/publish-gate.js'
import { describeError } from '../errors.js'
import { RenditionFeed } from './rendition-feed.js'
import type { SessionEvents } from './session-events.js'
import type { WorkerOutput } from './session-workers.js'
import { renditionNames, type StreamPlan } from './stream-plan.js'
import { NUMBERING_EPOCH_MS } from './numbering.js'

/** What the renditions of a session are built from. */
export interface RenditionsOptions {
  plan: StreamPlan
  config: Config
  stream: LiveStream
  input: FlvNormalizer
  events: SessionEvents
  log: Logger
  /** The store of a rendition of this stream, created on first use (numbered from `firstMsn` when given). */
  storeFor: (rendition: string, firstMsn?: number) => RenditionStore
  /** First segment number of a session whose media starts at this date (ms); reserves it. */
  sessionNumber?: (anchorMs: number) => number
  /** The stream produced its first media. */
  onFirstMedia: () => void
}

/** Stores, gate and feeds of one planned session. */
export class SessionRenditions {
  readonly stores: RenditionStore[]
  readonly feeds = new Map<string, RenditionFeed>()
  /** Number of the session's first grid slot: where restarted encoders' media is placed. */
  readonly msnBase: number
  readonly firstMsn: number | undefined
  private readonly gate: PublishGate
  private readonly anchorTimer: NodeJS.Timeout
  private readonly unsubscribe: Array<() => void> = []
  /** The grid is epoch-locked (redundancy.epochLock, a ladder). */
  readonly locked: boolean
  private offset: number | undefined

  constructor(private readonly o: RenditionsOptions) {
    const { plan, config, input } = o
    const names = renditionNames(plan)
    // Every rendition numbers this session's segments from the same base: the grid slot of
    // media time zero (its date so far: settling only moves it earlier, by what the publisher
    // sent ahead of real time in its first second). New stores start there too (passthrough
    // numbers from the store alone).
    this.locked = plan.mode === 'ladder' && config.redundancy.epochLock
    // Epoch-locked, the first slot's number is decided once the anchor settles (gridOffset),
    // up to a slot and a half below this reading: two slots of room, so it has a number of
    // its own (never below the name's floor); numbers in between are skipped.
    const first = this.firstMsn = o.sessionNumber?.(this.locked ? input.startCandidateDate - 2 * config.hls.segmentTarget * 1000 : input.currentEpoch?.wallAtZero ?? Date.now())
    this.stores = names.map((n) => o.storeFor(n, first))
    this.msnBase = Math.max(first ?? 0, ...this.stores.map((s) => s.upcomingMsn))
    // Closed until the date of media time zero is settled: no date is served before it is
    // final, so the date-to-media mapping is the same in every rendition and every reload.
    this.gate = new PublishGate({
      closed: !input.anchorIsSettled,
      partTarget: config.hls.partTarget,
      maxLagSeconds: config.hls.renditionMaxLagSeconds,
      onPart: (rendition, heldSeconds) => o.events.emit('part-released', { rendition, heldSeconds }),
      onError: (rendition, err) => o.log.error({ rendition, err: describeError(err) }, 'a store change failed; dropped'),
      onLagging: (rendition, lagging, behindSeconds) => o.events.emit('lagging', { rendition, lagging, behindSeconds }),
    })
    input.onAnchorSettled = () => {
      this.gate.open()
      this.gridDecided()
    }
    // A publisher that goes quiet within the window must not keep the gate shut.
    this.anchorTimer = setTimeout(() => input.settleAnchor(), ANCHOR_WINDOW_MS + 250)
    this.anchorTimer.unref()
    const wallAtZero = this.timeline()
    for (const store of this.stores) {
      this.feeds.set(store.name, this.feed(store, wallAtZero))
      this.unsubscribe.push(store.onChange((c) => this.bridge(store.name, c)))
      o.events.emit('rendition-added', { rendition: store.name, store })
    }
  }

  /** The session's timeline for DASH, anchored on the same epoch clock as PROGRAM-DATE-TIME. */
  private timeline(): () => number {
    const timeline: SessionTimeline = { firstMsn: this.msnBase, wallAtZero: undefined, gridSeconds: this.o.plan.mode === 'ladder' ? this.o.config.hls.segmentTarget : undefined }
    this.o.stream.addTimeline(timeline)
    return () => {
      const w = this.o.input.currentEpoch?.wallAtZero
      if (w !== undefined && timeline.wallAtZero === undefined) {
        // Dates are asked for once the anchor has settled (the gate holds changes until
        // then), so the grid is final: DASH starts at its first whole slot.
        const off = this.gridOffset()
        if (off > 0 && timeline.gridSeconds !== undefined) {
          const S = timeline.gridSeconds
          const j = Math.floor(off / S + 1e-9)
          const mediaStart = (j + 1) * S - off
          timeline.firstMsn = this.msnBase + j + 1
          timeline.mediaStartSeconds = mediaStart
          timeline.wallAtZero = w + mediaStart * 1000
        } else {
          timeline.wallAtZero = w
        }
      }
      return w ?? Date.now()
    }
  }

  private feed(store: RenditionStore, wallAtZero: () => number): RenditionFeed {
    const { plan, config } = this.o
    const copied = plan.mode === 'ladder' && plan.copy?.name === store.name && plan.encoded.length > 0
    return new RenditionFeed({
      lane: this.gate.lane(store),
      store,
      segmentTarget: config.hls.segmentTarget,
      grid: plan.mode === 'ladder' ? { msnBase: this.msnBase, locked: this.locked || undefined } : undefined,
      gridOffset: () => this.gridOffset(),
      whenGridReady: (go) => this.whenGridReady(go),
      keyframesOnGrid: plan.mode === 'ladder' && plan.encoded.some((r) => r.name === store.name),
      wallClockAt: (t) => wallAtZero() + t * 1000,
      logger: this.o.log.child({ rendition: store.name }),
      onFirstInit: this.o.onFirstMedia,
      onOffGrid: copied ? (reason) => this.offerNoLonger(store, reason) : undefined,
    })
  }

  /**
   * The copied rung cannot stay aligned with the encoded ones (its source's key frames miss
   * the grid): its segments no longer cover the same media as theirs, and a player
   * switching between them would skip or repeat media. It leaves the multivariant playlist
   * and the MPD (as a shed rung does) while the encoded rungs carry the stream; its own
   * playlist stays up for anyone who asked for it by URL.
   */
  private offerNoLonger(store: RenditionStore, reason: string): void {
    if (store.shed !== undefined) return
    store.shed = `not offered: the source's ${reason}; the encoded rungs carry the stream`
    this.o.events.emit('rendition-removed', { rendition: store.name, reason: store.shed })
  }

  /** A store's change, as session events. */
  private bridge(rendition: string, c: StoreChange): void {
    const ev = this.o.events
    if (c.kind === 'init') ev.emit('init-changed', { rendition, init: c.init })
    else if (c.kind === 'part') {
      if (c.part.index === 0 && c.segment.discontinuity) ev.emit('discontinuity', { rendition, msn: c.segment.msn })
      ev.emit('part-published', { rendition, part: c.part, segment: c.segment })
    } else if (c.kind === 'segment') {
      const s = c.segment
      ev.emit('segment-completed', { rendition, msn: s.msn, mediaTime: s.startTime, duration: s.duration, pdt: s.pdt, bytes: s.data?.length ?? 0, gap: s.gap, segment: s })
    }
  }

  /**
   * Seconds from the start of slot msnBase to media time zero: 0 on a grid counted from the
   * session's first key frame. Epoch-locked, slots begin where the publisher's timestamp
   * is a multiple of the segment target, and slot numbers are dates: the settled offset
   * between the publisher's timestamps and this clock, rounded to whole slots, numbers
   * them from the numbering epoch. Both are functions of the feed's timestamps, and of a
   * clock reading rounded to a whole slot, so two origins fed the same timestamps cut at
   * the same frames and, unless their readings straddle a rounding edge (clocks or arrival
   * paths apart by a sizeable share of a slot), number them alike. A segment then starts
   * within half a slot of its number's date. When the numbers run ahead of the dates (a
   * republish within a slot) only the phase is kept. Decided once the anchor is settled.
   */
  gridOffset(): number {
    if (!this.locked) return 0
    if (this.offset !== undefined) return this.offset
    const epoch = this.o.input.currentEpoch
    const S = this.o.config.hls.segmentTarget
    const slotMs = S * 1000
    const base = epoch?.base ?? 0
    const date = epoch?.startDate ?? this.o.input.startCandidateDate
    // The date of publisher timestamp 0, in whole slots from the numbering epoch.
    const shift = Math.round((date - base - NUMBERING_EPOCH_MS) / slotMs)
    const inSlot = ((base % slotMs) + slotMs) % slotMs
    let off = inSlot / 1000 + (Math.floor(base / slotMs) + shift - this.msnBase) * S
    if (off < 0) off = ((off % S) + S) % S
    if (epoch && this.o.input.anchorIsSettled) this.offset = off
    return off
  }

  /**
   * Call `go` once the grid is decided (at once unless epoch-locked): an epoch-locked grid
   * waits for the settled date of media time zero, so encoders and segmenters start on it.
   */
  whenGridReady(go: () => void): void {
    if (!this.locked || this.offset !== undefined || (this.o.input.currentEpoch && this.o.input.anchorIsSettled)) return go()
    this.gridWaiters.push(go)
  }

  private readonly gridWaiters: Array<() => void> = []

  private gridDecided(): void {
    if (!this.locked) return
    this.gridOffset()
    for (const go of this.gridWaiters.splice(0)) go()
  }

  /** A (re)started worker's output, read into its rendition. */
  attach(out: WorkerOutput): void {
    this.feeds.get(out.rendition)?.attach(out)
  }

  /** The session is ending: no timers left. */
  stop(): void {
    clearTimeout(this.anchorTimer)
  }

  /** Worker outputs are closed: publish what the gate holds, end every store, leave the stores. */
  finish(): void {
    this.gate.drain()
    for (const s of this.stores) s.end()
    for (const u of this.unsubscribe) u()
  }
}
