/**
 * What renditions a stream gets, decided once its first key frame is in: a
 * muxed passthrough, or a ladder (video rungs on the segment grid plus one
 * audio rendition per audio track) planned from the source's size and frame rate.
 */
import { availableParallelism } from 'node:os'
import type { Config } from '../config/schema.js'
import { decodeAmf0 } from '../formats/amf0.js'
import { planLadder, type CopyRung, type Rung, type SourceVideo, type VideoRung } from '../transcode/ladder.js'
import { rungsFromSpecs, type SpecLadder } from '../transcode/ladder-spec.js'
import { sourceVideoInfo } from '../formats/h264-sps.js'
import { parseVideoTagHeader } from '../formats/flv.js'
import { parseHevcDecoderConfig, parseHevcSps } from '../formats/hevc-sps.js'
import { AUDIO_RENDITION, audioRenditions, type AudioRendition, type AudioTrackInfo } from './audio-renditions.js'

export { AUDIO_RENDITION }

/** Name of the rendition that carries the source as is. */
export const SOURCE_RENDITION = 'source'

/** The renditions of one publish session. */
export type StreamPlan =
  | { mode: 'passthrough' }
  | { mode: 'ladder'; source?: SourceVideo; copy?: CopyRung; encoded: VideoRung[]; audio: AudioRendition[]; /** configured rungs left out */ dropped?: SpecLadder['dropped'] }

/** A positive number field of an onMetaData tag body, by name; undefined when absent or garbage. */
function metadataNumber(body: Buffer | undefined, ...keys: string[]): number | undefined {
  if (!body) return undefined
  try {
    const values = decodeAmf0(body)
    const meta = values.find((v) => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date)) as Record<string, unknown> | undefined
    for (const k of keys) {
      const v = meta?.[k]
      if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v
    }
  } catch {
    // metadata is optional and publishers get it wrong; the SPS is the fallback
  }
  return undefined
}

/** Width, height and frame rate from an onMetaData tag body, where present. */
export function sourceFromMetadata(body: Buffer | undefined): Partial<SourceVideo> {
  if (!body) return {}
  return { width: metadataNumber(body, 'width'), height: metadataNumber(body, 'height'), fps: metadataNumber(body, 'framerate', 'fps') }
}

/** The video bitrate the publisher states in onMetaData (`videodatarate`, kbit/s), if any. */
export function metadataVideoKbps(body: Buffer | undefined): number | undefined {
  return metadataNumber(body, 'videodatarate')
}

/**
 * What is known of a session beyond its picture: its name, the bitrate its publisher
 * states, and whether browsers cannot decode its video as is (source-playability.ts).
 */
export interface PlanContext { stream?: string; sourceKbps?: number; browserUndecodable?: boolean }

/**
 * Plan a session's renditions. `source` is undefined for audio-only streams; `audio` is
 * the source's audio tracks (true: one). The ladder is the stream's own from
 * `ladder.streams`, else `ladder.rungs`, else derived from the source. Without a ladder,
 * several audio tracks still become one rendition each beside the copied video, since a
 * muxed variant could offer only one language.
 */
