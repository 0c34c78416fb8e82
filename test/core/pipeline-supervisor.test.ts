/**
 * The supervisor's decisions, driven with a controlled clock and feeds whose
 * speed and last output the test sets.
 */
import t, { type Test } from 'tap'
import { PipelineSupervisor } from '../../src/core/pipeline-supervisor.js'
import type { RenditionFeed } from '../../src/core/rendition-feed.js'
import { RenditionStore } from '../../src/packager/rendition-store.js'
import { silentLogger } from '../../src/log/logger.js'

interface FakeFeed { store: RenditionStore; speed: number | undefined; lastOutputAt: number | undefined; pid: number | undefined; fed: boolean; restart: () => void }

function feeds(names: string[]): Map<string, FakeFeed> {
  return new Map(names.map((n) => {
    const store = new RenditionStore(n, { targetDuration: 2, partTarget: 0.5, windowSeconds: 30 }, 1)
    store.beginEpoch({ data: Buffer.from('i'), hash: 'h', tracks: [] })
    return [n, { store, speed: 1, lastOutputAt: 0, pid: undefined, fed: false, restart: () => { throw new Error(`${n} has no worker to restart`) } }]
  }))
}

function setup(names: string[], encoded: string[], heldBackAt?: () => number) {
  let now = 0
  let input = 0
  const f = feeds(names)
  const shed: string[] = []
  const sup = new PipelineSupervisor({
    feeds: f as unknown as Map<string, RenditionFeed>,
    encoded,
    partTarget: 0.5,
    logger: silentLogger(),
    lastInputAt: () => input,
    heldBackAt,
    now: () => now,
    shed: async (r) => { shed.push(r); return true },
  })
  sup.start()
  sup.stop() // ticks are driven by the test
  const advance = (ms: number): void => {
    for (let i = 0; i < ms / 500; i++) {
      now += 500
      if (inputFlows) input = now
      for (const feed of f.values()) if (feed.lastOutputAt !== undefined && feed.speed !== 0) feed.lastOutputAt = now
      sup.tick()
    }
  }
  let inputFlows = true
  return { f, shed, advance, setSpeed: (n: string, v: number) => { f.get(n)!.speed = v }, stopInput: () => { inputFlows = false } }
}

/** A real process posing as a worker that has produced for 2 s. */
async function producingWorker(t: Test, encoded: string[] = [], heldBackAt?: () => number) {
  const s = setup(['source'], encoded, heldBackAt)
  const { spawn } = await import('node:child_process')
  const victim = spawn('sleep', ['30'])
  t.teardown(() => { try { victim.kill('SIGKILL') } catch { /* gone */ } })
  const feed = s.f.get('source')!
  feed.pid = victim.pid
  feed.fed = true
  // The feed's restart goes to the worker's supervisor; here it kills the stand-in.
  feed.restart = () => victim.kill('SIGKILL')
  s.advance(2000)
  return { s, victim, feed }
}

t.test('a ladder running slower than real time sheds its most expensive rung, one at a time', async (t) => {
  const s = setup(['480p', '360p', '240p', 'audio'], ['480p', '360p', '240p'])
  s.advance(11_000) // past the start-up settling time, all at speed 1
  t.same(s.shed, [], 'nothing shed while keeping up')
  s.setSpeed('360p', 0.6)
  s.advance(3000)
  t.same(s.shed, [], 'a short dip is tolerated')
  s.advance(2000)
  t.same(s.shed, ['480p'], 'the most expensive rung goes first, whichever rung was slow')
  await new Promise((r) => setImmediate(r))
  const store = s.f.get('480p')!.store
  t.match(store.shed, /0\.60x real time/, 'the reason is recorded for the API')
  t.notOk(store.ended, 'its playlist does not end (the pipeline covers its time with gaps)')
  s.advance(5000)
  t.same(s.shed, ['480p'], 'then the rest get time to recover')
  s.advance(10_000)
  t.same(s.shed, ['480p', '360p'], 'still slow: the next one')
  s.setSpeed('240p', 0.5)
  s.advance(30_000)
  t.same(s.shed, ['480p', '360p'], 'the last rung is never shed')
})

t.test('speeds that recover reset the count', async (t) => {
  const s = setup(['480p', '360p'], ['480p', '360p'])
  s.advance(11_000)
  for (let i = 0; i < 5; i++) {
    s.setSpeed('480p', 0.7)
    s.advance(2500)
    s.setSpeed('480p', 1)
    s.advance(1000)
  }
  t.same(s.shed, [])
})

t.test('a worker silent for two part targets after producing is killed', async (t) => {
  const { s, victim, feed } = await producingWorker(t)
  t.equal(victim.exitCode, null, 'alive while it produces')
  feed.speed = 0 // stop refreshing lastOutputAt: the worker went silent
  const died = new Promise<string | null>((r) => victim.once('exit', (_c, sig) => r(sig)))
  s.advance(1500)
  t.equal(await died, 'SIGKILL', 'killed once silent for over 1 s (2 x 0.5 s part target) while input flowed')
})

t.test('a worker silent because the publisher stopped sending is left alone', async (t) => {
  const { s, victim, feed } = await producingWorker(t)
  s.stopInput()
  feed.speed = 0
  s.advance(5000)
  t.equal(victim.exitCode, null, 'still running after 5 s without input')
  t.equal(victim.signalCode, null)
})

t.test('an encoder quiet while another holds the decoder back is waiting, not hung', async (t) => {
  let held = true
  // While held, "now" (any time later than the clock); after, long ago.
  const { s: sup, victim, feed } = await producingWorker(t, ['source'], () => (held ? Number.MAX_SAFE_INTEGER : 0))
  feed.speed = 0
  sup.advance(3000)
  t.equal(victim.exitCode, null, 'left alone for 3 s of silence while the decoder is held back')
  t.equal(victim.signalCode, null)
  held = false
  const died = new Promise<string | null>((r) => victim.once('exit', (_c, sig) => r(sig)))
  sup.advance(1500)
  t.equal(await died, 'SIGKILL', 'once nothing holds the decoder, silence is a hang again')
})
