/**
 * What a session needs from its workers, declared here so the session can be given any
 * implementation: FFmpeg processes in production (ffmpeg-workers.ts), a fake that writes
 * prepared fMP4 in tests. Killing and restarting go through these calls only; the
 * processes themselves belong to src/transcode/.
 */
import type { Readable } from 'node:stream'
import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import type { FlvNormalizer } from '../ingest/flv-normalizer.js'
import type { StreamPlan } from './stream-plan.js'

/** One worker generation's output for a rendition: fMP4 on `stdout`. */
export interface WorkerOutput {
  rendition: string
  stdout: Readable
  /** Process id, when the worker is a process (logs, tests). */
  pid?: number
  /** Seconds to add to this output's timestamps to put them on the session's timeline. */
  mediaOffset?: number
  /** Make this generation stop (it is restarted by its supervisor); nothing when it is already gone. */
  restart(): void
}

/** What starting a session's workers needs. */
export interface WorkerLaunch {
  plan: StreamPlan
  /** Rendition names of the plan, video first (renditionNames). */
  names: string[]
  config: Config
  log: Logger
  /** The session's normalized input, which workers attach to. */
  normalizer: FlvNormalizer
  /**
   * Seconds from the start of the session's first grid slot to media time zero (0 unless the
   * grid is epoch-locked): encoders force key frames where media time + this is a multiple
   * of the segment target. Read once the epoch has started (an encoder's spawn).
   */
  gridOffset?: () => number
  /** Calls back once the grid's phase is final (encoders start then). */
  whenGridReady?: (go: () => void) => void
  /** A (re)started worker's output, to be read into its rendition. */
  onOutput: (out: WorkerOutput) => void
  /** A worker exited; `wanted` is false when it was being stopped. */
  onExit: (wanted: boolean, rendition: string) => void
}

/** A session's running workers. */
export interface SessionWorkers {
  /** Stop every worker for good; resolves once all are gone. */
  stop(): Promise<void>
  /** Restart every worker (their input's configuration changed). */
  restartAll(): void
  /** Stop an encoded rung for the rest of the session; false when there is no such rung. */
  shed(rendition: string): Promise<boolean>
  /** When the ladder's decoder was last held back by a slow encoder (0: never, or no ladder). */
  heldBackAt(): number
  /** Process ids by role, for logs, benches and tests. */
  pids(): Record<string, number | undefined>
}

/** Starts the workers of a plan (injected into every session). */
export type WorkerFactory = (launch: WorkerLaunch) => SessionWorkers
