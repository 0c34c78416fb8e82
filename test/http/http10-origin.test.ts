/**
 * HTTP/1.0 against a real origin and a real shield (http.http10 on): raw-socket
 * requests with and without Host, with `Connection: keep-alive`, a blocking
 * playlist reload, and a segment still in production (close-delimited for
 * HTTP/1.0, chunked as before for HTTP/1.1 through the same front). With the
 * front off, uWS alone never answers an HTTP/1.0 request (the documented limit).
 */
import t from 'tap'
import { connect } from 'node:net'
import { buildConfig } from '../../src/config/load.js'
import { Shield } from '../../src/core/shield.js'
import { createLogger } from '../../src/log/logger.js'
import { startOrigin, waitForSegments } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'

/** What came back on one connection: the raw bytes, whether the server closed it, and when. */
interface Exchange { raw: Buffer; closed: boolean; ms: number }

/** Send `raw`; collect until the server closes, or `idleMs` after the last byte (then closed = false). */
function exchange(port: number, raw: string, idleMs = 1500): Promise<Exchange> {
  return new Promise((resolve) => {
    const t0 = Date.now()
    const sock = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let timer = setTimeout(() => done(false), idleMs)
    const done = (closed: boolean): void => {
      clearTimeout(timer)
      sock.destroy()
      resolve({ raw: Buffer.concat(chunks), closed, ms: Date.now() - t0 })
    }
    sock.on('data', (d: Buffer) => {
      chunks.push(d)
      clearTimeout(timer)
      timer = setTimeout(() => done(false), idleMs)
    })
    sock.on('close', () => done(true))
    sock.on('error', () => undefined)
    sock.write(raw)
  })
}

/** A response split into status, lower-cased headers and body (the rest of `raw`). */
interface Parsed { status: number; headers: Record<string, string>; body: Buffer; rest: Buffer }

function parse(raw: Buffer): Parsed {
  const end = raw.indexOf('\r\n\r\n')
  if (end < 0) return { status: 0, headers: {}, body: Buffer.alloc(0), rest: raw }
  const [line, ...fields] = raw.subarray(0, end).toString('latin1').split('\r\n')
  const headers: Record<string, string> = {}
  for (const f of fields) {
    const i = f.indexOf(':')
    headers[f.slice(0, i).trim().toLowerCase()] = f.slice(i + 1).trim()
  }
  const after = raw.subarray(end + 4)
  const len = headers['content-length']
  const body = len !== undefined ? after.subarray(0, Number(len)) : after
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(line ?? '')?.[1] ?? 0), headers, body, rest: len !== undefined ? after.subarray(Number(len)) : Buffer.alloc(0) }
}

/** Decode a chunked body completely; undefined when the last chunk never came. */
function unchunk(b: Buffer): Buffer | undefined {
  const out: Buffer[] = []
  let i = 0
  for (;;) {
    const eol = b.indexOf('\r\n', i)
    if (eol < 0) return undefined
    const size = parseInt(b.subarray(i, eol).toString('latin1'), 16)
    if (size === 0) return Buffer.concat(out)
    out.push(b.subarray(eol + 2, eol + 2 + size))
    i = eol + 2 + size + 2
  }
}

/** Sizes of the top-level ISO BMFF boxes of `b`, or undefined when they do not tile it exactly. */
function boxTypes(b: Buffer): string[] | undefined {
  const types: string[] = []
  for (let i = 0; i < b.length;) {
    if (i + 8 > b.length) return undefined
    const size = b.readUInt32BE(i)
    if (size < 8 || i + size > b.length) return undefined
    types.push(b.subarray(i + 4, i + 8).toString('latin1'))
    i += size
  }
  return types
}

