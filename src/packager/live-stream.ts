/**
 * A stream as the packager sees it: named renditions with their stores, and the
 * ingest facts the API reports. Kept after the publisher leaves (for the ENDLIST
 * playlist and for numbering that continues when the same name returns).
 */
import type { InputRole } from '../ingest/types.js'
import type { RenditionStore } from './rendition-store.js'
import { WaiterSet } from './waiters.js'
import { ViewerStats } from './viewer-stats.js'

/** Lifecycle of a stream name. */
export type StreamState = 'starting' | 'live' | 'ended'

/** Ingest facts for the API; filled in by core. */
export interface IngestInfo {
  protocol: 'rtmp' | 'srt' | 'demo'
  remote: string
  since: number
  /** Tracks of an MPEG-TS publisher's program (SRT): every audio language, and which ones are used. */
  tracks?: Array<{ kind: string; codec: string; language?: string; selected: boolean }>
  /** Name of the publish key that authorized it; null when publishing was open to the peer. */
  key?: string | null
  /** Problems of this publish a viewer would notice (e.g. a video format browsers cannot decode). */
  warnings?: string[]
}

/** What a stream can put on air: one of its two inputs, or the slate when neither delivers. */
export type OnAirInput = InputRole | 'slate'

/**
 * Where one input stands: `on-air` (its media is what viewers get), `standby`
 * (connected and delivering, not on air), `connecting` (publishing, no media yet),
 * `lost` (its publisher left or stopped delivering).
 */
export type InputState = 'on-air' | 'standby' | 'connecting' | 'lost'

/** One input (primary or backup) of a stream, for the API; filled in by core. */
export interface InputInfo {
  role: InputRole
  state: InputState
  /** Publisher `ip:port` (the last one, once lost). */
  remote: string
  protocol: 'rtmp' | 'srt' | 'demo'
  /** Input bitrate over the last seconds, bit/s. */
  bitrate: number
  /** When its publisher connected, ms since the epoch. */
  since: number
  /** When its last media message arrived, ms since the epoch; undefined before the first. */
  lastMediaAt: number | undefined
  /** Why it is not usable (e.g. a codec the other input does not share), when it is not. */
  problem?: string
}

/**
 * One publish session's timeline, as DASH needs it: media time zero of the session is
 * `wallAtZero` on the wall clock (the ingest arrival of its first key frame, the same
 * anchor as PROGRAM-DATE-TIME), and its first segment number is `firstMsn`.
 */
export interface SessionTimeline {
  firstMsn: number
  /** Set once the session's first consumer starts its epoch. */
  wallAtZero: number | undefined
  /** Grid slot in seconds when segments are cut on the shared grid (ladder); undefined when keyframe-cut. */
  gridSeconds: number | undefined
  /**
   * Media time (s) at which slot `firstMsn` begins, dated `wallAtZero` (default 0). An
   * epoch-locked grid's first slot starts before the session's media: the timeline then
   * begins at the next, the first whole one.
   */
  mediaStartSeconds?: number
}

/** Timelines kept per stream: older ones have no segments left in any window. */
const MAX_TIMELINES = 16

/** One stream name and its renditions. */
export class LiveStream {
  readonly name: string
  readonly renditions = new Map<string, RenditionStore>()
  state: StreamState = 'starting'
  ingest: IngestInfo | undefined
  endedAt: number | undefined
  /** Input bitrate, bit/s, measured by core over the last seconds. */
  inputBitrate = 0
  /** Every input of the stream (primary, backup), each with its state; empty before core reports them. */
  inputs: InputInfo[] = []
  /** What viewers get now: an input, the slate, or undefined while nothing is on air. */
  onAir: OnAirInput | undefined
  /** Audience counters since the current publish started. */
  readonly viewers = new ViewerStats()
  /**
   * Set when an ended stream's retention expires: its playlists are gone (404) while its
   * segments stay servable for the playlist's duration (rfc8216bis 6.2.1).
   */
  removed = false
  /** Publish sessions of this name, oldest first (DASH Periods). */
  readonly timelines: SessionTimeline[] = []
  /** Requests waiting on the stream as a whole (the multivariant playlist of a starting stream). */
  readonly waiters = new WaiterSet()
  private readonly listeners = new Set<() => void>()
  private ast: number | undefined

  constructor(name: string) {
    this.name = name
  }

  /** Sum of rendition versions: changes whenever any rendition changes. */
  get version(): number {
    let v = 0
    for (const r of this.renditions.values()) v += r.version
    return v
  }

  /** Add a rendition store and forward its changes to stream-level listeners. */
  addRendition(store: RenditionStore): void {
    this.renditions.set(store.name, store)
    store.onChange(() => this.changed())
    this.changed()
  }

  /** DASH availabilityStartTime: the first session's media zero, latched for this object's life. */
  get availabilityStart(): number | undefined {
    this.ast ??= this.timelines.find((t) => t.wallAtZero !== undefined)?.wallAtZero
    return this.ast
  }

  /** Record a new publish session's timeline. */
  addTimeline(t: SessionTimeline): void {
    this.timelines.push(t)
    if (this.timelines.length > MAX_TIMELINES) this.timelines.shift()
  }

  /** Wake stream-level waiters and listeners. */
  changed(): void {
    this.waiters.check()
    for (const fn of this.listeners) fn()
  }

  /** Called on any rendition change; returns unsubscribe. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /** True once every rendition has produced its first part. */
  get ready(): boolean {
    if (this.renditions.size === 0) return false
    for (const r of this.renditions.values()) if (!r.edge()) return false
    return true
  }
}

/** Every stream name the server knows, live or recently ended. */
export class StreamDirectory {
  private readonly streams = new Map<string, LiveStream>()

  /** Stream by name. */
  get(name: string): LiveStream | undefined {
    return this.streams.get(name)
  }

  /** All streams, live first, then by name. */
  list(): LiveStream[] {
    return [...this.streams.values()].sort((a, b) =>
      a.state === b.state ? a.name.localeCompare(b.name) : a.state === 'live' ? -1 : b.state === 'live' ? 1 : 0)
  }

  /** Register a stream under its name. */
  add(stream: LiveStream): void {
    this.streams.set(stream.name, stream)
  }

  /** Forget a stream (after its retention). */
  remove(name: string): void {
    this.streams.delete(name)
  }
}
