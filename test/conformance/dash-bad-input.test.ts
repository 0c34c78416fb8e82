/**
 * Segment requests a stranger can send a DASH origin (IOP 4.3: a client whose
 * clock or arithmetic is off asks for numbers outside the window): far future,
 * far past, negative, non-numeric, absurdly long. Each gets a 404 at once (never
 * a held request), and a client that leaves mid-way through a chunked segment
 * releases everything it held, is counted as aborted in /metrics (not as the
 * 200 its headers said), while others keep being served.
 */
import t from 'tap'
import { connect } from 'node:net'
import { get } from '../helpers/origin.js'
import { startDashLive } from '../helpers/dash.js'
import { metric, metricsText } from '../helpers/conformance.js'

t.test('DASH bad input', async (t) => {
  const f = await startDashLive(t, 'dashbad')
  const s = () => f.o.origin.directory.get(f.name)!.renditions.get('source')!

  t.test('segment numbers outside what exists or is about to: 404 at once', async (t) => {
    const edge = s().upcomingMsn
    const cases: Array<[string, string]> = [
      ['far future', `${edge + 1000}.m4s`],
      ['two segments ahead', `${edge + 2}.m4s`],
      ['far past', `${edge - 100_000}.m4s`],
      ['zero', '0.m4s'],
      ['negative', '-1.m4s'],
      ['non-numeric', 'abc.m4s'],
      ['number with exponent', '1e9.m4s'],
      ['too many digits', `${'9'.repeat(40)}.m4s`],
      ['template left unexpanded', '$Number$.m4s'],
    ]
    for (const [what, file] of cases) {
      const before = s().upcomingMsn
      const r = await get(`${f.base}/source/${file}`)
      t.equal(r.status, 404, `${what}: 404`)
      // Answered before the stream could have moved on by a segment: nothing was held.
      t.ok(s().upcomingMsn <= before + 1, `${what}: answered without waiting for media`)
    }
    t.equal(s().waiters.size, 0, 'nothing left waiting')
  })

  t.test('MPD of an unknown stream: 404; time endpoint refuses other methods', async (t) => {
    t.equal((await get(`${f.o.http}/live/nosuch/manifest.mpd`)).status, 404)
    t.equal((await get(`${f.o.http}/live/../manifest.mpd`)).status, 404)
    t.equal((await get(`${f.o.http}/time`, { method: 'POST', body: 'x' })).status, 405)
  })

  t.test('a client that disconnects mid-way through a chunked segment leaks nothing', async (t) => {
    const store = s()
    const target = (store.openSegment()?.msn ?? store.upcomingMsn) + 1
    const port = f.o.httpPort
    const count = async (status: string): Promise<number> =>
      metric(await metricsText(f.o), 'streamd_http_requests_total', `route="segment",status="${status}"`) || 0
    const [aborted0, ok0] = [await count('aborted'), await count('200')]
    const gotBody = await new Promise<boolean>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1', () => {
        sock.write(`GET /live/${f.name}/source/${target}.m4s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
      })
      let buf = Buffer.alloc(0)
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d])
        const head = buf.indexOf('\r\n\r\n')
        if (head > 0 && buf.length > head + 100) {
          // Headers and the first chunk are in: go away before the segment completes.
          const complete = Boolean(store.segment(target)?.complete)
          sock.destroy()
          resolve(!complete && /transfer-encoding: chunked/i.test(buf.subarray(0, head).toString()))
        }
      })
      sock.on('error', reject)
      setTimeout(() => reject(new Error('no body in 15 s')), 15_000).unref()
    })
    t.ok(gotBody, 'left while the segment was still streaming')
    await new Promise((r) => setTimeout(r, 300))
    t.equal(store.waiters.size, 0, 'its wait was released when it left, not when the segment completed')
    t.equal(await count('aborted') - aborted0, 1, '/metrics counts the cut-short chunked response as aborted')
    t.equal(await count('200') - ok0, 0, '... and not as a 200')
    const r = await get(`${f.base}/source/${target}.m4s`)
    t.equal(r.status, 200, 'the same segment still serves others')
    t.ok(r.body.length > 0)
    t.equal((await get(`${f.base}/manifest.mpd`)).status, 200, 'the server keeps serving')
  })
})
