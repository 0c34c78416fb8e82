/**
 * RTMP publishers naming their input role: `?role=` on the stream key (or on
 * the server URL, OBS's other field) reaches the handler; an unknown or
 * disagreeing role is refused with BadName before anything is acknowledged,
 * without asking the handler.
 */
import t, { type Test } from 'tap'
import { RtmpServer } from '../../../src/ingest/rtmp/server.js'
import { startPublisher } from '../../helpers/ffmpeg.js'
import { RawRtmpClient } from '../../helpers/rtmp-client.js'
import { captureLogger, recordingHandler, waitFor } from '../../helpers/recording-handler.js'

async function setup(t: Test) {
  const rec = recordingHandler()
  const log = captureLogger()
  const server = new RtmpServer({ host: '127.0.0.1', port: 0, handler: rec.handler, logger: log.logger })
  const port = await server.listen()
  t.teardown(() => server.close())
  const client = async (): Promise<RawRtmpClient> => {
    const c = await RawRtmpClient.open(port)
    t.teardown(() => c.destroy())
    await c.handshake()
    return c
  }
  return { ...rec, ...log, port, client }
}

t.test('FFmpeg publishing cam?key=S&role=backup is the backup input; no role is the primary', async (t) => {
  const f = await setup(t)
  const primary = startPublisher(`rtmp://127.0.0.1:${f.port}/live/cam?key=S`, { width: 320, height: 240 })
  t.teardown(() => primary.stop())
  await waitFor(() => (f.byStream('cam')?.tags.length ?? 0) > 5, 'the primary\'s media', 30_000)
  const backup = startPublisher(`rtmp://127.0.0.1:${f.port}/live/cam?key=S&role=backup`, { width: 320, height: 240 })
  t.teardown(() => backup.stop())
  await waitFor(() => f.sinks.length === 2 && f.sinks[1]!.tags.length > 5, 'the backup\'s media', 30_000)
  t.match(f.requests.map((r) => ({ stream: r.stream, key: r.key, role: r.role })), [
    { stream: 'cam', key: 'S', role: 'primary' },
    { stream: 'cam', key: 'S', role: 'backup' },
  ])
})

t.test('role on the connect app (OBS server URL) applies when the stream key names none', async (t) => {
  const f = await setup(t)
  const c = await f.client()
  t.match(await c.publish('live?key=S&role=backup', 'cam'), { level: 'status', code: 'NetStream.Publish.Start' })
  t.match(f.requests[0], { stream: 'cam', key: 'S', role: 'backup', app: 'live' })
})

t.test('an unknown, empty or disagreeing role is refused with BadName before the handler is asked', async (t) => {
  const f = await setup(t)
  const cases: Array<[app: string, name: string, reason: RegExp]> = [
    ['live', 'cam?key=S&role=bkp', /role must be primary or backup, not "bkp"/],
    ['live', 'cam?key=S&role=', /role must be primary or backup, not ""/],
    ['live', 'cam?key=S&role=backup&role=primary', /different values/],
    ['live?role=primary', 'cam?key=S&role=backup', /different values/],
  ]
  for (const [app, name, reason] of cases) {
    const c = await f.client()
    t.match(await c.publish(app, name), { level: 'error', code: 'NetStream.Publish.BadName', description: reason }, `${app} ${name}`)
    t.ok(await c.closedWithin(3000), 'closed after the refusal')
    t.notOk(c.commands.some((x) => JSON.stringify(x.values).includes('Publish.Start')), 'nothing resembling a start was sent')
  }
  t.equal(f.requests.length, 0, 'the handler was never asked')
  t.equal(f.lines.filter((l) => l.msg === 'rtmp: publish refused: invalid role').length, 4, 'each refusal logged with its reason')
  t.notOk(f.lines.some((l) => JSON.stringify(l).includes('"S"') || /key=S/.test(JSON.stringify(l))), 'the key never reaches the log')
})

t.test('a second publisher of the same role is still refused as busy; the first is unharmed', async (t) => {
  const f = await setup(t)
  const a = await f.client()
  t.match(await a.publish('live', 'cam?key=S&role=backup'), { code: 'NetStream.Publish.Start' })
  const b = await f.client()
  t.match(await b.publish('live', 'cam?key=S&role=backup'), { level: 'error', code: 'NetStream.Publish.BadName', description: /already being published/ })
  t.same(f.byStream('cam')!.endReasons, [], 'the live backup goes on')
})
