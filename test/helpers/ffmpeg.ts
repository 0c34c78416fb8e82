/**
 * Test helpers that run real FFmpeg: test-source publishers, fixture makers, ffprobe.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'
import { resolveFfmpeg, resolveFfprobe } from '../../src/transcode/ffmpeg-path.js'

const run = promisify(execFile)

/** Absolute path of the ffmpeg binary tests use. */
export const FFMPEG = resolveFfmpeg().path
/** Absolute path of ffprobe. */
export const FFPROBE = resolveFfprobe(resolveFfmpeg()) ?? 'ffprobe'

/** Options of a synthetic live source. */
export interface TestSourceOptions {
  width?: number
  height?: number
  fps?: number
  /** GOP length in frames (default 2 s worth). */
  gop?: number
  audio?: boolean
  video?: boolean
  /** Seconds to run; default: until killed. */
  duration?: number
  /** Pace at real time (-re); default true. */
  realtime?: boolean
  /**
   * B-frames between references (x264 -bf), as OBS's x264 and FFmpeg's defaults send them;
   * `-tune zerolatency` (which turns them off) is then left out. Default: none, zerolatency.
   */
  bframes?: number
  /** A solid picture of this colour instead of testsrc2 (tests that tell two sources apart by a decoded frame). */
  color?: string
}

/** Input + encode arguments for a testsrc2 + sine source encoded to H.264/AAC. */
export function testSourceArgs(o: TestSourceOptions = {}): string[] {
  const w = o.width ?? 640
  const h = o.height ?? 360
  const fps = o.fps ?? 30
  const gop = o.gop ?? fps * 2
  const args: string[] = ['-hide_banner', '-loglevel', 'error', '-nostdin']
  if (o.realtime !== false) args.push('-re')
  if (o.video !== false) args.push('-f', 'lavfi', '-i', o.color ? `color=c=${o.color}:size=${w}x${h}:rate=${fps}` : `testsrc2=size=${w}x${h}:rate=${fps}`)
  if (o.audio !== false) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000')
  if (o.duration) args.push('-t', String(o.duration))
  if (o.video !== false) {
    const tune = o.bframes ? ['-bf', String(o.bframes)] : ['-tune', 'zerolatency']
    args.push('-c:v', 'libx264', '-preset', 'ultrafast', ...tune, '-pix_fmt', 'yuv420p',
      '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-b:v', '800k')
  }
  if (o.audio !== false) args.push('-c:a', 'aac', '-b:a', '96k', '-ar', '48000', '-ac', '2')
  return args
}

/** Start an FFmpeg that publishes a test source to `url` (rtmp://...); kill it with `stop`. */
export function startPublisher(url: string, o: TestSourceOptions = {}): ChildProcess & { stop: () => Promise<void>; stderrText: () => string } {
  const child = spawn(FFMPEG, [...testSourceArgs(o), '-f', 'flv', url], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000) })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return Object.assign(child, {
    stderrText: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL')
      await exited
    },
  })
}

/** Encode a test source to a file (e.g. FLV fixtures); resolves when FFmpeg exits 0. */
export async function makeTestFile(path: string, format: string, o: TestSourceOptions = {}): Promise<void> {
  await run(FFMPEG, [...testSourceArgs({ duration: 2, ...o, realtime: false }), '-f', format, '-y', path])
}

/** ffprobe -show_streams/-show_format as parsed JSON for a file path. */
export async function ffprobeJson(path: string, extra: string[] = []): Promise<any> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', ...extra, path])
  return JSON.parse(stdout)
}

/** Count decodable frames with ffprobe (-count_frames) per stream type. */
export async function countFrames(path: string): Promise<{ video: number; audio: number }> {
  const j = await ffprobeJson(path, ['-count_frames'])
  const out = { video: 0, audio: 0 }
  for (const s of j.streams ?? []) {
    if (s.codec_type === 'video') out.video += Number(s.nb_read_frames ?? 0)
    if (s.codec_type === 'audio') out.audio += Number(s.nb_read_frames ?? 0)
  }
  return out
}
