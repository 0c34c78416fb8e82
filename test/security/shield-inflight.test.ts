/**
 * Attack replay: 20 concurrent requests for distinct 60 MB objects, served slowly by
 * the upstream so every fill is in flight at once. Each fill holds its body while it
 * arrives, so without a shared bound the shield grew to 20 × 60 MB (1.37 GB RSS with a
 * 64 MiB memory tier). With `shield.inflightBytes` the fills that fit stream to their
 * clients whole and correct; the others get 503 + Retry-After before any byte; RSS stays
 * under the budget plus the memory tier plus the process's own footprint. The same holds
 * for fills one after another whose clients read slowly: a body stays counted until its
 * last reader is done.
 */
import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startShieldProcess, type ShieldProcess } from '../helpers/shield-process.js'

const MiB = 1024 * 1024
const OBJECTS = 20
const SIZE = 60_000_000
const MEMORY = 64 * MiB
const BUDGET = 128 * MiB
/** Budget + memory tier + 200 MB for the process itself (about 110 MB idle) and buffers in transit. */
const RSS_BOUND = BUDGET + MEMORY + 200e6

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref())

/** The upstream: a live canary playlist and the large objects (1 MB pieces every `pieceMs`). */
async function startUpstream(t: Test, pieceMs: number): Promise<{ url: string; counts: { big: number }; expected: (i: number) => string }> {
  const shared = randomBytes(SIZE - 16)
  const t0 = Date.now()
  const counts = { big: 0 }
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
    counts.big++
    res.writeHead(200, { 'Content-Type': 'video/iso.segment', 'Content-Length': String(SIZE), 'Cache-Control': 'max-age=60' })
    res.write(prefix(Number(m[1])))
    void (async () => {
      for (let off = 0; off < shared.length && !res.destroyed; off += MiB) {
        res.write(shared.subarray(off, off + MiB))
        if (pieceMs > 0) await sleep(pieceMs)
      }
      if (!res.destroyed) res.end()
    })()
  })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => { upstream.closeAllConnections(); upstream.close(() => r()) }))
  const expected = (i: number): string => createHash('sha256').update(prefix(i)).update(shared).digest('hex')
  return { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, counts, expected }
}

const prefix = (i: number): Buffer => Buffer.from(`object ${i}`.padEnd(16, '.'))

/** Read a response body to its end; its sha256 and length. */
async function digest(r: Response): Promise<{ hash: string; bytes: number }> {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of r.body as AsyncIterable<Uint8Array>) {
    hash.update(chunk)
    bytes += chunk.length
  }
  return { hash: hash.digest('hex'), bytes }
}

/** Peak RSS of `s` from now until stopped. */
function sampleRss(t: Test, s: ShieldProcess): { stop: () => number } {
  let max = s.rss()
  const timer = setInterval(() => { max = Math.max(max, s.rss()) }, 100)
  t.teardown(() => clearInterval(timer))
  return { stop: () => { clearInterval(timer); return Math.max(max, s.rss()) } }
}

async function canaryPosition(s: ShieldProcess): Promise<number> {
  const r = await fetch(`${s.url}/canary/v/index.m3u8`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined)
  const m = r?.status === 200 ? /#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(await r.text()) : null
  return m ? Number(m[1]) : -1
}

t.test('20 concurrent 60 MB fills stay within the in-flight budget; clients get whole bodies or 503', async (t) => {
  // Sent in 1 MB pieces every 100 ms (about 6 s each), so all 20 are in flight together.
  const up = await startUpstream(t, 100)
  const s = await startShieldProcess(t, [up.url], { memoryBytes: MEMORY, inflightBytes: BUDGET })
  const canary = (): Promise<number> => canaryPosition(s)
  const before = await canary()
  t.ok(before > 0, 'the canary plays through the shield')

  const rss = sampleRss(t, s)
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
    const d = await digest(r)
    return { i, status: 200, retryAfter: null, ok: d.hash === up.expected(i), bytes: d.bytes }
  }))
  await canaryLoop
  const maxRss = rss.stop()

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
  t.comment(`upstream requests for large objects: ${up.counts.big}; peak RSS ${Math.round(maxRss / 1e6)} MB`)
})

t.test('slow readers keep their objects counted: fills one after another do not pile up behind them', async (t) => {
  // A fast upstream: each fill completes in about a second, but its client reads nothing yet,
  // so the body stays in memory after the fill (evicted from the memory tier or not).
  const up = await startUpstream(t, 0)
  const s = await startShieldProcess(t, [up.url], { memoryBytes: MEMORY, inflightBytes: BUDGET })
  const before = await canaryPosition(s)
  t.ok(before > 0, 'the canary plays through the shield')
  const rss = sampleRss(t, s)
  // Each admitted client reads a piece every 300 ms (uWS drops a client that takes nothing for
  // 10 s) until every request is out, then the rest at full speed.
  let fast = false
  const readers: Array<Promise<{ i: number; status: number; retryAfter: string | null; hash?: string; bytes?: number; error?: string }>> = []
  for (let i = 0; i < 8; i++) {
    const r = await fetch(`${s.url}/big/${100 + i}.m4s`, { signal: AbortSignal.timeout(90_000) })
    readers.push((async () => {
      if (r.status !== 200) return { i, status: r.status, retryAfter: r.headers.get('retry-after') }
      const reader = r.body!.getReader()
      const hash = createHash('sha256')
      let bytes = 0
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          hash.update(value)
          bytes += value.length
          if (!fast) await sleep(300)
        }
        return { i, status: 200, retryAfter: null, hash: hash.digest('hex'), bytes }
      } catch (err) {
        // Reported as a failed body below, with the RSS the attack reached.
        return { i, status: 200, retryAfter: null, error: String((err as Error).cause ?? err), bytes }
      }
    })())
    await sleep(1500)
  }
  fast = true
  const results = await Promise.all(readers)
  const maxRss = rss.stop()
  const statuses = results.map((r) => r.status)
  t.ok(statuses.every((st) => st === 200 || st === 503), `200 or 503 (${statuses.join(' ')})`)
  t.ok(statuses.filter((st) => st === 503).length >= 1, 'objects beyond the budget were refused while slow readers held theirs')
  for (const r of results) {
    if (r.status === 503) t.ok(Number(r.retryAfter) >= 1, `object ${r.i}: 503 with Retry-After`)
    else t.ok(r.bytes === SIZE && r.hash === up.expected(100 + r.i), `object ${r.i}: the whole, correct body, read slowly (${r.bytes} bytes${r.error ? `, ${r.error}` : ''})`)
  }
  t.ok(maxRss < RSS_BOUND, `peak RSS ${Math.round(maxRss / 1e6)} MB stays under ${Math.round(RSS_BOUND / 1e6)} MB`)
  const after = await canaryPosition(s)
  t.ok(after > before, `the canary still advances (${before} -> ${after})`)
  t.ok(s.alive(), 'the shield process is still running')
})
