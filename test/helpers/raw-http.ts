/**
 * Raw HTTP/1.1 over a socket, for requests fetch() would normalise or refuse
 * (dot segments, huge URLs, garbage bytes).
 */
import { connect } from 'node:net'

/** Send `raw` bytes, return what came back (status line parsed) when the server answers or closes. */
export function rawRequest(port: number, raw: string | Buffer, timeoutMs = 5000): Promise<{ status: number; text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1')
    let data = ''
    let done = false
    const finish = (closed: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.destroy()
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data)
      resolve({ status: m ? Number(m[1]) : 0, text: data, closed })
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    sock.on('data', (d) => {
      data += d.toString('latin1')
      // One full response is enough (headers plus a Content-Length body).
      const end = data.indexOf('\r\n\r\n')
      const len = /content-length: (\d+)/i.exec(data)
      if (end >= 0 && len && data.length >= end + 4 + Number(len[1])) finish(false)
    })
    sock.on('close', () => finish(true))
    sock.on('error', () => finish(true))
    sock.write(raw)
  })
}

/** A GET request line + minimal headers for `path`. */
export function getRequest(path: string, headers: Record<string, string> = {}): string {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`
}

/** What came back for a request followed by a second one on the same connection. */
export interface KeepAliveExchange {
  /** Status of the first response (0 when none came). */
  status: number
  /** The first response's header block, up to and including the blank line. */
  head: string
  /** Its headers, names lower-cased. */
  headers: Record<string, string>
  /** Every byte after that header block: for a HEAD, the second response's status line must come first. */
  after: string
  /** Status of the second response (0 when none came). */
  secondStatus: number
  /** True when the server closed the connection. */
  closed: boolean
}

/**
 * Send `first`; once its header block has arrived, send `second` on the same
 * keep-alive connection and read until the second response is complete (headers
 * and a Content-Length body), the server closes, or `timeoutMs` passes. For a HEAD
 * `first`, any body byte the server wrongly sent lands in `after` before the
 * second status line.
 */
export function keepAliveExchange(port: number, first: string, second: string, timeoutMs = 15_000): Promise<KeepAliveExchange> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1')
    let data = ''
    let headEnd = -1
    let done = false
    const finish = (closed: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.destroy()
      const head = headEnd >= 0 ? data.slice(0, headEnd) : ''
      const headers: Record<string, string> = {}
      for (const line of head.split('\r\n').slice(1)) {
        const c = line.indexOf(':')
        if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim()
      }
      const after = headEnd >= 0 ? data.slice(headEnd) : ''
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0),
        head, headers, after,
        secondStatus: Number(/^HTTP\/1\.1 (\d{3})/.exec(after)?.[1] ?? 0),
        closed,
      })
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    sock.on('data', (d) => {
      data += d.toString('latin1')
      if (headEnd < 0) {
        const i = data.indexOf('\r\n\r\n')
        if (i < 0) return
        headEnd = i + 4
        sock.write(second)
      }
      const after = data.slice(headEnd)
      const end = after.indexOf('\r\n\r\n')
      const len = /content-length: (\d+)/i.exec(after.slice(0, end))
      if (end >= 0 && len && after.length >= end + 4 + Number(len[1])) finish(false)
    })
    sock.on('close', () => finish(true))
    sock.on('error', () => finish(true))
    sock.write(first)
  })
}

/** A request line + minimal headers for `path` with any method. */
export function request(method: string, path: string, headers: Record<string, string> = {}): string {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`
}
