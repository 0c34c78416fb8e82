#!/usr/bin/env node
/**
 * bench/latency — live latency of streamd's LL-HLS as a viewer sees it, against
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
 * usage: npm run bench:latency [-- --quick] [--duration S] [--reps N] [--configs streamd-0.2,streamd-0.33,streamd-0.5,streamd-dash-0.5,ffmpeg]
 *        (any streamd-N for another part target N)
 *        [--size 1280x720] [--ladder on|off|default] [--fps 30] [--warmup S] [--wait-quiet S] [--quiet-cores C]
 *        [--results FILE | --no-results] [--json FILE] [--trace DIR]
 * env BENCH_STREAMD_DIST=DIR: run the origin from another compiled tree (e.g. a patched copy of dist/).
 * --ladder on|off|default: streamd's ABR ladder (default: whatever streamd's config defaults to).
 * --from-json FILE: no measuring; re-render the report of a run saved with --json (writes RESULTS.md only with --results).
 * --trace DIR: write every request the page made (issued / headers / done, ms) per config and run, as JSON lines.
 * --quick: 15 s per config, no waiting for a quiet machine, RESULTS.md left alone unless --results is given.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { coreBusy } from './lib/latency-sys.mjs'
import { cpuBetween, cpuSnapshot, killAllSync, launchBrowser, startFfmpeg, startHlsNginx, startOriginChild, stopAllProcs } from './lib/latency-procs.mjs'
import { playerPage, servePage } from './lib/latency-page.mjs'
import { dashPlayerPage } from './lib/latency-dash-page.mjs'
import { getText, watchParts, watchSegments } from './lib/latency-watch.mjs'
import {
  addHistograms, analysePlayback, blockingTable, detailTable, estimatePdtOffset, histFractionBelow, histQuantile,
  loadTable, mainTable, median, parseHistogram, verdict,
} from './lib/latency-stats.mjs'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = pathToFileURL(join(repo, 'dist') + '/').href
const { demoSourceArgs } = await import(new URL('transcode/args.js', dist).href)
const { resolveFfmpeg } = await import(new URL('transcode/ffmpeg-path.js', dist).href)

const ALL_CONFIGS = {
  'streamd-0.2': { kind: 'streamd', partTarget: 0.2, label: 'streamd, parts 0.2 s' },
  'streamd-0.33': { kind: 'streamd', partTarget: 0.33, label: 'streamd, parts 0.33 s' },
  'streamd-0.5': { kind: 'streamd', partTarget: 0.5, label: 'streamd, parts 0.5 s' },
  // The same origin and segments, played as LL-DASH by dash.js (ladder on: dash.js plays no muxed Representation).
  'streamd-dash-0.5': { kind: 'streamd', dash: true, partTarget: 0.5, label: 'streamd LL-DASH (dash.js), chunks 0.5 s' },
  ffmpeg: { kind: 'ffmpeg', label: 'FFmpeg HLS 1 s segments + nginx' },
}
/** hls.js settings of streamd's own / page (src/http/page.ts). */
const STREAMD_HLS_CONFIG = { lowLatencyMode: true, backBufferLength: 30, maxLiveSyncPlaybackRate: 1.5 }
/** hls.js defaults for a plain live stream. */
const BASELINE_HLS_CONFIG = { lowLatencyMode: false }
const SEGMENT_TARGET = 2

