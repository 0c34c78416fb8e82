/**
 * A hand-built SRT caller for tests and attack replays: one UDP socket that does the
 * HSv5 induction and conclusion (draft-sharabayko-srt §4.3.1) with whatever HSREQ,
 * Stream ID, MTU or key material the test wants, then sends data packets. It speaks
 * only as much SRT as a test needs: no ARQ, no TSBPD.
 */
import { createSocket, type Socket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { Ctrl, controlPacket, dataPacket, parsePacket, type ControlPacket } from '../../src/ingest/srt/packet.js'
import { Ext, ExtFlag, HsType, SrtFlag, encodeHandshake, encodeHsRsp, encodeStreamIdExt, parseHandshake, parseHsReq, type Handshake, type HsReq } from '../../src/ingest/srt/handshake.js'

/** What a conclusion carries; every field has a libsrt-like default. */
export interface ConclusionOptions {
  streamid: string
  /** Sender latency the caller asks for (HSREQ low 16 bits), ms. */
  latencyMs?: number
  mtu?: number
  flowWindow?: number
  /** A KMREQ body (key material); none by default. */
  km?: Buffer
  /** Replace the HSREQ body (e.g. a truncated one); null leaves it out. */
  hsreq?: Buffer | null
  /** Caller socket id; a fresh random one by default. */
  socketId?: number
}

/** The listener's answer to a conclusion. */
export interface ConclusionAnswer {
  hs: Handshake
  /** True when the type is the conclusion (accepted); else `rejection` holds type − 1000. */
  accepted: boolean
  rejection?: number
  hsrsp?: HsReq
  /** The caller socket id this conclusion used. */
  callerSocketId: number
}

/** HSREQ body as libsrt 1.5 sends it in live mode. */
export function hsreqBody(latencyMs: number): Buffer {
  const flags = SrtFlag.tsbpdSnd | SrtFlag.tsbpdRcv | SrtFlag.tlpktDrop | SrtFlag.periodicNak | SrtFlag.rexmit
  return encodeHsRsp({ srtVersion: 0x010500, flags, recvDelayMs: latencyMs, sendDelayMs: latencyMs })
}

/** A KM message well formed for AES-128 whose wrapped keys no passphrase unwraps. */
export function bogusKeyMaterial(): Buffer {
  const head = Buffer.from([0x12, 0x20, 0x29, 0x01, 0, 0, 0, 0, 2, 0, 2, 0, 0, 0, 4, 4])
  return Buffer.concat([head, randomBytes(16), randomBytes(24)])
}

/** One caller socket on 127.0.0.1. */
export class SrtCaller {
  private readonly waiting: Array<{ pred: (p: ControlPacket) => boolean; resolve: (p: ControlPacket) => void }> = []
  private cookie = 0
  /** Control packets received, in order (bounded). */
  readonly received: ControlPacket[] = []

  private constructor(readonly sock: Socket, readonly port: number) {
    sock.on('message', (msg) => {
      const p = parsePacket(msg)
      if (!p || !p.control) return
      if (this.received.length < 10_000) this.received.push(p)
      const i = this.waiting.findIndex((w) => w.pred(p))
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(p)
    })
  }

  /** Bind a caller socket aimed at a listener on `port`. */
  static async open(port: number): Promise<SrtCaller> {
    const sock = createSocket('udp4')
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()))
    return new SrtCaller(sock, port)
  }

  /** Our own `ip:port`, as the listener sees it. */
  get remote(): string {
    return `127.0.0.1:${this.sock.address().port}`
  }

  /** Send raw bytes to the listener. */
  send(b: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.sock.send(b, this.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())))
  }

  /** Next control packet matching `pred`, or undefined after `timeoutMs`. */
  next(pred: (p: ControlPacket) => boolean, timeoutMs = 2000): Promise<ControlPacket | undefined> {
    return new Promise((resolve) => {
      const entry = { pred, resolve: (p: ControlPacket | undefined) => { clearTimeout(timer); resolve(p) } }
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(entry)
        if (i >= 0) this.waiting.splice(i, 1)
        resolve(undefined)
      }, timeoutMs)
      this.waiting.push(entry)
    })
  }

  /** §4.3.1.1 induction: learn the cookie for this address. */
  async induction(): Promise<number> {
    const socketId = randomBytes(4).readUInt32BE(0) & 0x3fffffff
    const hs = { version: 4, encryption: 0, extensionField: 2, isn: 1, mtu: 1500, flowWindow: 8192, type: HsType.induction, socketId, cookie: 0, peerIp: Buffer.alloc(16) }
    const answer = this.next((p) => p.type === Ctrl.handshake && p.dest === socketId)
    await this.send(controlPacket(Ctrl.handshake, 0, 0, 0, 0, encodeHandshake(hs)))
    const p = await answer
    if (!p) throw new Error('no induction response')
    this.cookie = parseHandshake(p.cif).cookie
    return this.cookie
  }

  /** The conclusion packet for `o` (with the cookie learnt at induction). */
  conclusionPacket(o: ConclusionOptions): { packet: Buffer; socketId: number } {
    const socketId = o.socketId ?? (randomBytes(4).readUInt32BE(0) & 0x3fffffff)
    const ext: Array<[number, Buffer]> = []
    const hsreq = o.hsreq === undefined ? hsreqBody(o.latencyMs ?? 120) : o.hsreq
    if (hsreq) ext.push([Ext.hsreq, hsreq])
    if (o.km) ext.push([Ext.kmreq, o.km])
    ext.push([Ext.sid, encodeStreamIdExt(o.streamid)])
    const cif = encodeHandshake({
      version: 5, encryption: o.km ? 2 : 0, extensionField: ExtFlag.hsreq | ExtFlag.config | (o.km ? ExtFlag.kmreq : 0), isn: 1000,
      mtu: o.mtu ?? 1500, flowWindow: o.flowWindow ?? 8192, type: HsType.conclusion, socketId, cookie: this.cookie, peerIp: Buffer.alloc(16),
    }, ext)
    return { packet: controlPacket(Ctrl.handshake, 0, 0, 0, 0, cif), socketId }
  }

  /** Send a conclusion and wait for the listener's answer (undefined: none within `timeoutMs`). */
  async conclude(o: ConclusionOptions, timeoutMs = 2000): Promise<ConclusionAnswer | undefined> {
    const { packet, socketId } = this.conclusionPacket(o)
    const answer = this.next((p) => p.type === Ctrl.handshake && p.dest === socketId, timeoutMs)
    await this.send(packet)
    const p = await answer
    if (!p) return undefined
    const hs = parseHandshake(p.cif)
    const accepted = hs.type === HsType.conclusion
    const rsp = hs.ext.get(Ext.hsrsp)
    return { hs, accepted, rejection: accepted ? undefined : hs.type - 1000, hsrsp: rsp ? parseHsReq(rsp) : undefined, callerSocketId: socketId }
  }

  /** A data packet to the listener's socket `dest`. */
  data(seq: number, dest: number, payload: Buffer): Promise<void> {
    return this.send(dataPacket(seq, seq, 0, dest, payload))
  }

  /** Close the socket. */
  close(): void {
    try { this.sock.close() } catch { /* already closed */ }
  }
}
