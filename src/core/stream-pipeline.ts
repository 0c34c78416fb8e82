/**
 * One publish session's pipeline: ingest tags → normalizer → workers (a
 * passthrough remux, or a ladder: decoder + encoders, copied top rung, audio)
 * → one feed per rendition → rendition stores. Implements the ingest's
 * MediaSink, so the ingest knows nothing of what happens downstream.
 */
import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import type { Metrics } from '../log/metrics.js'
import type { MediaSink, MediaTag } from '../ingest/types.js'
import { ANCHOR_WINDOW_MS, FlvNormalizer } from '../ingest/flv-normalizer.js'
import { parseVideoTagHeader } from '../formats/flv.js'
import type { RenditionOutput } from '../transcode/flv-worker.js'
import type { SourceVideo } from '../transcode/ladder.js'
import type { LiveStream } from '../packager/live-stream.js'
import type { RenditionStore } from '../packager/rendition-store.js'
import { RenditionFeed } from './rendition-feed.js'
import { PublishGate } from '../packager/publish-gate.js'
import { describeError } from '../errors.js'
import { PipelineSupervisor } from './pipeline-supervisor.js'
import { SOURCE_RENDITION, metadataVideoKbps, planStream, renditionNames, sourceFromMetadata, type StreamPlan } from './stream-plan.js'
import { AudioWait } from './audio-wait.js'
import { FrameRateProbe } from './frame-rate-probe.js'
import { GapCover } from './gap-cover.js'
import { sourceFormat, type SourceFormat } from './source-playability.js'
import { startWorkers, type Running, type SessionWorkers } from './pipeline-workers.js'

/** What a pipeline needs from the origin that builds it. */
export interface PipelineDeps {
  stream: LiveStream
  config: Config
  ffmpeg: string
  logger: Logger
  metrics: Metrics
  protocol: string
  /** The store of a rendition of this stream, created on first use (numbered from `firstMsn` when given). */
  storeFor: (rendition: string, firstMsn?: number) => RenditionStore
  /** Source size and rate from the video sequence header (SPS), when metadata lacks them. */
  probeSource?: (videoConfig: Buffer) => Partial<SourceVideo>
  /** First segment number of a session whose media starts at this date (ms); reserves it. */
  sessionNumber?: (anchorMs: number) => number
  /** Called once after the pipeline has fully stopped (workers gone, stores ended). */
  onStopped: () => void
}

/** The pipeline of one live publish session. */
export class StreamPipeline implements MediaSink {
  private readonly deps: PipelineDeps
  private readonly log: Logger
  private readonly normalizer: FlvNormalizer
  private plan: StreamPlan | undefined
  private running: Running[] = []
  private supervisor: PipelineSupervisor | undefined
  private gaps: GapCover | undefined
  private stores: RenditionStore[] = []
  private gate: PublishGate | undefined
  private anchorTimer: NodeJS.Timeout | undefined
  private ended = false
  private readonly audioWait = new AudioWait()
  private readonly frameRate = new FrameRateProbe()
  private stated: { config: Buffer; video: Partial<SourceVideo> } | undefined
  private lastInputAt = 0
  private bytesWindow: Array<{ at: number; bytes: number }> = []
  private resolveStopped!: () => void
  /** Resolves once every worker is gone and every store has ended. */
  readonly stopped = new Promise<void>((resolve) => { this.resolveStopped = resolve })

  constructor(deps: PipelineDeps) {
    this.deps = deps
    this.log = deps.logger
    this.normalizer = new FlvNormalizer(this.log)
    this.normalizer.onDrop = () => deps.metrics.ingestDropped.inc({ stream: deps.stream.name })
    this.normalizer.onConfigChange = () => {
      this.log.warn('video configuration changed mid-stream; restarting the workers')
      for (const r of this.running) for (const pid of Object.values(r.pids())) if (pid) try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
    }
  }

  /** Pids of the current worker processes by role (tests kill them by pid). */
  workerPids(): Record<string, number | undefined> {
    return Object.assign({}, ...this.running.map((r) => r.pids()))
  }

  /** Pid of the passthrough worker, or of the first worker. */
  get workerPid(): number | undefined {
    return Object.values(this.workerPids()).find((p) => p !== undefined)
  }

  /** The plan, once the first key frame decided it. */
  get currentPlan(): StreamPlan | undefined {
    return this.plan
  }

