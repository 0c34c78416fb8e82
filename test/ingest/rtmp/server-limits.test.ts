// What a peer without a key can make the RTMP server do: small messages, small
// buffers, few messages, a deadline, and a capped number of such connections per
// address and in total; refusals logged once per address per window with a count.
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { encodeAmf0 } from '../../../src/formats/amf0.js'
import { MAX_MESSAGES_BEFORE_PUBLISH } from '../../../src/ingest/rtmp/limits.js'
import { RtmpServer, type RtmpServerOptions } from '../../../src/ingest/rtmp/server.js'
import { RawRtmpClient } from '../../helpers/rtmp-client.js'
import { captureLogger, recordingHandler, videoTags, waitFor, type LogLine } from '../../helpers/recording-handler.js'

const FIXTURES = join(import.meta.dirname, 'fixtures')

async function setup(t: Test, opts: Partial<RtmpServerOptions> = {}) {
  const rec = recordingHandler()
  const log = captureLogger()
  const server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: rec.handler, logger: log.logger, ...opts })
  const port = await server.listen()
  t.teardown(() => server.close())
  const open = async (): Promise<RawRtmpClient> => {
    const c = await RawRtmpClient.open(port)
    t.teardown(() => c.destroy())
    return c
  }
  /** A plain TCP connection from another loopback address (127.0.0.0/8 all reaches 127.0.0.1). */
  const openFrom = (localAddress: string): Promise<Socket> => new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s))
    s.once('error', reject)
    t.teardown(() => s.destroy())
  })
  const refusals = (address?: string): LogLine[] =>
    log.lines.filter((l) => l.msg === 'rtmp: connection refused' && (address === undefined || l.address === address))
  return { ...rec, ...log, server, port, open, openFrom, refusals }
}

/** Resolves true when the socket closes within `ms`. */
function socketClosedWithin(s: Socket, ms: number): Promise<boolean> {
  if (s.destroyed) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    s.once('close', () => { clearTimeout(timer); resolve(true) })
  })
}

/** An AMF0 object of `n` distinct three-byte keys with null values (the attack run's shape). */
function keyBomb(n: number): Buffer {
  const body = Buffer.alloc(n * 6)
  for (let i = 0; i < n; i++) {
    body.writeUInt16BE(3, i * 6)
    body.write(i.toString(36).padStart(3, '0'), i * 6 + 2, 'latin1')
    body[i * 6 + 5] = 0x05
  }
  return Buffer.concat([encodeAmf0(['connect', 1]), Buffer.from([0x03]), body, Buffer.from([0, 0, 9])])
}

/** Connect (app `live`) and wait for its `_result`. */
async function connected(c: RawRtmpClient): Promise<void> {
  await c.handshake()
  c.command(0, ['connect', 1, { app: 'live', type: 'nonprivate', tcUrl: 'rtmp://127.0.0.1/live' }])
  await c.waitForCommand('_result')
}

/** createStream + publish on a connection that already connected; the onStatus info object. */
async function publishAfterConnect(c: RawRtmpClient, name: string): Promise<unknown> {
  c.command(0, ['createStream', 2, null])
  await waitFor(() => c.commands.filter((x) => x.name === '_result').length >= 2, 'createStream _result')
  c.command(1, ['publish', 3, null, name, 'live'])
  return (await c.waitForCommand('onStatus')).values[3]
}

/** An Acknowledgement (type 3) on chunk stream 2: 16 bytes. */
const ack = (): Buffer => Buffer.from([0x02, 0, 0, 0, 0, 0, 4, 3, 0, 0, 0, 0, 0, 0, 0x10, 0])

t.test('captured FFmpeg and GStreamer publish sequences are accepted under the default limits', async (t) => {
  const f = await setup(t)
  for (const [who, file] of [['ffmpeg', 'ffmpeg-publish.bin'], ['gstreamer', 'gstreamer-publish.bin']]) {
    const c = await f.open()
    await c.handshake()
    // Bytes the real client sent after the handshake: connect ... publish, metadata, first media.
    c.send(readFileSync(join(FIXTURES, file!)))
    const status = await c.waitForCommand('onStatus')
    t.match(status.values[3], { code: 'NetStream.Publish.Start' }, `${who}: publish accepted`)
    c.destroy()
    await waitFor(() => f.server.sessionCount() === 0, 'session gone')
  }
  t.equal(f.requests.length, 2, 'both publishes reached the handler')
  t.same(f.refusals(), [], 'nothing refused')
})

