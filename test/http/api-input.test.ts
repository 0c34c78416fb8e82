/**
 * The redundant-input API on the real HTTP server, with a stand-in for the
 * session's switch: every input and the on-air one in GET, and
 * POST /api/v1/streams/{name}/input validated (400, 413), routed (404, 405),
 * authorised like every other API write (401, 403) and answered 202 or with
 * the session's refusal (404, 409).
 */
import t, { type Test } from 'tap'
import { connect } from 'node:net'
import { HttpServer } from '../../src/http/server.js'
import type { SwitchResult } from '../../src/http/api-input.js'
import { Metrics } from '../../src/log/metrics.js'
import { silentLogger } from '../../src/log/logger.js'
import { LiveStream, StreamDirectory, type OnAirInput } from '../../src/packager/live-stream.js'
import { get } from '../helpers/origin.js'
import { rawRequest } from '../helpers/raw-http.js'

/** Send `raw` on one connection and collect everything until the server closes it. */
function untilClosed(port: number, raw: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1')
    let text = ''
    const timer = setTimeout(() => sock.destroy(), 5000)
    sock.on('data', (d) => { text += d.toString('latin1') })
    sock.on('close', () => { clearTimeout(timer); resolve(text) })
    sock.on('error', () => {})
    sock.write(raw)
  })
}

interface Options { token?: string; corsOrigins?: string[]; http10?: boolean; noSwitch?: boolean }

async function serve(t: Test, o: Options = {}) {
  const directory = new StreamDirectory()
  const cam = new LiveStream('cam')
  cam.state = 'live'
  directory.add(cam)
  const calls: Array<[string, OnAirInput]> = []
  let answer: SwitchResult = { ok: true }
  const server = new HttpServer({
    directory, metrics: new Metrics({ defaultMetrics: false }), logger: silentLogger(), targetDuration: 2,
    apiToken: o.token ?? null, apiCorsOrigins: o.corsOrigins ?? [], http10: o.http10,
    ...(o.noSwitch ? {} : { switchInput: (stream: string, input: OnAirInput): SwitchResult => { calls.push([stream, input]); return answer } }),
  })
  const port = await server.listen('127.0.0.1', 0)
  t.teardown(() => server.close())
  const base = `http://127.0.0.1:${port}`
  const post = (body: string, path = '/api/v1/streams/cam/input', headers: Record<string, string> = {}) =>
    get(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body })
  return { cam, directory, calls, port, base, post, answerWith: (a: SwitchResult) => { answer = a } }
}

t.test('GET shows every input with its media age at request time, and what is on air', async (t) => {
  const s = await serve(t)
  const now = Date.now()
  s.cam.inputs = [
    { role: 'primary', state: 'lost', remote: '192.0.2.1:5000', protocol: 'rtmp', bitrate: 0, since: now - 60_000, lastMediaAt: now - 4000, problem: 'no media for 4 s' },
    { role: 'backup', state: 'on-air', remote: '192.0.2.2:6000', protocol: 'srt', bitrate: 2_500_000.4, since: now - 30_000, lastMediaAt: now - 20 },
  ]
  s.cam.onAir = 'backup'
  const one = JSON.parse((await get(`${s.base}/api/v1/streams/cam`)).text)
  t.equal(one.onAir, 'backup')
  t.match(one.inputs, [
    { role: 'primary', state: 'lost', remote: '192.0.2.1:5000', protocol: 'rtmp', bitrate: 0, since: new Date(now - 60_000).toISOString(), problem: 'no media for 4 s' },
    { role: 'backup', state: 'on-air', remote: '192.0.2.2:6000', protocol: 'srt', bitrate: 2_500_000, since: new Date(now - 30_000).toISOString() },
  ])
  t.ok(one.inputs[0].lastMediaAgeMs >= 4000 && one.inputs[0].lastMediaAgeMs < 14_000, `age counted at request time (${one.inputs[0].lastMediaAgeMs} ms)`)
  t.notOk('problem' in one.inputs[1], 'no problem field when there is none')
  await new Promise((r) => setTimeout(r, 300))
  const later = JSON.parse((await get(`${s.base}/api/v1/streams`)).text).streams[0]
  t.ok(later.inputs[0].lastMediaAgeMs >= one.inputs[0].lastMediaAgeMs + 250, 'the list recounts it on every request')
  t.equal(later.onAir, 'backup')

  const plain = new LiveStream('plain')
  s.directory.add(plain)
  t.match(JSON.parse((await get(`${s.base}/api/v1/streams/plain`)).text), { inputs: [], onAir: null, ingest: null }, 'before core reports inputs')
})

t.test('POST input: 202 with the switch\'s result; the session\'s refusals pass through', async (t) => {
  const s = await serve(t)
  const ok = await s.post('{"input":"backup"}')
  t.equal(ok.status, 202)
  t.same(JSON.parse(ok.text), { ok: true, stream: 'cam', input: 'backup' })
  t.equal(ok.headers.get('cache-control'), 'no-store')
  t.equal((await s.post(' { "input" : "slate" , "note": "later fields are ignored" } ')).status, 202)
  t.same(s.calls, [['cam', 'backup'], ['cam', 'slate']])
  s.answerWith({ ok: false, status: 409, reason: 'no backup is connected' })
  const busy = await s.post('{"input":"backup"}')
  t.equal(busy.status, 409)
  t.same(JSON.parse(busy.text), { error: 'conflict', message: 'no backup is connected' })
  s.answerWith({ ok: false, status: 404, reason: 'cam is not live' })
  t.same([(await s.post('{"input":"primary"}')).status], [404])
})

