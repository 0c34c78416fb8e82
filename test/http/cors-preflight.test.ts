/**
 * CORS preflight: playlists and media are read-only for any page; the API grants
 * a preflight (DELETE with a bearer token) only to the origins in api.corsOrigins,
 * and only when a token is set; otherwise a foreign page's preflight is refused.
 */
import t from 'tap'
import { startOrigin } from '../helpers/origin.js'
import { rawRequest } from '../helpers/raw-http.js'

const preflight = (path: string, origin: string, host = '127.0.0.1'): string =>
  `OPTIONS ${path} HTTP/1.1\r\nHost: ${host}\r\nOrigin: ${origin}\r\nAccess-Control-Request-Method: DELETE\r\nAccess-Control-Request-Headers: authorization\r\nConnection: close\r\n\r\n`
const header = (r: string, name: string): string | undefined => new RegExp(`^${name}: *(.*)\\r$`, 'im').exec(r)?.[1]

t.test('playlists and media: any origin may read, none may DELETE', async (t) => {
  const o = await startOrigin(t)
  const media = (await rawRequest(o.httpPort, preflight('/live/cam/index.m3u8', 'http://page.example'))).text
  t.match(media, /^HTTP\/1\.1 204/)
  t.equal(header(media, 'access-control-allow-origin'), '*')
  t.notMatch(media, /^access-control-allow-methods:.*DELETE/im, 'media stays read-only')
  t.notMatch(media, /^access-control-allow-headers:.*authorization/im)
})

t.test('no token: a foreign page\'s API preflight is refused without CORS headers', async (t) => {
  const o = await startOrigin(t)
  for (const path of ['/api/v1/streams', '/api/v1/streams/cam']) {
    const r = (await rawRequest(o.httpPort, preflight(path, 'http://page.example'))).text
    t.match(r, /^HTTP\/1\.1 403/, path)
    t.notMatch(r, /^access-control-/im, `${path}: no CORS header at all`)
  }
})

t.test('with a token: the preflight of a listed origin allows DELETE and Authorization; others are refused', async (t) => {
  const o = await startOrigin(t, { api: { token: 'sekrit', corsOrigins: ['http://page.example'] } })
  for (const path of ['/api/v1/streams', '/api/v1/streams/cam']) {
    const r = (await rawRequest(o.httpPort, preflight(path, 'http://page.example', 'stream.example'))).text
    t.match(r, /^HTTP\/1\.1 204/, `${path}: answered without the token (preflights never carry it)`)
    t.equal(header(r, 'access-control-allow-origin'), 'http://page.example', 'the origin itself, never *')
    t.equal(header(r, 'vary'), 'Origin')
    t.match(header(r, 'access-control-allow-headers') ?? '', /authorization/i)
    const methods = header(r, 'access-control-allow-methods') ?? ''
    t.equal(methods.split(/, */).includes('DELETE'), path === '/api/v1/streams/cam', `${path}: DELETE only where it exists (${methods})`)
    const other = (await rawRequest(o.httpPort, preflight(path, 'http://other.example', 'stream.example'))).text
    t.match(other, /^HTTP\/1\.1 403/)
    t.notMatch(other, /^access-control-/im)
  }
})
