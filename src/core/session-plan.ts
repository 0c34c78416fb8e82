/**
 * When a session can plan its renditions, and what plan: it waits for a key frame, each
 * announced audio track's first frame and (for a ladder) the source's frame rate, then
 * plans from what the source states (onMetaData, its SPS) or what was measured.
 */
import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import type { FlvNormalizer } from '../ingest/flv-normalizer.js'
import type { MediaTag } from '../ingest/types.js'
import type { SourceVideo } from '../transcode/ladder.js'
import { AudioWait } from './audio-wait.js'
import { FrameRateProbe } from './frame-rate-probe.js'
import { sourceFormat, type SourceFormat } from './source-playability.js'
import { SOURCE_RENDITION, metadataVideoKbps, planStream, sourceFromMetadata, type StreamPlan } from './stream-plan.js'

/** What planning needs besides the input. */
export interface PlannerOptions {
  config: Config
  stream: string
  log: Logger
  /** Source size and rate from the video sequence header (SPS), when metadata lacks them. */
  probeSource?: (videoConfig: Buffer) => Partial<SourceVideo>
}

/** A decided plan and what a viewer would notice about the source. */
export interface PlanDecision {
  plan: StreamPlan
  /** Problems of the source worth showing in the API (e.g. browsers cannot decode it). */
  warnings: string[]
}

/** Decides one session's plan from its normalized input. */
export class SessionPlanner {
  private readonly audioWait = new AudioWait()
  private readonly frameRate = new FrameRateProbe()
  private stated: { config: Buffer; video: Partial<SourceVideo> } | undefined

  constructor(private readonly o: PlannerOptions, private readonly input: FlvNormalizer) {}

  /** The source's audio tracks, announced before their media (an MPEG-TS PMT). */
  announceAudio(tracks: number[]): void {
    this.audioWait.announce(tracks)
  }

  /** A tag was pushed into the input: true once the plan can be decided. */
  observe(tag: MediaTag): boolean {
    this.frameRate.observe(tag)
    return this.input.canStart && this.audioWait.ready(this.input.audioTracks.map((a) => a.track), tag.arrival) && this.rateKnown(tag.arrival)
  }

  /**
   * True when planning need not wait for the frame rate: no ladder (nothing is
   * resampled), no video, a rate the source states, or a measurement that is done.
   */
  private rateKnown(now: number): boolean {
    if (!this.o.config.ladder.enabled || !this.input.videoConfig) return true
    return this.statedVideo().fps !== undefined || this.frameRate.ready(now)
  }

  /** Size and rate the source states: onMetaData first, then its SPS (parsed once per configuration). */
  private statedVideo(): Partial<SourceVideo> {
    const config = this.input.videoConfig
    if (!config) return {}
    if (this.stated?.config !== config) {
      const meta = sourceFromMetadata(this.input.metadataBody)
      const probed = meta.width && meta.height && meta.fps ? {} : this.o.probeSource?.(config) ?? {}
      this.stated = { config, video: { width: meta.width ?? probed.width, height: meta.height ?? probed.height, fps: meta.fps ?? probed.fps } }
    }
    return this.stated.video
  }

  private source(): SourceVideo | undefined {
    const { width, height, fps } = this.statedVideo()
    if (!width || !height) return undefined
    if (fps !== undefined) return { width, height, fps }
    const measured = this.frameRate.fps
    if (measured === undefined) this.o.log.warn('frame rate neither stated (metadata, SPS) nor measurable; planning at 30 fps')
    else this.o.log.info({ fps: measured }, 'frame rate not stated by the source; measured from its timestamps')
    return { width, height, fps: measured ?? 30 }
  }

  /** Decide the plan (once `observe` said it can be). */
  decide(): PlanDecision {
    const { config, log } = this.o
    const source = this.source()
    const input = this.input
    const format = input.videoConfig ? sourceFormat(input.videoConfig) : undefined
    let plan = planStream(config, source, input.audioTracks, {
      hasVideo: input.videoConfig !== undefined, stream: this.o.stream, sourceKbps: metadataVideoKbps(input.metadataBody),
      browserUndecodable: format?.problem !== undefined,
    })
    if (plan.mode === 'ladder' && plan.dropped?.length) {
      log.warn({ dropped: plan.dropped }, `configured rungs left out for this source: ${plan.dropped.map((d) => `${d.name} (${d.why})`).join('; ')}`)
    }
    if (plan.mode === 'ladder' && input.videoConfig && !source && (plan.encoded.length > 0 || !plan.copy)) {
      log.warn('source size unknown (no metadata, unreadable SPS); passing it through without a ladder')
      plan = plan.audio.length > 1 ? { ...plan, copy: { kind: 'copy', name: SOURCE_RENDITION }, encoded: [] } : { mode: 'passthrough' }
    }
    const warnings = format?.problem ? [this.undecodable(format, plan)] : []
    log.info({ plan: plan.mode, source }, 'stream planned')
    return { plan, warnings }
  }

  /**
   * The source's video is in a format browsers cannot decode: said in the log and in the
   * API, since a player would only show a black picture or a decode error.
   */
  private undecodable(format: SourceFormat, plan: StreamPlan): string {
    const what = `source video is ${format.codec} ${format.profile}, ${format.chroma}, ${format.bitDepth}-bit; browsers cannot decode ${format.problem}`
    const carried = plan.mode === 'ladder' && !plan.copy && plan.encoded.length > 0
    const warning = carried
      ? `${what}: the source is not offered as is, the ladder's encoded H.264 rungs carry the stream`
      : `${what}: it is offered as is (${plan.mode === 'passthrough' || plan.encoded.length === 0 ? 'no encoded rung: the ladder is off or has none' : 'copied'}), so browser players will fail on it`
    this.o.log.warn({ codec: format.codec, profile: format.profile, chroma: format.chroma, bitDepth: format.bitDepth }, warning)
    return warning
  }
}
