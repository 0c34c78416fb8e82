/**
 * An MPEG-TS writer (ISO/IEC 13818-1): PAT/PMT in single packets, PES packets
 * with PTS/DTS split over 188-byte transport packets, continuity counters per
 * PID, PCR and random_access_indicator on the video PID. Pure: units in,
 * transport packets out. streamd feeds its FFmpeg workers with it when FLV
 * cannot carry the stream (HEVC, several audio tracks).
 */
import { buildPat, buildPmt, type PmtEntry } from './psi-writer.js'

/** Size of a transport packet. */
const PACKET = 188
/** PID of the PMT (and program number 1), as most muxers choose. */
export const PMT_PID = 0x1000
/** PID of the video stream; audio tracks follow from AUDIO_PID_BASE. */
export const VIDEO_PID = 0x100
/** PID of the first audio track. */
export const AUDIO_PID_BASE = 0x101
const WRAP = 2 ** 33

/** What the program carries. */
export interface TsProgram {
  video?: { streamType: 0x1b | 0x24 }
  audio: Array<{ language?: string }>
  /** PMT version_number (a changed program announces a new one). */
  version?: number
}

/** Writes one program's transport stream. */
export class TsMuxer {
  private readonly cc = new Map<number, number>()
  private readonly pat: Buffer
  private readonly pmt: Buffer

  constructor(readonly program: TsProgram) {
    const entries: PmtEntry[] = []
    if (program.video) entries.push({ pid: VIDEO_PID, streamType: program.video.streamType })
    program.audio.forEach((a, i) => entries.push({ pid: AUDIO_PID_BASE + i, streamType: 0x0f, language: a.language }))
    // §2.4.4.9: PCR_PID is the video's; an audio-only program clocks on its first track.
    const pcrPid = program.video ? VIDEO_PID : AUDIO_PID_BASE
    this.pat = buildPat(1, PMT_PID)
    this.pmt = buildPmt(1, pcrPid, entries, program.version ?? 0)
  }

  /** PID carrying the program clock. */
  get pcrPid(): number {
    return this.program.video ? VIDEO_PID : AUDIO_PID_BASE
  }

  /** PAT and PMT: written first and again before every key frame. */
  tables(): Buffer {
    return Buffer.concat([this.psiPacket(0, this.pat), this.psiPacket(PMT_PID, this.pmt)])
  }

  /** One access unit as a PES of the video stream (stream_id 0xE0); times in 90 kHz ticks. */
  video(payload: Buffer, pts: number, dts: number, keyframe: boolean): Buffer {
    // §2.4.3.7: PES_packet_length 0 ("unbounded") is allowed only for video, which needs it over 64 KiB.
    return this.pes(VIDEO_PID, 0xe0, payload, pts, dts, { pcr: dts, randomAccess: keyframe, unbounded: true })
  }

  /** One or more ADTS frames as a PES of audio track `index` (stream_id 0xC0 + index). */
  audio(index: number, payload: Buffer, pts: number): Buffer {
    const pid = AUDIO_PID_BASE + index
    return this.pes(pid, 0xc0 + (index & 0x1f), payload, pts, pts, { pcr: pid === this.pcrPid ? pts : undefined, randomAccess: true, unbounded: false })
  }

  private nextCc(pid: number): number {
    const c = ((this.cc.get(pid) ?? -1) + 1) & 0x0f
    this.cc.set(pid, c)
    return c
  }

  /** A section in as many packets as it needs (a PMT of many tracks outgrows one), 0xFF after its end. */
  private psiPacket(pid: number, section: Buffer): Buffer {
    const data = Buffer.concat([Buffer.from([0]), section]) // pointer_field 0 in the first packet
    const packets: Buffer[] = []
    for (let off = 0; off < data.length; off += PACKET - 4) {
      const p = Buffer.alloc(PACKET, 0xff)
      p[0] = 0x47
      p.writeUInt16BE((off === 0 ? 0x4000 : 0) | pid, 1) // payload_unit_start_indicator on the first
      p[3] = 0x10 | this.nextCc(pid)
      data.copy(p, 4, off, Math.min(data.length, off + PACKET - 4))
      packets.push(p)
    }
    return Buffer.concat(packets)
  }

