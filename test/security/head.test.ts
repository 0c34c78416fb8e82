/**
 * Replay of the attack run's first finding: one `HEAD` request (what CDNs, monitors and
 * link previews send) used to abort the whole origin process. Against a real `bin/streamd`
 * with a canary playing: HEAD on every route family, many times over, on fresh and on
 * kept-alive connections; the process stays up, the canary keeps advancing, and each HEAD
 * is answered with headers only.
 */
import t from 'tap'
import { startCanaryServer } from '../helpers/canary.js'
import { keepAliveExchange, request } from '../helpers/raw-http.js'
import { waitForSegments } from '../helpers/origin.js'

t.test('HEAD on every route of a live origin process: answered, and the canary plays on', async (t) => {
  const s = await startCanaryServer(t)
  const base = '/live/canary/source'
  const playlist = await waitForSegments(`${s.http}${base}/index.m3u8`, 1)
  const seg = /^(\d+)\.m4s$/m.exec(playlist)?.[1]
  const part = /URI="(\d+\.\d+\.m4s)"/.exec(playlist)?.[1]
  t.ok(seg && part, `the canary lists a segment (${seg}) and a part (${part})`)
  const paths = [
    '/', '/static/hls.min.js', '/healthz', '/metrics', '/time', '/api/v1/streams', '/api/v1/streams/canary',
    '/live/canary/index.m3u8', `${base}/index.m3u8`, `${base}/init.mp4`, `${base}/${seg}.m4s`, `${base}/${part}`,
    '/live/canary/manifest.mpd', '/live/nope/index.m3u8', '/no/such/path',
  ]
  const rssBefore = s.rss()
  for (let round = 0; round < 20; round++) {
    for (const path of paths) {
      const x = await keepAliveExchange(s.httpPort, request('HEAD', path), request('GET', '/healthz'))
      if (round > 0) continue
      t.ok(x.status >= 200 && x.status < 500, `HEAD ${path}: ${x.status}`)
      t.ok(x.after.startsWith('HTTP/1.1 200 OK\r\n'), `HEAD ${path}: headers only, the connection serves the next request`)
    }
  }
  t.ok(s.alive(), `the server survived ${20 * paths.length} HEAD requests`)
  await s.assertAdvancing(t)
  const grown = s.rss() - rssBefore
  t.ok(grown < 50 * 1024 * 1024, `RSS grew ${Math.round(grown / 1048576)} MiB (bound 50 MiB)`)
})
