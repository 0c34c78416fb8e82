/**
 * MPEG-TS → FLV tag bodies, so a TS publisher (SRT) joins the pipeline RTMP
 * feeds: H.264 / HEVC Annex B access units become NALU tags (HEVC in the
 * CodecID 12 layout) after a sequence header built from the parameter sets;
 * AAC ADTS frames become raw AAC tags after an AudioSpecificConfig, each AAC
 * track numbered (`track`) and its sequence header carrying its language.
 * Timestamps are ms on the 90 kHz clock, 33-bit wraps unrolled; composition
 * offsets (PTS − DTS) are kept. Every track is reported.
 */
import { MediaFormatError } from '../../errors.js'
import type { FlvTagKind } from '../flv.js'
import { audioSpecificConfig, parseAdts } from './adts.js'
import { TsDemuxer, type TsStats } from './demuxer.js'
import { avcDecoderConfig, h264NalType, lengthPrefixed, splitAnnexB } from './h264-annexb.js'
import { streamTypeName, type PesPacket, type Pmt, type PmtStream } from './psi.js'
import { hevcDecoderConfig, hevcNalType, HEVC_NUT, isHevcIrap } from './hevc-annexb.js'
import { iso639T } from '../../media/language.js'

/** One FLV-shaped tag produced from the transport stream. */
export interface FlvLikeTag {
  kind: FlvTagKind
  /** Milliseconds (decode time for video). */
  timestamp: number
  data: Buffer
  /** Audio: the track's number, stable for the session (0 first; a track keeps its number when others come or go). */
  track?: number
  /** Audio sequence headers: the track's ISO 639-2 language, when its PMT entry has one. */
  language?: string
}

/** A track of the program, as announced by its PMT. */
export interface TsTrack {
  pid: number
  codec: string
  kind: 'video' | 'audio' | 'other'
  language?: string
  /** True for the video track and every audio track that is forwarded. */
  selected: boolean
  /** Audio: the `track` number its tags carry. */
  track?: number
}

/** Options and callbacks of a TsToFlv. */
export interface TsToFlvOptions {
  onTag: (tag: FlvLikeTag) => void
  /** Called on every new PMT with all its tracks. */
  onTracks?: (tracks: TsTrack[]) => void
  /** ISO 639-2 code of the audio track to number first (the default rendition) when there are several. */
  audioLanguage?: string
  /** Something about the program a publisher should know (a track dropped, added late, removed). */
  onNotice?: (message: string, detail: Record<string, unknown>) => void
}

/** Audio tracks forwarded at most; more are reported and dropped (each costs a worker). */
export const MAX_AUDIO_TRACKS = 16
const VIDEO_TYPES = [0x1b, 0x24]

const WRAP = 2 ** 33
/** Bytes of TS accepted without any PMT before the input is refused. */
const MAX_BYTES_WITHOUT_PMT = 4 * 1024 * 1024

/** Converts a transport stream into FLV-shaped tags. */
export class TsToFlv {
  private readonly demux: TsDemuxer
  private videoPid = -1
  private videoType = 0
  private videoConfig: Buffer | undefined
  /** Latest parameter sets by NAL type (H.264 7/8, HEVC 32/33/34). */
  private paramSets = new Map<number, Buffer>()
  /** AAC PID → track number; numbers are never reused within a session. */
  private readonly trackOf = new Map<number, number>()
  private readonly audioConfig = new Map<number, Buffer>()
  private readonly language = new Map<number, string | undefined>()
  private pmts = 0
  private last90: number | undefined
  private bytes = 0
  /** Set when the program holds no stream this converter can forward; the caller should end the publish. */
  unsupported: string | undefined

  constructor(private readonly opts: TsToFlvOptions) {
    this.demux = new TsDemuxer({ onPmt: (p) => this.onPmt(p), onPes: (s, p) => this.onPes(s, p) })
  }

  /** Demuxer counters (continuity errors, resync bytes, dropped PES). */
  get stats(): TsStats {
    return this.demux.stats
  }

