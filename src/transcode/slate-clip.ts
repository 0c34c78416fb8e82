/**
 * The slate's media: a short closed-GOP H.264 clip of the slate picture and one
 * silent AAC-LC frame, as FLV tag bodies ready to loop. Rendered once per spec by
 * FFmpeg and kept for the process's life in a small LRU: streams of one size share it.
 */
import { accessSync, constants } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import type { Logger } from 'pino'
import { LRUCache } from 'lru-cache'
import { describeError } from '../errors.js'
import { parseAudioTagHeader, parseVideoTagHeader } from '../formats/flv.js'
import { readFlvTags } from '../formats/flv-read.js'
import { sourceVideoInfo } from '../formats/h264-sps.js'
import { parseAudioSpecificConfig } from '../formats/mp4/codec-config.js'
import { checkSlateSpec, slateArgs, SlateError, type CheckedSlateSpec, type SlatePicture, type SlateSpec } from './slate-spec.js'
import { runSlateFfmpeg, SlateRenderError } from './slate-render.js'

/** The silent audio of a slate: its sequence header and one frame to repeat. */
export interface SlateAudio {
  /** FLV AUDIODATA body of the AAC sequence header (AudioSpecificConfig). */
  seq: Buffer
  /** FLV AUDIODATA body of one raw AAC-LC frame of silence (1024 samples). */
  silence: Buffer
  sampleRate: number
  channels: number
}

/** Options of a render. */
export interface SlateRenderOptions {
  /** FFmpeg is killed after this long (default 20 s). */
  timeoutMs?: number
}

/** How the clip's picture was made: the image, the card with its text, or the card without (no drawtext). */
export type SlatePictureKind = 'image' | 'card' | 'plain card'

const DEFAULT_TIMEOUT_MS = 20_000
/** A 10 s 8K still at CRF 26 stays far below this; more is a runaway. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024
/** Largest slate.image read: a picture, not a film. */
const MAX_IMAGE_BYTES = 32 * 1024 * 1024
/** Clips kept: one per distinct size/rate/audio/name in use at once is plenty. */
const CACHE_ENTRIES = 4

/** Fonts tried for the card's text, in order; none found: fontconfig's default sans. */
const FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  '/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
]

/** The first readable font file with a path drawtext takes unquoted. */
function slateFont(): string | undefined {
  for (const f of FONT_FILES) {
    try {
      accessSync(f, constants.R_OK)
      return f
    } catch { /* next */ }
  }
  return undefined
}

/** A rendered slate, ready for a SlatePlayer. Its buffers are shared: never write into them. */
export class SlateClip {
  private static readonly cache = new LRUCache<string, Promise<SlateClip>>({ max: CACHE_ENTRIES })

  private constructor(
    /** The spec it was rendered from, checked. */
    readonly spec: CheckedSlateSpec,
    /** FLV VIDEODATA body of the AVC sequence header. */
    readonly videoSeq: Buffer,
    /** FLV VIDEODATA bodies of the clip's frames in order; the first is its only key frame. */
    readonly frames: readonly Buffer[],
    readonly audio: SlateAudio | undefined,
    readonly picture: SlatePictureKind,
  ) {}

  /** Bytes of media kept. */
  get bytes(): number {
    return this.videoSeq.length + this.frames.reduce((n, f) => n + f.length, 0) + (this.audio ? this.audio.seq.length + this.audio.silence.length : 0)
  }

  /**
   * The clip for `spec`: from the cache, else rendered by one FFmpeg run. Rejects with
   * a SlateError (a bad spec before any FFmpeg starts; slate.image unreadable; FFmpeg
   * failing or killed at its timeout). A failure is not cached: the next call tries again.
   */
  static async render(ffmpeg: string, spec: SlateSpec, logger: Logger, opts: SlateRenderOptions = {}): Promise<SlateClip> {
    const s = checkSlateSpec(spec)
    const image = s.image === null ? undefined : await imageStat(s.image)
    const picture = image ? { image: s.image, mtime: image.mtimeMs, size: image.size } : { label: s.label }
    const key = JSON.stringify([ffmpeg, s.width, s.height, s.fps, s.seconds, s.audio ?? null, picture])
    const cached = SlateClip.cache.get(key)
    if (cached) return cached
    const made = renderFresh(ffmpeg, s, logger, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)
    SlateClip.cache.set(key, made)
    made.catch(() => { if (SlateClip.cache.get(key) === made) SlateClip.cache.delete(key) })
    return made
  }

