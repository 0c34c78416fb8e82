/**
 * One accepted SRT caller: runs the receiver (ACK every 10 ms, ACKACK RTT,
 * immediate and periodic NAK, too-late drop, keepalive, idle timeout,
 * shutdown), decrypts payloads, turns the MPEG-TS into tags for the sink.
 * Every failure funnels into `close`, which ends the sink exactly once and
 * logs the reason once.
 */
import type { Logger } from 'pino'
import { describeError } from '../../errors.js'
import { TsToFlv, type TsTrack } from '../../formats/mpegts/ts-to-flv.js'
import type { InputRole, MediaSink } from '../types.js'
import { PayloadDecryptor, unwrapKeyMaterial } from './crypto.js'
import { Ctrl, UserSub, ackCif, controlPacket, nakCif, parsePacket, type ControlPacket, type DataPacket } from './packet.js'
import { Receiver, type ReceiverStats } from './receiver.js'

/** What a connection needs from its listener. */
export interface ConnectionOptions {
  socketId: number
  peerSocketId: number
  remote: string
  isn: number
  latencyMs: number
  capacity: number
  /** Largest data payload the negotiated MTU allows. */
  maxPayload: number
  /** Most payload bytes held while waiting for lost packets. */
  maxBufferBytes: number
  sink: MediaSink
  logger: Logger
  send: (packet: Buffer) => void
  /** The conclusion response, sent again when the caller repeats its conclusion. */
  conclusion: Buffer
  decryptor?: PayloadDecryptor
  passphrase?: string
  audioLanguage?: string
  idleTimeoutMs: number
  onClosed: (c: SrtConnection, reason: string) => void
  onTracks?: (tracks: TsTrack[]) => void
  /** Stream name published (a reconnecting caller may take over a silent connection of it). */
  stream: string
  /** Input of the stream it feeds; a takeover replaces a connection of the same role only. */
  role: InputRole
}

const TICK_MS = 10
const KEEPALIVE_MS = 1000
/** libsrt's minimum periodic NAK interval. */
const MIN_NAK_US = 20_000

/** One publisher over SRT. */
export class SrtConnection {
  readonly receiver: Receiver
  readonly log: Logger
  private readonly ts: TsToFlv
  private readonly startUs = nowUs()
  private readonly timer: NodeJS.Timeout
  private lastRecv = Date.now()
  private lastSent = Date.now()
  private ackNo = 0
  private lastAcked = -1
  private readonly ackSentAt = new Map<number, number>()
  private rttUs = 100_000
  private rttVarUs = 50_000
  private closed = false
  private bytesWindow = { at: Date.now(), bytes: 0, packets: 0, rateBps: 0, pps: 0 }

  constructor(private readonly o: ConnectionOptions) {
    this.log = o.logger
    this.receiver = new Receiver({
      isn: o.isn, latencyUs: o.latencyMs * 1000, capacity: o.capacity, maxPayload: o.maxPayload, maxBytes: o.maxBufferBytes,
      deliver: (seq, payload, kk) => this.deliver(seq, payload, kk),
    })
    this.ts = new TsToFlv({
      audioLanguage: o.audioLanguage,
      onTag: (tag) => o.sink.write({ ...tag, arrival: Date.now() }),
      onTracks: (tracks) => {
        this.log.info({ tracks }, 'srt: program tracks')
        o.onTracks?.(tracks)
        o.sink.announceAudio?.(tracks.filter((t) => t.track !== undefined).map((t) => (t.language ? { track: t.track!, language: t.language } : { track: t.track! })))
      },
      onNotice: (message, detail) => this.log.warn({ ...detail, stream: o.stream }, `srt: ${message}`),
    })
    this.timer = setInterval(() => this.guard(() => this.tick()), TICK_MS)
  }

  /** The stream this caller publishes. */
  get stream(): string {
    return this.o.stream
  }

  /** Which input of the stream this caller feeds. */
  get role(): InputRole {
    return this.o.role
  }

  /** Remote `ip:port`. */
  get remote(): string {
    return this.o.remote
  }

  /** Milliseconds since the caller's last packet. */
  get silentMs(): number {
    return Date.now() - this.lastRecv
  }

  /** Our socket id (the destination of the caller's packets). */
  get socketId(): number {
    return this.o.socketId
  }

  /** Receive counters plus MPEG-TS continuity errors. */
  get stats(): ReceiverStats & { ccErrors: number; tsPackets: number; rttMs: number } {
    return { ...this.receiver.stats, ccErrors: this.ts.stats.ccErrors, tsPackets: this.ts.stats.packets, rttMs: this.rttUs / 1000 }
  }

  /** The caller repeated its conclusion (our response was lost): answer again. */
  resendConclusion(): void {
    this.send(this.o.conclusion)
  }

  /** A datagram addressed to this connection. */
  onPacket(b: Buffer): void {
    if (this.closed) return
    const p = parsePacket(b)
    if (!p) return
    this.lastRecv = Date.now()
    this.guard(() => (p.control ? this.onControl(p) : this.onData(p)))
  }

  /** The caller sent SHUTDOWN: it ended the publish itself. */
  private shutdownByCaller = false

