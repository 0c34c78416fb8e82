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
