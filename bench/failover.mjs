#!/usr/bin/env node
// @ts-check
/**
 * bench/failover — how fast a stream with a primary and a backup input switches, and
 * whether a player notices. One streamd origin (dist/, its own process, 127.0.0.1,
 * default config) takes a primary (FFmpeg over RTMP) and a backup (FFmpeg over SRT,
 * or RTMP) of one stream; hls.js plays it in headless Debian Chromium. Every
 * `--every` seconds the bench kills an encoder with SIGKILL or starts it again
 * (bench/lib/failover-plan.mjs: kill the primary, bring it back, kill it again, kill
 * the backup too so the slate comes on, bring the backup back, then the primary).
 *
 * Per switch, timed inside the origin (bench/lib/failover-origin-child.mjs): from the
 * last tag of the lost input (a failover, a slate entry) or from the switch itself (a
 * return, a slate exit) to the first part of the new source in every rendition, in ms
 * and in part targets; and the player's stalls (`waiting` events and a playhead that
 * stood still > 0.5 s), each given to the switch before it. Goals: ≤ 1 part target,
 * 0 stalls.
 *
 * usage: USAGE below (printed by --help).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, isAbsolute, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseCli, stopOnSignals } from './lib/cli.mjs'
import { killAllSync, loadavg, stopAll } from './lib/procs.mjs'
import { PLAN } from './lib/failover-plan.mjs'
import { ATTRIBUTE_MS, analyse, goals, kindTable, playerLine, switchTable } from './lib/failover-report.mjs'
import { uptime, writeResults } from './lib/latency-report.mjs'

const USAGE = `usage: npm run bench:failover [-- --duration 180] [--every 20] [--warmup 10]
       [--size 640x360] [--fps 30] [--gop 2] [--backup srt|rtmp]
       [--results FILE | --no-results] [--json FILE] [--no-build] [--report FILE]
--duration S: seconds of the schedule (from the first action's slot to the end), default 180.
--every S: one action every S seconds (at least 12: a returning primary needs
           redundancy.returnAfterMs, 10 s by default, before it goes back on air), default 20.
--warmup S: seconds of playback before the schedule starts, default 10.
--gop S: the encoders' key frame interval in seconds, default 2 (the segment target).
--backup: the backup's protocol (the primary publishes over RTMP), default srt.
--report FILE: measure nothing; print the report of a run saved with --json (RESULTS.md only with --results).
Writes its section of bench/RESULTS.md after a run of 180 s or more, unless --no-results;
a shorter run only with --results FILE.`
const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = parseCli('bench/failover', USAGE, {
  duration: { type: 'string', default: '180' },
  every: { type: 'string', default: '20' },
  warmup: { type: 'string', default: '10' },
  size: { type: 'string', default: '640x360' },
  fps: { type: 'string', default: '30' },
  gop: { type: 'string', default: '2' },
  backup: { type: 'string', default: 'srt' },
  results: { type: 'string' },
  'no-results': { type: 'boolean', default: false },
  json: { type: 'string' },
  'no-build': { type: 'boolean', default: false },
  report: { type: 'string' },
})
const opt = cli.values
const durationS = cli.num('duration', undefined, { gt: 0, max: 3600 })
const everyS = cli.num('every', undefined, { min: 12, max: 600 })
if (everyS >= durationS) cli.fail(`--every (${everyS}) must be less than --duration (${durationS}): no action would run`)
const warmupS = cli.num('warmup', undefined, { min: 0, max: 600 })
const fps = cli.num('fps', undefined, { gt: 0, max: 120 })
const gopS = cli.num('gop', undefined, { gt: 0, max: 10 })
const size = /^(\d+)x(\d+)$/.exec(opt.size) ?? cli.fail(`--size must be WIDTHxHEIGHT, e.g. 640x360; got '${opt.size}'`)
const [width, height] = [Number(size[1]), Number(size[2])]
if (!(width >= 16 && height >= 16 && width <= 3840 && height <= 2160)) cli.fail(`--size must be from 16x16 to 3840x2160; got '${opt.size}'`)
const backupProtocol = /** @type {'srt' | 'rtmp'} */ (cli.choice('backup', ['srt', 'rtmp']))
if (opt.report && !existsSync(opt.report)) cli.fail(`--report: no file '${opt.report}' (a run saved with --json)`)
const resultsFile = opt['no-results'] ? undefined : opt.results ?? (durationS >= 180 && !opt.report ? join(repo, 'bench/RESULTS.md') : undefined)

