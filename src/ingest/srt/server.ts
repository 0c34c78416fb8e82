/**
 * SRT listener on one UDP port (draft-sharabayko-srt §4.3.1 caller-listener
 * handshake): answers inductions with a SYN cookie, checks a conclusion's
 * version, Stream ID, HSREQ and key material, asks the ingest handler before
 * accepting, and routes data by destination socket id, so any number of
 * callers share the port. Datagrams that fit nothing are counted and dropped.
 * A caller gets no more than the configured latency cap, MTU and buffer bytes;
 * refusals are remembered and logged per host within bounds (refusals.ts).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { createHmac, randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { ProtocolError, describeError } from '../../errors.js'
import { isValidName } from '../../media/types.js'
import type { TsTrack } from '../../formats/mpegts/ts-to-flv.js'
import type { IngestHandler, PublishDecision, PublishRequest } from '../types.js'
import { PayloadDecryptor, unwrapKeyMaterial, type StreamKeys } from './crypto.js'
import { SrtConnection } from './connection.js'
import { Ext, ExtFlag, HS_SIZE, HsType, Reject, SRT_MAGIC, SrtFlag, decodeStreamIdExt, encodeHandshake, encodeHsRsp, parseHandshake, parseHsReq, parseStreamId, type Handshake } from './handshake.js'
import { Ctrl, controlPacket, parsePacket } from './packet.js'
import type { ReceiverStats } from './receiver.js'
import { RefusalLedger } from './refusals.js'

/** Options of an SrtServer. */
export interface SrtServerOptions {
  host: string
  /** UDP port; 0 picks a free one. */
  port: number
  handler: IngestHandler
  logger: Logger
  /** Receiver latency (TSBPD delay) in ms; the larger of this and the caller's (capped) wins. */
  latencyMs: number
  /** Most latency (ms) a caller may ask for; a larger request is lowered to it (default 2000). */
  maxLatencyMs?: number
  /** Most payload bytes one connection holds while waiting for lost packets (default 8 MiB). */
  maxBufferBytes?: number
  /** Passphrase callers must use (10–79 characters), or none: unencrypted only. */
  passphrase?: string
  /** Smallest AES key length (bytes) accepted from a caller; default 16. */
  minKeyLength?: number
  /** ISO 639-2 audio language to keep when a program has several audio tracks. */
  audioLanguage?: string
  /** Packets buffered per connection (the flow window). */
  capacity?: number
  idleTimeoutMs?: number
  maxConnections?: number
  onTracks?: (stream: string, tracks: TsTrack[]) => void
}

/** SRT version this listener announces in HSRSP (1.5.0). */
export const SRT_VERSION = 0x010500
/** Handshake version this listener speaks. */
export const HS_VERSION = 5

/** Totals over every connection, live and closed. */
export type SrtTotals = ReceiverStats & { ccErrors: number; tsPackets: number; badDatagrams: number; rejected: number; connections: number }

const COOKIE_BUCKET_MS = 60_000
/** A connection silent this long may be taken over by a reconnecting caller from the same host. */
const TAKEOVER_SILENCE_MS = 1000
/** How long a takeover waits for the old session's pipeline to let go (libsrt callers give up after 3 s). */
const TAKEOVER_BUDGET_MS = 2500
/** Default of srt.maxLatencyMs. */
export const DEFAULT_MAX_LATENCY_MS = 2000
/** Default of srt.maxBufferBytes: 20 Mbit/s for 3.3 s, beyond a 2 s hole at that rate. */
export const DEFAULT_MAX_BUFFER_BYTES = 8 * 1024 * 1024
/** IPv4 (20) and UDP (8) headers: the handshake's MTU counts them, an SRT packet does not carry them. */
const IP_UDP_HEADERS = 28
/** SRT header of a data packet. */
const SRT_HEADER = 16
/** libsrt's smallest MSS (SRTO_MSS); a smaller MTU cannot carry SRT. */
const MIN_MTU = 76
/** How often pending refusal counts are logged. */
const REFUSAL_FLUSH_MS = 2000

