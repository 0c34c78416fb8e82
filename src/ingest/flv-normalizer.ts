/**
 * Turns a publisher's media messages into the byte stream a worker reads: an
 * FLV file that starts at a key frame with the sequence headers in front and
 * timestamps rebased to zero. A worker can (re)attach at any moment; it gets a
 * fresh, self-contained stream, and the wall-clock time of its media time zero.
 */
import type { Logger } from 'pino'
import { flvHeader, flvTag, parseAudioTagHeader, parseVideoTagHeader } from '../formats/flv.js'
import type { MediaTag } from './types.js'

/** Where normalized bytes go; returns false when the consumer is over its buffer bound. */
export type FlvWrite = (bytes: Buffer) => boolean

/** One attached consumer (a worker process). */
interface Attachment {
  write: FlvWrite
  onEpoch: (wallClockAtZero: number) => void
  started: boolean
  base: number
  lastTs: number
  dropping: boolean
}

/** Audio seen this long (ms of its timestamps) without video: treat the stream as audio-only. */
const AUDIO_ONLY_AFTER_MS = 1000
/** Timestamp jumps larger than this are publisher clock resets, not gaps. */
const MAX_JUMP_MS = 10_000

/** Normalizes one publisher's tags for whichever worker is attached. */
export class FlvNormalizer {
  private readonly log: Logger
  private metadata: MediaTag | undefined
  private videoSeq: MediaTag | undefined
  private audioSeq: MediaTag | undefined
  private firstAudioTs: number | undefined
  private out: Attachment | undefined
  /** Tags dropped because the worker could not keep up. */
  dropped = 0
  /** Called when the video codec configuration changes mid-stream (new SPS/PPS). */
  onConfigChange: (() => void) | undefined

  constructor(log: Logger) {
    this.log = log
  }

  /** Route output to a new consumer; it starts at the next key frame. */
  attach(write: FlvWrite, onEpoch: (wallClockAtZero: number) => void): void {
    this.out = { write, onEpoch, started: false, base: 0, lastTs: 0, dropping: false }
  }

  /** Stop sending to the current consumer. */
  detach(): void {
    this.out = undefined
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
        const changed = this.videoSeq && !this.videoSeq.data.equals(tag.data) && this.out?.started
        this.videoSeq = tag
        if (changed) this.onConfigChange?.()
        return
      }
      keyframe = h.keyframe
    } else {
      const h = parseAudioTagHeader(tag.data)
      if (h.aacPacketType === 'seq') {
        this.audioSeq = tag
        return
      }
      this.firstAudioTs ??= tag.timestamp
    }
    const out = this.out
    if (!out) return
    if (!out.started && !this.startAt(out, tag, keyframe)) return
    this.forward(out, tag, keyframe)
  }

  private startAt(out: Attachment, tag: MediaTag, keyframe: boolean): boolean {
    const audioOnly = !this.videoSeq && tag.kind === 'audio' && this.firstAudioTs !== undefined &&
      tag.timestamp - this.firstAudioTs >= AUDIO_ONLY_AFTER_MS
    if (!(tag.kind === 'video' && keyframe && this.videoSeq) && !audioOnly) return false
    const hasVideo = this.videoSeq !== undefined
    const hasAudio = this.audioSeq !== undefined
    const head = [flvHeader(hasAudio, hasVideo)]
    if (this.metadata) head.push(flvTag('data', 0, this.metadata.data))
    if (this.videoSeq) head.push(flvTag('video', 0, this.videoSeq.data))
    if (this.audioSeq) head.push(flvTag('audio', 0, this.audioSeq.data))
    out.started = true
    out.base = tag.timestamp
    out.lastTs = 0
    out.write(Buffer.concat(head))
    out.onEpoch(tag.arrival)
    return true
  }

  private forward(out: Attachment, tag: MediaTag, keyframe: boolean): void {
    let ts = tag.timestamp - out.base
    if (ts < out.lastTs - MAX_JUMP_MS || ts > out.lastTs + MAX_JUMP_MS) {
      // The publisher's clock jumped: rebase so media time stays continuous.
      this.log.warn({ from: out.lastTs, to: ts }, 'publisher timestamp jump; rebased')
      out.base = tag.timestamp - out.lastTs - 1
      ts = out.lastTs + 1
    }
    if (ts < 0) return // audio from before the first key frame
    if (out.dropping) {
      if (!(tag.kind === 'video' && keyframe) && this.videoSeq) {
        this.dropped++
        return
      }
      out.dropping = false
      this.log.warn({ dropped: this.dropped }, 'worker caught up; resuming at a key frame')
    }
    out.lastTs = Math.max(out.lastTs, ts)
    if (!out.write(flvTag(tag.kind, ts, tag.data))) {
      // Over the buffer bound: drop until the next key frame instead of growing memory.
      out.dropping = true
      this.log.warn('worker is not keeping up with the publisher; dropping to the next key frame')
    }
  }
}
