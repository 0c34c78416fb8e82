/**
 * A node:http GET that records when the first body byte and the end arrived
 * (performance.now(), comparable with the stub origin's clock), and never
 * throws: a cut or failed response comes back with `error`.
 */
import http from 'node:http'

/** One response as a client saw it. */
export interface ClientResult {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  /** The body's bytes as received (not decoded). */
  bytes: Buffer
  startAt: number
  firstByteAt: number
  doneAt: number
  error: string | undefined
}

/** GET `url` on a fresh connection; `abortAfterFirstByte` hangs up once a body byte arrived. */
export function shieldGet(url: string, o: { abortAfterFirstByte?: boolean; timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<ClientResult> {
  return new Promise((resolve) => {
    const startAt = performance.now()
    const out: ClientResult = { status: 0, headers: {}, body: '', bytes: Buffer.alloc(0), startAt, firstByteAt: 0, doneAt: 0, error: undefined }
    let settled = false
    const done = (error?: string): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      out.doneAt = performance.now()
      out.bytes = Buffer.concat(chunks)
      out.error = error
      resolve(out)
    }
    const timer = setTimeout(() => {
      req.destroy()
      done('client timeout')
    }, o.timeoutMs ?? 15_000)
    const chunks: Buffer[] = []
    const req = http.get(url, { agent: false, headers: o.headers }, (res) => {
      out.status = res.statusCode ?? 0
      out.headers = res.headers
      res.on('data', (c: Buffer) => {
        if (out.firstByteAt === 0) out.firstByteAt = performance.now()
        chunks.push(c)
        if (o.abortAfterFirstByte) {
          req.destroy()
          out.body = Buffer.concat(chunks).toString()
          done('aborted by client')
        }
      })
      res.on('end', () => {
        out.body = Buffer.concat(chunks).toString()
        done(res.complete ? undefined : 'incomplete')
      })
      res.on('aborted', () => done('server cut the response'))
      res.on('error', (e) => done(e.message))
      res.on('close', () => {
        out.body = Buffer.concat(chunks).toString()
        done(res.complete ? undefined : 'closed before the end')
      })
    })
    req.on('error', (e) => done(e.message))
  })
}
