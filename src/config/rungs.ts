/**
 * Ladder rungs written in the config file (`ladder.rungs`, `ladder.streams`):
 * their shape and validation. Every error names the rung and the field, so an
 * operator knows which line of the file to fix.
 */
import { NAME_RULE, isValidName } from '../media/types.js'

/** An encoded rung as written in the config; omitted fields are derived. */
export interface EncodedRungSpec {
  name: string
  /** The picture's shorter side, pixels (portrait sources are laddered on their short side too). */
  height: number
  /** Longer side, pixels; derived from the source's aspect ratio when omitted. */
  width?: number
  /** kbit/s */
  bitrate: number
  /** kbit/s; 1.1 × bitrate when omitted. */
  maxrate?: number
  /** kbit; 2 × bitrate when omitted. */
  bufsize?: number
  profile?: 'baseline' | 'main' | 'high'
  /** H.264 level, e.g. `4.0`; x264 picks one when omitted. */
  level?: string
  /** Frames per second at most. */
  fpsCap?: number
  /** x264 preset; `ladder.preset` when omitted. */
  preset?: string
}

/** The source passed through as a rung. */
export interface CopyRungSpec { name: string; copy: true }

/** One rung as written in the config. */
export type RungSpec = EncodedRungSpec | CopyRungSpec

/** Per-stream ladders, by stream name. */
export type StreamLadders = Record<string, { rungs: RungSpec[] }>

/** x264 presets streamd accepts (the fast end: live encoding). */
export const PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium'] as const

/** Rendition names the ladder itself uses for other things. */
const RESERVED = new Set(['audio'])

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isInt = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max

const ENCODED_KEYS = new Set(['name', 'height', 'width', 'bitrate', 'maxrate', 'bufsize', 'profile', 'level', 'fpsCap', 'preset'])

function checkEncoded(r: Record<string, unknown>): string | undefined {
  for (const k of Object.keys(r)) if (!ENCODED_KEYS.has(k)) return `unknown field ${k}; allowed: ${[...ENCODED_KEYS].join(', ')}, or name + copy: true`
  if (!isInt(r.height, 32, 4320) || (r.height as number) % 2) return 'height must be an even integer from 32 to 4320'
  if (r.width !== undefined && (!isInt(r.width, 32, 7680) || (r.width as number) % 2)) return 'width must be an even integer from 32 to 7680'
  if (!isInt(r.bitrate, 50, 100_000)) return 'bitrate must be an integer kbit/s from 50 to 100000'
  if (r.maxrate !== undefined && (!isInt(r.maxrate, 50, 200_000) || (r.maxrate as number) < (r.bitrate as number))) return 'maxrate must be an integer kbit/s, at least the bitrate'
  if (r.bufsize !== undefined && !isInt(r.bufsize, 50, 400_000)) return 'bufsize must be an integer kbit from 50 to 400000'
  if (r.profile !== undefined && !['baseline', 'main', 'high'].includes(r.profile as string)) return 'profile must be one of baseline, main, high'
  if (r.level !== undefined && (typeof r.level !== 'string' || !/^[1-6](\.[0-2])?$/.test(r.level))) return 'level must be an H.264 level such as "3.1" or "4.0"'
  if (r.fpsCap !== undefined && (typeof r.fpsCap !== 'number' || !(r.fpsCap >= 1 && r.fpsCap <= 240))) return 'fpsCap must be a number from 1 to 240'
  if (r.preset !== undefined && !PRESETS.includes(r.preset as (typeof PRESETS)[number])) return `preset must be one of ${PRESETS.join(', ')}`
  return undefined
}

/** Why a list of rungs is unusable, or undefined when it is fine. */
export function rungsProblem(v: unknown): string | undefined {
  if (!Array.isArray(v) || v.length === 0 || v.length > 8) return 'a list of 1 to 8 rungs'
  const names = new Set<string>()
  let copies = 0
  for (const [i, r] of v.entries()) {
    const which = `rung ${i}${isObject(r) && typeof r.name === 'string' ? ` (${r.name.slice(0, 40)})` : ''}`
    if (!isObject(r)) return `a list of rungs; ${which} is not an object`
    if (typeof r.name !== 'string' || !isValidName(r.name)) return `a list of rungs; ${which}: name must be ${NAME_RULE}`
    if (RESERVED.has(r.name)) return `a list of rungs; ${which}: the name ${r.name} is the audio rendition's`
    if (names.has(r.name)) return `a list of rungs; ${which}: the name ${r.name} is used twice`
    names.add(r.name)
    if (r.copy !== undefined) {
      if (r.copy !== true || Object.keys(r).length !== 2) return `a list of rungs; ${which}: a copy rung is exactly { "name": ..., "copy": true }`
      if (++copies > 1) return `a list of rungs; ${which}: only one copy rung (the source passes through once)`
      continue
    }
    const problem = checkEncoded(r)
    if (problem) return `a list of rungs; ${which}: ${problem}`
  }
  return undefined
}

/** Why a per-stream ladder map is unusable, or undefined when it is fine. */
export function streamLaddersProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'an object of stream name → { "rungs": [...] }'
  for (const [name, entry] of Object.entries(v)) {
    if (!isValidName(name)) return `an object keyed by stream names; "${name.slice(0, 40)}" is not one (${NAME_RULE})`
    if (!isObject(entry) || Object.keys(entry).length !== 1 || !('rungs' in entry)) return `for stream ${name}: exactly { "rungs": [...] }`
    const problem = rungsProblem(entry.rungs)
    if (problem) return `for stream ${name}: ${problem}`
  }
  return undefined
}
