#!/usr/bin/env node
/**
 * Where streamd's ladder spends CPU beyond the single-process reference:
 * FFmpeg runs (unpaced, the bench/ladder source) that add one piece of
 * streamd's decoder at a time, next to the reference and streamd's whole
 * decoder with its raw-frame pipes drained by Node as the relay would.
 *
 *   decode            -i src -map 0:v -f null
 *   decode+graph      streamd's decoder graph (fps, split, scale ×N), each output -f null (no copy)
 *   +rawvideo /dev/null   the same, each output -f rawvideo to /dev/null (frame → packet copy, 32 KiB writes)
 *   streamd decoder   decoderArgs() verbatim (input from the file), raw frames on pipes 3.. drained by Node
 *   reference         the bench's reference command (decode once, scale, every encoder in one process)
 *
 * usage: node bench/lib/ladder-attribution.mjs [--preset veryfast] [--reps 3] [--seconds 60] [--json FILE]
 * The JSON (default bench/out/ladder/attribution-PRESET.json) is what
 * `node bench/ladder.mjs --attribution FILE` renders into RESULTS.md.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseCli, stopOnSignals } from './cli.mjs'
import { DIST, SOURCE, ensureSource, plannedLadder, referenceCommand, streamdOverrides } from './ladder-plan.mjs'
import { killAllSync, runFfmpegCpu } from './ladder-runs.mjs'
import { attributionTable, median } from './ladder-report.mjs'

/** @type {typeof import('../../src/transcode/ladder-args.js')} */
const { decoderArgs } = await import(new URL('transcode/ladder-args.js', DIST).href)
/** @type {typeof import('../../src/transcode/ffmpeg-path.js')} */
const { resolveFfmpeg } = await import(new URL('transcode/ffmpeg-path.js', DIST).href)

const USAGE = 'usage: node bench/lib/ladder-attribution.mjs [--preset veryfast] [--reps 3] [--seconds 60] [--json FILE]'
const cli = parseCli('bench/lib/ladder-attribution', USAGE, { preset: { type: 'string', default: 'veryfast' }, reps: { type: 'string', default: '3' }, seconds: { type: 'string', default: String(SOURCE.seconds) }, json: { type: 'string' } })
const opt = cli.values
cli.num('reps', undefined, { min: 1, max: 100, integer: true })
cli.num('seconds', undefined, { gt: 0, max: 3600 })
stopOnSignals('bench/lib/ladder-attribution', killAllSync)

const ffmpeg = resolveFfmpeg(undefined).path
const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'out', 'ladder')
const full = join(outDir, `src-${SOURCE.height}p${SOURCE.fps}-${SOURCE.seconds}s.flv`)
await ensureSource(ffmpeg, full)
const seconds = Number(opt.seconds)
const src = seconds === SOURCE.seconds ? full : join(outDir, `src-${SOURCE.height}p${SOURCE.fps}-${seconds}s.flv`)
if (!existsSync(src)) throw new Error(`${src} missing: run bench/ladder.mjs --seconds ${seconds} once first`)

const { config, plan } = plannedLadder(streamdOverrides(opt.preset))
const rungs = plan.encoded
const ref = referenceCommand(plan, config.hls.segmentTarget)
const base = ['-hide_banner', '-nostdin', '-loglevel', 'warning']
const dec = decoderArgs(rungs, plan.source.fps)
dec[dec.indexOf('pipe:0')] = src

const tmp = mkdtempSync(join(tmpdir(), 'streamd-bench-attrib-'))
const configs = {
  decode: () => [...base, '-i', src, '-map', '0:v:0', '-f', 'null', '-'],
  'decode+graph → null': () => [...base, '-i', src, '-an', '-filter_complex', ref.graph, ...rungs.flatMap((_, i) => ['-map', `[o${i}]`, '-f', 'null', '-'])],
  'decode+graph → rawvideo /dev/null': () => [...base, '-i', src, '-an', '-filter_complex', ref.graph, ...rungs.flatMap((_, i) => ['-map', `[o${i}]`, '-f', 'rawvideo', '-y', '/dev/null'])],
  'streamd decoder → pipes (Node drains)': () => dec,
  reference: () => {
    const args = [...base, '-i', src, '-filter_complex', ref.graph]
    for (const o of ref.outputs) args.push('-map', o.map, ...o.options, ...ref.fmp4Flags, '-y', join(tmp, `${o.name}.mp4`))
    return args
  },
}
const results = Object.fromEntries(Object.keys(configs).map((k) => [k, /** @type {any[]} */ ([])]))
try {
  for (let rep = 1; rep <= Number(opt.reps); rep++) {
    for (const [name, args] of Object.entries(configs)) {
      const r = await runFfmpegCpu(ffmpeg, args(), { extraPipes: name.startsWith('streamd') ? rungs.length : 0 })
      if (r.exit !== 0) throw new Error(`${name}: exit ${r.exit}: ${r.stderr}`)
      results[name].push(r)
      console.error(`rep ${rep} ${name}: ${r.cpu.toFixed(2)} CPU-s, ${r.wallSeconds.toFixed(1)} s wall, others ${r.otherBusy.toFixed(2)} cores${r.pipedBytes ? `, ${(r.pipedBytes / 1e9).toFixed(2)} GB piped, Node drain ${r.drainCpu.toFixed(2)} CPU-s` : ''}`)
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
const rows = Object.entries(results).map(([name, rs]) => ({
  name,
  cpuPerContent: median(rs.map((r) => r.cpu / seconds)),
  speed: median(rs.map((r) => seconds / r.wallSeconds)),
  others: median(rs.map((r) => r.otherBusy)),
  drainCpuPerContent: rs[0].pipedBytes ? median(rs.map((r) => r.drainCpu / seconds)) : undefined,
  pipedBytesPerContent: rs[0].pipedBytes ? median(rs.map((r) => r.pipedBytes / seconds)) : undefined,
}))
const out = { preset: opt.preset, seconds, reps: Number(opt.reps), ladder: rungs.map((r) => r.name), date: new Date().toISOString(), load1: loadavg()[0], rows, results }
const json = opt.json ?? join(outDir, `attribution-${opt.preset}.json`)
writeFileSync(json, JSON.stringify(out, null, 1))
console.log(attributionTable(out))
console.log(`\nraw data: ${json}`)

