/**
 * SRT callers naming their input role in the streamid: both forms reach the
 * handler with the role; an unknown or disagreeing role is refused during the
 * handshake (2400, bad request) with the reason logged, without asking the
 * handler; a reconnecting caller takes over a silent connection of its own
 * role only.
 */
import t, { type Test } from 'tap'
import { SrtServer } from '../../../src/ingest/srt/server.js'
import { Reject } from '../../../src/ingest/srt/handshake.js'
import { captureLogger, recordingHandler, waitFor } from '../../helpers/recording-handler.js'
import { SrtCaller } from '../../helpers/srt-caller.js'
import { srtUrl, startSrtPublisher } from '../../helpers/srt.js'

async function server(t: Test) {
  const rec = recordingHandler()
  const log = captureLogger()
  const srv = new SrtServer({ host: '127.0.0.1', port: 0, handler: rec.handler, logger: log.logger, latencyMs: 120 })
  const port = await srv.listen()
  t.teardown(() => srv.close())
  const caller = async (): Promise<SrtCaller> => {
    const c = await SrtCaller.open(port)
    t.teardown(() => c.close())
    await c.induction()
    return c
  }
  return { srv, port, rec, log, caller }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

t.test('FFmpeg with streamid publish:NAME:SECRET:backup publishes the backup input', async (t) => {
  const { port, rec } = await server(t)
  const pub = startSrtPublisher(srtUrl(port, 'publish:cam:S:backup'), { width: 320, height: 240 })
  t.teardown(() => pub.stop())
  await waitFor(() => (rec.byStream('cam')?.tags.length ?? 0) > 10, 'the backup\'s media', 30_000)
  t.match(rec.requests[0], { protocol: 'srt', stream: 'cam', key: 'S', role: 'backup' })
})

t.test('both streamid forms carry the role; none is the primary', async (t) => {
  const { rec, caller } = await server(t)
  t.ok((await (await caller()).conclude({ streamid: 'publish:a:S' }))?.accepted)
  t.ok((await (await caller()).conclude({ streamid: 'publish:b:S:backup' }))?.accepted)
  t.ok((await (await caller()).conclude({ streamid: '#!::r=c,m=publish,s=S,role=backup' }))?.accepted)
  t.ok((await (await caller()).conclude({ streamid: '#!::r=d,m=publish,s=S,role=primary' }))?.accepted)
  t.same(rec.requests.map((r) => [r.stream, r.key, r.role]), [['a', 'S', 'primary'], ['b', 'S', 'backup'], ['c', 'S', 'backup'], ['d', 'S', 'primary']])
})

t.test('an unknown, empty or disagreeing role is refused with 2400 and logged; the handler is not asked', async (t) => {
  const { srv, rec, log, caller } = await server(t)
  const refused = ['publish:cam:S:bkp', 'publish:cam:S:', '#!::r=cam,m=publish,s=S,role=bkp', '#!::r=cam,m=publish,s=S,role=backup,role=primary']
  for (const streamid of refused) {
    const a = await (await caller()).conclude({ streamid })
    t.equal(a?.rejection, Reject.badRequest, `${streamid}: rejected as a bad request`)
  }
  t.equal(rec.requests.length, 0, 'the handler was never asked')
  t.equal(srv.connections().length, 0)
  // The ledger logs a host's first refusal at once and sums the rest up later.
  const line = log.lines.find((l) => l.msg === 'srt: connection refused')
  t.match(line, { code: 1000 + Reject.badRequest, why: 'role must be primary or backup, not "bkp"' })
})

t.test('a backup reconnecting from the primary\'s host replaces the silent backup, never the primary', async (t) => {
  const { srv, rec, caller } = await server(t)
  // Hand-built callers send no media after the handshake: both inputs fall silent at once.
  t.ok((await (await caller()).conclude({ streamid: 'publish:cam:S' }))?.accepted, 'primary')
  t.ok((await (await caller()).conclude({ streamid: 'publish:cam:S:backup' }))?.accepted, 'backup')
  await sleep(1300)
  const again = await (await caller()).conclude({ streamid: 'publish:cam:S:backup' }, 4000)
  t.ok(again?.accepted, 'the reconnecting backup is accepted')
  await waitFor(() => rec.sinks[1]!.endReasons.length > 0, 'the old backup to end')
  t.match(rec.sinks[1]!.endReasons, [/replaced by a reconnecting caller/])
  t.same(rec.sinks[0]!.endReasons, [], 'the primary was left alone')
  t.same(srv.connections().map((c) => c.role).sort(), ['backup', 'primary'])
})