  /** Close now: tell the caller (SHUTDOWN), end the sink. */
  close(reason: string, error = false): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    try { this.send(controlPacket(Ctrl.shutdown, 0, 0, this.ts32(), this.o.peerSocketId, Buffer.alloc(4))) } catch { /* socket gone */ }
    // What the demuxer still holds is the end of a publish only when the caller ended it;
    // after a silence (a dead encoder) it is stale, and would reach the stream as fresh media
    // seconds after the input was lost.
    if (this.shutdownByCaller) {
      try {
        this.ts.flush()
      } catch { /* ignore */ }
    }
    try {
      this.o.sink.end(reason, this.shutdownByCaller)
    } catch (err) {
      this.log.error({ err: describeError(err) }, 'srt: sink.end threw')
    }
    const s = this.stats
    const fields = { reason, packets: s.packets, retransmitted: s.retransmitted, lossDetected: s.lossDetected, recovered: s.recovered, lateDropped: s.lateDropped, ccErrors: s.ccErrors }
    if (error) this.log.warn(fields, 'srt: connection closed on error')
    else this.log.info(fields, 'srt: connection closed')
    this.o.onClosed(this, reason)
  }

  private guard(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.close(describeError(err), true)
    }
  }

  private onData(p: DataPacket): void {
    const lost = this.receiver.onData(p.seq, p.timestamp, p.payload, p.kk, p.retransmitted, nowUs())
    if (lost.length) this.send(controlPacket(Ctrl.nak, 0, 0, this.ts32(), this.o.peerSocketId, nakCif(lost)))
  }

  private deliver(seq: number, payload: Buffer, kk: number): void {
    if (this.closed) return
    if (kk !== 0) {
      if (!this.o.decryptor) throw new Error('encrypted data on a connection without a passphrase')
      payload = this.o.decryptor.decrypt(payload, seq, kk)
    }
    this.bytesWindow.bytes += payload.length
    this.bytesWindow.packets++
    this.ts.push(payload)
    if (this.ts.unsupported) {
      this.log.error({ reason: this.ts.unsupported }, 'srt: publish ended: unsupported media')
      throw new Error(this.ts.unsupported)
    }
  }

  private onControl(p: ControlPacket): void {
    switch (p.type) {
      case Ctrl.ackack: {
        // §4.10: RTT from the ACK this ACKACK answers; smoothed as RTT = 7/8 RTT + 1/8 sample.
        const sent = this.ackSentAt.get(p.info)
        if (sent === undefined) return
        this.ackSentAt.delete(p.info)
        const sample = nowUs() - sent
        this.rttVarUs = (3 * this.rttVarUs + Math.abs(this.rttUs - sample)) / 4
        this.rttUs = (7 * this.rttUs + sample) / 8
        return
      }
      case Ctrl.shutdown:
        this.shutdownByCaller = true
        return this.close('caller closed the connection (shutdown)')
      case Ctrl.dropreq:
        if (p.cif.length >= 8) this.receiver.dropRange(p.cif.readUInt32BE(0) & 0x7fffffff, p.cif.readUInt32BE(4) & 0x7fffffff)
        return
      case Ctrl.handshake: return this.resendConclusion()
      case Ctrl.user:
        if (p.subtype === UserSub.kmreq) return this.onKmRefresh(p.cif)
        return
      default: return // keepalive, congestion warning, peer error: liveness only
    }
  }

  /** §6.1.6: the sender announces the next key; answer with the same message. */
  private onKmRefresh(km: Buffer): void {
    if (!this.o.decryptor || !this.o.passphrase) return
    const keys = unwrapKeyMaterial(km, this.o.passphrase)
    if (typeof keys === 'string') {
      this.log.warn({ failure: keys }, 'srt: key refresh not accepted')
      return
    }
    this.o.decryptor.update(keys)
    this.send(controlPacket(Ctrl.user, UserSub.kmrsp, 0, this.ts32(), this.o.peerSocketId, km))
  }

  private tick(): void {
    const now = Date.now()
    if (now - this.lastRecv > this.o.idleTimeoutMs) return this.close(`no packet from the caller for ${this.o.idleTimeoutMs} ms`, true)
    const us = nowUs()
    this.receiver.expire(us)
    this.measure(now)
    // §4.8.1: a full ACK every 10 ms while data flows.
    const ackSeq = this.receiver.ackSeq
    if (ackSeq !== this.lastAcked) {
      this.lastAcked = ackSeq
      this.ackNo = (this.ackNo + 1) >>> 0
      this.ackSentAt.set(this.ackNo, us)
      if (this.ackSentAt.size > 1000) this.ackSentAt.delete(this.ackSentAt.keys().next().value!)
      this.send(controlPacket(Ctrl.ack, 0, this.ackNo, this.ts32(), this.o.peerSocketId, ackCif({
        ackSeq, rttUs: this.rttUs, rttVarUs: this.rttVarUs, availableBuffer: this.receiver.available,
        packetsPerSecond: this.bytesWindow.pps, linkCapacity: Math.max(this.bytesWindow.pps * 2, 1000), bytesPerSecond: this.bytesWindow.rateBps,
      })))
    }
    // §4.8.2: periodic NAK at (RTT + 4 × RTTVar) / 2, at least 20 ms.
    const ranges = this.receiver.periodicNak(us, Math.max(MIN_NAK_US, (this.rttUs + 4 * this.rttVarUs) / 2))
    if (ranges.length) this.send(controlPacket(Ctrl.nak, 0, 0, this.ts32(), this.o.peerSocketId, nakCif(ranges)))
    if (now - this.lastSent >= KEEPALIVE_MS) this.send(controlPacket(Ctrl.keepalive, 0, 0, this.ts32(), this.o.peerSocketId, Buffer.alloc(4)))
  }

  private measure(now: number): void {
    const w = this.bytesWindow
    if (now - w.at < 1000) return
    w.rateBps = (w.bytes * 1000) / (now - w.at)
    w.pps = (w.packets * 1000) / (now - w.at)
    w.at = now
    w.bytes = 0
    w.packets = 0
  }

  private send(b: Buffer): void {
    this.lastSent = Date.now()
    this.o.send(b)
  }

  private ts32(): number {
    return (nowUs() - this.startUs) % 2 ** 32
  }
}

function nowUs(): number {
  return Math.floor(performance.now() * 1000)
}
