/**
 * What an RTMP peer may make the server do before its publish is accepted. No
 * key is needed to open a connection, so everything before that point is kept
 * small and short-lived: message sizes, buffered bytes, messages, time, and the
 * number of such connections per address and in total.
 */
import { ProtocolError } from '../../errors.js'

/** Limits of the RTMP listener; config keys `rtmp.*` of the same names. */
export interface RtmpLimits {
  /** Largest message accepted before a publish is accepted (commands: FFmpeg's connect is ~140 bytes). */
  maxCommandBytes: number
  /** Largest message accepted from a publisher whose publish was accepted (a key frame). */
  maxMessageBytes: number
  /** A connection that has not sent its publish command this long after it opened is closed (the decision on it has its own bound). */
  publishTimeoutMs: number
  /** Connections not yet publishing, in total; more are refused when they open. */
  maxPendingConnections: number
  /** Connections not yet publishing from one IPv4 address or IPv6 /64. */
  maxPendingPerAddress: number
}

/** Defaults: far above what OBS, FFmpeg and GStreamer need, far below what hurts. */
export const DEFAULT_RTMP_LIMITS: RtmpLimits = {
  maxCommandBytes: 64 * 1024,
  // A 4K key frame at a high bitrate is a few MB; RTMP's 24-bit length caps a message at 16 MiB − 1.
  maxMessageBytes: 8 * 1024 * 1024,
  publishTimeoutMs: 10_000,
  maxPendingConnections: 128,
  maxPendingPerAddress: 16,
}

/** Messages (of any type) a peer may send before it asks to publish; FFmpeg sends 6. */
export const MAX_MESSAGES_BEFORE_PUBLISH = 100

const limitErrors = new WeakSet<object>()

/**
 * A ProtocolError for a peer past one of these limits. Unlike other protocol
 * errors, such refusals of connections that never published are logged
 * rate-limited per address, since a stranger can provoke them as fast as it can
 * open connections. (A mark, not a subclass: callers keep matching ProtocolError.)
 */
export function limitError(message: string): ProtocolError {
  const err = new ProtocolError('rtmp', message)
  limitErrors.add(err)
  return err
}

/** True for an error made by limitError. */
export function isLimitError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && limitErrors.has(err)
}

/**
 * The address a socket peer is counted and logged under: an IPv4 address, or the
 * /64 prefix of an IPv6 one (`2001:db8:1:2::/64`), since one IPv6 host usually
 * holds a whole /64 and could otherwise open every connection from a new address.
 */
export function peerAddress(addr: string | undefined): string {
  if (!addr) return 'unknown'
  // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; it is one address either way.
  if (addr.startsWith('::ffff:') && addr.includes('.')) return addr.slice(7)
  if (!addr.includes(':')) return addr
  const [head = '', tail] = addr.split('%')[0]!.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  if (groups.length !== 8) return addr
  return `${groups.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16)).join(':')}::/64`
}
