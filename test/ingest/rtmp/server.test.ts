import t from 'tap'
import { RtmpServer } from '../../../src/ingest/rtmp/server.js'
import { parseAudioTagHeader, parseVideoTagHeader } from '../../../src/formats/flv.js'
import { decodeAmf0 } from '../../../src/formats/amf0.js'
import { startPublisher } from '../../helpers/ffmpeg.js'
import { RawRtmpClient } from '../../helpers/rtmp-client.js'
import { captureLogger, recordingHandler, videoTags, waitFor, type Decide } from '../../helpers/recording-handler.js'

type Publisher = ReturnType<typeof startPublisher> & { stderrText: () => string }

async function setup(t: { teardown: (fn: () => unknown) => void }, decide?: Decide) {
  const rec = recordingHandler(decide)
  const log = captureLogger()
  const server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: rec.handler, logger: log.logger })
  const port = await server.listen()
  t.teardown(() => server.close())
  const publish = (path: string, duration?: number): Publisher => {
    const p = startPublisher(`rtmp://127.0.0.1:${port}/${path}`, duration ? { duration } : {}) as Publisher
    t.teardown(() => p.stop())
    return p
  }
  return { ...rec, ...log, server, port, publish }
}

const exitCode = (p: Publisher): Promise<number | null> =>
  p.exitCode !== null || p.signalCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (code) => r(code)))

t.test('FFmpeg publishes: request fields, sequence headers, timestamps, one end', async (t) => {
  const f = await setup(t)
  const p = f.publish('live/t1?key=abc', 3)
  t.equal(await exitCode(p), 0, 'ffmpeg exits cleanly')
  await waitFor(() => (f.byStream('t1')?.endReasons.length ?? 0) > 0, 'sink end')
  t.equal(f.requests.length, 1)
  const req = f.requests[0]
  t.match(req, { protocol: 'rtmp', app: 'live', stream: 't1', key: 'abc' })
  t.match(req?.remote, /^127\.0\.0\.1:\d+$/)
  const s = f.byStream('t1')!
  const video = s.tags.filter((x) => x.kind === 'video')
  const audio = s.tags.filter((x) => x.kind === 'audio')
  const vh = video.map((x) => parseVideoTagHeader(x.data))
  t.equal(vh[0]?.avcPacketType, 'seq', 'first video tag is the AVC sequence header')
  t.equal(vh[0]?.codecId, 7)
  t.ok(vh.some((h) => h.keyframe && h.avcPacketType === 'nalu'), 'a keyframe arrived')
  t.equal(audio.length > 0 && parseAudioTagHeader(audio[0]!.data).aacPacketType, 'seq', 'first audio tag is the AAC sequence header')
  t.ok(video.length >= 40, `at least 40 video tags (${video.length})`)
  const ts = video.map((x) => x.timestamp)
  t.ok(ts.every((v, i) => i === 0 || v >= ts[i - 1]!), 'video timestamps never decrease')
  t.ok(ts[ts.length - 1]! >= 2000, `video timestamps advance (${ts[ts.length - 1]} ms)`)
  const meta = s.tags.find((x) => x.kind === 'data')
  t.equal(meta && decodeAmf0(meta.data)[0], 'onMetaData', '@setDataFrame removed from metadata')
  t.ok(s.tags.every((x) => typeof x.arrival === 'number' && x.arrival > 0), 'tags stamped with arrival time')
  await new Promise((r) => setTimeout(r, 200))
  t.same(s.endReasons.length, 1, 'end called exactly once')
  t.equal(f.server.sessionCount(), 0)
  t.same(f.warns(), [], 'a clean publish logs no warning')
  t.notOk(f.lines.some((l) => JSON.stringify(l).includes('abc')), 'the key never reaches the log')
})

t.test('a refusing handler: FFmpeg fails and nothing is delivered', async (t) => {
  const f = await setup(t, () => ({ ok: false, code: 'unauthorized', reason: 'invalid publish key' }))
  const p = f.publish('live/t2?key=wrong', 5)
  const code = await exitCode(p)
  t.not(code, 0, 'ffmpeg exits non-zero')
  t.match(p.stderrText(), /invalid publish key/, 'ffmpeg shows the refusal reason')
  t.equal(f.requests.length, 1, 'the handler was consulted')
  t.equal(f.sinks.length, 0, 'no sink, so nothing was written')
  await waitFor(() => f.server.sessionCount() === 0, 'session closed')
})

