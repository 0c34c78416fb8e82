#!/usr/bin/env node
/**
 * bench/latency — live latency of streamd's LL-HLS and LL-DASH as a viewer sees it, against
 * FFmpeg's own HLS muxer served by nginx, in the same run.
 *
 * Each config, one after another, with its own processes on 127.0.0.1: the demo
 * source (test pattern, UTC clock burnt in; demoSourceArgs) is published and
 * played by hls.js in headless Debian Chromium; the page samples every 250 ms
 * wall clock − program date time at the playhead (Date.now() − hls.playingDate),
 * and records time to first frame and stalls. For streamd it then reads
 * /metrics for the blocking answer delay histogram.
 *
 *   streamd-0.2, streamd-0.33, streamd-0.5   an Origin (dist/) with hls.partTarget 0.2 / 0.33 / 0.5 s,
 *       segmentTarget 2 s; FFmpeg publishes the demo over RTMP; hls.js as on streamd's / page
 *       (lowLatencyMode, backBufferLength 30, maxLiveSyncPlaybackRate 1.5) from /static/hls.min.js.
 *   streamd-dash-0.5   the same origin (ladder on, parts 0.5 s) played as LL-DASH by dash.js in
 *       low-latency mode (chunked segments, ServiceDescription target, catch-up) from the MPD;
 *       latency is dash.js's getCurrentLiveLatency() (wall clock − AST-based playhead time).
 *   ffmpeg   one FFmpeg encodes the same demo source (1 s GOP) and writes fMP4 HLS, 1 s segments
 *       (-hls_time 1 -hls_list_size 6 -hls_flags delete_segments+program_date_time) into tmpfs;
 *       nginx (one worker) serves it; hls.js with default live settings (lowLatencyMode off).
 *
 * usage: USAGE below (printed by --help).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { coreBusy, killAllSync, loadavg, stopAll } from './lib/procs.mjs'
import { stopOnSignals } from './lib/cli.mjs'
import { addHistograms, histQuantile, verdict } from './lib/latency-stats.mjs'
import { ALL_CONFIGS, parseSettings } from './lib/latency-config.mjs'
import { runConfig, setupRuns } from './lib/latency-run.mjs'
import { f2, report, summarise, uptime, versions, writeResults } from './lib/latency-report.mjs'

const USAGE = `usage: npm run bench:latency [-- --quick] [--duration S] [--reps N] [--configs streamd-0.2,streamd-0.33,streamd-0.5,streamd-dash-0.5,ffmpeg]
       (any streamd-N for another part target N)
       [--size 1280x720] [--ladder on|off|default] [--fps 30] [--warmup S] [--wait-quiet S] [--quiet-cores C]
       [--results FILE | --no-results] [--json FILE] [--trace DIR]
env BENCH_STREAMD_DIST=DIR: run the origin from another compiled tree (e.g. a patched copy of dist/).
--ladder on|off|default: streamd's ABR ladder (default: whatever streamd's config defaults to).
--from-json FILE: no measuring; re-render the report of a run saved with --json (writes RESULTS.md only with --results).
--trace DIR: write every request the page made (issued / headers / done, ms) per config and run, as JSON lines.
--quick: 15 s per config, no waiting for a quiet machine, RESULTS.md left alone unless --results is given.`
const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
// The command line first: --help and a mistyped option stop before dist/ is loaded.
const settings = parseSettings(repo, USAGE)
const dist = pathToFileURL(join(repo, 'dist') + '/').href
/** @type {typeof import('../src/transcode/args.js')} */
const { demoSourceArgs } = await import(new URL('transcode/args.js', dist).href)
/** @type {typeof import('../src/transcode/ffmpeg-path.js')} */
const { resolveFfmpeg } = await import(new URL('transcode/ffmpeg-path.js', dist).href)
const { opt, duration, reps, fps, width, height, waitQuietS, quietCores, configs, resultsFile } = settings
const log = (msg) => process.stderr.write(msg + '\n')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const ffmpeg = resolveFfmpeg().path

