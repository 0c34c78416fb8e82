/**
 * The small interface every ingest protocol needs from its parent (core/).
 * Ingest never imports core: core hands an IngestHandler to each listener.
 */
import type { InputRole } from './role.js'

export type { InputRole } from './role.js'

/** What a publisher asked for, known before the publish is acknowledged. */
export interface PublishRequest {
  protocol: 'rtmp' | 'srt'
  /** Application part of the URL (`live` in rtmp://host/live/name). */
  app: string
  /** Stream name without query string. */
  stream: string
  /** Publish key from `?key=` (RTMP) or the streamid (SRT); undefined when absent. */
  key?: string
  /** Remote address `ip:port` of the publisher. */
  remote: string
  /** Which input of the stream this publisher feeds: `?role=` (RTMP) or the streamid (SRT); primary when absent. */
  role: InputRole
}

/** Kind of an FLV tag carried over RTMP. */
export type TagKind = 'audio' | 'video' | 'data'

/**
 * One media message, exactly the body of an FLV tag (RTMP audio/video/data
 * message payload), stamped with the wall-clock time it arrived.
 */
export interface MediaTag {
  kind: TagKind
  /** RTMP timestamp in milliseconds (absolute, after delta accumulation). */
  timestamp: number
  /** FLV tag body: for video the VIDEODATA header byte(s) + payload; for audio AUDIODATA. */
  data: Buffer
  /** Date.now() when the last byte of the message arrived. */
  arrival: number
  /** Audio: which track of a multi-track source (SRT/MPEG-TS); absent means track 0. */
  track?: number
  /** Audio sequence headers: the track's ISO 639-2 language, when the source names one. */
  language?: string
}

/** Where an accepted publisher's media goes. */
export interface MediaSink {
  /** Called for every complete audio/video/data message, in arrival order. */
  write(tag: MediaTag): void
  /**
   * Called once when the publisher goes away; `reason` for logs, `clean` when it ended the
   * publish itself (RTMP deleteStream/FCUnpublish, SRT shutdown) rather than being lost.
   */
  end(reason: string, clean?: boolean): void
  /**
   * The audio tracks the source announces before their media (an MPEG-TS PMT), so the
   * sink can wait for each one's first frame before planning renditions.
   */
  announceAudio?(tracks: Array<{ track: number; language?: string }>): void
}

/** Outcome of a publish request. */
export type PublishDecision =
  | { ok: true; sink: MediaSink; /** lets core kick the publisher */ onKick?: (kick: () => void) => void }
  | { ok: false; code: 'unauthorized' | 'busy' | 'bad-name'; reason: string }

/** Supplied by core/: decides on a publish before the ingest acknowledges it. */
export interface IngestHandler {
  publish(req: PublishRequest): Promise<PublishDecision>
}
