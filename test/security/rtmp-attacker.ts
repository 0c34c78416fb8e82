/**
 * A deliberately dumb RTMP peer for attack replays: it writes the bytes an attacker
 * would (handshake, Set Chunk Size, crafted chunk headers, Acknowledgements) and only
 * notes what comes back (closed? when? a `_result`?). It never parses replies, so a
 * server bug cannot make the attacker itself fail.
 */
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { encodeAmf0 } from '../../src/formats/amf0.js'

const RESULT = Buffer.from('\x02\x00\x07_result', 'latin1')

/** One raw attacking connection. */
export class Attacker {
  /** When the TCP connection was established and when it closed (ms since epoch). */
  readonly openedAt = Date.now()
  closedAt: number | undefined
  readonly closed: Promise<void>
  private received = Buffer.alloc(0)
  private receivedTotal = 0

  private constructor(readonly socket: Socket) {
    socket.on('error', () => {})
    socket.on('data', (d: Buffer) => {
      this.receivedTotal += d.length
      // Keep only what a `_result` search needs: the handshake reply and a little more.
      if (this.received.length < 8192) this.received = Buffer.concat([this.received, d])
    })
    this.closed = new Promise((resolve) => socket.once('close', () => { this.closedAt = Date.now(); resolve() }))
  }

  /** Connect to 127.0.0.1:port, optionally from another loopback address. */
  static open(port: number, localAddress?: string): Promise<Attacker> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) }, () => resolve(new Attacker(s)))
      s.once('error', reject)
    })
  }

  get isClosed(): boolean {
    return this.closedAt !== undefined
  }

  /** Whether the server answered a connect (its `_result`). */
  get gotResult(): boolean {
    return this.received.includes(RESULT)
  }

  /** Write bytes unless closed; a refused write is the server's right. */
  send(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b)
  }

  /** C0+C1, wait for S0+S1+S2, then C2; false when the server closed first or did not answer in time. */
  async handshake(timeoutMs = 5000): Promise<boolean> {
    this.send(Buffer.concat([Buffer.from([3]), Buffer.alloc(8), randomBytes(1528)]))
    const end = Date.now() + timeoutMs
    while (this.receivedTotal < 3073) {
      if (this.isClosed || Date.now() > end) return false
      await new Promise((r) => setTimeout(r, 10))
    }
    this.send(this.received.subarray(1, 1537))
    return true
  }

  /** Resolves true if closed within `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const r = await Promise.race([this.closed.then(() => true), new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) })])
    clearTimeout(timer)
    return r
  }

  /** Resolves when the server closed the connection or answered a connect, or after `ms`. */
  async closedOrAnswered(ms: number): Promise<void> {
    const end = Date.now() + ms
    while (!this.isClosed && !this.gotResult && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
  }

  /** Close from this side. */
  destroy(): void {
    this.socket.destroy()
  }
}

/** A type 0 chunk header (12 bytes) on `csid` announcing a message of `length` bytes. */
export function chunkHeader(csid: number, typeId: number, length: number, streamId = 0): Buffer {
  const h = Buffer.alloc(12)
  h[0] = csid
  h.writeUIntBE(length, 4, 3)
  h[7] = typeId
  h.writeUInt32LE(streamId, 8)
  return h
}

/** Set Chunk Size message (type 1, csid 2). */
export function setChunkSize(size: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(size >>> 0)
  return Buffer.concat([chunkHeader(2, 1, 4), b])
}

/** A 16-byte Acknowledgement (type 3): what kept the pinned connections of the attack run alive. */
export function acknowledgement(sequence = 0x1000): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(sequence)
  return Buffer.concat([chunkHeader(2, 3, 4), b])
}

/** A small, valid connect command on csid 3. */
export function connectCommand(): Buffer {
  const body = encodeAmf0(['connect', 1, { app: 'live', type: 'nonprivate', tcUrl: 'rtmp://127.0.0.1/live' }])
  return Buffer.concat([chunkHeader(3, 20, body.length), body])
}

/**
 * The connect of the attack run: a command object of `keys` distinct three-byte keys
 * with null values (830,584 of them: 4.98 MB), sent as one chunk after Set Chunk Size.
 */
export function connectBomb(keys = 830_584): Buffer {
  const props = Buffer.alloc(keys * 6)
  for (let i = 0; i < keys; i++) {
    props.writeUInt16BE(3, i * 6)
    props.write(i.toString(36).padStart(3, '0'), i * 6 + 2, 'latin1')
    props[i * 6 + 5] = 0x05
  }
  const body = Buffer.concat([encodeAmf0(['connect', 1]), Buffer.from([0x03]), props, Buffer.from([0, 0, 9])])
  return Buffer.concat([setChunkSize(0xffffff), chunkHeader(3, 20, body.length), body])
}
