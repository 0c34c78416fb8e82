/**
 * PathwayHealth with a fake clock and fetch: a failing, timing-out or stalled
 * pathway goes last; it returns only after probing healthy for recoverMs;
 * state of streams no longer live is dropped; stop() leaves no timer.
 */
import t from 'tap'
import { PathwayHealth, lastMsn, type ProbeFetch } from '../../src/core/pathway-health.js'

const pathways = [{ id: 'a', url: 'http://a.example/' }, { id: 'b', url: 'http://b.example/edge' }]

const playlist = (seq: number, segments: number): string =>
  ['#EXTM3U', '#EXT-X-TARGETDURATION:2', `#EXT-X-MEDIA-SEQUENCE:${seq}`, ...Array.from({ length: segments }, (_, i) => `#EXTINF:2.0,\n${seq + i}.m4s`)].join('\n') + '\n'

/** A fake network: per host, a playlist sequence number that the test moves, or a failure mode. */
function fakeNet(): { fetch: ProbeFetch; seq: Map<string, number>; mode: Map<string, 'ok' | 'refuse' | 'hang' | '500'>; urls: string[] } {
  const seq = new Map([['a.example', 100], ['b.example', 100]])
  const mode = new Map<string, 'ok' | 'refuse' | 'hang' | '500'>()
  const urls: string[] = []
  const fetch: ProbeFetch = async (url, signal) => {
    urls.push(url)
    const host = new URL(url).hostname
    const m = mode.get(host) ?? 'ok'
    if (m === 'refuse') throw new Error('ECONNREFUSED')
    if (m === '500') return { status: 500, text: 'oops' }
    if (m === 'hang') {
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))))
    }
    return { status: 200, text: playlist(seq.get(host)!, 3) }
  }
  return { fetch, seq, mode, urls }
}

function setup(streams = ['cam']): { h: PathwayHealth; net: ReturnType<typeof fakeNet>; clock: { now: number }; streams: string[]; changes: string[] } {
  const net = fakeNet()
  const clock = { now: 0 }
  const changes: string[] = []
  const h = new PathwayHealth({
    pathways, intervalMs: 1000, timeoutMs: 50, recoverMs: 5000, stallMs: 6000,
    targets: () => streams.map((stream) => ({ stream, rendition: '360p' })), fetch: net.fetch, now: () => clock.now,
    onChange: (p, s, c) => changes.push(`${p} ${s} ${c}`),
  })
  return { h, net, clock, streams, changes }
}

t.test('lastMsn reads a media playlist, also a delta update', async (t) => {
  t.equal(lastMsn(playlist(100, 3)), 102)
  t.equal(lastMsn('#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:10\n#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n#EXTINF:2.0,\n14.m4s\n'), 14)
  t.equal(lastMsn('<html>'), undefined, 'not a playlist')
  t.equal(lastMsn('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nx.m3u8\n'), undefined, 'a multivariant playlist is no answer')
})

t.test('probes each pathway\'s copy of the stream\'s playlist; all healthy keeps the configured order', async (t) => {
  const { h, net } = setup()
  await h.probeOnce()
  t.same(net.urls.sort(), ['http://a.example/live/cam/360p/index.m3u8', 'http://b.example/edge/live/cam/360p/index.m3u8'])
  t.same(h.order('cam'), ['a', 'b'])
})

for (const mode of ['refuse', '500', 'hang'] as const) {
  t.test(`a pathway whose probe ${mode === 'hang' ? 'times out' : mode === '500' ? 'answers 500' : 'is refused'} goes last`, async (t) => {
    const { h, net } = setup()
    await h.probeOnce()
    net.mode.set('a.example', mode)
    await h.probeOnce()
    t.same(h.order('cam'), ['b', 'a'])
    t.same(h.order('other'), ['a', 'b'], 'per stream: another stream is not affected')
  })
}

t.test('a stalled pathway (playlist not advancing past stallMs) goes last', async (t) => {
  const { h, net, clock, changes } = setup()
  await h.probeOnce()
  for (let s = 1; s <= 8; s++) {
    clock.now = s * 1000
    net.seq.set('b.example', 100 + s)
    await h.probeOnce()
    t.same(h.order('cam'), s <= 6 ? ['a', 'b'] : ['b', 'a'], `after ${s} s without progress on a`)
  }
  t.same(changes, ['a cam stalled'], 'told once, as a stall')
})

t.test('a failed pathway comes back only after recoverMs of healthy probes', async (t) => {
  const { h, net, clock, changes } = setup()
  net.mode.set('a.example', 'refuse')
  await h.probeOnce()
  t.same(h.order('cam'), ['b', 'a'])
  t.same(changes, ['a cam failed'], 'the failure is told')
  net.mode.set('a.example', 'ok')
  for (let s = 1; s <= 4; s++) {
    clock.now = s * 1000
    net.seq.set('a.example', 100 + s)
    net.seq.set('b.example', 100 + s)
    await h.probeOnce()
    t.same(h.order('cam'), ['b', 'a'], `still last after ${s} s healthy`)
  }
  // A failure during recovery starts the wait over.
  clock.now = 4500
  net.mode.set('a.example', 'refuse')
  await h.probeOnce()
  net.mode.set('a.example', 'ok')
  clock.now = 5000
  net.seq.set('a.example', 106)
  net.seq.set('b.example', 106)
  await h.probeOnce()
  clock.now = 9000
  net.seq.set('a.example', 108)
  net.seq.set('b.example', 108)
  await h.probeOnce()
  t.same(h.order('cam'), ['b', 'a'], '4 s after the restart of the healthy run: not yet')
  clock.now = 10_000
  net.seq.set('a.example', 109)
  net.seq.set('b.example', 109)
  await h.probeOnce()
  t.same(h.order('cam'), ['a', 'b'], 'healthy for recoverMs: back in its place')
  t.same(changes, ['a cam failed', 'a cam recovered'], 'a failure while already unhealthy is not told again; the recovery is')
})

t.test('streams no longer live leave no state; start/stop leave no timer', async (t) => {
  const { h, net, streams } = setup(['cam', 'cam2'])
  net.mode.set('a.example', 'refuse')
  await h.probeOnce()
  t.same(h.order('cam2'), ['b', 'a'])
  streams.splice(1, 1)
  net.mode.set('a.example', 'ok')
  await h.probeOnce()
  t.same(h.order('cam2'), ['a', 'b'], 'cam2 ended: its state is gone')
  h.stop()
})

t.test('start() probes every interval; after stop() no probe runs', async (t) => {
  const net = fakeNet()
  const h = new PathwayHealth({
    pathways, intervalMs: 30, timeoutMs: 50, recoverMs: 0, stallMs: 1000,
    targets: () => [{ stream: 'cam', rendition: '360p' }], fetch: net.fetch, now: () => performance.now(),
  })
  h.start()
  await new Promise((r) => setTimeout(r, 200))
  const probed = net.urls.length
  t.ok(probed >= 4, `probed while running (${probed} fetches in 200 ms at a 30 ms interval)`)
  h.stop()
  await new Promise((r) => setTimeout(r, 150))
  t.equal(net.urls.length, probed, 'nothing after stop')
})

t.test('stop() aborts a probe in flight, which then records nothing', async (t) => {
  const { h, net } = setup()
  net.mode.set('a.example', 'hang')
  const round = h.probeOnce()
  h.stop()
  await round
  t.same(h.order('cam'), ['a', 'b'], 'the aborted probe did not count as a failure')
})
