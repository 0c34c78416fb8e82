/**
 * Publish authorization without a network for the publisher: open, loopback,
 * keys for any protocol (SRT requests included), and hooks against a real local
 * HTTP server that accepts, refuses, fails or hangs.
 */
import t, { type Test } from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { buildConfig } from '../../src/config/load.js'
import { PublishAuth } from '../../src/core/publish-auth.js'
import { signBody, SIGNATURE_HEADER } from '../../src/core/hooks.js'
import type { PublishRequest } from '../../src/ingest/types.js'
import { KeyStore } from '../../src/store/keys.js'
import { captureLogger } from '../helpers/recording-handler.js'
import { tempDirSync } from '../helpers/temp-dir.js'

const req = (o: Partial<PublishRequest> = {}): PublishRequest => ({ protocol: 'rtmp', app: 'live', stream: 'cam', remote: '192.0.2.9:40000', role: 'primary', ...o })

function setup(t: Test, config: Record<string, unknown>) {
  const keys = KeyStore.open(tempDirSync(t, 'streamd-auth-'))
  t.teardown(() => keys.close())
  const auth = new PublishAuth(buildConfig(config))
  auth.useKeys(keys)
  const log = captureLogger()
  return { keys, auth, ...log }
}

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void

async function hookServer(t: Test, handle: Handler): Promise<{ url: string; bodies: Array<{ body: string; signature: string | undefined }> }> {
  const bodies: Array<{ body: string; signature: string | undefined }> = []
  const server = createServer((rq, rs) => {
    let body = ''
    rq.on('data', (c) => { body += c })
    rq.on('end', () => {
      bodies.push({ body, signature: rq.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined })
      handle(rq, body, rs)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies }
}

t.test('closed by default: no key, wrong key, revoked key are refused; the right key for the right name passes', async (t) => {
  const f = setup(t, {})
  t.match(await f.auth.authorize(req(), f.logger), { ok: false, reason: /a publish key is required/ })
  t.match(await f.auth.authorize(req({ key: 'guess' }), f.logger), { ok: false, reason: 'invalid publish key' })
  const secret = f.keys.add('cam')
  t.same(await f.auth.authorize(req({ key: secret }), f.logger), { ok: true, keyName: 'cam' })
  t.same(await f.auth.authorize(req({ key: secret, protocol: 'srt' }), f.logger), { ok: true, keyName: 'cam' }, 'SRT gets the same answer')
  t.match(await f.auth.authorize(req({ key: secret, stream: 'other' }), f.logger), { ok: false }, 'a key is bound to its stream')
  f.keys.revoke('cam')
  t.match(await f.auth.authorize(req({ key: secret }), f.logger), { ok: false, reason: 'invalid publish key' })
  const causes = f.warns().map((l) => l.msg)
  t.same(causes, ['publish refused: no publish key', 'publish refused: no key exists for this stream', 'publish refused: no key exists for this stream', 'publish refused: revoked key'])
  t.notOk(f.lines.some((l) => JSON.stringify(l).includes(secret) || JSON.stringify(l).includes('guess')), 'no secret in the log')
})

t.test('open: true lets anyone publish; loopback lets only this machine publish without a key', async (t) => {
  const open = setup(t, { publish: { open: true } })
  t.same(await open.auth.authorize(req(), open.logger), { ok: true, keyName: null })
  t.equal(open.auth.needsKeys, false)
  const lo = setup(t, { publish: { open: 'loopback' } })
  t.same(await lo.auth.authorize(req({ remote: '127.0.0.1:5555' }), lo.logger), { ok: true, keyName: null })
  t.same(await lo.auth.authorize(req({ remote: '[::1]:5555' }), lo.logger), { ok: true, keyName: null })
  t.match(await lo.auth.authorize(req({ remote: '192.0.2.9:5555' }), lo.logger), { ok: false, reason: /publish key is required/ })
  const secret = lo.keys.add('cam')
  t.same(await lo.auth.authorize(req({ remote: '192.0.2.9:5555', key: secret }), lo.logger), { ok: true, keyName: 'cam' }, 'remote peers still publish with a key')
})

t.test('on_publish accepts: signed JSON body with the key name, never the secret', async (t) => {
  const hook = await hookServer(t, (_q, _b, rs) => rs.end())
  const f = setup(t, { hooks: { onPublish: hook.url, secret: 'hook-secret' } })
  const secret = f.keys.add('cam')
  t.same(await f.auth.authorize(req({ key: secret }), f.logger), { ok: true, keyName: 'cam' })
  t.equal(hook.bodies.length, 1)
  const { body, signature } = hook.bodies[0]!
  t.match(JSON.parse(body), { action: 'on_publish', app: 'live', stream: 'cam', protocol: 'rtmp', remote: '192.0.2.9:40000', key: 'cam' })
  t.equal(signature, signBody(body, 'hook-secret'), 'HMAC-SHA256 of the exact body')
  t.notMatch(body, secret)
})

t.test('on_publish refusals: HTTP 500, SRS code, allow:false, unreachable, hanging past the timeout', async (t) => {
  const answers: Array<(rs: ServerResponse) => void> = [
    (rs) => { rs.statusCode = 500; rs.end('boom') },
    (rs) => rs.end('{"code": 403}'),
    (rs) => rs.end('{"allow": false, "reason": "not on the schedule"}'),
    () => { /* hang: never answer */ },
  ]
  let n = 0
  const hook = await hookServer(t, (_q, _b, rs) => answers[n++]!(rs))
  const f = setup(t, { publish: { open: true }, hooks: { onPublish: hook.url, timeoutMs: 300 } })
  t.match(await f.auth.authorize(req(), f.logger), { ok: false, reason: /hook answered HTTP 500/ })
  t.match(await f.auth.authorize(req(), f.logger), { ok: false, reason: /hook answered code 403/ })
  t.match(await f.auth.authorize(req(), f.logger), { ok: false, reason: /not on the schedule/ })
  const t0 = Date.now()
  t.match(await f.auth.authorize(req(), f.logger), { ok: false, reason: /did not answer within 300 ms/ })
  t.ok(Date.now() - t0 < 5000, 'the hang is cut off by the timeout')
  const down = setup(t, { publish: { open: true }, hooks: { onPublish: 'http://127.0.0.1:1/hook', timeoutMs: 2000 } })
  t.match(await down.auth.authorize(req(), down.logger), { ok: false, reason: /hook failed/ })
  t.equal(f.warns().filter((l) => l.msg === 'publish refused by on_publish hook').length, 4, 'each refusal logged')
})

t.test('on_publish_done is fire-and-forget; its failure is logged', async (t) => {
  const hook = await hookServer(t, (_q, _b, rs) => { rs.statusCode = 503; rs.end() })
  const f = setup(t, { publish: { open: true }, hooks: { onPublishDone: hook.url } })
  t.equal(f.auth.publishDone(req(), null, f.logger), undefined, 'returns at once')
  const end = Date.now() + 5000
  while (!f.warns().length && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
  t.match(JSON.parse(hook.bodies[0]!.body), { action: 'on_publish_done', stream: 'cam', key: null })
  t.match(f.warns()[0], { msg: 'on_publish_done hook failed', reason: 'hook answered HTTP 503' })
})

t.test('the input role is in the signed body of on_publish and on_publish_done', async (t) => {
  const hook = await hookServer(t, (_q, body, rs) => {
    // A hook that takes the primary only: the role is what it decides on.
    rs.end(JSON.parse(body).role === 'backup' && JSON.parse(body).action === 'on_publish' ? '{"allow": false, "reason": "no backups here"}' : '')
  })
  const f = setup(t, { publish: { open: true }, hooks: { onPublish: hook.url, onPublishDone: hook.url, secret: 'hook-secret' } })
  t.same(await f.auth.authorize(req(), f.logger), { ok: true, keyName: null })
  t.same(await f.auth.authorize(req({ role: 'backup' }), f.logger), { ok: false, reason: 'refused by on_publish hook: no backups here' })
  f.auth.publishDone(req({ role: 'backup' }), null, f.logger)
  const end = Date.now() + 5000
  while (hook.bodies.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
  t.same(hook.bodies.map((b) => [JSON.parse(b.body).action, JSON.parse(b.body).role]), [['on_publish', 'primary'], ['on_publish', 'backup'], ['on_publish_done', 'backup']])
  t.ok(hook.bodies.every((b) => b.signature === signBody(b.body, 'hook-secret')), 'each body signed as sent')
})