/** The SRT ingest listener. */
export class SrtServer {
  private readonly socket: Socket
  private readonly log: Logger
  private readonly secret = randomBytes(16)
  private readonly conns = new Map<number, SrtConnection>()
  private readonly byPeer = new Map<string, SrtConnection | 'pending'>()
  private readonly refusals: RefusalLedger
  private readonly flushTimer: NodeJS.Timeout
  private readonly closedTotals: Record<string, number> = {}
  private badDatagrams = 0
  private rejectCount = 0
  private acceptedCount = 0
  private closing = false

  constructor(private readonly opts: SrtServerOptions) {
    this.log = opts.logger.child({ component: 'srt' })
    this.refusals = new RefusalLedger((fields) => this.log.info(fields, 'srt: connection refused'))
    this.flushTimer = setInterval(() => this.refusals.flush(), REFUSAL_FLUSH_MS).unref()
    this.socket = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 })
    this.socket.on('message', (msg, rinfo) => {
      try {
        this.onDatagram(msg, rinfo)
      } catch (err) {
        this.badDatagrams++
        this.log.debug({ err: describeError(err), remote: `${rinfo.address}:${rinfo.port}` }, 'srt: bad datagram')
      }
    })
    this.socket.on('error', (err) => this.log.error({ err: err.message }, 'srt: socket error'))
  }

  /** Bind; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.socket.once('error', reject)
      this.socket.bind(this.opts.port, this.opts.host, () => {
        this.socket.off('error', reject)
        const port = this.socket.address().port
        this.log.info({ host: this.opts.host, port, latencyMs: this.opts.latencyMs, encrypted: !!this.opts.passphrase }, 'srt: listening')
        resolve(port)
      })
    })
  }

  /** Shut every connection down (sinks ended) and close the socket. */
  async close(): Promise<void> {
    this.closing = true
    clearInterval(this.flushTimer)
    this.refusals.flush()
    for (const c of [...this.conns.values()]) c.close('server closing')
    await new Promise<void>((resolve) => this.socket.close(() => resolve()))
  }

  /** Live connections. */
  connections(): SrtConnection[] {
    return [...this.conns.values()]
  }

  /** Counters summed over every connection so far. */
  totals(): SrtTotals {
    const sum: Record<string, number> = { ...this.closedTotals }
    for (const c of this.conns.values()) for (const [k, v] of Object.entries(c.stats)) if (k !== 'rttMs') sum[k] = (sum[k] ?? 0) + v
    return { ...(sum as unknown as ReceiverStats & { ccErrors: number; tsPackets: number }), badDatagrams: this.badDatagrams, rejected: this.rejectCount, connections: this.acceptedCount }
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closing) return
    const p = parsePacket(msg)
    if (!p) {
      this.badDatagrams++
      return
    }
    if (p.control && p.type === Ctrl.handshake) return this.onHandshake(p.cif, rinfo)
    const conn = this.conns.get(p.dest)
    if (!conn || conn.remote !== `${rinfo.address}:${rinfo.port}`) {
      this.badDatagrams++
      return
    }
    conn.onPacket(msg)
  }

  private cookie(remote: string, bucketOffset = 0): number {
    const bucket = Math.floor(Date.now() / COOKIE_BUCKET_MS) - bucketOffset
    return createHmac('sha256', this.secret).update(`${remote}|${bucket}`).digest().readUInt32BE(0)
  }

  private cookieValid(cookie: number, remote: string): boolean {
    return cookie === this.cookie(remote) || cookie === this.cookie(remote, 1)
  }

  private reply(rinfo: RemoteInfo, dest: number, cif: Buffer): void {
    this.socket.send(controlPacket(Ctrl.handshake, 0, 0, 0, dest, cif), rinfo.port, rinfo.address)
  }

  private onHandshake(cif: Buffer, rinfo: RemoteInfo): void {
    const remote = `${rinfo.address}:${rinfo.port}`
    let hs: Handshake
    let malformed: string | undefined
    try {
      hs = parseHandshake(cif)
    } catch (err) {
      if (!(err instanceof ProtocolError) || cif.length < HS_SIZE) throw err
      // The fixed part decodes, an extension does not: a conclusion carrying our cookie is
      // refused like any other (the caller learns why at once instead of timing out).
      hs = parseHandshake(cif.subarray(0, HS_SIZE))
      if (hs.type !== HsType.conclusion) throw err
      malformed = err.message
    }
    if (hs.type === HsType.induction) {
      // §4.3.1.1: answer with version 5, the SRT magic and a cookie bound to the caller's address.
      this.reply(rinfo, hs.socketId, encodeHandshake({ ...hs, version: HS_VERSION, encryption: 0, extensionField: SRT_MAGIC, cookie: this.cookie(remote) }))
      return
    }
    if (hs.type !== HsType.conclusion) return
    const peerKey = `${remote}/${hs.socketId}`
    const existing = this.byPeer.get(peerKey)
    if (existing === 'pending') return
    if (existing) return existing.resendConclusion()
    const refusal = this.refusals.reply(peerKey)
    if (refusal) return this.reply(rinfo, hs.socketId, refusal)
    if (!this.cookieValid(hs.cookie, remote)) {
      this.badDatagrams++
      return // §4.3.1.2: a conclusion without a cookie we issued is ignored
    }
    if (malformed) return this.refuse(hs, rinfo, peerKey, Reject.rogue, malformed)
    // A host refused again and again (a reconnect loop with a wrong key, a guessing flood)
    // is answered without checking keys or asking hooks until its 10 s window passes.
    if (this.refusals.throttled(rinfo.address)) return this.refuse(hs, rinfo, peerKey, Reject.unavailable, 'too many refused conclusions from this host; retry in 10 s')
    void this.conclude(hs, remote, rinfo, peerKey).catch((err) => {
      // §4.3 Table 7 REJ_ROGUE: "incorrect data in handshake messages" — e.g. a short HSREQ.
      if (err instanceof ProtocolError) return this.refuse(hs, rinfo, peerKey, Reject.rogue, err.message)
      this.byPeer.delete(peerKey)
      this.log.error({ err: describeError(err), remote }, 'srt: handshake failed')
    })
  }

  private refuse(hs: Handshake, rinfo: RemoteInfo, peerKey: string, code: number, why: string): void {
    this.rejectCount++
    this.byPeer.delete(peerKey)
    const cif = encodeHandshake({ ...hs, version: HS_VERSION, extensionField: 0, type: 1000 + code })
    this.refusals.record(rinfo.address, peerKey, cif, 1000 + code, why)
    this.reply(rinfo, hs.socketId, cif)
  }

  private async conclude(hs: Handshake, remote: string, rinfo: RemoteInfo, peerKey: string): Promise<void> {
    if (hs.version !== HS_VERSION) return this.refuse(hs, rinfo, peerKey, Reject.version, `handshake version ${hs.version}`)
    if (hs.mtu < MIN_MTU) return this.refuse(hs, rinfo, peerKey, Reject.rogue, `MTU ${hs.mtu} is below ${MIN_MTU}`)
    const hsreqRaw = hs.ext.get(Ext.hsreq)
    if (!hsreqRaw) return this.refuse(hs, rinfo, peerKey, Reject.version, 'no HSREQ (SRT before 1.3)')
    const hsreq = parseHsReq(hsreqRaw)
    if (hsreq.flags & SrtFlag.stream) return this.refuse(hs, rinfo, peerKey, Reject.messageApi, 'stream (file) mode; live mode expected')
    const sidRaw = hs.ext.get(Ext.sid)
    const sid = parseStreamId(sidRaw ? decodeStreamIdExt(sidRaw) : '')
    if (!sid.ok) return this.refuse(hs, rinfo, peerKey, sid.mode ? Reject.badMode : Reject.badRequest, sid.reason)
    if (!isValidName(sid.stream)) return this.refuse(hs, rinfo, peerKey, Reject.badRequest, 'invalid stream name')
    const km = hs.ext.get(Ext.kmreq)
    let keys: StreamKeys | undefined
    if (this.opts.passphrase && !km) return this.refuse(hs, rinfo, peerKey, Reject.unsecure, 'a passphrase is required')
    if (!this.opts.passphrase && km) return this.refuse(hs, rinfo, peerKey, Reject.unsecure, 'caller encrypts, this listener has no passphrase')
    if (km && this.opts.passphrase) {
      const r = unwrapKeyMaterial(km, this.opts.passphrase)
      if (r === 'bad-secret') return this.refuse(hs, rinfo, peerKey, Reject.badSecret, 'wrong passphrase')
      if (r === 'malformed') return this.refuse(hs, rinfo, peerKey, Reject.rogue, 'unreadable key material')
      if (r.keyLength < (this.opts.minKeyLength ?? 16)) return this.refuse(hs, rinfo, peerKey, Reject.unsecure, `AES-${r.keyLength * 8} is below the configured pbkeylen`)
      keys = r
    }
    if (this.conns.size + [...this.byPeer.values()].filter((v) => v === 'pending').length >= (this.opts.maxConnections ?? 256)) {
      return this.refuse(hs, rinfo, peerKey, 5, 'too many connections')
    }
    this.byPeer.set(peerKey, 'pending')
    // Authorization before the conclusion response: a refused caller never gets a connection.
    const req: PublishRequest = { protocol: 'srt', app: 'live', stream: sid.stream, key: sid.key, remote, role: sid.role }
    let decision: PublishDecision = await this.opts.handler.publish(req)
    // A caller that vanished without SHUTDOWN (cable pulled, encoder restarted) and comes back
    // from the same host takes its stream over at once instead of waiting for the idle timeout.
    // Only an authorised caller may: the handler answers `busy` only to a request it would
    // otherwise accept (keys and hooks are checked first), so a wrong key is refused above
    // and never closes the silent publisher.
    if (!decision.ok && decision.code === 'busy' && !this.closing) {
      const host = remote.slice(0, remote.lastIndexOf(':'))
      // Same role only: the primary and the backup may well come from one host, and a backup
      // reconnecting must never close a primary that merely paused.
      const stale = [...this.conns.values()].filter((c) => c.stream === sid.stream && c.role === sid.role && c.remote.startsWith(`${host}:`) && c.silentMs > TAKEOVER_SILENCE_MS)
      for (const c of stale) c.close('replaced by a reconnecting caller')
      const until = Date.now() + TAKEOVER_BUDGET_MS
      while (stale.length && !decision.ok && decision.code === 'busy' && Date.now() < until && !this.closing) {
        await new Promise((r) => setTimeout(r, 250))
        decision = await this.opts.handler.publish(req)
      }
    }
    if (this.closing) return
    if (!decision.ok) {
      const code = decision.code === 'busy' ? Reject.conflict : decision.code === 'bad-name' ? Reject.badRequest : Reject.forbidden
      return this.refuse(hs, rinfo, peerKey, code, decision.reason)
    }
    this.accept(hs, hsreq.sendDelayMs, hsreq.recvDelayMs, keys, km, req, decision, rinfo, peerKey)
  }

  private accept(hs: Handshake, peerSendDelay: number, peerRecvDelay: number, keys: StreamKeys | undefined, km: Buffer | undefined,
    req: PublishRequest, decision: Extract<PublishDecision, { ok: true }>, rinfo: RemoteInfo, peerKey: string): void {
    const { stream, remote, role } = req
    let socketId = 0
    while (socketId === 0 || this.conns.has(socketId)) socketId = randomBytes(4).readUInt32BE(0) & 0x3fffffff
    // §4.4: the larger of both sides' latency applies; the caller's side is first capped, so
    // no caller makes this listener wait (and buffer) for a minute. HSRSP tells it the result,
    // which libsrt adopts as its sender's drop deadline.
    const maxLatency = this.opts.maxLatencyMs ?? DEFAULT_MAX_LATENCY_MS
    const latencyMs = Math.max(this.opts.latencyMs, Math.min(peerSendDelay, maxLatency))
    const sendDelayMs = Math.max(this.opts.latencyMs, Math.min(peerRecvDelay, maxLatency))
    const mtu = Math.min(hs.mtu, 1500)
    const maxPayload = mtu - IP_UDP_HEADERS - SRT_HEADER
    const maxBufferBytes = this.opts.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES
    // The flow window never promises more packets than the byte bound holds at full size.
    const capacity = Math.max(1, Math.min(this.opts.capacity ?? 8192, hs.flowWindow || 8192, Math.floor(maxBufferBytes / maxPayload)))
    const hsrsp = encodeHsRsp({
      srtVersion: SRT_VERSION,
      flags: SrtFlag.tsbpdSnd | SrtFlag.tsbpdRcv | SrtFlag.crypt | SrtFlag.tlpktDrop | SrtFlag.periodicNak | SrtFlag.rexmit,
      recvDelayMs: latencyMs,
      sendDelayMs,
    })
    const ext: Array<[number, Buffer]> = [[Ext.hsrsp, hsrsp]]
    if (km) ext.push([Ext.kmrsp, km]) // §6.1.5: echoing the KM message means the keys were accepted
    const cif = encodeHandshake({
      ...hs, version: HS_VERSION, encryption: km ? hs.encryption : 0, extensionField: ExtFlag.hsreq | (km ? ExtFlag.kmreq : 0),
      mtu, flowWindow: capacity, type: HsType.conclusion, socketId, peerIp: peerIpField(rinfo.address),
    }, ext)
    const conclusion = controlPacket(Ctrl.handshake, 0, 0, 0, hs.socketId, cif)
    const conn = new SrtConnection({
      socketId, peerSocketId: hs.socketId, remote, isn: hs.isn, latencyMs, capacity, maxPayload, maxBufferBytes, sink: decision.sink,
      logger: this.log.child({ remote, stream }), send: (b) => this.socket.send(b, rinfo.port, rinfo.address), conclusion,
      decryptor: keys ? new PayloadDecryptor(keys) : undefined, passphrase: this.opts.passphrase, audioLanguage: this.opts.audioLanguage,
      idleTimeoutMs: this.opts.idleTimeoutMs ?? 5000,
      onTracks: (tracks) => this.opts.onTracks?.(stream, tracks), stream, role,
      onClosed: (c) => this.forget(c, peerKey),
    })
    this.conns.set(socketId, conn)
    this.byPeer.set(peerKey, conn)
    this.acceptedCount++
    decision.onKick?.(() => conn.close('kicked by the server'))
    if (Math.max(peerSendDelay, peerRecvDelay) > maxLatency) {
      conn.log.warn({ requestedLatencyMs: Math.max(peerSendDelay, peerRecvDelay), latencyMs: Math.max(latencyMs, sendDelayMs), maxLatencyMs: maxLatency }, 'srt: caller latency capped')
    }
    conn.log.info({ latencyMs, encrypted: !!keys, socketId, mtu, role }, 'srt: publishing')
    conn.resendConclusion()
  }

  private forget(c: SrtConnection, peerKey: string): void {
    this.conns.delete(c.socketId)
    this.byPeer.delete(peerKey)
    for (const [k, v] of Object.entries(c.stats)) if (k !== 'rttMs') this.closedTotals[k] = (this.closedTotals[k] ?? 0) + v
  }
}

/** The peer address field: an IPv4 address in the first word, byte-swapped like every libsrt word. */
function peerIpField(address: string): Buffer {
  const b = Buffer.alloc(16)
  const parts = address.split('.').map(Number)
  if (parts.length === 4) for (let i = 0; i < 4; i++) b[3 - i] = parts[i]!
  return b
}
