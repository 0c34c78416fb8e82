/**
 * Request collapsing through a real shield in front of a counting stub origin:
 * one upstream request per object however many clients, bytes streamed to
 * every waiter as they arrive, aborts and errors handled once for all.
 */
import t from 'tap'
import { startStubOrigin } from '../helpers/stub-origin.js'
import { startShield } from '../helpers/shield.js'
import { shieldGet } from '../helpers/shield-client.js'

const BODY = Buffer.alloc(64 * 1024, 'x')

t.test('concurrent misses make one upstream request; every client sees request 1', async (t) => {
  const o = await startStubOrigin(t, () => ({ delayMs: 100 }))
  const s = await startShield(t, [o.url])
  const rs = await Promise.all(Array.from({ length: 100 }, () => shieldGet(`${s.url}/live/a/v/1.m4s`)))
  t.equal(o.count('/live/a/v/1.m4s'), 1, 'one upstream request')
  t.same(new Set(rs.map((r) => `${r.status} ${r.body}`)), new Set(['200 request 1']), 'all 100 clients got request 1')
  const later = await shieldGet(`${s.url}/live/a/v/1.m4s`)
  t.equal(later.body, 'request 1', 'a later request is a hit')
  t.equal(later.headers['x-cache'], 'HIT')
  t.match(later.headers.age, /^\d+$/, 'Age on a cached response')
  t.equal(later.headers['access-control-allow-origin'], '*', 'CORS')
  t.equal(o.count('/live/a/v/1.m4s'), 1)
})

t.test('cache keys: query order and unknown parameters do not split the audience', async (t) => {
  const o = await startStubOrigin(t, () => ({ delayMs: 50 }))
  const s = await startShield(t, [o.url])
  const rs = await Promise.all([
    shieldGet(`${s.url}/live/a/v/index.m3u8?_HLS_msn=5&_HLS_part=1&cb=1`),
    shieldGet(`${s.url}/live/a/v/index.m3u8?_HLS_part=1&_HLS_msn=5&cb=2`),
    shieldGet(`${s.url}/live/a/v/index.m3u8?_HLS_part=1&_HLS_msn=5`),
  ])
  t.same(rs.map((r) => r.body), ['request 1', 'request 1', 'request 1'])
  t.same(o.log.filter((p) => p !== '/healthz'), ['/live/a/v/index.m3u8?_HLS_msn=5&_HLS_part=1'], 'one normalised upstream request')
})

t.test('waiters get their first byte before the upstream body completes', async (t) => {
  const o = await startStubOrigin(t, () => ({ body: BODY, pieces: 6, trickleMs: 900 }))
  const s = await startShield(t, [o.url])
  const first = shieldGet(`${s.url}/live/a/v/2.m4s`)
  await new Promise((r) => setTimeout(r, 50))
  const rest = await Promise.all([first, ...Array.from({ length: 20 }, () => shieldGet(`${s.url}/live/a/v/2.m4s`))])
  const done = o.bodyDoneAt.get('/live/a/v/2.m4s')!
  t.ok(done > 0, 'stub finished its body')
  t.equal(o.count('/live/a/v/2.m4s'), 1)
  for (const r of rest) {
    t.equal(r.body.length, BODY.length, 'whole body')
    t.ok(r.firstByteAt < done, 'first byte arrived while upstream was still sending')
  }
})

t.test('a client that disconnects does not abort the shared fill', async (t) => {
  const o = await startStubOrigin(t, () => ({ body: BODY, pieces: 4, trickleMs: 400 }))
  const s = await startShield(t, [o.url])
  const quitter = shieldGet(`${s.url}/live/a/v/3.m4s`, { abortAfterFirstByte: true })
  await new Promise((r) => setTimeout(r, 30))
  const stayers = Promise.all(Array.from({ length: 10 }, () => shieldGet(`${s.url}/live/a/v/3.m4s`)))
  const q = await quitter
  t.equal(q.error, 'aborted by client')
  for (const r of await stayers) {
    t.equal(r.error, undefined)
    t.equal(r.body.length, BODY.length, 'others got the whole body')
  }
  t.equal(o.count('/live/a/v/3.m4s'), 1, 'one upstream request')
  const again = await shieldGet(`${s.url}/live/a/v/3.m4s`)
  t.equal(again.headers['x-cache'], 'HIT', 'the fill completed into the cache')
})

t.test('a 500 from upstream reaches every waiter once and is not cached', async (t) => {
  const o = await startStubOrigin(t, () => ({ status: 500, delayMs: 150, headers: { 'Cache-Control': 'max-age=60' } }))
  const s = await startShield(t, [o.url])
  const rs = await Promise.all(Array.from({ length: 30 }, () => shieldGet(`${s.url}/live/a/v/4.m4s`)))
  t.same(new Set(rs.map((r) => `${r.status} ${r.body}`)), new Set(['500 request 1']), 'all waiters got the one 500')
  t.equal(o.count('/live/a/v/4.m4s'), 1, 'not retried per waiter')
  const next = await shieldGet(`${s.url}/live/a/v/4.m4s`)
  t.equal(next.body, 'request 2', 'a 500 is never served from cache')
})