export function planStream(config: Config, source: SourceVideo | undefined, audioTracks: boolean | AudioTrackInfo[], ctx: PlanContext & { hasVideo?: boolean } = {}): StreamPlan {
  const l = config.ladder
  const audio = audioRenditions(audioTracks === true ? [{ track: 0 }] : audioTracks === false ? [] : audioTracks)
  if (!l.enabled) {
    if (audio.length <= 1) return { mode: 'passthrough' }
    const video = ctx.hasVideo ?? source !== undefined
    return { mode: 'ladder', source, copy: video ? { kind: 'copy', name: SOURCE_RENDITION } : undefined, encoded: [], audio }
  }
  if (!source) return { mode: 'ladder', encoded: [], audio }
  const specs = (ctx.stream !== undefined ? l.streams[ctx.stream]?.rungs : undefined) ?? l.rungs
  const configured = specs ? rungsFromSpecs(specs, source, l.preset) : undefined
  // A configured ladder with nothing left for this source (all larger) falls back to the derived one.
  const rungs: Rung[] = configured?.rungs.length ? configured.rungs : planLadder(source, {
    preset: l.preset,
    // A source browsers cannot decode is encoded at its own size instead of copied.
    copyTop: l.copyTop && !ctx.browserUndecodable,
    pixelBudget: l.pixelBudget > 0 ? l.pixelBudget : availableParallelism() * 40_000_000,
    maxRungs: l.maxRungs,
    sourceKbps: ctx.sourceKbps,
  })
  let copy = rungs.find((r): r is CopyRung => r.kind === 'copy')
  const encoded = rungs.filter((r): r is VideoRung => r.kind === 'video')
    .map((r) => (r.fpsCap ? { ...r, fpsCap: wholeFrameFps(r.fpsCap, source.fps, config.hls.partTarget, config.hls.segmentTarget) } : r))
  let dropped = configured?.dropped
  // A configured copy of a source browsers cannot decode is left out while encoded rungs
  // carry the stream; with nothing else to offer, it stays (the pipeline warns).
  if (copy && ctx.browserUndecodable && encoded.length > 0) {
    dropped = [...(dropped ?? []), { name: copy.name, why: 'browsers cannot decode the source as is' }]
    copy = undefined
  }
  // The derived ladder's copy rung is always `source`; a configured one keeps its name.
  const copyRung = copy && !configured?.rungs.length ? { ...copy, name: SOURCE_RENDITION } : copy
  return { mode: 'ladder', source, copy: copyRung, encoded, audio, dropped }
}

/**
 * The frame rate of a rung capped at `cap`: the source's rate divided by a whole number,
 * so every n-th frame is kept and motion stays even (30 → 10, not 16), at most `cap`,
 * and the highest such rate at which PART-TARGET and the segment target are whole
 * frames. 15 fps does not fit 0.5 s parts: 7 frames is the most a part may hold, 6
 * would be under the 85 % floor, and a 2 s segment of 30 frames would end in a
 * two-frame sliver. When no such rate lies within half the cap (a 25 fps source has
 * no whole-frame rate for 0.5 s parts, nor do its full-rate rungs), the highest whole
 * division of the source's rate not above the cap.
 */
export function wholeFrameFps(cap: number, sourceFps: number, partTarget: number, segmentTarget: number): number {
  if (!(sourceFps > 0)) return cap
  const whole = (x: number): boolean => Math.abs(x - Math.round(x)) < 0.02
  const first = Math.max(1, Math.ceil(sourceFps / cap - 1e-9))
  for (let k = first; sourceFps / k >= cap / 2; k++) {
    const fps = sourceFps / k
    if (whole(fps * partTarget) && whole(fps * segmentTarget)) return round3(fps)
  }
  return round3(sourceFps / first)
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000

/** Rendition names a plan produces, video first. */
export function renditionNames(plan: StreamPlan): string[] {
  if (plan.mode === 'passthrough') return [SOURCE_RENDITION]
  return [...(plan.copy ? [plan.copy.name] : []), ...plan.encoded.map((r) => r.name), ...plan.audio.map((a) => a.name)]
}

/** Width, height and frame rate from an FLV AVC or HEVC sequence header body (its SPS); {} when unreadable. */
export function probeSps(videoConfig: Buffer): Partial<SourceVideo> {
  try {
    const h = parseVideoTagHeader(videoConfig)
    if (h.codecId === 12) {
      const sps = parseHevcDecoderConfig(videoConfig.subarray(h.headerSize)).sps[0]
      if (!sps) return {}
      const info = parseHevcSps(sps)
      return info.frameRate ? { width: info.width, height: info.height, fps: info.frameRate } : { width: info.width, height: info.height }
    }
    const info = sourceVideoInfo(videoConfig)
    return { width: info.width, height: info.height, fps: info.frameRate }
  } catch {
    // Not AVC (HEVC, AV1) or a broken SPS: the caller falls back to passthrough.
    return {}
  }
}
