/**
 * Turns a publisher's media messages into the byte streams workers read: FLV
 * or MPEG-TS (worker-output.ts) that start at a key frame with the sequence
 * headers in front. All
 * consumers share one timeline (the epoch): timestamps count from the epoch's
 * first key frame. Media time zero is dated by the earliest arrival the first second
 * of ingest allows (see `refineAnchor`). A consumer
 * attached later (a restarted worker) starts at the next key frame with
 * timestamps that continue that timeline, so its output lines up with the rest.
 */
import type { Logger } from 'pino'
import { parseAudioTagHeader, parseVideoTagHeader } from '../formats/flv.js'
import type { MediaTag } from './types.js'
import { workerOutput, type TrackSelection, type WorkerFormat, type WorkerOutput } from './worker-output.js'
import { adtsParams, videoStreamConfig } from '../formats/mpegts/es-from-tags.js'

/**
 * Whether two video sequence headers configure the same stream: the same codec, length
 * size and parameter sets. Two encoders with the same settings write the same SPS/PPS in
 * records framed differently (an FLV muxer's avcC, one rebuilt from MPEG-TS); frames of
 * either decode with the other, so that is no change.
 */
function sameVideoConfig(a: Buffer, b: Buffer): boolean {
  if (a.equals(b)) return true
  try {
    const x = videoStreamConfig(a)
    const y = videoStreamConfig(b)
    return x.codec === y.codec && x.lengthSize === y.lengthSize && x.paramSets.length === y.paramSets.length &&
      x.paramSets.every((p, i) => p.equals(y.paramSets[i]!))
  } catch {
    return false
  }
}

/** Whether two AAC sequence headers say the same object type, rate and channels (what a decoder uses). */
function sameAudioConfig(a: Buffer, b: Buffer): boolean {
  if (a.equals(b)) return true
  try {
    const x = adtsParams(a.subarray(2))
    const y = adtsParams(b.subarray(2))
    return x.objectType === y.objectType && x.rateIndex === y.rateIndex && x.channelConfig === y.channelConfig
  } catch {
    return false
  }
}

/** Where normalized bytes go; returns false when the consumer is over its buffer bound. */
export type FlvWrite = (bytes: Buffer) => boolean

/** The shared timeline: FLV timestamp of media time zero and its wall-clock time. */
export interface Epoch {
  base: number
  wallAtZero: number
  /**
   * Date of media time zero on the segment grid's clock: the arrival of the epoch's first
   * key frame until the anchor settles, then the settled `wallAtZero`. An epoch-locked
   * grid's phase is decided from it once settled.
   */
  startDate: number
}

/** How a consumer joins. */
export interface AttachOptions {
  /** Start at the key frame already received (fast start) rather than the next one. */
  replay?: boolean
  /** Called once with the media time (ms on the epoch's timeline) of the consumer's first tag. */
  onStart?: (startMs: number, epoch: Epoch) => void
  /**
   * Called once with the media time (ms on the epoch's timeline) of the first tag whose
   * media the consumer is sent: what its FFmpeg's mp4 muxer makes timestamp zero. An
   * audio-only consumer starts at a key frame's time but is first sent a later audio tag.
   */
  onFirstMedia?: (ms: number) => void
  /** Bytes to write: FLV (default; video and the first audio track) or MPEG-TS. */
  format?: WorkerFormat
  /** Tracks this consumer is sent (default: video and the first audio track). */
  select?: TrackSelection
  /**
   * A sequence header of a kind it carries changed mid-stream (a new encoder, another input
   * switched on air). A consumer that decodes takes the new header in-band and goes on
   * (`follow`); one that copies the stream cannot change its output's init, so it is told
   * (`onConfigChange`) and restarts itself. Without either, the normalizer's own
   * `onConfigChange` is called.
   */
  followConfig?: boolean
  onConfigChange?: () => void
}

interface Consumer {
  write: FlvWrite
  opts: AttachOptions
  started: boolean
  dropping: boolean
  /** onFirstMedia was called. */
  sentMedia: boolean
  out?: WorkerOutput
}

