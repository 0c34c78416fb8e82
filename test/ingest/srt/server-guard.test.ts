/**
 * The SRT listener's defences against callers that pass the cookie check: a
 * wrong-key caller cannot end a silent publisher's stream, the latency a caller
 * may ask for is capped, datagrams larger than the negotiated MTU and buffers
 * beyond the byte bound are dropped, refusals are logged at most once per 10 s
 * per host, and malformed handshakes get a rejection. srt-live-transmit's
 * full-size payloads (1456 bytes at MTU 1500) still pass.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { SrtServer, type SrtServerOptions } from '../../../src/ingest/srt/server.js'
import { Reject } from '../../../src/ingest/srt/handshake.js'
import { captureLogger, recordingHandler, waitFor, type Decide } from '../../helpers/recording-handler.js'
import { srtUrl, startSrtPublisher } from '../../helpers/srt.js'
import { SrtCaller } from '../../helpers/srt-caller.js'

async function server(t: Test, o: { decide?: Decide } & Partial<SrtServerOptions> = {}) {
  const rec = recordingHandler(o.decide)
  const log = captureLogger()
  const srv = new SrtServer({ host: '127.0.0.1', port: 0, latencyMs: 120, ...o, handler: rec.handler, logger: log.logger })
  const port = await srv.listen()
  t.teardown(() => srv.close())
  return { srv, port, rec, log }
}

async function caller(t: Test, port: number): Promise<SrtCaller> {
  const c = await SrtCaller.open(port)
  t.teardown(() => c.close())
  await c.induction()
  return c
}

/** Only key `good` publishes; a live name is busy (checked after the key, as core does). */
const keyed: Decide = (req, live) => {
  if (req.key !== 'good') return { ok: false, code: 'unauthorized', reason: 'invalid publish key' }
  if (live.some((s) => s.req.stream === req.stream)) return { ok: false, code: 'busy', reason: 'already live' }
  return undefined
}

