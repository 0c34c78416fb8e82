/**
 * Plays a SlateClip as ingest tags in real time: the sequence headers, then the
 * video clip looped (a key frame at every loop start) and the silent AAC frame
 * repeated, as if an RTMP publisher sent them.
 *
 * Each track keeps its own clock and every timestamp is computed from a frame count
 * since the start, never by adding rounded durations: video frame k is at
 * start + round(k × 1000 / fps), audio frame j at start + round(j × 1024 × 1000 / rate)
 * (an AAC-LC frame is 1024 samples, ISO/IEC 14496-3 §4.5.2.1). Rounding to FLV's
 * whole milliseconds then never accumulates: the tracks stay within a millisecond
 * of their exact times, and so of each other, for as long as the slate runs.
 */
import type { MediaTag } from '../ingest/types.js'
import type { SlateClip } from './slate-clip.js'
import { SlateError } from './slate-spec.js'

/** Samples per AAC-LC frame. */
const AAC_FRAME_SAMPLES = 1024

/** Where a slate's tags fall on the stream's timeline. Pure: media time in, tags out. */
export class SlateTimeline {
  private video = 0
  private audio = 0
  private last: number | undefined

  constructor(private readonly clip: SlateClip, readonly startMs: number) {}

  /** Timestamp (ms) of video frame `k` since the start. */
  videoTime(k: number): number {
    return this.startMs + Math.round((k * 1000) / this.clip.spec.fps)
  }

  /** Timestamp (ms) of audio frame `j` since the start. */
  audioTime(j: number): number {
    const rate = this.clip.audio?.sampleRate ?? 1
    return this.startMs + Math.round((j * AAC_FRAME_SAMPLES * 1000) / rate)
  }

  /** The sequence headers, at the start time: what a decoder needs before any frame. */
  headers(arrival: number): MediaTag[] {
    const out: MediaTag[] = [{ kind: 'video', timestamp: this.startMs, data: this.clip.videoSeq, arrival }]
    if (this.clip.audio) out.push({ kind: 'audio', timestamp: this.startMs, data: this.clip.audio.seq, arrival })
    return out
  }

  /** Timestamp of the next tag `take` will give. */
  nextTime(): number {
    const v = this.videoTime(this.video)
    return this.clip.audio ? Math.min(v, this.audioTime(this.audio)) : v
  }

  /** Timestamp of the last tag taken, if any. */
  get lastTimestamp(): number | undefined {
    return this.last
  }

  /** Every tag due up to media time `untilMs`, in timestamp order (video first on a tie). */
  take(untilMs: number, arrival: number): MediaTag[] {
    const out: MediaTag[] = []
    const frames = this.clip.frames
    const silence = this.clip.audio?.silence
    for (;;) {
      const v = this.videoTime(this.video)
      const a = silence ? this.audioTime(this.audio) : Infinity
      const t = Math.min(v, a)
      if (t > untilMs) break
      if (v <= a) {
        out.push({ kind: 'video', timestamp: v, data: frames[this.video % frames.length]!, arrival })
        this.video++
      } else {
        out.push({ kind: 'audio', timestamp: a, data: silence!, arrival })
        this.audio++
      }
      this.last = t
    }
    return out
  }
}

/** Timers a player schedules with (injectable so tests can run minutes of slate at once). */
export interface SlateTimers {
  set(fn: () => void, ms: number): unknown
  clear(handle: unknown): void
}

/** Node's timers, unref'd: a playing slate alone does not keep the process alive. */
const NODE_TIMERS: SlateTimers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
}

/** Where a player's tags go, and its clock. */
export interface SlatePlayerOptions {
  /** Receives every tag; a throw stops the player and goes to onError. */
  emit: (tag: MediaTag) => void
  onError?: (err: unknown) => void
  /** Wall clock, ms (default Date.now): pacing and every tag's `arrival`. */
  now?: () => number
  timers?: SlateTimers
}

/** Emits a clip's tags in real time from `start` until `stop`. */
export class SlatePlayer {
  private readonly now: () => number
  private readonly timers: SlateTimers
  private timeline: SlateTimeline | undefined
  private startedAt = 0
  private timer: unknown
  private last: number | undefined

  constructor(private readonly clip: SlateClip, private readonly opts: SlatePlayerOptions) {
    this.now = opts.now ?? Date.now
    this.timers = opts.timers ?? NODE_TIMERS
  }

  /** True between start and stop. */
  get playing(): boolean {
    return this.timeline !== undefined
  }

  /** Timestamp of the last tag emitted (also after stop): a returning input's media continues after it. */
  get lastTimestamp(): number | undefined {
    return this.last
  }

  /** Emit the sequence headers at `fromTimestampMs`, then frames as their time comes. */
  start(fromTimestampMs: number): void {
    if (this.timeline) throw new SlateError('slate: the player is already playing')
    if (!Number.isInteger(fromTimestampMs) || fromTimestampMs < 0) throw new SlateError(`slate: start timestamp ${fromTimestampMs} is not a whole number of ms ≥ 0`)
    const tl = new SlateTimeline(this.clip, fromTimestampMs)
    this.timeline = tl
    this.last = undefined
    this.startedAt = this.now()
    for (const tag of tl.headers(this.startedAt)) if (!this.send(tl, tag)) return
    this.pump()
  }

  /** Stop emitting; no timer is left behind. Safe to call at any time, also from `emit`. */
  stop(): void {
    if (this.timer !== undefined) this.timers.clear(this.timer)
    this.timer = undefined
    this.timeline = undefined
  }

  private pump(): void {
    this.timer = undefined
    const tl = this.timeline
    if (!tl) return
    const now = this.now()
    const media = tl.startMs + (now - this.startedAt)
    // A late timer (a busy event loop) catches up at once: media time stays wall time.
    for (const tag of tl.take(media, now)) if (!this.send(tl, tag)) return
    this.timer = this.timers.set(() => this.pump(), Math.max(1, tl.nextTime() - media))
  }

  /** Emit one tag; false when the player stopped (by the consumer, or on its throw). */
  private send(tl: SlateTimeline, tag: MediaTag): boolean {
    if (this.timeline !== tl) return false
    try {
      this.opts.emit(tag)
      this.last = tag.timestamp
    } catch (err) {
      this.stop()
      this.opts.onError?.(err)
      return false
    }
    return this.timeline === tl
  }
}
