/**
 * Builds an origin from config: directory, HTTP, RTMP ingest, and a pipeline
 * per publish. Starts and stops them in order.
 */
import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import { Metrics } from '../log/metrics.js'
import { HttpServer } from '../http/server.js'
import { RtmpServer } from '../ingest/rtmp/server.js'
import { SrtServer } from '../ingest/srt/server.js'
import type { IngestHandler, PublishDecision, PublishRequest } from '../ingest/types.js'
import { LiveStream, StreamDirectory } from '../packager/live-stream.js'
import { RenditionStore } from '../packager/rendition-store.js'
import { resolveFfmpeg } from '../transcode/ffmpeg-path.js'
import { StreamSession } from './stream-session.js'
import { observeSession } from './session-observers.js'
import { ffmpegWorkers } from './ffmpeg-workers.js'
import { newSource } from './media-source.js'
import type { WorkerFactory } from './session-workers.js'
import { InputSwitch } from './input-switch.js'
import { InputSwitcher } from './input-switcher.js'
import { SessionSlates } from './session-slate.js'
import type { OnAirInput } from '../packager/live-stream.js'
import type { SwitchResult } from '../http/api-input.js'
import { probeSps } from './stream-plan.js'
import { PublishAuth } from './publish-auth.js'
import { KeyStore } from '../store/keys.js'
import { SegmentNumberStore } from '../store/segment-numbers.js'
import { describeError } from '../errors.js'
import { RESERVE_AHEAD, gridNumber } from './numbering.js'
import { PathwayHealth } from './pathway-health.js'
import { steeringSource } from './steering.js'

/** Ports actually bound (after port 0 resolution). */
export interface OriginPorts {
  http: number
  rtmp: number | undefined
  srt: number | undefined
}

/** A running origin server. */
export class Origin implements IngestHandler {
  readonly config: Config
  readonly directory = new StreamDirectory()
  readonly metrics: Metrics
  /** Live sessions by stream name. */
  readonly sessions = new Map<string, StreamSession>()
  private readonly log: Logger
  private readonly ffmpeg: string
  private readonly workers: WorkerFactory
  private readonly slates: SessionSlates
  private readonly http: HttpServer
  private rtmp: RtmpServer | undefined
  /** The SRT listener, when enabled (tests read its counters). */
  srt: SrtServer | undefined
  private readonly retention = new Map<string, NodeJS.Timeout>()
  /** Segment-number floor last written per stream name (a cache of the store's, bounded). */
  private readonly reserved = new Map<string, number>()
  private numbers: SegmentNumberStore | undefined
  private numberWriteFailedAt = -Infinity
  private readonly auth: PublishAuth
  private keys: KeyStore | undefined
  /** Health of the content-steering pathways, when configured. */
  readonly pathways: PathwayHealth | undefined

  /** Milliseconds added to this origin's clock when dating media: a skewed clock, simulated in tests. */
  private readonly clockOffsetMs: number

  constructor(config: Config, logger: Logger, opts: { defaultMetrics?: boolean; workers?: WorkerFactory; clockOffsetMs?: number } = {}) {
    this.config = config
    this.clockOffsetMs = opts.clockOffsetMs ?? 0
    this.log = logger
    this.ffmpeg = resolveFfmpeg(config.ffmpeg.path ?? undefined).path
    this.workers = opts.workers ?? ffmpegWorkers(this.ffmpeg)
    this.slates = new SessionSlates(this.ffmpeg, config.slate, logger)
    this.metrics = new Metrics({ defaultMetrics: opts.defaultMetrics })
    this.auth = new PublishAuth(config)
    const steering = steeringSource(config, this.directory, logger.child({ component: 'steering' }))
    this.pathways = steering?.health
    if (this.pathways) this.metrics.steeringSource(() => this.pathways!.snapshot())
    this.http = new HttpServer({
      steering,
      directory: this.directory, metrics: this.metrics, logger: logger.child({ component: 'http' }), targetDuration: Math.ceil(config.hls.segmentTarget),
      apiToken: config.api.token ?? process.env.STREAMD_API_TOKEN ?? null,
      apiCorsOrigins: config.api.corsOrigins,
      kick: (name) => this.kick(name),
      switchInput: (name, input) => this.switchInput(name, input),
      http10: config.http.http10,
    })
    if (config.api.corsOrigins.length > 0 && !(config.api.token ?? process.env.STREAMD_API_TOKEN)) logger.warn('api.corsOrigins applies only with api.token: without a token the API refuses every other web origin')
  }

  /** The FFmpeg binary this origin runs. */
  get ffmpegPath(): string {
    return this.ffmpeg
  }

