/**
 * A session's renditions once planned: their stores (numbered from the session's grid
 * slot), the publish gate they share, one feed per rendition from worker output to
 * store, and the bridge from each store's changes to the session's events.
 */
import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import type { FlvNormalizer } from '../ingest/flv-normalizer.js'
import { ANCHOR_WINDOW_MS } from '../ingest/flv-normalizer.js'
import type { LiveStream } from '../packager/live-stream.js'
import type { RenditionStore, StoreChange } from '../packager/rendition-store.js'
import { PublishGate } from '../packager/publish-gate.js'
import { describeError } from '../errors.js'
import { RenditionFeed } from './rendition-feed.js'
import type { SessionEvents } from './session-events.js'
import type { WorkerOutput } from './session-workers.js'
import { renditionNames, type StreamPlan } from './stream-plan.js'

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

  constructor(private readonly o: RenditionsOptions) {
    const { plan, config, input } = o
    const names = renditionNames(plan)
    // Every rendition numbers this session's segments from the same base: the grid slot of
    // media time zero (its date so far: settling only moves it earlier, by what the publisher
    // sent ahead of real time in its first second). New stores start there too (passthrough
    // numbers from the store alone).
    const first = this.firstMsn = o.sessionNumber?.(input.currentEpoch?.wallAtZero ?? Date.now())
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
    input.onAnchorSettled = () => this.gate.open()
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
    const timeline = { firstMsn: this.msnBase, wallAtZero: undefined as number | undefined, gridSeconds: this.o.plan.mode === 'ladder' ? this.o.config.hls.segmentTarget : undefined }
    this.o.stream.addTimeline(timeline)
    return () => {
      const w = this.o.input.currentEpoch?.wallAtZero
      if (w !== undefined) timeline.wallAtZero ??= w
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
      grid: plan.mode === 'ladder' ? { msnBase: this.msnBase } : undefined,
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
