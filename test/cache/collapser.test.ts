/**
 * The collapser on its own, with a scripted upstream client: waiters share one
 * fill, a client leaving never cancels it, waiting is bounded, an upstream failing
 * before its head is replaced by the next, stale media answers when none can, and
 * the in-flight byte budget refuses with 503 without blaming any upstream.
 * (End-to-end collapsing through HTTP is in test/http/shield-collapse.test.ts.)
 */
import t from 'tap'
import { Collapser, type FillContext, type Lookup } from '../../src/cache/collapser.js'
import { CacheEntry, FillError } from '../../src/cache/entry.js'
import { UpstreamClient, type UpstreamTimeouts } from '../../src/cache/upstream.js'
import { UpstreamSet } from '../../src/cache/upstream-set.js'
import { ByteBudget } from '../../src/cache/budget.js'

/** One fetch the collapser asked for; the test plays the upstream. */
interface Call {
  base: string
  entry: CacheEntry
  beforeBody: ((status: number) => boolean) | undefined
  signal: AbortSignal | undefined
  budget: ByteBudget | undefined
  resolve: (err?: FillError) => void
}

/** An upstream client whose answers the test writes by hand. */
class ScriptedClient extends UpstreamClient {
  readonly calls: Call[] = []
  override fetch(base: string, _target: string, entry: CacheEntry, _t: UpstreamTimeouts, beforeBody?: (status: number) => boolean, signal?: AbortSignal, budget?: ByteBudget): Promise<FillError | undefined> {
    return new Promise((resolve) => this.calls.push({ base, entry, beforeBody, signal, budget, resolve }))
  }
}

const ctx = (staleIfError = true): FillContext => ({
  target: '/live/s/v/7.m4s',
  timeouts: { connectMs: 1000, firstByteMs: 1000, idleMs: 1000, maxBodyBytes: 1_000_000 },
  quickFirstByteMs: 100,
  staleIfError,
})
const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

function setup(o: { maxWaiters?: number; stale?: CacheEntry; budget?: ByteBudget } = {}) {
  const client = new ScriptedClient()
  const upstreams = new UpstreamSet(['http://a', 'http://b'])
  const completed: CacheEntry[] = []
  const c = new Collapser({
    client, upstreams, maxWaiters: o.maxWaiters ?? 100, budget: o.budget,
    sink: { stale: () => o.stale, completed: (e) => completed.push(e) },
  })
  const got: Array<{ who: string; l: Lookup }> = []
  const join = (who: string, waitMs = 10_000, c2 = ctx()): (() => void) => c.join('k', c2, waitMs, (l) => got.push({ who, l }))
  return { client, upstreams, completed, c, got, join }
}

/** Answer `call` with a whole 200 body. */
function answer(call: Call, body = 'media'): void {
  call.entry.setHead(200, { 'content-type': 'video/mp4' }, body.length)
  call.entry.push(Buffer.from(body))
  call.entry.end()
  call.resolve()
}

t.test('waiters share one fill and stream it from its head; late arrivals join at once', async (t) => {
  const s = setup()
  s.join('a')
  s.join('b')
  await tick()
  t.equal(s.client.calls.length, 1, 'one upstream request for two waiters')
  t.equal(s.c.stats.collapsed, 1)
  t.ok(s.c.filling('k'))
  t.same(s.got, [], 'nobody is answered before the head')
  const call = s.client.calls[0]!
  call.entry.setHead(200, {}, 10)
  t.same(s.got.map((g) => [g.who, g.l.kind, g.l.kind === 'entry' && g.l.source]), [['a', 'entry', 'miss'], ['b', 'entry', 'miss']], 'both get the entry at the head')
  t.ok(s.got.every((g) => g.l.kind === 'entry' && g.l.entry === call.entry), 'the same growing entry')
  s.join('late')
  t.match(s.got[2], { who: 'late', l: { kind: 'entry', source: 'collapsed' } }, 'a late arrival joins the fill in progress at once')
  call.entry.push(Buffer.from('0123456789'))
  call.entry.end()
  call.resolve()
  await tick()
  t.same(s.completed, [call.entry], 'the complete fill goes to the sink once')
  t.equal(s.c.inFlight, 0)
  t.equal(s.client.calls.length, 1)
})

t.test('a client leaving mid-fill never cancels the shared fill', async (t) => {
  const s = setup()
  const leaveA = s.join('a')
  const leaveB = s.join('b')
  await tick()
  const call = s.client.calls[0]!
  leaveA()
  t.notOk(call.signal?.aborted, 'the upstream request goes on when one client leaves')
  call.entry.setHead(200, {}, 5)
  t.same(s.got.map((g) => g.who), ['b'], 'the one who left is not answered; the other is')
  leaveB()
  t.notOk(call.signal?.aborted, 'nor when every client has left')
  call.entry.push(Buffer.from('hello'))
  call.entry.end()
  call.resolve()
  await tick()
  t.same(s.completed, [call.entry], 'the fill completes and is stored for the next request')

  // Everyone leaves before the head: the fill still completes (the prefetch case, too).
  const s2 = setup()
  s2.join('x')()
  await tick()
  answer(s2.client.calls[0]!)
  await tick()
  t.equal(s2.completed.length, 1, 'a fill nobody waits for any more is still stored')
  t.same(s2.got, [])
})

