#!/usr/bin/env node
/**
 * bench/ladder — CPU cost and speed of streamd's ABR ladder against one FFmpeg
 * process doing the same work, in the same run.
 *
 * Source: 60 s of 1080p30 testsrc2 + sine, H.264 High (veryfast CRF 20, GOP 60,
 * no B-frames) + AAC in FLV, generated once into bench/out/ladder/ (gitignored).
 * testsrc2 is easy content for x264: absolute CPU figures are low; the ratios
 * are what this bench is about.
 *
 *   streamd     an Origin (dist/) in a child process, 127.0.0.1, ladder on,
 *               copyTop false, ladder.rungs 720p/480p/360p (streamd's seed bitrates);
 *               FFmpeg publishes the FLV over RTMP with -c copy. Workers: one decoder
 *               (decode once, fps + split + scale), one x264 encoder per rung fed raw
 *               frames relayed through Node, one audio remux.
 *   reference   one FFmpeg: -i src.flv -filter_complex <streamd's own decoder graph>,
 *               one output per rung with streamd's own encoder options (taken from
 *               encoderArgs), audio -c:a copy, the same fMP4 flags, files in tmp.
 *
 * CPU per content-second: both paced at real time (-re). streamd's workers (every
 * worker process, restarts included: the Origin's reaped-children CPU) and,
 * separately, streamd's own Node process (RTMP ingest, raw-frame relay, packaging).
 * Speed: the reference unpaced (content s / wall s). streamd is a live server: it
 * has no backpressure to a publisher (a publisher faster than the ladder loses
 * data, by design), so its speed is the highest publish rate (-readrate R) it
 * sustains with nothing lost (every segment of every rendition, no drops,
 * restarts, sheds or gaps), searched from 1.5× up (or down when 1.5× fails).
 *
 * Also unpaced: the FLV published as fast as it reads (it fits the ingest queue), the
 * ladder's relay holding the decoder back for its slowest encoder; speed = content-seconds
 * ÷ seconds from publish start until every video rendition has completed every segment but
 * the last (that one completes only at the input's end, when the decoder flushes).
 *
 * usage: USAGE below (printed by --help).
 */
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseCli, stopOnSignals } from './lib/cli.mjs'
import { GOALS, summarise } from './lib/ladder-report.mjs'

const USAGE = `usage: npm run bench:ladder [-- --reps 3] [--presets veryfast,superfast] [--rates 1,1.25,1.5,1.75,2,2.5,3]
       [--no-speed] [--no-sweep] [--seconds 60] [--wait-quiet 600] [--quiet-cores 0.3]
       [--results FILE | --no-results] [--json FILE] [--from-json FILE] [--quick]
--quick: 1 rep, 12 s of the source, no quiet wait, RESULTS.md left alone unless --results.
env BENCH_STREAMD_DIST=DIR: run streamd from another compiled tree.`
// x264's presets (what --presets may name).
const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow', 'placebo']
// The command line first: --help and a mistyped option stop before dist/ is copied or loaded.
const cli = parseCli('bench/ladder', USAGE, {
  reps: { type: 'string' },
  presets: { type: 'string', default: 'veryfast,superfast' },
  rates: { type: 'string', default: '1,1.25,1.5,1.75,2,2.5,3' },
  'no-speed': { type: 'boolean', default: false },
  'no-sweep': { type: 'boolean', default: false },
  seconds: { type: 'string' },
  'wait-quiet': { type: 'string' },
  'quiet-cores': { type: 'string', default: '0.3' },
  'max-other': { type: 'string', default: '0.3' },
  retries: { type: 'string' },
  results: { type: 'string' },
  'no-results': { type: 'boolean', default: false },
  json: { type: 'string' },
  'from-json': { type: 'string' },
  attribution: { type: 'string' },
  findings: { type: 'string' },
  quick: { type: 'boolean', default: false },
})
const opt = cli.values
const quick = opt.quick
const reps = cli.num('reps', quick ? 1 : 3, { min: 1, max: 100, integer: true })
const presets = cli.list('presets', X264_PRESETS)
const rates = cli.list('rates', (x) => Number(x) > 0 && Number(x) <= 100, 'a publish rate in (0, 100]').map(Number).sort((a, b) => a - b)
const secondsOpt = cli.num('seconds', quick ? 12 : undefined, { gt: 0, max: 3600 })
const waitQuietS = cli.num('wait-quiet', quick ? 0 : 600, { min: 0, max: 86_400 })
const quietCores = cli.num('quiet-cores', undefined, { gt: 0, max: 1024 })
const maxOther = cli.num('max-other', undefined, { min: 0, max: 1024 })
const retries = cli.num('retries', quick ? 0 : 3, { min: 0, max: 100, integer: true })

