/**
 * One live stream session, from its first input to its end: it owns its inputs (through an
 * input selector), the normalized input workers read, the plan, the workers (from an
 * injected factory), the renditions' stores and the session's state. Everything it does is
 * said as typed events (session-events.ts); metrics, logs, the gap cover and the API's view
 * are subscribers (session-observers.ts), and so is any new consumer.
 */
import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import type { MediaSink, MediaTag } from '../ingest/types.js'
import { FlvNormalizer } from '../ingest/flv-normalizer.js'
import { parseVideoTagHeader } from '../formats/flv.js'
import type { SourceVideo } from '../transcode/ladder.js'
import type { LiveStream, StreamState } from '../packager/live-stream.js'
import type { RenditionStore } from '../packager/rendition-store.js'
import { PipelineSupervisor } from './pipeline-supervisor.js'
import { renditionNames, type StreamPlan } from './stream-plan.js'
import { SessionEvents } from './session-events.js'
import { SessionPlanner } from './session-plan.js'
import { SessionRenditions } from './session-renditions.js'
import type { SessionWorkers, WorkerFactory, WorkerOutput } from './session-workers.js'
import { SingleInput, type InputSelector, type MediaSource, type SourceAttach } from './media-source.js'

/** What a session needs from the origin that builds it. */
export interface SessionDeps {
  stream: LiveStream
  config: Config
  logger: Logger
  /** Starts the workers of the plan (FFmpeg in production). */
  workers: WorkerFactory
  /** The store of a rendition of this stream, created on first use (numbered from `firstMsn` when given). */
  storeFor: (rendition: string, firstMsn?: number) => RenditionStore
  /** Source size and rate from the video sequence header (SPS), when metadata lacks them. */
  probeSource?: (videoConfig: Buffer) => Partial<SourceVideo>
  /** First segment number of a session whose media starts at this date (ms); reserves it. */
  sessionNumber?: (anchorMs: number) => number
  /** Which input is on air (default: the first attached, and the session ends when it leaves). */
  selector?: InputSelector
  /** Milliseconds this origin's clock is taken to be ahead by when dating media (a simulated skew). */
  clockOffsetMs?: number
}

/** One live stream session. */
export class StreamSession implements SourceAttach {
  /** Everything that happens to the session; subscribe before the first input attaches. */
  readonly events: SessionEvents
  private readonly deps: SessionDeps
  private readonly log: Logger
  private readonly input: FlvNormalizer
  private readonly planner: SessionPlanner
  /** Which input is on air (the origin asks it for manual switches). */
  readonly selector: InputSelector
  private readonly sources = new Set<MediaSource>()
  private status: StreamState = 'starting'
  private plan: StreamPlan | undefined
  private renditions: SessionRenditions | undefined
  private workers: SessionWorkers | undefined
  private supervisor: PipelineSupervisor | undefined
  private lastInputAt = 0
  /** The stream's video codec, decided by its first input. */
  private codec: string | undefined
  /** Each input's video codec once it can go on air; false once it cannot. */
  private readonly codecs = new WeakMap<MediaSource, string | false>()
  private resolveStopped!: () => void
  /** Resolves once every worker is gone and every store has ended. */
  readonly stopped = new Promise<void>((resolve) => { this.resolveStopped = resolve })

  constructor(deps: SessionDeps) {
    this.deps = deps
    this.log = deps.logger
    this.events = new SessionEvents(this.log)
    this.selector = deps.selector ?? new SingleInput()
    this.selector.onAirTag = (tag, source) => this.write(source, tag)
    this.selector.onEnd = (reason) => this.end(reason)
    this.input = new FlvNormalizer(this.log, { clockOffsetMs: deps.clockOffsetMs })
    this.input.onDrop = () => this.events.emit('media-dropped', {})
    this.input.onConfigChange = () => {
      this.log.warn('video configuration changed mid-stream; restarting the workers')
      this.workers?.restartAll()
    }
    this.planner = new SessionPlanner({ config: deps.config, stream: deps.stream.name, log: this.log, probeSource: deps.probeSource }, this.input)
  }

  /** starting (no media yet), live, or ended. */
  get state(): StreamState {
    return this.status
  }

