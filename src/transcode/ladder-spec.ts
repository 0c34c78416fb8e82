/**
 * Ladders written in the config (`ladder.rungs`, `ladder.streams`) turned into
 * rungs for one source. Pure. The same rule as the derived ladder holds: never
 * upscale — a rung larger than the source is left out, and the caller says so.
 */
import type { RungSpec } from '../config/rungs.js'
import { seedRung, type Rung, type SourceVideo, type VideoRung } from './ladder.js'

/** The rungs a configured ladder gives for `source`, and the names left out (with why). */
export interface SpecLadder { rungs: Rung[]; dropped: Array<{ name: string; why: string }> }

/** Rungs from config `specs` for `source`; encoded rungs use `preset` unless they name one. */
export function rungsFromSpecs(specs: readonly RungSpec[], source: SourceVideo, preset: string): SpecLadder {
  const rungs: Rung[] = []
  const dropped: SpecLadder['dropped'] = []
  const portrait = source.height > source.width
  const sourceShort = Math.min(source.width, source.height)
  const sourceLong = Math.max(source.width, source.height)
  for (const spec of specs) {
    if ('copy' in spec) {
      rungs.push({ kind: 'copy', name: spec.name })
      continue
    }
    if (spec.height > sourceShort || (spec.width !== undefined && spec.width > sourceLong)) {
      dropped.push({ name: spec.name, why: `${spec.width ?? ''}${spec.width ? 'x' : ''}${spec.height} is larger than the source ${source.width}x${source.height} (never upscaled)` })
      continue
    }
    const derived = seedRung({ height: spec.height, bitrate: spec.bitrate, profile: spec.profile ?? 'main' }, source, spec.preset ?? preset)
    const long = spec.width ?? Math.max(derived.width, derived.height)
    const rung: VideoRung = {
      ...derived,
      name: spec.name,
      width: portrait ? spec.height : long,
      height: portrait ? long : spec.height,
      maxrate: spec.maxrate ?? Math.round(spec.bitrate * 1.1),
      bufsize: spec.bufsize ?? spec.bitrate * 2,
      level: spec.level,
      fpsCap: spec.fpsCap,
    }
    rungs.push(rung)
  }
  return { rungs, dropped }
}