const tmpRoots = []
const cleanupSync = () => {
  killAllSync()
  for (const d of tmpRoots) rmSync(d, { recursive: true, force: true })
}
stopOnSignals('bench/latency', cleanupSync)

/** Wait (at most maxS) until the machine's busy cores, measured over 3 s, drop below `quietCores`. */
async function waitQuiet(maxS) {
  const until = Date.now() + maxS * 1000
  for (;;) {
    const b0 = coreBusy()
    await sleep(3000)
    const busy = coreBusy().reduce((s, b, i) => s + b - b0[i], 0) / 3
    if (busy < quietCores) return busy
    if (Date.now() >= until) {
      log(`  machine still busy (${busy.toFixed(2)} cores used by others); measuring anyway`)
      return busy
    }
    log(`  machine busy (${busy.toFixed(2)} cores used by others, load ${loadavg()}); waiting`)
    await sleep(10_000)
  }
}
setupRuns({ ...settings, repo, ffmpeg, demoSourceArgs, tmpRoots })

async function main() {
  if (cpus().length < 2) log('warning: fewer than 2 cores; the publisher, streamd and Chromium will compete')
  if (!existsSync(join(repo, 'dist/core/origin.js'))) throw new Error('dist/ is missing: run `npx tsc -p .` (npm run bench:latency does)')
  const uptimeBefore = uptime()
  log(`bench/latency: ${configs.map((c) => c.id).join(', ')}; ${reps} run(s) × ${duration} s; ${width}x${height}@${fps}; ${uptimeBefore}`)
  const recs = []
  let chromium = '?'
  const players = new Set()
  for (let rep = 0; rep < reps; rep++) {
    // Rotate the order each repetition so drifting background load spreads evenly.
    const order = configs.map((_, i) => configs[(i + rep) % configs.length])
    for (const cfg of order) {
      if (waitQuietS > 0) await waitQuiet(waitQuietS)
      log(`  rep ${rep + 1}/${reps} ${cfg.id}: starting (load ${loadavg()})`)
      let r
      try {
        r = await runConfig(cfg, rep)
      } catch (err) {
        log(`  rep ${rep + 1}/${reps} ${cfg.id}: FAILED: ${err instanceof Error ? err.stack : err}`)
        await stopAll() // nothing of a failed config may run into the next one
        r = { config: cfg.id, rep, played: false, failure: String(err instanceof Error ? err.message : err).split('\n')[0], blocking: {}, errors: '', ourCores: NaN, otherCores: NaN, loadavg: loadavg(), responses: {} }
      }
      recs.push(r)
      // Saved after every config, so an interrupted run can still be re-rendered (--from-json).
      if (opt.json) writeFileSync(opt.json, JSON.stringify({ meta: { partial: true, uptimeBefore, reps, argv: process.argv.slice(2).join(' '), duration, size: `${width}x${height}`, fps, ladder: opt.ladder, v: versions(repo, ffmpeg) }, recs }, null, 2))
      if (r.chromium) chromium = r.chromium
      if (r.hlsVersion) players.add(r.hlsVersion)
      if (r.played) {
        const bl = addHistograms(Object.values(r.blocking))
        const q = histQuantile(bl, 0.99)
        log(`  rep ${rep + 1}/${reps} ${cfg.id.padEnd(12)} p50 ${f2(r.p50)} s  p95 ${f2(r.p95)} s  (steady ${f2(r.steadyP50)}/${f2(r.steadyP95)})  TTFF ${f2(r.ttffFrameS)} s (playing ${f2(r.ttffPlayingS)})  stalls ${r.stallCount}/${f2(r.stallS)} s  player latency ${f2(r.hlsLatP50)}  edge+${f2(r.edgeAheadP50)} lag ${f2(r.edgeLagP50)}` +
          `${bl.count ? `  blocking p99 ${q.above ? '>' : ''}${(q.value * 1000).toFixed(2)} ms (n ${bl.count})` : ''}${r.pdtAhead ? `  PDT ahead ${r.pdtAhead.offsetS.toFixed(3)} s (n ${r.pdtAhead.n})` : ''}  media before 1st frame ${r.mediaBeforeFirstFrame}  cpu ours ${f2(r.ourCores)} other ${f2(r.otherCores)}${r.errors ? `  errors: ${r.errors}` : ''}`)
      }
    }
  }
  const builds = [...new Set(recs.map((r) => ('distBuiltAt' in r ? r.distBuiltAt : undefined)).filter(Boolean))]
  if (builds.length > 1) log(`warning: dist/ was rebuilt during the run (${builds.length} different builds measured): compare configs with care`)
  const meta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), v: versions(repo, ffmpeg), uptimeBefore, uptimeAfter: uptime(),
    chromium, hlsVersion: [...players].at(-1) ?? '?', players: [...players], reps, argv: process.argv.slice(2).join(' '), builds,
    duration, size: `${width}x${height}`, fps, ladder: opt.ladder, altDist: process.env.BENCH_STREAMD_DIST,
  }
  finish(configs, recs, meta)
}

