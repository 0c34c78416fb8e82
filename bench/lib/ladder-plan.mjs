/**
 * What bench/ladder compares, taken from streamd's own compiled code so the
 * reference cannot drift from it: the rungs planStream() picks for the source
 * under the bench config, the decoder's filter graph (decoderArgs) and each
 * rung's encoder options (encoderArgs), and the fMP4 output flags.
 */
import { pathToFileURL } from 'node:url'
import { existsSync, mkdirSync, renameSync } from 'node:fs'
import { dirname } from 'node:path'
import { exitOf, spawnTracked, tail } from './procs.mjs'

/** The compiled tree (BENCH_STREAMD_DIST overrides, as in the other benches). */
export const DIST = process.env.BENCH_STREAMD_DIST ? pathToFileURL(process.env.BENCH_STREAMD_DIST + '/').href : new URL('../../dist/', import.meta.url).href

/** @type {typeof import('../../src/config/load.js')} */
const { buildConfig } = await import(new URL('config/load.js', DIST).href)
/** @type {typeof import('../../src/core/stream-plan.js')} */
const { planStream, renditionNames } = await import(new URL('core/stream-plan.js', DIST).href)
/** @type {typeof import('../../src/transcode/ladder-args.js')} */
const { decoderArgs, encoderArgs } = await import(new URL('transcode/ladder-args.js', DIST).href)
/** @type {typeof import('../../src/transcode/args.js')} */
const { FMP4_OUTPUT } = await import(new URL('transcode/args.js', DIST).href)

/** The test source: 60 s of 1080p30. */
export const SOURCE = { width: 1920, height: 1080, fps: 30, seconds: 60 }

/**
 * Config overrides of the streamd runs: the 720p/480p/360p ladder, written
 * as `ladder.rungs` with the bitrates and profiles of streamd's own seeds (the
 * derived ladder always adds a 240p rung), no copied top.
 */
export function streamdOverrides(preset) {
  return {
    ladder: {
      enabled: true, copyTop: false, preset, maxRungs: 3, pixelBudget: 10_000_000_000,
      rungs: [
        { name: '720p', height: 720, bitrate: 2800, profile: 'high' },
        { name: '480p', height: 480, bitrate: 1200, profile: 'main' },
        { name: '360p', height: 360, bitrate: 700, profile: 'main' },
      ],
    },
    // Keep every segment of the 60 s run in the store, so the bench can count them.
    hls: { windowSeconds: 120, endedRetentionSeconds: 120 },
    // The unpaced run queues the whole FLV for the workers (paced runs never queue much), and
    // the publisher then idles while the ladder works through it.
    worker: { inputQueueBytes: 512 * 1024 * 1024 },
    rtmp: { idleTimeoutMs: 600_000 },
  }
}

/** The rungs streamd plans for the source under `overrides`. */
/**
 * @param {object} overrides
 * @returns {{ config: import('../../src/config/schema.js').Config, plan: Extract<import('../../src/core/stream-plan.js').StreamPlan, { mode: 'ladder' }> & { source: NonNullable<Extract<import('../../src/core/stream-plan.js').StreamPlan, { mode: 'ladder' }>['source']> }, names: string[] }}
 */
export function plannedLadder(overrides) {
  const config = buildConfig({}, [overrides])
  const plan = planStream(config, { width: SOURCE.width, height: SOURCE.height, fps: SOURCE.fps }, true)
  if (plan.mode !== 'ladder' || !plan.source) throw new Error(`bench/ladder: the config planned no ladder (${plan.mode})`)
  return { config, plan: { ...plan, source: plan.source }, names: renditionNames(plan) }
}

/** Value following `flag` in an argv. */
const valueOf = (argv, flag) => argv[argv.indexOf(flag) + 1]

/**
 * The reference command's parts: streamd's decoder graph verbatim, and per rung
 * streamd's encoder options (from -c:v up to, not including, -output_ts_offset:
 * preset, tune, profile, bitrate/maxrate/bufsize, GOP, forced key frames,
 * sc_threshold), then audio copied, as streamd's audio worker does.
 */
export function referenceCommand(plan, segmentSeconds) {
  const rungs = plan.encoded
  const graph = valueOf(decoderArgs(rungs, plan.source.fps), '-filter_complex')
  const outputs = rungs.map((rung, i) => {
    const enc = encoderArgs(rung, plan.source.fps, segmentSeconds, 0)
    const options = enc.slice(enc.indexOf('-c:v'), enc.indexOf('-output_ts_offset'))
    return { name: rung.name, map: `[o${i}]`, options }
  })
  outputs.push({ name: 'audio', map: '0:a:0', options: ['-c:a', 'copy'] })
  // FMP4_OUTPUT ends with pipe:1; the reference writes files instead.
  const fmp4Flags = FMP4_OUTPUT.slice(0, FMP4_OUTPUT.indexOf('pipe:1'))
  return { graph, outputs, fmp4Flags }
}

/**
 * Generate the source once into `file` (gitignored bench/out/): testsrc2 + a
 * beeping sine, H.264 High (veryfast, CRF 20, GOP 60, no B-frames) + AAC, in
 * FLV as an RTMP publisher sends it. testsrc2 is easy content for x264.
 */
export async function ensureSource(ffmpeg, file) {
  if (existsSync(file)) return false
  mkdirSync(dirname(file), { recursive: true })
  const tmp = `${file}.part.flv`
  const { width, height, fps, seconds } = SOURCE
  // A tracked child (not spawnSync): SIGINT/SIGTERM during the minute it takes stop it by pid.
  const proc = spawnTracked(ffmpeg, [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:beep_factor=4:sample_rate=48000',
    '-t', String(seconds), '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-profile:v', 'high',
    '-g', String(2 * fps), '-keyint_min', String(2 * fps), '-sc_threshold', '0', '-bf', '0',
    '-c:a', 'aac', '-b:a', '128k', '-ac', '2',
    '-f', 'flv', tmp,
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  const stderr = tail(proc.stderr)
  const timer = setTimeout(() => { try { process.kill(proc.pid, 'SIGKILL') } catch { /* gone */ } }, 600_000)
  const r = await exitOf(proc)
  clearTimeout(timer)
  if (r.code !== 0) throw new Error(`generating ${file} failed (${r.code ?? r.signal}): ${stderr()}`)
  renameSync(tmp, file)
  return true
}