/** Audio seen this long (ms of its timestamps) without video: treat the stream as audio-only. */
const AUDIO_ONLY_AFTER_MS = 1000
/** Timestamp jumps larger than this are publisher clock resets, not gaps. */
const MAX_JUMP_MS = 10_000
/**
 * Ingest time (ms from the epoch's first tag) over which the date of media time zero is
 * refined; after it the date is settled and may be served.
 */
export const ANCHOR_WINDOW_MS = 1000
/** Bound of the current-GOP cache used for fast starts. */
const MAX_GOP_BYTES = 32 * 1024 * 1024

/** Normalizes one publisher's tags for every attached consumer. */
export class FlvNormalizer {
  private readonly log: Logger
  private metadata: MediaTag | undefined
  private videoSeq: MediaTag | undefined
  private readonly audioSeq = new Map<number, MediaTag>()
  private firstAudioTs: number | undefined
  private lastAudioTs = 0
  private epoch: Epoch | undefined
  private lastTs = 0
  private gop: Array<{ tag: MediaTag; keyframe: boolean }> = []
  private gopBytes = 0
  private readonly consumers = new Set<Consumer>()
  /** Tags dropped because a consumer could not keep up. */
  dropped = 0
  /** Called for every tag dropped because a consumer is over its buffer bound. */
  onDrop: (() => void) | undefined
  private lastDropLog = 0
  private droppedAtLastLog = 0
  /** A configuration changed for a consumer that neither follows it nor restarts on its own. */
  onConfigChange: (() => void) | undefined
  /** Called once when the epoch's date of media time zero is settled (dates may be served). */
  onAnchorSettled: (() => void) | undefined
  /** Arrival of the epoch's first tag; undefined once the anchor is settled. */
  private anchorFrom: number | undefined
  private anchorSettled = false
  /** Milliseconds added to every arrival (a test's simulated clock skew). */
  private readonly clockOffsetMs: number

  constructor(log: Logger, opts: { clockOffsetMs?: number } = {}) {
    this.log = log
    this.clockOffsetMs = opts.clockOffsetMs ?? 0
  }

  /** The AVC/HEVC sequence header tag body, once received. */
  get videoConfig(): Buffer | undefined {
    return this.videoSeq?.data
  }

  /** The publisher's onMetaData tag body, if it sent one. */
  get metadataBody(): Buffer | undefined {
    return this.metadata?.data
  }

  /** True when a consumer attached now with `replay` would start at once. */
  get canStart(): boolean {
    if (this.gop[0]?.keyframe && this.videoSeq) return true
    return !this.videoSeq && this.firstAudioTs !== undefined && this.lastAudioTs - this.firstAudioTs >= AUDIO_ONLY_AFTER_MS
  }

  /** True once the stream is known to carry audio. */
  get hasAudio(): boolean {
    return this.audioSeq.size > 0
  }

  /** The audio tracks with a sequence header so far, by track number, with their languages. */
  get audioTracks(): Array<{ track: number; language?: string }> {
    return [...this.audioSeq.entries()].sort((a, b) => a[0] - b[0]).map(([track, tag]) => (tag.language ? { track, language: tag.language } : { track }))
  }

  /** The AAC sequence header body of an audio track, if it sent one. */
  audioSequence(track: number): Buffer | undefined {
    return this.audioSeq.get(track)?.data
  }

  /**
   * Arrival date of the key frame the next epoch would start at (the one held for a fast
   * start), else now: what a session's first segment number is decided from before its
   * workers have started the epoch.
   */
  get startCandidateDate(): number {
    if (this.epoch) return this.epoch.startDate
    const key = this.gop[0]?.keyframe ? this.gop[0].tag : undefined
    return (key ? key.arrival : Date.now()) + this.clockOffsetMs
  }

  /** The current timeline, once a consumer has started it. */
  get currentEpoch(): Epoch | undefined {
    return this.epoch
  }

  /** Forget the timeline: the next consumer to start begins a new epoch at media time zero. */
  newEpoch(): void {
    this.epoch = undefined
    this.lastTs = 0
  }

