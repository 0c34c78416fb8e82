/**
 * Planning an ABR ladder: which renditions to make from a source. Pure: the
 * source's size and frame rate in, rungs out. Never upscales; the seeds follow
 * common practice from 2160p down to a ~200 kbit/s rung for 2G connections.
 */

/** A rendition encoded from the decoded source. */
export interface VideoRung {
  kind: 'video'
  name: string
  width: number
  height: number
  /** kbit/s */
  bitrate: number
  maxrate: number
  bufsize: number
  profile: 'baseline' | 'main' | 'high'
  level?: string
  /** Frames per second cap; the source rate when undefined or higher. */
  fpsCap?: number
  preset: string
}

/** The source's video passed through without re-encoding. */
export interface CopyRung {
  kind: 'copy'
  name: string
}

/** One video rendition of a ladder. */
export type Rung = VideoRung | CopyRung

/** What the ladder is planned from. */
export interface SourceVideo {
  width: number
  height: number
  fps: number
}

/** How to plan. */
export interface LadderOptions {
  preset: string
  /** Put the source itself at the top of the ladder (no re-encode of the top rung). */
  copyTop: boolean
  /** Encoded pixels per second the machine can afford in real time at `preset`. */
  pixelBudget: number
  maxRungs: number
  /**
   * The source's video bitrate (kbit/s) when the publisher states it: no encoded rung
   * gets more bits than the source has, which would only cost bandwidth.
   */
  sourceKbps?: number
}

interface Seed { height: number; bitrate: number; profile: VideoRung['profile']; fpsCap?: number }

/** The seeds: each used when the source is at least this tall. */
export const SEEDS: readonly Seed[] = [
  { height: 2160, bitrate: 14000, profile: 'high' },
  { height: 1080, bitrate: 5000, profile: 'high' },
  { height: 720, bitrate: 2800, profile: 'high' },
  { height: 480, bitrate: 1200, profile: 'main' },
  { height: 360, bitrate: 700, profile: 'main' },
  // The 2G rung: ~200 kbit/s needs a small picture and a low frame rate to look like anything.
  { height: 240, bitrate: 200, profile: 'baseline', fpsCap: 15 },
]

const even = (n: number): number => Math.max(2, Math.round(n / 2) * 2)
/** Largest even number not above `n`: caps never round up into an upscale. */
const evenDown = (n: number): number => Math.max(2, Math.floor(n / 2) * 2)

/** Name of a rung whose shorter side is `h`: `720p`. */
export const rungName = (h: number): string => `${h}p`

/** Encoding cost of a rung in pixels per second. */
export function rungCost(r: VideoRung, source: SourceVideo): number {
  return r.width * r.height * Math.min(source.fps, r.fpsCap ?? Infinity)
}

/**
 * A video rung whose shorter side is `seed.height` (capped at the source's), keeping
 * the source's aspect ratio: portrait video is laddered on its short side too.
 */
export function seedRung(seed: Seed, source: SourceVideo, preset: string): VideoRung {
  const portrait = source.height > source.width
  const sourceShort = portrait ? source.width : source.height
  const short = Math.min(seed.height, evenDown(sourceShort))
  const long = Math.min(even((short * Math.max(source.width, source.height)) / sourceShort), evenDown(Math.max(source.width, source.height)))
  return {
    kind: 'video', name: rungName(short), width: portrait ? short : long, height: portrait ? long : short,
    bitrate: seed.bitrate, maxrate: Math.round(seed.bitrate * 1.1), bufsize: seed.bitrate * 2,
    profile: seed.profile, fpsCap: seed.fpsCap, preset,
  }
}

/**
 * The default ladder: the source on top (copied, or encoded at its own size with the
 * bitrate of the largest seed it reaches), then every seed smaller than the source, the
 * 2G rung included whenever the source is at least that tall. Over `maxRungs` or the
 * pixel budget, the most expensive encoded rungs go first; the budget always leaves one.
 */
export function planLadder(source: SourceVideo, o: LadderOptions): Rung[] {
  const short = Math.min(source.width, source.height)
  const smallest = SEEDS[SEEDS.length - 1]!
  const topSeed = SEEDS.find((s) => s.height <= short) ?? smallest
  const top: Rung = o.copyTop
    ? { kind: 'copy', name: rungName(evenDown(short)) }
    : seedRung({ ...topSeed, height: evenDown(short) }, source, o.preset)
  const topShort = evenDown(short)
  const below = SEEDS.filter((s) => s.height < topShort || (o.copyTop && s === smallest && s.height <= topShort))
  const encoded: VideoRung[] = [...(top.kind === 'video' ? [top] : []), ...below.map((s) => seedRung(s, source, o.preset))]
  const count = (): number => encoded.length + (top.kind === 'copy' ? 1 : 0)
  while (encoded.length > 0 && count() > o.maxRungs) encoded.shift()
  let cost = encoded.reduce((a, r) => a + rungCost(r, source), 0)
  while (encoded.length > 1 && cost > o.pixelBudget) cost -= rungCost(encoded.shift()!, source)
  const capped = encoded.map((r) => capBitrate(r, o.sourceKbps))
  return top.kind === 'copy' ? [top, ...capped] : capped
}

/** `r` with its bitrates scaled down to at most `kbps` (unchanged when unknown or higher). */
export function capBitrate(r: VideoRung, kbps: number | undefined): VideoRung {
  if (!kbps || kbps >= r.bitrate) return r
  const bitrate = Math.max(50, Math.round(kbps))
  const scale = bitrate / r.bitrate
  return { ...r, bitrate, maxrate: Math.max(bitrate, Math.round(r.maxrate * scale)), bufsize: Math.max(bitrate, Math.round(r.bufsize * scale)) }
}
