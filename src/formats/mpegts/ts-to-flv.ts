/**
 * MPEG-TS → FLV tag bodies, so a TS publisher (SRT) joins the pipeline RTMP
 * feeds: H.264 Annex B access units become AVC NALU tags after an AVC sequence
 * header built from SPS/PPS; AAC ADTS frames become raw AAC tags after an
 * AudioSpecificConfig. Timestamps are ms on the 90 kHz clock, 33-bit wraps
 * unrolled; composition offsets (PTS − DTS) are kept. One audio track is chosen
 * (a configured language, else the first AAC one); every track is reported.
 */
import { MediaFormatError } from '../../errors.js'
import type { FlvTagKind } from '../flv.js'
import { audioSpecificConfig, parseAdts } from './adts.js'
import { TsDemuxer, type TsStats } from './demuxer.js'
import { avcDecoderConfig, h264NalType, lengthPrefixed, splitAnnexB } from './h264-annexb.js'
import { streamTypeName, type PesPacket, type Pmt, type PmtStream } from './psi.js'

/** One FLV-shaped tag produced from the transport stream. */
export interface FlvLikeTag {
  kind: FlvTagKind
  /** Milliseconds (decode time for video). */
  timestamp: number
  data: Buffer
}

/** A track of the program, as announced by its PMT. */
export interface TsTrack {
  pid: number
  codec: string
  kind: 'video' | 'audio' | 'other'
  language?: string
  /** True for the video track and the one audio track that is forwarded. */
  selected: boolean
}

/** Options and callbacks of a TsToFlv. */
export interface TsToFlvOptions {
  onTag: (tag: FlvLikeTag) => void
  /** Called on every new PMT with all its tracks. */
  onTracks?: (tracks: TsTrack[]) => void
  /** ISO 639-2 code of the audio track to keep when there are several. */
  audioLanguage?: string
}

const WRAP = 2 ** 33
/** Bytes of TS accepted without any PMT before the input is refused. */
const MAX_BYTES_WITHOUT_PMT = 4 * 1024 * 1024

/** Converts a transport stream into FLV-shaped tags. */
export class TsToFlv {
  private readonly demux: TsDemuxer
  private videoPid = -1
  private audioPid = -1
  private videoConfig: Buffer | undefined
  private sps: Buffer | undefined
  private pps: Buffer | undefined
  private audioConfig: Buffer | undefined
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
    const video = pmt.streams.find((s) => s.streamType === 0x1b || s.streamType === 0x24)
    const aac = pmt.streams.filter((s) => s.streamType === 0x0f)
    const wanted = this.opts.audioLanguage?.toLowerCase()
    const audio = aac.find((s) => wanted !== undefined && s.language === wanted) ?? aac[0]
    this.videoPid = video?.streamType === 0x1b ? video.pid : -1
    this.audioPid = audio?.pid ?? -1
    if (video?.streamType === 0x24) {
      this.unsupported = 'HEVC video over MPEG-TS is not supported yet (the FFmpeg workers read FLV, which cannot carry HEVC in FFmpeg 5.1); send H.264'
    } else if (!video && !audio) {
      const kinds = pmt.streams.map((s) => streamTypeName(s.streamType)).join(', ') || 'no streams'
      this.unsupported = `no H.264 video or AAC audio in the program (${kinds})`
    } else {
      this.unsupported = undefined
    }
    this.opts.onTracks?.(pmt.streams.map((s) => this.track(s, s.pid === this.videoPid || s.pid === this.audioPid)))
  }

  private track(s: PmtStream, selected: boolean): TsTrack {
    const video = s.streamType === 0x1b || s.streamType === 0x24 || s.streamType === 0x02
    const audio = [0x03, 0x04, 0x0f, 0x11, 0x81, 0x87].includes(s.streamType)
    const t: TsTrack = { pid: s.pid, codec: streamTypeName(s.streamType), kind: video ? 'video' : audio ? 'audio' : 'other', selected }
    if (s.language) t.language = s.language
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
    if (pes.pts === undefined) return
    if (stream.pid === this.videoPid) this.video(pes)
    else if (stream.pid === this.audioPid) this.audio(pes)
  }

  private video(pes: PesPacket): void {
    const pts = this.unwrap(pes.pts!)
    const dts = pes.dts !== undefined ? pts - ((pes.pts! - pes.dts + WRAP) % WRAP) : pts
    const frame: Buffer[] = []
    let keyframe = false
    for (const nal of splitAnnexB(pes.payload)) {
      const type = h264NalType(nal)
      if (type === 7) this.sps = Buffer.from(nal)
      else if (type === 8) this.pps = Buffer.from(nal)
      else if (type === 9 || type === 12) continue // access unit delimiters and filler carry nothing FLV needs
      else {
        if (type === 5) keyframe = true
        frame.push(nal)
      }
    }
    const ms = Math.floor(dts / 90)
    if (this.sps && this.pps) {
      const config = avcDecoderConfig(this.sps, this.pps)
      if (!this.videoConfig || !config.equals(this.videoConfig)) {
        this.videoConfig = config
        this.opts.onTag({ kind: 'video', timestamp: ms, data: Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0]), config]) })
      }
    }
    if (!this.videoConfig || frame.length === 0) return // nothing decodable before the first SPS/PPS
    const head = Buffer.alloc(5)
    head[0] = (keyframe ? 0x10 : 0x20) | 7
    head[1] = 1
    head.writeIntBE(Math.round((pts - dts) / 90), 2, 3)
    this.opts.onTag({ kind: 'video', timestamp: ms, data: Buffer.concat([head, lengthPrefixed(frame)]) })
  }

  private audio(pes: PesPacket): void {
    const pts = this.unwrap(pes.pts!)
    let i = 0
    for (const f of parseAdts(pes.payload)) {
      const asc = audioSpecificConfig(f)
      if (!this.audioConfig || !asc.equals(this.audioConfig)) {
        this.audioConfig = asc
        this.opts.onTag({ kind: 'audio', timestamp: Math.floor(pts / 90), data: Buffer.concat([Buffer.from([0xaf, 0]), asc]) })
      }
      // Each AAC frame holds 1024 samples (14496-3 §4.5.2.1); later frames of a PES follow the first.
      const at = pts + (i++ * 1024 * 90000) / f.sampleRate
      this.opts.onTag({ kind: 'audio', timestamp: Math.floor(at / 90), data: Buffer.concat([Buffer.from([0xaf, 1]), f.raw]) })
    }
  }
}
