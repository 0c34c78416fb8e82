/**
 * The production worker factory: the FFmpeg processes of one session, started from its
 * plan: one passthrough remux, or for a ladder the copied top rung, one worker per audio
 * rendition and the video ladder (decoder + encoders). Each is supervised and restarted
 * on its own (src/transcode/); the session sees only their outputs and exits.
 */
import { parseVideoTagHeader } from '../formats/flv.js'
import { FlvWorker, type AttachFlv, type WorkerFeed } from '../transcode/flv-worker.js'
import { VideoLadder } from '../transcode/video-ladder.js'
import { passthroughArgs, type WorkerInput } from '../transcode/args.js'
import { audioArgs, copyVideoArgs } from '../transcode/ladder-args.js'
import type { SessionWorkers, WorkerFactory, WorkerLaunch } from './session-workers.js'

/** What runs for a session, one entry per FFmpeg supervisor. */
interface Running {
  stop(): Promise<void>
  restart(): void
  pids(): Record<string, number | undefined>
}

/** Worker factory running FFmpeg at `ffmpeg`. */
export function ffmpegWorkers(ffmpeg: string): WorkerFactory {
  return (o) => startWorkers(ffmpeg, o)
}

function startWorkers(ffmpeg: string, o: WorkerLaunch): SessionWorkers {
  const { plan, config, normalizer } = o
  const attach: AttachFlv = (write, opts) => normalizer.attach(write, opts)
  const common = { ffmpeg, attach, logger: o.log, minBackoffMs: config.worker.minBackoffMs, maxBackoffMs: config.worker.maxBackoffMs, inputQueueBytes: config.worker.inputQueueBytes, onOutput: o.onOutput }
  // FLV carries H.264 and one AAC track; MPEG-TS also HEVC and several tracks with languages.
  const hevc = normalizer.videoConfig !== undefined && parseVideoTagHeader(normalizer.videoConfig).codecId === 12
  const input: WorkerInput = { format: hevc || (plan.mode === 'ladder' && plan.audio.length > 1) ? 'mpegts' : 'flv', hevc }
  const ts = input.format === 'mpegts'
  o.log.info({ input: input.format, hevc, audio: plan.mode === 'ladder' ? plan.audio : undefined }, 'worker input chosen')
  const running: Running[] = []
  const flv = (rendition: string, args: string[], feed: WorkerFeed = {}): void => {
    const w = new FlvWorker({ ...common, rendition, args, onExit: (wanted) => o.onExit(wanted, rendition), feed: ts ? { format: 'mpegts', ...feed } : feed })
    w.start()
    running.push({ stop: () => w.stop(), restart: () => w.kill(), pids: () => ({ [rendition]: w.pid }) })
  }
  let ladder: VideoLadder | undefined
  if (plan.mode === 'passthrough') {
    flv(o.names[0]!, passthroughArgs({ input }))
  } else {
    if (plan.copy) flv(plan.copy.name, copyVideoArgs(input), { select: { audio: [] } })
    // One worker per audio rendition, each sent only its track (which it then reads as 0:a:0).
    for (const a of plan.audio) {
      flv(a.name, audioArgs({ copy: true, bitrateKbps: config.ladder.audioBitrate, input }), { select: { video: false, audio: [a.track] } })
    }
    if (plan.encoded.length > 0 && plan.source) {
      const l = ladder = new VideoLadder({
        ...common, input, rungs: plan.encoded, sourceFps: plan.source.fps, segmentSeconds: config.hls.segmentTarget, gridOffset: o.gridOffset, whenGridReady: o.whenGridReady,
        onEncoderExit: (r, wanted) => o.onExit(wanted, r),
      })
      l.start()
      running.push({ stop: () => l.stop(), restart: () => l.restartAll(), pids: () => l.pids() })
    }
  }
  return {
    stop: async () => { await Promise.all(running.map((r) => r.stop())) },
    restartAll: () => { for (const r of running) r.restart() },
    shed: (r) => ladder?.shed(r) ?? Promise.resolve(false),
    heldBackAt: () => ladder?.heldBackAt ?? 0,
    pids: () => Object.assign({}, ...running.map((r) => r.pids())),
  }
}
