/**
 * A supervised FFmpeg worker that reads the normalized FLV of a stream and
 * writes one rendition's fMP4 on stdout (passthrough, audio, copied video).
 */
import type { Readable } from 'node:stream'
import type { Logger } from 'pino'
import { SupervisedWorker } from './worker.js'
import type { TrackSelection, WorkerFormat } from '../ingest/worker-output.js'

/** One process generation's output of a rendition. */
export interface RenditionOutput {
  rendition: string
  stdout: Readable
  generation: number
  pid: number
  /**
   * Seconds to add to this process's timestamps to put them on the session's timeline
   * (FFmpeg's mp4 muxer starts every process's tfdt at 0; a restarted encoder begins later).
   */
  mediaOffset?: number
  /** Kill this generation's process (if still running) so its supervisor starts a fresh one. */
  restart(): void
}

/** How a worker reads the stream: in which format, which tracks. */
export interface WorkerFeed { format?: WorkerFormat; select?: TrackSelection }

/** How a worker joins the stream's normalized input: write bytes (false = over bound); returns detach. */
export type AttachFlv = (
  write: (bytes: Buffer) => boolean,
  opts: WorkerFeed & {
    replay?: boolean
    onStart?: (startMs: number, epoch: { wallAtZero: number }) => void
    onFirstMedia?: (ms: number) => void
    /** Takes a changed sequence header in-band (a decoder). */
    followConfig?: boolean
    /** A sequence header it carries changed and it does not follow: it restarts itself. */
    onConfigChange?: () => void
  },
) => () => void

/** Bytes a worker's stdin may buffer before the normalizer drops to the next key frame (write returns false, and refuses once over). */
export const STDIN_BOUND = 16 * 1024 * 1024

/** Options of an FLV-fed worker. */
export interface FlvWorkerOptions {
  ffmpeg: string
  args: string[]
  rendition: string
  attach: AttachFlv
  /** Bytes of FLV queued for the worker before its video drops to a key frame (STDIN_BOUND). */
  inputQueueBytes?: number
  logger: Logger
  minBackoffMs: number
  maxBackoffMs: number
  onOutput: (out: RenditionOutput) => void
  onExit?: (wanted: boolean) => void
  /** Input format and tracks (default: FLV with video and the first audio track). */
  feed?: WorkerFeed
}

/** A worker fed from the normalizer, producing one rendition. */
export class FlvWorker {
  readonly rendition: string
  private readonly worker: SupervisedWorker
  /** Media time (ms) of the first media any of this worker's processes was sent: their common zero. */
  private firstMediaMs: number | undefined
  /** The next process replays the current GOP (the last one finished for a changed input). */
  private replayNext = false

  constructor(o: FlvWorkerOptions) {
    this.rendition = o.rendition
    const bound = o.inputQueueBytes ?? STDIN_BOUND
    this.worker = new SupervisedWorker({
      ffmpeg: o.ffmpeg,
      args: o.args,
      logger: o.logger.child({ rendition: o.rendition }),
      minBackoffMs: o.minBackoffMs,
      maxBackoffMs: o.maxBackoffMs,
      onExit: ({ wanted }) => o.onExit?.(wanted),
      onSpawn: (io) => {
        const out: RenditionOutput = {
          rendition: o.rendition, stdout: io.stdout, generation: io.generation, pid: io.pid,
          restart: () => this.worker.killGeneration(io.generation),
        }
        const detach = o.attach(
          (bytes) => {
            if (io.stdin.destroyed || !io.stdin.writable) return true
            // Over the bound: refuse (the normalizer drops to the next key frame), so a stalled
            // worker never holds more than the bound plus one tag, however long it stalls.
            if (io.stdin.writableLength >= bound) return false
            io.stdin.write(bytes)
            return io.stdin.writableLength < bound
          },
          // Only a session's first process may replay the current GOP: a restarted one
          // must not produce media the rendition already has. One started after its input
          // changed configuration may: the old process never saw the new GOP.
          {
            ...o.feed,
            replay: io.generation === 0 || this.takeReplay(),
            // A copy cannot change its output's init mid-process: finish, and start afresh.
            onConfigChange: () => {
              this.replayNext = true
              this.worker.recycle()
            },
            // FFmpeg's muxer starts each process at tfdt 0, at its first media; a restarted
            // process is put back on the session's timeline by how much later that was.
            onFirstMedia: (ms) => {
              this.firstMediaMs ??= ms
              out.mediaOffset = (ms - this.firstMediaMs) / 1000
            },
          },
        )
        io.stdout.once('close', detach)
        o.onOutput(out)
      },
    })
  }

  private takeReplay(): boolean {
    const r = this.replayNext
    this.replayNext = false
    return r
  }

  /** Pid of the running process. */
  get pid(): number | undefined {
    return this.worker.pid
  }

  /** Start (and keep restarting) the worker. */
  start(): void {
    this.worker.start()
  }

  /** Kill the process; the supervisor restarts it. */
  kill(): void {
    this.worker.kill()
  }

  /** Stop for good. */
  stop(): Promise<void> {
    return this.worker.stop()
  }
}
