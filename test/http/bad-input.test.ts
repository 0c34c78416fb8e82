/**
 * Hostile HTTP input against a server with a live stream: each gets a clean
 * refusal, and the live stream keeps being served to everyone else.
 */
import t from 'tap'
import { startOrigin, get, waitForSegments } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'
import { rawRequest, getRequest } from '../helpers/raw-http.js'

t.test('hostile requests are refused while the stream keeps serving', async (t) => {
  const o = await startOrigin(t)
  const pub = startPublisher(`${o.rtmp}/ok`, { width: 320, height: 180 })
  t.teardown(() => pub.stop())
  const playlist = `${o.http}/live/ok/source/index.m3u8`
  await waitForSegments(playlist, 1)

  const stillServing = async (what: string): Promise<void> => {
    const r = await get(playlist)
    t.equal(r.status, 200, `live playlist still served after ${what}`)
  }

  const refusals: Array<[string, string, number[]]> = [
    ['path traversal', '/live/../../etc/passwd', [404]],
    ['traversal inside the stream path', '/live/ok/../../../etc/passwd', [404]],
    ['encoded traversal', '/live/%2e%2e/%2e%2e/etc/passwd', [404]],
    ['encoded slash in a name', '/live/ok%2fsource/index.m3u8', [404]],
    ['unknown stream', '/live/nope/index.m3u8', [404]],
    ['unknown rendition', '/live/ok/nope/index.m3u8', [404]],
    ['unknown file', '/live/ok/source/secret.txt', [404]],
    ['negative segment', '/live/ok/source/-1.m4s', [404]],
    ['huge segment number', '/live/ok/source/99999999999999999999999.m4s', [404]],
    ['far future segment', '/live/ok/source/999999999999.m4s', [404]],
    ['non-numeric part', '/live/ok/source/1.x.m4s', [404]],
    ['overlong path', `/live/${'a'.repeat(3000)}/index.m3u8`, [414, 431]],
    ['overlong query', `/live/ok/source/index.m3u8?${'x'.repeat(3000)}`, [414, 431]],
    ['bad _HLS_msn', '/live/ok/source/index.m3u8?_HLS_msn=abc', [400]],
    ['_HLS_part alone', '/live/ok/source/index.m3u8?_HLS_part=1', [400]],
  ]
  for (const [what, path, statuses] of refusals) {
    const r = await rawRequest(o.httpPort, getRequest(path))
    t.ok(statuses.includes(r.status) || (r.status === 0 && r.closed && statuses.includes(431)), `${what}: got ${r.status}, want ${statuses.join('/')}`)
    t.notMatch(r.text, /root:.*:0:0:/, `${what}: no file content leaked`)
  }
  await stillServing('the refusals')

  // uWS answers nothing to bytes that are not HTTP; it closes them on its idle timeout (~10 s).
  const garbage = rawRequest(o.httpPort, Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a]), 20_000)
  // Header buffering is bounded by uWS: a 2 MB header closes the connection.
  const huge = await rawRequest(o.httpPort, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(2_000_000)}\r\n\r\n`)
  t.ok(huge.closed && huge.status === 0, 'a 2 MB header closes the connection')
  await stillServing('a 2 MB header, with a garbage connection open')
  const g = await garbage
  t.ok(g.closed && g.status === 0, 'garbage bytes: connection closed, nothing answered')
  const post = await rawRequest(o.httpPort, 'POST /live/ok/source/index.m3u8 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')
  t.equal(post.status, 405)
  await stillServing('garbage, huge headers and POST')

  const errors = await get(`${o.http}/live/nope/index.m3u8`)
  t.equal(errors.headers.get('access-control-allow-origin'), '*', 'errors carry CORS too')
  t.match(errors.headers.get('cache-control') ?? '', /max-age=2\b/, '404 is cached for one target duration (rfc8216bis B.1)')
})
