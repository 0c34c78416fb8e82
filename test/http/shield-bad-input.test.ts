/**
 * Hostile requests to a shield get a clean refusal without reaching the origin,
 * and the shield keeps serving everyone else.
 */
import t from 'tap'
import { startStubOrigin } from '../helpers/stub-origin.js'
import { startShield } from '../helpers/shield.js'
import { rawRequest, getRequest } from '../helpers/raw-http.js'
import { shieldGet } from '../helpers/shield-client.js'

t.test('hostile paths are refused at the shield, never forwarded', async (t) => {
  const o = await startStubOrigin(t, () => ({ body: 'ok' }))
  const s = await startShield(t, [o.url])
  const cases: Array<[string, string, number[]]> = [
    ['traversal', '/live/../../etc/passwd', [404]],
    ['encoded traversal', '/live/%2e%2e/%2e%2e/etc/passwd', [404]],
    ['encoded slash', '/live/a%2fb/index.m3u8', [404]],
    ['empty segment', '/live//index.m3u8', [404]],
    ['dot file', '/live/a/.env', [404]],
    ['the origin admin API (trusted from loopback, which the shield is)', '/api/v1/streams', [404]],
    ['an API stream', '/api/v1/streams/cam1', [404]],
    ['overlong path', `/live/${'a'.repeat(3000)}/index.m3u8`, [414, 431]],
    ['overlong query', `/live/a/v/index.m3u8?${'x'.repeat(3000)}`, [414, 431]],
  ]
  for (const [what, path, statuses] of cases) {
    const r = await rawRequest(s.port, getRequest(path))
    t.ok(statuses.includes(r.status), `${what}: ${r.status}`)
  }
  const post = await rawRequest(s.port, 'POST /live/a/v/1.m4s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')
  t.equal(post.status, 405, 'POST refused')
  t.same(o.log.filter((p) => p !== '/healthz'), [], 'nothing but health probes reached the origin')
  const ok = await shieldGet(`${s.url}/live/a/v/1.m4s`)
  t.equal(ok.body, 'ok', 'still serving')
  t.equal((await shieldGet(`${s.url}/healthz`)).status, 200)
  const metrics = await shieldGet(`${s.url}/metrics`)
  t.match(metrics.body, /streamd_shield_upstream_requests 1\n/, 'metrics count the one upstream request')
  t.match(metrics.body, /streamd_shield_inflight_bytes 0\n/, 'nothing charged to the in-flight budget once fills are done')
  t.match(metrics.body, /streamd_shield_inflight_limit_bytes \d+\n/, 'the budget itself is exported')
  t.match(metrics.body, /streamd_http_requests_total\{route="shield",status="404"\} 7/, 'and the refusals')
  const pre = await rawRequest(s.port, 'OPTIONS /live/a/v/1.m4s HTTP/1.1\r\nHost: x\r\n\r\n')
  t.equal(pre.status, 204, 'CORS preflight answered by the shield')
})