  /** Split FFmpeg's FLV output into the clip; throws SlateError when it is not what `s` asked for. */
  static fromFlv(s: CheckedSlateSpec, flv: Buffer, picture: SlatePictureKind): SlateClip {
    let videoSeq: Buffer | undefined
    let audioSeq: Buffer | undefined
    const frames: Buffer[] = []
    const audioFrames: Buffer[] = []
    try {
      for (const tag of readFlvTags(flv)) {
        if (tag.kind === 'video') {
          const h = parseVideoTagHeader(tag.body)
          if (h.codecId !== 7) throw new SlateError(`slate: FFmpeg wrote video codec ${h.codecId}, not AVC`)
          if (h.avcPacketType === 'seq') videoSeq ??= Buffer.from(tag.body)
          else if (h.avcPacketType === 'nalu') frames.push(Buffer.from(tag.body))
        } else if (tag.kind === 'audio') {
          const h = parseAudioTagHeader(tag.body)
          if (h.aacPacketType === 'seq') audioSeq ??= Buffer.from(tag.body)
          else if (h.aacPacketType === 'raw') audioFrames.push(tag.body)
        }
      }
      if (!videoSeq) throw new SlateError('slate: FFmpeg wrote no AVC sequence header')
      const info = sourceVideoInfo(videoSeq)
      if (info.width !== s.width || info.height !== s.height) throw new SlateError(`slate: FFmpeg rendered ${info.width}x${info.height}, not ${s.width}x${s.height}`)
      if (frames.length !== s.frames) throw new SlateError(`slate: FFmpeg rendered ${frames.length} frames, not ${s.frames}`)
      if (!parseVideoTagHeader(frames[0]!).keyframe) throw new SlateError('slate: the clip does not start with a key frame')
      return new SlateClip(s, videoSeq, frames, s.audio ? slateAudio(s.audio, audioSeq, audioFrames) : undefined, picture)
    } catch (err) {
      if (err instanceof SlateError) throw err
      throw new SlateError(`slate: FFmpeg's output cannot be read: ${describeError(err)}`, { cause: err })
    }
  }

  /** Forget every cached clip (tests; an operator's new slate.image is already noticed by its mtime). */
  static clearCache(): void {
    SlateClip.cache.clear()
  }
}

function slateAudio(want: { sampleRate: number; channels: number }, seq: Buffer | undefined, frames: Buffer[]): SlateAudio {
  if (!seq) throw new SlateError('slate: FFmpeg wrote no AAC sequence header')
  const asc = parseAudioSpecificConfig(seq.subarray(2))
  if (asc.objectType !== 2 || asc.sampleRate !== want.sampleRate || asc.channels !== want.channels) {
    throw new SlateError(`slate: FFmpeg encoded AAC object type ${asc.objectType} at ${asc.sampleRate} Hz, ${asc.channels} channels; wanted AAC-LC at ${want.sampleRate} Hz, ${want.channels}`)
  }
  // The first frames carry the encoder's start-up; any later frame of digital silence decodes
  // to silence on its own and after itself, so one from the middle is repeated.
  if (frames.length < 3) throw new SlateError(`slate: FFmpeg wrote ${frames.length} AAC frames, too few to pick a silent one`)
  return { seq, silence: Buffer.from(frames[Math.floor(frames.length / 2)]!), ...want }
}

/** Size and mtime of slate.image; a SlateError naming the key and the file when it cannot be read. */
async function imageStat(path: string): Promise<{ mtimeMs: number; size: number }> {
  let st
  try {
    st = await stat(path)
  } catch (err) {
    throw new SlateError(`slate.image ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`, { cause: err })
  }
  if (!st.isFile()) throw new SlateError(`slate.image ${path} is not a file`)
  if (st.size > MAX_IMAGE_BYTES) throw new SlateError(`slate.image ${path} is ${st.size} bytes; a slate picture may have at most ${MAX_IMAGE_BYTES}`)
  return { mtimeMs: st.mtimeMs, size: st.size }
}

/** Check at startup that slate.image can be read, so a typo is logged before a stream needs the slate. */
export async function checkSlateImage(path: string): Promise<void> {
  await imageStat(path)
  await readImage(path)
}

async function readImage(path: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (err) {
    throw new SlateError(`slate.image ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`, { cause: err })
  }
}

async function renderFresh(ffmpeg: string, s: CheckedSlateSpec, logger: Logger, timeoutMs: number): Promise<SlateClip> {
  const started = Date.now()
  const run = (picture: SlatePicture, stdin?: Buffer): Promise<Buffer> =>
    runSlateFfmpeg(ffmpeg, slateArgs(s, picture), { stdin, timeoutMs, maxOutputBytes: MAX_OUTPUT_BYTES })
  let flv: Buffer
  let kind: SlatePictureKind
  if (s.image !== null) {
    const bytes = await readImage(s.image)
    try {
      flv = await run({ kind: 'image' }, bytes)
    } catch (err) {
      if (err instanceof SlateRenderError && err.reason === 'exit') throw new SlateError(`slate.image ${s.image} cannot be rendered as a picture (${err.message})`, { cause: err })
      throw err
    }
    kind = 'image'
  } else {
    try {
      flv = await run({ kind: 'card', text: true, fontFile: slateFont() })
      kind = 'card'
    } catch (err) {
      // Only a refusal is worth a second try: drawtext missing from this FFmpeg, or no font.
      if (!(err instanceof SlateRenderError && err.reason === 'exit')) throw err
      logger.warn({ err: err.message }, 'slate: FFmpeg could not draw the text (no drawtext filter or no font); the slate is a plain card')
      flv = await run({ kind: 'card', text: false })
      kind = 'plain card'
    }
  }
  const clip = SlateClip.fromFlv(s, flv, kind)
  logger.info({ width: s.width, height: s.height, fps: s.fps, frames: s.frames, audio: s.audio ?? null, picture: kind, bytes: clip.bytes, ms: Date.now() - started }, 'slate rendered')
  return clip
}