const log = (/** @type {string} */ msg) => process.stderr.write(msg + '\n')
const dataDir = mkdtempSync(join(tmpdir(), 'streamd-failover-'))
stopOnSignals('bench/failover', () => { killAllSync(); rmSync(dataDir, { recursive: true, force: true }) })

/**
 * Newest mtime (ms) of a file ending in `ext` under `dir`.
 * @param {string} dir
 * @param {string} ext
 * @returns {number}
 */
function newest(dir, ext) {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) t = Math.max(t, newest(p, ext))
    else if (e.name.endsWith(ext)) t = Math.max(t, statSync(p).mtimeMs)
  }
  return t
}

/** Compile dist/ when it is missing or older than src/ (bounded: 5 minutes). */
function build() {
  const out = join(repo, 'dist/core/origin.js')
  if (existsSync(out) && newest(join(repo, 'dist'), '.js') >= newest(join(repo, 'src'), '.ts')) return
  log('building: npx tsc -p . (dist missing or older than src)')
  execFileSync('npx', ['tsc', '-p', '.'], { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 })
}

/** @param {string} cmd @param {string[]} args */
const firstLine = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]?.trim() } catch { return '?' } }

async function main() {
  if (!opt['no-build']) build()
  const dist = pathToFileURL(join(repo, 'dist') + '/').href
  /** @type {typeof import('../src/transcode/ffmpeg-path.js')} */
  const { resolveFfmpeg } = await import(new URL('transcode/ffmpeg-path.js', dist).href)
  const ffmpeg = resolveFfmpeg().path
  const { runFailover } = await import('./lib/failover-run.mjs')
  const uptimeBefore = uptime()
  log(`bench/failover: ${durationS} s, an action every ${everyS} s; ${width}x${height}@${fps}, GOP ${gopS} s; backup over ${backupProtocol}; ${uptimeBefore}`)
  const run = await runFailover({
    ffmpeg, durationS, everyS, warmupS, backupProtocol, log,
    source: { width, height, fps, gopS },
    overrides: { dataDir },
  })
  const uptimeAfter = uptime()
  const settings = { durationS, everyS, warmupS, width, height, fps, gopS, backupProtocol }
  const meta = { argv: process.argv.slice(2), uptimeBefore, uptimeAfter, settings, rev: firstLine('git', ['-C', repo, 'rev-parse', '--short', 'HEAD']), ffmpegVersion: firstLine(ffmpeg, ['-version']) }
  if (opt.json) writeFileSync(opt.json, JSON.stringify({ ...meta, run }, null, 1))
  finish(run, meta)
}

/**
 * Print the report of a run and write its RESULTS.md section when asked.
 * @param {any} run
 * @param {{ argv: string[], uptimeBefore: string, uptimeAfter: string, settings: any, rev: string, ffmpegVersion: string }} meta
 */
