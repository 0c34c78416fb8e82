/**
 * The upstream client under the in-flight byte budget: a known length is taken
 * whole at the head (or refused before it), an unknown one chunk by chunk with the
 * upstream paused while it does not fit; every byte is given back when the fill ends.
 */
import t from 'tap'
import { UpstreamClient } from '../../src/cache/upstream.js'
import { CacheEntry, FillError } from '../../src/cache/entry.js'
import { ByteBudget } from '../../src/cache/budget.js'
import { ShieldCache } from '../../src/cache/shield-cache.js'
import type { Lookup } from '../../src/cache/collapser.js'
import { buildConfig } from '../../src/config/load.js'
import { startStubOrigin } from '../helpers/stub-origin.js'

const T = { connectMs: 2000, firstByteMs: 2000, idleMs: 1500, maxBodyBytes: 10_000_000 }
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

t.test('a known length is taken at the head and given back at the end; one that does not fit is refused before the head', async (t) => {
  const body = Buffer.alloc(50_000, 7)
  const stub = await startStubOrigin(t, () => ({ body, pieces: 5, trickleMs: 200 }))
  const client = new UpstreamClient()
  t.teardown(() => client.close())
  const budget = new ByteBudget(120_000)

  const e1 = new CacheEntry('/a.m4s')
  const p1 = client.fetch(stub.url, '/a.m4s', e1, T, undefined, undefined, budget)
  await new Promise<void>((r) => { const off = e1.subscribe(() => { if (e1.hasHead) { off(); r() } }) })
  t.equal(budget.used, 50_000, 'the whole announced length is taken when the head arrives')
  const e2 = new CacheEntry('/b.m4s')
  const p2 = client.fetch(stub.url, '/b.m4s', e2, T, undefined, undefined, budget)
  const e3 = new CacheEntry('/c.m4s')
  const err3 = await client.fetch(stub.url, '/c.m4s', e3, T, undefined, undefined, budget)
  t.match(err3, { code: 'ERR_SHIELD_BUSY', message: /in-flight byte budget full/ }, 'a third does not fit: refused')
  t.notOk(e3.hasHead, 'before any client saw a head')
  t.equal(budget.used, 100_000, 'the refusal took nothing')
  t.equal(await p1, undefined)
  t.equal(await p2, undefined)
  t.ok(e1.done && !e1.error && e1.body().equals(body), 'the admitted fill is whole')
  t.equal(budget.used, 0, 'every byte given back once the fills ended')
})

t.test('an unknown length waits for room with the upstream paused, then completes', async (t) => {
  const body = Buffer.alloc(60_000, 3)
  const stub = await startStubOrigin(t, () => ({ body, chunked: true, pieces: 6, trickleMs: 300 }))
  const client = new UpstreamClient()
  t.teardown(() => client.close())
  const budget = new ByteBudget(100_000)
  t.ok(budget.tryTake(85_000), 'another fill holds most of the budget')
  const e = new CacheEntry('/chunked.m4s')
  const done = client.fetch(stub.url, '/chunked.m4s', e, { ...T, idleMs: 5000 }, undefined, undefined, budget)
  await sleep(800)
  t.ok(e.hasHead, 'the head went out (the length was unknown)')
  t.ok(e.size <= 15_000, `the entry holds no more than the room left (${e.size} bytes)`)
  t.ok(budget.used <= budget.limit, `the budget is never exceeded (${budget.used})`)
  t.notOk(e.done, 'the fill waits')
  budget.give(85_000)
  t.equal(await done, undefined, 'room given back: the fill resumes and completes')
  t.ok(e.done && !e.error && e.body().equals(body), 'with the whole body, in order')
  t.equal(budget.used, 0)
})

t.test('an unknown length that never finds room fails after the idle timeout, giving everything back', async (t) => {
  const stub = await startStubOrigin(t, () => ({ body: Buffer.alloc(40_000, 1), chunked: true, pieces: 4, trickleMs: 200 }))
  const client = new UpstreamClient()
  t.teardown(() => client.close())
  const budget = new ByteBudget(100_000)
  t.ok(budget.tryTake(95_000))
  const e = new CacheEntry('/stuck.m4s')
  const err = await client.fetch(stub.url, '/stuck.m4s', e, { ...T, idleMs: 600 }, undefined, undefined, budget)
  t.match(err, { code: 'ERR_SHIELD_BUSY', message: /stayed full for 600 ms/ })
  t.ok(e.error, 'the entry failed: its readers cut the response rather than end it short')
  t.equal(budget.used, 95_000, 'what the fill took is back')
})

t.test('shield.inflightBytes: half of memoryBytes unless set; objects larger than it are refused as too large', async (t) => {
  const MiB = 1024 * 1024
  t.equal(buildConfig({}).shield.inflightBytes, null, 'null by default')
  t.equal(buildConfig({ shield: { inflightBytes: 8 * MiB } }).shield.inflightBytes, 8 * MiB)
  t.throws(() => buildConfig({ shield: { inflightBytes: 1000 } }), { message: /config: shield\.inflightBytes is 1000; expected null \(half of shield\.memoryBytes\) or an integer/ })
  const opts = { upstreams: ['http://127.0.0.1:9'], memoryBytes: 64 * MiB, maxWaiters: 10, waitTimeoutMs: 1000, prefetchHints: false, keepQuery: [] }
  const half = new ShieldCache(opts)
  t.teardown(() => half.stop())
  t.equal(half.inflight.limit, 32 * MiB, 'default: half of the memory tier')
  const stub = await startStubOrigin(t, () => ({ body: Buffer.alloc(3 * MiB) }))
  const set = new ShieldCache({ ...opts, upstreams: [stub.url], inflightBytes: 2 * MiB })
  t.teardown(() => set.stop())
  t.equal(set.inflight.limit, 2 * MiB)
  const l = await new Promise<Lookup>((resolve) => set.lookup(set.request('/big/1.m4s', ''), resolve))
  t.match(l, { kind: 'error', status: 502, error: { code: 'ERR_UPSTREAM_TOO_LARGE' } }, 'an object no budget could hold is too large, not busy (Retry-After would never help)')
})

t.test('a body stays charged until the fill is done and its last response has ended', async (t) => {
  const budget = new ByteBudget(100)
  t.ok(budget.tryTake(60))
  const e = new CacheEntry('/k.m4s')
  e.charge(budget, 60)
  const first = e.read()
  const second = e.read()
  e.setHead(200, {}, 0)
  e.end()
  t.equal(budget.used, 60, 'done, but two responses still send it')
  first()
  first()
  t.equal(budget.used, 60, 'one left (ending twice counts once)')
  second()
  t.equal(budget.used, 0, 'given back with the last one')
  t.equal(e.chargedBytes, 0)

  t.ok(budget.tryTake(30))
  const failed = new CacheEntry('/f.m4s')
  failed.charge(budget, 30)
  failed.fail(new FillError('ERR_UPSTREAM_ABORTED', 'cut'))
  t.equal(budget.used, 0, 'a failed fill nobody reads gives back at once')
})