const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = join(repo, 'bench', 'out', 'ladder')

// Others may rebuild dist/ while this runs for an hour: measure a snapshot of it, the
// same code in this process (reference command) and in every streamd child.
if (!process.env.BENCH_STREAMD_DIST && !opt['from-json']) {
  const snap = join(outDir, 'dist-snapshot')
  rmSync(snap, { recursive: true, force: true })
  cpSync(join(repo, 'dist'), snap, { recursive: true })
  process.env.BENCH_STREAMD_DIST = snap
}
const { DIST, SOURCE, ensureSource, plannedLadder, referenceCommand, streamdOverrides } = await import('./lib/ladder-plan.mjs')
const { killAllSync, machineBusy, runReference, runStreamd } = await import('./lib/ladder-runs.mjs')
const { composeReport, recordResults, showReference } = await import('./lib/ladder-results.mjs')
/** @type {typeof import('../src/transcode/ffmpeg-path.js')} */
const { resolveFfmpeg } = await import(new URL('transcode/ffmpeg-path.js', DIST).href)

const seconds = secondsOpt ?? SOURCE.seconds
const resultsFile = opt['no-results'] ? undefined : opt.results ?? (quick || seconds !== SOURCE.seconds ? undefined : join(repo, 'bench', 'RESULTS.md'))

stopOnSignals('bench/ladder', killAllSync)

const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Wait (bounded) until the machine's other load is below `quietCores` over 5 s; returns what was seen. */
async function waitQuiet() {
  const started = Date.now()
  for (;;) {
    const b0 = machineBusy()
    await sleep(5000)
    const busy = (machineBusy() - b0) / 5
    if (busy < quietCores) return { busy, waitedS: (Date.now() - started) / 1000 }
    if ((Date.now() - started) / 1000 >= waitQuietS) {
      if (waitQuietS > 0) log(`machine still busy (${busy.toFixed(2)} cores, load ${loadavg()[0].toFixed(2)}) after ${waitQuietS} s; measuring anyway`)
      return { busy, waitedS: (Date.now() - started) / 1000, gaveUp: waitQuietS > 0 }
    }
    log(`machine busy (${busy.toFixed(2)} cores by others, load ${loadavg()[0].toFixed(2)}); waiting`)
    await sleep(5000)
  }
}

/** Messages of streamd that mean media was lost or a worker misbehaved. */
const TROUBLE = /not keeping up|dropping|shedding|restarting|hung|could not start|falling behind/

/** Content delivered and what went wrong in a streamd run. */
function judgeStreamd(s, content) {
  const notes = []
  const video = s.renditions.filter((r) => r.name !== 'audio')
  s.content = Math.min(...video.map((r) => r.mediaSeconds))
  const expected = (s.plan?.encoded ?? []).map((r) => r.name).concat(s.plan?.audio ? ['audio'] : [])
  const missing = expected.filter((n) => !s.renditions.some((r) => r.name === n && r.segments > 0))
  if (missing.length) notes.push(`no segments: ${missing.join(',')}`)
  for (const r of s.renditions) {
    if (r.gaps) notes.push(`${r.name}: ${r.gaps} gap segments`)
    if (r.discontinuities) notes.push(`${r.name}: ${r.discontinuities} discontinuities`)
    if (r.shed) notes.push(`${r.name} shed`)
    // Half a segment of slack at the very end: the last frames in flight when the publisher leaves.
    if (r.mediaSeconds < content - 1) notes.push(`${r.name}: ${r.mediaSeconds.toFixed(2)} of ${content} s`)
  }
  if (s.dropped) notes.push(`${s.dropped} FLV tags dropped`)
  if (s.metrics.workerRestarts) notes.push(`${s.metrics.workerRestarts} worker restarts`)
  if (s.metrics.rungsShed) notes.push(`${s.metrics.rungsShed} rungs shed`)
  for (const [msg, n] of Object.entries(s.warnings)) if (TROUBLE.test(msg)) notes.push(`${n}× "${msg}"`)
  if (s.publisherExit !== 0) notes.push(`publisher exit ${s.publisherExit}: ${s.publisherStderr.slice(-200)}`)
  s.notes = notes
  s.sustained = notes.length === 0
  return s
}

