/**
 * LL-HLS rules in the shield (rfc8216bis 6.2.5.2, Appendix B) against a stub
 * origin: blocking reloads collapse per question, a playlist that does not
 * answer its question is not stored under it, preload hints are fetched ahead,
 * playlist and 404 lifetimes are bounded by the target duration.
 */
import t from 'tap'
import { startStubOrigin } from '../helpers/stub-origin.js'
import { startShield } from '../helpers/shield.js'
import { shieldGet } from '../helpers/shield-client.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** A playlist whose last complete segment is `last`, with `parts` parts of the next. */
function playlist(last: number, parts: number, n: number): string {
  const lines = ['#EXTM3U', '#EXT-X-TARGETDURATION:1', `#EXT-X-MEDIA-SEQUENCE:${last - 2}`, `## request ${n}`]
  for (let m = last - 2; m <= last; m++) lines.push('#EXTINF:1.0,', `${m}.m4s`)
  for (let p = 0; p < parts; p++) lines.push(`#EXT-X-PART:DURATION=0.25,URI="${last + 1}.${p}.m4s"`)
  lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${last + 1}.${parts}.m4s"`)
  return `${lines.join('\n')}\n`
}

const M3U8 = { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'public, max-age=60' }

t.test('blocking reloads collapse per (path, msn, part) and are held', async (t) => {
  const o = await startStubOrigin(t, (target, n) => (target.includes('_HLS_msn')
    ? { body: playlist(10, 2, n), headers: M3U8, delayMs: 600 }
    : { body: 'part', headers: { 'Cache-Control': 'max-age=60' } }))
  const s = await startShield(t, [o.url], { shield: { prefetchHints: false } })
  const q = '/live/a/v/index.m3u8?_HLS_msn=11&_HLS_part=1'
  const rs = await Promise.all(Array.from({ length: 50 }, () => shieldGet(`${s.url}${q}`)))
  t.equal(o.count(q), 1, 'one upstream request for 50 held reloads')
  t.ok(rs.every((r) => r.status === 200 && r.body.includes('## request 1')), 'all got the one answer')
  const other = await shieldGet(`${s.url}/live/a/v/index.m3u8?_HLS_msn=11&_HLS_part=0`)
  t.ok(other.body.includes('## request 1'), 'a different question has its own key')
  t.equal(o.count('/live/a/v/index.m3u8?_HLS_msn=11&_HLS_part=0'), 1)
  const again = await shieldGet(`${s.url}${q}`)
  t.equal(again.headers['x-cache'], 'HIT', 'a satisfying answer is stored under its question')
})

t.test('a playlist that does not contain the asked part is delivered but not stored under that key', async (t) => {
  const o = await startStubOrigin(t, (target, n) => (target.includes('_HLS_msn')
    ? { body: playlist(10, n === 1 ? 1 : 3, n), headers: M3U8 }
    : { body: 'part' }))
  const s = await startShield(t, [o.url], { shield: { prefetchHints: false } })
  const q = '/live/a/v/index.m3u8?_HLS_msn=11&_HLS_part=2'
  const early = await shieldGet(`${s.url}${q}`)
  t.ok(early.body.includes('## request 1'), 'the early answer reached the client')
  const next = await shieldGet(`${s.url}${q}`)
  t.ok(next.body.includes('## request 2'), 'the too-early playlist was not cached; asked again')
  const third = await shieldGet(`${s.url}${q}`)
  t.ok(third.body.includes('## request 2') && third.headers['x-cache'] === 'HIT', 'the right answer is cached')
})

t.test('the preload-hinted part is fetched before any client asks, and streams to them', async (t) => {
  const o = await startStubOrigin(t, (target, n) => (target.endsWith('.m3u8')
    ? { body: playlist(20, 1, n), headers: M3U8 }
    : { body: Buffer.alloc(20_000, 'p'), pieces: 4, trickleMs: 400, headers: { 'Cache-Control': 'max-age=60' } }))
  const s = await startShield(t, [o.url])
  await shieldGet(`${s.url}/live/a/v/index.m3u8`)
  for (let i = 0; i < 50 && o.count('/live/a/v/21.1.m4s') === 0; i++) await sleep(10)
  t.equal(o.count('/live/a/v/21.1.m4s'), 1, 'hinted part requested upstream with no client asking')
  const rs = await Promise.all(Array.from({ length: 10 }, () => shieldGet(`${s.url}/live/a/v/21.1.m4s`)))
  t.ok(rs.every((r) => r.body.length === 20_000), 'clients joined the prefetch')
  t.equal(o.count('/live/a/v/21.1.m4s'), 1, 'still one upstream request')
})

