// Bad input against a real server while a real FFmpeg publisher streams to it:
// each case must close only the offending connection, with one warn line.
import t, { type Test } from 'tap'
import { RtmpServer, type RtmpServerOptions } from '../../../src/ingest/rtmp/server.js'
import { startPublisher } from '../../helpers/ffmpeg.js'
import { RawRtmpClient } from '../../helpers/rtmp-client.js'
import { captureLogger, recordingHandler, videoTags, waitFor } from '../../helpers/recording-handler.js'

type Teardown = { teardown: (fn: () => unknown) => void }

/** Server + a live FFmpeg publisher on `live/good`; `goodStillFlows` checks it survived. */
async function withGoodPublisher(t: Teardown, opts: Partial<RtmpServerOptions> = {}) {
  const rec = recordingHandler()
  const log = captureLogger()
  const server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: rec.handler, logger: log.logger, idleTimeoutMs: 5000, ...opts })
  const port = await server.listen()
  t.teardown(() => server.close())
  const good = startPublisher(`rtmp://127.0.0.1:${port}/live/good`)
  t.teardown(() => good.stop())
  await waitFor(() => videoTags(rec.byStream('good')).length >= 10, 'good publisher streaming')
  const goodStillFlows = async (tt: { ok: (v: unknown, m: string) => void; same: (a: unknown, b: unknown, m: string) => void }) => {
    const before = videoTags(rec.byStream('good')).length
    await waitFor(() => videoTags(rec.byStream('good')).length >= before + 15, 'good publisher keeps delivering')
    tt.same(rec.byStream('good')!.endReasons, [], 'good publisher never ended')
    tt.same(log.warns(rec.byStream('good')!.req.remote), [], 'no warning about the good publisher')
  }
  const open = async (): Promise<RawRtmpClient> => {
    const c = await RawRtmpClient.open(port)
    t.teardown(() => c.destroy())
    return c
  }
  return { ...rec, ...log, server, port, open, goodStillFlows }
}

/** The server closed `c` on its own, and logged exactly one warning for it. */
async function closedWithOneWarn(tt: Test, f: Awaited<ReturnType<typeof withGoodPublisher>>, c: RawRtmpClient, pattern: RegExp, ms = 3000) {
  tt.ok(await c.closedWithin(ms), 'server closed the connection')
  await waitFor(() => f.warns(c.remote).length > 0, 'warn line', 2000).catch(() => {})
  await new Promise((r) => setTimeout(r, 50))
  const w = f.warns(c.remote)
  tt.equal(w.length, 1, 'exactly one warn line')
  tt.match(String(w[0]?.err), pattern)
}

function seeded(n: number, seed: number): Buffer {
  let s = seed
  return Buffer.from(Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0), s >>> 24)))
}

t.test('random bytes, before and after the handshake; wrong versions', async (t) => {
  const f = await withGoodPublisher(t)
  const raw = await f.open()
  const junk = seeded(4096, 7)
  junk[0] = 0x42
  raw.send(junk)
  await closedWithOneWarn(t, f, raw, /handshake version 66/)
  for (const version of [6, 0]) {
    const c = await f.open()
    c.send(Buffer.concat([Buffer.from([version]), seeded(1536, version)]))
    await closedWithOneWarn(t, f, c, new RegExp(`version ${version}`))
  }
  for (const seed of [1, 2, 3]) {
    const c = await f.open()
    await c.handshake()
    c.send(seeded(8192, seed))
    // Random chunk headers fail fast or, at worst, stall until the idle timeout.
    await closedWithOneWarn(t, f, c, /rtmp:/, 7000)
  }
  t.equal(f.server.sessionCount(), 1, 'only the good publisher is left')
  await f.goodStillFlows(t)
})

t.test('truncated handshake times out', async (t) => {
  const f = await withGoodPublisher(t, { handshakeTimeoutMs: 500 })
  const partC1 = await f.open()
  const noC2 = await f.open()
  const started = Date.now()
  partC1.send(Buffer.concat([Buffer.from([3]), seeded(700, 1)]))
  noC2.send(Buffer.concat([Buffer.from([3]), seeded(1536, 2)]))
  await closedWithOneWarn(t, f, partC1, /handshake not completed within 500 ms/)
  await closedWithOneWarn(t, f, noC2, /handshake not completed/)
  t.ok(Date.now() - started >= 450, 'not before the timeout')
  await f.goodStillFlows(t)
})