  private pes(pid: number, streamId: number, payload: Buffer, pts: number, dts: number, o: { pcr?: number; randomAccess: boolean; unbounded: boolean }): Buffer {
    const withDts = dts !== pts
    const head = Buffer.alloc(withDts ? 19 : 14)
    head.writeUIntBE(0x000001, 0, 3)
    head[3] = streamId
    const length = head.length - 6 + payload.length
    head.writeUInt16BE(o.unbounded || length > 0xffff ? 0 : length, 4)
    head[6] = 0x80 // '10', not scrambled, no priority, data_alignment 0
    head[7] = withDts ? 0xc0 : 0x80
    head[8] = withDts ? 10 : 5
    writeTimestamp(head, 9, withDts ? 0x3 : 0x2, pts)
    if (withDts) writeTimestamp(head, 14, 0x1, dts)
    const data = Buffer.concat([head, payload])
    const packets: Buffer[] = []
    for (let off = 0, first = true; off < data.length; first = false) {
      const p = Buffer.alloc(PACKET)
      p[0] = 0x47
      p.writeUInt16BE((first ? 0x4000 : 0) | pid, 1)
      // Adaptation field body (flags and PCR) on the first packet of a unit.
      let af: number[] | undefined
      if (first && (o.pcr !== undefined || o.randomAccess)) {
        af = [(o.randomAccess ? 0x40 : 0) | (o.pcr !== undefined ? 0x10 : 0)]
        if (o.pcr !== undefined) af.push(...pcrBytes(o.pcr))
      }
      const afSize = af ? 1 + af.length : 0
      const take = Math.min(data.length - off, PACKET - 4 - afSize)
      const stuffing = PACKET - 4 - afSize - take
      if (stuffing > 0) {
        // §2.4.3.5: the last packet of a PES is filled by adaptation-field stuffing; a 1-byte
        // field is its length byte alone, a longer one a flags byte and then 0xFF bytes.
        if (!af) af = stuffing === 1 ? [] : [0, ...new Array<number>(stuffing - 2).fill(0xff)]
        else af.push(...new Array<number>(stuffing).fill(0xff))
      }
      p[3] = (af ? 0x30 : 0x10) | this.nextCc(pid)
      let at = 4
      if (af) {
        p[at++] = af.length
        for (const b of af) p[at++] = b
      }
      data.copy(p, at, off, off + take)
      off += take
      packets.push(p)
    }
    return Buffer.concat(packets)
  }
}

/** §2.4.3.7: a 33-bit time stamp in 5 bytes with a 4-bit prefix and marker bits. */
function writeTimestamp(b: Buffer, at: number, prefix: number, ts: number): void {
  const t = ((ts % WRAP) + WRAP) % WRAP
  const hi = Math.floor(t / 2 ** 30) // bits 32..30
  const mid = Math.floor(t / 2 ** 15) & 0x7fff // bits 29..15
  const lo = t % 2 ** 15 // bits 14..0
  b[at] = (prefix << 4) | (hi << 1) | 1
  b.writeUInt16BE((mid << 1) | 1, at + 1)
  b.writeUInt16BE((lo << 1) | 1, at + 3)
}

/** §2.4.3.5: program_clock_reference_base (33 bits), 6 reserved bits, extension 0. */
function pcrBytes(ticks90k: number): number[] {
  const base = ((ticks90k % WRAP) + WRAP) % WRAP
  const top32 = Math.floor(base / 2)
  return [(top32 >>> 24) & 0xff, (top32 >>> 16) & 0xff, (top32 >>> 8) & 0xff, top32 & 0xff, ((base % 2) << 7) | 0x7e, 0]
}
