/**
 * The counting stub origin of bench/shield, as its own process: every GET gets a
 * body of --bytes trickled in 10 pieces over --trickle-ms (an origin still
 * producing a part), with Cache-Control max-age=60. GET /__count?p=PATH tells how
 * many requests PATH got. Prints {"port":N} when ready.
 */
import { createServer } from 'node:http'

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : def
}
const BYTES = arg('bytes', 200_000)
const TRICKLE = arg('trickle-ms', 300)
const PIECES = 10
const body = Buffer.alloc(BYTES, 'm')
const counts = new Map()

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x')
  if (url.pathname === '/__count') {
    res.writeHead(200, { 'Content-Type': 'application/json' })
    return res.end(JSON.stringify({ count: counts.get(url.searchParams.get('p')) ?? 0 }))
  }
  if (url.pathname === '/healthz') return res.end('ok')
  counts.set(url.pathname, (counts.get(url.pathname) ?? 0) + 1)
  res.writeHead(200, { 'Content-Type': 'video/iso.segment', 'Cache-Control': 'public, max-age=60', 'Content-Length': String(BYTES) })
  res.flushHeaders()
  const step = Math.ceil(BYTES / PIECES)
  let i = 0
  const next = () => {
    if (res.destroyed) return
    res.write(body.subarray(i, i + step))
    i += step
    if (i >= BYTES) res.end()
    else setTimeout(next, TRICKLE / (PIECES - 1))
  }
  next()
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: /** @type {import('node:net').AddressInfo} */ (server.address()).port })))
process.on('SIGTERM', () => process.exit(0))