t.test('a non-blocking playlist is never served older than half a target duration', async (t) => {
  const o = await startStubOrigin(t, (target, n) => ({ body: playlist(30, 0, n), headers: M3U8 }))
  const s = await startShield(t, [o.url], { shield: { prefetchHints: false } })
  const url = `${s.url}/live/a/v/index.m3u8`
  t.ok((await shieldGet(url)).body.includes('## request 1'))
  t.ok((await shieldGet(url)).body.includes('## request 1'), 'cached within TD/2')
  const gz = await fetch(url, { headers: { 'Accept-Encoding': 'gzip' } })
  t.equal(gz.headers.get('content-encoding'), 'gzip', 'a cached playlist is served gzipped to clients that accept it')
  t.ok((await gz.text()).includes('## request 1'), 'and decodes to the same playlist')
  await sleep(600)
  t.ok((await shieldGet(url)).body.includes('## request 2'), 'refetched after TD/2 although the origin said max-age=60')
})

t.test('a 404 for a not-yet-available object is cached at most one target duration', async (t) => {
  const o = await startStubOrigin(t, (target, n) => (target.endsWith('.m3u8')
    ? { body: playlist(40, 0, n), headers: M3U8 }
    : { status: 404, headers: { 'Cache-Control': 'public, max-age=60' } }))
  const s = await startShield(t, [o.url], { shield: { prefetchHints: false } })
  await shieldGet(`${s.url}/live/a/v/index.m3u8`) // teaches the shield TD = 1
  const url = `${s.url}/live/a/v/45.m4s`
  t.equal((await shieldGet(url)).body, 'request 1')
  t.equal((await shieldGet(url)).body, 'request 1', 'negative answer cached')
  await sleep(1100)
  t.equal((await shieldGet(url)).body, 'request 2', 'but not past one target duration')
})

t.test('a 404 for a part asked too early is dropped once a playlist lists or hints it', async (t) => {
  let live = 50
  const o = await startStubOrigin(t, (target, n) => {
    if (target.endsWith('.m3u8')) return { body: playlist(live, 1, n), headers: M3U8 }
    const m = /(\d+)\.(\d+)\.m4s$/.exec(target)
    const listed = m && Number(m[1]) <= live + 1
    return listed ? { body: 'part' } : { status: 404, headers: { 'Cache-Control': 'public, max-age=60' } }
  })
  const s = await startShield(t, [o.url], { shield: { prefetchHints: false } })
  await shieldGet(`${s.url}/live/a/v/index.m3u8`)
  const early = await shieldGet(`${s.url}/live/a/v/52.1.m4s`)
  t.equal(early.status, 404, 'a part two segments ahead is not there yet')
  t.equal((await shieldGet(`${s.url}/live/a/v/52.1.m4s`)).status, 404, 'the 404 is cached')
  live = 51
  await sleep(600) // past TD/2: the next playlist request is a fresh fetch
  await shieldGet(`${s.url}/live/a/v/index.m3u8`)
  const now = await shieldGet(`${s.url}/live/a/v/52.1.m4s`)
  t.equal(now.status, 200, 'once a playlist hints the part, the cached 404 is gone')
  t.equal(o.count('/live/a/v/52.1.m4s'), 2)
})

t.test('10,000 distinct missing keys keep the memory tier within its byte bound', async (t) => {
  const o = await startStubOrigin(t, () => ({ status: 404, headers: { 'Cache-Control': 'public, max-age=60' } }))
  const s = await startShield(t, [o.url], { shield: { memoryBytes: 1024 * 1024 } })
  const mem = s.shield.cache.memory
  let statuses = new Set<number>()
  for (let batch = 0; batch < 100; batch++) {
    const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => fetch(`${s.url}/live/x/v/${batch * 100 + i}.m4s`).then(async (r) => { await r.arrayBuffer(); return r.status })))
    statuses = new Set([...statuses, ...rs])
  }
  t.same([...statuses], [404])
  t.equal(o.log.filter((p) => p !== '/healthz').length, 10_000, 'each distinct key asked once')
  t.ok(mem.bytes <= 1024 * 1024, `memory tier holds ${mem.bytes} bytes, within 1 MiB`)
  t.ok(mem.count < 10_000, `older negative entries evicted (${mem.count} kept)`)
})
