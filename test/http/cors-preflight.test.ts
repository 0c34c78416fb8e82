/**
 * CORS preflight: a page on another origin may call the API with a bearer token
 * and DELETE (kick a publisher); media and playlists stay read-only.
 */
import t from 'tap'
import { startOrigin } from '../helpers/origin.js'
import { rawRequest } from '../helpers/raw-http.js'

const preflight = (method: string, headers: string): string =>
  `OPTIONS PATH HTTP/1.1\r\nHost: x\r\nOrigin: http://page.example\r\nAccess-Control-Request-Method: ${method}\r\nAccess-Control-Request-Headers: ${headers}\r\nConnection: close\r\n\r\n`

t.test('preflight for /api/v1/* allows DELETE and the Authorization header', async (t) => {
  const o = await startOrigin(t)
  for (const path of ['/api/v1/streams', '/api/v1/streams/cam']) {
    const r = (await rawRequest(o.httpPort, preflight('DELETE', 'authorization').replace('PATH', path))).text
    t.match(r, /^HTTP\/1\.1 204/, path)
    const methods = /^access-control-allow-methods: *(.*)\r$/im.exec(r)?.[1] ?? ''
    const headers = /^access-control-allow-headers: *(.*)\r$/im.exec(r)?.[1] ?? ''
    t.ok(methods.split(/, */).includes('DELETE'), `${path}: DELETE allowed (${methods})`)
    t.ok(headers.toLowerCase().split(/, */).includes('authorization'), `${path}: Authorization allowed (${headers})`)
    t.match(r, /^access-control-allow-origin: \*\r$/im)
  }
  const media = (await rawRequest(o.httpPort, preflight('DELETE', 'authorization').replace('PATH', '/live/cam/index.m3u8'))).text
  t.match(media, /^HTTP\/1\.1 204/)
  t.notMatch(media, /^access-control-allow-methods:.*DELETE/im, 'media stays read-only')
  t.notMatch(media, /^access-control-allow-headers:.*authorization/im)
})