  /**
   * The copied rung cannot stay aligned with the encoded ones (its source's key frames miss
   * the grid): its segments no longer cover the same media as theirs, and a player
   * switching between them would skip or repeat media. It leaves the multivariant playlist
   * and the MPD (as a shed rung does) while the encoded rungs carry the stream; its own
   * playlist stays up for anyone who asked for it by URL.
   */
  private offerNoLonger(store: RenditionStore, reason: string): void {
    if (store.shed !== undefined) return
    store.shed = `not offered: the source's ${reason}; the encoded rungs carry the stream`
    this.log.warn({ rendition: store.name }, 'copied rendition taken out of the multivariant playlist and the MPD: its key frames miss the segment grid')
  }

  /** Closes the publisher's connection (set by the origin from the ingest's decision). */
  kick: (() => void) | undefined

  /** MediaSink: a tag from the publisher. */
  write(tag: MediaTag): void {
    if (this.ended) return
    if (tag.kind === 'video' && !this.videoCodecSupported(tag.data)) return
    this.lastInputAt = tag.arrival
    this.deps.metrics.ingestBytes.inc({ stream: this.deps.stream.name, protocol: this.deps.protocol }, tag.data.length)
    this.measure(tag)
    this.normalizer.push(tag)
    if (this.plan) return
    this.frameRate.observe(tag)
    if (this.normalizer.canStart && this.audioWait.ready(this.normalizer.audioTracks.map((a) => a.track), tag.arrival) && this.rateKnown(tag.arrival)) this.begin()
  }

  /**
   * True when planning need not wait for the frame rate: no ladder (nothing is
   * resampled), no video, a rate the source states, or a measurement that is done.
   */
  private rateKnown(now: number): boolean {
    if (!this.deps.config.ladder.enabled || !this.normalizer.videoConfig) return true
    return this.statedVideo().fps !== undefined || this.frameRate.ready(now)
  }

  /** Size and rate the source states: onMetaData first, then its SPS (parsed once per configuration). */
  private statedVideo(): Partial<SourceVideo> {
    const config = this.normalizer.videoConfig
    if (!config) return {}
    if (this.stated?.config !== config) {
      const meta = sourceFromMetadata(this.normalizer.metadataBody)
      const probed = meta.width && meta.height && meta.fps ? {} : this.deps.probeSource?.(config) ?? {}
      this.stated = { config, video: { width: meta.width ?? probed.width, height: meta.height ?? probed.height, fps: meta.fps ?? probed.fps } }
    }
    return this.stated.video
  }

  /** MediaSink: the source's audio tracks, before their media. */
  announceAudio(tracks: Array<{ track: number; language?: string }>): void {
    this.audioWait.announce(tracks.map((t) => t.track))
  }

  /** MediaSink: the publisher is gone. Stops the workers, then ends the stores. */
  end(reason: string): void {
    if (this.ended) return
    this.ended = true
    this.log.info({ reason }, 'publisher gone; ending stream')
    this.normalizer.detachAll()
    this.supervisor?.stop()
    clearTimeout(this.anchorTimer)
    this.gaps?.stop()
    void Promise.all(this.running.map((r) => r.stop())).then(() => {
      // Worker outputs are closed by now, so every feed has flushed its last segment.
      this.gate?.drain()
      for (const s of this.stores) s.end()
      this.deps.onStopped()
      this.resolveStopped()
    })
  }

  /**
   * H.264, and HEVC from MPEG-TS (SRT): workers read those as MPEG-TS. HEVC over RTMP
   * (Enhanced RTMP) is refused until a publisher of it is tested end to end. Anything
   * else ends the publish with a clear reason instead of a worker crash loop.
   */
  private videoCodecSupported(body: Buffer): boolean {
    let codec: string
    try {
      const h = parseVideoTagHeader(body)
      if (h.codecId === 7 || h.fourCc === 'avc1' || h.frameType === 5) return true
      if (h.codecId === 12 && h.fourCc === undefined && this.deps.protocol === 'srt') return true
      codec = h.fourCc ?? `FLV codec id ${h.codecId}`
    } catch {
      return true // unparseable tags are the normalizer's to skip
    }
    const supported = this.deps.protocol === 'srt' ? 'H.264 or HEVC' : 'H.264'
    this.log.error({ codec }, `publish ended: video codec ${codec} is not supported over ${this.deps.protocol.toUpperCase()} (send ${supported})`)
    this.end(`unsupported video codec ${codec}`)
    this.kick?.()
    return false
  }