  private setState(state: StreamState): void {
    if (this.status === state) return
    this.status = state
    this.events.emit('state', { state })
  }

  /** The publisher's timestamp (ms) of media time zero, once the epoch started: where segments sit in the feed. */
  get feedTimestampOfZero(): number | undefined {
    return this.input.currentEpoch?.base
  }

  /** The plan, once the first key frame decided it. */
  get currentPlan(): StreamPlan | undefined {
    return this.plan
  }

  /**
   * What a slate standing in for this session's input must look like: the source's picture
   * size and rate (as planned, else read from its SPS) and its first audio track's
   * AudioSpecificConfig. Undefined before the plan, or without video.
   */
  slateFormat(): { width: number; height: number; fps: number; audioConfig?: Buffer } | undefined {
    const config = this.input.videoConfig
    if (!this.plan || !config) return undefined
    const planned = this.plan.mode === 'ladder' ? this.plan.source : undefined
    const probed = planned ?? this.deps.probeSource?.(config)
    if (!probed?.width || !probed.height) return undefined
    const first = this.input.audioTracks[0]
    const audio = first ? this.input.audioSequence(first.track) : undefined
    return { width: probed.width, height: probed.height, fps: probed.fps ?? 30, audioConfig: audio?.subarray(2) }
  }

  /** Pids of the current worker processes by role (tests and benches watch them). */
  workerPids(): Record<string, number | undefined> {
    return this.workers?.pids() ?? {}
  }

  /** Pid of the passthrough worker, or of the first worker. */
  get workerPid(): number | undefined {
    return Object.values(this.workerPids()).find((p) => p !== undefined)
  }

  /**
   * Close every input's connection and end the stream (API DELETE): an operator's stop,
   * not a loss for the slate to cover. False when no input can be closed.
   */
  kick(): boolean {
    if (![...this.sources].some((s) => s.close)) return false
    this.end('kicked through the API')
    return true
  }

  /** Attach an input: its media goes through the sink returned, on air when the selector says so. */
  attach(source: MediaSource): MediaSink | { refused: string } {
    if (this.status === 'ended') return { refused: 'the stream is ending' }
    const ok = this.selector.attach(source)
    if (!ok.ok) return { refused: ok.reason }
    this.sources.add(source)
    this.events.emit('source-attached', { source })
    let gone = false
    return {
      write: (tag) => {
        if (gone || (tag.kind === 'video' && !this.inputCodecOk(source, tag.data))) return
        this.events.emit('input-media', { tag, source })
        this.selector.write(source, tag)
      },
      // Only the first input's tracks decide the plan; a later input's media is spliced onto it.
      announceAudio: (tracks) => { if (!this.plan) this.planner.announceAudio(tracks.map((t) => t.track)) },
      end: (reason, clean) => {
        if (gone) return
        gone = true
        this.sources.delete(source)
        this.events.emit('source-detached', { source, reason })
        this.selector.detach(source, reason, clean)
      },
    }
  }

  /** An on-air tag (from an input, or generated when `source` is undefined). */
  private write(source: MediaSource | undefined, tag: MediaTag): void {
    if (this.status === 'ended') return
    this.lastInputAt = tag.arrival
    if (source) this.events.emit('media', { tag, source })
    this.input.push(tag)
    if (!this.plan && this.planner.observe(tag)) this.begin()
  }

  /** End the session: stop the workers, then end the stores. */
  end(reason: string): void {
    if (this.status === 'ended') return
    this.setState('ended')
    this.log.info({ reason }, 'publisher gone; ending stream')
    this.selector.stop()
    for (const s of this.sources) s.close?.()
    this.input.detachAll()
    this.supervisor?.stop()
    this.renditions?.stop()
    void (this.workers?.stop() ?? Promise.resolve()).then(() => {
      // Worker outputs are closed by now, so every feed has flushed its last segment.
      this.renditions?.finish()
      this.events.emit('ended', { reason })
      this.events.clear()
      this.resolveStopped()
    })
  }

