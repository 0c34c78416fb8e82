/**
 * Loading and validating config: a JSON file merged over DEFAULTS, then CLI
 * overrides. Every error names the key, the bad value and what is allowed.
 */
import { readFileSync } from 'node:fs'
import { ConfigError } from '../errors.js'
import { CHECKS, DEFAULTS, type Config } from './schema.js'

type Tree = { [key: string]: unknown }

function isPlainObject(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function show(v: unknown): string {
  const s = JSON.stringify(v)
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s
}

/** Merge `input` over `base`, validating every leaf against `checks`. */
function mergeChecked(base: Tree, input: Tree, checks: Tree, prefix: string): Tree {
  const out: Tree = { ...base }
  for (const [key, value] of Object.entries(input)) {
    const path = prefix ? `${prefix}.${key}` : key
    const check = checks[key]
    if (check === undefined) {
      throw new ConfigError(`config: unknown key ${path}; allowed keys here: ${Object.keys(checks).join(', ')}`)
    }
    if (typeof check === 'function') {
      const want = (check as (v: unknown) => string | undefined)(value)
      if (want) throw new ConfigError(`config: ${path} is ${show(value)}; expected ${want}`)
      out[key] = value
    } else {
      if (!isPlainObject(value)) throw new ConfigError(`config: ${path} is ${show(value)}; expected an object`)
      out[key] = mergeChecked(base[key] as Tree, value, check as Tree, path)
    }
  }
  return out
}

function crossCheck(c: Config): void {
  if (c.hls.partTarget * 2 > c.hls.segmentTarget) {
    throw new ConfigError(`config: hls.partTarget ${c.hls.partTarget} is more than half of hls.segmentTarget ${c.hls.segmentTarget}; expected at most ${c.hls.segmentTarget / 2}`)
  }
  const td = Math.ceil(c.hls.segmentTarget)
  if (c.hls.windowSeconds < 3 * td) {
    // rfc8216bis 6.2.2: a live playlist may not be shorter than three target durations.
    throw new ConfigError(`config: hls.windowSeconds ${c.hls.windowSeconds} is less than three target durations (${3 * td} s); expected at least ${3 * td}`)
  }
  if (c.hls.endedRetentionSeconds < c.hls.windowSeconds) {
    // rfc8216bis 6.2.1: segments stay available for the playlist's duration after removal.
    throw new ConfigError(`config: hls.endedRetentionSeconds ${c.hls.endedRetentionSeconds} is less than hls.windowSeconds ${c.hls.windowSeconds}; expected at least ${c.hls.windowSeconds}`)
  }
  if (c.worker.minBackoffMs > c.worker.maxBackoffMs) {
    throw new ConfigError(`config: worker.minBackoffMs ${c.worker.minBackoffMs} exceeds worker.maxBackoffMs ${c.worker.maxBackoffMs}`)
  }
}

/** Validate a parsed config object (partial) and return the full config. */
export function buildConfig(input: unknown, overrides: unknown[] = []): Config {
  if (!isPlainObject(input)) throw new ConfigError(`config: the top level is ${show(input)}; expected a JSON object`)
  let merged = mergeChecked(DEFAULTS as unknown as Tree, input, CHECKS as unknown as Tree, '')
  for (const o of overrides) {
    if (isPlainObject(o)) merged = mergeChecked(merged, o, CHECKS as unknown as Tree, '')
  }
  const config = merged as unknown as Config
  crossCheck(config)
  return config
}

/** Read and validate a JSON config file; `undefined` path means defaults only. */
export function loadConfig(path: string | undefined, overrides: unknown[] = []): Config {
  if (path === undefined) return buildConfig({}, overrides)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`config: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`config: ${path} is not valid JSON: ${(err as Error).message}`)
  }
  return buildConfig(parsed, overrides)
}
