/**
 * A stream as the packager sees it: named renditions with their stores, and the
 * ingest facts the API reports. Kept after the publisher leaves (for the ENDLIST
 * playlist and for numbering that continues when the same name returns).
 */
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
  /** Name of the publish key that authorized it; null when publishing was open to the peer. */
  key?: string | null
}

/** One stream name and its renditions. */
export class LiveStream {
  readonly name: string
  readonly renditions = new Map<string, RenditionStore>()
  state: StreamState = 'starting'
  ingest: IngestInfo | undefined
  endedAt: number | undefined
  /** Input bitrate, bit/s, measured by core over the last seconds. */
  inputBitrate = 0
  /** Audience counters since the current publish started. */
  readonly viewers = new ViewerStats()
  /**
   * Set when an ended stream's retention expires: its playlists are gone (404) while its
   * segments stay servable for the playlist's duration (rfc8216bis 6.2.1).
   */
  removed = false
  /** Requests waiting on the stream as a whole (the multivariant playlist of a starting stream). */
  readonly waiters = new WaiterSet()
  private readonly listeners = new Set<() => void>()

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