for (const [name, size] of [['0', 0], ['2^31', 0x80000000]] as const) {
  t.test(`Set Chunk Size ${name} is refused`, async (t) => {
    const f = await withGoodPublisher(t)
    const c = await f.open()
    await c.handshake()
    t.match(await c.publish('live', `cs${size}`), { code: 'NetStream.Publish.Start' })
    c.setChunkSize(size)
    await closedWithOneWarn(t, f, c, new RegExp(`invalid chunk size ${size}`))
    await waitFor(() => f.byStream(`cs${size}`)!.endReasons.length > 0, 'sink ended')
    t.equal(f.byStream(`cs${size}`)!.endReasons.length, 1, 'its sink ended once')
    await f.goodStillFlows(t)
  })
}

t.test('a message length of 2^24-1 above maxMessageBytes closes the connection', async (t) => {
  const f = await withGoodPublisher(t, { maxMessageBytes: 1 << 20 })
  const c = await f.open()
  await c.handshake()
  await c.publish('live', 'huge')
  // Type 0 header on csid 6: timestamp 0, length 0xFFFFFF, video, stream 1; then a few bytes.
  c.send(Buffer.from([0x06, 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0, 0x17, 1, 0, 0, 0]))
  await closedWithOneWarn(t, f, c, /exceeds the 1048576-byte limit/)
  t.same(videoTags(f.byStream('huge')), [], 'nothing delivered from it')
  await f.goodStillFlows(t)
})

t.test('too many chunk stream ids', async (t) => {
  const f = await withGoodPublisher(t)
  const c = await f.open()
  await c.handshake()
  await c.publish('live', 'many')
  // 2-byte basic headers, csid 64.. : each opens a new chunk stream with a 1-byte message.
  c.send(Buffer.concat(Array.from({ length: 100 }, (_, i) => Buffer.from([0x00, i, 0, 0, 0, 0, 0, 1, 0x30, 1, 0, 0, 0, 0]))))
  await closedWithOneWarn(t, f, c, /chunk streams in use/)
  await f.goodStillFlows(t)
})

t.test('a second publish on one connection is refused', async (t) => {
  const f = await withGoodPublisher(t)
  const c = await f.open()
  await c.handshake()
  await c.publish('live', 'first')
  c.command(1, ['publish', 4, null, 'second', 'live'])
  await closedWithOneWarn(t, f, c, /second publish/)
  t.match(c.commands.filter((x) => x.name === 'onStatus').map((x) => x.values[3]),
    [{ code: 'NetStream.Publish.Start' }, { level: 'error', code: 'NetStream.Publish.BadName' }])
  t.equal(f.requests.filter((r) => r.stream === 'second').length, 0, 'the handler never saw it')
  t.equal(f.byStream('first')!.endReasons.length, 1)
  await f.goodStillFlows(t)
})

t.test('malformed AMF command closes; unknown message types are ignored', async (t) => {
  const f = await withGoodPublisher(t)
  const c = await f.open()
  await c.handshake()
  await c.publish('live', 'odd')
  c.send(c.chunks(5, 0x30, 1, 0, Buffer.from('whatever')))
  c.send(c.chunks(6, 9, 1, 40, Buffer.from([0x17, 1, 0, 0, 0])))
  await waitFor(() => videoTags(f.byStream('odd')).length === 1, 'video after the unknown message')
  t.notOk(c.isClosed, 'unknown type did not close the connection')
  c.send(c.chunks(3, 20, 0, 0, Buffer.from([0x02, 0xff, 0xff, 0x41])))
  await closedWithOneWarn(t, f, c, /malformed command/)
  await f.goodStillFlows(t)
})

t.test('idle connections are closed', async (t) => {
  const f = await withGoodPublisher(t, { idleTimeoutMs: 800 })
  const c = await f.open()
  await c.handshake()
  c.command(0, ['connect', 1, { app: 'live' }])
  await c.waitForCommand('_result')
  await closedWithOneWarn(t, f, c, /idle for 800 ms/)
  await f.goodStillFlows(t)
})