t.test('the decision comes before Publish.Start; media sent earlier is dropped', async (t) => {
  let release: (refuse: boolean) => void = () => {}
  const gate = new Promise<boolean>((r) => { release = r })
  const f = await setup(t, async () => ((await gate) ? { ok: false, code: 'busy', reason: 'taken' } : undefined))
  const c = await RawRtmpClient.open(f.port)
  t.teardown(() => c.destroy())
  await c.handshake()
  const status = c.publish('live', 'gated')
  await waitFor(() => f.requests.length === 1, 'handler consulted')
  c.send(c.chunks(6, 9, 1, 0, Buffer.from([0x17, 0, 0, 0, 0, 1]))) // video before acceptance
  await new Promise((r) => setTimeout(r, 200))
  t.notOk(c.commands.some((x) => x.name === 'onStatus'), 'no onStatus while the handler decides')
  release(false)
  t.match(await status, { level: 'status', code: 'NetStream.Publish.Start' })
  c.send(c.chunks(6, 9, 1, 1234, Buffer.from([0x27, 1, 0, 0, 0, 2])))
  await waitFor(() => videoTags(f.byStream('gated')).length === 1, 'accepted video')
  await new Promise((r) => setTimeout(r, 100))
  const tags = videoTags(f.byStream('gated'))
  t.equal(tags.length, 1, 'the early video message was dropped')
  t.equal(tags[0]?.timestamp, 1234)
  t.same(tags[0]?.data, Buffer.from([0x27, 1, 0, 0, 0, 2]))
  c.destroy()
  await waitFor(() => f.byStream('gated')!.endReasons.length === 1, 'sink ended on disconnect')
})

t.test('unauthorized refusal via raw client: Denied onStatus with the reason, then close', async (t) => {
  const f = await setup(t, () => ({ ok: false, code: 'unauthorized', reason: 'no such key' }))
  const c = await RawRtmpClient.open(f.port)
  t.teardown(() => c.destroy())
  await c.handshake()
  t.match(await c.publish('live', 'x?key=nope'), { level: 'error', code: 'NetStream.Publish.Denied', description: 'no such key' })
  t.ok(await c.closedWithin(3000), 'server closes after the refusal')
  t.equal(f.requests[0]?.key, 'nope')
  t.notOk(c.commands.some((x) => JSON.stringify(x.values).includes('Publish.Start')), 'nothing resembling a start was sent')
  t.notOk(f.lines.some((l) => JSON.stringify(l).includes('nope')), 'the key never reaches the log')
})

t.test('a busy refusal keeps BadName', async (t) => {
  const f = await setup(t, () => ({ ok: false, code: 'busy', reason: 'stream x is already being published' }))
  const c = await RawRtmpClient.open(f.port)
  t.teardown(() => c.destroy())
  await c.handshake()
  t.match(await c.publish('live', 'x'), { level: 'error', code: 'NetStream.Publish.BadName', description: /already being published/ })
})

t.test('invalid stream names are refused without asking the handler', async (t) => {
  const f = await setup(t)
  const c = await RawRtmpClient.open(f.port)
  t.teardown(() => c.destroy())
  await c.handshake()
  t.match(await c.publish('live', '../etc?key=k'), { level: 'error', code: 'NetStream.Publish.BadName' })
  t.equal(f.requests.length, 0)
  t.ok(await c.closedWithin(3000))
})

