/**
 * MPEG-TS transport demuxer (ISO/IEC 13818-1 §2.4.3): finds the 0x47 sync,
 * follows PAT → PMT, reassembles PES packets per PID and counts continuity
 * errors. Pure: bytes in (any chunking), PMTs and PES packets out by callback.
 */
import { MediaFormatError } from '../../errors.js'
import { parsePat, parsePes, parsePmt, type PesPacket, type Pmt, type PmtStream } from './psi.js'

/** Size of a transport packet. */
export const TS_PACKET_SIZE = 188
/** Bytes skipped for sync before any PMT, after which the input is declared not MPEG-TS. */
const MAX_UNSYNCED = 64 * 1024
/** Largest PES reassembled (a 4K intra frame fits); bigger ones are dropped and counted. */
const MAX_PES = 16 * 1024 * 1024

/** What the demuxer reports. */
export interface TsDemuxerEvents {
  onPmt?: (pmt: Pmt) => void
  onPes?: (stream: PmtStream, pes: PesPacket) => void
}

/** Counters a caller can export or assert on. */
export interface TsStats {
  packets: number
  /** Packets whose continuity_counter skipped (a lost packet upstream). */
  ccErrors: number
  /** Bytes skipped while looking for sync. */
  resyncBytes: number
  /** PES packets dropped as incomplete, oversized or malformed. */
  pesDropped: number
}

interface PidState {
  cc: number
  parts: Buffer[]
  bytes: number
  /** PES_packet_length + 6 when known, else 0 (video: ends at the next unit start). */
  expected: number
}

/** Streaming MPEG-TS demuxer. */
export class TsDemuxer {
  readonly stats: TsStats = { packets: 0, ccErrors: 0, resyncBytes: 0, pesDropped: 0 }
  private rest: Buffer = Buffer.alloc(0)
  private pmtPids = new Set<number>()
  private streams = new Map<number, PmtStream>()
  private pids = new Map<number, PidState>()
  private psi = new Map<number, Buffer>()
  private pmtVersion = -1

  constructor(private readonly events: TsDemuxerEvents) {}

  /** The elementary streams of the current PMT. */
  get programStreams(): PmtStream[] {
    return [...this.streams.values()]
  }

  /** True once a PMT was read. */
  get hasPmt(): boolean {
    return this.pmtVersion >= 0
  }

  /** Feed bytes; throws MediaFormatError when the input is not MPEG-TS at all. */
  push(chunk: Buffer): void {
    let buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk
    let off = 0
    while (buf.length - off >= TS_PACKET_SIZE) {
      if (buf[off] !== 0x47 || (buf.length - off > TS_PACKET_SIZE && buf[off + TS_PACKET_SIZE] !== 0x47)) {
        off++
        this.stats.resyncBytes++
        // Before any program table, lots of unsyncable bytes mean this is some other format.
        if (this.pmtVersion < 0 && this.stats.resyncBytes > MAX_UNSYNCED) throw new MediaFormatError('mpegts: no transport stream sync byte found; input is not MPEG-TS')
        continue
      }
      this.packet(buf.subarray(off, off + TS_PACKET_SIZE))
      off += TS_PACKET_SIZE
    }
    this.rest = Buffer.from(buf.subarray(off))
    buf = this.rest
  }

  /** Emit what is buffered (end of input). */
  flush(): void {
    for (const [pid, st] of this.pids) this.finishPes(pid, st)
  }

  private packet(p: Buffer): void {
    this.stats.packets++
    if (p[1]! & 0x80) return // transport_error_indicator: the packet is known bad
    const pusi = (p[1]! & 0x40) !== 0
    const pid = p.readUInt16BE(1) & 0x1fff
    const afc = (p[3]! >> 4) & 0x03
    const cc = p[3]! & 0x0f
    let at = 4
    let discontinuity = false
    if (afc & 0x02) {
      const len = p[4]!
      if (len > 0) discontinuity = (p[5]! & 0x80) !== 0
      at = 5 + len
    }
    if (!(afc & 0x01) || at >= TS_PACKET_SIZE || pid === 0x1fff) return
    const payload = p.subarray(at)
    if (pid === 0 || this.pmtPids.has(pid)) return this.section(pid, pusi, payload)
    const stream = this.streams.get(pid)
    if (!stream) return
    let st = this.pids.get(pid)
    if (!st) {
      st = { cc: -1, parts: [], bytes: 0, expected: 0 }
      this.pids.set(pid, st)
    }
    // §2.4.3.3: a repeated counter is a duplicate packet; any other jump is a loss.
    if (st.cc >= 0 && !discontinuity) {
      if (cc === st.cc) return
      if (cc !== ((st.cc + 1) & 0x0f)) {
        this.stats.ccErrors++
        if (st.parts.length) this.stats.pesDropped++
        st.parts = []
        st.bytes = 0
      }
    }
    st.cc = cc
    if (pusi) {
      this.finishPes(pid, st)
      st.expected = payload.length >= 6 ? payload.readUInt16BE(4) : 0
      if (st.expected) st.expected += 6
    } else if (st.parts.length === 0) {
      return // continuation of a PES whose start we never saw
    }
    if (st.bytes + payload.length > MAX_PES) {
      this.stats.pesDropped++
      st.parts = []
      st.bytes = 0
      return
    }
    st.parts.push(payload)
    st.bytes += payload.length
    if (st.expected && st.bytes >= st.expected) this.finishPes(pid, st)
  }

  private finishPes(pid: number, st: PidState): void {
    if (st.parts.length === 0) return
    const bytes = Buffer.concat(st.parts)
    st.parts = []
    st.bytes = 0
    const stream = this.streams.get(pid)
    if (!stream) return
    let pes: PesPacket
    try {
      pes = parsePes(st.expected ? bytes.subarray(0, st.expected) : bytes)
    } catch {
      this.stats.pesDropped++
      return
    }
    st.expected = 0
    this.events.onPes?.(stream, pes)
  }

  private section(pid: number, pusi: boolean, payload: Buffer): void {
    let data: Buffer
    if (pusi) {
      const pointer = payload[0]!
      data = payload.subarray(1 + pointer)
    } else {
      const prev = this.psi.get(pid)
      if (!prev) return
      data = Buffer.concat([prev, payload])
    }
    if (data.length < 3 || data[0] === 0xff) return
    const need = 3 + (data.readUInt16BE(1) & 0x0fff)
    if (data.length < need) {
      if (need <= 4096) this.psi.set(pid, Buffer.from(data))
      return
    }
    this.psi.delete(pid)
    const section = data.subarray(0, need)
    try {
      if (pid === 0) {
        this.pmtPids = new Set(parsePat(section).values())
      } else if (section[0] === 0x02) {
        const pmt = parsePmt(section)
        if (pmt.version === this.pmtVersion && this.streams.size) return
        this.pmtVersion = pmt.version
        this.streams = new Map(pmt.streams.map((s) => [s.pid, s]))
        this.events.onPmt?.(pmt)
      }
    } catch {
      // A corrupt table is skipped; the next repetition (every ~100 ms) will do.
    }
  }
}
