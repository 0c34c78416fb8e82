/**
 * What a slate clip is rendered from, checked before any FFmpeg starts, and the
 * FFmpeg command that renders it. Pure: spec in, argv out.
 *
 * The clip is H.264 + AAC-LC in FLV, the form an RTMP publisher sends, so the
 * slate runs through the same normalizer and workers as a live input.
 */
import { StreamdError } from '../errors.js'
import { parseAudioSpecificConfig } from '../formats/mp4/codec-config.js'
import { AAC_RATES } from '../formats/mpegts/adts.js'

/** A slate cannot be rendered from what it was given. */
export class SlateError extends StreamdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SLATE', message, options)
  }
}

/** What to render: the stream's picture size, frame rate and audio format. */
export interface SlateSpec {
  /** Luma width and height of the stream's pictures (even: 4:2:0 crops in units of 2). */
  width: number
  height: number
  /** Frames per second of the stream (29.97 works: frames are counted, not timed). */
  fps: number
  /** Clip length in seconds (default 1): the slate's key-frame interval. */
  seconds?: number
  /**
   * The source's AudioSpecificConfig (an FLV AAC sequence header body after its two
   * header bytes): the silence gets its rate and channels. Absent: no audio.
   */
  audioConfig?: Buffer
  /** Drawn on the plain card above "back shortly". */
  streamName: string
  /** `slate.image`: a picture file FFmpeg reads (PNG, JPEG), or null for the plain card. */
  image: string | null
}

/** A spec after checking: every field a number or string the renderer can use as is. */
export interface CheckedSlateSpec {
  width: number
  height: number
  fps: number
  seconds: number
  /** Video frames in the clip: fps × seconds, rounded. */
  frames: number
  audio?: { sampleRate: number; channels: number }
  /** The stream name with anything outside A-Z a-z 0-9 _ . - space replaced (drawtext expands % and quotes). */
  label: string
  image: string | null
}

/** Largest picture side: H.264 level 6.2 tops out at 8192 luma samples. */
const MAX_SIDE = 8192

/** Largest slate.image decoded, in pixels. */
const MAX_IMAGE_PIXELS = 8192 * 8192

/** FFmpeg channel layouts of AAC channelConfiguration 1..7 (14496-3 Table 1.19), by channel count. */
const LAYOUTS: Readonly<Record<number, string>> = { 1: 'mono', 2: 'stereo', 3: '3.0', 4: '4.0', 5: '5.0', 6: '5.1', 8: '7.1' }

/** Check a spec; throws SlateError naming the bad field. */
export function checkSlateSpec(spec: SlateSpec): CheckedSlateSpec {
  const { width, height, fps } = spec
  const seconds = spec.seconds ?? 1
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 16 || v > MAX_SIDE || v % 2 !== 0) {
      throw new SlateError(`slate: ${name} ${String(v)} is not an even integer from 16 to ${MAX_SIDE}`)
    }
  }
  if (typeof fps !== 'number' || !Number.isFinite(fps) || fps < 1 || fps > 240) throw new SlateError(`slate: fps ${String(fps)} is not a number from 1 to 240`)
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0.25 || seconds > 10) {
    throw new SlateError(`slate: seconds ${String(seconds)} is not a number from 0.25 to 10`)
  }
  const checked: CheckedSlateSpec = {
    width, height, fps, seconds,
    frames: Math.max(1, Math.round(fps * seconds)),
    label: slateLabel(spec.streamName),
    image: spec.image,
  }
  if (spec.image !== null && (typeof spec.image !== 'string' || spec.image.length === 0)) throw new SlateError('slate: image is neither a path nor null')
  if (spec.audioConfig) checked.audio = slateAudio(spec.audioConfig)
  return checked
}

function slateAudio(asc: Buffer): { sampleRate: number; channels: number } {
  let parsed
  try {
    parsed = parseAudioSpecificConfig(asc)
  } catch (err) {
    throw new SlateError(`slate: the source's AudioSpecificConfig cannot be read: ${(err as Error).message}`, { cause: err })
  }
  const { sampleRate, channels } = parsed
  if (!AAC_RATES.includes(sampleRate)) throw new SlateError(`slate: audio sample rate ${sampleRate} Hz is not one AAC signals by index`)
  // channelConfiguration 0 means a program_config_element in the stream decides; no layout to render.
  if (LAYOUTS[channels] === undefined) throw new SlateError(`slate: ${channels} audio channels have no AAC channel configuration`)
  return { sampleRate, channels }
}

