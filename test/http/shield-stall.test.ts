/**
 * A stalled upstream, with one upstream and with two: an origin that accepts and
 * sends nothing, or sends headers then stops. Objects the origin already lists
 * get a short first-byte wait (the blocking-reload hold is kept for what is not
 * there yet); a body that goes silent is cut after the idle wait; waiters get
 * the stale copy where one applies, else a fast 504, and nothing is cached.
 * Client timeouts below the 3-target-duration hold (13 s here) prove nobody
 * waited it out.
 */
import t from 'tap'
import { startStubOrigin, type StubAnswer } from '../helpers/stub-origin.js'
import { startShield } from '../helpers/shield.js'
import { shieldGet } from '../helpers/shield-client.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** TD 4 s: segments 10 and 11 complete, parts 12.0 and 12.1 listed, 12.2 hinted. */
const PLAYLIST = [
  '#EXTM3U', '#EXT-X-VERSION:9', '#EXT-X-TARGETDURATION:4', '#EXT-X-PART-INF:PART-TARGET=1',
  '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=3', '#EXT-X-MEDIA-SEQUENCE:10',
  '#EXTINF:4,', '10.m4s', '#EXTINF:4,', '11.m4s',
  '#EXT-X-PART:DURATION=1,URI="12.0.m4s",INDEPENDENT=YES', '#EXT-X-PART:DURATION=1,URI="12.1.m4s"',
  '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="12.2.m4s"', '',
].join('\n')
const M3U8 = { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'max-age=1' }
const HANG: StubAnswer = { delayMs: 60_000 }
const BODY = 'x'.repeat(4000)

/** Answers the playlist and health path; media by `media`. */
const origin = (media: (target: string, n: number) => StubAnswer) => (target: string, n: number): StubAnswer => {
  if (target.startsWith('/live/s/v/index.m3u8')) return { headers: M3U8, body: PLAYLIST }
  if (target === '/healthz') return { body: 'ok' }
  return media(target, n)
}

t.test('one upstream, silent on a listed part: every waiter gets a fast 504, nothing cached', async (t) => {
  const o = await startStubOrigin(t, origin((_t, n) => (n === 1 ? HANG : {})))
  const s = await startShield(t, [o.url], { shield: { waitTimeoutMs: 500 } })
  t.equal((await shieldGet(`${s.url}/live/s/v/index.m3u8`)).status, 200)
  const rs = await Promise.all(Array.from({ length: 10 }, () => shieldGet(`${s.url}/live/s/v/12.0.m4s`, { timeoutMs: 6000 })))
  t.same(rs.map((r) => r.status), Array(10).fill(504), 'each waiter answered 504, none waited out the hold')
  t.equal(o.count('/live/s/v/12.0.m4s'), 1, 'one upstream request for all of them')
  const again = await shieldGet(`${s.url}/live/s/v/12.0.m4s`)
  t.equal(again.body, 'request 2', 'the failure was not cached: the next request asked again')
})

t.test('one upstream, silent on a segment already held: the stale copy answers', async (t) => {
  const o = await startStubOrigin(t, origin((_t, n) => (n === 1 ? { headers: { 'Cache-Control': 'max-age=1' } } : HANG)))
  const s = await startShield(t, [o.url], { shield: { waitTimeoutMs: 500 } })
  await shieldGet(`${s.url}/live/s/v/index.m3u8`)
  t.equal((await shieldGet(`${s.url}/live/s/v/11.m4s`)).body, 'request 1')
  await sleep(1100)
  const r = await shieldGet(`${s.url}/live/s/v/11.m4s`, { timeoutMs: 6000 })
  t.equal(r.status, 200)
  t.equal(r.body, 'request 1', 'stale-if-error')
  t.equal(r.headers['x-cache'], 'STALE')
})

t.test('a blocking reload for what is not there yet keeps its hold past the first-byte wait', async (t) => {
  const slow = await startStubOrigin(t, (target) => (target.includes('_HLS_msn=13') ? { delayMs: 1500, headers: M3U8, body: PLAYLIST } : { headers: M3U8, body: PLAYLIST }))
  const s = await startShield(t, [slow.url], { shield: { waitTimeoutMs: 500 } })
  await shieldGet(`${s.url}/live/s/v/index.m3u8`)
  const r = await shieldGet(`${s.url}/live/s/v/index.m3u8?_HLS_msn=13&_HLS_part=0`)
  t.equal(r.status, 200, 'answered after 1.5 s although the first-byte wait is 0.5 s')
  t.equal(slow.count('/live/s/v/index.m3u8?_HLS_msn=13&_HLS_part=0'), 1)
})

