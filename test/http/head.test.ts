/**
 * HEAD on every route family of the origin (RFC 9110 9.3.2): the same status and
 * headers as GET, Content-Length as GET sends it, and not one body byte; the
 * connection stays usable (the next request on it is answered) and the process
 * keeps serving. Read from raw bytes: fetch() would hide body bytes after a HEAD.
 */
import t from 'tap'
import { get, waitFor } from '../helpers/origin.js'
import { startLive } from '../helpers/conformance.js'
import { keepAliveExchange, rawRequest, request } from '../helpers/raw-http.js'

/** Headers whose values GET and HEAD must share (those that do not move with the clock). */
const STABLE = ['content-type', 'etag', 'access-control-allow-origin', 'access-control-expose-headers', 'vary', 'content-encoding', 'content-range', 'accept-ranges', 'allow']
/** Headers that may differ between two requests a moment apart. */
const CLOCK = new Set(['date', 'expires', 'cache-control', 'age'])

function headersOf(raw: string): { status: number; headers: Record<string, string>; body: string } {
  const end = raw.indexOf('\r\n\r\n')
  const headers: Record<string, string> = {}
  for (const line of raw.slice(0, end).split('\r\n').slice(1)) {
    const c = line.indexOf(':')
    headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim()
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0), headers, body: raw.slice(end + 4) }
}

t.test('HEAD answers like GET without the body on every route', async (t) => {
  const f = await startLive(t, 'hd')
  const port = f.o.httpPort
  const next = request('GET', '/healthz')

  /** HEAD `path`, then a second request on the same connection; the second must follow the header block at once. */
  const head = async (what: string, path: string, extra: Record<string, string> = {}): Promise<Awaited<ReturnType<typeof keepAliveExchange>>> => {
    const h = await keepAliveExchange(port, request('HEAD', path, extra), next)
    t.ok(h.status > 0, `${what}: HEAD answered`)
    t.ok(h.after.startsWith('HTTP/1.1 200 OK\r\n'), `${what}: no body bytes after the HEAD response, next request answered (got ${JSON.stringify(h.after.slice(0, 40))})`)
    t.equal(h.secondStatus, 200, `${what}: keep-alive connection still serves`)
    return h
  }

  /** HEAD and GET of a stable resource: same status, same header names, same stable values, same Content-Length. */
  const same = async (what: string, path: string, extra: Record<string, string> = {}): Promise<void> => {
    let h = await head(what, path, extra)
    let g = headersOf((await rawRequest(port, request('GET', path, extra))).text)
    // A live playlist may gain a part between the two requests: compare one version (same ETag).
    for (let i = 0; i < 5 && h.headers.etag !== g.headers.etag; i++) {
      h = await head(what, path, extra)
      g = headersOf((await rawRequest(port, request('GET', path, extra))).text)
    }
    t.equal(h.status, g.status, `${what}: same status`)
    const names = (o: Record<string, string>): string[] => Object.keys(o).filter((n) => !CLOCK.has(n)).sort()
    t.same(names(h.headers), names(g.headers), `${what}: same header names`)
    for (const n of STABLE) t.equal(h.headers[n], g.headers[n], `${what}: same ${n}`)
    t.equal(h.headers['content-length'], g.headers['content-length'], `${what}: Content-Length as GET sends it`)
    // 304 carries no Content-Length (RFC 9110 8.6), nor body.
    if (g.status !== 304) t.equal(Number(g.headers['content-length']), Buffer.byteLength(g.body, 'latin1'), `${what}: GET's Content-Length is its body's`)
  }

  await same('page', '/')
  await same('static', '/static/hls.min.js')
  await same('healthz', '/healthz')
  await same('multivariant', '/live/hd/index.m3u8')
  await same('multivariant, gzip', '/live/hd/index.m3u8', { 'Accept-Encoding': 'gzip' })
  await same('media playlist', f.path)
  await same('MPD', '/live/hd/manifest.mpd')
  await same('init', '/live/hd/source/init.mp4')
  const store = f.store()
  const done = store.edge()!
  const complete = store.segment(done.msn)?.complete ? done.msn : done.msn - 1
  await same('segment', `/live/hd/source/${complete}.m4s`)
  await same('segment, ranged', `/live/hd/source/${complete}.m4s`, { Range: 'bytes=10-99' })
  await same('segment, unsatisfiable range', `/live/hd/source/${complete}.m4s`, { Range: 'bytes=99999999-' })
  await same('part', `/live/hd/source/${done.msn}.${done.part}.m4s`)
  const seg = await get(`${f.o.http}/live/hd/source/${complete}.m4s`)
  await same('segment, If-None-Match (304)', `/live/hd/source/${complete}.m4s`, { 'If-None-Match': seg.headers.get('etag')! })
  await same('unknown stream (404)', '/live/nope/index.m3u8')
  await same('unknown path (404)', '/nothing/here')
  await same('overlong path (414)', `/live/${'a'.repeat(1500)}/index.m3u8`)

  // Answers that change between two requests: HEAD's framing alone.
  const metrics = await head('metrics', '/metrics')
  t.ok(Number(metrics.headers['content-length']) > 100, 'metrics: Content-Length of the text GET would send')
  const time = await head('time', '/time')
  t.equal(time.headers['content-length'], String(new Date().toISOString().length), 'time: Content-Length of an ISO date')
  // The API's counters (bitrate, viewers) move between two requests.
  for (const path of ['/api/v1/streams', '/api/v1/streams/hd']) {
    const api = await head(`API ${path}`, path)
    t.equal(api.headers['content-type'], 'application/json')
    t.ok(Number(api.headers['content-length']) > 2, `API ${path}: Content-Length of the JSON`)
  }

  // Held answers: a blocking playlist reload, the hinted part, the segment in production.
  const edge = store.edge()!
  const blocking = `${f.path}?_HLS_msn=${edge.msn + 1}`
  const held = await head('blocking playlist', blocking)
  t.equal(held.status, 200)
  const blockingGet = headersOf((await rawRequest(port, request('GET', blocking))).text)
  t.equal(held.headers['content-length'], blockingGet.headers['content-length'], 'blocking playlist: Content-Length as GET sends it')
  const open = await waitFor(() => store.openSegment(), 5000, 'a segment in production')
  const hinted = `/live/hd/source/${open.msn}.${open.parts.length}.m4s`
  const part = await head('hinted part (in progress)', hinted)
  t.equal(part.status, 200)
  t.equal(part.headers['content-length'], String((await get(`${f.o.http}${hinted}`)).body.length), 'hinted part: Content-Length of the part')
  const producing = `/live/hd/source/${(await waitFor(() => store.openSegment(), 5000, 'a segment in production')).msn}.m4s`
  const segment = await head('segment in production', producing)
  t.equal(segment.status, 200)
  t.equal(segment.headers['content-length'], String((await get(`${f.o.http}${producing}`)).body.length), 'segment in production: Content-Length of the segment')

  // A method other than GET/HEAD/OPTIONS: 405 with its body, and the connection goes on.
  const post = await keepAliveExchange(port, request('POST', f.path, { 'Content-Length': '0' }), next)
  t.equal(post.status, 405)
  t.equal(post.headers.allow, 'GET, HEAD, OPTIONS')
  t.ok(post.after.startsWith(`method not allowed${'HTTP/1.1 200 OK'}`), `405 carries its body, then the next response follows (${JSON.stringify(post.after.slice(0, 40))})`)

  t.equal((await get(f.url)).status, 200, 'the origin still serves the stream')
})
