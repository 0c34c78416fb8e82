/**
 * One publisher's pipeline: ingest tags → normalized FLV → supervised FFmpeg
 * worker → fMP4 reader → segmenter → rendition store. Implements the ingest's
 * MediaSink, so the ingest knows nothing of what happens downstream.
 */
import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import type { Metrics } from '../log/metrics.js'
import type { MediaSink, MediaTag } from '../ingest/types.js'
import { FlvNormalizer } from '../ingest/flv-normalizer.js'
import { SupervisedWorker, type WorkerIo } from '../transcode/worker.js'
import { passthroughArgs } from '../transcode/args.js'
import { Fmp4Reader } from '../packager/fmp4-reader.js'
import { Segmenter } from '../packager/segmenter.js'
import type { LiveStream } from '../packager/live-stream.js'
import type { RenditionStore } from '../packager/rendition-store.js'
import { describeError } from '../errors.js'

/** Bytes a worker's stdin may buffer before the normalizer drops to the next key frame. */
const STDIN_BOUND = 16 * 1024 * 1024

/** What a pipeline needs from the origin that builds it. */
export interface PipelineDeps {
  stream: LiveStream
  store: RenditionStore
  config: Config
  ffmpeg: string
  logger: Logger
  metrics: Metrics
  protocol: string
  /** Called once after the pipeline has fully stopped (worker gone, store ended). */
  onStopped: () => void
}

/** The pipeline of one live publish session. */
export class StreamPipeline implements MediaSink {
  private readonly deps: PipelineDeps
  private readonly log: Logger
  private readonly normalizer: FlvNormalizer
  private readonly worker: SupervisedWorker
  private segmenter: Segmenter | undefined
  private ended = false
  private resolveStopped!: () => void
  /** Resolves once the worker is gone and the store has ended. */
  readonly stopped = new Promise<void>((resolve) => { this.resolveStopped = resolve })
  private bytesWindow: Array<{ at: number; bytes: number }> = []

  constructor(deps: PipelineDeps) {
    this.deps = deps
    this.log = deps.logger
    this.normalizer = new FlvNormalizer(this.log)
    this.normalizer.onConfigChange = () => {
      this.log.warn('video configuration changed mid-stream; restarting the worker')
      this.restartWorker()
    }
    this.worker = new SupervisedWorker({
      ffmpeg: deps.ffmpeg,
      args: passthroughArgs(),
      logger: this.log.child({ rendition: deps.store.name }),
      minBackoffMs: deps.config.worker.minBackoffMs,
      maxBackoffMs: deps.config.worker.maxBackoffMs,
      onSpawn: (io) => this.wire(io),
      onExit: ({ wanted }) => {
        this.endEpoch()
        if (wanted) deps.metrics.workerRestarts.inc({ stream: deps.stream.name })
      },
    })
  }

  /** Pid of the current worker process (tests kill it by pid). */
  get workerPid(): number | undefined {
    return this.worker.pid
  }

  /** Start the worker. */
  start(): void {
    this.worker.start()
  }

  /** MediaSink: a tag from the publisher. */
  write(tag: MediaTag): void {
    if (this.ended) return
    const stream = this.deps.stream.name
    this.deps.metrics.ingestBytes.inc({ stream, protocol: this.deps.protocol }, tag.data.length)
    this.measure(tag)
    this.normalizer.push(tag)
  }

  /** MediaSink: the publisher is gone. Stops the worker, then ends the store. */
  end(reason: string): void {
    if (this.ended) return
    this.ended = true
    this.log.info({ reason }, 'publisher gone; ending stream')
    this.normalizer.detachAll()
    void this.worker.stop().then(() => {
      this.endEpoch()
      this.deps.store.end()
      this.deps.onStopped()
      this.resolveStopped()
    })
  }

  private wire(io: WorkerIo): void {
    let epochWall = Date.now()
    const store = this.deps.store
    const stream = this.deps.stream.name
    const reader = new Fmp4Reader({
      onInit: (init) => {
        this.endEpoch()
        this.segmenter = new Segmenter(store, init, {
          segmentTarget: this.deps.config.hls.segmentTarget,
          wallClockAt: (t) => epochWall + t * 1000,
          logger: this.log,
          onPart: () => this.deps.metrics.parts.inc({ stream, rendition: store.name }),
          onSegment: () => this.deps.metrics.segments.inc({ stream, rendition: store.name }),
        })
        if (this.deps.stream.state !== 'ended') this.deps.stream.state = 'live'
      },
      onSamples: (samples) => this.segmenter?.push(samples),
    })
    io.stdout.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk)
      } catch (err) {
        this.log.error({ err: describeError(err), pid: io.pid }, 'worker output unreadable; restarting it')
        io.stdout.removeAllListeners('data')
        try { process.kill(io.pid, 'SIGKILL') } catch { /* already gone */ }
      }
    })
    const detach = this.normalizer.attach(
      (bytes) => {
        if (io.stdin.destroyed || !io.stdin.writable) return true
        io.stdin.write(bytes)
        return io.stdin.writableLength < STDIN_BOUND
      },
      // The first worker of a session starts at the key frame already received.
      { replay: io.generation === 0, onStart: (_at, epoch) => { epochWall = epoch.wallAtZero } },
    )
    io.stdout.once('close', detach)
  }

  private restartWorker(): void {
    const pid = this.worker.pid
    // The supervisor restarts it with the current sequence headers.
    if (pid) try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
  }

  private endEpoch(): void {
    this.segmenter?.flush()
    this.segmenter = undefined
  }

  private measure(tag: MediaTag): void {
    const now = tag.arrival
    this.bytesWindow.push({ at: now, bytes: tag.data.length })
    while (this.bytesWindow.length > 0 && now - this.bytesWindow[0]!.at > 5000) this.bytesWindow.shift()
    const first = this.bytesWindow[0]
    if (!first || now - first.at < 1000) return
    const bits = this.bytesWindow.reduce((a, b) => a + b.bytes, 0) * 8
    const rate = bits / ((now - first.at) / 1000)
    this.deps.stream.inputBitrate = rate
    this.deps.metrics.ingestBitrate.set({ stream: this.deps.stream.name }, rate)
  }
}