  /** Feed transport stream bytes; throws MediaFormatError when they are not MPEG-TS. */
  push(chunk: Buffer): void {
    this.bytes += chunk.length
    this.demux.push(chunk)
    if (!this.demux.hasPmt && this.bytes > MAX_BYTES_WITHOUT_PMT) {
      throw new MediaFormatError(`mpegts: no program map table in the first ${MAX_BYTES_WITHOUT_PMT} bytes`)
    }
  }

  /** End of input: emit the last PES of each stream (video PES have no length to end them). */
  flush(): void {
    this.demux.flush()
  }

  private onPmt(pmt: Pmt): void {
    const first = this.pmts++ === 0
    const video = pmt.streams.find((s) => VIDEO_TYPES.includes(s.streamType))
    // ISO 639-2 gives some languages two codes (fre/fra): compare their terminology forms.
    const wanted = this.opts.audioLanguage !== undefined ? iso639T(this.opts.audioLanguage) : undefined
    const isWanted = (s: PmtStream): boolean => wanted !== undefined && s.language !== undefined && iso639T(s.language) === wanted
    // The configured language is numbered first, so it becomes the default rendition.
    const aac = pmt.streams.filter((s) => s.streamType === 0x0f)
      .sort((a, b) => Number(isWanted(b)) - Number(isWanted(a)))
    const before = new Set(this.trackOf.keys())
    for (const s of aac) {
      if (this.trackOf.has(s.pid)) continue
      if (this.trackOf.size >= MAX_AUDIO_TRACKS) {
        this.opts.onNotice?.(`audio track dropped: at most ${MAX_AUDIO_TRACKS} audio tracks are forwarded`, { pid: s.pid, language: s.language ?? null })
        continue
      }
      this.trackOf.set(s.pid, this.trackOf.size)
      this.language.set(s.pid, s.language)
      if (!first) this.opts.onNotice?.('audio track added mid-stream: not offered until the stream is published again', { pid: s.pid, language: s.language ?? null, track: this.trackOf.get(s.pid) })
    }
    for (const pid of before) {
      if (!aac.some((s) => s.pid === pid)) this.opts.onNotice?.('audio track removed mid-stream: its rendition stops', { pid, language: this.language.get(pid) ?? null, track: this.trackOf.get(pid) })
    }
    if (video && this.videoPid >= 0 && (video.pid !== this.videoPid || video.streamType !== this.videoType)) {
      this.paramSets.clear() // a new video stream: its sequence header comes from its own parameter sets
    }
    this.videoPid = video?.pid ?? -1
    this.videoType = video?.streamType ?? 0
    const forwarded = aac.filter((s) => this.trackOf.has(s.pid))
    if (!video && forwarded.length === 0) {
      const kinds = pmt.streams.map((s) => streamTypeName(s.streamType)).join(', ') || 'no streams'
      this.unsupported = `no H.264/HEVC video or AAC audio in the program (${kinds})`
    } else if (this.unsupported?.startsWith('no H.264')) {
      this.unsupported = undefined
    }
    this.opts.onTracks?.(pmt.streams.map((s) => this.track(s)))
  }

  private track(s: PmtStream): TsTrack {
    const video = VIDEO_TYPES.includes(s.streamType) || s.streamType === 0x02
    const audio = [0x03, 0x04, 0x0f, 0x11, 0x81, 0x87].includes(s.streamType)
    const selected = s.pid === this.videoPid || this.trackOf.has(s.pid)
    const t: TsTrack = { pid: s.pid, codec: streamTypeName(s.streamType), kind: video ? 'video' : audio ? 'audio' : 'other', selected }
    if (s.language) t.language = s.language
    if (this.trackOf.has(s.pid)) t.track = this.trackOf.get(s.pid)
    return t
  }

  /** 90 kHz timestamp with 33-bit wraps unrolled against the last one seen. */
  private unwrap(ts: number): number {
    if (this.last90 === undefined) {
      this.last90 = ts
      return ts
    }
    const k = Math.round((this.last90 - ts) / WRAP)
    const v = ts + k * WRAP
    this.last90 = v
    return v
  }