/** Summarise, print, and write the JSON and RESULTS.md section. */
function finish(cfgs, recs, meta) {
  const rows = cfgs.map((cfg) => summarise(cfg, recs.filter((r) => r.config === cfg.id)))
  const section = report(rows, meta)
  console.log('\n' + section)
  for (const r of rows) log(`${r.label}: ${verdict(r)}${r.failures.length ? ` (failures: ${r.failures.join('; ')})` : ''}`)
  if (opt.json) writeFileSync(opt.json, JSON.stringify({ meta, recs, rows }, null, 2))
  if (resultsFile) {
    writeResults(resultsFile, section)
    log(`wrote the bench/latency section of ${resultsFile}`)
  }
}

/**
 * --from-json FILE: re-render the report (and RESULTS.md section) of a saved run.
 * Records of runs before latency was kept raw (baseline stored corrected) are put back to raw.
 */
function fromJson(file) {
  const saved = JSON.parse(readFileSync(file, 'utf8'))
  const recs = saved.recs.map((r) => {
    const x = { ...r }
    if (!x.rawLatency && x.pdtOffset && x.rawP50 !== undefined) {
      const off = x.pdtOffset.offsetS
      Object.assign(x, { p50: x.rawP50, p95: x.rawP95, steadyP50: x.steadyP50 - off, steadyP95: x.steadyP95 - off, edgeLagP50: x.edgeLagP50 - off, min: x.min - off, max: x.max - off })
    }
    x.pdtAhead ??= x.pdtCheck ?? x.pdtOffset
    // JSON turned the +Inf bucket bound into null.
    for (const h of Object.values(x.blocking ?? {})) h.buckets = h.buckets.map(([le, c]) => [le ?? Infinity, c])
    return x
  })
  const ids = [...new Set(recs.map((r) => r.config))]
  const cfgs = ids.map((k) => ALL_CONFIGS[k] ? { id: k, ...ALL_CONFIGS[k] } : { id: k, kind: 'streamd', partTarget: Number(k.split('-')[1]), label: `streamd, parts ${k.split('-')[1]} s` })
  const m = saved.meta
  const meta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    uptimeAfter: '(not recorded)',
    chromium: recs.find((r) => r.chromium)?.chromium ?? '?',
    hlsVersion: recs.find((r) => r.hlsVersion)?.hlsVersion ?? '?',
    players: [...new Set(recs.map((r) => r.hlsVersion).filter(Boolean))],
    ...m,
    builds: m.builds ?? [],
    duration: m.duration ?? duration,
    size: m.size ?? `${width}x${height}`,
    fps: m.fps ?? fps,
    ladder: m.ladder ?? opt.ladder,
  }
  finish(cfgs, recs, meta)
}

if (opt['from-json']) {
  try {
    fromJson(opt['from-json'])
  } catch (err) {
    log(`bench/latency --from-json failed: ${err instanceof Error ? err.stack : err}`)
    process.exitCode = 1
  }
} else main().then(
  async () => { await stopAll(); cleanupSync() },
  async (err) => {
    log(`bench/latency failed: ${err instanceof Error ? err.stack : err}`)
    await stopAll()
    cleanupSync()
    process.exitCode = 1
  },
)
