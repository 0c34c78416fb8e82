/**
 * What happens to one live stream session, as typed events: one name per event and one
 * payload type per name (an event map, as hls.js types its events). Metrics, logs, the gap
 * cover, the API's view of the stream and any later consumer (a recorder, a DVR store, a
 * restream) subscribe here; the session itself knows none of them.
 */
import type { Logger } from 'pino'
import type { InitRecord, PartRecord, SegmentRecord } from '../packager/types.js'
import type { RenditionStore } from '../packager/rendition-store.js'
import type { StreamState } from '../packager/live-stream.js'
import type { MediaTag } from '../ingest/types.js'
import type { StreamPlan } from './stream-plan.js'
import type { SourceInfo } from './media-source.js'
import type { OnAir, SwitchCause } from './input-switch.js'
import { describeError } from '../errors.js'

/** Every session event and its payload. */
export interface SessionEventMap {
  /** The session's state changed (starting → live → ended). */
  state: { state: StreamState }
  /** The first key frame decided the plan; the stores exist and the workers are starting. */
  started: { plan: StreamPlan; renditions: string[]; firstMsn: number | undefined; /** what a viewer would notice about the source */ warnings: string[] }
  /** Workers are gone and every store has ended. */
  ended: { reason: string }
  /** An input joined the session. */
  'source-attached': { source: SourceInfo }
  /** An input left the session. */
  'source-detached': { source: SourceInfo; reason: string }
  /** A tag of an input arrived, on air or not (input health and bitrate). */
  'input-media': { tag: MediaTag; source: SourceInfo }
  /** An input cannot go on air (e.g. a codec the stream's workers cannot take); it is kept off air. */
  'input-problem': { source: SourceInfo; problem: string }
  /** What is on air changed: an input, the slate, or nothing. */
  'input-switched': { from: OnAir; to: OnAir; cause: SwitchCause }
  /** A tag of the on-air input entered the pipeline. */
  media: { tag: MediaTag; source: SourceInfo }
  /** A tag was dropped in front of a worker that could not keep up. */
  'media-dropped': Record<string, never>
  /** A rendition's store joined the session. */
  'rendition-added': { rendition: string; store: RenditionStore }
  /** A rendition left the multivariant playlist and the MPD (its own playlist stays up). */
  'rendition-removed': { rendition: string; reason: string }
  /** A rendition started a new epoch with this init segment. */
  'init-changed': { rendition: string; init: InitRecord }
  /** A part became visible in a rendition (media, or a gap part with `part.gap`). */
  'part-published': { rendition: string; part: PartRecord; segment: SegmentRecord }
  /** The publish gate released a part after holding it this long (0 when not held). */
  'part-released': { rendition: string; heldSeconds: number }
  /** A segment completed: everything a recorder needs, with its bytes in `segment.data`. */
  'segment-completed': {
    rendition: string
    msn: number
    /** Media time (s) of its first frame on the session's timeline. */
    mediaTime: number
    duration: number
    /** Program date time of its first frame (ms since the epoch). */
    pdt: number
    bytes: number
    gap: boolean
    segment: SegmentRecord
  }
  /** A segment starts a new timeline (listed after EXT-X-DISCONTINUITY). */
  discontinuity: { rendition: string; msn: number }
  /** A worker process of a rendition exited; `wanted` when it is to be restarted. */
  'worker-down': { rendition: string; wanted: boolean }
  /** A worker process of a rendition started producing; its media begins at segment `fromMsn` when known. */
  'worker-up': { rendition: string; fromMsn: number | undefined; pid: number | undefined }
  /** A rung was stopped for the rest of the session (the machine cannot keep up). */
  'rung-shed': { rendition: string; reason: string }
  /** A rendition fell behind the others beyond the lag bound, or caught up. */
  lagging: { rendition: string; lagging: boolean; behindSeconds: number }
  /** Media seconds per wall second of a rendition, every supervisor tick. */
  speed: { rendition: string; speed: number }
}

/** A session event's name. */
export type SessionEvent = keyof SessionEventMap

/** A listener of one event. */
export type SessionListener<E extends SessionEvent> = (payload: SessionEventMap[E]) => void

/**
 * One typed emitter. Hand-written rather than Node's EventEmitter or eventemitter3 for
 * one property neither has: a throwing subscriber is logged and skipped, so a faulty
 * consumer (a recorder whose disk is full) cannot break the session that feeds players.
 */
export class SessionEvents {
  private readonly listeners = new Map<SessionEvent, Set<(payload: never) => void>>()

  constructor(private readonly log?: Logger) {}

  /** Subscribe; returns the unsubscribe function. */
  on<E extends SessionEvent>(event: E, fn: SessionListener<E>): () => void {
    let set = this.listeners.get(event)
    if (!set) this.listeners.set(event, set = new Set())
    set.add(fn as (payload: never) => void)
    return () => { set.delete(fn as (payload: never) => void) }
  }

  /** Whether anyone listens to `event` (lets a hot path skip building a payload). */
  has(event: SessionEvent): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0
  }

  /** Call every listener of `event` in subscription order. */
  emit<E extends SessionEvent>(event: E, payload: SessionEventMap[E]): void {
    const set = this.listeners.get(event)
    if (!set) return
    for (const fn of set) {
      try {
        (fn as SessionListener<E>)(payload)
      } catch (err) {
        this.log?.error({ event, err: describeError(err) }, 'a session event listener failed; skipped')
      }
    }
  }

  /** Drop every listener (the session is over). */
  clear(): void {
    this.listeners.clear()
  }
}
