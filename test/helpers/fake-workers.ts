/**
 * A worker factory without FFmpeg: every worker generation writes prepared fMP4 bytes
 * (fixtures/fake-worker/output.mp4) for its rendition, so a whole session can be driven
 * in a test in milliseconds. Crashes and restarts are the test's to trigger.
 */
import { readFileSync } from 'node:fs'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { SessionWorkers, WorkerFactory, WorkerLaunch } from '../../src/core/session-workers.js'
import { readFlv } from './flv-file.js'
import type { MediaTag } from '../../src/ingest/types.js'

const FIXTURES = fileURLToPath(new URL('../../fixtures/fake-worker/', import.meta.url))

/** The prepared worker output (init + one fragment per frame). */
export const FAKE_OUTPUT = readFileSync(`${FIXTURES}output.mp4`)

/** The publisher's tags the output was made from, stamped as if they arrived in real time from `t0`. */
export function fixtureTags(t0: number): MediaTag[] {
  return readFlv(`${FIXTURES}input.flv`).map((t) => ({
    kind: t.type === 9 ? 'video' : t.type === 8 ? 'audio' : 'data', timestamp: t.timestamp, data: t.body, arrival: t0 + t.timestamp,
  }))
}

/** One generation of a fake worker. */
interface Generation {
  stdout: PassThrough
  alive: boolean
}

/** A fake factory and what the test can do to its workers. */
export interface FakeWorkers {
  factory: WorkerFactory
  /** The launch the session made (undefined before it planned). */
  launch: WorkerLaunch | undefined
  /** Bytes the workers received from the session's normalized input. */
  inputBytes: number
  /** Generations started per rendition. */
  generations: Map<string, number>
  /** The rendition's worker dies as a process would (its output closes, its exit is reported), then restarts. */
  crash(rendition: string): void
  /** Whether stop() was called and every generation is gone. */
  stopped: boolean
  /** Generations that have written their whole output. */
  written: number
}

/** A factory whose workers write `output` (default: the fixture) in 4 KB chunks, then stay up until stopped. */
export function fakeWorkers(output = FAKE_OUTPUT): FakeWorkers {
  const current = new Map<string, Generation>()
  const fake: FakeWorkers = {
    launch: undefined,
    inputBytes: 0,
    generations: new Map(),
    stopped: false,
    written: 0,
    crash: (rendition) => {
      const g = current.get(rendition)
      if (!g?.alive) throw new Error(`no live worker for ${rendition}`)
      g.alive = false
      g.stdout.end()
      fake.launch!.onExit(true, rendition)
      setImmediate(() => start(rendition))
    },
    factory: (launch) => {
      fake.launch = launch
      const detach = launch.normalizer.attach((bytes) => { fake.inputBytes += bytes.length; return true }, { replay: true })
      for (const name of launch.names) start(name)
      const workers: SessionWorkers = {
        stop: async () => {
          detach()
          for (const [name, g] of current) if (g.alive) { g.alive = false; g.stdout.end(); launch.onExit(false, name) }
          fake.stopped = true
        },
        restartAll: () => { for (const name of current.keys()) fake.crash(name) },
        shed: async () => false,
        heldBackAt: () => 0,
        pids: () => ({}),
      }
      return workers
    },
  }
  const start = (rendition: string): void => {
    if (fake.stopped) return
    const g: Generation = { stdout: new PassThrough(), alive: true }
    current.set(rendition, g)
    fake.generations.set(rendition, (fake.generations.get(rendition) ?? 0) + 1)
    fake.launch!.onOutput({ rendition, stdout: g.stdout, restart: () => { if (g.alive) fake.crash(rendition) } })
    let off = 0
    const pump = (): void => {
      if (!g.alive) return
      if (off >= output.length) return void fake.written++
      g.stdout.write(output.subarray(off, off += 4096))
      setImmediate(pump)
    }
    pump()
  }
  return fake
}
