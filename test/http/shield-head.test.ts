/**
 * HEAD through the shield (RFC 9110 9.3.2): a cached object, an object still
 * filling (with and without an announced length), a playlist, a 404, and the
 * shield's own endpoints answer with GET's status and headers and no body byte;
 * the connection serves the next request and the shield keeps running.
 */
import t from 'tap'
import { startStubOrigin } from '../helpers/stub-origin.js'
import { startShield } from '../helpers/shield.js'
import { keepAliveExchange, rawRequest, request } from '../helpers/raw-http.js'

const BODY = Buffer.alloc(40_000, 'x')
const PLAYLIST = '#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n1.m4s\n'

t.test('HEAD through the shield answers like GET without the body', async (t) => {
  const o = await startStubOrigin(t, (target) => {
    if (target === '/live/a/v/filling.m4s') return { body: BODY, pieces: 8, trickleMs: 1500 }
    if (target === '/live/a/v/chunked.m4s') return { body: BODY, pieces: 8, trickleMs: 1500, chunked: true }
    if (target === '/live/a/v/index.m3u8') return { body: PLAYLIST, headers: { 'Content-Type': 'application/vnd.apple.mpegurl', ETag: '"pl1"' } }
    if (target === '/live/a/v/missing.m4s') return { status: 404, body: 'no such thing' }
    return { body: BODY, headers: { 'Content-Type': 'video/iso.segment', ETag: '"s1"' } }
  })
  const s = await startShield(t, [o.url])
  const next = request('GET', '/healthz')

  const head = async (what: string, path: string, extra: Record<string, string> = {}): Promise<Awaited<ReturnType<typeof keepAliveExchange>>> => {
    const h = await keepAliveExchange(s.port, request('HEAD', path, extra), next)
    t.ok(h.status > 0, `${what}: HEAD answered`)
    t.ok(h.after.startsWith('HTTP/1.1 200 OK\r\n'), `${what}: no body bytes after the HEAD response (got ${JSON.stringify(h.after.slice(0, 40))})`)
    t.equal(h.secondStatus, 200, `${what}: keep-alive connection still serves`)
    return h
  }
  const getLength = async (path: string, extra: Record<string, string> = {}): Promise<{ status: number; length: string | undefined; text: string }> => {
    const r = await rawRequest(s.port, request('GET', path, extra))
    return { status: r.status, length: /content-length: (\d+)/i.exec(r.text)?.[1], text: r.text }
  }

  // Object still filling, upstream announced its length: HEAD says it at once.
  const filling = await head('object still filling', '/live/a/v/filling.m4s')
  t.equal(filling.status, 200)
  t.equal(filling.headers['content-length'], String(BODY.length), 'filling object: the announced length, not a sentinel')
  // Object still filling without a length: GET would send it chunked, so HEAD has no length to say.
  const chunked = await head('object still filling, no length', '/live/a/v/chunked.m4s')
  t.equal(chunked.status, 200)
  t.equal(chunked.headers['content-length'], undefined, 'no length known yet: none sent')

  // Cached object: the length GET sends.
  await getLength('/live/a/v/1.m4s')
  const cached = await head('cached object', '/live/a/v/1.m4s')
  t.equal(cached.headers['x-cache'], 'HIT')
  t.equal(cached.headers.etag, '"s1"')
  t.equal(cached.headers['content-length'], (await getLength('/live/a/v/1.m4s')).length)
  const ranged = await head('cached object, ranged', '/live/a/v/1.m4s', { Range: 'bytes=0-99' })
  t.equal(ranged.status, 206)
  t.equal(ranged.headers['content-length'], '100')
  const notModified = await head('cached object, If-None-Match', '/live/a/v/1.m4s', { 'If-None-Match': '"s1"' })
  t.equal(notModified.status, 304)

  // Playlist, identity and gzip.
  const pl = await head('playlist', '/live/a/v/index.m3u8')
  t.equal(pl.headers['content-length'], String(PLAYLIST.length))
  const plGz = await head('playlist, gzip', '/live/a/v/index.m3u8', { 'Accept-Encoding': 'gzip' })
  t.equal(plGz.headers['content-encoding'], 'gzip')
  t.equal(plGz.headers['content-length'], (await getLength('/live/a/v/index.m3u8', { 'Accept-Encoding': 'gzip' })).length, 'gzip form: its own length')

  // 404s: refused by the shield, and passed on from upstream.
  const refused = await head('refused path (404)', '/live/a/v/..%2f..%2fetc')
  t.equal(refused.status, 404)
  t.equal(refused.headers['content-length'], (await getLength('/live/a/v/..%2f..%2fetc')).length)
  const missing = await head('upstream 404', '/live/a/v/missing.m4s')
  t.equal(missing.status, 404)
  t.equal(missing.headers['content-length'], String('no such thing'.length))

  // The shield's own endpoints.
  const health = await head('healthz', '/healthz')
  t.equal(health.headers['content-length'], '3')
  const time = await head('time', '/time')
  t.equal(time.headers['content-length'], String(new Date().toISOString().length))
  t.match((await getLength('/time')).text, /\r\n\r\n\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'time: GET answers an ISO date')
  t.equal(o.count('/time'), 0, 'the shield answers /time from its own clock, never forwarding it')
  const metrics = await head('metrics', '/metrics')
  t.ok(Number(metrics.headers['content-length']) > 100, 'metrics: the length of the text')

  t.equal((await getLength('/live/a/v/filling.m4s')).length, String(BODY.length), 'the fill HEAD started completed')
  t.equal((await getLength('/healthz')).status, 200, 'the shield still serves')
})