t.test('POST input: bad bodies get a 400 naming the problem, big ones 413; the switch is never asked', async (t) => {
  const s = await serve(t)
  const cases: Array<[string, RegExp]> = [
    ['', /not JSON/],
    ['{"input":', /not JSON/],
    ['"backup"', /must be a JSON object/],
    ['[{"input":"backup"}]', /must be a JSON object/],
    ['{}', /no "input"/],
    ['{"input":2}', /must be a string, not number/],
    ['{"input":null}', /must be a string, not null/],
    ['{"input":"bkp"}', /must be primary, backup or slate, not "bkp"/],
    ['{"input":"Backup"}', /not "Backup"/],
  ]
  for (const [body, message] of cases) {
    const r = await s.post(body)
    t.equal(r.status, 400, JSON.stringify(body))
    t.match(JSON.parse(r.text), { error: 'bad-request', message })
  }
  const big = await s.post(`{"input":"backup","pad":"${'x'.repeat(5000)}"}`)
  t.equal(big.status, 413)
  t.match(JSON.parse(big.text), { error: 'content-too-large', message: /at most 1024 bytes/ })
  // Chunked, so no Content-Length warns ahead: refused once the bytes pass the limit, and the
  // connection still answers the request after it.
  const chunk = `{"input":"backup","pad":"${'x'.repeat(900)}`
  const raw = `POST /api/v1/streams/cam/input HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n` +
    `${chunk.length.toString(16)}\r\n${chunk}\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n2\r\n"}\r\n0\r\n\r\n` +
    `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`
  const text = await untilClosed(s.port, raw)
  t.match(text, /^HTTP\/1\.1 413 /)
  t.match(text, /\r\n\r\n\{"error":"content-too-large".*\}HTTP\/1\.1 200 OK\r\n.*\r\n\r\nok\n$/s, 'then the next request on the connection is answered')
  t.same(s.calls, [], 'the switch was never asked')
})

t.test('POST input: 404 unknown stream, 405 other methods, 409 on a server that cannot switch', async (t) => {
  const s = await serve(t)
  const missing = await s.post('{"input":"backup"}', '/api/v1/streams/nope/input')
  t.equal(missing.status, 404)
  t.match(JSON.parse(missing.text), { error: 'not-found', message: /nope/ })
  const g = await get(`${s.base}/api/v1/streams/cam/input`)
  t.equal(g.status, 405)
  t.equal(g.headers.get('allow'), 'POST, OPTIONS')
  t.equal((await get(`${s.base}/api/v1/streams/cam/input`, { method: 'DELETE' })).status, 405)
  t.equal((await get(`${s.base}/api/v1/streams/cam/other`, { method: 'POST', body: '{}' })).status, 405, 'no other sub-resource: a write to an unknown path')
  t.same(s.calls, [])
  const none = await serve(t, { noSwitch: true })
  const r = await none.post('{"input":"backup"}')
  t.equal(r.status, 409)
  t.match(JSON.parse(r.text), { error: 'conflict' })
})

t.test('POST input is authorised like the other API writes', async (t) => {
  const s = await serve(t, { token: 'sekrit', corsOrigins: ['http://admin.example'] })
  t.equal((await s.post('{"input":"backup"}')).status, 401, 'no token')
  t.equal((await s.post('{"input":"backup"}', undefined, { Authorization: 'Bearer wrong' })).status, 401, 'wrong token')
  t.equal((await s.post('{"input":"backup"}', undefined, { Authorization: 'Bearer sekrit', Origin: 'http://evil.example' })).status, 403, 'an unlisted page')
  t.same(s.calls, [], 'none of them reached the switch')
  t.equal((await s.post('{"input":"backup"}', undefined, { Authorization: 'Bearer sekrit' })).status, 202)
  const pre = await rawRequest(s.port, 'OPTIONS /api/v1/streams/cam/input HTTP/1.1\r\nHost: stream.example\r\nOrigin: http://admin.example\r\n' +
    'Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization, content-type\r\nConnection: close\r\n\r\n')
  t.match(pre.text, /^HTTP\/1\.1 204/)
  t.match(pre.text, /^access-control-allow-methods: POST, OPTIONS\r$/im)
  t.match(pre.text, /^access-control-allow-headers: Authorization, Content-Type\r$/im, 'a listed page may send JSON')

  const open = await serve(t)
  const foreign = await open.post('{"input":"backup"}', undefined, { Origin: 'http://evil.example' })
  t.equal(foreign.status, 403, 'no token: a foreign page is refused')
  t.match(JSON.parse(foreign.text), { error: 'forbidden-origin' })
  const rebound = await rawRequest(open.port, 'POST /api/v1/streams/cam/input HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 18\r\n\r\n{"input":"backup"}')
  t.match(rebound.text, /^HTTP\/1\.1 403 /, 'no token: a DNS-rebound Host is refused')
  t.same(open.calls, [])
})

t.test('POST input through the HTTP/1.0 front: the body reaches the API', async (t) => {
  const s = await serve(t, { http10: true })
  const r = await rawRequest(s.port, 'POST /api/v1/streams/cam/input HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 18\r\n\r\n{"input":"backup"}')
  t.match(r.text, /^HTTP\/1\.[01] 202 /)
  t.same(s.calls, [['cam', 'backup']])
})
