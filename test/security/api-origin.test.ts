/**
 * Attack replay: a web page driving the admin API cross-origin. With no token the
 * API trusts loopback clients, and a browser on the server's machine is one: a page
 * on evil.example could preflight, get `Access-Control-Allow-Origin: *`, DELETE (kick)
 * a publisher and read publishers' addresses; DNS rebinding (evil.example resolved to
 * 127.0.0.1) needed no CORS at all. Replayed against a real server process while a
 * canary stream plays.
 */
import t, { type Test } from 'tap'
import { startCanaryServer, type CanaryServer } from '../helpers/canary.js'
import { rawRequest } from '../helpers/raw-http.js'

/** Server process RSS bound: a passthrough canary and a few API requests. */
const RSS_BOUND = 400e6

/** One raw HTTP/1.1 request (fetch() would not send our Host or a forbidden Origin). */
async function send(s: CanaryServer, method: string, path: string, headers: Record<string, string>): Promise<{ status: number; head: string; body: string }> {
  const lines = Object.entries({ Host: `127.0.0.1:${s.httpPort}`, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  const r = await rawRequest(s.httpPort, `${method} ${path} HTTP/1.1\r\n${lines}Connection: close\r\n\r\n`)
  const cut = r.text.indexOf('\r\n\r\n')
  return { status: r.status, head: r.text.slice(0, cut), body: r.text.slice(cut + 4) }
}
const header = (head: string, name: string): string | undefined => new RegExp(`^${name}: *(.*)$`, 'im').exec(head)?.[1]?.trim()
const preflight = { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'DELETE' }

async function stillPlaying(t: Test, s: CanaryServer, headers: Record<string, string> = {}): Promise<void> {
  await s.assertAdvancing(t, 8000, 'canary playlist after the attack')
  const state = JSON.parse((await send(s, 'GET', '/api/v1/streams/canary', headers)).body) as { state: string }
  t.equal(state.state, 'live', 'the canary publisher was not kicked')
  t.ok(s.rss() < RSS_BOUND, `server RSS ${Math.round(s.rss() / 1e6)} MB under ${RSS_BOUND / 1e6} MB`)
}

t.test('no token: foreign origins and foreign Host names are refused; loopback names work', async (t) => {
  const s = await startCanaryServer(t)
  const pre = await send(s, 'OPTIONS', '/api/v1/streams/canary', preflight)
  t.equal(pre.status, 403, 'the preflight from evil.example is refused')
  t.notMatch(pre.head, /^access-control-/im, 'with no CORS header at all')
  const del = await send(s, 'DELETE', '/api/v1/streams/canary', { Origin: 'http://evil.example' })
  t.equal(del.status, 403, 'a DELETE carrying a foreign Origin is refused')
  t.notMatch(del.head, /^access-control-/im)
  const list = await send(s, 'GET', '/api/v1/streams', { Origin: 'http://evil.example' })
  t.equal(list.status, 403, 'a GET carrying a foreign Origin is refused')
  t.notMatch(list.body, /"ingest"|"remote"/, 'and reveals no publisher')
  t.equal((await send(s, 'GET', '/api/v1/streams', { Origin: 'null' })).status, 403, 'an opaque origin too')

  // DNS rebinding: the page is same-origin to the browser, so it sends its own name as Host (and Origin).
  const rebound = await send(s, 'GET', '/api/v1/streams', { Host: `evil.example:${s.httpPort}` })
  t.equal(rebound.status, 403, 'Host: evil.example is refused')
  t.match(JSON.parse(rebound.body), { error: 'forbidden-origin', message: /loopback host names only/ })
  t.equal((await send(s, 'DELETE', '/api/v1/streams/canary', { Host: `evil.example:${s.httpPort}`, Origin: `http://evil.example:${s.httpPort}` })).status, 403,
    'a rebound page\'s DELETE is refused')

  for (const host of [`localhost:${s.httpPort}`, 'localhost', `127.0.0.1:${s.httpPort}`, `[::1]:${s.httpPort}`, '[::1]']) {
    const r = await send(s, 'GET', '/api/v1/streams', { Host: host })
    t.equal(r.status, 200, `Host: ${host} is accepted`)
    t.match(r.body, /"name":"canary"/)
    t.equal(header(r.head, 'access-control-allow-origin'), undefined, 'and granted no CORS')
  }
  const own = await send(s, 'DELETE', '/api/v1/streams/nobody', { Origin: `http://127.0.0.1:${s.httpPort}` })
  t.equal(own.status, 404, 'the server\'s own origin may DELETE (nobody publishes this name)')
  await stillPlaying(t, s)
})

t.test('with api.token: CORS only for api.corsOrigins', async (t) => {
  const s = await startCanaryServer(t, { config: { api: { token: 'sekrit-token', corsOrigins: ['http://admin.example'] } } })
  const auth = { Authorization: 'Bearer sekrit-token' }
  const ok = await send(s, 'OPTIONS', '/api/v1/streams/canary', { ...preflight, Origin: 'http://admin.example', 'Access-Control-Request-Headers': 'authorization' })
  t.equal(ok.status, 204, 'a listed origin\'s preflight is granted')
  t.equal(header(ok.head, 'access-control-allow-origin'), 'http://admin.example')
  t.match(header(ok.head, 'access-control-allow-methods') ?? '', /DELETE/)
  t.match(header(ok.head, 'access-control-allow-headers') ?? '', /authorization/i)

  const pre = await send(s, 'OPTIONS', '/api/v1/streams/canary', preflight)
  t.equal(pre.status, 403, 'an unlisted origin\'s preflight is refused')
  t.notMatch(pre.head, /^access-control-/im)

  const listed = await send(s, 'GET', '/api/v1/streams', { ...auth, Origin: 'http://admin.example' })
  t.equal(listed.status, 200)
  t.equal(header(listed.head, 'access-control-allow-origin'), 'http://admin.example', 'the listed origin may read the answer')
  t.equal(header(listed.head, 'vary'), 'Origin')
  const unlisted = await send(s, 'GET', '/api/v1/streams', { ...auth, Origin: 'http://evil.example' })
  t.equal(unlisted.status, 403, 'an unlisted origin is refused even with the token')
  t.notMatch(unlisted.head, /^access-control-/im)
  t.equal((await send(s, 'DELETE', '/api/v1/streams/canary', { ...auth, Origin: 'http://evil.example' })).status, 403)
  t.equal((await send(s, 'GET', '/api/v1/streams', { Host: 'stream.example' })).status, 401, 'any Host name, but the token is required')
  t.equal((await send(s, 'GET', '/api/v1/streams', { ...auth, Host: 'stream.example' })).status, 200, 'and enough')
  await stillPlaying(t, s, auth)
})
