/**
 * Raw HTTP/1.1 over a fresh socket that records when the first and last
 * response bytes arrived: LL-HLS rules are about when bytes may be sent.
 */
import { connect } from 'node:net'
import { gunzipSync } from 'node:zlib'

/** A raw HTTP/1.1 exchange with the time each byte arrived. */
export interface TimedResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
  /** Date.now() when the first response byte arrived. */
  firstByteAt: number
  /** Date.now() when the last body byte arrived. */
  lastByteAt: number
  sentAt: number
}

/**
 * Send one GET over a fresh socket and read one response with a Content-Length
 * (or chunked) body; resolves with byte arrival times. Rejects on timeout.
 */
export function timedGet(port: number, path: string, headers: Record<string, string> = {}, timeoutMs = 15_000, method = 'GET'): Promise<TimedResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    let firstByteAt = 0
    let done = false
    const sentAt = Date.now()
    const timer = setTimeout(() => finish(new Error(`no complete response to ${path} within ${timeoutMs} ms`)), timeoutMs)
    const finish = (err?: Error, res?: TimedResponse): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.destroy()
      if (err) reject(err)
      else resolve(res!)
    }
    const tryParse = (closed: boolean): void => {
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) return closed ? finish(new Error(`connection closed before headers (${path})`)) : undefined
      const head = buf.subarray(0, end).toString('latin1').split('\r\n')
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0)
      const hs: Record<string, string> = {}
      for (const h of head.slice(1)) {
        const i = h.indexOf(':')
        if (i > 0) hs[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim()
      }
      const rest = buf.subarray(end + 4)
      const res = (body: Buffer): TimedResponse => ({ status, headers: hs, body, firstByteAt, lastByteAt: Date.now(), sentAt })
      if (method === 'HEAD' || status === 304 || status === 204) return finish(undefined, res(Buffer.alloc(0)))
      if (hs['content-length'] !== undefined) {
        const len = Number(hs['content-length'])
        if (rest.length >= len) finish(undefined, res(rest.subarray(0, len)))
        else if (closed) finish(new Error(`closed after ${rest.length} of ${len} body bytes (${path})`))
        return
      }
      if (/chunked/i.test(hs['transfer-encoding'] ?? '')) {
        const chunks: Buffer[] = []
        let off = 0
        for (;;) {
          const lineEnd = rest.indexOf('\r\n', off)
          if (lineEnd < 0) break
          const size = parseInt(rest.subarray(off, lineEnd).toString('latin1'), 16)
          if (size === 0) return finish(undefined, res(Buffer.concat(chunks)))
          if (rest.length < lineEnd + 2 + size + 2) break
          chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size))
          off = lineEnd + 2 + size + 2
        }
        if (closed) finish(new Error(`closed inside a chunked body (${path})`))
        return
      }
      if (closed) finish(undefined, res(rest))
    }
    sock.on('data', (d: Buffer) => {
      if (firstByteAt === 0) firstByteAt = Date.now()
      buf = Buffer.concat([buf, d])
      tryParse(false)
    })
    sock.on('end', () => tryParse(true))
    sock.on('error', (e) => finish(e))
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    sock.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`)
  })
}

/** Body text of a response, gunzipped when it says Content-Encoding: gzip. */
export function bodyText(r: TimedResponse): string {
  return (r.headers['content-encoding'] === 'gzip' ? gunzipSync(r.body) : r.body).toString('utf8')
}
