/**
 * Remote-address helpers shared by ingest decisions (core/) and the API (http/):
 * both ask "is this peer on this machine?", so both must answer it the same way.
 */
import { isIP } from 'node:net'

/** The host part of `ip:port`, `[v6]:port` or a bare address. */
export function hostOf(remote: string): string {
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(remote)
  if (bracket) return bracket[1]!
  if (isIP(remote)) return remote
  const colon = remote.lastIndexOf(':')
  return colon > 0 ? remote.slice(0, colon) : remote
}

/** The eight 16-bit groups of an IPv6 address (uWS writes them uncompressed, Node compressed). */
function groups6(host: string): number[] | undefined {
  let text = host
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4) {
    const b = v4[1]!.split('.').map(Number)
    text = text.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const a = head ? head.split(':') : []
  const b = tail !== undefined && tail ? tail.split(':') : []
  const fill = tail !== undefined ? 8 - a.length - b.length : 0
  const all = [...a, ...Array<string>(Math.max(0, fill)).fill('0'), ...b].map((g) => parseInt(g, 16))
  return all.length === 8 && all.every((g) => g >= 0 && g <= 0xffff) ? all : undefined
}

/** True for 127.0.0.0/8, ::1 and 127.0.0.0/8 mapped into IPv6 (::ffff:127.x.y.z). */
export function isLoopback(remote: string): boolean {
  const host = hostOf(remote)
  const kind = isIP(host)
  if (kind === 4) return host.startsWith('127.')
  if (kind !== 6) return false
  const g = groups6(host)
  if (!g) return false
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return true
  return g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff && g[6]! >> 8 === 127
}
