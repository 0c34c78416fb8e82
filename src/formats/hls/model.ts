/**
 * HLS playlists as data (draft-pantos-hls-rfc8216bis): a media playlist and a
 * multivariant playlist, each rendered to text by one renderer
 * (media-playlist.ts, multivariant-playlist.ts). A new tag is a field here and
 * a line in its renderer; whoever builds a playlist only fills in data.
 * Times are milliseconds since the epoch, durations seconds.
 */

/** EXT-X-SERVER-CONTROL (4.4.3.8). */
export interface ServerControl {
  /** CAN-BLOCK-RELOAD=YES: blocking playlist reload is supported. */
  canBlockReload: boolean
  /** CAN-SKIP-UNTIL: delta updates may skip segments this many seconds from the end. */
  canSkipUntil?: number
  /** CAN-SKIP-DATERANGES=YES: a delta update may also leave out date ranges the client has. */
  canSkipDateranges?: boolean
  /** HOLD-BACK: seconds from the end a player should start. */
  holdBack?: number
  /** PART-HOLD-BACK: the same in low-latency mode. */
  partHoldBack?: number
}

/** EXT-X-SKIP of a delta update (4.4.5.2). */
export interface Skip {
  skippedSegments: number
  /** IDs of date ranges removed since the skipped part; required (may be empty) in a v2 update, absent otherwise. */
  recentlyRemovedDateranges?: string[]
}

/** EXT-X-START (4.4.2.2): where a player should start. */
export interface StartPoint {
  /** Seconds from the start (positive) or from the end (negative) of the playlist. */
  timeOffset: number
  precise?: boolean
}

/** EXT-X-MAP (4.4.4.5): a Media Initialization Section. */
export interface MediaInit {
  uri: string
}

/** A client attribute value of EXT-X-DATERANGE: quoted string, number or hexadecimal bytes. */
export type ClientAttribute = string | number | Uint8Array

/** EXT-X-DATERANGE (4.4.5.1). */
export interface DateRange {
  id: string
  class?: string
  startDate: number
  /** CUE: when the range's cue triggers relative to playback (PRE, POST, ONCE). */
  cue?: Array<'PRE' | 'POST' | 'ONCE'>
  endDate?: number
  duration?: number
  plannedDuration?: number
  /** X-<name> attributes; names are upper case letters, digits and hyphens after `X-`. */
  clientAttributes?: Record<string, ClientAttribute>
  scte35Cmd?: Uint8Array
  scte35Out?: Uint8Array
  scte35In?: Uint8Array
  /** END-ON-NEXT=YES: the range ends where the next one of its class starts. */
  endOnNext?: boolean
}

/** EXT-X-KEY (4.4.4.4): how the segments from here on are encrypted. */
export interface Key {
  method: 'NONE' | 'AES-128' | 'SAMPLE-AES' | 'SAMPLE-AES-CTR'
  uri?: string
  /** 128-bit initialization vector. */
  iv?: Uint8Array
  keyFormat?: string
  /** KEYFORMATVERSIONS, e.g. [1] or [1, 2]. */
  keyFormatVersions?: number[]
}

/** EXT-X-PART (4.4.4.9). */
export interface PartialSegment {
  duration: number
  uri: string
  independent?: boolean
  /** GAP=YES: no media; its URI is not to be loaded. */
  gap?: boolean
}

/** One media segment and the tags that apply to it, in playlist order. */
export interface MediaSegment {
  /** EXTINF duration, seconds. */
  duration: number
  /** Its URI; undefined while it is still in production: only its parts and preceding tags are listed. */
  uri?: string
  /** Its init section. The renderer writes EXT-X-MAP where it changes, at the first listed segment and after every discontinuity. */
  map?: MediaInit
  /** EXT-X-PROGRAM-DATE-TIME. */
  pdt?: number
  /** EXT-X-DISCONTINUITY before it. */
  discontinuity?: boolean
  /** EXT-X-GAP: listed, but has no media. */
  gap?: boolean
  parts: PartialSegment[]
  /** EXT-X-DATERANGE tags written before it. */
  dateranges?: DateRange[]
  /** EXT-X-KEY tags written before it; each applies to it and what follows, until the next one of its KEYFORMAT. */
  keys?: Key[]
}

/** EXT-X-PRELOAD-HINT (4.4.5.3). */
export interface PreloadHint {
  type: 'PART' | 'MAP'
  uri: string
  byterangeStart?: number
  byterangeLength?: number
}

/** EXT-X-RENDITION-REPORT (4.4.5.4). */
export interface RenditionReport {
  uri: string
  lastMsn?: number
  lastPart?: number
}

/** A media playlist. */
export interface MediaPlaylist {
  version: number
  /** EXT-X-TARGETDURATION, integer seconds. */
  targetDuration: number
  independentSegments?: boolean
  start?: StartPoint
  serverControl?: ServerControl
  /** EXT-X-PART-INF PART-TARGET, seconds. */
  partTarget?: number
  mediaSequence: number
  discontinuitySequence?: number
  playlistType?: 'EVENT' | 'VOD'
  /** Present in a delta update: `segments` then holds only what follows the skipped ones. */
  skip?: Skip
  segments: MediaSegment[]
  endList: boolean
  preloadHints: PreloadHint[]
  renditionReports: RenditionReport[]
}

/** EXT-X-MEDIA (4.4.6.1): an alternative rendition. */
export interface MediaRendition {
  type: 'AUDIO' | 'VIDEO' | 'SUBTITLES' | 'CLOSED-CAPTIONS'
  groupId: string
  name: string
  /** BCP 47 tag. */
  language?: string
  assocLanguage?: string
  stableRenditionId?: string
  /** DEFAULT=YES/NO; absent means NO. */
  default?: boolean
  autoselect?: boolean
  forced?: boolean
  instreamId?: string
  /** Uniform Type Identifiers, e.g. public.accessibility.describes-video. */
  characteristics?: string[]
  /** CHANNELS, e.g. "2" or "16/JOC". */
  channels?: string
  uri?: string
}

/** EXT-X-STREAM-INF (4.4.6.2): a variant stream and its playlist URI. */
export interface Variant {
  uri: string
  /** Peak bit/s over every rendition the variant may play. */
  bandwidth: number
  averageBandwidth?: number
  score?: number
  codecs?: string[]
  resolution?: { width: number; height: number }
  /** Frames per second; written rounded to three decimal places. */
  frameRate?: number
  hdcpLevel?: 'TYPE-0' | 'TYPE-1' | 'NONE'
  videoRange?: 'SDR' | 'HLG' | 'PQ'
  stableVariantId?: string
  /** GROUP-IDs of the EXT-X-MEDIA renditions it plays with. */
  audio?: string
  video?: string
  subtitles?: string
  /** A CLOSED-CAPTIONS group, or false for CLOSED-CAPTIONS=NONE (there are none). */
  closedCaptions?: string | false
  pathwayId?: string
}

/** EXT-X-SESSION-DATA (4.4.6.4). */
export interface SessionData {
  dataId: string
  value?: string
  uri?: string
  format?: 'JSON' | 'RAW'
  language?: string
}

/** EXT-X-CONTENT-STEERING (4.4.6.6). */
export interface ContentSteering {
  serverUri: string
  pathwayId?: string
}

/** A multivariant playlist. */
export interface MultivariantPlaylist {
  version: number
  independentSegments?: boolean
  start?: StartPoint
  contentSteering?: ContentSteering
  sessionData?: SessionData[]
  renditions: MediaRendition[]
  variants: Variant[]
}
