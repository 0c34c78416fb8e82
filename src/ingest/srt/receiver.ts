/**
 * The receiving half of SRT's ARQ (draft-sharabayko-srt §4.5–4.8): in-order
 * delivery from a bounded buffer, loss detection with an immediate NAK,
 * periodic NAK reports, too-late packet drop at the TSBPD deadline, sender
 * drop requests, and what an ACK reports. Pure: time comes in as µs.
 *
 * Delivery does not wait for each packet's TSBPD play time: the demuxer after
 * this re-times media from PTS anyway, so contiguous packets go out at once and
 * the latency only bounds how long a hole is waited for.
 */
import { seqAdd, seqDiff } from './packet.js'

/** Counters of one connection's receive side. */
export interface ReceiverStats {
  packets: number
  bytes: number
  retransmitted: number
  duplicates: number
  /** Sequence numbers found missing when a later one arrived. */
  lossDetected: number
  /** Missing packets that a retransmission filled. */
  recovered: number
  /** Missing packets given up at the TSBPD deadline (or on a sender drop request). */
  lateDropped: number
  /** Loss reports sent, and sequence numbers they named. */
  naks: number
  nakedSeqs: number
  /** Packets beyond the advertised window or the byte bound, dropped. */
  overflow: number
  /** Packets whose payload exceeds the negotiated MTU, dropped unread. */
  oversized: number
}

interface Slot {
  payload: Buffer
  timeUs: number
}

const WRAP32 = 2 ** 32

/** Options of a Receiver. */
export interface ReceiverOptions {
  isn: number
  latencyUs: number
  /** Packets the buffer holds (the flow window advertised in ACKs). */
  capacity: number
  /** Largest payload accepted (the negotiated MTU less the IP, UDP and SRT headers); larger ones are dropped. */
  maxPayload?: number
  /** Most payload bytes held at once (waiting behind a hole); beyond it packets are dropped as overflow. */
  maxBytes?: number
  deliver: (seq: number, payload: Buffer, kk: number) => void
}

/** Receive-side sequence and loss bookkeeping for one connection. */
export class Receiver {
  readonly stats: ReceiverStats = { packets: 0, bytes: 0, retransmitted: 0, duplicates: 0, lossDetected: 0, recovered: 0, lateDropped: 0, naks: 0, nakedSeqs: 0, overflow: 0, oversized: 0 }
  /** Next sequence number to deliver; everything before it is acknowledged. */
  private next: number
  /** One past the highest sequence number seen. */
  private top: number
  private readonly buf = new Map<number, (Slot & { kk: number }) | null>()
  /** Missing sequence numbers → when they were last reported (µs). */
  private readonly loss = new Map<number, number>()
  private baseUs: number | undefined
  private lastTs = 0
  private bytesHeld = 0

  constructor(private readonly opts: ReceiverOptions) {
    this.next = opts.isn
    this.top = opts.isn
  }

  /** Sequence number an ACK reports now. */
  get ackSeq(): number {
    return this.next
  }

  /** Free packet slots, as advertised in ACKs. */
  get available(): number {
    return Math.max(0, this.opts.capacity - seqDiff(this.top, this.next))
  }

  /** Packets currently held (buffered out of order). */
  get held(): number {
    return this.buf.size
  }

  /** Payload bytes currently held. */
  get heldBytes(): number {
    return this.bytesHeld
  }