  /** Route output to a new consumer; returns its detach function. */
  attach(write: FlvWrite, opts: AttachOptions = {}): () => void {
    const c: Consumer = { write, opts, started: false, dropping: false, sentMedia: false }
    this.consumers.add(c)
    if (opts.replay && this.gop[0]?.keyframe) {
      for (const { tag, keyframe } of this.gop) this.deliver(c, tag, keyframe)
    }
    return () => this.consumers.delete(c)
  }

  /** Stop sending to every consumer. */
  detachAll(): void {
    this.consumers.clear()
  }

  /** Accept one tag from the publisher. */
  push(tag: MediaTag): void {
    try {
      this.route(tag)
    } catch (err) {
      // A malformed tag is the publisher's problem; skip it, keep the stream.
      this.log.debug({ err: (err as Error).message, kind: tag.kind }, 'unparseable tag skipped')
    }
  }

  private route(tag: MediaTag): void {
    let keyframe = false
    if (tag.kind === 'data') {
      this.metadata = tag
      return
    }
    if (tag.kind === 'video') {
      const h = parseVideoTagHeader(tag.data)
      if (h.avcPacketType === 'seq') {
        const changed = this.videoSeq && !sameVideoConfig(this.videoSeq.data, tag.data) && this.epoch
        this.videoSeq = tag
        if (changed) this.configChanged(tag)
        return
      }
      keyframe = h.keyframe
    } else {
      const h = parseAudioTagHeader(tag.data)
      if (h.aacPacketType === 'seq') {
        // A repeated header keeps the language its track was first announced with.
        const before = this.audioSeq.get(tag.track ?? 0)
        const language = tag.language ?? before?.language
        this.audioSeq.set(tag.track ?? 0, language ? { ...tag, language } : tag)
        if (before && !sameAudioConfig(before.data, tag.data) && this.epoch) this.configChanged(tag)
        return
      }
      this.firstAudioTs ??= tag.timestamp
      this.lastAudioTs = tag.timestamp
    }
    this.remember(tag, keyframe)
    for (const c of this.consumers) this.deliver(c, tag, keyframe)
    this.refineAnchor(tag)
  }

  /** A sequence header changed: each started consumer that carries it follows it or restarts. */
  private configChanged(tag: MediaTag): void {
    let unhandled = false
    for (const c of this.consumers) {
      if (!c.started || !c.out?.carries(tag, true)) continue
      if (c.opts.followConfig) {
        const bytes = c.out.config(tag, Math.max(0, this.lastTs))
        if (bytes !== 'restart') {
          if (bytes) c.write(bytes)
          continue
        }
      }
      if (c.opts.onConfigChange) c.opts.onConfigChange()
      else unhandled = true
    }
    if (unhandled) this.onConfigChange?.()
  }

  /** True once media time zero's date can no longer change. */
  get anchorIsSettled(): boolean {
    return this.anchorSettled
  }

  /** Settle the date of media time zero now (the window ran out without a tag to close it). */
  settleAnchor(): void {
    if (this.anchorSettled || !this.epoch) return
    this.anchorSettled = true
    // The grid's date of media time zero is the settled one: the first key frame's arrival
    // alone jitters by the publisher's start-up (tens of ms from one origin to the next).
    this.epoch.startDate = this.epoch.wallAtZero
    this.anchorFrom = undefined
    this.onAnchorSettled?.()
  }

  /**
   * Date media time zero by the earliest arrival the media allows: the minimum of
   * (arrival − media time) over the first second of ingest. A publisher that starts late
   * and catches up (FFmpeg -re start-up, an encoder bursting after it connects) delivers
   * frames sooner after the first than their spacing says; dating zero by the first key
   * frame's arrival alone would date every later frame ahead of its real arrival for the
   * whole session. Only the lead kind counts (video when there is video): dates name its frames.
   */
  private refineAnchor(tag: MediaTag): void {
    const epoch = this.epoch
    if (!epoch || this.anchorSettled) return
    if (tag.kind !== (this.videoSeq ? 'video' : 'audio')) return
    this.anchorFrom ??= tag.arrival
    if (tag.arrival - this.anchorFrom > ANCHOR_WINDOW_MS) return this.settleAnchor()
    const ts = tag.timestamp - epoch.base
    if (ts >= 0 && ts <= MAX_JUMP_MS) epoch.wallAtZero = Math.min(epoch.wallAtZero, tag.arrival + this.clockOffsetMs - ts)
  }