t.test('waiting is bounded: too many waiters, or too long, get busy; the fill goes on', async (t) => {
  const s = setup({ maxWaiters: 2 })
  s.join('a')
  s.join('b', 30)
  s.join('c')
  t.match(s.got, [{ who: 'c', l: { kind: 'busy', retryAfter: 1, reason: /too many requests waiting/ } }], 'the third waiter is refused at once')
  await new Promise((r) => setTimeout(r, 60))
  t.match(s.got[1], { who: 'b', l: { kind: 'busy', reason: /did not answer in time/ } }, 'a waiter past its wait is answered busy')
  t.equal(s.c.stats.busy, 2)
  answer(s.client.calls[0]!)
  await tick()
  t.match(s.got[2], { who: 'a', l: { kind: 'entry' } }, 'the waiter still there gets the entry')
  t.equal(s.got.length, 3, 'nobody is answered twice')
  t.equal(s.completed.length, 1)
})

t.test('failover: an upstream failing before its head is replaced by the next, within the same fill', async (t) => {
  const s = setup()
  s.join('a')
  await tick()
  const first = s.client.calls[0]!
  t.equal(first.base, 'http://a')
  t.notOk(first.beforeBody?.(503), 'a 5xx from an upstream that is not the last is not passed on')
  t.ok(first.beforeBody?.(404), 'a 404 is an answer')
  first.resolve(new FillError('ERR_UPSTREAM_CONNECT', 'refused'))
  await tick()
  const second = s.client.calls[1]!
  t.equal(second.base, 'http://b', 'the next upstream is asked')
  t.equal(s.c.stats.failovers, 1)
  t.same(s.upstreams.order(), ['http://b', 'http://a'], 'the failed upstream leaves rotation')
  t.same(s.got, [], 'the waiter never saw the failure')
  answer(second)
  await tick()
  t.match(s.got, [{ who: 'a', l: { kind: 'entry', source: 'miss', entry: { upstream: 'http://b', status: 200 } } }])
})

t.test('when every upstream fails: stale media answers, else 502 or 504', async (t) => {
  const stale = new CacheEntry('k')
  stale.setHead(200, {}, 3)
  stale.push(Buffer.from('old'))
  stale.end()
  const s = setup({ stale })
  s.join('a')
  s.join('b')
  await tick()
  t.ok(s.client.calls[0]!.beforeBody?.(503) === false, 'with a stale copy at hand even the last upstream\'s 5xx is not passed on')
  s.client.calls[0]!.resolve(new FillError('ERR_UPSTREAM_CONNECT', 'refused'))
  await tick()
  s.client.calls[1]!.resolve(new FillError('ERR_UPSTREAM_TIMEOUT', 'first byte timeout'))
  await tick()
  t.match(s.got, [{ who: 'a', l: { kind: 'entry', entry: stale, source: 'stale' } }, { who: 'b', l: { kind: 'entry', entry: stale, source: 'stale' } }])
  t.equal(s.c.stats.staleServed, 2)
  t.same(s.completed, [], 'nothing new is stored')

  for (const [code, status] of [['ERR_UPSTREAM_CONNECT', 502], ['ERR_UPSTREAM_TIMEOUT', 504]] as const) {
    const n = setup()
    n.join('a', 10_000, ctx(false))
    await tick()
    t.ok(n.client.calls[0]!.beforeBody?.(503) === false, 'not the last upstream')
    n.client.calls[0]!.resolve(new FillError('ERR_UPSTREAM_CONNECT', 'refused'))
    await tick()
    t.ok(n.client.calls[1]!.beforeBody?.(503), 'the last upstream\'s 5xx is passed on when nothing stale can answer')
    n.client.calls[1]!.resolve(new FillError(code, 'failed'))
    await tick()
    t.match(n.got, [{ l: { kind: 'error', status, error: { code } } }], `${code}: ${status}`)
  }
})

t.test('the in-flight byte budget refuses with busy, without failover or blaming an upstream', async (t) => {
  const budget = new ByteBudget(1000)
  const s = setup({ budget })
  s.join('a')
  await tick()
  t.equal(s.client.calls[0]!.budget, budget, 'the fill takes its bytes from the shared budget')
  s.client.calls[0]!.resolve(new FillError('ERR_SHIELD_BUSY', 'in-flight byte budget full'))
  await tick()
  t.equal(s.client.calls.length, 1, 'no other upstream is asked: none is at fault')
  t.same(s.upstreams.order(), ['http://a', 'http://b'], 'and none leaves rotation')
  t.match(s.got, [{ who: 'a', l: { kind: 'busy', retryAfter: 1, reason: /budget full/ } }])

  // A full budget refuses before asking anyone.
  t.ok(budget.tryTake(1000))
  const before = s.client.calls.length
  s.join('b')
  await tick()
  await tick()
  t.equal(s.client.calls.length, before, 'no upstream request while the budget is full')
  t.match(s.got[1], { who: 'b', l: { kind: 'busy', reason: /budget full \(1000 of 1000/ } })
  t.equal(s.c.stats.upstreamRequests, 1)

  // Stale media still answers a refused fill.
  const stale = new CacheEntry('k')
  stale.setHead(200, {}, 0)
  stale.end()
  const s2 = setup({ budget, stale })
  s2.join('c')
  await tick()
  t.match(s2.got, [{ who: 'c', l: { kind: 'entry', source: 'stale' } }])
  budget.give(1000)
})