const { values: opt } = parseArgs({
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
const configs = opt.configs.split(',').map((k) => {
  if (ALL_CONFIGS[k]) return { id: k, ...ALL_CONFIGS[k] }
  // Any other part target as streamd-N (0.1 ≤ N ≤ 1, as config validation allows with 2 s segments).
  const m = /^streamd-(\d*\.?\d+)$/.exec(k)
  if (m && Number(m[1]) >= 0.1 && Number(m[1]) <= SEGMENT_TARGET / 2) return { id: k, kind: 'streamd', partTarget: Number(m[1]), label: `streamd, parts ${m[1]} s` }
  throw new Error(`unknown config ${k}; known: ${Object.keys(ALL_CONFIGS).join(', ')}, or streamd-N for another part target`)
})
for (const [k, v] of Object.entries({ duration, reps, fps, width, height, warmup })) {
  if (!(v > 0)) throw new Error(`--${k} must be positive, got ${v}`)
}
const resultsFile = opt['no-results'] ? undefined : opt.results ?? (opt.quick || opt['from-json'] ? undefined : join(repo, 'bench/RESULTS.md'))

const log = (msg) => process.stderr.write(msg + '\n')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
const ffmpeg = resolveFfmpeg().path

const tmpRoots = []
const cleanupSync = () => {
  killAllSync()
  for (const d of tmpRoots) rmSync(d, { recursive: true, force: true })
}
process.on('SIGINT', () => { log('\ninterrupted: stopping children'); cleanupSync(); process.exit(130) })
process.on('SIGTERM', () => { log('\nterminated (SIGTERM): stopping children'); cleanupSync(); process.exit(143) })
process.on('exit', cleanupSync)

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

async function waitFor(fn, timeoutMs, what) {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = await fn().catch(() => undefined)
    if (v) return v
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(200)
  }
}

const segmentsIn = (playlist) => (playlist.match(/^#EXTINF/gm) ?? []).length

/** "1280x720 2.2M, 854x480 1.1M, … + audio" from a multivariant playlist. */
function describeVariants(text) {
  const v = [...text.matchAll(/^#EXT-X-STREAM-INF:(.*)$/gm)].map((m) => {
    const res = /RESOLUTION=(\d+x\d+)/.exec(m[1])?.[1] ?? 'audio-only'
    const bw = Number(/(?:^|,)BANDWIDTH=(\d+)/.exec(m[1])?.[1] ?? NaN)
    return `${res} ${(bw / 1e6).toFixed(1)}M`
  })
  const audio = /^#EXT-X-MEDIA:TYPE=AUDIO/m.test(text) ? ' + audio rendition' : ''
  return `${v.join(', ')}${audio}`
}

/** The demo source re-targeted at FFmpeg's HLS muxer: 1 s GOP so 1 s segments can be cut. */
function baselineArgs(root) {
  const args = demoSourceArgs({ width, height, fps, url: 'unused' })
  const f = args.lastIndexOf('-f')
  if (args[f + 1] !== 'flv') throw new Error(`demoSourceArgs changed shape: ${args.slice(-3).join(' ')}`)
  args.splice(f, 3)
  args[args.indexOf('-g') + 1] = String(fps)
  args[args.indexOf('-keyint_min') + 1] = String(fps)
  return [...args,
    '-f', 'hls', '-hls_time', '1', '-hls_list_size', '6', '-hls_flags', 'delete_segments+program_date_time',
    '-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', 'init.mp4',
    '-hls_segment_filename', join(root, 'seg%d.m4s'), join(root, 'index.m3u8')]
}

/** Start the server side of a config; returns { src, hlsJsUrl, files, mediaUrl, roots, stop, extra }. */
async function startServerSide(cfg) {
  if (cfg.kind === 'streamd') {
    const dataDir = mkdtempSync(join(tmpdir(), 'streamd-latency-data-'))
    tmpRoots.push(dataDir)
    const overrides = { hls: { partTarget: cfg.partTarget, segmentTarget: SEGMENT_TARGET }, dataDir }
    if (opt.ladder !== 'default') overrides.ladder = { enabled: opt.ladder === 'on' }
    if (cfg.dash) overrides.ladder = { enabled: true }
    const origin = await startOriginChild(overrides)
    const base = `http://127.0.0.1:${origin.http}`
    const publisher = startFfmpeg(ffmpeg, demoSourceArgs({ width, height, fps, url: `rtmp://127.0.0.1:${origin.rtmp}/live/demo` }), 'publisher')
    return {
      startedAt: Date.now(),
      src: cfg.dash ? `${base}/live/demo/manifest.mpd` : `${base}/live/demo/index.m3u8`,
      hlsJsUrl: `${base}/static/hls.min.js`,
      files: cfg.dash ? { '/dash.all.min.js': { type: 'text/javascript', body: readFileSync(createRequire(import.meta.url).resolve('dashjs')) } } : {},
      multivariantUrl: `${base}/live/demo/index.m3u8`,
      mediaUrl: `${base}/live/demo/source/index.m3u8`,
      roots: [origin.pid, publisher.pid],
      publisher,
      metricsUrl: `${base}/metrics`,
      diag: () => `origin stderr: ${origin.stderr().slice(-2000)}\npublisher stderr: ${publisher.stderr().slice(-1000)}`,
      stop: async () => { await publisher.stop(); await origin.stop() },
    }
  }
  const root = mkdtempSync('/dev/shm/streamd-latency-hls-')
  chmodSync(root, 0o755) // nginx workers run unprivileged
  const prefix = mkdtempSync(join(tmpdir(), 'streamd-latency-nginx-'))
  tmpRoots.push(root, prefix)
  const nginx = await startHlsNginx(prefix, root)
  const writer = startFfmpeg(ffmpeg, baselineArgs(root), 'ffmpeg-hls')
  const segWatch = watchSegments(root)
  const require = createRequire(import.meta.url)
  return {
    startedAt: Date.now(),
    src: `http://127.0.0.1:${nginx.port}/index.m3u8`,
    hlsJsUrl: '/hls.min.js',
    files: { '/hls.min.js': { type: 'text/javascript', body: readFileSync(require.resolve('hls.js/dist/hls.min.js')) } },
    mediaUrl: `http://127.0.0.1:${nginx.port}/index.m3u8`,
    roots: [nginx.pid, writer.pid],
    publisher: writer,
    segWatch,
    diag: () => `ffmpeg stderr: ${writer.stderr().slice(-1500)}\nnginx stderr: ${nginx.stderr().slice(-500)}`,
    stop: async () => { await writer.stop(); await nginx.stop() },
  }
}

/** Newest mtime (ms) of a .js file under dir: tells whether dist/ was rebuilt during the run. */
function newestJs(dir) {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) t = Math.max(t, newestJs(p))
    else if (e.name.endsWith('.js')) t = Math.max(t, statSync(p).mtimeMs)
  }
  return t
}

/** One config, one repetition: returns the raw record. */
async function runConfig(cfg, rep) {
  const distBuiltAt = newestJs(join(repo, 'dist'))
  const side = await startServerSide(cfg)
  let chrome
  let page
  let pageServer
  let partWatch
  const playlistLog = opt.trace && cfg.kind === 'streamd' ? [] : undefined
  try {
    // Chromium starts while the first segments are made; both must succeed, and a
    // browser that did start is closed below either way.
    const [launched, ready] = await Promise.allSettled([
      launchBrowser(),
      waitFor(async () => {
        const r = await getText(side.mediaUrl)
        return r.status === 200 && segmentsIn(r.text) >= 3
      }, 40_000, `3 segments at ${side.mediaUrl}`).catch((err) => { throw new Error(`${err.message}\n${side.diag()}`) }),
    ])
    if (launched.status === 'fulfilled') chrome = launched.value
    else throw launched.reason
    if (ready.status === 'rejected') throw ready.reason
    const variants = cfg.kind === 'streamd' ? describeVariants((await getText(side.multivariantUrl)).text) : 'one muxed rendition'
    // A viewer arriving at an established stream: at least `warmup` s after the source started.
    await sleep(Math.max(0, side.startedAt + warmup * 1000 - Date.now()))

    pageServer = await servePage(cfg.dash ? dashPlayerPage({ dashJsUrl: '/dash.all.min.js', src: side.src }) : playerPage({
      hlsJsUrl: side.hlsJsUrl,
      src: side.src,
      hlsConfig: cfg.kind === 'streamd' ? STREAMD_HLS_CONFIG : BASELINE_HLS_CONFIG,
      debugLog: Boolean(opt.trace),
    }), side.files)
    page = await chrome.browser.newPage({ viewport: { width: 640, height: 360 } })
    const responses = new Map()
    const mediaTimes = []
    page.on('response', (res) => {
      const u = res.url()
      const kind = /\.m3u8/.test(u) ? 'playlist' : /\.m4s/.test(u) ? 'media' : 'other'
      if (kind === 'media') mediaTimes.push(Date.now())
      const k = `${kind} ${res.status()}`
      responses.set(k, (responses.get(k) ?? 0) + 1)
    })
    const trace = opt.trace ? new Map() : undefined
    if (trace) {
      page.on('request', (req) => trace.set(req, { url: req.url(), start: Date.now() }))
      page.on('response', (res) => { const t = trace.get(res.request()); if (t) { t.headers = Date.now(); t.status = res.status() } })
      page.on('requestfinished', (req) => { const t = trace.get(req); if (t) t.done = Date.now() })
    }
    page.on('requestfailed', (req) => {
      const k = `failed ${req.failure()?.errorText ?? '?'}`
      responses.set(k, (responses.get(k) ?? 0) + 1)
    })
    const pageErrors = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(pageServer.url, { waitUntil: 'load', timeout: 20_000 })
    const state = () => page.evaluate(() => window.__lat)

    const firstPlayingAt = await waitFor(() => page.evaluate(() => window.__lat.firstPlayingAt), 30_000, 'the first `playing` event')
      .catch(async (err) => {
        const s = await state().catch(() => undefined)
        throw new Error(`${err.message}: errors ${JSON.stringify(s?.errors?.slice(-5))} events ${JSON.stringify(s?.events?.slice(-5))} ${pageErrors.join('; ')}\n${side.diag()}`)
      })
    partWatch = cfg.kind === 'streamd' ? watchParts(side.mediaUrl, playlistLog) : undefined
    const cpu0 = cpuSnapshot([...side.roots, chrome.pid])
    const busy0 = coreBusy()
    const wall0 = Date.now()
    // Watch by the page's own clock; bounded in case the page stops sampling.
    const watchUntil = Date.now() + duration * 1000 + 30_000
    for (;;) {
      if (side.publisher.exited() !== undefined) throw new Error(`${side.publisher.name} exited (${side.publisher.exited()}) during the watch\n${side.diag()}`)
      const done = await page.evaluate((until) => {
        const s = window.__lat
        return s.errors.some((e) => e.fatal) || (s.samples.at(-1)?.at ?? 0) >= until
      }, firstPlayingAt + duration * 1000)
      if (done) break
      if (Date.now() > watchUntil) throw new Error(`the page did not record ${duration} s of playback in ${duration + 30} s`)
      await sleep(500)
    }
    const cpu1 = cpuSnapshot([...side.roots, chrome.pid])
    const busy1 = coreBusy()
    const wallS = (Date.now() - wall0) / 1000
    const s = await state()

    let blocking = {}
    if (side.metricsUrl) blocking = parseHistogram((await getText(side.metricsUrl)).text, 'streamd_blocking_answer_delay_seconds')
    // How far each config's dates run ahead of when its media really became available.
    const pdtAhead = side.segWatch ? estimatePdtOffset(side.segWatch.stop()) : partWatch ? estimatePdtOffset(await partWatch.stop()) : undefined
    partWatch = undefined
    if (trace) {
      mkdirSync(opt.trace, { recursive: true })
      const lines = [...trace.values()].map((t) => JSON.stringify({ ...t, start: t.start - s.loadSourceAt, headers: t.headers && t.headers - s.loadSourceAt, done: t.done && t.done - s.loadSourceAt }))
      writeFileSync(join(opt.trace, `${cfg.id}-rep${rep + 1}.jsonl`), lines.join('\n') + '\n')
      // hls.js's own log, times relative to loadSource(), and the media events.
      const t0 = s.loadSourceAt
      const rel = (line) => line.replace(/^(\d+)/, (m) => String(Number(m) - t0))
      writeFileSync(join(opt.trace, `${cfg.id}-rep${rep + 1}.hls.log`), [
        ...s.log.map(rel),
        ...s.events.map((e) => `${e.at - t0} EVENT ${e.type} ct=${e.ct.toFixed(3)}`),
      ].sort((a, b) => parseInt(a) - parseInt(b)).join('\n') + '\n')
      if (playlistLog) writeFileSync(join(opt.trace, `${cfg.id}-rep${rep + 1}.playlists.txt`), playlistLog.map(([at, url, text]) => `=== ${at - t0} ${url}\n${text}`).join('\n'))
    }
    const ours = cpuBetween(cpu0, cpu1)
    const total = busy1.reduce((sum, b, i) => sum + b - busy0[i], 0)
    const a = analysePlayback(s, duration)
    return {
      config: cfg.id, rep, ...a,
      rawLatency: true, pdtAhead, variants, distBuiltAt,
      mediaBeforeFirstFrame: mediaTimes.filter((t) => t <= (s.firstFrameAt ?? s.firstPlayingAt)).length,
      blocking,
      hlsVersion: s.hlsVersion, rvfc: s.rvfc, chromium: chrome.version,
      responses: Object.fromEntries(responses), pageErrors,
      ourCores: ours / wallS, otherCores: Math.max(0, total - ours) / wallS, loadavg: loadavg(),
    }
  } finally {
    await partWatch?.stop()
    await page?.close().catch(() => undefined)
    await chrome?.close()
    await pageServer?.close()
    side.segWatch?.stop()
    await side.stop()
  }
}

/** Collapse repetitions of one config into a summary row (medians; stalls summed). */
function summarise(cfg, recs) {
  const played = recs.filter((r) => r.played)
  const med = (k) => median(played.map((r) => r[k]))
  // Latency to when the media really became available: wall − PDT plus how far the PDT ran ahead of that.
  const off = (r) => (r.pdtAhead && Number.isFinite(r.pdtAhead.offsetS) ? r.pdtAhead.offsetS : 0)
  const medTrue = (k) => median(played.map((r) => r[k] + off(r)))
  const blockingKinds = [...new Set(recs.flatMap((r) => Object.keys(r.blocking)))]
  const blocking = Object.fromEntries(blockingKinds.map((k) => [k, addHistograms(recs.map((r) => r.blocking[k]))]))
  const blockingAll = addHistograms(Object.values(blocking))
  return {
    id: cfg.id, kind: cfg.kind, dash: Boolean(cfg.dash), label: cfg.label, partTarget: cfg.partTarget,
    runs: recs.length, played: played.length === recs.length && recs.length > 0,
    p50: medTrue('p50'), p95: medTrue('p95'), steadyP50: medTrue('steadyP50'), steadyP95: medTrue('steadyP95'),
    rawP50: med('p50'), rawP95: med('p95'),
    pdtAheads: recs.map((r) => r.pdtAhead).filter(Boolean),
    pdtAhead: median(played.map((r) => r.pdtAhead?.offsetS).filter((x) => Number.isFinite(x))),
    mediaBeforeFirstFrame: med('mediaBeforeFirstFrame'),
    variants: [...new Set(recs.map((r) => r.variants).filter(Boolean))].join(' | '),
    heights: [...new Set(played.map((r) => r.heights))].join(' | '),
    ttffFrame: med('ttffFrameS'), ttffPlaying: med('ttffPlayingS'),
    ttff: median(played.map((r) => (Number.isFinite(r.ttffFrameS) ? r.ttffFrameS : r.ttffPlayingS))),
    hlsLatP50: med('hlsLatP50'), targetLatency: played.at(-1)?.targetLatency ?? NaN,
    edgeAheadP50: med('edgeAheadP50'), edgeLagP50: medTrue('edgeLagP50'), rateAbove1: med('rateAbove1'),
    samples: played.reduce((s, r) => s + r.samples, 0),
    stallCount: played.reduce((s, r) => s + r.stallCount, 0),
    stallS: played.reduce((s, r) => s + r.stallS, 0),
    stallsAt: played.flatMap((r) => r.stallsAt.map((x) => `rep ${r.rep + 1} ${x}`)),
    seeks: played.reduce((s, r) => s + r.seeks, 0),
    dropped: played.map((r) => r.dropped).join(', '),
    errors: recs.map((r) => r.errors).filter(Boolean).join('; '),
    blocking, blockingAll,
    blockingP99: histQuantile(blockingAll, 0.99),
    blockingP50: histQuantile(blockingAll, 0.5),
    blockingLe5ms: histFractionBelow(blockingAll, 0.005),
    ourCores: median(recs.map((r) => r.ourCores)), otherCores: median(recs.map((r) => r.otherCores)),
    loadavg: recs.map((r) => r.loadavg).join(' / '),
    responses: recs.map((r) => r.responses),
    failures: recs.filter((r) => r.failure).map((r) => r.failure),
  }
}

function versions() {
  const first = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0].trim() } catch (e) { return `? (${e.message.split('\n')[0]})` } }
  const nginxV = (() => { try { execFileSync('nginx', ['-v'], { stdio: ['ignore', 'ignore', 'pipe'] }) } catch { /* prints to stderr */ } return execFileSync('sh', ['-c', 'nginx -v 2>&1'], { encoding: 'utf8' }).trim() })()
  const cpuModel = (readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m) ?? [])[1] ?? '?'
  let rev = '?'
  try {
    rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repo, encoding: 'utf8' }).trim().split('\n').filter(Boolean).length
    if (dirty) rev += ` + ${dirty} uncommitted file(s) in src/`
  } catch { /* not a checkout */ }
  return {
    machine: `${cpus().length} × ${cpuModel}, ${Math.round(Number(readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s+(\d+)/)[1]) / 1024 / 1024)} GiB RAM`,
    node: process.version, ffmpeg: first(ffmpeg, ['-version']), nginx: nginxV, rev,
  }
}

