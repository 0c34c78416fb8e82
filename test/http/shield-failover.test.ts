/**
 * Upstream failover and stale-if-error: when the active origin fails or stalls
 * the same fill moves to the next one, and when none answers, media already
 * held is served stale rather than an error. Slow clients never cost viewers.
 */
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { startStubOrigin } from '../helpers/stub-origin.js'
import { startShield } from '../helpers/shield.js'
import { shieldGet } from '../helpers/shield-client.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

t.test('a refused connection fails over to the next upstream within the same request', async (t) => {
  const a = await startStubOrigin(t, () => ({ body: 'from a' }))
  const b = await startStubOrigin(t, () => ({ body: 'from b' }))
  const s = await startShield(t, [a.url, b.url])
  t.equal((await shieldGet(`${s.url}/live/s/v/1.m4s`)).body, 'from a', 'primary preferred')
  a.setDown(true)
  const rs = await Promise.all(Array.from({ length: 20 }, () => shieldGet(`${s.url}/live/s/v/2.m4s`)))
  t.ok(rs.every((r) => r.status === 200 && r.body === 'from b'), 'every waiter served by the second upstream')
  t.equal(b.count('/live/s/v/2.m4s'), 1, 'one request to the second upstream')
  t.equal(s.shield.cache.upstreams.active, b.url, 'the failed upstream left rotation')
  t.equal((await shieldGet(`${s.url}/live/s/v/3.m4s`)).body, 'from b', 'next objects go straight to the second')
})

t.test('a stalled upstream (no answer within the wait) fails over', async (t) => {
  const a = await startStubOrigin(t, () => ({ delayMs: 10_000 }))
  const b = await startStubOrigin(t, () => ({ body: 'from b' }))
  const s = await startShield(t, [a.url, b.url], { shield: { waitTimeoutMs: 300 } })
  const rs = await Promise.all(Array.from({ length: 5 }, () => shieldGet(`${s.url}/static/app.json`)))
  t.same(rs.map((r) => r.body), Array(5).fill('from b'))
})

t.test('a held request on an upstream that freezes moves on when the health probe fails, not after the hold', async (t) => {
  let frozen = false
  // A frozen origin accepts connections and never answers anything, its health path included.
  const a = await startStubOrigin(t, () => (frozen ? { delayMs: 60_000 } : { body: 'from a' }))
  const b = await startStubOrigin(t, () => ({ body: 'from b' }))
  const s = await startShield(t, [a.url, b.url], { cache: { probeMs: 300 } })
  t.equal((await shieldGet(`${s.url}/live/s/v/20.m4s`)).body, 'from a')
  frozen = true
  // A part is held up to 3 target durations (19 s with the default TD of 6 s) before a
  // first-byte timeout would move it; the client here gives up after 5 s.
  const r = await shieldGet(`${s.url}/live/s/v/21.0.m4s`, { timeoutMs: 5000 })
  t.equal(r.body, 'from b', 'moved to the second upstream once the probe failed')
  t.equal(s.shield.cache.upstreams.active, b.url)
})

t.test('a 5xx from the active upstream fails over when another can answer', async (t) => {
  const a = await startStubOrigin(t, () => ({ status: 503 }))
  const b = await startStubOrigin(t, () => ({ body: 'from b' }))
  const s = await startShield(t, [a.url, b.url])
  t.equal((await shieldGet(`${s.url}/live/s/v/9.m4s`)).body, 'from b')
})

t.test('stale-if-error: a segment past its lifetime is served when the upstream fails', async (t) => {
  const o = await startStubOrigin(t, (_t, n) => (n === 1 ? { headers: { 'Cache-Control': 'max-age=1' } } : { status: 500 }))
  const s = await startShield(t, [o.url])
  t.equal((await shieldGet(`${s.url}/live/s/v/5.m4s`)).body, 'request 1')
  await sleep(1100)
  const r = await shieldGet(`${s.url}/live/s/v/5.m4s`)
  t.equal(r.status, 200)
  t.equal(r.body, 'request 1', 'the stale copy answered')
  t.equal(r.headers['x-cache'], 'STALE')
  t.equal(o.count('/live/s/v/5.m4s'), 2, 'the upstream was asked first')
  o.setDown(true)
  t.equal((await shieldGet(`${s.url}/live/s/v/5.m4s`)).body, 'request 1', 'also when the upstream is unreachable')
})

t.test('2,000 slow clients (headers never finished) do not stop normal viewers', async (t) => {
  const o = await startStubOrigin(t, () => ({ body: 'segment' }))
  const s = await startShield(t, [o.url])
  const slow: Socket[] = []
  t.teardown(() => { for (const c of slow) c.destroy() })
  for (let i = 0; i < 2000; i++) {
    const c = connect(s.port, '127.0.0.1')
    c.on('error', () => {})
    c.write(`GET /live/s/v/${i}.m4s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `)
    slow.push(c)
  }
  await sleep(300)
  const drip = setInterval(() => { for (const c of slow) if (!c.destroyed) c.write('a') }, 500)
  t.teardown(() => clearInterval(drip))
  const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => shieldGet(`${s.url}/live/s/v/n${i % 5}.m4s`)))
  t.ok(rs.every((r) => r.status === 200 && r.body === 'segment'), 'normal viewers served')
  t.equal(o.log.filter((p) => p.includes('/n')).length, 5, 'one upstream request per object')
  t.equal(o.log.filter((p) => !p.includes('/n') && p !== '/healthz').length, 0, 'no slow client reached the origin')
})
