/**
 * Supervision of one FFmpeg child process: start, restart with exponential
 * backoff when it dies while wanted, stop by pid. Its stderr goes to a pino
 * child logger, one line per line within a budget (stderr-log.ts).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import type { Logger } from 'pino'
import { StderrLog } from './stderr-log.js'
import { closeSync } from 'node:fs'
import { pipeFromChild, pipeToChild, type OsPipe } from './os-pipe.js'

/**
 * The environment of every FFmpeg worker. A ladder worker handles a raw frame of up to
 * a few MB per packet; glibc serves blocks that big from fresh mmap'd or trimmed heap
 * pages, so each frame cost page faults and the kernel's page zeroing: a 720p encoder
 * fed raw frames took 36,000 minor faults per 180 frames, 7,000 with these thresholds,
 * and half the system time. Blocks up to 64 MB now come from the heap, which keeps
 * what it freed (up to 256 MB, never more than the worker's peak) for the next frames.
 * An operator's own GLIBC_TUNABLES wins.
 */
export const WORKER_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? 'glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=268435456',
}

/** Streams of one running FFmpeg process. */
export interface WorkerIo {
  stdin: Writable
  stdout: Readable
  /** Extra output pipes on fds 3, 4, ... (WorkerOptions.extraOutputs of them). */
  extra: Readable[]
  pid: number
  /** 0 for the first process, then one more per restart. */
  generation: number
}

/** How to run and watch one worker. */
export interface WorkerOptions {
  ffmpeg: string
  /** Arguments, or a function giving them afresh for every (re)start. */
  args: string[] | (() => string[])
  /** Extra output pipes the process writes to (fds 3, 4, ...). */
  extraOutputs?: number
  /** Kernel pipes (not socket pairs) for stdin and the extra outputs: the raw-frame paths. */
  osPipes?: boolean
  logger: Logger
  minBackoffMs: number
  maxBackoffMs: number
  /** A fresh process started; wire its pipes. */
  onSpawn: (io: WorkerIo) => void
  /** A process exited (before any restart is scheduled). */
  onExit?: (info: { code: number | null; signal: string | null; generation: number; wanted: boolean }) => void
}

/** Runs successfully this long and the backoff starts over. */
const HEALTHY_MS = 10_000

/** One supervised FFmpeg process. */
export class SupervisedWorker {
  private readonly opts: WorkerOptions
  private child: ChildProcess | undefined
  private childStdin: Writable | undefined
  private wanted = false
  private generation = -1
  private backoff: number
  private restartTimer: NodeJS.Timeout | undefined
  private startedAt = 0
  private exited: Promise<void> = Promise.resolve()
  /** The running process was asked to finish (recycle): start the next one at once. */
  private recycling = false

  constructor(opts: WorkerOptions) {
    this.opts = opts
    this.backoff = opts.minBackoffMs
  }

  /** Kill the running process (it is restarted with backoff while wanted). */
  kill(): void {
    const pid = this.child?.pid
    if (pid) try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
  }

  /**
   * End the running process gracefully (its stdin closes: FFmpeg writes out what it has and
   * exits) and start the next at once: its input changed in a way it cannot follow.
   */
  recycle(): void {
    if (!this.child || !this.wanted) return
    this.recycling = true
    this.childStdin?.destroy()
  }

  /** Kill the process of `generation` if it is still the running one (an output that turned out bad). */
  killGeneration(generation: number): void {
    if (generation === this.generation) this.kill()
  }

  /** True while the worker is wanted (between start and stop). */
  get running(): boolean {
    return this.wanted
  }

  /** Pid of the running process, if any. */
  get pid(): number | undefined {
    return this.child?.pid
  }

  /** Start the process and keep it running until stop(). */
  start(): void {
    if (this.wanted) return
    this.wanted = true
    this.spawnOnce()
  }

  /** Stop for good: kill the process by its pid and wait for it to exit. */
  async stop(): Promise<void> {
    this.wanted = false
    if (this.restartTimer) clearTimeout(this.restartTimer)
    const child = this.child
    if (child && child.exitCode === null && child.signalCode === null) {
      this.childStdin?.destroy()
      // Closing stdin lets FFmpeg flush; kill if it lingers.
      const timer = setTimeout(() => { if (child.pid) try { process.kill(child.pid, 'SIGKILL') } catch { /* gone */ } }, 2000)
      await this.exited
      clearTimeout(timer)
    }
  }

  private spawnOnce(): void {
    this.generation++
    const generation = this.generation
    const log = this.opts.logger
    const args = typeof this.opts.args === 'function' ? this.opts.args() : this.opts.args
    const extra = this.opts.extraOutputs ?? 0
    const inPipe = this.opts.osPipes ? pipeToChild() : undefined
    const outPipes = this.opts.osPipes ? Array.from({ length: extra }, () => pipeFromChild()) : []
    const kernel = [inPipe, ...outPipes].filter((x): x is OsPipe => x !== undefined)
    const stdio: StdioOptions = [inPipe?.child ?? 'pipe', 'pipe', 'pipe', ...Array.from({ length: extra }, (_, i) => outPipes[i]?.child ?? 'pipe')]
    const child = spawn(this.opts.ffmpeg, args, { stdio, env: WORKER_ENV })
    // The child holds its own copies now; the parent's would keep the pipes open past its death.
    for (const p of kernel) closeSync(p.child)
    this.child = child
    const stdin: Writable = inPipe?.node ?? child.stdin!
    this.childStdin = stdin
    const stdout = child.stdout!
    const stderr = child.stderr!
    this.startedAt = Date.now()
    this.exited = new Promise((resolve) => child.once('close', () => resolve()))
    stdin.on('error', (err) => log.debug({ err: err.message }, 'worker stdin closed'))
    child.on('error', (err) => log.error({ err: err.message }, 'worker could not start'))
    const said = new StderrLog(log)
    stderr.setEncoding('utf8')
    stderr.on('data', (d: string) => said.push(d))
    child.once('close', (code, signal) => {
      said.flush()
      // A process superseded by stop() + start() must not schedule a second restart.
      const current = this.child === child
      if (current) this.child = undefined
      const wanted = this.wanted && current
      this.opts.onExit?.({ code, signal, generation, wanted })
      if (!wanted) return
      if (Date.now() - this.startedAt > HEALTHY_MS) this.backoff = this.opts.minBackoffMs
      const recycled = this.recycling
      this.recycling = false
      const wait = recycled ? 0 : this.backoff
      if (recycled) log.info({ code, signal }, 'worker finished for its changed input; starting the next')
      else log.warn({ code, signal, restartInMs: wait }, 'worker exited; restarting')
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined
        if (this.wanted) this.spawnOnce()
      }, wait)
      if (!recycled) this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs)
    })
    for (const p of kernel) p.node.on('error', (err) => log.debug({ err: err.message }, 'worker pipe closed'))
    child.once('close', () => { for (const p of kernel) p.node.destroy() })
    if (child.pid === undefined) return // 'error' follows; 'close' schedules the retry
    const outputs = Array.from({ length: extra }, (_, i) => outPipes[i]?.node ?? (child.stdio[3 + i] as Readable))
    this.opts.onSpawn({ stdin, stdout, extra: outputs, pid: child.pid, generation })
  }
}
