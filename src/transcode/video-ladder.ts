/**
 * The encoded part of a ladder: one decoder process (decode once, scale per
 * rung) and one encoder process per rung, joined by frame-counting relays.
 *
 * Restarts keep every rung on the shared segment grid:
 * - an encoder that dies is restarted alone and fed from the next frame on the
 *   grid, its timestamps offset to that frame's media time (the slots it missed
 *   become gaps in its playlist; the other rungs never notice);
 * - a decoder that dies takes the encoders' frame clock with it, so every
 *   encoder restarts with the new decoder, from its first frame's media time.
 */
import type { Readable } from 'node:stream'
import type { Logger } from 'pino'
import { SupervisedWorker } from './worker.js'
import { RawRelay } from './raw-relay.js'
import { decoderArgs, encoderArgs, frameBytes, rungFps } from './ladder-args.js'
import type { VideoRung } from './ladder.js'
import type { AttachFlv, RenditionOutput, WorkerFeed } from './flv-worker.js'
import type { WorkerInput } from './args.js'

/** What a video ladder needs. */
export interface VideoLadderOptions {
  ffmpeg: string
  rungs: VideoRung[]
  sourceFps: number
  segmentSeconds: number
  /** Bytes of FLV queued for the decoder before the publisher's video drops to a key frame. */
  inputQueueBytes?: number
  attach: AttachFlv
  logger: Logger
  minBackoffMs: number
  maxBackoffMs: number
  onOutput: (out: RenditionOutput) => void
  /** The decoder's input format (default FLV); it is always sent the video only. */
  input?: WorkerInput
  /** The grid's phase (SegmentGrid.offset), read at each encoder's spawn; default 0. */
  gridOffset?: () => number
  /** Calls back once the grid's phase is final: encoders start then (default: at once). */
  whenGridReady?: (go: () => void) => void
  /** An encoder exited (restarts follow while wanted). */
  onEncoderExit?: (rendition: string, wanted: boolean) => void
}

/** Seconds of raw frames an encoder may leave unread before it is restarted. */
const MAX_BACKLOG_SECONDS = 2
/**
 * Seconds of frames a working encoder may leave unread before the decoder is held back
 * for it: enough that neither side waits on the other's every frame.
 */
const HIGH_WATER_SECONDS = 0.5
/**
 * A working encoder that reads nothing for this long while holding the decoder back is
 * hung: it is restarted so the other rungs go on. Under the supervisor's one-second
 * silence limit, so the others are never taken for hung themselves.
 */
const STALL_MS = 700

interface Rung {
  rung: VideoRung
  /** Shed for lack of CPU: never restarted again this session. */
  shed: boolean
  relay: RawRelay
  worker: SupervisedWorker
  /** The decoder's raw-frame pipe for this rung (the current decoder's). */
  source: Readable | undefined
  stall: NodeJS.Timeout | undefined
  /** Frame the next encoder process starts at (set just before it spawns). */
  startFrame: number
  /** An encoder of this rung has been spawned this session. */
  spawned: boolean
}

/** A decoder and its encoders, supervised together. */
export class VideoLadder {
  private readonly o: VideoLadderOptions
  private readonly decoder: SupervisedWorker
  private readonly rungs: Rung[]
  /** Media time (s) of the current decoder's first frame, and of the session's first decoder's. */
  private t0 = 0
  private firstT0: number | undefined
  private decoderStarted = false
  private stopping = false
  /** Rungs holding the decoder back now, and when the last hold ended (Date.now()). */
  private holds = 0
  private lastHoldEnd = 0

  constructor(o: VideoLadderOptions) {
    this.o = o
    this.rungs = o.rungs.map((rung) => this.makeRung(rung))
    this.decoder = new SupervisedWorker({
      ffmpeg: o.ffmpeg,
      args: decoderArgs(o.rungs, o.sourceFps, o.input),
      extraOutputs: o.rungs.length,
      osPipes: true,
      logger: o.logger.child({ worker: 'decoder' }),
      minBackoffMs: o.minBackoffMs,
      maxBackoffMs: o.maxBackoffMs,
      onSpawn: (io) => {
        for (const [i, r] of this.rungs.entries()) {
          r.relay.resetSource()
          r.source = io.extra[i]!
          r.source.on('data', (chunk: Buffer) => r.relay.push(chunk))
          if (r.relay.holding) r.source.pause()
        }
        io.stdout.resume()
        const detach = this.o.attach(
          (bytes) => {
            if (io.stdin.destroyed || !io.stdin.writable) return true
            io.stdin.write(bytes)
            return io.stdin.writableLength < (this.o.inputQueueBytes ?? 16 * 1024 * 1024)
          },
          {
            ...(o.input?.format === 'mpegts' ? { format: 'mpegts', select: { audio: [] } } satisfies WorkerFeed : {}),
            replay: io.generation === 0,
            // The decoder takes a new sequence header in-band (another input on air, a new
            // encoder): the rungs go on with no restart and no discontinuity.
            followConfig: true,
            onStart: (startMs) => {
              this.t0 = startMs / 1000
              this.firstT0 ??= this.t0
              this.decoderStarted = true
              const go = (): void => { if (this.decoderStarted && !this.stopping) for (const r of this.rungs) if (!r.shed) r.worker.start() }
              if (this.o.whenGridReady) this.o.whenGridReady(go)
              else go()
            },
          },
        )
        io.stdout.once('close', detach)
      },
      onExit: ({ wanted }) => {
        this.decoderStarted = false
        // The encoders' frame clock died with the decoder: restart them with the next one.
        if (wanted) for (const r of this.rungs) void r.worker.stop()
      },
    })
  }

