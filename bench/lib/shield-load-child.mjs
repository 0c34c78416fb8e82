/**
 * The 1,000-client burst of bench/shield, as its own process: open N sockets to
 * the shield, then write one GET for the same path on all of them at once, and
 * record for each the time to the first body byte and to the last (from the
 * moment the requests were written). Prints one JSON line.
 *
 * The client is the floor every shield's numbers sit on, so it does as little as
 * it can per byte: reads land in one shared 1 MiB buffer (`onread`: no buffer
 * allocated per read, fewer reads per body), body bytes are counted, never kept
 * or concatenated, only the response head is parsed, and Nagle is off.
 * usage: node shield-load-child.mjs PORT PATH N [TIMEOUT_MS]
 */
import { connect } from 'node:net'

const [port, path, n, timeoutArg] = process.argv.slice(2)
const N = Number(n)
const TIMEOUT = Number(timeoutArg ?? 20_000)
// One buffer for every socket: each read is handled before the next one can land.
const READ_BUFFER = Buffer.allocUnsafe(1024 * 1024)
const CRLF2 = Buffer.from('\r\n\r\n')

/** @typedef {{ status: number, ttfb: number, ttlb: number, error: string | undefined, onread: (nread: number, buf: Uint8Array) => void }} Result */
/** @type {Result[]} */
const results = []
const sockets = await Promise.all(Array.from({ length: N }, () => new Promise((resolve) => {
  /** @type {Result} */
  const r = { status: 0, ttfb: NaN, ttlb: NaN, error: undefined, onread: () => {} }
  results.push(r)
  const s = connect({ port: Number(port), host: '127.0.0.1', noDelay: true, onread: { buffer: READ_BUFFER, callback: (nread, buf) => { r.onread(nread, buf); return true } } }, () => resolve({ s, r }))
  s.on('error', () => resolve({ s, r }))
})))
const t0 = performance.now()
await Promise.all(sockets.map(({ s, r }) => new Promise((/** @type {(v?: unknown) => void} */ resolve) => {
  let head = null // bytes of the response head until its end is seen
  let headerDone = false
  let body = 0
  let length = -1
  const timer = setTimeout(() => finish('timeout'), TIMEOUT)
  const finish = (error) => {
    clearTimeout(timer)
    if (error && Number.isNaN(r.ttlb)) r.error = error
    s.destroy()
    resolve()
  }
  r.onread = (nread, buf) => {
    let bytes = nread
    if (!headerDone) {
      head = head === null ? Buffer.from(buf.subarray(0, nread)) : Buffer.concat([head, buf.subarray(0, nread)])
      const end = head.indexOf(CRLF2)
      if (end < 0) return
      const text = head.subarray(0, end).toString('latin1')
      r.status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0)
      length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1] ?? -1)
      bytes = head.length - end - 4
      head = null
      headerDone = true
    }
    body += bytes
    if (bytes > 0 && Number.isNaN(r.ttfb)) r.ttfb = performance.now() - t0
    if (length >= 0 && body >= length) {
      r.ttlb = performance.now() - t0
      finish()
    }
  }
  // Without Content-Length the body ends with the connection (Connection: close).
  s.on('end', () => {
    if (headerDone && length < 0 && Number.isNaN(r.ttlb)) r.ttlb = performance.now() - t0
    finish('closed early')
  })
  s.on('close', () => finish('closed early'))
  s.on('error', (e) => finish(e.code ?? e.message))
  s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
})))
const statuses = {}
for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1
console.log(JSON.stringify({
  statuses,
  errors: results.filter((r) => r.error).length,
  ttfb: results.map((r) => r.ttfb).filter(Number.isFinite),
  ttlb: results.map((r) => r.ttlb).filter(Number.isFinite),
}))
