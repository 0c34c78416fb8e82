/**
 * Which pages may drive the admin API: the rule on its own (Origin, Host, token,
 * api.corsOrigins) and the config key's validation. The same rules against a real
 * server process are replayed in test/security/api-origin.test.ts.
 */
import t from 'tap'
import { decideOrigin, hostName, isLoopbackHost, preflightHeaders } from '../../src/http/api-origin.js'
import { buildConfig } from '../../src/config/load.js'

const open = { token: false, corsOrigins: [] }
const tok = { token: true, corsOrigins: ['https://admin.example', 'http://localhost:3000'] }

t.test('Host names of this machine', async (t) => {
  for (const h of ['localhost', 'localhost:8080', 'LOCALHOST:1', '127.0.0.1', '127.0.0.1:8080', '127.9.9.9:80', '[::1]', '[::1]:8080', '[0:0:0:0:0:0:0:1]:80', '[::ffff:127.0.0.1]:8080']) {
    t.ok(isLoopbackHost(h), h)
  }
  for (const h of ['', 'evil.example', 'evil.example:8080', 'localhost.evil.example', '127.0.0.1.evil.example', '10.0.0.1:8080', '[::2]:80', 'localhost:8080:9', 'local host', '[::1']) {
    t.notOk(isLoopbackHost(h), JSON.stringify(h))
  }
  t.equal(hostName('[::1]:8080'), '[::1]')
  t.equal(hostName('a\r\nb'), undefined)
})

t.test('no token: loopback Host only, and no page of another origin', async (t) => {
  t.same(decideOrigin('', '127.0.0.1:8080', open), { allowed: true, cors: {} }, 'a client without Origin (curl, scripts)')
  t.same(decideOrigin('http://127.0.0.1:8080', '127.0.0.1:8080', open), { allowed: true, cors: {} }, 'the server\'s own page')
  t.same(decideOrigin('http://localhost', 'localhost:80', open), { allowed: true, cors: {} }, 'the default port is the same origin')
  t.match(decideOrigin('http://evil.example', '127.0.0.1:8080', open), { allowed: false, message: /other web origins are refused/ })
  t.match(decideOrigin('null', '127.0.0.1:8080', open), { allowed: false }, 'an opaque origin (sandboxed frame, file:) is foreign')
  t.match(decideOrigin('http://127.0.0.1:9999', '127.0.0.1:8080', open), { allowed: false }, 'another port is another origin')
  t.match(decideOrigin('http://admin.example', '127.0.0.1:8080', { token: false, corsOrigins: ['http://admin.example'] }), { allowed: false },
    'api.corsOrigins grants nothing without a token')
  // DNS rebinding: the page is same-origin to the browser, but the Host names the attacker.
  t.match(decideOrigin('http://evil.example:8080', 'evil.example:8080', open), { allowed: false, message: /loopback host names only/ })
  t.match(decideOrigin('', 'evil.example:8080', open), { allowed: false })
  t.match(decideOrigin('', '', open), { allowed: false }, 'no Host at all')
})

t.test('with a token: CORS for the listed origins only', async (t) => {
  t.same(decideOrigin('', 'stream.example', tok), { allowed: true, cors: {} }, 'any Host: the token guards')
  t.same(decideOrigin('https://stream.example', 'stream.example', tok), { allowed: true, cors: {} }, 'same origin needs no CORS')
  const ok = decideOrigin('https://admin.example', 'stream.example:8080', tok)
  t.match(ok, { allowed: true, cors: { 'Access-Control-Allow-Origin': 'https://admin.example', Vary: 'Origin' } })
  t.match(decideOrigin('https://evil.example', 'stream.example', tok), { allowed: false, message: /not in api.corsOrigins/ })
  t.match(decideOrigin('https://admin.example.evil', 'stream.example', tok), { allowed: false }, 'exact match, not a prefix')
  const pre = preflightHeaders(ok.allowed ? ok.cors : {}, 'GET, HEAD, DELETE, OPTIONS')
  t.match(pre['Access-Control-Allow-Methods'], /DELETE/)
  t.equal(pre['Access-Control-Allow-Headers'], 'Authorization')
  t.same(preflightHeaders({}, 'GET'), {}, 'no CORS granted: a bare preflight answer, which browsers treat as refusal')
})

t.test('api.corsOrigins takes origins as browsers write them', async (t) => {
  t.same(buildConfig({ api: { corsOrigins: ['https://admin.example', 'http://localhost:3000'] } }).api.corsOrigins, ['https://admin.example', 'http://localhost:3000'])
  t.same(buildConfig({}).api.corsOrigins, [], 'none by default')
  for (const bad of ['https://admin.example/', 'admin.example', 'https://admin.example/path', 'ftp://x.example', '*', 'https://ADMIN.example']) {
    t.throws(() => buildConfig({ api: { corsOrigins: [bad] } }), { message: /config: api\.corsOrigins is .*; expected a list whose items are each an origin like/ }, JSON.stringify(bad))
  }
})
