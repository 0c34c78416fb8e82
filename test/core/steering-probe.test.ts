/**
 * The steering probe over real HTTP: a playlist is read; an endless answer
 * fails the probe at the size cap instead of filling memory.
 */
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { httpProbe } from '../../src/core/steering.js'

t.test('reads a playlist; gives up on an answer past 1 MiB', async (t) => {
  let sent = 0
  const server = createServer((req, res) => {
    if (req.url === '/ok') return res.end('#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:5\n')
    res.writeHead(200)
    // An endless body, 64 KiB at a time, while the client reads.
    const more = (): void => {
      while (sent < 64 * 1024 * 1024) {
        sent += 65536
        if (!res.write(Buffer.alloc(65536, 35))) return
      }
      res.end()
    }
    res.on('drain', more)
    more()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.same(await httpProbe(`${base}/ok`, new AbortController().signal), { status: 200, text: '#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:5\n' })
  await t.rejects(httpProbe(`${base}/endless`, new AbortController().signal), /probe answer too large/)
  t.ok(sent < 16 * 1024 * 1024, `the server could write only ${Math.round(sent / 1024)} KiB before the probe stopped reading`)
})
