/**
 * Real-encoder helpers for the H.264 / HEVC SPS tests: one libx264 encode of a
 * test pattern, the readers that pull its parameter sets back out (FLV sequence
 * header, Annex B splitting), ffprobe's view of it, and a job limiter so the
 * FFmpeg runs fit a small box. The hand-written parameter sets live in sps-builder.ts.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { H264Sps } from '../../src/formats/h264-sps.js'
import { FFMPEG, FFPROBE } from './ffmpeg.js'

const run = promisify(execFile)

/** One libx264 encode of a test-pattern frame, and what its SPS should say. */
export interface EncodeCase {
  name: string
  size: [number, number]
  rate: string
  /** -profile:v for libx264; its profile_idc is expected in the SPS. */
  profile?: 'baseline' | 'main' | 'high'
  args?: string[]
  /** testsrc2 size when a filter scales to `size`. */
  src?: string
  /** Only an Annex B stream (the encoder cannot put its headers in the FLV sequence header). */
  annexBOnly?: boolean
  want: { profileIdc: number; chroma: number; bitDepth: number; sar?: { width: number; height: number } }
}

/** Encode one frame of `c` into `dir`: the FLV (unless annexBOnly), the Annex B stream, and ffprobe's view of it. */
export async function encodeH264(dir: string, id: string, c: EncodeCase): Promise<{ flv?: Buffer; annexB: Buffer; probe: Probe }> {
  const flv = join(dir, `${id}.flv`)
  const h264 = join(dir, `${id}.h264`)
  // One encode, two muxers: the FLV sequence header for sourceVideoInfo, and an
  // Annex B copy for ffprobe, which takes the frame rate from the SPS there (from
  // a short FLV it would guess one from millisecond timestamps).
  // Global headers make the FLV sequence header; dump_extra puts them back in band for Annex B.
  const output = c.annexBOnly
    ? ['-f', 'h264', h264]
    : ['-flags', '+global_header', '-map', '0:v', '-f', 'tee', `[f=flv]${flv}|[f=h264:bsfs/v=dump_extra]${h264}`]
  await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i',
    `testsrc2=size=${c.src ?? c.size.join('x')}:rate=${c.rate}`, '-frames:v', '1', '-c:v', 'libx264', '-preset', 'veryfast',
    ...(c.profile ? ['-profile:v', c.profile] : []), ...(c.args ?? []), ...output])
  return { flv: c.annexBOnly ? undefined : await readFile(flv), annexB: await readFile(h264), probe: await ffprobe(h264) }
}

/** Run at most `n` tasks at a time (FFmpeg jobs on a small CI box). */
export function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0
  const queue: Array<() => void> = []
  return async (task) => {
    if (active >= n) await new Promise<void>((resolve) => queue.push(resolve))
    active++
    try {
      return await task()
    } finally {
      active--
      queue.shift()?.()
    }
  }
}

/** Body of the first FLV video tag that is an AVC sequence header. */
export function flvSequenceHeader(file: Buffer): Buffer {
  for (let p = 13; p + 11 <= file.length;) {
    const size = file.readUIntBE(p + 1, 3)
    const body = file.subarray(p + 11, p + 11 + size)
    if (file[p] === 9 && body[1] === 0) return body
    p += 11 + size + 4
  }
  throw new Error('no AVC sequence header in the FLV file')
}

/** Split an Annex B byte stream at its start codes (the zero_byte before a 4-byte code stays on the previous unit). */
export function annexB(stream: Buffer): Buffer[] {
  const starts: number[] = []
  for (let i = 0; i + 2 < stream.length; i++) if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) starts.push(i)
  return starts.map((s, k) => stream.subarray(s + 3, starts[k + 1] ?? stream.length))
}

/** What ffprobe says about the first video stream of a file. */
export interface Probe { width: number; height: number; profile: string; level: number; r_frame_rate: string; sample_aspect_ratio?: string }

/** ffprobe's view of the first video stream in `path`. */
export async function ffprobe(path: string): Promise<Probe> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-print_format', 'json', '-show_entries',
    'stream=width,height,profile,level,r_frame_rate,sample_aspect_ratio', path])
  const s = JSON.parse(stdout).streams?.[0] as Probe | undefined
  if (!s) throw new Error(`ffprobe found no video stream in ${path}`)
  return s
}

/** The value of a rational such as `30000/1001` (or a plain number). */
export const ratio = (r: string): number => {
  const [n, d] = r.split('/').map(Number)
  return (n ?? NaN) / (d ?? 1)
}

/** ffprobe's name for an H.264 profile (libavcodec's profile table). */
export function ffprobeProfile(s: H264Sps): string {
  const set1 = (s.constraintFlags & 0x40) !== 0
  const intra = (s.constraintFlags & 0x10) !== 0
  const names: Record<number, string> = {
    66: set1 ? 'Constrained Baseline' : 'Baseline', 77: 'Main', 100: 'High', 110: intra ? 'High 10 Intra' : 'High 10',
    122: intra ? 'High 4:2:2 Intra' : 'High 4:2:2', 244: intra ? 'High 4:4:4 Intra' : 'High 4:4:4 Predictive',
  }
  return names[s.profileIdc] ?? `profile_idc ${s.profileIdc}`
}
