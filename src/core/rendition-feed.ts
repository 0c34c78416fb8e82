/**
 * Feeds one rendition's store from its worker processes: each process's fMP4
 * output is read incrementally, and each init segment it writes starts a new
 * segmenter epoch (a discontinuity) on the rendition's timeline.
 */
import type { Logger } from 'pino'
import { Fmp4Reader } from '../packager/fmp4-reader.js'
import { Segmenter, type SegmentGrid } from '../packager/segmenter.js'
import type { RenditionStore } from '../packager/rendition-store.js'
import type { PartRecord, SegmentRecord } from '../packager/types.js'
import type { RenditionOutput } from '../transcode/flv-worker.js'
import { describeError } from '../errors.js'

/** What a feed needs. */
export interface FeedOptions {
  store: RenditionStore
  segmentTarget: number
  /** Present for ladders: segments on the shared grid. */
  grid?: SegmentGrid
  /** Media time (s) on the session's timeline → wall-clock ms. */
  wallClockAt: (t: number) => number
  logger: Logger
  onPart?: (p: PartRecord) => void
  onSegment?: (s: SegmentRecord) => void
  /** The stream produced its first media. */
  onFirstInit?: () => void
}

/** One rendition's connection from worker output to store. */
export class RenditionFeed {
  private readonly o: FeedOptions
  private current: Segmenter | undefined

  constructor(o: FeedOptions) {
    this.o = o
  }

  /** Read a new process's output; the previous one's segmenter is flushed. */
  attach(out: RenditionOutput): void {
    let mine: Segmenter | undefined
    const reader = new Fmp4Reader({
      onInit: (init) => {
        this.flush(mine)
        mine = new Segmenter(this.o.store, init, {
          segmentTarget: this.o.segmentTarget,
          grid: this.o.grid,
          wallClockAt: this.o.wallClockAt,
          logger: this.o.logger,
          onPart: this.o.onPart,
          onSegment: this.o.onSegment,
        })
        this.current = mine
        this.o.onFirstInit?.()
      },
      onSamples: (samples) => mine?.push(samples),
    })
    const onData = (chunk: Buffer): void => {
      try {
        reader.push(chunk)
      } catch (err) {
        this.o.logger.error({ err: describeError(err), pid: out.pid }, 'worker output unreadable; restarting it')
        out.stdout.off('data', onData)
        try { process.kill(out.pid, 'SIGKILL') } catch { /* already gone */ }
      }
    }
    out.stdout.on('data', onData)
    out.stdout.once('close', () => this.flush(mine))
  }

  private flush(seg: Segmenter | undefined): void {
    if (!seg) return
    seg.flush()
    if (this.current === seg) this.current = undefined
  }
}