/** SIGCONT a stopped publisher; it may have exited already. */
function resume(pid: number | undefined): void {
  try { if (pid) process.kill(pid, 'SIGCONT') } catch { /* gone */ }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

t.test('a wrong-key caller during a publisher\'s 1.6 s silence does not end its stream', async (t) => {
  const { srv, port, rec } = await server(t, { decide: keyed })
  const pub = startSrtPublisher(srtUrl(port, 'publish:cam:good'), { width: 320, height: 240 })
  t.teardown(() => { resume(pub.pid); return pub.stop() })
  await waitFor(() => (rec.byStream('cam')?.tags.length ?? 0) > 20, 'first tags', 30_000)
  process.kill(pub.pid!, 'SIGSTOP') // a network blip: the publisher sends nothing
  await sleep(1200)
  const wrong = await caller(t, port)
  const answer = await wrong.conclude({ streamid: 'publish:cam:wrong' })
  t.equal(answer?.rejection, Reject.forbidden, 'the wrong key is refused (2403)')
  await sleep(400)
  process.kill(pub.pid!, 'SIGCONT')
  const before = rec.byStream('cam')!.tags.length
  await waitFor(() => rec.byStream('cam')!.tags.length > before + 25, 'tags after the blip', 20_000)
  t.same(rec.byStream('cam')!.endReasons, [], 'the publisher\'s stream did not end')
  t.equal(srv.connections().length, 1, 'the publisher is still connected')
  t.equal(rec.sinks.length, 1, 'no second publish was accepted')
})

t.test('an authorised caller from the same host replaces a silent one', async (t) => {
  const { srv, port, rec } = await server(t, { decide: keyed })
  const pub = startSrtPublisher(srtUrl(port, 'publish:cam2:good'), { width: 320, height: 240 })
  t.teardown(() => { resume(pub.pid); return pub.stop() })
  await waitFor(() => (rec.byStream('cam2')?.tags.length ?? 0) > 20, 'first tags', 30_000)
  process.kill(pub.pid!, 'SIGSTOP')
  await sleep(1200)
  const again = await caller(t, port)
  const answer = await again.conclude({ streamid: 'publish:cam2:good' }, 4000)
  t.ok(answer?.accepted, 'the reconnecting caller is accepted')
  t.match(rec.sinks[0]!.endReasons, [/replaced by a reconnecting caller/], 'the silent session was ended for it')
  t.equal(srv.connections().length, 1)
})

t.test('a caller asking for 60 s of latency gets the cap; a modest request is kept', async (t) => {
  const { srv, port, log } = await server(t, { maxLatencyMs: 2000 })
  const big = await caller(t, port)
  const a = await big.conclude({ streamid: 'publish:lat1:k', latencyMs: 60_000 })
  t.ok(a?.accepted, 'accepted')
  t.equal(a?.hsrsp?.recvDelayMs, 2000, 'HSRSP announces the capped latency')
  t.equal(a?.hsrsp?.sendDelayMs, 2000, 'and caps the peer-side delay too')
  t.ok(log.lines.some((l) => l.msg === 'srt: caller latency capped' && l.requestedLatencyMs === 60_000 && l.latencyMs === 2000), 'the cap is logged')
  const small = await caller(t, port)
  const b = await small.conclude({ streamid: 'publish:lat2:k', latencyMs: 500 })
  t.equal(b?.hsrsp?.recvDelayMs, 500, 'a request below the cap applies as asked')
  t.equal(srv.connections().length, 2)
})

t.test('data larger than the negotiated MTU is dropped, not buffered', async (t) => {
  const { srv, port } = await server(t)
  const c = await caller(t, port)
  const a = await c.conclude({ streamid: 'publish:mtu:k', mtu: 1500 })
  t.ok(a?.accepted)
  const dest = a!.hs.socketId
  // Sequence 1000 (the ISN) never comes: everything after it waits in the buffer.
  for (let i = 1; i <= 20; i++) await c.data(1000 + i, dest, Buffer.alloc(60_000, i))
  await c.data(1021, dest, Buffer.alloc(1316, 1))
  const conn = srv.connections()[0]!
  await waitFor(() => conn.receiver.stats.packets + conn.receiver.stats.oversized >= 21, 'datagrams counted', 5000)
  t.equal(conn.receiver.held, 1, 'only the datagram within the MTU is buffered')
  t.equal(conn.receiver.stats.oversized, 20, '60 KB datagrams counted as oversized')
  t.equal(srv.totals().oversized, 20)
})

t.test('srt-live-transmit\'s full 1456-byte payloads pass the MTU check', async (t) => {
  const { srv, port } = await server(t)
  const slt = spawn('srt-live-transmit', ['-q', 'file://con', `srt://127.0.0.1:${port}?streamid=publish:slt:k`], { stdio: ['pipe', 'ignore', 'ignore'] })
  slt.stdin!.on('error', () => { /* it may exit while we write */ })
  const gone = new Promise((r) => slt.once('exit', r))
  t.teardown(async () => { if (slt.exitCode === null && slt.pid) process.kill(slt.pid, 'SIGKILL'); await gone })
  // Whole TS packets (null PID 0x1fff) in 1456-byte reads: libsrt sends them as 1456-byte payloads.
  const ts = Buffer.alloc(188 * 31)
  for (let i = 0; i < 31; i++) ts.set([0x47, 0x1f, 0xff, 0x10], i * 188)
  const feed = setInterval(() => slt.stdin!.write(ts), 5)
  t.teardown(() => clearInterval(feed))
  await waitFor(() => (srv.connections()[0]?.receiver.stats.packets ?? 0) > 100, 'packets from srt-live-transmit', 15_000)
  const stats = srv.connections()[0]!.receiver.stats
  t.equal(stats.oversized, 0, `none of ${stats.packets} packets (${Math.round(stats.bytes / stats.packets)} bytes average) dropped as oversized`)
  t.ok(stats.bytes / stats.packets > 1400, 'full-size payloads were sent')
})

t.test('the receive buffer is bounded in bytes and the flow window says so', async (t) => {
  const { srv, port } = await server(t, { maxBufferBytes: 65_536 })
  const c = await caller(t, port)
  const a = await c.conclude({ streamid: 'publish:buf:k' })
  t.ok(a?.accepted)
  t.ok(a!.hs.flowWindow <= 65_536 / 1316, `flow window ${a!.hs.flowWindow} packets fits 64 KiB`)
  const dest = a!.hs.socketId
  for (let i = 1; i <= 200; i++) await c.data(1000 + i, dest, Buffer.alloc(1316, i))
  const conn = srv.connections()[0]!
  await waitFor(() => conn.receiver.stats.packets >= 200, 'packets counted', 5000)
  t.ok(conn.receiver.heldBytes <= 65_536, `held ${conn.receiver.heldBytes} bytes in ${conn.receiver.held} packets`)
  t.ok(conn.receiver.stats.overflow > 0, 'the rest counted as overflow')
})

t.test('a refusal flood from one host: every conclusion answered, few log lines, few key checks', async (t) => {
  const { srv, port, rec, log } = await server(t, { decide: keyed })
  const c = await caller(t, port)
  let answered = 0
  c.sock.on('message', () => { answered++ })
  const n = 2000
  for (let i = 0; i < n; i++) {
    await c.send(c.conclusionPacket({ streamid: `publish:flood:wrong${i}` }).packet)
    if (i % 200 === 199) await sleep(20)
  }
  // The server sends every answer; the caller's socket buffer may drop a few under load.
  await waitFor(() => srv.totals().rejected >= n, `${n} rejections sent (${srv.totals().rejected})`, 10_000)
  await waitFor(() => answered >= n * 0.95, `${n} answers (got ${answered})`, 5_000)
  const refusedLines = log.lines.filter((l) => /refused/.test(l.msg))
  t.ok(refusedLines.length <= 3, `${refusedLines.length} refusal log lines for ${n} refusals`)
  t.ok(refusedLines.some((l) => typeof l.refusals === 'number'), 'a line carries the count')
  t.ok(rec.requests.length <= 10, `${rec.requests.length} publish decisions asked for ${n} conclusions`)
  const last = c.received.at(-1)
  t.ok(last && last.cif.readUInt32BE(20) >= 1000, 'the last answer is a rejection')
})

t.test('the rate-limited refusal count is flushed after 10 s', async (t) => {
  const clock = { now: 0 }
  const { RefusalLedger } = await import('../../../src/ingest/srt/refusals.js')
  const lines: Array<{ refusals: number }> = []
  const ledger = new RefusalLedger((fields) => lines.push(fields), () => clock.now)
  const cif = Buffer.alloc(48)
  for (let i = 0; i < 50; i++) ledger.record('10.0.0.1', `10.0.0.1:5000/${i}`, cif, 1403, 'invalid publish key')
  t.equal(lines.length, 1, 'the first refusal is logged at once')
  t.ok(ledger.throttled('10.0.0.1'), 'a host past its budget is throttled')
  t.notOk(ledger.throttled('10.0.0.2'), 'another host is not')
  clock.now = 10_001
  ledger.flush()
  t.equal(lines.length, 2, 'the rest are summed up once the 10 s pass')
  t.equal(lines[1]!.refusals, 49)
  t.notOk(ledger.throttled('10.0.0.1'), 'a new window: evaluated again')
  t.ok(ledger.reply('10.0.0.1:5000/49'), 'a repeated conclusion gets the same refusal')
})

t.test('the refusal memory is bounded and needs no timer per refusal', async (t) => {
  const { RefusalLedger } = await import('../../../src/ingest/srt/refusals.js')
  const ledger = new RefusalLedger(() => {})
  const cif = Buffer.alloc(48)
  for (let i = 0; i < 20_000; i++) ledger.record(`10.${(i >> 8) & 255}.${i & 255}.1`, `10.${(i >> 8) & 255}.${i & 255}.1:5000/${i}`, cif, 1403, 'invalid publish key')
  t.same(ledger.size, { replies: 4096, hosts: 4096 }, '20,000 refusals from 20,000 hosts keep 4096 of each')
  t.ok(ledger.reply('10.78.31.1:5000/19999'), 'the newest are kept')
  t.notOk(ledger.reply('10.0.0.1:5000/0'), 'the oldest are forgotten')
})

t.test('malformed conclusions with a valid cookie get a rejection, not an error line', async (t) => {
  const { port, log, rec } = await server(t)
  const c = await caller(t, port)
  const short = await c.conclude({ streamid: 'publish:m1:k', hsreq: Buffer.alloc(4) })
  t.equal(short?.rejection, Reject.rogue, 'a truncated HSREQ is refused as rogue')
  const { packet } = c.conclusionPacket({ streamid: 'publish:m2:k' })
  const overrun = Buffer.concat([packet, Buffer.from([0, 5, 0xff, 0xff])]) // an extension claiming 262 KB
  const socketId = packet.readUInt32BE(16 + 24)
  const answer = c.next((p) => p.dest === socketId)
  await c.send(overrun)
  const p = await answer
  t.ok(p, 'an overrunning extension is answered')
  t.equal(p && p.cif.readUInt32BE(20) - 1000, Reject.rogue)
  t.equal(log.lines.filter((l) => l.level >= 50).length, 0, 'no error-level line')
  t.equal(rec.requests.length, 0, 'nothing reached the publish handler')
})