  /**
   * H.264, and HEVC from MPEG-TS (SRT): workers read those as MPEG-TS. HEVC over RTMP
   * (Enhanced RTMP) is refused until a publisher of it is tested end to end. The first
   * input decides the stream's codec; a later input (a backup) of another codec cannot be
   * spliced in front of the same workers. An input that cannot be taken is kept off air,
   * said once in the log and in the API; when it is the stream's only input, the publish
   * ends with the reason instead of a worker crash loop.
   */
  private inputCodecOk(source: MediaSource, body: Buffer): boolean {
    let codec: string
    try {
      const h = parseVideoTagHeader(body)
      codec = h.codecId === 7 || h.fourCc === 'avc1' ? 'H.264' : h.codecId === 12 && h.fourCc === undefined && source.protocol === 'srt' ? 'HEVC' : h.fourCc ?? `FLV codec id ${h.codecId}`
    } catch {
      return true // unparseable tags are the normalizer's to skip
    }
    // Checked on every video tag: a publisher may switch codec mid-stream.
    const known = this.codecs.get(source)
    if (known === codec) return true
    if (known === false) return false
    let supported = source.protocol === 'srt' ? 'H.264 or HEVC' : 'H.264'
    const ok = codec === 'H.264' || codec === 'HEVC'
    if (ok && (this.codec === undefined || codec === this.codec)) {
      this.codec ??= codec
      this.codecs.set(source, codec)
      return true
    }
    if (ok) supported = `${this.codec}, the stream's codec`
    this.codecs.set(source, false)
    const problem = `video codec ${codec} is not supported over ${source.protocol.toUpperCase()} (send ${supported})`
    if (this.sources.size <= 1) {
      this.log.error({ codec }, `publish ended: ${problem}`)
      this.end(`unsupported video codec ${codec}`)
    } else {
      this.log.error({ codec, role: source.role }, `${source.role} input kept off air: ${problem}`)
      this.events.emit('input-problem', { source, problem })
    }
    return false
  }

  /** The first key frame is in: plan, open the renditions, start watching, start the workers. */
  private begin(): void {
    const { config } = this.deps
    const { plan, warnings } = this.planner.decide()
    this.plan = plan
    const names = renditionNames(plan)
    const r = this.renditions = new SessionRenditions({
      plan, config, stream: this.deps.stream, input: this.input, events: this.events, log: this.log,
      storeFor: this.deps.storeFor, sessionNumber: this.deps.sessionNumber,
      onFirstMedia: () => { if (this.status === 'starting') this.setState('live') },
    })
    this.events.emit('started', { plan, renditions: names, firstMsn: r.firstMsn, warnings })
    this.supervisor = new PipelineSupervisor({
      feeds: r.feeds,
      encoded: plan.mode === 'ladder' ? plan.encoded.map((e) => e.name) : [],
      partTarget: config.hls.partTarget,
      slowSpeed: config.worker.shedBelowSpeed,
      logger: this.log,
      lastInputAt: () => this.lastInputAt,
      heldBackAt: () => this.workers?.heldBackAt() ?? 0,
      shed: (rendition) => this.workers?.shed(rendition) ?? Promise.resolve(false),
      onShed: (rendition, reason) => this.events.emit('rung-shed', { rendition, reason }),
      onSpeed: (rendition, speed) => this.events.emit('speed', { rendition, speed }),
    })
    this.supervisor.start()
    this.workers = this.deps.workers({
      plan, names, config, log: this.log, normalizer: this.input, ...(r.locked ? { gridOffset: () => r.gridOffset(), whenGridReady: (go: () => void) => r.whenGridReady(go) } : {}),
      onOutput: (out) => this.workerUp(out),
      onExit: (wanted, rendition) => this.events.emit('worker-down', { rendition, wanted: wanted && this.status !== 'ended' }),
    })
  }

  /** A (re)started worker: its media is read into its rendition from where it begins. */
  private workerUp(out: WorkerOutput): void {
    const r = this.renditions!
    const grid = this.deps.config.hls.segmentTarget
    const fromMsn = out.mediaOffset === undefined ? undefined : r.msnBase + Math.round((out.mediaOffset + r.gridOffset()) / grid)
    this.events.emit('worker-up', { rendition: out.rendition, fromMsn, pid: out.pid })
    r.attach(out)
  }
}