t.test('origin with the front on answers HTTP/1.0 at once', async (t) => {
  const o = await startOrigin(t, { http: { http10: true } })
  const port = o.httpPort

  const noHost = await exchange(port, 'GET /healthz HTTP/1.0\r\n\r\n')
  let r = parse(noHost.raw)
  t.equal(r.status, 200, 'HTTP/1.0 without Host: 200')
  t.equal(r.body.toString(), 'ok\n')
  t.equal(r.headers.connection, 'close', 'Connection: close (the client did not ask to keep it)')
  t.notOk(r.headers['transfer-encoding'], 'never chunked to HTTP/1.0')
  t.ok(noHost.closed, 'the server closes the connection')

  r = parse((await exchange(port, 'GET /live/none/index.m3u8 HTTP/1.0\r\nHost: example.test\r\n\r\n')).raw)
  t.equal(r.status, 404, 'HTTP/1.0 with Host: the route answers (404 for an unknown stream)')
  t.equal(r.headers['access-control-allow-origin'], '*', 'the origin\'s headers come through')

  const ka = await exchange(port, 'GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /api/v1/streams HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', 800)
  const first = parse(ka.raw)
  const second = parse(first.rest)
  t.equal(first.status, 200)
  t.equal(first.headers.connection, 'keep-alive', 'keep-alive when asked')
  t.equal(second.status, 200, 'second request on the same connection answered (the API sees a loopback client)')
  t.equal(second.body.toString(), '{"streams":[]}')
  t.notOk(ka.closed, 'the connection stays open')

  const h11 = await exchange(port, 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n', 800)
  const a = parse(h11.raw)
  t.equal(a.status, 200)
  t.equal(parse(a.rest).status, 200, 'HTTP/1.1 keep-alive through the relay')
  t.notOk(a.headers.connection, 'HTTP/1.1 answers unchanged (no Connection field added)')
  t.notOk(h11.closed)

  const noHost11 = await exchange(port, 'GET /healthz HTTP/1.1\r\n\r\n')
  t.equal(parse(noHost11.raw).status, 400, 'HTTP/1.1 without Host: 400 (RFC 9112 3.2), not silence')
  t.ok(noHost11.closed)
  t.equal(parse((await exchange(port, 'GET /healthz HTTP/2.0\r\nHost: a\r\n\r\n')).raw).status, 505, 'HTTP/2.0 in HTTP/1 syntax: 505')
  t.equal(parse((await exchange(port, 'NOT HTTP AT ALL\r\n\r\n')).raw).status, 400, 'garbage: 400')
})

t.test('front off: uWS alone leaves an HTTP/1.0 request unanswered (documented)', async (t) => {
  const o = await startOrigin(t)
  const r = await exchange(o.httpPort, 'GET /healthz HTTP/1.0\r\nHost: a\r\n\r\n', 1500)
  t.equal(r.raw.length, 0, 'no answer')
  t.notOk(r.closed, 'nor a refusal: the connection waits for uWS\'s idle timeout')
  t.equal(parse((await exchange(o.httpPort, 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n', 300)).raw).status, 200, 'HTTP/1.1 served as usual')
})

t.test('shield with the front on answers HTTP/1.0', async (t) => {
  const o = await startOrigin(t)
  const config = buildConfig({ http: { host: '127.0.0.1', port: 0, http10: true }, log: { level: 'silent' }, shield: { upstreams: [o.http] } })
  const shield = new Shield(config, createLogger('silent', { pretty: false }), { defaultMetrics: false })
  const { http: port } = await shield.start()
  t.teardown(() => shield.stop())
  const h = await exchange(port, 'GET /healthz HTTP/1.0\r\n\r\n')
  t.equal(parse(h.raw).status, 200)
  t.ok(h.closed)
  const r = parse((await exchange(port, 'GET /live/none/index.m3u8 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', 800)).raw)
  t.equal(r.status, 404, 'the origin\'s answer, through the shield\'s cache')
  t.equal(r.headers.connection, 'keep-alive')
})

t.test('LL-HLS through the front: blocking reload and a segment in production, HTTP/1.0 and HTTP/1.1', async (t) => {
  const o = await startOrigin(t, { http: { http10: true } })
  const pub = startPublisher(`${o.rtmp}/h10`, { width: 320, height: 180, fps: 15, gop: 15 })
  t.teardown(() => pub.stop())
  const mediaPath = '/live/h10/source/index.m3u8'
  const playlist = await waitForSegments(`${o.http}${mediaPath}`, 2)
  const lastMsn = Math.max(...[...playlist.matchAll(/^(\d+)\.m4s$/gm)].map((m) => Number(m[1])))
  const producing = lastMsn + 1

  // The next segment's first part does not exist yet: the request is held, then answered whole.
  const held = await exchange(o.httpPort, `GET ${mediaPath}?_HLS_msn=${producing + 1}&_HLS_part=0 HTTP/1.0\r\n\r\n`, 8000)
  const b = parse(held.raw)
  t.equal(b.status, 200, 'blocking reload over HTTP/1.0')
  t.ok(b.headers['content-length'], 'with a known length')
  t.match(b.body.toString(), new RegExp(`${producing + 1}\\.0\\.m4s`), 'the playlist answers the question it was held for')
  t.ok(held.ms >= 100, `it was held (${held.ms} ms)`)

  // The segment after the one now in production: streamed as it is made.
  const p = await (await fetch(`${o.http}${mediaPath}`)).text()
  const inProduction = Math.max(...[...p.matchAll(/^(\d+)\.m4s$/gm)].map((m) => Number(m[1]))) + 1
  const [h10, h11] = await Promise.all([
    exchange(o.httpPort, `GET /live/h10/source/${inProduction}.m4s HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`, 8000),
    exchange(o.httpPort, `GET /live/h10/source/${inProduction}.m4s HTTP/1.1\r\nHost: a\r\n\r\n`, 1500),
  ])
  const s10 = parse(h10.raw)
  t.equal(s10.status, 200, 'segment in production over HTTP/1.0')
  t.notOk(s10.headers['transfer-encoding'], 'not chunked')
  t.notOk(s10.headers['content-length'], 'no length known in advance')
  t.equal(s10.headers.connection, 'close', 'close-delimited, although keep-alive was asked')
  t.ok(h10.closed, 'the end of the body is the end of the connection')
  const boxes = boxTypes(s10.body)
  t.ok(boxes && boxes.includes('moof') && boxes.includes('mdat'), `the body is whole CMAF boxes (${boxes?.join(' ') ?? 'torn'})`)

  const s11 = parse(h11.raw)
  t.equal(s11.headers['transfer-encoding'], 'chunked', 'HTTP/1.1 through the front: chunked streaming unchanged')
  const whole = unchunk(s11.body)
  t.ok(whole, 'the chunked body ended with its last chunk')
  t.ok(whole && whole.equals(s10.body), 'both versions got the same bytes')
})
