/**
 * The HTTP/1.0 front's pieces: the PROXY v2 header it opens every upstream
 * connection with, which first request heads go straight to uWS, that a client
 * address is only taken from that header when the peer is loopback, and, against
 * a recording upstream, the exact bytes uWS receives for a relayed connection.
 */
import t from 'tap'
import { createServer, connect, type Socket } from 'node:net'
import { addressBytes, proxyHeader, startHttp10Front, uwsCanAnswer, withClientAddress } from '../../src/http/http10-front.js'
import type { RequestContext } from '../../src/http/reply.js'
import type { HttpResponse } from 'uWebSockets.js'
import { createLogger } from '../../src/log/logger.js'

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')

t.test('PROXY v2 header: IPv4, IPv6, mapped IPv4, unknown', async (t) => {
  const v4 = proxyHeader({ address: '203.0.113.7', port: 50000 }, { address: '127.0.0.1', port: 8080 })
  t.same(v4, Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0, 12, 203, 0, 113, 7, 127, 0, 0, 1, 0xc3, 0x50, 0x1f, 0x90])]))
  const v6 = proxyHeader({ address: '2001:db8::1', port: 1 }, { address: '::1', port: 2 })
  t.equal(v6.length, 12 + 4 + 36)
  t.same([...v6.subarray(12, 16)], [0x21, 0x21, 0, 36])
  t.equal(v6.subarray(16, 32).toString('hex'), '20010db8000000000000000000000001')
  t.equal(v6.subarray(32, 48).toString('hex'), '00000000000000000000000000000001')
  t.same(addressBytes('::ffff:10.1.2.3'), Buffer.from([10, 1, 2, 3]), 'IPv4-mapped IPv6 is sent as IPv4')
  t.equal(addressBytes('::ffff:1.2.3.4:80'), undefined, 'not an address')
  t.same(proxyHeader({}, { address: '127.0.0.1' }), Buffer.concat([SIG, Buffer.from([0x20, 0, 0, 0])]), 'LOCAL without a source address')
  t.same(proxyHeader({ address: '10.0.0.1' }, { address: '::1' }).subarray(12), Buffer.from([0x20, 0, 0, 0]), 'LOCAL when the families differ')
})

t.test('only HTTP/1.1 heads with a Host go straight to uWS', async (t) => {
  t.ok(uwsCanAnswer('GET / HTTP/1.1\r\nHost: a\r\n\r\n'))
  t.ok(uwsCanAnswer('GET / HTTP/1.1\r\nX: y\r\nhOsT: a\r\n\r\n'))
  t.notOk(uwsCanAnswer('GET / HTTP/1.0\r\nHost: a\r\n\r\n'))
  t.notOk(uwsCanAnswer('GET / HTTP/1.1\r\n\r\n'), 'no Host: uWS would never answer')
  t.notOk(uwsCanAnswer('GET / HTTP/1.1\r\nX-Host: a\r\n\r\n'))
  t.notOk(uwsCanAnswer('GET / HTTP/2.0\r\nHost: a\r\n\r\n'))
  t.notOk(uwsCanAnswer('GET / HTTP/1.1 \r\nHost: a\r\n\r\n'))
})

t.test('the client address comes from the PROXY header only for a loopback peer', async (t) => {
  const ctx = (remote: string): RequestContext => ({ method: 'GET', path: '/', query: '', acceptEncoding: '', range: '', ifNoneMatch: '', remote, authorization: '', readBody: async () => Buffer.alloc(0) })
  const res = (proxied: string): HttpResponse => ({ getProxiedRemoteAddressAsText: () => new TextEncoder().encode(proxied).buffer }) as unknown as HttpResponse
  t.equal(withClientAddress(ctx('127.0.0.1'), res('203.0.113.7')).remote, '203.0.113.7', 'the front (loopback) names the client')
  t.equal(withClientAddress(ctx('198.51.100.2'), res('127.0.0.1')).remote, '198.51.100.2', 'a stranger claiming loopback in a PROXY header is not believed')
  t.equal(withClientAddress(ctx('127.0.0.1'), res('')).remote, '127.0.0.1', 'no header: the peer')
  const wrapped = withClientAddress(ctx('127.0.0.1'), res('203.0.113.7'))
  t.equal(wrapped.path, '/', 'other fields read through')
})

/** Connect, send `raw`, resolve with the socket once connected. */
function open(port: number, raw: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => { s.write(raw); resolve(s) })
    s.once('error', reject)
  })
}

t.test('a relayed HTTP/1.1 connection reaches the upstream as PROXY header + the exact bytes', async (t) => {
  const got: Buffer[] = []
  let upstreamSocket: Socket | undefined
  const upstream = createServer((s) => {
    upstreamSocket = s
    s.on('data', (d) => {
      got.push(d)
      // Answer once the whole (first) request is in.
      if (Buffer.concat(got).includes('\r\n\r\n')) s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi')
    })
  })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  t.teardown(() => { upstreamSocket?.destroy(); upstream.close() })
  const upstreamPort = (upstream.address() as { port: number }).port
  const front = await startHttp10Front('127.0.0.1', 0, { upstreamPort, logger: createLogger('silent', { pretty: false }) })
  t.teardown(() => front.close())

  const request = 'GET /x HTTP/1.1\r\nHost: here\r\n\r\n'
  const client = await open(front.port, request)
  t.teardown(() => client.destroy())
  const answer = await new Promise<string>((resolve) => {
    let text = ''
    client.on('data', (d) => { text += d.toString('latin1'); if (text.endsWith('hi')) resolve(text) })
  })
  t.equal(answer, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi', 'the answer comes back untouched')
  const bytes = Buffer.concat(got)
  t.same(bytes.subarray(0, 12), SIG, 'PROXY v2 signature first')
  t.same([...bytes.subarray(12, 16)], [0x21, 0x11, 0, 12], 'PROXY, TCP over IPv4')
  t.same([...bytes.subarray(16, 20)], [127, 0, 0, 1], 'source: the client')
  t.equal(bytes.readUInt16BE(24), client.localPort, 'source port: the client\'s')
  t.equal(bytes.readUInt16BE(26), front.port, 'destination port: the front\'s')
  t.equal(bytes.subarray(28).toString('latin1'), request, 'then the request exactly as sent')
})

t.test('an overlong first head is refused with 431 at once', async (t) => {
  const upstream = createServer(() => undefined)
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  t.teardown(() => upstream.close())
  const front = await startHttp10Front('127.0.0.1', 0, { upstreamPort: (upstream.address() as { port: number }).port, logger: createLogger('silent', { pretty: false }) })
  t.teardown(() => front.close())
  // An overlong head (no blank line within 16 KiB) is Node's to refuse: 431, at once.
  const big = await open(front.port, `GET / HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(20_000)}`)
  const text = await new Promise<string>((resolve) => {
    let s = ''
    big.on('data', (d) => { s += d.toString('latin1') })
    big.on('close', () => resolve(s))
  })
  t.match(text, /^HTTP\/1\.1 431 /, 'overlong head: 431')
})
