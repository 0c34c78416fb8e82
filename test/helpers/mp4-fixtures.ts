/**
 * Fragmented-MP4 fixtures made by FFmpeg at test time, and readers that check our
 * output with independent parsers (mp4box.js, ffprobe).
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createFile, MP4BoxBuffer, type Movie } from 'mp4box'
import { BoxWriter, readBoxes } from '../../src/formats/mp4/box.js'
import { BoxSplitter } from '../../src/formats/mp4/box-splitter.js'
import { parseInit } from '../../src/formats/mp4/init.js'
import { parseFragment } from '../../src/formats/mp4/fragment.js'
import { FFMPEG, FFPROBE } from './ffmpeg.js'

const run = promisify(execFile)

/** The movflags streamd's workers use: one moof+mdat per sample, moof-relative offsets. */
export const WORKER_MOVFLAGS = '+frag_every_frame+empty_moov+default_base_moof'

/** A fresh temp dir, removed when the test ends. */
export async function tempDir(t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'streamd-mp4-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Run FFmpeg with `args` (inputs and encoders) writing worker-style fragmented MP4 to `path`. */
export async function makeFragmentedMp4(path: string, args: string[], movflags = WORKER_MOVFLAGS): Promise<Buffer> {
  await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-nostdin', ...args,
    '-f', 'mp4', '-movflags', movflags, '-y', path], { maxBuffer: 16 << 20 })
  return readFile(path)
}

/** The ftyp + moov of a file, as the packager keeps them for init.mp4. */
export function initSegmentOf(file: Buffer): Buffer {
  return Buffer.concat(readBoxes(file).filter((b) => b.type === 'ftyp' || b.type === 'moov').map((b) => b.data))
}

/** Whether this FFmpeg build lists `name` among its encoders. */
export async function hasEncoder(name: string): Promise<boolean> {
  const { stdout } = await run(FFMPEG, ['-hide_banner', '-encoders'], { maxBuffer: 16 << 20 })
  return new RegExp(`^\\s*\\S+\\s+${name}\\s`, 'm').test(stdout)
}

/** ffprobe decodes every frame; returns frame counts per stream type and its stderr (errors). */
export async function probeDecode(path: string): Promise<{ video: number; audio: number; errors: string; streams: any[] }> {
  const { stdout, stderr } = await run(FFPROBE, ['-v', 'error', '-count_frames', '-print_format', 'json',
    '-show_streams', path], { maxBuffer: 16 << 20 })
  const streams: any[] = JSON.parse(stdout).streams ?? []
  const out = { video: 0, audio: 0, errors: stderr.trim(), streams }
  for (const s of streams) {
    if (s.codec_type === 'video') out.video += Number(s.nb_read_frames ?? 0)
    if (s.codec_type === 'audio') out.audio += Number(s.nb_read_frames ?? 0)
  }
  return out
}

/** What mp4box.js makes of a file: its movie info and the samples it extracted per track. */
export interface Mp4boxResult {
  info: Movie
  samples: Map<number, { count: number; bytes: number; sync: number }>
  errors: string[]
}

/** Parse `bytes` with mp4box.js (one appendBuffer at fileStart 0) and extract every sample. */
export function mp4boxParse(bytes: Buffer): Mp4boxResult {
  const file = createFile()
  let info: Movie | undefined
  const errors: string[] = []
  const samples = new Map<number, { count: number; bytes: number; sync: number }>()
  file.onError = (module: string, message: string) => { errors.push(`${module}: ${message}`) }
  file.onReady = (movie: Movie) => {
    info = movie
    for (const track of movie.tracks) {
      samples.set(track.id, { count: 0, bytes: 0, sync: 0 })
      file.setExtractionOptions(track.id, undefined, { nbSamples: 1_000_000 })
    }
    file.start()
  }
  file.onSamples = (id: number, _user: unknown, list: Array<{ size: number; is_sync: boolean }>) => {
    const entry = samples.get(id)
    if (!entry) return
    for (const s of list) {
      entry.count++
      entry.bytes += s.size
      if (s.is_sync) entry.sync++
    }
  }
  const ab = MP4BoxBuffer.fromArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), 0)
  file.appendBuffer(ab)
  file.flush()
  if (!info) throw new Error(`mp4box did not find a moov (${errors.join('; ')})`)
  return { info, samples, errors }
}

