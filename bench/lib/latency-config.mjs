/**
 * bench/latency's configurations and command line: which players and servers
 * each config runs, and the settings parsed from argv (see bench/latency.mjs).
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'

/** Every named config: what runs on the server side and which player plays it. */
export const ALL_CONFIGS = {
  'streamd-0.2': { kind: 'streamd', partTarget: 0.2, label: 'streamd, parts 0.2 s' },
  'streamd-0.33': { kind: 'streamd', partTarget: 0.33, label: 'streamd, parts 0.33 s' },
  'streamd-0.5': { kind: 'streamd', partTarget: 0.5, label: 'streamd, parts 0.5 s' },
  // The same origin and segments, played as LL-DASH by dash.js (ladder on: dash.js plays no muxed Representation).
  'streamd-dash-0.5': { kind: 'streamd', dash: true, partTarget: 0.5, label: 'streamd LL-DASH (dash.js), chunks 0.5 s' },
  ffmpeg: { kind: 'ffmpeg', label: 'FFmpeg HLS 1 s segments + nginx' },
}
/** hls.js settings of streamd's own / page (src/http/page.ts). */
export const STREAMD_HLS_CONFIG = { lowLatencyMode: true, backBufferLength: 30, maxLiveSyncPlaybackRate: 1.5 }
/** hls.js defaults for a plain live stream. */
export const BASELINE_HLS_CONFIG = { lowLatencyMode: false }
/** streamd's segment target in every config (s). */
export const SEGMENT_TARGET = 2

/** A config by id: a named one, or streamd-N for another part target N. */
export function configById(k) {
  if (ALL_CONFIGS[k]) return { id: k, ...ALL_CONFIGS[k] }
  // Any other part target as streamd-N (0.1 ≤ N ≤ 1, as config validation allows with 2 s segments).
  const m = /^streamd-(\d*\.?\d+)$/.exec(k)
  if (m && Number(m[1]) >= 0.1 && Number(m[1]) <= SEGMENT_TARGET / 2) return { id: k, kind: 'streamd', partTarget: Number(m[1]), label: `streamd, parts ${m[1]} s` }
  throw new Error(`unknown config ${k}; known: ${Object.keys(ALL_CONFIGS).join(', ')}, or streamd-N for another part target`)
}

/** Parse the command line; `repo` locates bench/RESULTS.md. */
export function parseSettings(repo, args = process.argv.slice(2)) {
  const { values: opt } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      reps: { type: 'string', default: '1' },
      configs: { type: 'string', default: Object.keys(ALL_CONFIGS).join(',') },
      size: { type: 'string', default: '1280x720' },
      fps: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '8' },
      'wait-quiet': { type: 'string' },
      'quiet-cores': { type: 'string', default: '0.5' },
      results: { type: 'string' },
      'no-results': { type: 'boolean', default: false },
      json: { type: 'string' },
      trace: { type: 'string' },
      ladder: { type: 'string', default: 'default' },
      'from-json': { type: 'string' },
    },
  })
  const duration = Number(opt.duration ?? (opt.quick ? 15 : 60))
  const reps = Number(opt.reps)
  const fps = Number(opt.fps)
  const [width, height] = opt.size.split('x').map(Number)
  const warmup = Number(opt.warmup)
  const waitQuietS = Number(opt['wait-quiet'] ?? (opt.quick ? 0 : 120))
  const quietCores = Number(opt['quiet-cores'])
  const configs = opt.configs.split(',').map(configById)
  for (const [k, v] of Object.entries({ duration, reps, fps, width, height, warmup })) {
    if (!(v > 0)) throw new Error(`--${k} must be positive, got ${v}`)
  }
  const resultsFile = opt['no-results'] ? undefined : opt.results ?? (opt.quick || opt['from-json'] ? undefined : join(repo, 'bench/RESULTS.md'))
  return { opt, duration, reps, fps, width, height, warmup, waitQuietS, quietCores, configs, resultsFile }
}
