/**
 * The FFmpeg processes of one publish session, started from its plan: one
 * passthrough remux, or for a ladder the copied top rung, one worker per audio
 * rendition and the video ladder (decoder + encoders). Each is supervised and
 * restarted on its own; the pipeline sees only their outputs and exits.
 */
import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import type { FlvNormalizer } from '../ingest/flv-normalizer.js'
import { parseVideoTagHeader } from '../formats/flv.js'
import { FlvWorker, type AttachFlv, type RenditionOutput, type WorkerFeed } from '../transcode/flv-worker.js'
import { VideoLadder } from '../transcode/video-ladder.js'
import { passthroughArgs, type WorkerInput } from '../transcode/args.js'
import { audioArgs, copyVideoArgs } from '../transcode/ladder-args.js'
import type { StreamPlan } from './stream-plan.js'

/** Stops and pids of whatever runs for a session. */
export interface Running {
  stop(): Promise<void>
  pids(): Record<string, number | undefined>
}

/** What starting a session's workers needs. */
export interface WorkerLaunch {
  plan: StreamPlan
  /** Rendition names of the plan, video first (renditionNames). */
  names: string[]
  config: Config
  ffmpeg: string
  log: Logger
  normalizer: FlvNormalizer
  /** A (re)started process's output, to be read into its rendition. */
  onOutput: (out: RenditionOutput) => void
  /** A process exited; `wanted` is false when it was being stopped. */
  onExit: (wanted: boolean, rendition: string) => void
}

/** A session's started workers. */
export interface SessionWorkers {
  running: Running[]
  /** Stop an encoded rung for the rest of the session; false when there is no such rung. */
  shed: (rendition: string) => Promise<boolean>
  /** When the ladder's decoder was last held back by a slow encoder (0: never, or no ladder). */
  heldBackAt: () => number
}

/** Start the workers of a plan. */
export function startWorkers(o: WorkerLaunch): SessionWorkers {
  const { plan, config, normalizer } = o
  const attach: AttachFlv = (write, opts) => normalizer.attach(write, opts)
  const common = { ffmpeg: o.ffmpeg, attach, logger: o.log, minBackoffMs: config.worker.minBackoffMs, maxBackoffMs: config.worker.maxBackoffMs, inputQueueBytes: config.worker.inputQueueBytes, onOutput: o.onOutput }
  // FLV carries H.264 and one AAC track; MPEG-TS also HEVC and several tracks with languages.
  const hevc = normalizer.videoConfig !== undefined && parseVideoTagHeader(normalizer.videoConfig).codecId === 12
  const input: WorkerInput = { format: hevc || (plan.mode === 'ladder' && plan.audio.length > 1) ? 'mpegts' : 'flv', hevc }
  const ts = input.format === 'mpegts'
  o.log.info({ input: input.format, hevc, audio: plan.mode === 'ladder' ? plan.audio : undefined }, 'worker input chosen')
  const flv = (rendition: string, args: string[], feed: WorkerFeed = {}): Running => {
    const w = new FlvWorker({ ...common, rendition, args, onExit: (wanted) => o.onExit(wanted, rendition), feed: ts ? { format: 'mpegts', ...feed } : undefined })
    w.start()
    return { stop: () => w.stop(), pids: () => ({ [rendition]: w.pid }) }
  }
  const out: SessionWorkers = { running: [], shed: async () => false, heldBackAt: () => 0 }
  if (plan.mode === 'passthrough') {
    out.running.push(flv(o.names[0]!, passthroughArgs({ input })))
    return out
  }
  if (plan.copy) out.running.push(flv(plan.copy.name, copyVideoArgs(input), { select: { audio: [] } }))
  // One worker per audio rendition, each sent only its track (which it then reads as 0:a:0).
  for (const a of plan.audio) {
    out.running.push(flv(a.name, audioArgs({ copy: true, bitrateKbps: config.ladder.audioBitrate, input }), { select: { video: false, audio: [a.track] } }))
  }
  if (plan.encoded.length > 0 && plan.source) {
    const ladder = new VideoLadder({
      ...common, input, rungs: plan.encoded, sourceFps: plan.source.fps, segmentSeconds: config.hls.segmentTarget,
      onEncoderExit: (r, wanted) => o.onExit(wanted, r),
    })
    ladder.start()
    out.shed = (r) => ladder.shed(r)
    out.heldBackAt = () => ladder.heldBackAt
    out.running.push({ stop: () => ladder.stop(), pids: () => ladder.pids() })
  }
  return out
}