/** One track of a synthetic init segment. */
export interface TestTrack {
  id: number
  handler: string
  timescale: number
  /** Complete sample entry box (see visualEntry / audioEntry). */
  entry: Buffer
  /** Packed mdhd language; default 'und'. */
  language?: string
  /** Write tkhd/mdhd as version 1 (64-bit times). */
  v1?: boolean
  trex?: { duration: number; size: number; flags: number }
}

/** Build ftyp + moov for `tracks` with BoxWriter, mvex/trex included. */
export function buildTestInit(tracks: TestTrack[]): Buffer {
  const w = new BoxWriter()
  w.begin('ftyp').fourcc('iso6').u32(0).fourcc('iso6').fourcc('cmfc').end()
  w.begin('moov')
  w.beginFull('mvhd', 0, 0).bytes(Buffer.alloc(96)).end()
  for (const tr of tracks) {
    const times = Buffer.alloc(tr.v1 ? 16 : 8)
    w.begin('trak')
    w.beginFull('tkhd', tr.v1 ? 1 : 0, 3).bytes(times).u32(tr.id).bytes(Buffer.alloc(tr.v1 ? 72 : 68)).end()
    w.begin('mdia')
    const lang = tr.language ?? 'und'
    const packed = [...lang].reduce((acc, c) => (acc << 5) | (c.charCodeAt(0) - 0x60), 0)
    w.beginFull('mdhd', tr.v1 ? 1 : 0, 0).bytes(times).u32(tr.timescale).bytes(Buffer.alloc(tr.v1 ? 8 : 4)).u16(packed).u16(0).end()
    w.beginFull('hdlr', 0, 0).u32(0).fourcc(tr.handler).bytes(Buffer.alloc(13)).end()
    w.begin('minf').begin('stbl')
    w.beginFull('stsd', 0, 0).u32(1).bytes(tr.entry).end()
    w.end().end() // stbl, minf
    w.end().end() // mdia, trak
  }
  w.begin('mvex')
  for (const tr of tracks) {
    const d = tr.trex ?? { duration: 0, size: 0, flags: 0 }
    w.beginFull('trex', 0, 0).u32(tr.id).u32(1).u32(d.duration).u32(d.size).u32(d.flags).end()
  }
  w.end().end()
  return Buffer.from(w.finish())
}

/** A VisualSampleEntry (ISO 14496-12 §12.1.3) of `type` with child boxes. */
export function visualEntry(type: string, width: number, height: number, children: Buffer[]): Buffer {
  const w = new BoxWriter()
  w.begin(type).bytes(Buffer.alloc(6)).u16(1).bytes(Buffer.alloc(16)).u16(width).u16(height)
  w.u32(0x00480000).u32(0x00480000).u32(0).u16(1).bytes(Buffer.alloc(32)).u16(0x18).u16(0xffff)
  for (const c of children) w.bytes(c)
  return Buffer.from(w.end().finish())
}

/** An AudioSampleEntry (§12.2.3) of `type`; `qtVersion` 1 adds QuickTime's 16 extra bytes. */
export function audioEntry(type: string, rate: number, channels: number, children: Buffer[], qtVersion = 0): Buffer {
  const w = new BoxWriter()
  w.begin(type).bytes(Buffer.alloc(6)).u16(1).u16(qtVersion).bytes(Buffer.alloc(6)).u16(channels).u16(16).u32(0).u32(rate * 65536)
  if (qtVersion === 1) w.bytes(Buffer.alloc(16))
  for (const c of children) w.bytes(c)
  return Buffer.from(w.end().finish())
}

/** A plain box of `type` around `payload`. */
export function rawBox(type: string, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload.replace(/\s+/g, ''), 'hex') : payload
  return Buffer.from(new BoxWriter().begin(type).bytes(body).end().finish())
}

/** Decode time of a segment's first sample (its first moof's tfdt), in seconds and in its track's timescale. */
export function firstSampleTime(init: Buffer, segment: Buffer): { seconds: number; timescale: number } {
  const info = parseInit(init)
  const boxes = new BoxSplitter().push(segment)
  const s = parseFragment(boxes.find((b) => b.type === 'moof')!.data, boxes.find((b) => b.type === 'mdat')!.data, info)[0]!
  const timescale = info.tracks.find((x) => x.id === s.trackId)!.timescale
  return { seconds: s.dts / timescale, timescale }
}