function uptime() {
  try { return execFileSync('uptime', { encoding: 'utf8' }).trim() } catch { return `load average ${loadavg()}` }
}

const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–')

function report(rows, meta) {
  const base = rows.find((r) => r.kind === 'ffmpeg')
  const lines = [
    `## bench/latency — live latency in hls.js (${meta.date})`,
    '',
    `Machine: ${meta.v.machine}; \`uptime\` before: ${meta.uptimeBefore}; after: ${meta.uptimeAfter}.`,
    `Versions: streamd ${meta.v.rev} (dist/${(meta.builds ?? []).length ? ` built ${meta.builds.map((t) => new Date(t).toISOString().slice(11, 19)).join(', ')} UTC` : ''}${(meta.builds ?? []).length > 1 ? ' — rebuilt during the run' : ''}), Node ${meta.v.node}, ${meta.v.ffmpeg}, ${meta.v.nginx}, Chromium ${meta.chromium} (headless, Debian), hls.js ${meta.hlsVersion}.`,
    `Run: \`${meta.altDist ? `BENCH_STREAMD_DIST=${meta.altDist} ` : ''}node bench/latency.mjs ${meta.argv}\` — ${meta.reps} run(s) per config, ${meta.duration} s watched per run from the first \`playing\`, configs one after another; demo source ${meta.size} @ ${meta.fps} fps (libx264 veryfast zerolatency, 2 Mbit/s) with the UTC clock burnt in.`,
    '',
    `streamd renditions (multivariant playlist): ${rows.find((r) => r.kind === 'streamd')?.variants || '?'}; ladder ${meta.ladder === 'default' ? "as streamd's default config" : meta.ladder}. Rendition heights hls.js played: ${rows.map((r) => `${r.label}: ${r.heights || '?'}`).join('; ')}.`,
    '',
    mainTable(rows),
    '',
    'Latency = wall clock − program date time at the playhead (`Date.now() − hls.playingDate`, sampled every 250 ms over the whole watch, start-up included), plus how far that config\'s PROGRAM-DATE-TIMEs were measured to run ahead of the media\'s real arrival (next table), so that it is the latency against the media\'s real capture time; median over runs of each run\'s p50/p95. The uncorrected wall − PDT is the column "as served". TTFF = from `hls.loadSource()` to the first rendered frame (requestVideoFrameCallback). Stalls = `waiting` events after the first `playing` and runs where currentTime stood still > 0.5 s while not paused, merged; count and total seconds over all runs. Blocking delay = `streamd_blocking_answer_delay_seconds` (playlist and part kinds together), p99 estimated by linear interpolation inside the histogram buckets (bounds 0.5, 1, 2, 3, 5, 10, … ms), so it is an estimate, not a measured order statistic.',
    '',
    detailTable(rows),
    '',
    '"PDT ahead of arrival" checks the dates themselves: how far a config\'s PROGRAM-DATE-TIME runs ahead of when its media really became available (streamd: PDT of a part\'s end − when the part was first listed, polling the media playlist every 50 ms; baseline: PDT of a segment\'s end − the segment file\'s mtime, FFmpeg writing a segment when it closes), the least delayed part or segment counting. Both date media time zero by when the first key frame came out of the publisher\'s encoder (streamd: its arrival at ingest; FFmpeg: its HLS muxer starting), while `-re` paces the media from FFmpeg\'s input start: the publisher\'s start-up delay, spent before that first frame, is caught up afterwards, so every later frame arrives earlier than its date says and wall − PDT reads low by that much for the whole session. The latency columns add it back; for a streamd part closed on its last frame the estimate reads up to one frame (33 ms) high, so streamd\'s corrected latency errs high, never low.',
    '',
    '"Edge ahead of playhead" is the player\'s buffer behind the newest media its playlist lists (hls.js `details.edge − currentTime`); "edge behind wall clock" is the rest of the latency (wall − PDT − edge-ahead): publishing, packaging and playlist staleness.',
    '',
    blockingTable(rows),
    '',
    loadTable(rows),
  ]
  const ahead = rows.filter((r) => r.pdtAheads.length)
  if (ahead.length) {
    lines.push('', `PDT ahead of arrival, per run: ${ahead.map((r) => `${r.label}: ${r.pdtAheads.map((o) => `${o.offsetS.toFixed(3)} s (n ${o.n})`).join(', ')}`).join('; ')}.`)
  }
  const stalled = rows.filter((r) => r.stallsAt.length)
  if (stalled.length) lines.push('', `Stalls: ${stalled.map((r) => `${r.label}: ${r.stallsAt.join(', ')}`).join('; ')}.`)
  lines.push('', `Player requests by status: ${rows.map((r) => `${r.label}: ${r.responses.map((x) => Object.entries(x).map(([k, n]) => `${k}×${n}`).join(' ')).join(' | ')}`).join('; ')}.`)
  return lines.join('\n')
}