/** The text drawn for a stream name: 64 characters at most, of a set drawtext prints literally. */
export function slateLabel(name: string): string {
  return String(name).slice(0, 64).replace(/[^A-Za-z0-9_. -]/g, '_')
}

/** How the picture is made. */
export type SlatePicture =
  | { kind: 'image' }
  /** The card; `fontFile` undefined asks fontconfig for its default sans font. */
  | { kind: 'card'; text: true; fontFile?: string }
  | { kind: 'card'; text: false }

/** Background of the plain card: dark, so a player's controls stay readable on it. */
const CARD_COLOR = '0x202428'

/** drawtext filters of the card: the stream name large, "back shortly" below it. */
function cardText(s: CheckedSlateSpec, fontFile: string | undefined): string {
  const font = fontFile ? `fontfile=${fontFile}:` : ''
  const line = (text: string, size: string, color: string, y: string): string =>
    `drawtext=${font}text='${text}':fontcolor=${color}:fontsize=${size}:x=(w-tw)/2:y=${y}`
  const lines = [line('back shortly', 'h/16', '0xb0b0b0', 'h/2+h/40')]
  if (s.label.trim()) lines.unshift(line(s.label, 'h/10', 'white', 'h/2-th-h/40'))
  return lines.join(',')
}

/** FFmpeg arguments rendering the clip as FLV on stdout. */
export function slateArgs(s: CheckedSlateSpec, picture: SlatePicture): string[] {
  const size = `${s.width}x${s.height}`
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error']
  let vf: string
  if (picture.kind === 'image') {
    if (s.image === null) throw new SlateError('slate: an image picture without slate.image')
    // The picture's bytes come on stdin (the caller reads the file): no path reaches
    // FFmpeg, whose image demuxer would read a `%d` in a name as a sequence pattern.
    // -max_pixels: a small file can declare a huge picture; refuse to decode past 8K² rather
    // than let the decoder allocate gigabytes.
    args.push('-max_pixels', String(MAX_IMAGE_PIXELS), '-framerate', String(s.fps), '-i', 'pipe:0')
    // One picture repeated at the frame rate, fitted inside the size keeping its aspect
    // ratio, centred on black, with square pixels.
    vf = `loop=loop=-1:size=1,scale=${s.width}:${s.height}:force_original_aspect_ratio=decrease,pad=${s.width}:${s.height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p`
  } else {
    args.push('-f', 'lavfi', '-i', `color=c=${CARD_COLOR}:s=${size}:r=${s.fps}:d=${s.seconds + 1}`)
    vf = [picture.text ? cardText(s, picture.fontFile) : '', 'setsar=1,format=yuv420p'].filter(Boolean).join(',')
  }
  if (s.audio) args.push('-f', 'lavfi', '-t', '1', '-i', `anullsrc=r=${s.audio.sampleRate}:cl=${LAYOUTS[s.audio.channels]}`)
  args.push(
    // trim, not -frames:v: FFmpeg closes every stream of an output once one reaches its
    // -frames limit, which cut the audio short when the few video frames came out first.
    '-map', '0:v', '-vf', `${vf},trim=end_frame=${s.frames}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'stillimage', '-crf', '26',
    '-profile:v', 'high', '-pix_fmt', 'yuv420p',
    // One closed GOP: an IDR at the first frame and none after it, no B-frames, so every
    // loop of the clip starts decodable and presentation order is decode order.
    '-g', String(s.frames), '-keyint_min', String(s.frames), '-sc_threshold', '0', '-bf', '0',
    // Drop SEI units (x264's version banner): the clip repeats every loop, so keep it small.
    '-bsf:v', 'filter_units=remove_types=6',
  )
  if (s.audio) args.push('-map', '1:a', '-c:a', 'aac', '-b:a', '64k', '-ar', String(s.audio.sampleRate), '-ac', String(s.audio.channels))
  args.push('-f', 'flv', 'pipe:1')
  return args
}