  private onPes(stream: PmtStream, pes: PesPacket): void {
    if (pes.pts === undefined || this.unsupported) return
    if (stream.pid === this.videoPid) this.video(pes)
    else if (this.trackOf.has(stream.pid)) this.audio(stream.pid, pes)
  }

  private video(pes: PesPacket): void {
    const hevc = this.videoType === 0x24
    const pts = this.unwrap(pes.pts!)
    const dts = pes.dts !== undefined ? pts - ((pes.pts! - pes.dts + WRAP) % WRAP) : pts
    const frame: Buffer[] = []
    let keyframe = false
    for (const nal of splitAnnexB(pes.payload)) {
      const type = hevc ? hevcNalType(nal) : h264NalType(nal)
      if (hevc ? type >= HEVC_NUT.VPS && type <= HEVC_NUT.PPS : type === 7 || type === 8) this.paramSets.set(type, Buffer.from(nal))
      // Access unit delimiters and filler data carry nothing FLV needs.
      else if (hevc ? type === HEVC_NUT.AUD || type === 38 : type === 9 || type === 12) continue
      else {
        if (hevc ? isHevcIrap(type) : type === 5) keyframe = true
        frame.push(nal)
      }
    }
    const ms = Math.floor(dts / 90)
    const config = this.sequenceHeader(hevc)
    if (config && (!this.videoConfig || !config.equals(this.videoConfig))) {
      this.videoConfig = config
      // CodecID 12 is HEVC in the AVC layout (the pre-Enhanced-RTMP convention FLV readers share).
      this.opts.onTag({ kind: 'video', timestamp: ms, data: Buffer.concat([Buffer.from([0x10 | (hevc ? 12 : 7), 0, 0, 0, 0]), config]) })
    }
    if (!this.videoConfig || frame.length === 0) return // nothing decodable before the first parameter sets
    const head = Buffer.alloc(5)
    head[0] = (keyframe ? 0x10 : 0x20) | (hevc ? 12 : 7)
    head[1] = 1
    head.writeIntBE(Math.round((pts - dts) / 90), 2, 3)
    this.opts.onTag({ kind: 'video', timestamp: ms, data: Buffer.concat([head, lengthPrefixed(frame)]) })
  }

  /** The decoder configuration record of the current parameter sets; undefined until all are in. */
  private sequenceHeader(hevc: boolean): Buffer | undefined {
    const p = this.paramSets
    if (!hevc) return p.has(7) && p.has(8) ? avcDecoderConfig(p.get(7)!, p.get(8)!) : undefined
    const [vps, sps, pps] = [p.get(HEVC_NUT.VPS), p.get(HEVC_NUT.SPS), p.get(HEVC_NUT.PPS)]
    if (!vps || !sps || !pps) return undefined
    try {
      return hevcDecoderConfig(vps, sps, pps).record
    } catch (err) {
      // A publisher whose SPS no decoder can read would only crash-loop the workers.
      this.unsupported = `HEVC sequence parameter set unreadable (${(err as Error).message}); check the encoder`
      return undefined
    }
  }

  private audio(pid: number, pes: PesPacket): void {
    const track = this.trackOf.get(pid)!
    const pts = this.unwrap(pes.pts!)
    let i = 0
    for (const f of parseAdts(pes.payload)) {
      const asc = audioSpecificConfig(f)
      if (!asc.equals(this.audioConfig.get(pid) ?? Buffer.alloc(0))) {
        this.audioConfig.set(pid, asc)
        const language = this.language.get(pid)
        this.opts.onTag({ kind: 'audio', timestamp: Math.floor(pts / 90), data: Buffer.concat([Buffer.from([0xaf, 0]), asc]), track, ...(language ? { language } : {}) })
      }
      // Each AAC frame holds 1024 samples (14496-3 §4.5.2.1); later frames of a PES follow the first.
      const at = pts + (i++ * 1024 * 90000) / f.sampleRate
      this.opts.onTag({ kind: 'audio', timestamp: Math.floor(at / 90), data: Buffer.concat([Buffer.from([0xaf, 1]), f.raw]), track })
    }
  }
}