  /** A data packet arrived; returns sequence ranges to report lost at once. */
  onData(seq: number, timestamp: number, payload: Buffer, kk: number, retransmitted: boolean, nowUs: number): Array<[number, number]> {
    // A sender keeps every packet within the MTU the handshake agreed; a larger one is not
    // SRT live data, and buffering it would let one caller hold 60 KB per window slot.
    if (payload.length > (this.opts.maxPayload ?? Infinity)) {
      this.stats.oversized++
      return []
    }
    this.stats.packets++
    this.stats.bytes += payload.length
    if (retransmitted) this.stats.retransmitted++
    const timeUs = this.unwrapTs(timestamp)
    // §4.5: the TSBPD time base comes from the first packet; drifting clocks only move it earlier.
    const base = nowUs - timeUs
    if (this.baseUs === undefined || base < this.baseUs) this.baseUs = base
    const d = seqDiff(seq, this.next)
    if (d < 0 || this.buf.has(seq)) {
      this.stats.duplicates++
      return []
    }
    // The packet that fills the first hole (d = 0) always goes in: it drains the buffer.
    if (d >= this.opts.capacity || (d > 0 && this.bytesHeld + payload.length > (this.opts.maxBytes ?? Infinity))) {
      this.stats.overflow++
      return []
    }
    let lost: Array<[number, number]> = []
    const ahead = seqDiff(seq, this.top)
    if (ahead > 0) {
      // §4.6: a gap in sequence numbers is reported at once, as one range.
      for (let s = this.top; s !== seq; s = seqAdd(s, 1)) this.loss.set(s, nowUs)
      this.stats.lossDetected += ahead
      lost = [[this.top, seqAdd(seq, -1)]]
      this.stats.naks++
      this.stats.nakedSeqs += ahead
    }
    if (ahead >= 0) this.top = seqAdd(seq, 1)
    if (this.loss.delete(seq)) this.stats.recovered++
    this.buf.set(seq, { payload, timeUs, kk })
    this.bytesHeld += payload.length
    this.drain()
    return lost
  }

  /** The sender will not send these (DROPREQ, §3.2.9): stop waiting for them. */
  dropRange(first: number, last: number): void {
    const n = seqDiff(last, first)
    if (n < 0 || n > this.opts.capacity) return
    for (let s = first, i = 0; i <= n; s = seqAdd(s, 1), i++) {
      if (seqDiff(s, this.next) < 0 || this.buf.get(s)) continue
      if (this.loss.delete(s)) this.stats.lateDropped++
      if (seqDiff(s, this.top) < 0) this.buf.set(s, null)
    }
    this.drain()
  }

  /** Give up holes whose following packet is due (TLPKTDROP, §4.6); call every few ms. */
  expire(nowUs: number): void {
    while (this.loss.size > 0 && !this.buf.has(this.next) && this.baseUs !== undefined) {
      let s = this.next
      let slot: Slot | null | undefined
      for (let i = 0; i < this.opts.capacity && seqDiff(s, this.top) < 0; i++, s = seqAdd(s, 1)) {
        slot = this.buf.get(s)
        if (slot) break
      }
      if (!slot || this.baseUs + slot.timeUs + this.opts.latencyUs > nowUs) return
      for (let m = this.next; m !== s; m = seqAdd(m, 1)) {
        if (this.loss.delete(m)) this.stats.lateDropped++
      }
      this.next = s
      this.drain()
    }
  }

  /** Periodic NAK (§4.8.2): every loss not reported within `intervalUs`, as ranges. */
  periodicNak(nowUs: number, intervalUs: number): Array<[number, number]> {
    const due: number[] = []
    for (const [s, at] of this.loss) {
      if (nowUs - at >= intervalUs) {
        due.push(s)
        this.loss.set(s, nowUs)
      }
    }
    if (due.length === 0) return []
    due.sort((a, b) => seqDiff(a, b))
    const ranges: Array<[number, number]> = []
    for (const s of due) {
      const last = ranges[ranges.length - 1]
      if (last && seqAdd(last[1], 1) === s) last[1] = s
      else ranges.push([s, s])
    }
    this.stats.naks++
    this.stats.nakedSeqs += due.length
    return ranges
  }

  private drain(): void {
    for (;;) {
      const slot = this.buf.get(this.next)
      if (slot === undefined) return
      this.buf.delete(this.next)
      const seq = this.next
      this.next = seqAdd(this.next, 1)
      if (slot) this.bytesHeld -= slot.payload.length
      if (slot) this.opts.deliver(seq, slot.payload, slot.kk)
    }
  }

  /** Packet timestamps are 32-bit µs and wrap every ~71.6 minutes; unroll to the nearest turn. */
  private unwrapTs(ts: number): number {
    const k = Math.round((this.lastTs - ts) / WRAP32)
    const v = ts + k * WRAP32
    if (v > this.lastTs) this.lastTs = v
    return v
  }
}
