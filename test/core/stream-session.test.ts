/**
 * A whole session without FFmpeg: a publisher's tags in, a fake worker writing prepared
 * fMP4 out, parts and segments published, a worker death and restart, the end. What the
 * session did is read from its events alone, as any consumer would read it.
 */
import t from 'tap'
import { StreamSession } from '../../src/core/stream-session.js'
import { newSource } from '../../src/core/media-source.js'
import type { SessionEvent, SessionEventMap } from '../../src/core/session-events.js'
import { LiveStream } from '../../src/packager/live-stream.js'
import { RenditionStore } from '../../src/packager/rendition-store.js'
import { DEFAULTS, type Config } from '../../src/config/schema.js'
import { silentLogger } from '../../src/log/logger.js'
import { fakeWorkers, fixtureTags, type FakeWorkers } from '../helpers/fake-workers.js'

const config: Config = { ...DEFAULTS, ladder: { ...DEFAULTS.ladder, enabled: false } }

function session(fake: FakeWorkers) {
  const stream = new LiveStream('cam')
  const s = new StreamSession({
    stream, config, logger: silentLogger(), workers: fake.factory,
    storeFor: (name, first) => {
      const store = stream.renditions.get(name) ?? new RenditionStore(name, { targetDuration: 2, partTarget: config.hls.partTarget, windowSeconds: 30 }, first ?? 100)
      if (!stream.renditions.has(name)) stream.addRendition(store)
      return store
    },
  })
  const seen: Array<{ event: SessionEvent; payload: unknown }> = []
  const names: SessionEvent[] = ['state', 'started', 'ended', 'source-attached', 'source-detached', 'rendition-added', 'init-changed',
    'part-published', 'segment-completed', 'discontinuity', 'worker-down', 'worker-up']
  for (const event of names) s.events.on(event, (payload: SessionEventMap[typeof event]) => { seen.push({ event, payload }) })
  return { s, stream, seen, count: (e: SessionEvent) => seen.filter((x) => x.event === e).length }
}

const until = async (what: string, ok: () => boolean): Promise<void> => {
  // A bound for a loaded machine, not a speed goal: the session usually takes a few hundred ms.
  for (let i = 0; i < 2500 && !ok(); i++) await new Promise((r) => setTimeout(r, 2))
  if (!ok()) throw new Error(`timed out waiting for ${what}`)
}

t.test('publish → parts → segments → worker death and restart → end, from events alone', async (t) => {
  const started = performance.now()
  const fake = fakeWorkers()
  const { s, stream, seen, count } = session(fake)
  const input = s.attach(newSource('rtmp', 'primary', '127.0.0.1:5000', null))
  if ('refused' in input) throw new Error(input.refused)
  t.equal(s.state, 'starting')
  for (const tag of fixtureTags(Date.now() - 3000)) input.write(tag)
  t.ok(fake.launch, 'the plan was made and the workers started from the injected factory')
  t.same(fake.launch!.names, ['source'], 'passthrough: one rendition')
  t.ok(fake.inputBytes > 10_000, `the worker was fed the normalized input (${fake.inputBytes} bytes)`)
  await until('the first segment', () => count('segment-completed') >= 1)
  t.equal(s.state, 'live', 'live once media came out')

  fake.crash('source')
  await until('the restarted worker’s discontinuity', () => count('discontinuity') >= 1)
  input.end('publisher gone')
  await s.stopped
  t.comment(`whole session in ${Math.round(performance.now() - started)} ms`)

  const order = seen.map((x) => x.event)
  const first = (e: SessionEvent): number => order.indexOf(e)
  t.ok(first('source-attached') < first('started') && first('started') < first('init-changed') && first('init-changed') < first('part-published'),
    'attached, planned, init, then parts')
  t.ok(first('worker-down') < order.lastIndexOf('worker-up'), 'the worker went down, then came back up')
  t.equal(order.filter((e) => e === 'worker-up').length, 2, 'two worker generations')
  t.same(seen.filter((x) => x.event === 'worker-down').map((x) => (x.payload as SessionEventMap['worker-down']).wanted), [true, false],
    'the crash was reported as a wanted restart, the stop as not')
  t.equal(order.filter((e) => e === 'init-changed').length, 2, 'one init per worker generation')
  t.equal(order[order.length - 1], 'ended', 'ended last')
  t.same(seen.filter((x) => x.event === 'state').map((x) => (x.payload as SessionEventMap['state']).state), ['live', 'ended'])

  const store = stream.renditions.get('source')!
  t.ok(store.ended, 'the store ended')
  const completed = seen.filter((x) => x.event === 'segment-completed').map((x) => x.payload as SessionEventMap['segment-completed'])
  t.same(completed.map((c) => c.msn), store.segments.map((x) => x.msn), 'one segment-completed per segment the store holds, in order')
  t.same(completed.map((c) => c.bytes), store.segments.map((x) => x.data!.length), 'with their sizes')
  const disc = seen.find((x) => x.event === 'discontinuity')!.payload as SessionEventMap['discontinuity']
  t.ok(store.segment(disc.msn)?.discontinuity, 'the discontinuity event names the segment the playlist marks')
  const parts = seen.filter((x) => x.event === 'part-published').length
  t.equal(parts, store.segments.reduce((a, x) => a + x.parts.length, 0), 'one part-published per part')
  t.ok(fake.stopped, 'the workers were stopped')
})

