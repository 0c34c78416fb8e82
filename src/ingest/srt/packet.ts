/**
 * SRT packet layout (draft-sharabayko-srt §3): the 16-byte header shared by
 * data and control packets, control types, and builders for the control
 * packets a receiver sends. All fields are network byte order.
 */

/** Control packet types (§3.2). */
export const Ctrl = {
  handshake: 0,
  keepalive: 1,
  ack: 2,
  nak: 3,
  congestion: 4,
  shutdown: 5,
  ackack: 6,
  dropreq: 7,
  peerError: 8,
  user: 0x7fff,
} as const

/** Subtypes of the user-defined control type that carry SRT extensions (§3.2.2). */
export const UserSub = { kmreq: 3, kmrsp: 4 } as const

/** Size of the packet header. */
export const HEADER_SIZE = 16
/** Sequence numbers are 31 bits (§3.1). */
export const SEQ_MODULO = 0x80000000

/** A decoded data packet (§3.1). */
export interface DataPacket {
  control: false
  seq: number
  /** Encryption key flags: 0 clear, 1 even key, 2 odd key. */
  kk: number
  /** Retransmitted flag. */
  retransmitted: boolean
  timestamp: number
  dest: number
  payload: Buffer
}

/** A decoded control packet (§3.2). */
export interface ControlPacket {
  control: true
  type: number
  subtype: number
  /** Type-specific information (ACK number for ACK/ACKACK). */
  info: number
  timestamp: number
  dest: number
  cif: Buffer
}

/** Decode a datagram's header; undefined for anything shorter than a header. */
export function parsePacket(b: Buffer): DataPacket | ControlPacket | undefined {
  if (b.length < HEADER_SIZE) return undefined
  const w0 = b.readUInt32BE(0)
  const w1 = b.readUInt32BE(4)
  const timestamp = b.readUInt32BE(8)
  const dest = b.readUInt32BE(12)
  if (w0 & 0x80000000) {
    return { control: true, type: (w0 >>> 16) & 0x7fff, subtype: w0 & 0xffff, info: w1, timestamp, dest, cif: b.subarray(HEADER_SIZE) }
  }
  // §3.1: PP(2) O(1) KK(2) R(1) Message Number(26).
  return { control: false, seq: w0, kk: (w1 >>> 27) & 0x03, retransmitted: ((w1 >>> 26) & 1) === 1, timestamp, dest, payload: b.subarray(HEADER_SIZE) }
}

/** Build a control packet. */
export function controlPacket(type: number, subtype: number, info: number, timestamp: number, dest: number, cif: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(HEADER_SIZE + cif.length)
  b.writeUInt32BE((0x80000000 | ((type & 0x7fff) << 16) | (subtype & 0xffff)) >>> 0, 0)
  b.writeUInt32BE(info >>> 0, 4)
  b.writeUInt32BE(timestamp >>> 0, 8)
  b.writeUInt32BE(dest >>> 0, 12)
  cif.copy(b, HEADER_SIZE)
  return b
}

/** Build a data packet (tests and the bench's relay use it; the receiver never sends data). */
export function dataPacket(seq: number, msgno: number, timestamp: number, dest: number, payload: Buffer, kk = 0): Buffer {
  const b = Buffer.alloc(HEADER_SIZE + payload.length)
  b.writeUInt32BE(seq & 0x7fffffff, 0)
  // PP = 11 (solo packet), in-order flag off.
  b.writeUInt32BE(((0b11 << 30) | ((kk & 3) << 27) | (msgno & 0x3ffffff)) >>> 0, 4)
  b.writeUInt32BE(timestamp >>> 0, 8)
  b.writeUInt32BE(dest >>> 0, 12)
  payload.copy(b, HEADER_SIZE)
  return b
}

/** a − b on the 31-bit sequence circle, in [−2^30, 2^30). */
export function seqDiff(a: number, b: number): number {
  let d = (a - b) % SEQ_MODULO
  if (d >= SEQ_MODULO / 2) d -= SEQ_MODULO
  else if (d < -SEQ_MODULO / 2) d += SEQ_MODULO
  return d
}

/** s + n on the sequence circle. */
export function seqAdd(s: number, n: number): number {
  return (((s + n) % SEQ_MODULO) + SEQ_MODULO) % SEQ_MODULO
}

/** The ACK CIF (§3.2.4): last acknowledged sequence, RTT, variance, buffer, rates. */
export function ackCif(f: { ackSeq: number; rttUs: number; rttVarUs: number; availableBuffer: number; packetsPerSecond: number; linkCapacity: number; bytesPerSecond: number }): Buffer {
  const b = Buffer.alloc(28)
  b.writeUInt32BE(f.ackSeq >>> 0, 0)
  b.writeUInt32BE(Math.max(0, Math.round(f.rttUs)) >>> 0, 4)
  b.writeUInt32BE(Math.max(0, Math.round(f.rttVarUs)) >>> 0, 8)
  b.writeUInt32BE(Math.max(2, f.availableBuffer) >>> 0, 12)
  b.writeUInt32BE(Math.max(0, Math.round(f.packetsPerSecond)) >>> 0, 16)
  b.writeUInt32BE(Math.max(0, Math.round(f.linkCapacity)) >>> 0, 20)
  b.writeUInt32BE(Math.max(0, Math.round(f.bytesPerSecond)) >>> 0, 24)
  return b
}

/** §3.2.5 loss list: a single lost number as is; a range as first|0x80000000, last. */
export function nakCif(ranges: Array<[number, number]>): Buffer {
  const words: number[] = []
  for (const [a, b] of ranges) {
    if (a === b) words.push(a)
    else words.push((a | 0x80000000) >>> 0, b)
  }
  const out = Buffer.alloc(words.length * 4)
  words.forEach((w, i) => out.writeUInt32BE(w >>> 0, i * 4))
  return out
}
