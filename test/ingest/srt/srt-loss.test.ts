/**
 * Loss recovery at a modest rate: FFmpeg publishes through a relay that drops
 * 1% of datagrams both ways; every transport packet must still arrive (no
 * MPEG-TS continuity error, no packet given up). The 25 Mbit/s run is bench/srt-loss.mjs.
 */
import t from 'tap'
import { SrtServer } from '../../../src/ingest/srt/server.js'
import { startLossyRelay } from '../../../bench/lib/lossy-relay.mjs'
import { captureLogger, recordingHandler, waitFor } from '../../helpers/recording-handler.js'
import { srtUrl, startSrtPublisher } from '../../helpers/srt.js'

t.test('1% loss both ways: every TS packet arrives', async (t) => {
  const rec = recordingHandler()
  const srv = new SrtServer({ host: '127.0.0.1', port: 0, handler: rec.handler, logger: captureLogger().logger, latencyMs: 1000 })
  const port = await srv.listen()
  t.teardown(() => srv.close())
  const relay = await startLossyRelay({ target: { host: '127.0.0.1', port }, loss: 0.01, seed: 7, maxMs: 60_000 })
  t.teardown(() => relay.close())
  const pub = startSrtPublisher(srtUrl(relay.port, 'publish:lossy:k', { latencyMs: 1000 }), { width: 640, height: 360, duration: 8, extra: ['-b:v', '3M', '-minrate', '3M', '-maxrate', '3M', '-bufsize', '1M'] })
  t.teardown(() => pub.stop())
  await waitFor(() => srv.totals().packets > 1500, 'packets through the relay', 40_000)
  const s = srv.totals()
  t.ok(relay.stats.droppedUp > 5, `relay dropped ${relay.stats.droppedUp} datagrams toward streamd`)
  t.ok(relay.stats.droppedDown > 0 || relay.stats.down < 200, `relay dropped ${relay.stats.droppedDown} datagrams toward FFmpeg`)
  t.ok(s.lossDetected > 0, `losses detected: ${s.lossDetected}`)
  t.ok(s.retransmitted > 0, `retransmissions received: ${s.retransmitted}`)
  t.equal(s.lateDropped, 0, 'no packet given up')
  t.equal(s.ccErrors, 0, 'no MPEG-TS continuity error after recovery')
  t.ok(rec.byStream('lossy')!.tags.some((x) => x.kind === 'video'), 'video reached the sink')
})
