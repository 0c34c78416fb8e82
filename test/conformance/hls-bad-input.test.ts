/**
 * LL-HLS conformance: malformed delivery directives (draft-pantos-hls-rfc8216bis
 * 4.2 decimal-integer, 6.2.5, 6.2.5.2) and a thousand blocking clients that
 * vanish, against a live stream that must keep serving everyone else.
 */
import t, { type Test } from 'tap'
import { connect, type Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  startLive, fetchPlaylist, hintOf, get, sleep, waitFor, metricsText, metric,
} from '../helpers/conformance.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

t.test('LL-HLS bad input and abandoned blocking requests', async (t) => {
  const f = await startLive(t, 'bad', { windowSeconds: 8, endedRetentionSeconds: 8 })
  const store = f.store()

  const stillServing = async (t: Test, what: string): Promise<void> => {
    const h = hintOf((await fetchPlaylist(f.url)).pl)!
    const r = await get(`${f.url}?_HLS_msn=${h.msn}&_HLS_part=${h.part}`)
    t.equal(r.status, 200, `a blocking reload is still answered after ${what}`)
    t.ok(r.ms < 1500, `within a part duration or so (${r.ms.toFixed(0)} ms)`)
  }

  const refused: Array<[string, string]> = [
    ['rfc8216bis 4.2 + 6.2.5.2: _HLS_msn=-1 (not a decimal-integer) is 400', '_HLS_msn=-1'],
    ['rfc8216bis 4.2 + 6.2.5.2: _HLS_msn=abc is 400', '_HLS_msn=abc'],
    ['rfc8216bis 4.2 + 6.2.5.2: _HLS_msn=99999999999999999999 (past 2^64-1) is 400', '_HLS_msn=99999999999999999999'],
    ['rfc8216bis 6.2.5.2: _HLS_msn far beyond the live edge (15 digits) is 400', '_HLS_msn=999999999999999'],
    ['rfc8216bis 4.2 + 6.2.5.2: _HLS_msn=1.5 is 400', '_HLS_msn=1.5'],
    ['rfc8216bis 4.2 + 6.2.5.2: an empty _HLS_msn is 400', '_HLS_msn='],
    ['rfc8216bis 4.2 + 6.2.5.2: _HLS_msn=+5 is 400', '_HLS_msn=+5'],
    ['rfc8216bis 6.2.5.2: _HLS_part alone is 400', '_HLS_part=1'],
    ['rfc8216bis 6.2.5.2: _HLS_part alone with _HLS_skip is 400', '_HLS_part=0&_HLS_skip=YES'],
    ['rfc8216bis 4.2 + 6.2.5.2: _HLS_part=-1 is 400', '_HLS_msn=1&_HLS_part=-1'],
    ['rfc8216bis 4.2 + 6.2.5.2: _HLS_part=99999999999999999999 is 400', '_HLS_msn=1&_HLS_part=99999999999999999999'],
    ['rfc8216bis 6.2.5: duplicate _HLS_msn is 400', '_HLS_msn=1&_HLS_msn=2'],
    ['rfc8216bis 6.2.5: duplicate _HLS_part is 400', '_HLS_msn=1&_HLS_part=0&_HLS_part=1'],
    ['rfc8216bis 6.2.5: duplicate _HLS_skip is 400', '_HLS_skip=YES&_HLS_skip=v2'],
    ['rfc8216bis 6.2.5.1: _HLS_skip outside YES/v2 is 400', '_HLS_skip=yes'],
  ]
  for (const [name, query] of refused) {
    t.test(name, async (t) => {
      const r = await get(`${f.url}?${query}`)
      t.equal(r.status, 400, `?${query}`)
      t.ok(r.ms < 200, `refused at once (${r.ms.toFixed(0)} ms), never held`)
      t.equal(r.headers.get('access-control-allow-origin'), '*', 'with CORS')
      t.ok(r.headers.get('cache-control'), 'with an explicit Cache-Control')
      t.notMatch(r.text, /#EXTM3U/, 'no playlist')
    })
  }

  t.test('rfc8216bis 6.2.5: query parameters that are not _HLS_ directives are ignored', async (t) => {
    const r = await get(`${f.url}?token=abc&foo=1&foo=2`)
    t.equal(r.status, 200)
    t.match(r.text, /^#EXTM3U/)
  })

  t.test('rfc8216bis 6.2.5.2: the stream keeps serving after every refusal', async (t) => {
    await stillServing(t, 'the malformed directives')
  })

  t.test('rfc8216bis 6.2.5.2 + a client that leaves releases its waiter at once: a thousand blocking clients that disconnect release their waiters, and memory returns to baseline', async (t) => {
    const N = 1000
    const gauge = async (): Promise<number> => metric(await metricsText(f.o), 'streamd_blocking_waiters')
    const aborted = async (): Promise<number> => {
      const m = await metricsText(f.o)
      return metric(m, 'streamd_http_requests_total', 'route="media-playlist",status="aborted"') || 0
    }
    const heap = (): number => { gc(); gc(); return process.memoryUsage().heapUsed }

    /** Open N sockets, each holding a blocking reload for a part >= 2 s away; drop them all once held. */
    const wave = async (): Promise<{ held: number; releasedMs: number; abortedDelta: number }> => {
      const e = store.edge()!
      const far = e.msn + 2 // last + 2: legal, and answered only when that segment starts, >= 2 s away
      const sockets: Socket[] = []
      const abortedBefore = await aborted()
      for (let i = 0; i < N; i++) {
        const path = `${f.path}?_HLS_msn=${far}&_HLS_part=${i % 2}`
        const s = connect(f.o.httpPort, '127.0.0.1')
        s.on('error', () => undefined)
        s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
        sockets.push(s)
      }
      const held = await waitFor(() => (store.waiters.size >= N * 0.99 ? store.waiters.size : undefined), 5000, `${N} held requests`)
      const g = await gauge()
      t.ok(g >= N * 0.99, `streamd_blocking_waiters reports ${g}`)
      const t0 = Date.now()
      for (const s of sockets) s.destroy()
      await waitFor(() => store.waiters.size <= 2, 3000, 'the waiters to be released')
      const releasedMs = Date.now() - t0
      return { held, releasedMs, abortedDelta: (await aborted()) - abortedBefore }
    }

    await waitFor(() => (store.openSegment()?.parts.length ?? 9) <= 1, 5000, 'the start of a segment')
    const baseline = heap()
    const rss0 = process.memoryUsage().rss
    const w1 = await wave()
    t.ok(w1.held >= N * 0.99, `${w1.held} requests held at once`)
    t.ok(w1.releasedMs < 1000, `all released ${w1.releasedMs} ms after the clients left`)
    t.ok(w1.abortedDelta >= N * 0.99, `${w1.abortedDelta} requests counted as aborted: released by the disconnect, not answered`)
    t.ok((await gauge()) <= 2, 'streamd_blocking_waiters back to ~0')
    await sleep(500)
    const after1 = heap()
    await waitFor(() => (store.openSegment()?.parts.length ?? 9) <= 1, 5000, 'the start of a segment')
    const w2 = await wave()
    t.ok(w2.held >= N * 0.99 && w2.releasedMs < 1000, `second wave: ${w2.held} held, released in ${w2.releasedMs} ms`)
    await sleep(500)
    const after2 = heap()
    const mb = (x: number): string => `${(x / 1048576).toFixed(1)} MB`
    // The store's window is full and steady by now; what remains is noise, not per-request state.
    t.ok(after1 - baseline < 3 * 1048576, `heap after 1000 abandoned requests ${mb(after1)} vs baseline ${mb(baseline)}`)
    t.ok(after2 - after1 < 1.5 * 1048576, `no growth from a second wave (${mb(after1)} -> ${mb(after2)})`)
    t.ok(process.memoryUsage().rss - rss0 < 32 * 1048576, `RSS ${mb(rss0)} -> ${mb(process.memoryUsage().rss)}`)
    await stillServing(t, 'two thousand abandoned blocking requests')
  })
})
