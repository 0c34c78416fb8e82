/**
 * bench/latency's configurations and command line: which players and servers
 * each config runs, and the settings parsed from argv (see bench/latency.mjs).
 */
import { join } from 'node:path'
import { parseCli } from './cli.mjs'

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

/** A config by id: a named one, or streamd-N for another part target N; undefined for anything else. */
export function configById(k) {
  if (ALL_CONFIGS[k]) return { id: k, ...ALL_CONFIGS[k] }
  // Any other part target as streamd-N (0.1 ≤ N ≤ 1, as config validation allows with 2 s segments).
  const m = /^streamd-(\d*\.?\d+)$/.exec(k)
  if (m && Number(m[1]) >= 0.1 && Number(m[1]) <= SEGMENT_TARGET / 2) return { id: k, kind: 'streamd', partTarget: Number(m[1]), label: `streamd, parts ${m[1]} s` }
  return undefined
}

/** Parse the command line (--help prints `usage`; mistakes exit 2); `repo` locates bench/RESULTS.md. */
export function parseSettings(repo, usage, args = process.argv.slice(2)) {
  const cli = parseCli('bench/latency', usage, {
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
  }, args)
  const opt = cli.values
  const duration = cli.num('duration', opt.quick ? 15 : 60, { gt: 0, max: 3600 })
  const reps = cli.num('reps', undefined, { min: 1, max: 100, integer: true })
  const fps = cli.num('fps', undefined, { gt: 0, max: 240 })
  const size = /^(\d+)x(\d+)$/.exec(opt.size) ?? cli.fail(`--size must be WIDTHxHEIGHT, e.g. 1280x720; got '${opt.size}'`)
  if (!(Number(size[1]) > 0 && Number(size[2]) > 0)) cli.fail(`--size must be WIDTHxHEIGHT, e.g. 1280x720; got '${opt.size}'`)
  const [width, height] = [Number(size[1]), Number(size[2])]
  const warmup = cli.num('warmup', undefined, { gt: 0, max: 3600 })
  const waitQuietS = cli.num('wait-quiet', opt.quick ? 0 : 120, { min: 0, max: 3600 })
  const quietCores = cli.num('quiet-cores', undefined, { gt: 0, max: 1024 })
  cli.choice('ladder', ['on', 'off', 'default'])
  const configs = cli.list('configs', (k) => configById(k) !== undefined, `a config (${Object.keys(ALL_CONFIGS).join(', ')}, or streamd-N for a part target N in [0.1, ${SEGMENT_TARGET / 2}])`).map(configById)
  const resultsFile = opt['no-results'] ? undefined : opt.results ?? (opt.quick || opt['from-json'] ? undefined : join(repo, 'bench/RESULTS.md'))
  return { opt, duration, reps, fps, width, height, warmup, waitQuietS, quietCores, configs, resultsFile }
}