  /** Bind HTTP, then ingest; resolves with the bound ports. */
  async start(): Promise<OriginPorts> {
    // Opened before any listener so a broken data dir fails the start, not the first publish.
    if (this.auth.needsKeys) {
      this.keys = KeyStore.open(this.config.dataDir)
      this.auth.useKeys(this.keys)
    }
    this.numbers = SegmentNumberStore.open(this.config.dataDir)
    const http = await this.http.listen(this.config.http.host, this.config.http.port)
    let rtmp: number | undefined
    if (this.config.rtmp.enabled) {
      const r = this.config.rtmp
      this.rtmp = new RtmpServer({
        host: r.host, port: r.port, idleTimeoutMs: r.idleTimeoutMs, handler: this, logger: this.log,
        maxCommandBytes: r.maxCommandBytes, maxMessageBytes: r.maxMessageBytes, publishTimeoutMs: r.publishTimeoutMs,
        maxPendingConnections: r.maxPendingConnections, maxPendingPerAddress: r.maxPendingPerAddress,
      })
      rtmp = await this.rtmp.listen()
    }
    let srt: number | undefined
    if (this.config.srt.enabled) {
      const c = this.config.srt
      this.srt = new SrtServer({
        host: c.host, port: c.port, handler: this, logger: this.log, latencyMs: c.latencyMs, maxLatencyMs: c.maxLatencyMs, maxBufferBytes: c.maxBufferBytes,
        passphrase: c.passphrase ?? undefined, minKeyLength: c.pbkeylen, audioLanguage: c.audioLanguage ?? undefined,
        onTracks: (stream, tracks) => { const s = this.directory.get(stream); if (s?.ingest) s.ingest.tracks = tracks },
      })
      srt = await this.srt.listen()
      this.metrics.srtSource(() => ({ ...this.srt!.totals() }))
    }
    this.pathways?.start()
    this.log.info({ http, rtmp, srt, ffmpeg: this.ffmpeg }, 'origin listening')
    return { http, rtmp, srt }
  }

  /** Stop ingest first (publishers end cleanly), then HTTP. Calling it again waits for the same stop. */
  stop(): Promise<void> {
    this.stopping ??= this.stopOnce()
    return this.stopping
  }

  private stopping: Promise<void> | undefined

  private async stopOnce(): Promise<void> {
    this.pathways?.stop()
    await Promise.all([this.rtmp?.close(), this.srt?.close()])
    await Promise.all([...this.sessions.values()].map((p) => {
      p.end('server stopping')
      return p.stopped
    }))
    for (const t of this.retention.values()) clearTimeout(t)
    this.http.close()
    this.keys?.close()
    this.numbers?.close()
  }

  /** Disconnect the publisher of `name` (API DELETE); false when nobody publishes it. */
  kick(name: string): boolean {
    const session = this.sessions.get(name)
    if (!session?.kick()) return false
    this.log.info({ stream: name }, 'publisher kicked')
    return true
  }

  /** IngestHandler: decide a publish before the ingest acknowledges it. */
  async publish(req: PublishRequest): Promise<PublishDecision> {
    const log = this.log.child({ stream: req.stream, protocol: req.protocol, remote: req.remote })
    const auth = await this.auth.authorize(req, log)
    if (!auth.ok) {
      this.metrics.publishRefused.inc({ protocol: req.protocol, code: 'unauthorized' })
      return { ok: false, code: 'unauthorized', reason: auth.reason }
    }
    // After the await: a primary and a backup arriving together open one session, not two.
    const session = this.sessions.get(req.stream) ?? this.openSession(req.stream, this.log.child({ stream: req.stream }))
    const source = newSource(req.protocol, req.role, req.remote, auth.keyName)
    const sink = session.attach(source)
    if ('refused' in sink) {
      this.metrics.publishRefused.inc({ protocol: req.protocol, code: 'busy' })
      log.warn({ role: req.role, reason: sink.refused }, 'publish refused: that input of the stream is already live')
      return { ok: false, code: 'busy', reason: `stream ${req.stream}: ${sink.refused}` }
    }
    log.info({ key: auth.keyName, role: req.role }, 'publish accepted')
    const end = sink.end
    // publish_done per publisher: a backup leaving does not end the stream.
    sink.end = (reason, clean) => {
      end(reason, clean)
      this.auth.publishDone(req, auth.keyName, log)
    }
    return { ok: true, sink, onKick: (kick) => { source.close = kick } }
  }

  /** Put an input (or the slate) of a live stream on air (API POST .../input). */
  switchInput(name: string, input: OnAirInput): SwitchResult {
    const session = this.sessions.get(name)
    const switcher = session?.selector
    if (!session || !(switcher instanceof InputSwitcher)) return { ok: false, status: 404, reason: `stream ${name} is not live` }
    const r = switcher.request(input)
    if (!r.ok) return { ok: false, status: 409, reason: r.reason }
    this.log.info({ stream: name, input }, 'input switch requested')
    return { ok: true }
  }