t.test('a recorder written from events alone keeps every completed segment and its init', async (t) => {
  const fake = fakeWorkers()
  const { s, stream } = session(fake)
  // The whole recorder: no access to the session's internals, only its events.
  const recorded: Array<{ msn: number; init: string; data: Buffer; pdt: number }> = []
  const inits = new Map<string, Buffer>()
  let initOf = new Map<string, string>()
  s.events.on('init-changed', ({ rendition, init }) => { inits.set(init.hash, init.data); initOf = new Map(initOf).set(rendition, init.hash) })
  s.events.on('segment-completed', ({ rendition, msn, pdt, gap, segment }) => {
    if (!gap) recorded.push({ msn, init: initOf.get(rendition)!, data: Buffer.from(segment.data!), pdt })
  })
  const input = s.attach(newSource('srt', 'primary', '127.0.0.1:5001'))
  if ('refused' in input) throw new Error(input.refused)
  for (const tag of fixtureTags(Date.now() - 3000)) input.write(tag)
  await until('all media written', () => fake.written === 1)
  input.end('publisher gone')
  await s.stopped

  const store = stream.renditions.get('source')!
  const media = store.segments.filter((x) => !x.gap)
  t.ok(media.length >= 2, `the fixture made ${media.length} segments`)
  t.same(recorded.map((r) => r.msn), media.map((x) => x.msn), 'every segment recorded, once, in order')
  for (const [i, r] of recorded.entries()) {
    t.ok(r.data.equals(media[i]!.data!), `segment ${r.msn}: the same bytes as served`)
    t.ok(inits.get(r.init)?.equals(media[i]!.init.data), `segment ${r.msn}: with the init it needs`)
    t.equal(r.pdt, media[i]!.pdt, `segment ${r.msn}: with its date`)
  }
})

t.test('a listener that throws is skipped; the session and the other listeners go on', async (t) => {
  const fake = fakeWorkers()
  const { s, count } = session(fake)
  s.events.on('part-published', () => { throw new Error('disk full') })
  const input = s.attach(newSource('rtmp', 'primary', '127.0.0.1:5002'))
  if ('refused' in input) throw new Error(input.refused)
  for (const tag of fixtureTags(Date.now() - 3000)) input.write(tag)
  await until('a segment despite the failing listener', () => count('segment-completed') >= 1)
  input.end('done')
  await s.stopped
  t.ok(count('part-published') > 3, 'the other part listener heard every part')
})

t.test('a second input is refused while the first is on air, and the session ends with the first', async (t) => {
  const fake = fakeWorkers()
  const { s } = session(fake)
  const a = s.attach(newSource('rtmp', 'primary', '127.0.0.1:5003'))
  const b = s.attach(newSource('srt', 'primary', '127.0.0.1:5004'))
  t.ok('refused' in b, 'refused')
  if ('refused' in a) throw new Error(a.refused)
  a.end('gone')
  await s.stopped
  t.equal(s.state, 'ended')
  t.ok('refused' in s.attach(newSource('rtmp', 'primary', '127.0.0.1:5005')), 'an ended session takes no input')
})

t.test('a backup whose codec the stream cannot take is kept off air, said in the events; the stream goes on', async (t) => {
  const { InputSwitch } = await import('../../src/core/input-switch.js')
  const { InputSwitcher } = await import('../../src/core/input-switcher.js')
  const fake = fakeWorkers()
  const stream = new LiveStream('cam')
  const policy = new InputSwitch({ now: () => performance.now(), lossMs: 500, return: 'primary', returnAfterMs: 10_000, slateMaxSeconds: 0 })
  const s = new StreamSession({
    stream, config, logger: silentLogger(), workers: fake.factory,
    selector: new InputSwitcher({ policy, log: silentLogger(), tickMs: 0 }),
    storeFor: (name, first) => {
      const store = stream.renditions.get(name) ?? new RenditionStore(name, { targetDuration: 2, partTarget: config.hls.partTarget, windowSeconds: 30 }, first ?? 100)
      if (!stream.renditions.has(name)) stream.addRendition(store)
      return store
    },
  })
  const problems: string[] = []
  s.events.on('input-problem', ({ source, problem }) => problems.push(`${source.role}: ${problem}`))
  const primary = s.attach(newSource('rtmp', 'primary', '127.0.0.1:6000'))
  const backup = s.attach(newSource('rtmp', 'backup', '127.0.0.1:6001'))
  if ('refused' in primary || 'refused' in backup) throw new Error('refused')
  for (const tag of fixtureTags(Date.now() - 3000)) primary.write(tag)
  const VP6 = Buffer.concat([Buffer.from([0x14, 0x00]), Buffer.alloc(23, 1)])
  backup.write({ kind: 'video', timestamp: 0, data: VP6, arrival: Date.now() })
  t.same(problems, ['backup: video codec FLV codec id 4 is not supported over RTMP (send H.264)'])
  t.equal(s.state, 'live', 'the stream goes on')
  primary.end('done', true)
  backup.end('done', true)
  await s.stopped
})