t.test('the waiting list is bounded: overflow gets 503 + Retry-After, never a fan-out', async (t) => {
  const o = await startStubOrigin(t, () => ({ delayMs: 400 }))
  const s = await startShield(t, [o.url], { shield: { maxWaiters: 5 } })
  const rs = await Promise.all(Array.from({ length: 25 }, () => shieldGet(`${s.url}/live/a/v/5.m4s`)))
  const ok = rs.filter((r) => r.status === 200)
  const busy = rs.filter((r) => r.status === 503)
  t.equal(ok.length, 5, 'five waiters served')
  t.equal(busy.length, 20, 'the rest refused')
  t.ok(busy.every((r) => r.headers['retry-after'] === '1' && r.headers['cache-control'] === 'no-store'))
  t.ok(busy.every((r) => r.doneAt - r.startAt < ok[0]!.doneAt - ok[0]!.startAt), 'refusals came before the fill finished')
  t.equal(o.count('/live/a/v/5.m4s'), 1)
})

t.test('an upstream that lies about Content-Length: waiters get an error, nothing cached', async (t) => {
  const o = await startStubOrigin(t, (_t, n) => (n === 1 ? { body: BODY, contentLength: BODY.length * 2, pieces: 2, trickleMs: 100 } : { body: 'fine' }))
  const s = await startShield(t, [o.url])
  const rs = await Promise.all(Array.from({ length: 5 }, () => shieldGet(`${s.url}/live/a/v/6.m4s`)))
  for (const r of rs) t.ok(r.error !== undefined, `waiter saw a cut response (${r.error})`)
  const next = await shieldGet(`${s.url}/live/a/v/6.m4s`)
  t.equal(next.body, 'fine', 'the broken entry was not cached')
  t.equal(o.count('/live/a/v/6.m4s'), 2)
})

t.test('an upstream that hangs mid-body: waiters get an error after the idle timeout, nothing cached', async (t) => {
  const o = await startStubOrigin(t, (_t, n) => (n === 1 ? { body: BODY, hangAfter: 1000 } : { body: 'fine' }))
  const s = await startShield(t, [o.url], { cache: { idleTimeoutMs: 300 } })
  const rs = await Promise.all(Array.from({ length: 5 }, () => shieldGet(`${s.url}/live/a/v/7.m4s`)))
  for (const r of rs) {
    t.ok(r.error !== undefined, `waiter saw a cut response (${r.error})`)
    t.ok(r.body.length < BODY.length)
  }
  t.equal((await shieldGet(`${s.url}/live/a/v/7.m4s`)).body, 'fine', 'not cached')
})

t.test('an upstream that never answers: waiters get 504, nothing cached', async (t) => {
  const o = await startStubOrigin(t, (_t, n) => (n === 1 ? { delayMs: 5000 } : {}))
  const s = await startShield(t, [o.url], { shield: { waitTimeoutMs: 300 } })
  const rs = await Promise.all(Array.from({ length: 5 }, () => shieldGet(`${s.url}/other/x.json`)))
  t.same(rs.map((r) => r.status), [504, 504, 504, 504, 504])
  t.equal(o.count('/other/x.json'), 1)
})

t.test('an upstream body past the object limit is cut and not cached; memory stays bounded', async (t) => {
  const big = Buffer.alloc(3 * 1024 * 1024, 'b')
  const o = await startStubOrigin(t, (target) => (target.includes('chunked')
    ? { body: big, pieces: 8, trickleMs: 80, chunked: true }
    : { body: big }))
  const s = await startShield(t, [o.url], { cache: { maxObjectBytes: 1024 * 1024 } })
  const announced = await shieldGet(`${s.url}/live/a/v/big.m4s`)
  t.equal(announced.status, 502, 'a Content-Length past the limit is refused before any byte')
  t.equal((await shieldGet(`${s.url}/live/a/v/big.m4s`)).status, 502, 'and not cached')
  t.equal(o.count('/live/a/v/big.m4s'), 2)
  const streamed = await shieldGet(`${s.url}/live/a/v/chunked-big.m4s`)
  t.equal(streamed.status, 200, 'a chunked body starts streaming')
  t.ok(streamed.error !== undefined, `and is cut at the limit (${streamed.error})`)
  t.ok(streamed.body.length <= 1024 * 1024, 'no more than the limit passed through')
  t.equal((await shieldGet(`${s.url}/live/a/v/chunked-big.m4s`)).error !== undefined, true, 'not cached: fetched and cut again')
  t.ok(s.shield.cache.memory.bytes < 1024 * 1024, 'nothing big kept')
})
