/**
 * The byte formats a worker can read the normalized stream in. FLV (H.264 and
 * one AAC track: what RTMP carries) or MPEG-TS, which also carries HEVC and
 * several audio tracks with their languages. The normalizer decides timing;
 * these only serialize a tag already placed on the session's timeline.
 */
import { flvHeader, flvTag, parseVideoTagHeader } from '../formats/flv.js'
import { adtsFrame, adtsParams, annexBFrame, videoStreamConfig, type AdtsParams, type VideoStreamConfig } from '../formats/mpegts/es-from-tags.js'
import { TsMuxer } from '../formats/mpegts/muxer.js'
import type { MediaTag } from './types.js'

/** Input format of a worker. */
export type WorkerFormat = 'flv' | 'mpegts'

/** Which tracks a worker is sent. */
export interface TrackSelection {
  /** Send the video (default true). */
  video?: boolean
  /** Audio track numbers, in the order the worker sees them (`0:a:0`, `0:a:1`, ...); default: the first track. */
  audio?: number[]
}

/** What the normalizer knows when a worker starts. */
export interface StreamHeaders {
  metadata?: Buffer
  videoSeq?: Buffer
  /** Audio sequence header bodies (and languages) by track number. */
  audioSeq: Map<number, { data: Buffer; language?: string }>
}

/** Serializes one worker's input. */
export interface WorkerOutput {
  /** The bytes before the first tag, at media time `atMs`. */
  begin(atMs: number): Buffer
  /** One tag at media time `ms`; undefined when this worker is not sent it. */
  tag(tag: MediaTag, ms: number, keyframe: boolean): Buffer | undefined
  /** True when this worker is sent the tag's media (not only tables around it); `header`: a sequence header's kind and track. */
  carries(tag: MediaTag, header?: boolean): boolean
  /**
   * A new sequence header mid-stream, at media time `ms`: bytes that carry it in-band to a
   * decoding worker (undefined when nothing needs writing), or 'restart' when this format
   * cannot carry the change (another codec).
   */
  config(tag: MediaTag, ms: number): Buffer | undefined | 'restart'
}

/** A worker output of `format` for the tracks in `select`. */
export function workerOutput(format: WorkerFormat, h: StreamHeaders, select: TrackSelection = {}): WorkerOutput {
  const first = Math.min(...h.audioSeq.keys())
  const audio = (select.audio ?? (Number.isFinite(first) ? [first] : [])).filter((t) => h.audioSeq.has(t))
  const video = select.video !== false && h.videoSeq !== undefined
  return format === 'flv' ? new FlvOutput(h, video, audio[0]) : new TsOutput(h, video, audio)
}

class FlvOutput implements WorkerOutput {
  constructor(private readonly h: StreamHeaders, private readonly video: boolean, private readonly audio: number | undefined) {}

  begin(at: number): Buffer {
    const head = [flvHeader(this.audio !== undefined, this.video)]
    if (this.h.metadata) head.push(flvTag('data', at, this.h.metadata))
    if (this.video) head.push(flvTag('video', at, this.h.videoSeq!))
    if (this.audio !== undefined) head.push(flvTag('audio', at, this.h.audioSeq.get(this.audio)!.data))
    return Buffer.concat(head)
  }

  tag(tag: MediaTag, ms: number): Buffer | undefined {
    if (!this.carries(tag)) return undefined
    return flvTag(tag.kind, ms, tag.data)
  }

  carries(tag: MediaTag): boolean {
    return tag.kind === 'video' ? this.video : (tag.track ?? 0) === this.audio
  }

  config(tag: MediaTag, ms: number): Buffer | undefined {
    // FFmpeg's FLV demuxer passes a new sequence header to the decoder as new extradata.
    return this.carries(tag) ? flvTag(tag.kind, ms, tag.data) : undefined
  }
}

/** Tables again at least this often (ms), so a reader joining late finds them; FFmpeg repeats them ~every 100 ms. */
const TABLES_EVERY_MS = 500

class TsOutput implements WorkerOutput {
  private readonly mux: TsMuxer
  private videoConfig: VideoStreamConfig | undefined
  private readonly adts: AdtsParams[]
  private lastTables = -Infinity

  constructor(h: StreamHeaders, video: boolean, private readonly audio: number[]) {
    this.videoConfig = video ? videoStreamConfig(h.videoSeq!) : undefined
    this.adts = audio.map((t) => adtsParams(h.audioSeq.get(t)!.data.subarray(2)))
    this.mux = new TsMuxer({
      video: this.videoConfig ? { streamType: this.videoConfig.streamType } : undefined,
      audio: audio.map((t) => ({ language: h.audioSeq.get(t)!.language })),
    })
  }

  begin(at: number): Buffer {
    this.lastTables = at
    return this.mux.tables()
  }

  tag(tag: MediaTag, ms: number, keyframe: boolean): Buffer | undefined {
    const tables = (keyframe || ms - this.lastTables >= TABLES_EVERY_MS) ? this.tables(ms) : undefined
    let body: Buffer | undefined
    if (tag.kind === 'video') {
      if (!this.videoConfig) return tables
      const header = parseVideoTagHeader(tag.data)
      const frame = annexBFrame(tag.data, this.videoConfig, header)
      if (frame) body = this.mux.video(frame.au, (ms + frame.ctsMs) * 90, ms * 90, frame.keyframe)
    } else if (tag.kind === 'audio' && tag.data[1] === 1) {
      const i = this.audio.indexOf(tag.track ?? 0)
      if (i >= 0) body = this.mux.audio(i, adtsFrame(this.adts[i]!, tag.data.subarray(2)), ms * 90)
    }
    if (!body) return tables
    return tables ? Buffer.concat([tables, body]) : body
  }

  carries(tag: MediaTag, header = false): boolean {
    if (tag.kind === 'video') return this.videoConfig !== undefined
    return tag.kind === 'audio' && (header || tag.data[1] === 1) && this.audio.includes(tag.track ?? 0)
  }

  config(tag: MediaTag): undefined | 'restart' {
    // MPEG-TS carries parameter sets in-band (before each key frame, from the current
    // configuration) and ADTS headers on every frame: swapping them is all it takes.
    if (tag.kind === 'video' && this.videoConfig) {
      const next = videoStreamConfig(tag.data)
      if (next.streamType !== this.videoConfig.streamType) return 'restart'
      this.videoConfig = next
    } else if (tag.kind === 'audio') {
      const i = this.audio.indexOf(tag.track ?? 0)
      if (i >= 0) this.adts[i] = adtsParams(tag.data.subarray(2))
    }
    return undefined
  }

  private tables(ms: number): Buffer {
    this.lastTables = ms
    return this.mux.tables()
  }
}
