/**
 * A synthetic LL-HLS origin for bench/surge, as its own process: two renditions,
 * parts of --part-ms on a fixed clock from --t0 (epoch ms), four parts a segment,
 * blocking playlist reload (rfc8216bis 6.2.5.2: held until the part exists, 503
 * after three target durations), the hinted part held until it exists, Cache-Control
 * per Appendix B. Counts requests; GET /__stats returns them. Prints {"port":N}.
 */
import { createServer } from 'node:http'

const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d }
const T0 = arg('t0', Date.now())
const PART_MS = arg('part-ms', 500)
const PARTS = 4
const TD = Math.ceil((PART_MS * PARTS) / 1000)
const RENDITIONS = { hi: Buffer.alloc(arg('hi-bytes', 60_000), 'h'), lo: Buffer.alloc(arg('lo-bytes', 15_000), 'l') }
let requests = 0
const parts = () => Math.floor((Date.now() - T0) / PART_MS) // parts complete so far
const at = (msn, part) => T0 + (msn * PARTS + part + 1) * PART_MS // when a part becomes available

function playlist() {
  const n = parts()
  const lastMsn = Math.floor(n / PARTS) - 1
  const open = n % PARTS
  const first = Math.max(0, lastMsn - 3)
  const lines = ['#EXTM3U', '#EXT-X-VERSION:9', `#EXT-X-TARGETDURATION:${TD}`, `#EXT-X-PART-INF:PART-TARGET=${PART_MS / 1000}`,
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${(3 * PART_MS) / 1000}`, `#EXT-X-MEDIA-SEQUENCE:${first}`, '#EXT-X-MAP:URI="init.mp4"']
  for (let m = first; m <= lastMsn; m++) {
    if (m >= lastMsn - 1) for (let p = 0; p < PARTS; p++) lines.push(`#EXT-X-PART:DURATION=${PART_MS / 1000},URI="${m}.${p}.m4s"`)
    lines.push(`#EXTINF:${(PART_MS * PARTS) / 1000},`, `${m}.m4s`)
  }
  for (let p = 0; p < open; p++) lines.push(`#EXT-X-PART:DURATION=${PART_MS / 1000},URI="${lastMsn + 1}.${p}.m4s"`)
  lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${lastMsn + 1}.${open}.m4s"`)
  return `${lines.join('\n')}\n`
}

const hold = (until, res, fn) => {
  const wait = until - Date.now()
  if (wait <= 0) return fn()
  if (wait > 3 * TD * 1000) { res.writeHead(503, { 'Cache-Control': 'no-store' }); return res.end() }
  setTimeout(fn, wait + 1)
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x')
  if (url.pathname === '/__stats') return res.end(JSON.stringify({ requests, t0: T0, partMs: PART_MS }))
  if (url.pathname === '/healthz') return res.end('ok')
  requests++
  const m = /^\/live\/s\/(hi|lo)\/(.+)$/.exec(url.pathname)
  if (!m) { res.writeHead(404, { 'Cache-Control': 'max-age=60' }); return res.end() }
  const [, rendition, file] = m
  if (file === 'index.m3u8') {
    const msn = url.searchParams.get('_HLS_msn')
    const send = (cc) => { res.writeHead(200, { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': cc }); res.end(playlist()) }
    if (msn === null) return send(`public, max-age=${TD / 2}`)
    return hold(at(Number(msn), Number(url.searchParams.get('_HLS_part') ?? PARTS - 1)), res, () => send(`public, max-age=${6 * TD}`))
  }
  const pm = /^(\d+)\.(\d+)\.m4s$/.exec(file)
  if (!pm) { res.writeHead(404, { 'Cache-Control': `max-age=${TD}` }); return res.end() }
  const ready = at(Number(pm[1]), Number(pm[2]))
  // Only the next part (the hinted one) is worth holding for; anything later is 404.
  if (ready - Date.now() > PART_MS + 50) { res.writeHead(404, { 'Cache-Control': `max-age=${TD}` }); return res.end() }
  hold(ready, res, () => {
    res.writeHead(200, { 'Content-Type': 'video/iso.segment', 'Cache-Control': 'public, max-age=60', 'Content-Length': String(RENDITIONS[rendition].length) })
    res.end(RENDITIONS[rendition])
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: /** @type {import('node:net').AddressInfo} */ (server.address()).port })))
process.on('SIGTERM', () => process.exit(0))