t.test('SIGKILL mid-stream: sink ended once, session count drops', async (t) => {
  const f = await setup(t)
  const good = f.publish('live/good')
  const victim = f.publish('live/victim')
  await waitFor(() => videoTags(f.byStream('victim')).length >= 20 && videoTags(f.byStream('good')).length >= 20, 'both publishing')
  t.equal(f.server.sessionCount(), 2)
  process.kill(victim.pid!, 'SIGKILL')
  await waitFor(() => f.server.sessionCount() === 1, 'victim session gone')
  t.equal(f.byStream('victim')!.endReasons.length, 1, 'victim sink ended once')
  const before = videoTags(f.byStream('good')).length
  await waitFor(() => videoTags(f.byStream('good')).length >= before + 15, 'good publisher keeps delivering')
  t.same(f.byStream('good')!.endReasons, [], 'good publisher untouched')
  await good.stop()
})

t.test('second publisher of a live name is refused with busy; first unharmed', async (t) => {
  const f = await setup(t)
  f.publish('live/same')
  await waitFor(() => videoTags(f.byStream('same')).length >= 10, 'first publishing')
  const second = f.publish('live/same', 5)
  t.not(await exitCode(second), 0, 'second ffmpeg fails')
  t.match(second.stderrText(), /already being published/)
  t.equal(f.sinks.length, 1, 'only the first got a sink')
  const before = videoTags(f.byStream('same')).length
  await waitFor(() => videoTags(f.byStream('same')).length >= before + 15, 'first keeps delivering')
  t.same(f.byStream('same')!.endReasons, [])
})

t.test('onKick closes the publisher and ends its sink', async (t) => {
  const f = await setup(t)
  const p = f.publish('live/kickme')
  await waitFor(() => videoTags(f.byStream('kickme')).length >= 5, 'publishing')
  f.byStream('kickme')!.kick!()
  await waitFor(() => f.server.sessionCount() === 0, 'kicked session closed')
  t.same(f.byStream('kickme')!.endReasons, ['kicked'])
  t.not(await exitCode(p), 0, 'ffmpeg notices')
})

t.test('close() destroys sessions and stops listening', async (t) => {
  const f = await setup(t)
  const c = await RawRtmpClient.open(f.port)
  await c.handshake()
  await c.publish('live', 'closing')
  await f.server.close()
  t.ok(await c.closedWithin(2000), 'client disconnected')
  t.same(f.byStream('closing')!.endReasons, ['server closing'])
  t.equal(f.server.sessionCount(), 0)
  await t.rejects(RawRtmpClient.open(f.port), 'no longer listening')
})

t.test('acknowledgements follow the window the client set', async (t) => {
  const f = await setup(t)
  const c = await RawRtmpClient.open(f.port)
  t.teardown(() => c.destroy())
  await c.handshake()
  const win = Buffer.alloc(4)
  win.writeUInt32BE(10_000)
  c.send(c.chunks(2, 5, 0, 0, win))
  await c.publish('live', 'acked')
  // Each burst exceeds the window, so each earns one ack counting every byte so far.
  for (let i = 0; i < 4; i++) {
    c.send(c.chunks(6, 9, 1, i * 33, Buffer.concat([Buffer.from([0x27, 1, 0, 0, 0]), Buffer.alloc(12_000)])))
    await waitFor(() => c.acks.length === i + 1, `ack ${i + 1}`)
    t.equal(c.acks[i], c.socket.bytesWritten, `ack ${i + 1} counts all bytes sent`)
  }
  await new Promise((r) => setTimeout(r, 100))
  t.equal(c.acks.length, 4, 'no extra acks')
  t.equal(videoTags(f.byStream('acked')).length, 4)
})

t.test('answers a ping request with a ping response', async (t) => {
  const f = await setup(t)
  const c = await RawRtmpClient.open(f.port)
  t.teardown(() => c.destroy())
  await c.handshake()
  c.command(0, ['connect', 1, { app: 'live' }])
  await c.waitForCommand('_result')
  const got: Buffer[] = []
  c.socket.on('data', (d: Buffer) => got.push(d))
  c.send(c.chunks(2, 4, 0, 0, Buffer.from([0, 6, 0, 0, 0x12, 0x34])))
  // User control PingResponse: event 7 echoing the timestamp 0x1234.
  await waitFor(() => Buffer.concat(got).includes(Buffer.from([4, 0, 0, 0, 0, 0, 7, 0, 0, 0x12, 0x34])), 'ping response')
  t.pass('ping answered')
})
