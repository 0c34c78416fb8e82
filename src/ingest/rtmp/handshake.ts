/**
 * Server side of the plain RTMP handshake (Adobe RTMP 1.0 §5.2). FFmpeg and OBS
 * accept it; the digest ("complex") handshake only matters to Flash players,
 * which streamd does not serve.
 */
import { randomBytes } from 'node:crypto'
import { ProtocolError } from '../../errors.js'

/** Size of C1/S1/C2/S2. */
export const HANDSHAKE_SIZE = 1536
/** §5.2.2: the only version this server speaks. */
export const RTMP_VERSION = 3

/** What one `push` produced: bytes to send, and whether the handshake is over. */
export interface HandshakeStep {
  /** S0+S1+S2 once C0+C1 are in; empty otherwise. */
  reply?: Buffer
  /** True once C2 was read; `rest` then holds bytes that already belong to chunks. */
  done: boolean
  rest?: Buffer
}

/** Incremental handshake: feed every received byte until `done`. */
export class ServerHandshake {
  private buf: Buffer = Buffer.alloc(0)
  private state: 'c0c1' | 'c2' | 'done' = 'c0c1'

  /** Consume bytes; throws ProtocolError on a version other than 3. */
  push(data: Buffer): HandshakeStep {
    if (this.state === 'done') return { done: true, rest: data }
    // Never more than C0+C1 (1537 bytes) plus one socket read is held here.
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data
    const step: HandshakeStep = { done: false }
    if (this.state === 'c0c1') {
      if (this.buf.length < 1) return step
      const version = this.buf[0] as number
      // §5.2.2: 6 would be RTMPE (encrypted); anything but 3 is refused.
      if (version !== RTMP_VERSION) throw new ProtocolError('rtmp', `unsupported handshake version ${version}`)
      if (this.buf.length < 1 + HANDSHAKE_SIZE) return step
      const c1 = this.buf.subarray(1, 1 + HANDSHAKE_SIZE)
      step.reply = serverReply(c1)
      this.buf = this.buf.subarray(1 + HANDSHAKE_SIZE)
      this.state = 'c2'
    }
    if (this.state === 'c2' && this.buf.length >= HANDSHAKE_SIZE) {
      // C2 content is not checked: clients differ in what they echo, and a wrong
      // echo proves nothing about the client's intent.
      const rest = this.buf.subarray(HANDSHAKE_SIZE)
      this.buf = Buffer.alloc(0)
      this.state = 'done'
      step.done = true
      step.rest = Buffer.from(rest)
    }
    return step
  }
}

/** S0 + S1 + S2 for a given C1. */
export function serverReply(c1: Buffer): Buffer {
  const out = Buffer.alloc(1 + 2 * HANDSHAKE_SIZE)
  out[0] = RTMP_VERSION
  // S1: time (4 bytes), zero (4 bytes), random (1528 bytes).
  out.writeUInt32BE(0, 1)
  out.writeUInt32BE(0, 5)
  randomBytes(HANDSHAKE_SIZE - 8).copy(out, 9)
  // S2 echoes C1 byte for byte: librtmp compares the whole echo against what it
  // sent and warns on any difference, including the time2 field.
  c1.copy(out, 1 + HANDSHAKE_SIZE)
  return out
}
