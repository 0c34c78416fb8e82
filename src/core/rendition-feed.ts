/**
 * Feeds one rendition's store from its worker processes: each process's fMP4
 * output is read incrementally, and each init segment it writes starts a new
 * segmenter epoch (a discontinuity) on the rendition's timeline.
 */
import type { Logger } from 'pino'
import { Fmp4Reader } from '../packager/fmp4-reader.js'
import { Segmenter, type Publish, type SegmentGrid } from '../packager/segmenter.js'
import type { RenditionStore } from '../packager/rendition-store.js'
import type { PartRecord, SegmentRecord } from '../packager/types.js'
import type { WorkerOutput } from './session-workers.js'
import type { Sample } from '../media/types.js'
import { describeError } from '../errors.js'

/** What a feed needs. */
export interface FeedOptions {
  store: RenditionStore
  segmentTarget: number
  /** Present for ladders: segments on the shared grid. */
  grid?: SegmentGrid
  /** The grid's offset (SegmentGrid.offset), read when each segmenter starts (the epoch exists then). */
  gridOffset?: () => number
  /** Calls back once the grid's offset is final; samples wait until then (default: at once). */
  whenGridReady?: (go: () => void) => void
  /** The rendition's encoder forces a key frame at every grid slot (an encoded rung, not a copy). */
  keyframesOnGrid?: boolean
  /** Media time (s) on the session's timeline → wall-clock ms. */
  wallClockAt: (t: number) => number
  logger: Logger
  onPart?: (p: PartRecord) => void
  onSegment?: (s: SegmentRecord) => void
  /** The stream produced its first media. */
  onFirstInit?: () => void
  /** The rendition's lane of the session's publish gate; without one, changes apply at once. */
  lane?: { publish: Publish; start: () => void; stop: () => void }
  /** Its key frames were found not to fit the grid (a copied source): once per stream. */
  onOffGrid?: (reason: string) => void
}

/** Seconds of history the speed is measured over. */
const SPEED_WINDOW_MS = 5000

/** One rendition's connection from worker output to store. */
export class RenditionFeed {
  private readonly o: FeedOptions
  private current: Segmenter | undefined
  /** Date.now() of the current process's last output; undefined until it writes. */
  lastOutputAt: number | undefined
  /** Pid of the process currently feeding this rendition. */
  pid: number | undefined
  private output: WorkerOutput | undefined
  private progress: Array<{ at: number; media: number }> = []
  /** Warnings every segmenter of this rendition shares, so each is logged once per stream. */
  private readonly warned = new Set<string>()

  constructor(o: FeedOptions) {
    this.o = o
  }

  /** The rendition's store. */
  get store(): RenditionStore {
    return this.o.store
  }

  /**
   * Media seconds produced per wall second over the last few seconds: about 1 for a
   * worker keeping up with a live source, below 1 when the machine cannot.
   */
  get speed(): number | undefined {
    const first = this.progress[0]
    const last = this.progress[this.progress.length - 1]
    if (!first || !last || last.at - first.at < SPEED_WINDOW_MS / 2) return undefined
    return (last.media - first.media) / ((last.at - first.at) / 1000)
  }

  /** Read a new process's output; the previous one's segmenter is flushed. */
  attach(out: WorkerOutput): void {
    this.pid = out.pid
    this.output = out
    this.lastOutputAt = undefined
    this.progress = []
    let mine: Segmenter | undefined
    let shift = new Map<number, number>()
    // Until the grid is decided (an epoch-locked grid waits for the settled anchor), the
    // output's samples are held; its segmenter starts with the grid's final offset.
    let ready = this.o.whenGridReady === undefined
    let held: Array<() => void> = []
    const whenReady = (f: () => void): void => { if (ready) f(); else held.push(f) }
    if (!ready) this.o.whenGridReady!(() => { ready = true; for (const f of held) f(); held = [] })
    const reader = new Fmp4Reader({
      onInit: (init) => whenReady(() => {
        const offset = out.mediaOffset ?? 0
        shift = new Map(init.tracks.map((t) => [t.id, Math.round(offset * t.timescale)]))
        this.flush(mine)
        mine = new Segmenter(this.o.store, init, {
          segmentTarget: this.o.segmentTarget,
          grid: this.o.grid && { ...this.o.grid, offset: this.o.gridOffset?.() ?? this.o.grid.offset },
          keyframesOnGrid: this.o.keyframesOnGrid,
          warned: this.warned,
          onOffGrid: this.o.onOffGrid,
          wallClockAt: this.o.wallClockAt,
          logger: this.o.logger,
          onPart: this.o.onPart,
          onSegment: this.o.onSegment,
          publish: this.o.lane?.publish,
        })
        this.o.lane?.start()
        this.current = mine
        this.o.onFirstInit?.()
      }),
      onSamples: (samples) => whenReady(() => {
        for (const s of samples) s.dts += shift.get(s.trackId) ?? 0
        mine?.push(samples)
        this.track(samples)
      }),
    })
    const onData = (chunk: Buffer): void => {
      try {
        reader.push(chunk)
      } catch (err) {
        this.o.logger.error({ err: describeError(err), pid: out.pid }, 'worker output unreadable; restarting it')
        out.stdout.off('data', onData)
        out.restart()
      }
    }
    out.stdout.on('data', onData)
    out.stdout.once('close', () => whenReady(() => {
      this.flush(mine)
      // No worker produces for this rendition until the next one writes its init.
      if (mine && this.current === undefined) this.o.lane?.stop()
    }))
  }

  /** Whether a worker has fed this rendition since the session began. */
  get fed(): boolean {
    return this.output !== undefined
  }

  /** Make the current worker restart (hung, or its output unreadable); its supervisor starts another. */
  restart(): void {
    this.output?.restart()
  }

  private track(samples: Sample[]): void {
    const last = samples[samples.length - 1]
    const track = last && this.o.store.currentInit?.tracks.find((t) => t.id === last.trackId)
    if (!last || !track) return
    const now = Date.now()
    this.lastOutputAt = now
    this.progress.push({ at: now, media: (last.dts + last.duration) / track.timescale })
    while (this.progress.length > 2 && now - this.progress[0]!.at > SPEED_WINDOW_MS) this.progress.shift()
  }

  private flush(seg: Segmenter | undefined): void {
    if (!seg) return
    seg.flush()
    if (this.current === seg) this.current = undefined
  }
}