function judgeReference(r, content) {
  const notes = []
  r.content = Math.min(...r.renditions.filter((x) => x.name !== 'audio').map((x) => x.mediaSeconds))
  for (const x of r.renditions) if (!(x.mediaSeconds >= content - 0.1)) notes.push(`${x.name}: ${x.mediaSeconds} of ${content} s`)
  if (r.exit !== 0) notes.push(`exit ${r.exit}: ${r.stderr.slice(-200)}`)
  if (r.stderr) notes.push(`stderr: ${r.stderr.slice(0, 200)}`)
  r.notes = notes
  delete r.args
  return r
}

async function measure() {
  const ffmpeg = resolveFfmpeg(undefined).path
  const ffprobe = join(dirname(ffmpeg), 'ffprobe')
  mkdirSync(outDir, { recursive: true })
  const full = join(outDir, `src-${SOURCE.height}p${SOURCE.fps}-${SOURCE.seconds}s.flv`)
  if (await ensureSource(ffmpeg, full)) log(`generated ${full}`)
  let src = full
  if (seconds !== SOURCE.seconds) {
    src = join(outDir, `src-${SOURCE.height}p${SOURCE.fps}-${seconds}s.flv`)
    if (!existsSync(src)) execFileSync(ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', full, '-t', String(seconds), '-c', 'copy', src])
  }
  const env = {
    cpu: cpus()[0]?.model, cores: cpus().length, node: process.version,
    ffmpeg: execFileSync(ffmpeg, ['-version'], { encoding: 'utf8' }).split('\n')[0].replace(/ Copyright.*/, ''),
    ffmpegPath: ffmpeg, dist: DIST, source: src, seconds, date: new Date().toISOString(),
    reference: showReference(presets[0]),
  }
  log(`${env.cpu} × ${env.cores}; ${env.ffmpeg}`)

  const runs = Object.fromEntries(presets.map((p) => [p, /** @type {any[]} */ ([])]))
  const quiet = []
  const partialFile = join(outDir, `ladder-${env.date.replace(/[:.]/g, '-')}.partial.json`)
  log(`partial results: ${partialFile}`)
  const timeoutMs = (seconds / Math.min(1, ...rates) + 120) * 1000
  /**
   * Run `fn` on a quiet machine: wait for quiet first, and run again (up to `retries`
   * times) when others used more than `maxOther` cores during the run.
   */
  const attempt = async (what, fn) => {
    for (let i = 0; ; i++) {
      const q = await waitQuiet()
      quiet.push({ what, ...q, load1: loadavg()[0] })
      log(what)
      const res = await fn()
      res.attempts = i + 1
      if (!(res.otherBusy > maxOther)) return res
      if (i >= retries) {
        res.notes.push(`others used ${res.otherBusy.toFixed(2)} cores during the run (after ${i + 1} attempts)`)
        return res
      }
      log(`  others used ${res.otherBusy.toFixed(2)} cores during the run; discarding it and trying again`)
    }
  }
  for (let rep = 1; rep <= reps; rep++) {
    // Interleaved: the order of presets and of streamd/reference flips every repetition.
    const order = rep % 2 ? presets : [...presets].reverse()
    for (const preset of order) {
      const overrides = streamdOverrides(preset)
      const { config, plan, names } = plannedLadder(overrides)
      const ref = referenceCommand(plan, config.hls.segmentTarget)
      const r = { rep, renditions: names }
      const streamdRe = async () => {
        r.streamd = await attempt(`${preset} rep ${rep}: streamd, publish -re (${names.join(', ')})`,
          async () => judgeStreamd(await runStreamd({ ffmpeg, src, overrides, readrate: 1, timeoutMs }), seconds))
        log(`  workers ${r.streamd.workersCpu.toFixed(2)} CPU-s + node ${r.streamd.nodeCpu.toFixed(2)}; ${r.streamd.content.toFixed(2)} s content ${r.streamd.notes.join('; ')}`)
      }
      const refRe = async () => {
        r.reference = await attempt(`${preset} rep ${rep}: reference, -re`,
          async () => judgeReference(await runReference({ ffmpeg, ffprobe, src, ...ref, realtime: true, timeoutMs }), seconds))
        log(`  ${r.reference.cpu.toFixed(2)} CPU-s ${r.reference.notes.join('; ')}`)
      }
      const refFast = async () => {
        r.referenceFast = await attempt(`${preset} rep ${rep}: reference, unpaced`,
          async () => judgeReference(await runReference({ ffmpeg, ffprobe, src, ...ref, realtime: false, timeoutMs }), seconds))
        log(`  ${(r.referenceFast.content / r.referenceFast.wallSeconds).toFixed(2)}× RT ${r.referenceFast.notes.join('; ')}`)
      }
      // As fast as the ladder takes it: no pacing; the relay holds the decoder back for the
      // slowest encoder, so nothing is lost while the FLV fits the 16 MiB ingest queue.
      const streamdFast = async () => {
        r.streamdFast = await attempt(`${preset} rep ${rep}: streamd, publish unpaced`,
          async () => judgeStreamd(await runStreamd({ ffmpeg, src, overrides, readrate: 0, timeoutMs, contentSeconds: seconds, lastSegment: config.hls.segmentTarget }), seconds))
        delete r.streamdFast.plan
        // What was still queued when the publisher left (after the measurement) is discarded
        // by design at unpublish; only losses before the measurement point count.
        r.streamdFast.notes = r.streamdFast.notes.filter((n) => !/: [\d.]+ of \d+ s$/.test(n))
        r.streamdFast.sustained = r.streamdFast.notes.length === 0
        const f = r.streamdFast.fast
        log(`  ${f ? (f.media / f.seconds).toFixed(2) : '?'}× RT (${f?.media} s of media in every video rendition after ${f?.seconds.toFixed(2)} s) ${r.streamdFast.notes.join('; ')}`)
      }
      const sweep = async () => {
        r.sweep = []
        const tryRate = async (rate) => {
          const s = await attempt(`${preset} rep ${rep}: streamd, publish ${rate === 1 ? '-re' : `-readrate ${rate}`}`,
            async () => judgeStreamd(await runStreamd({ ffmpeg, src, overrides, readrate: rate, timeoutMs }), seconds))
          delete s.plan
          r.sweep.push(s)
          log(`  ${s.sustained ? 'sustained' : 'NOT sustained'}: ${s.content.toFixed(2)} s in ${s.wallSeconds.toFixed(2)} s ${s.notes.join('; ')}`)
          return s.sustained
        }
        // Start at the goal; climb while sustained, else step down until sustained.
        let i = rates.findIndex((x) => x >= GOALS.veryfastSpeed)
        if (i < 0) i = rates.length - 1
        if (await tryRate(rates[i])) {
          while (++i < rates.length && await tryRate(rates[i]));
        } else {
          while (--i >= 0 && !(await tryRate(rates[i])));
        }
      }
      const steps = rep % 2 ? [streamdRe, refRe, refFast, streamdFast, sweep] : [refRe, streamdRe, streamdFast, sweep, refFast]
      for (const step of steps) {
        if ((step === sweep || step === refFast || step === streamdFast) && opt['no-speed']) continue
        if (step === sweep && opt['no-sweep']) continue
        await step()
        // Partial results on disk after every step: a run cut short still leaves its data.
        writeFileSync(partialFile, JSON.stringify({ env, runs, current: { preset, ...r }, quiet, seconds, settings: { quietCores, maxOther, retries, rates } }, null, 1))
      }
      runs[preset].push(r)
    }
  }
  return { env, runs, quiet, seconds, settings: { quietCores, maxOther, retries, rates } }
}

const data = opt['from-json'] ? JSON.parse(readFileSync(opt['from-json'], 'utf8')) : await measure()
const rows = summarise(data.runs, data.seconds)
const json = opt.json ?? join(outDir, `ladder-${data.env.date.replace(/[:.]/g, '-')}.json`)
if (!opt['from-json']) {
  mkdirSync(dirname(json), { recursive: true })
  writeFileSync(json, JSON.stringify(data, null, 1))
  rmSync(json.replace(/\.json$/, '.partial.json'), { force: true })
}

data.settings ??= { quietCores, maxOther, retries, rates }
const refShown = data.env.reference ?? showReference(Object.keys(data.runs)[0])
const attribution = opt.attribution ? JSON.parse(readFileSync(opt.attribution, 'utf8')) : undefined
const findings = opt.findings ? readFileSync(opt.findings, 'utf8').trim() : undefined
const report = composeReport(data, rows, { refShown, attribution, findings })
console.log('\n' + report + '\n')
console.log(`raw data: ${json}`)

if (resultsFile) {
  recordResults(resultsFile, data.env.date, report)
  console.log(`recorded in ${resultsFile}`)
}