  /** Keep the tags since the last key frame, for consumers that want a fast start. */
  private remember(tag: MediaTag, keyframe: boolean): void {
    if (!this.videoSeq) return // audio-only streams start without a replay
    if (tag.kind === 'video' && keyframe) {
      this.gop = []
      this.gopBytes = 0
    }
    if (this.gopBytes + tag.data.length > MAX_GOP_BYTES) return
    this.gop.push({ tag, keyframe })
    this.gopBytes += tag.data.length
  }

  private deliver(c: Consumer, tag: MediaTag, keyframe: boolean): void {
    if (!c.started && !this.start(c, tag, keyframe)) return
    this.forward(c, tag, keyframe)
  }

  private canStartAt(tag: MediaTag, keyframe: boolean): boolean {
    if (tag.kind === 'video') return keyframe && this.videoSeq !== undefined
    return !this.videoSeq && this.firstAudioTs !== undefined && tag.timestamp - this.firstAudioTs >= AUDIO_ONLY_AFTER_MS
  }

  private start(c: Consumer, tag: MediaTag, keyframe: boolean): boolean {
    if (!this.canStartAt(tag, keyframe)) return false
    if (!this.epoch) {
      const arrival = tag.arrival + this.clockOffsetMs
      this.epoch = { base: tag.timestamp, wallAtZero: arrival, startDate: arrival }
      this.lastTs = 0
    }
    const at = Math.max(0, this.timeOf(tag))
    const audioSeq = new Map([...this.audioSeq].map(([track, t]) => [track, { data: t.data, language: t.language }]))
    c.out = workerOutput(c.opts.format ?? 'flv', { metadata: this.metadata?.data, videoSeq: this.videoSeq?.data, audioSeq }, c.opts.select)
    c.started = true
    c.write(c.out.begin(at))
    c.opts.onStart?.(at, this.epoch)
    return true
  }

  /** Media time (ms) of a tag on the epoch's timeline, rebasing across publisher clock jumps. */
  private timeOf(tag: MediaTag): number {
    const epoch = this.epoch!
    let ts = tag.timestamp - epoch.base
    if (ts < this.lastTs - MAX_JUMP_MS || ts > this.lastTs + MAX_JUMP_MS) {
      this.log.warn({ from: this.lastTs, to: ts }, 'publisher timestamp jump; rebased')
      epoch.base = tag.timestamp - this.lastTs - 1
      ts = this.lastTs + 1
    }
    return ts
  }

  private forward(c: Consumer, tag: MediaTag, keyframe: boolean): void {
    const ts = this.timeOf(tag)
    if (ts < 0) return // audio from before the epoch's first key frame
    if (c.dropping) {
      if (!(tag.kind === 'video' && keyframe) && this.videoSeq) return this.drop()
      c.dropping = false
    }
    this.lastTs = Math.max(this.lastTs, ts)
    const bytes = c.out!.tag(tag, ts, keyframe)
    if (!c.sentMedia && bytes && c.out!.carries(tag)) {
      c.sentMedia = true
      c.opts.onFirstMedia?.(ts)
    }
    if (bytes && !c.write(bytes)) {
      // Over the buffer bound: drop until the next key frame instead of growing memory.
      c.dropping = true
      this.drop()
    }
  }

  /** Count a dropped tag; log at most one line per 10 s with how many went. */
  private drop(): void {
    this.dropped++
    this.onDrop?.()
    const now = Date.now()
    if (now - this.lastDropLog < 10_000) return
    this.log.warn({ dropped: this.dropped - this.droppedAtLastLog, total: this.dropped }, 'a worker is not keeping up with the publisher; dropping to the next key frame')
    this.lastDropLog = now
    this.droppedAtLastLog = this.dropped
  }
}