  /** A new session of `name`, with its standing observers, registered until it has stopped. */
  private openSession(name: string, log: Logger): StreamSession {
    const stream = this.streamFor(name)
    const policy = new InputSwitch({
      now: () => performance.now(), ...this.config.redundancy, slateMaxSeconds: this.config.slate.maxSeconds,
    })
    const switcher = new InputSwitcher({
      policy, log,
      slate: () => this.slates.feed(session),
      onSwitch: (s) => session.events.emit('input-switched', { from: s.from, to: s.to, cause: s.cause }),
    })
    const session: StreamSession = new StreamSession({
      stream, config: this.config, logger: log, workers: this.workers, selector: switcher, clockOffsetMs: this.clockOffsetMs,
      storeFor: (rendition, firstMsn) => this.storeFor(stream, rendition, firstMsn),
      probeSource: probeSps,
      sessionNumber: (anchorMs) => {
        const n = this.nextNumber(stream, anchorMs)
        this.reserve(stream.name, n + RESERVE_AHEAD)
        return n
      },
    })
    observeSession(session, stream, this.metrics, log, this.config.redundancy.lossMs)
    session.events.on('started', () => this.slates.prepare(session, name))
    session.events.on('ended', () => this.stopped(stream, session))
    this.sessions.set(name, session)
    this.metrics.streamsLive.set(this.sessions.size)
    return session
  }

  /** The stream of this name, reused while retained so numbering continues. */
  private streamFor(name: string): LiveStream {
    const timer = this.retention.get(name)
    if (timer) clearTimeout(timer)
    this.retention.delete(name)
    const existing = this.directory.get(name)
    if (existing) {
      existing.removed = false
      return existing
    }
    const stream = new LiveStream(name)
    this.directory.add(stream)
    return stream
  }

  /** A rendition's store, kept across sessions of the stream so numbering continues. */
  private storeFor(stream: LiveStream, name: string, firstMsn?: number): RenditionStore {
    const existing = stream.renditions.get(name)
    if (existing) return existing
    const hls = this.config.hls
    const timing = { targetDuration: Math.ceil(hls.segmentTarget), partTarget: hls.partTarget, windowSeconds: hls.windowSeconds }
    const store = new RenditionStore(name, timing, firstMsn ?? this.nextNumber(stream, Date.now()), (d) => this.metrics.blockingWaiters.inc(d))
    // Every new segment number goes to disk before the segment RESERVE_AHEAD - 1 later opens.
    store.onChange(() => this.reserve(stream.name, store.upcomingMsn + RESERVE_AHEAD))
    stream.addRendition(store)
    return store
  }

  /**
   * First number of a session (or a new rendition) of `stream` whose media starts at
   * `dateMs`: its slot on the segment grid from the numbering epoch, unless the name
   * already used numbers past it (a republish within a slot, segments shorter than the
   * target, a restart): then past those, so no segment URL ever names two contents.
   * While the stream is retained its stores know where it is; otherwise the floor kept
   * in the data dir does, across restarts too.
   */
  private nextNumber(stream: LiveStream, dateMs: number): number {
    const live = [...stream.renditions.values()].map((r) => r.upcomingMsn)
    const floor = live.length > 0 ? Math.max(...live) : this.floorOf(stream.name)
    return Math.max(gridNumber(dateMs, this.config.hls.segmentTarget), floor)
  }

  private floorOf(name: string): number {
    const cached = this.reserved.get(name)
    if (cached !== undefined) return cached
    const stored = this.numbers?.floor(name) ?? 0
    this.remember(name, stored)
    return stored
  }

  /** Raise the floor of `name` to `next`, on disk first; a failed write is logged and numbering goes on. */
  private reserve(name: string, next: number): void {
    if (next <= (this.reserved.get(name) ?? -1)) return
    try {
      this.numbers?.raise(name, next)
    } catch (err) {
      // Still unique within this process; only a restart could then reuse a number.
      const now = Date.now()
      if (now - this.numberWriteFailedAt > 10_000) {
        this.numberWriteFailedAt = now
        this.log.error({ stream: name, err: describeError(err) }, 'cannot save the segment number floor; a restart may reuse segment numbers until this is fixed')
      }
    }
    this.remember(name, next)
  }

  private remember(name: string, next: number): void {
    this.reserved.delete(name)
    this.reserved.set(name, next)
    // Oldest first out; a forgotten name is read back from the store.
    if (this.reserved.size > 10_000) this.reserved.delete(this.reserved.keys().next().value!)
  }

  private stopped(stream: LiveStream, session: StreamSession): void {
    if (this.sessions.get(stream.name) === session) this.sessions.delete(stream.name)
    this.metrics.streamsLive.set(this.sessions.size)
    this.metrics.dropStream(stream.name)
    // Keep the ended stream servable (ENDLIST) for a while; then remove its playlists but keep
    // its segments for one more window (6.2.1: they outlive the playlist's removal), then free it.
    const timer = setTimeout(() => {
      if (stream.state !== 'ended') return
      stream.removed = true
      const drop = setTimeout(() => {
        this.retention.delete(stream.name)
        if (stream.state !== 'ended') return
        this.directory.remove(stream.name)
        this.reserve(stream.name, Math.max(0, ...[...stream.renditions.values()].map((r) => r.upcomingMsn)))
      }, this.config.hls.windowSeconds * 1000)
      drop.unref()
      this.retention.set(stream.name, drop)
    }, this.config.hls.endedRetentionSeconds * 1000)
    timer.unref()
    this.retention.set(stream.name, timer)
  }
}