t.test('the AMF0 connect bomb (4.98 MB) is refused on its chunk header, before any decoding', async (t) => {
  const f = await setup(t)
  const c = await f.open()
  await c.handshake()
  c.setChunkSize(0xffffff)
  c.send(c.chunks(3, 20, 0, 0, keyBomb(830_584)))
  t.ok(await c.closedWithin(2000), 'connection closed')
  t.same(c.commands.map((x) => x.name), [], 'no _result: the connect was never processed')
  await waitFor(() => f.refusals('127.0.0.1').length === 1, 'refusal logged')
  t.match(f.refusals('127.0.0.1')[0], { count: 1, reason: /message of 4983\d{3} bytes exceeds the 65536-byte limit/ })
})

t.test('a connect under maxCommandBytes whose object is past the AMF0 limits is refused', async (t) => {
  const f = await setup(t)
  const c = await f.open()
  await c.handshake()
  c.setChunkSize(65536)
  const bomb = keyBomb(10_000)
  t.ok(bomb.length < 65536, `${bomb.length} bytes, under the 64 KiB limit`)
  c.send(c.chunks(3, 20, 0, 0, bomb))
  t.ok(await c.closedWithin(2000), 'connection closed')
  t.same(c.commands.map((x) => x.name), [], 'no _result')
  await waitFor(() => f.refusals('127.0.0.1').length === 1, 'refusal logged')
  t.match(f.refusals('127.0.0.1')[0]?.reason, /command too large: amf0: object with more than 256 properties/)
})

t.test('memory pinning: 8 MiB - 1 announced on chunk streams 4 and 5 before publish is refused on the header', async (t) => {
  const f = await setup(t)
  const c = await f.open()
  await connected(c)
  c.setChunkSize(8 * 1024 * 1024 - 2)
  const head = (csid: number): Buffer => Buffer.from([csid, 0, 0, 0, 0x7f, 0xff, 0xff, 9, 1, 0, 0, 0])
  c.send(Buffer.concat([head(4), Buffer.alloc(1000), head(5), Buffer.alloc(1000)]))
  t.ok(await c.closedWithin(2000), 'connection closed')
  await waitFor(() => f.refusals('127.0.0.1').length === 1, 'refusal logged')
  t.match(f.refusals('127.0.0.1')[0]?.reason, /message of 8388607 bytes exceeds the 65536-byte limit/)
  t.same(f.warns().filter((l) => l.msg !== 'rtmp: connection refused'), [], 'no per-connection warn line besides the refusal line')
})

t.test('partial messages do not keep a connection alive', async (t) => {
  const f = await setup(t, { idleTimeoutMs: 1000, publishTimeoutMs: 60_000 })
  const c = await f.open()
  await connected(c)
  // A 30 000-byte command announced, then trickled 100 bytes every 100 ms: never complete.
  c.send(Buffer.from([0x03, 0, 0, 0, 0, 0x75, 0x30, 20, 0, 0, 0, 0]))
  const started = Date.now()
  let sent = 0
  const trickle = setInterval(() => {
    const n = Math.min(100, 128 - (sent % 128))
    c.send(Buffer.alloc(n, 0x05))
    sent += n
    if (sent % 128 === 0) c.send(Buffer.from([0xc3]))
  }, 100)
  t.teardown(() => clearInterval(trickle))
  t.ok(await c.closedWithin(4000), 'closed although bytes kept arriving')
  clearInterval(trickle)
  t.ok(Date.now() - started >= 800, 'not before the idle timeout')
  await waitFor(() => f.warns(c.remote).length > 0, 'warn line')
  t.match(f.warns(c.remote)[0]?.err, /idle for 1000 ms/)
})

t.test('no publish within publishTimeoutMs: closed, Acknowledgements every 200 ms notwithstanding', async (t) => {
  const f = await setup(t, { publishTimeoutMs: 1000, idleTimeoutMs: 30_000 })
  const stays = await f.open()
  await stays.handshake()
  t.match(await stays.publish('live', 'ontime'), { code: 'NetStream.Publish.Start' })
  const c = await f.open()
  await connected(c)
  const acks = setInterval(() => c.send(ack()), 200)
  t.teardown(() => clearInterval(acks))
  t.ok(await c.closedWithin(3000), 'the connection that never published is closed')
  clearInterval(acks)
  await waitFor(() => f.refusals('127.0.0.1').length === 1, 'refusal logged')
  t.match(f.refusals('127.0.0.1')[0]?.reason, /no publish within 1000 ms/)
  stays.send(stays.chunks(6, 9, 1, 0, Buffer.from([0x17, 1, 0, 0, 0])))
  await waitFor(() => videoTags(f.byStream('ontime')).length === 1, 'media from the publisher')
  t.notOk(stays.isClosed, 'a publisher accepted in time outlives the deadline')
})