t.test('one upstream that freezes while a hinted part is held: 504 once the probe fails, not after the hold', async (t) => {
  let frozen = false
  const o = await startStubOrigin(t, (target, n) => (frozen ? HANG : origin(() => ({}))(target, n)))
  const s = await startShield(t, [o.url], { cache: { probeMs: 200, probeTimeoutMs: 400 } })
  await shieldGet(`${s.url}/live/s/v/index.m3u8`)
  frozen = true
  const r = await shieldGet(`${s.url}/live/s/v/12.2.m4s`, { timeoutMs: 6000 })
  t.equal(r.status, 504, 'the held request ended when the probe found the origin frozen')
  t.ok(s.shield.cache.upstreams.probeDown(o.url), 'the upstream is out of rotation by its probe')
  const next = await shieldGet(`${s.url}/live/s/v/12.3.m4s`, { timeoutMs: 6000 })
  t.equal(next.status, 504, 'a new held request on the frozen upstream gets the short wait, not the hold')
})

t.test('one upstream that sends headers then stops: waiters are cut after the idle wait, nothing cached', async (t) => {
  const o = await startStubOrigin(t, origin((_t, n) => (n === 1 ? { body: BODY, hangAfter: 1000 } : { body: BODY })))
  const s = await startShield(t, [o.url], { shield: { idleTimeoutMs: 400 } })
  await shieldGet(`${s.url}/live/s/v/index.m3u8`)
  const rs = await Promise.all(Array.from({ length: 5 }, () => shieldGet(`${s.url}/live/s/v/10.m4s`, { timeoutMs: 6000 })))
  t.ok(rs.every((r) => r.error !== undefined && r.error !== 'client timeout'), 'every waiter saw the response cut, none hung')
  t.ok(rs.every((r) => r.body.length < BODY.length), 'no waiter mistook a truncated body for a whole one')
  const again = await shieldGet(`${s.url}/live/s/v/10.m4s`)
  t.equal(again.body, BODY, 'the next request fetched it whole')
  t.equal(o.count('/live/s/v/10.m4s'), 2)
})

t.test('two upstreams, the first silent on a listed part: the same request moves to the second', async (t) => {
  const a = await startStubOrigin(t, origin(() => HANG))
  const b = await startStubOrigin(t, origin(() => ({ body: 'from b' })))
  const s = await startShield(t, [a.url, b.url], { shield: { waitTimeoutMs: 500 } })
  await shieldGet(`${s.url}/live/s/v/index.m3u8`)
  const rs = await Promise.all(Array.from({ length: 10 }, () => shieldGet(`${s.url}/live/s/v/12.1.m4s`, { timeoutMs: 6000 })))
  t.same(rs.map((r) => r.body), Array(10).fill('from b'), 'every waiter served by the second upstream')
  t.equal(b.count('/live/s/v/12.1.m4s'), 1)
  t.equal(s.shield.cache.upstreams.active, b.url, 'the stalled upstream left rotation')
})

t.test('two upstreams, the first stops mid-body: waiters are cut, the retry is served by the second', async (t) => {
  const a = await startStubOrigin(t, origin(() => ({ body: BODY, hangAfter: 1000 })))
  const b = await startStubOrigin(t, origin(() => ({ body: BODY })))
  const s = await startShield(t, [a.url, b.url], { shield: { idleTimeoutMs: 400 } })
  await shieldGet(`${s.url}/live/s/v/index.m3u8`)
  const first = await shieldGet(`${s.url}/live/s/v/11.m4s`, { timeoutMs: 6000 })
  t.ok(first.error !== undefined && first.error !== 'client timeout', 'cut, not hung')
  const retry = await shieldGet(`${s.url}/live/s/v/11.m4s`, { timeoutMs: 6000 })
  t.equal(retry.body, BODY, 'the retry got the whole body')
  t.equal(b.count('/live/s/v/11.m4s'), 1, 'from the second upstream')
  t.equal(a.count('/live/s/v/11.m4s'), 1, 'the stalled one was not asked again')
})
