/**
 * SRT handshake v5 (draft-sharabayko-srt §3.2.1, §4.3): the 48-byte handshake
 * CIF, its extensions (HSREQ/HSRSP, KMREQ/KMRSP, Stream ID), and the values a
 * listener answers with. Pure.
 */
import { ProtocolError } from '../../errors.js'
import { roleFrom, type InputRole } from '../role.js'

/** Handshake Type values (§3.2.1.1); 1000 + a rejection reason refuses. */
export const HsType = { induction: 1, conclusion: 0xffffffff, waveahand: 0, agreement: 0xfffffffe } as const
/** Extension Field of the induction response: the SRT magic (§3.2.1). */
export const SRT_MAGIC = 0x4a17
/** Extension types (§3.2.1.3). */
export const Ext = { hsreq: 1, hsrsp: 2, kmreq: 3, kmrsp: 4, sid: 5, congestion: 6, filter: 7, group: 8 } as const
/** Extension Field flags of a conclusion (§3.2.1.1). */
export const ExtFlag = { hsreq: 1, kmreq: 2, config: 4 } as const
/** SRT Flags of HSREQ/HSRSP (§3.2.1.1.1). */
export const SrtFlag = { tsbpdSnd: 0x01, tsbpdRcv: 0x02, crypt: 0x04, tlpktDrop: 0x08, periodicNak: 0x10, rexmit: 0x20, stream: 0x40, filter: 0x80 } as const

/** Rejection reasons (§4.3 Table 7) and the predefined extended ones (1000 + HTTP-like status). */
export const Reject = {
  unknown: 0, rogue: 4, close: 7, version: 8, badSecret: 10, unsecure: 11, messageApi: 12,
  badRequest: 1400, unauthorized: 1401, forbidden: 1403, notFound: 1404, badMode: 1405, conflict: 1409, unavailable: 1503,
} as const

/** The fixed part of a handshake (§3.2.1). */
export interface Handshake {
  version: number
  encryption: number
  extensionField: number
  isn: number
  mtu: number
  flowWindow: number
  type: number
  socketId: number
  cookie: number
  peerIp: Buffer
  /** Extension blocks after the fixed part, by type (last one wins). */
  ext: Map<number, Buffer>
}

/** Size of the fixed handshake CIF. */
export const HS_SIZE = 48

/** Decode a handshake CIF; throws ProtocolError when it is malformed. */
export function parseHandshake(cif: Buffer): Handshake {
  if (cif.length < HS_SIZE) throw new ProtocolError('srt', `handshake of ${cif.length} bytes, expected at least ${HS_SIZE}`)
  const hs: Handshake = {
    version: cif.readUInt32BE(0),
    encryption: cif.readUInt16BE(4),
    extensionField: cif.readUInt16BE(6),
    isn: cif.readUInt32BE(8) & 0x7fffffff,
    mtu: cif.readUInt32BE(12),
    flowWindow: cif.readUInt32BE(16),
    type: cif.readUInt32BE(20),
    socketId: cif.readUInt32BE(24),
    cookie: cif.readUInt32BE(28),
    peerIp: cif.subarray(32, 48),
    ext: new Map(),
  }
  for (let at = HS_SIZE; at + 4 <= cif.length;) {
    const type = cif.readUInt16BE(at)
    const len = cif.readUInt16BE(at + 2) * 4
    if (at + 4 + len > cif.length) throw new ProtocolError('srt', `handshake extension ${type} overruns the packet`)
    hs.ext.set(type, cif.subarray(at + 4, at + 4 + len))
    at += 4 + len
  }
  return hs
}

/** Encode a handshake CIF with extension blocks (each padded to whole 32-bit words). */
export function encodeHandshake(hs: Omit<Handshake, 'ext'>, ext: Array<[number, Buffer]> = []): Buffer {
  const b = Buffer.alloc(HS_SIZE)
  b.writeUInt32BE(hs.version >>> 0, 0)
  b.writeUInt16BE(hs.encryption, 4)
  b.writeUInt16BE(hs.extensionField, 6)
  b.writeUInt32BE(hs.isn >>> 0, 8)
  b.writeUInt32BE(hs.mtu >>> 0, 12)
  b.writeUInt32BE(hs.flowWindow >>> 0, 16)
  b.writeUInt32BE(hs.type >>> 0, 20)
  b.writeUInt32BE(hs.socketId >>> 0, 24)
  b.writeUInt32BE(hs.cookie >>> 0, 28)
  hs.peerIp.copy(b, 32, 0, 16)
  const parts = [b]
  for (const [type, body] of ext) {
    const padded = Buffer.alloc(Math.ceil(body.length / 4) * 4)
    body.copy(padded)
    const head = Buffer.alloc(4)
    head.writeUInt16BE(type, 0)
    head.writeUInt16BE(padded.length / 4, 2)
    parts.push(head, padded)
  }
  return Buffer.concat(parts)
}