t.test(`more than ${MAX_MESSAGES_BEFORE_PUBLISH} messages before publish are refused`, async (t) => {
  const f = await setup(t)
  const c = await f.open()
  await connected(c)
  c.send(Buffer.concat(Array.from({ length: MAX_MESSAGES_BEFORE_PUBLISH }, ack)))
  t.ok(await c.closedWithin(2000), 'closed')
  await waitFor(() => f.refusals('127.0.0.1').length === 1, 'refusal logged')
  t.match(f.refusals('127.0.0.1')[0]?.reason, /more than 100 messages before publish/)
})

t.test('after publish, messages up to maxMessageBytes are accepted; before it, up to maxCommandBytes', async (t) => {
  const f = await setup(t, { maxCommandBytes: 4096, maxMessageBytes: 1 << 20 })
  const early = await f.open()
  await early.handshake()
  early.setChunkSize(8192)
  early.send(early.chunks(3, 20, 0, 0, encodeAmf0(['connect', 1, { app: 'live', pad: 'x'.repeat(4950) }])))
  t.ok(await early.closedWithin(2000), 'a 5000-byte connect before publish is refused')
  t.same(early.commands.map((x) => x.name), [], 'unanswered')
  const c = await f.open()
  await c.handshake()
  t.match(await c.publish('live', 'big'), { code: 'NetStream.Publish.Start' })
  c.setChunkSize(65536)
  const frame = Buffer.alloc(1 << 20, 0x01)
  frame[0] = 0x17
  c.send(c.chunks(6, 9, 1, 0, frame))
  await waitFor(() => videoTags(f.byStream('big')).length === 1, 'the 1 MiB frame delivered')
  t.equal(videoTags(f.byStream('big'))[0]?.data.length, 1 << 20)
  t.notOk(c.isClosed, 'publisher still connected')
})

t.test('pending connections are capped per address and in total; a publisher frees its slot', async (t) => {
  const f = await setup(t, { maxPendingPerAddress: 3, maxPendingConnections: 5, refusalLogWindowMs: 600 })
  const mine = [await f.open(), await f.open(), await f.open()]
  for (const c of mine) await connected(c)
  const fourth = await f.open()
  t.ok(await fourth.closedWithin(1000), 'a 4th pending connection from 127.0.0.1 is closed')
  const other = [await f.openFrom('127.0.0.2'), await f.openFrom('127.0.0.2')]
  await waitFor(() => f.server.pendingCount() === 5, 'five pending')
  const third = await f.openFrom('127.0.0.3')
  t.ok(await socketClosedWithin(third, 1000), 'a 6th pending connection is closed (total cap) from any address')
  for (const s of other) t.notOk(s.destroyed, 'connections within the caps stay open')
  // A publish moves its connection out of the pending count.
  t.match(await publishAfterConnect(mine[0]!, 'freed'), { code: 'NetStream.Publish.Start' })
  t.equal(f.server.pendingCount(), 4, 'the publisher no longer counts as pending')
  const again = await f.open()
  await connected(again)
  t.notOk(again.isClosed, 'a new connection from 127.0.0.1 is accepted into the freed slot')
  // A flood of refusals from one address: one line at once, one line with the count per window.
  const flood = await Promise.all(Array.from({ length: 20 }, () => f.openFrom('127.0.0.4')))
  for (const s of flood) t.ok(await socketClosedWithin(s, 1000), 'refused')
  t.equal(f.refusals('127.0.0.4').length, 1, 'one log line for the first refusal')
  await waitFor(() => f.refusals('127.0.0.4').length === 2, 'summary line after the window', 3000)
  t.match(f.refusals('127.0.0.4'), [{ count: 1 }, { count: 19, reason: /5 connections already waiting/ }])
  t.match(f.refusals('127.0.0.1'), [{ count: 1, reason: /3 connections from this address/ }])
})
