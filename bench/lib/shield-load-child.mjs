/**
 * The 1,000-client burst of bench/shield, as its own process: open N sockets to
 * the shield, then write one GET for the same path on all of them at once, and
 * record for each the time to the first body byte and to the last (from the
 * moment the requests were written). Prints one JSON line.
 * usage: node shield-load-child.mjs PORT PATH N [TIMEOUT_MS]
 */
import { connect } from 'node:net'

const [port, path, n, timeoutArg] = process.argv.slice(2)
const N = Number(n)
const TIMEOUT = Number(timeoutArg ?? 20_000)

const sockets = await Promise.all(Array.from({ length: N }, () => new Promise((resolve) => {
  const s = connect(Number(port), '127.0.0.1', () => resolve(s))
  s.on('error', () => resolve(s))
})))
const results = []
const t0 = performance.now()
await Promise.all(sockets.map((s) => new Promise((resolve) => {
  const r = { status: 0, ttfb: NaN, ttlb: NaN, error: undefined }
  results.push(r)
  let buf = Buffer.alloc(0)
  let headerEnd = -1
  let length = -1
  const timer = setTimeout(() => finish('timeout'), TIMEOUT)
  const finish = (error) => {
    clearTimeout(timer)
    if (error && Number.isNaN(r.ttlb)) r.error = error
    s.destroy()
    resolve()
  }
  s.on('data', (d) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d])
    if (headerEnd < 0) {
      headerEnd = buf.indexOf('\r\n\r\n')
      if (headerEnd < 0) return
      const head = buf.subarray(0, headerEnd).toString('latin1')
      r.status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0)
      length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? -1)
    }
    const bodyBytes = buf.length - headerEnd - 4
    if (bodyBytes > 0 && Number.isNaN(r.ttfb)) r.ttfb = performance.now() - t0
    if (length >= 0 && bodyBytes >= length) {
      r.ttlb = performance.now() - t0
      finish()
    }
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
