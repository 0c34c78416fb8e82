/**
 * /api/v1/streams with a real publisher: fields, one stream, 404s, DELETE
 * kicking the publisher, viewer counters, and the token / loopback guard.
 */
import t from 'tap'
import { connect } from 'node:net'
import { apiDenied } from '../../src/http/api.js'
import { get, startOrigin, waitFor, waitForSegments } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'

t.test('access rule: token when configured, else loopback only', async (t) => {
  t.equal(apiDenied('', '127.0.0.1', null), undefined)
  t.equal(apiDenied('', '0000:0000:0000:0000:0000:0000:0000:0001', undefined), undefined, 'uWS spelling of ::1')
  t.match(apiDenied('', '192.0.2.9', null), { status: 403, code: 'forbidden', message: /loopback clients only; set api.token/ })
  t.match(apiDenied('', '127.0.0.1', 'tok'), { status: 401 }, 'a token applies to loopback too')
  t.match(apiDenied('Bearer nope', '192.0.2.9', 'tok'), { status: 401 })
  t.match(apiDenied('Basic tok', '192.0.2.9', 'tok'), { status: 401 })
  t.match(apiDenied(`Bearer ${'x'.repeat(100_000)}`, '192.0.2.9', 'tok'), { status: 401 }, 'a huge token is just wrong')
  t.equal(apiDenied('Bearer tok', '192.0.2.9', 'tok'), undefined)
  t.equal(apiDenied('bearer  tok ', '192.0.2.9', 'tok'), undefined, 'scheme is case-insensitive (RFC 9110 11.1)')
})

t.test('with a token: 401 JSON without it or with a wrong one, 200 with it', async (t) => {
  const o = await startOrigin(t, { api: { token: 'sekrit-token' } })
  const none = await get(`${o.http}/api/v1/streams`)
  t.equal(none.status, 401)
  t.equal(none.headers.get('www-authenticate'), 'Bearer realm="streamd"')
  t.match(JSON.parse(none.text), { error: 'unauthorized' })
  t.equal((await get(`${o.http}/api/v1/streams`, { headers: { Authorization: 'Bearer wrong' } })).status, 401)
  t.equal((await get(`${o.http}/api/v1/streams/x`, { method: 'DELETE', headers: { Authorization: 'Bearer wrong' } })).status, 401)
  const ok = await get(`${o.http}/api/v1/streams`, { headers: { Authorization: 'Bearer sekrit-token' } })
  t.equal(ok.status, 200)
  t.same(JSON.parse(ok.text), { streams: [] })
})

t.test('stream fields, one stream, counters, 404s, and DELETE kicking the publisher', async (t) => {
  const o = await startOrigin(t)
  const pub = startPublisher(`${o.rtmp}/cam`, { width: 320, height: 180 })
  t.teardown(() => pub.stop())
  await waitForSegments(`${o.http}/live/cam/source/index.m3u8`, 1)
  const one = await waitFor(async () => {
    const j = JSON.parse((await get(`${o.http}/api/v1/streams/cam`)).text)
    return j.ingest?.bitrate > 0 ? j : undefined
  }, 10_000, 'an input bitrate')
  t.match(one, { name: 'cam', state: 'live', ingest: { protocol: 'rtmp', remote: /^127\.0\.0\.1:\d+$/, key: null } })
  t.ok(Date.now() - Date.parse(one.ingest.since) < 60_000, 'since is a recent ISO time')
  t.ok(one.renditions.length >= 1 && one.renditions[0].codecs.length >= 1, 'renditions with codecs')
  const list = JSON.parse((await get(`${o.http}/api/v1/streams`)).text)
  t.same(list.streams.map((s: { name: string }) => s.name), ['cam'])

  const before = one.viewers
  for (let i = 0; i < 3; i++) await get(`${o.http}/live/cam/index.m3u8`)
  for (let i = 0; i < 2; i++) await get(`${o.http}/live/cam/source/index.m3u8`)
  await get(`${o.http}/live/cam/source/init.mp4`)
  const after = JSON.parse((await get(`${o.http}/api/v1/streams/cam`)).text).viewers
  t.equal(after.playlistRequests - before.playlistRequests, 5, 'playlist requests counted')
  t.equal(after.mediaRequests - before.mediaRequests, 1, 'media requests counted')
  t.equal(after.distinctClients, 1, 'one client address')

  const missing = await get(`${o.http}/api/v1/streams/nope`)
  t.equal(missing.status, 404)
  t.match(JSON.parse(missing.text), { error: 'not-found', message: /nope/ })
  t.equal((await get(`${o.http}/api/v1/streams/nope`, { method: 'DELETE' })).status, 404)
  t.equal((await get(`${o.http}/api/v1/streams/cam`, { method: 'POST' })).status, 405)

  const exited = new Promise<number | null>((resolve) => pub.once('exit', (c) => resolve(c)))
  const del = await get(`${o.http}/api/v1/streams/cam`, { method: 'DELETE' })
  t.equal(del.status, 204)
  t.not(await exited, 0, 'the publisher was disconnected')
  await waitFor(async () => JSON.parse((await get(`${o.http}/api/v1/streams/cam`)).text).state === 'ended', 10_000, 'the stream to end')
  t.equal((await get(`${o.http}/api/v1/streams/cam`, { method: 'DELETE' })).status, 404, 'nobody left to kick')
})

t.test('204 answers (DELETE, preflight) carry no Content-Length and the connection serves the next request', async (t) => {
  const o = await startOrigin(t)
  const s = connect(o.httpPort, '127.0.0.1')
  t.teardown(() => s.destroy())
  let out = ''
  s.on('data', (d) => { out += d })
  s.write('OPTIONS /live/x/index.m3u8 HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor(() => out.includes('ok\n'), 5000, 'both answers')
  const first = out.slice(0, out.indexOf('\r\n\r\n'))
  t.match(first, /^HTTP\/1\.1 204 No Content/)
  t.notMatch(first, /^Content-Length:/im, 'RFC 9110 8.6: no Content-Length in a 204')
  t.match(out, /HTTP\/1\.1 200 OK[\s\S]*\r\n\r\nok\n$/, 'the pipelined request is answered on the same connection')
})