/** HSREQ/HSRSP body (§3.2.1.1): version, flags, receiver delay (high 16) | sender delay (low 16). */
export interface HsReq {
  srtVersion: number
  flags: number
  recvDelayMs: number
  sendDelayMs: number
}

/** Decode an HSREQ/HSRSP block. */
export function parseHsReq(b: Buffer): HsReq {
  if (b.length < 12) throw new ProtocolError('srt', 'HSREQ shorter than 12 bytes')
  const d = b.readUInt32BE(8)
  return { srtVersion: b.readUInt32BE(0), flags: b.readUInt32BE(4), recvDelayMs: d >>> 16, sendDelayMs: d & 0xffff }
}

/** Encode an HSRSP block. */
export function encodeHsRsp(r: HsReq): Buffer {
  const b = Buffer.alloc(12)
  b.writeUInt32BE(r.srtVersion >>> 0, 0)
  b.writeUInt32BE(r.flags >>> 0, 4)
  b.writeUInt32BE((((r.recvDelayMs & 0xffff) << 16) | (r.sendDelayMs & 0xffff)) >>> 0, 8)
  return b
}

/**
 * §3.2.1.3.3: the Stream ID is a string sent as 32-bit words in little-endian
 * order — libsrt copies the text into words and byte-swaps each word to network
 * order — so every group of 4 characters arrives reversed.
 */
export function decodeStreamIdExt(b: Buffer): string {
  const out = Buffer.alloc(b.length)
  for (let i = 0; i + 4 <= b.length; i += 4) {
    out[i] = b[i + 3]!; out[i + 1] = b[i + 2]!; out[i + 2] = b[i + 1]!; out[i + 3] = b[i]!
  }
  const end = out.indexOf(0)
  return out.toString('utf8', 0, end < 0 ? out.length : end)
}

/** Inverse of decodeStreamIdExt (tests and the bench build caller handshakes with it). */
export function encodeStreamIdExt(s: string): Buffer {
  const text = Buffer.from(s, 'utf8')
  const b = Buffer.alloc(Math.ceil(text.length / 4) * 4)
  text.copy(b)
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE(b.readUInt32BE(i), i)
  return b
}

/** What a streamid asks for. */
export type StreamIdRequest =
  | { ok: true; stream: string; key?: string; role: InputRole }
  | { ok: false; reason: string; mode?: string }

const STREAMID_FORMS = 'streamid must be publish:{stream}:{key}[:{role}] or #!::r={stream},m=publish,s={key}[,role={role}]'

/**
 * Parse a streamid; only publishing is served over SRT. The role (primary when
 * absent) is the fourth field of the `publish:` form and streamd's own `role=` key in
 * the access-control form.
 */
export function parseStreamId(sid: string): StreamIdRequest {
  if (sid.startsWith('#!::')) {
    const fields = new Map<string, string>()
    const roles: string[] = []
    for (const pair of sid.slice(4).split(',')) {
      const eq = pair.indexOf('=')
      if (eq <= 0) continue
      const name = pair.slice(0, eq).trim()
      // Every role value is kept: two that disagree are refused, not settled by position.
      if (name === 'role') roles.push(pair.slice(eq + 1))
      else fields.set(name, pair.slice(eq + 1))
    }
    const mode = fields.get('m') ?? 'request'
    if (mode !== 'publish') return { ok: false, reason: `mode "${mode.slice(0, 16)}" is not served: streamd takes SRT publishers only (m=publish)`, mode }
    const stream = fields.get('r')
    if (!stream) return { ok: false, reason: 'streamid has no resource (r=...)' }
    const role = roleFrom(roles)
    if (!role.ok) return { ok: false, reason: role.reason }
    const key = fields.get('s')
    return key ? { ok: true, stream, key, role: role.role } : { ok: true, stream, role: role.role }
  }
  const parts = sid.split(':')
  if (parts[0] === 'publish' && parts.length >= 2 && parts.length <= 4 && parts[1]) {
    const role = roleFrom(parts.length === 4 ? [parts[3]!] : [])
    if (!role.ok) return { ok: false, reason: role.reason }
    return parts[2] ? { ok: true, stream: parts[1], key: parts[2], role: role.role } : { ok: true, stream: parts[1], role: role.role }
  }
  if (parts[0] === 'read' || parts[0] === 'request' || parts[0] === 'play') return { ok: false, reason: 'playback over SRT is not served; use HLS', mode: parts[0] }
  return { ok: false, reason: STREAMID_FORMS }
}
