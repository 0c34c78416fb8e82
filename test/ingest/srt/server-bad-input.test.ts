/**
 * What strangers can send to the SRT port: garbage datagrams during a live
 * publish, a stream that is not MPEG-TS, a wrong or missing passphrase, a
 * refused publish, a playback streamid. Each gets a clean refusal or end, and
 * the server keeps serving.
 */
import t, { type Test } from 'tap'
import { createSocket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { SrtServer } from '../../../src/ingest/srt/server.js'
import { controlPacket, dataPacket, Ctrl } from '../../../src/ingest/srt/packet.js'
import { encodeHandshake, HsType } from '../../../src/ingest/srt/handshake.js'
import { captureLogger, recordingHandler, waitFor, type Decide } from '../../helpers/recording-handler.js'
import { srtUrl, startSrtPublisher } from '../../helpers/srt.js'

async function server(t: Test, o: { passphrase?: string; decide?: Decide } = {}) {
  const rec = recordingHandler(o.decide)
  const log = captureLogger()
  const srv = new SrtServer({ host: '127.0.0.1', port: 0, handler: rec.handler, logger: log.logger, latencyMs: 120, passphrase: o.passphrase })
  const port = await srv.listen()
  t.teardown(() => srv.close())
  return { srv, port, rec, log }
}

t.test('garbage datagrams do not disturb a stream in progress', async (t) => {
  const { srv, port, rec } = await server(t)
  const pub = startSrtPublisher(srtUrl(port, 'publish:live1:k'), { width: 320, height: 240 })
  t.teardown(() => pub.stop())
  await waitFor(() => (rec.byStream('live1')?.tags.length ?? 0) > 20, 'first tags', 30_000)
  const live = srv.connections()[0]!
  const sock = createSocket('udp4')
  t.teardown(() => sock.close())
  const send = (b: Buffer): Promise<void> => new Promise((resolve) => sock.send(b, port, '127.0.0.1', () => resolve()))
  const hs = { version: 5, encryption: 0, extensionField: 0, isn: 1, mtu: 1500, flowWindow: 8192, socketId: 7, cookie: 0, peerIp: Buffer.alloc(16) }
  const crafted = [
    Buffer.alloc(0), Buffer.alloc(3, 0xff), randomBytes(15),
    controlPacket(Ctrl.handshake, 0, 0, 0, 0, randomBytes(20)), // truncated handshake CIF
    controlPacket(Ctrl.handshake, 0, 0, 0, 0, Buffer.concat([encodeHandshake({ ...hs, type: HsType.conclusion }), Buffer.from([0, 5, 0xff, 0xff])])), // extension overrun
    controlPacket(Ctrl.handshake, 0, 0, 0, 0, encodeHandshake({ ...hs, type: HsType.conclusion, cookie: 12345 })), // cookie never issued
    dataPacket(5, 1, 0, 0xdeadbeef, randomBytes(1316)), // unknown socket id
    dataPacket(5, 1, 0, live.socketId, randomBytes(1316)), // the live connection's id, from another address
    controlPacket(Ctrl.shutdown, 0, 0, 0, live.socketId, Buffer.alloc(4)), // a stranger's shutdown for it
  ]
  for (const b of crafted) await send(b)
  for (let i = 0; i < 300; i++) await send(randomBytes(Math.floor(Math.random() * 1500)))
  const before = rec.byStream('live1')!.tags.length
  await waitFor(() => rec.byStream('live1')!.tags.length > before + 50, 'tags after the garbage', 30_000)
  t.same(rec.byStream('live1')!.endReasons, [], 'the publish did not end')
  t.equal(srv.connections().length, 1)
  t.ok(srv.totals().badDatagrams >= 300, `bad datagrams counted: ${srv.totals().badDatagrams}`)
  t.equal(rec.requests.length, 1, 'garbage never reached the publish handler')
})

t.test('a stream that is not MPEG-TS is ended cleanly and logged', async (t) => {
  const { srv, port, rec, log } = await server(t)
  const pub = startSrtPublisher(srtUrl(port, 'publish:flv:k'), { format: 'flv', width: 320, height: 240, duration: 30 })
  t.teardown(() => pub.stop())
  await waitFor(() => (rec.byStream('flv')?.endReasons.length ?? 0) > 0, 'the publish to end', 30_000)
  t.match(rec.byStream('flv')!.endReasons[0], /MPEG-TS/)
  t.equal(rec.byStream('flv')!.tags.length, 0, 'nothing reached the sink')
  t.ok(log.lines.some((l) => l.msg === 'srt: connection closed on error' && /MPEG-TS/.test(String(l.reason))), 'logged with the reason')
  await waitFor(() => srv.connections().length === 0, 'connection gone')
  // The caller was told (SHUTDOWN): FFmpeg stops well before its 30 s source ends.
  const code = await Promise.race([pub.exited, new Promise((r) => setTimeout(() => r('running'), 15_000))])
  t.not(code, 'running', 'FFmpeg stopped after the shutdown')
})

t.test('passphrase: right one publishes, wrong or missing ones are refused', async (t) => {
  const passphrase = 'correct horse battery'
  const { port, rec } = await server(t, { passphrase })
  const good = startSrtPublisher(srtUrl(port, 'publish:enc:k', { passphrase, pbkeylen: 32 }), { width: 320, height: 240 })
  t.teardown(() => good.stop())
  await waitFor(() => (rec.byStream('enc')?.tags.filter((x) => x.kind === 'video').length ?? 0) > 30, 'decrypted video', 30_000)
  t.equal(rec.byStream('enc')!.tags.find((x) => x.kind === 'video')!.data[0], 0x17, 'decrypted payload demuxes to an AVC sequence header')
  const wrong = startSrtPublisher(srtUrl(port, 'publish:enc2:k', { passphrase: 'not the right one' }), { duration: 5 })
  const none = startSrtPublisher(srtUrl(port, 'publish:enc3:k'), { duration: 5 })
  t.teardown(() => Promise.all([wrong.stop(), none.stop()]))
  t.not(await wrong.exited, 0, 'wrong passphrase: FFmpeg fails')
  t.match(wrong.stderrText(), /passphrase|reject/i)
  t.not(await none.exited, 0, 'no passphrase: FFmpeg fails')
  t.same(rec.requests.map((r) => r.stream), ['enc'], 'refused callers never reached the publish handler')
})

t.test('a refused publish and a playback streamid get SRT rejections', async (t) => {
  const { port, rec, srv } = await server(t, { decide: (req) => (req.key === 'bad' ? { ok: false, code: 'unauthorized', reason: 'bad key' } : undefined) })
  const refused = startSrtPublisher(srtUrl(port, 'publish:x:bad'), { duration: 5 })
  const reader = startSrtPublisher(srtUrl(port, '#!::r=x,m=request'), { duration: 5 })
  t.teardown(() => Promise.all([refused.stop(), reader.stop()]))
  t.not(await refused.exited, 0)
  t.not(await reader.exited, 0)
  t.equal(rec.requests.length, 1, 'only the publish asked the handler')
  t.equal(rec.requests[0]!.key, 'bad', 'the key was passed through')
  t.equal(rec.requests[0]!.protocol, 'srt')
  t.equal(srv.totals().rejected, 2)
  t.equal(srv.connections().length, 0)
})