  /**
   * Date.now() while some rung holds the decoder back, else when the last hold ended: the
   * other encoders are quiet then through no fault of theirs (the hold has its own limit).
   */
  get heldBackAt(): number {
    return this.holds > 0 ? Date.now() : this.lastHoldEnd
  }

  /** Pids of the decoder and every running encoder, by role. */
  pids(): Record<string, number | undefined> {
    const out: Record<string, number | undefined> = { decoder: this.decoder.pid }
    for (const r of this.rungs) out[r.rung.name] = r.worker.pid
    return out
  }

  /** Kill the decoder and every encoder: each is restarted by its supervisor (the input changed). */
  restartAll(): void {
    this.decoder.kill()
    for (const r of this.rungs) if (!r.shed) r.worker.kill()
  }

  /** Stop a rung's encoder for the rest of the session (the machine cannot keep up). */
  async shed(name: string): Promise<boolean> {
    const r = this.rungs.find((x) => x.rung.name === name && !x.shed)
    if (!r) return false
    r.shed = true
    r.relay.disconnect()
    await r.worker.stop()
    return true
  }

  /** Start decoding; encoders start once the decoder has its first key frame. */
  start(): void {
    this.decoder.start()
  }

  /** Stop everything, encoders after the decoder. */
  async stop(): Promise<void> {
    this.stopping = true
    for (const r of this.rungs) clearInterval(r.stall)
    await this.decoder.stop()
    await Promise.all(this.rungs.map((r) => r.worker.stop()))
  }

  private makeRung(rung: VideoRung): Rung {
    const fps = rungFps(rung, this.o.sourceFps)
    const r: Rung = {
      rung,
      shed: false,
      startFrame: 0,
      spawned: false,
      relay: new RawRelay(frameBytes(rung), frameBytes(rung) * fps * MAX_BACKLOG_SECONDS, () => {
        this.o.logger.warn({ rendition: rung.name }, 'encoder is not keeping up; restarting it at the next segment')
        r.relay.disconnect()
        r.worker.kill()
      }),
      worker: undefined as unknown as SupervisedWorker,
      source: undefined,
      stall: undefined,
    }
    r.relay.highWater = frameBytes(rung) * Math.ceil(fps * HIGH_WATER_SECONDS)
    r.relay.onPressure = (held) => {
      clearInterval(r.stall)
      this.holds += held ? 1 : -1
      if (!held) {
        this.lastHoldEnd = Date.now()
        r.source?.resume()
        return
      }
      r.source?.pause()
      // Slow is fine (the decoder waits); reading nothing at all for STALL_MS is hung.
      let last = r.relay.backlog
      r.stall = setInterval(() => {
        const now = r.relay.backlog
        if (now < last) {
          last = now
          return
        }
        this.o.logger.warn({ rendition: rung.name }, 'encoder stopped reading; restarting it at the next segment')
        r.relay.disconnect()
        r.worker.kill()
      }, STALL_MS)
    }
    r.worker = new SupervisedWorker({
      ffmpeg: this.o.ffmpeg,
      args: () => {
        r.startFrame = r.spawned || !this.o.gridOffset ? this.nextGridFrame(r) : this.firstFrame(r)
        r.spawned = true
        const start = this.t0 + r.startFrame / fps
        return encoderArgs(rung, this.o.sourceFps, this.o.segmentSeconds, start, this.o.gridOffset?.(), start - (this.firstT0 ?? this.t0))
      },
      logger: this.o.logger.child({ rendition: rung.name }),
      osPipes: true,
      minBackoffMs: this.o.minBackoffMs,
      maxBackoffMs: this.o.maxBackoffMs,
      onSpawn: (io) => {
        r.relay.connect(io.stdin, r.startFrame)
        // Output shows the encoder works: from then on a slow read holds the decoder back.
        io.stdout.once('data', () => r.relay.arm())
        // The encoder's output starts at 0: place it where its first frame is on the session's timeline.
        const mediaOffset = this.t0 + r.startFrame / fps - (this.firstT0 ?? this.t0)
        this.o.onOutput({ rendition: rung.name, stdout: io.stdout, generation: io.generation, pid: io.pid, mediaOffset, restart: () => r.worker.killGeneration(io.generation) })
      },
      onExit: ({ wanted }) => {
        r.relay.disconnect()
        this.o.onEncoderExit?.(rung.name, wanted && !this.stopping)
      },
    })
    return r
  }

  /**
   * A rung's first encoder starts at once: at the first frame, or where the relay is when it
   * waited for the grid (its first segment is then short; a key frame is forced at the next
   * slot start).
   */
  private firstFrame(r: Rung): number {
    return this.decoderStarted ? r.relay.nextFrame : 0
  }

  /** First frame at or after the relay's position whose media time is on the segment grid. */
  private nextGridFrame(r: Rung): number {
    if (!this.decoderStarted) return 0
    const fps = rungFps(r.rung, this.o.sourceFps)
    const next = r.relay.nextFrame
    if (next === 0) return 0
    const S = this.o.segmentSeconds
    // An epoch-locked grid is phased on the segmenters' timeline (media time from the
    // session's first decoder start); otherwise slots count from the epoch's media time zero.
    const off = this.o.gridOffset?.()
    if (off === undefined) {
      const t = this.t0 + next / fps
      return Math.max(next, Math.round((Math.ceil(t / S - 1e-9) * S - this.t0) * fps))
    }
    const rel = this.t0 - (this.firstT0 ?? this.t0)
    const t = rel + next / fps
    const slot = Math.ceil((t + off) / S - 1e-9) * S - off
    return Math.max(next, Math.round((slot - rel) * fps))
  }
}