  private source(): SourceVideo | undefined {
    const { width, height, fps } = this.statedVideo()
    if (!width || !height) return undefined
    if (fps !== undefined) return { width, height, fps }
    const measured = this.frameRate.fps
    if (measured === undefined) this.log.warn('frame rate neither stated (metadata, SPS) nor measurable; planning at 30 fps')
    else this.log.info({ fps: measured }, 'frame rate not stated by the source; measured from its timestamps')
    return { width, height, fps: measured ?? 30 }
  }

  private begin(): void {
    const { config } = this.deps
    const source = this.source()
    const format = this.normalizer.videoConfig ? sourceFormat(this.normalizer.videoConfig) : undefined
    let plan = planStream(config, source, this.normalizer.audioTracks, {
      hasVideo: this.normalizer.videoConfig !== undefined, stream: this.deps.stream.name, sourceKbps: metadataVideoKbps(this.normalizer.metadataBody),
      browserUndecodable: format?.problem !== undefined,
    })
    if (plan.mode === 'ladder' && plan.dropped?.length) {
      this.log.warn({ dropped: plan.dropped }, `configured rungs left out for this source: ${plan.dropped.map((d) => `${d.name} (${d.why})`).join('; ')}`)
    }
    if (plan.mode === 'ladder' && this.normalizer.videoConfig && !source && (plan.encoded.length > 0 || !plan.copy)) {
      this.log.warn('source size unknown (no metadata, unreadable SPS); passing it through without a ladder')
      plan = plan.audio.length > 1 ? { ...plan, copy: { kind: 'copy', name: SOURCE_RENDITION }, encoded: [] } : { mode: 'passthrough' }
    }
    this.plan = plan
    if (format?.problem) this.warnUndecodable(format, plan)
    const names = renditionNames(plan)
    // Every rendition numbers this session's segments from the same base: the grid slot of
    // media time zero (its date so far: settling only moves it earlier, by what the publisher
    // sent ahead of real time in its first second). New stores start there too (passthrough
    // numbers from the store alone).
    const anchor = this.normalizer.currentEpoch?.wallAtZero ?? Date.now()
    const first = this.deps.sessionNumber?.(anchor)
    this.stores = names.map((n) => this.deps.storeFor(n, first))
    this.log.info({ plan: plan.mode, renditions: names, source, firstMsn: first }, 'stream planned')
    const msnBase = Math.max(first ?? 0, ...this.stores.map((s) => s.upcomingMsn))
    const feeds = new Map<string, RenditionFeed>()
    // The session's timeline for DASH: anchored on the same epoch clock as PROGRAM-DATE-TIME.
    const timeline = { firstMsn: msnBase, wallAtZero: undefined as number | undefined, gridSeconds: plan.mode === 'ladder' ? config.hls.segmentTarget : undefined }
    this.deps.stream.addTimeline(timeline)
    const wallAtZero = (): number => {
      const w = this.normalizer.currentEpoch?.wallAtZero
      if (w !== undefined) timeline.wallAtZero ??= w
      return w ?? Date.now()
    }
    const stream = this.deps.stream.name
    // Closed until the date of media time zero is settled: no date is served before it is
    // final, so the date-to-media mapping is the same in every rendition and every reload.
    const lagLogged = new Map<string, number>()
    const gate = this.gate = new PublishGate({
      closed: !this.normalizer.anchorIsSettled,
      partTarget: config.hls.partTarget,
      maxLagSeconds: config.hls.renditionMaxLagSeconds,
      onPart: (_rendition, held) => this.deps.metrics.publishHeld.observe(held),
      onError: (rendition, err) => this.log.error({ rendition, err: describeError(err) }, 'a store change failed; dropped'),
      onLagging: (rendition, lagging, behind) => {
        if (lagging) this.deps.metrics.renditionsLagging.inc({ stream, rendition })
        // A machine at its limit can flip a rung in and out often: one line per rendition per 10 s.
        const now = Date.now()
        if (!lagging || now - (lagLogged.get(rendition) ?? -Infinity) < 10_000) return
        lagLogged.set(rendition, now)
        this.log.warn({ rendition, behindSeconds: Math.round(behind * 1000) / 1000 }, 'rendition too far behind the others; publishing the rest without waiting for it until it catches up')
      },
    })
    this.normalizer.onAnchorSettled = () => gate.open()
    // A publisher that goes quiet within the window must not keep the gate shut.
    this.anchorTimer = setTimeout(() => this.normalizer.settleAnchor(), ANCHOR_WINDOW_MS + 250)
    this.anchorTimer.unref()
    for (const store of this.stores) {
      feeds.set(store.name, new RenditionFeed({
        lane: gate.lane(store),
        store,
        segmentTarget: config.hls.segmentTarget,
        grid: plan.mode === 'ladder' ? { msnBase } : undefined,
        keyframesOnGrid: plan.mode === 'ladder' && plan.encoded.some((r) => r.name === store.name),
        wallClockAt: (t) => wallAtZero() + t * 1000,
        logger: this.log.child({ rendition: store.name }),
        onPart: () => this.deps.metrics.parts.inc({ stream: this.deps.stream.name, rendition: store.name }),
        onSegment: () => this.deps.metrics.segments.inc({ stream: this.deps.stream.name, rendition: store.name }),
        onFirstInit: () => { if (this.deps.stream.state === 'starting') this.deps.stream.state = 'live' },
        onOffGrid: plan.mode === 'ladder' && plan.copy?.name === store.name && plan.encoded.length > 0
          ? (reason) => this.offerNoLonger(store, reason)
          : undefined,
      }))
    }
    // A worker down (restarting) or shed: its rendition's time shows as gaps until media is back.
    const gaps = new GapCover(this.stores, this.log)
    this.gaps = gaps
    // A (re)started worker: its rendition's gaps go on up to where its media will begin.
    const grid = config.hls.segmentTarget
    const onOutput = (out: RenditionOutput): void => {
      gaps.up(out.rendition, out.mediaOffset === undefined ? undefined : msnBase + Math.round(out.mediaOffset / grid))
      feeds.get(out.rendition)?.attach(out)
    }
    const onExit = (wanted: boolean, rendition: string): void => {
      if (!wanted) return
      this.deps.metrics.workerRestarts.inc({ stream: this.deps.stream.name })
      if (!this.ended) gaps.down(rendition)
    }
    let workers: SessionWorkers | undefined
    this.supervisor = new PipelineSupervisor({
      feeds,
      encoded: plan.mode === 'ladder' ? plan.encoded.map((r) => r.name) : [],
      partTarget: config.hls.partTarget,
      slowSpeed: config.worker.shedBelowSpeed,
      logger: this.log,
      lastInputAt: () => this.lastInputAt,
      heldBackAt: () => workers?.heldBackAt() ?? 0,
      shed: (r) => workers?.shed(r) ?? Promise.resolve(false),
      onShed: (rendition) => {
        this.deps.metrics.rungsShed.inc({ stream, rendition })
        if (!this.ended) gaps.down(rendition)
      },
      onSpeed: (rendition, speed) => this.deps.metrics.setSpeed(stream, rendition, speed),
    })
    this.supervisor.start()
    workers = startWorkers({ plan, names, config, ffmpeg: this.deps.ffmpeg, log: this.log, normalizer: this.normalizer, onOutput, onExit })
    this.running = workers.running
  }

  /**
   * Once per publish: the source's video is in a format browsers cannot decode. Said in
   * the log and in the API (the stream's `warnings`), since a player would only show a
   * black picture or a decode error.
   */
  private warnUndecodable(format: SourceFormat, plan: StreamPlan): void {
    const what = `source video is ${format.codec} ${format.profile}, ${format.chroma}, ${format.bitDepth}-bit; browsers cannot decode ${format.problem}`
    const carried = plan.mode === 'ladder' && !plan.copy && plan.encoded.length > 0
    const warning = carried
      ? `${what}: the source is not offered as is, the ladder's encoded H.264 rungs carry the stream`
      : `${what}: it is offered as is (${plan.mode === 'passthrough' || plan.encoded.length === 0 ? 'no encoded rung: the ladder is off or has none' : 'copied'}), so browser players will fail on it`
    this.log.warn({ codec: format.codec, profile: format.profile, chroma: format.chroma, bitDepth: format.bitDepth }, warning)
    const ingest = this.deps.stream.ingest
    if (ingest) ingest.warnings = [...(ingest.warnings ?? []), warning]
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