const START = '<!-- bench:latency:start -->'
const END = '<!-- bench:latency:end -->'

/** Put our section into RESULTS.md: replace our previous one, else append; never touch the rest. */
function writeResults(file, section) {
  const block = `${START}\n${section}\n${END}\n`
  let text = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const a = text.indexOf(START)
  const b = text.indexOf(END)
  if (a >= 0 && b > a) text = text.slice(0, a) + block + text.slice(b + END.length + 1)
  else text = text + (text && !text.endsWith('\n\n') ? (text.endsWith('\n') ? '\n' : '\n\n') : '') + block
  writeFileSync(file, text)
}

async function main() {
  if (cpus().length < 2) log('warning: fewer than 2 cores; the publisher, streamd and Chromium will compete')
  if (!existsSync(join(repo, 'dist/core/origin.js'))) throw new Error('dist/ is missing: run `npx tsc -p .` (npm run bench:latency does)')
  const uptimeBefore = uptime()
  log(`bench/latency: ${configs.map((c) => c.id).join(', ')}; ${reps} run(s) × ${duration} s; ${width}x${height}@${fps}; ${uptimeBefore}`)
  const recs = []
  let chromium = '?'
  let hlsVersion = '?'
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
        log(`  rep ${rep + 1}/${reps} ${cfg.id}: FAILED: ${err.stack ?? err}`)
        await stopAllProcs() // nothing of a failed config may run into the next one
        r = { config: cfg.id, rep, played: false, failure: String(err.message ?? err).split('\n')[0], blocking: {}, errors: '', ourCores: NaN, otherCores: NaN, loadavg: loadavg(), responses: {} }
      }
      recs.push(r)
      // Saved after every config, so an interrupted run can still be re-rendered (--from-json).
      if (opt.json) writeFileSync(opt.json, JSON.stringify({ meta: { partial: true, uptimeBefore, reps, argv: process.argv.slice(2).join(' '), duration, size: `${width}x${height}`, fps, ladder: opt.ladder, v: versions() }, recs }, null, 2))
      if (r.chromium) chromium = r.chromium
      if (r.hlsVersion) hlsVersion = r.hlsVersion
      if (r.played) {
        const bl = addHistograms(Object.values(r.blocking))
        const q = histQuantile(bl, 0.99)
        log(`  rep ${rep + 1}/${reps} ${cfg.id.padEnd(12)} p50 ${f2(r.p50)} s  p95 ${f2(r.p95)} s  (steady ${f2(r.steadyP50)}/${f2(r.steadyP95)})  TTFF ${f2(r.ttffFrameS)} s (playing ${f2(r.ttffPlayingS)})  stalls ${r.stallCount}/${f2(r.stallS)} s  hls.latency ${f2(r.hlsLatP50)}  edge+${f2(r.edgeAheadP50)} lag ${f2(r.edgeLagP50)}` +
          `${bl.count ? `  blocking p99 ${q.above ? '>' : ''}${(q.value * 1000).toFixed(2)} ms (n ${bl.count})` : ''}${r.pdtAhead ? `  PDT ahead ${r.pdtAhead.offsetS.toFixed(3)} s (n ${r.pdtAhead.n})` : ''}  media before 1st frame ${r.mediaBeforeFirstFrame}  cpu ours ${f2(r.ourCores)} other ${f2(r.otherCores)}${r.errors ? `  errors: ${r.errors}` : ''}`)
      }
    }
  }
  const builds = [...new Set(recs.map((r) => r.distBuiltAt).filter(Boolean))]
  if (builds.length > 1) log(`warning: dist/ was rebuilt during the run (${builds.length} different builds measured): compare configs with care`)
  const meta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), v: versions(), uptimeBefore, uptimeAfter: uptime(),
    chromium, hlsVersion, reps, argv: process.argv.slice(2).join(' '), builds,
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
    log(`bench/latency --from-json failed: ${err.stack ?? err}`)
    process.exitCode = 1
  }
} else main().then(
  async () => { await stopAllProcs(); cleanupSync() },
  async (err) => {
    log(`bench/latency failed: ${err.stack ?? err}`)
    await stopAllProcs()
    cleanupSync()
    process.exitCode = 1
  },
)
