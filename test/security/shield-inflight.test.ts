/**
 * Attack replay: 20 concurrent requests for distinct 60 MB objects, served slowly by
 * the upstream so every fill is in flight at once. Each fill holds its body while it
 * arrives, so without a shared bound the shield grew to 20 × 60 MB (1.37 GB RSS with a
 * 64 MiB memory tier). With `shield.inflightBytes` the fills that fit stream to their
 * clients whole and correct; the others get 503 + Retry-After before any byte; RSS stays
 * under the budget plus the memory tier plus the process's own footprint.
 */
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startShieldProcess } from '../helpers/shield-process.js'

const MiB = 1024 * 1024
const OBJECTS = 20
const SIZE = 60_000_000
const MEMORY = 64 * MiB
const BUDGET = 128 * MiB
/** Budget + memory tier + 200 MB for the process itself (about 110 MB idle) and buffers in transit. */
const RSS_BOUND = BUDGET + MEMORY + 200e6

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref())

t.test('20 concurrent 60 MB fills stay within the in-flight budget; clients get whole bodies or 503', async (t) => {
  const shared = randomBytes(SIZE - 16)
  const prefix = (i: number): Buffer => Buffer.from(`object ${i}`.padEnd(16, '.'))
  const t0 = Date.now()
  let bigRequests = 0
  // The upstream: a live canary playlist, and the large objects sent in 1 MB pieces over about 6 s.
  const upstream = createServer((req, res) => {
    const url = req.url ?? '/'
    if (url === '/healthz') return res.end('ok')
    if (url === '/canary/v/index.m3u8') {
      const last = 100 + Math.floor((Date.now() - t0) / 1000)
      const lines = ['#EXTM3U', '#EXT-X-TARGETDURATION:1', `#EXT-X-MEDIA-SEQUENCE:${last}`, '#EXTINF:1.0,', `${last}.m4s`, '']
      res.writeHead(200, { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'max-age=1' })
      return res.end(lines.join('\n'))
    }
    const m = /^\/big\/(\d+)\.m4s$/.exec(url)
    if (!m) return res.writeHead(404).end()
    bigRequests++
    res.writeHead(200, { 'Content-Type': 'video/iso.segment', 'Content-Length': String(SIZE), 'Cache-Control': 'max-age=60' })
    res.write(prefix(Number(m[1])))
    void (async () => {
      for (let off = 0; off < shared.length && !res.destroyed; off += MiB) {
        res.write(shared.subarray(off, off + MiB))
        await sleep(100)
      }
      if (!res.destroyed) res.end()
    })()
  })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => { upstream.closeAllConnections(); upstream.close(() => r()) }))
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`

  const s = await startShieldProcess(t, [base], { memoryBytes: MEMORY, inflightBytes: BUDGET })
  const canary = async (): Promise<number> => {
    const r = await fetch(`${s.url}/canary/v/index.m3u8`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined)
    const m = r?.status === 200 ? /#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(await r.text()) : null
    return m ? Number(m[1]) : -1
  }
  const before = await canary()
  t.ok(before > 0, 'the canary plays through the shield')

  let maxRss = s.rss()
  const sampler = setInterval(() => { maxRss = Math.max(maxRss, s.rss()) }, 100)
  t.teardown(() => clearInterval(sampler))
  const canaryDuring: number[] = []
  const canaryLoop = (async () => {
    for (let i = 0; i < 60 && canaryDuring.length < 8; i++) {
      canaryDuring.push(await canary())
      await sleep(1000)
    }
  })()

  const results = await Promise.all(Array.from({ length: OBJECTS }, async (_, i) => {
    const r = await fetch(`${s.url}/big/${i}.m4s`, { signal: AbortSignal.timeout(90_000) })
    if (r.status !== 200) return { i, status: r.status, retryAfter: r.headers.get('retry-after'), ok: false, bytes: 0 }
    const hash = createHash('sha256')
    let bytes = 0
    for await (const chunk of r.body as AsyncIterable<Uint8Array>) {
      hash.update(chunk)
      bytes += chunk.length
    }
    const want = createHash('sha256').update(prefix(i)).update(shared).digest('hex')
    return { i, status: 200, retryAfter: null, ok: hash.digest('hex') === want, bytes }
  }))
  await canaryLoop
  clearInterval(sampler)
  maxRss = Math.max(maxRss, s.rss())

  const served = results.filter((r) => r.status === 200)
  const busy = results.filter((r) => r.status === 503)
  t.equal(served.length + busy.length, OBJECTS, `every request got 200 or 503 (${results.map((r) => r.status).join(' ')})`)
  t.ok(served.length >= 1, `some objects were served (${served.length})`)
  t.ok(served.every((r) => r.ok && r.bytes === SIZE), 'every 200 carried the whole, correct body')
  t.ok(busy.every((r) => r.retryAfter !== null && Number(r.retryAfter) >= 1), 'every 503 says Retry-After')
  t.ok(maxRss < RSS_BOUND, `peak RSS ${Math.round(maxRss / 1e6)} MB stays under ${Math.round(RSS_BOUND / 1e6)} MB (budget ${BUDGET / MiB} MiB, memory tier ${MEMORY / MiB} MiB)`)
  t.ok(canaryDuring.filter((p) => p > 0).length >= canaryDuring.length - 1, `the canary answered during the attack (${canaryDuring.join(' ')})`)
  const after = await canary()
  t.ok(after > before, `the canary still advances (${before} -> ${after})`)
  t.ok(s.alive(), 'the shield process is still running')
  t.comment(`upstream requests for large objects: ${bigRequests}; peak RSS ${Math.round(maxRss / 1e6)} MB`)
})