function finish(run, meta) {
  const { durationS, everyS, warmupS, width, height, fps, gopS, backupProtocol } = meta.settings
  const partMs = Math.round(run.config.hls.partTarget * 1000)
  const a = analyse(run)
  const loads = run.loads.map((/** @type {{ load: string }} */ l) => Number(l.load.split(' ')[0]))
  const section = [
    `## bench/failover — primary and backup inputs, the slate, and what hls.js saw (${new Date(run.end).toISOString().replace(/\.\d+Z$/, 'Z')})`,
    '',
    `Machine: \`uptime\` before: ${meta.uptimeBefore}; after: ${meta.uptimeAfter}; 1-minute load average every 10 s during the schedule: ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} (median ${loads.sort((x, y) => x - y)[Math.floor(loads.length / 2)]?.toFixed(2)}).`,
    `Versions: streamd ${meta.rev}, Node ${process.version}, ${meta.ffmpegVersion}, Chromium ${run.chromium} (headless, Debian), hls.js ${run.state.hlsVersion}.`,
    // File arguments by name only: the section is for readers on other machines.
    `Run: \`node bench/failover.mjs ${meta.argv.map((x) => (isAbsolute(x) ? basename(x) : x)).join(' ')}\` — ${durationS} s of schedule after ${warmupS} s of playback, one action every ${everyS} s, cycling: ${PLAN.map((p) => `${p.act} ${p.role}`).join(' → ')}. ` +
      `Encoders: FFmpeg testsrc2 ${width}x${height}@${fps} + tone, x264 ultrafast zerolatency 1 Mbit/s, GOP ${gopS} s, AAC; primary over RTMP, backup over ${backupProtocol.toUpperCase()}; killed with SIGKILL. ` +
      `streamd's defaults: parts ${run.config.hls.partTarget} s, segments ${run.config.hls.segmentTarget} s, redundancy.lossMs ${run.config.redundancy.lossMs}, returnAfterMs ${run.config.redundancy.returnAfterMs}, return "${run.config.redundancy.return}", slate ${run.config.slate.maxSeconds} s, ladder preset ${run.config.ladder.preset}. Renditions: ${run.renditions}.`,
    '',
    switchTable(a, partMs),
    '',
    kindTable(a, partMs),
    '',
    goals(a, partMs),
    playerLine(run),
    '',
    `Times are Date.now() inside the origin process. "detect" = the lost input's last tag (its arrival) → the switch. A rendition's column = the start point (the lost input's last tag for a failover or a slate entry; the switch, i.e. the arrival of the new input's key frame that went on air, for a return or a slate exit) → the first part published in that rendition whose media ends after the point where the new source begins on the stream's timeline (the timestamp of the new source's first tag on air, less the timeline's base); "worst" is the largest over renditions, "part targets" that ÷ ${partMs} ms. Gap parts = parts published with GAP=YES between the switch and the new source's first part. Media − wall = how much more media time (the stream's timeline, which PROGRAM-DATE-TIME follows) than wall-clock time passed from the schedule's first switch to this switch's splice point. Workers restarted = the session's worker processes (by role) whose pid changed within 3 s after the switch. Stalls = \`waiting\` events (until the next \`playing\`) and runs where the playhead stood still > 0.5 s while not paused, merged; a stall starting within ${ATTRIBUTE_MS / 1000} s after a switch is that switch's. Stalls during the warm-up: ${a.warmupStalls.length}. Player errors: ${summariseErrors(run.state.errors, run.t0)}.`,
  ].join('\n')
  console.log('\n' + section)
  if (resultsFile) {
    writeResults(resultsFile, section, 'failover')
    log(`wrote the bench/failover section of ${resultsFile}`)
  }
}

/**
 * hls.js errors after `since` as "type/details ×n", or "none".
 * @param {{ at: number, type: string, details: string, fatal: boolean }[]} errors
 * @param {number} since
 */
function summariseErrors(errors, since) {
  /** @type {Map<string, number>} */
  const m = new Map()
  for (const e of errors) if (e.at >= since) m.set(`${e.fatal ? 'FATAL ' : ''}${e.type}/${e.details}`, (m.get(`${e.fatal ? 'FATAL ' : ''}${e.type}/${e.details}`) ?? 0) + 1)
  return m.size ? [...m].map(([k, n]) => `${k} ×${n}`).join(', ') : 'none'
}

if (opt.report) {
  const saved = JSON.parse(readFileSync(opt.report, 'utf8'))
  // A run saved before its settings were: this command line's (the defaults, unless given).
  const settings = saved.settings ?? { durationS, everyS, warmupS, width, height, fps, gopS, backupProtocol }
  finish(saved.run, { argv: saved.argv, uptimeBefore: saved.uptimeBefore, uptimeAfter: saved.uptimeAfter, settings, rev: saved.rev ?? '(not recorded in the saved run)', ffmpegVersion: saved.ffmpegVersion ?? firstLine('ffmpeg', ['-version']) })
  rmSync(dataDir, { recursive: true, force: true })
} else main().then(
  async () => { await stopAll(); rmSync(dataDir, { recursive: true, force: true }) },
  async (err) => {
    log(`bench/failover failed: ${err instanceof Error ? err.stack : err} (load ${loadavg()})`)
    await stopAll()
    rmSync(dataDir, { recursive: true, force: true })
    process.exitCode = 1
  },
)
