/**
 * One measured bench/latency run of one config: its server side (a streamd
 * Origin child with an FFmpeg publisher, or FFmpeg's HLS muxer behind nginx),
 * the player page in headless Chromium, and the raw record of what it saw.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { coreBusy, cpuBetween, cpuSnapshot, loadavg } from './procs.mjs'
import { launchBrowser, startFfmpeg, startHlsNginx, startOriginChild } from './latency-services.mjs'
import { playerPage, servePage } from './latency-page.mjs'
import { dashPlayerPage } from './latency-dash-page.mjs'
import { getText, watchParts, watchSegments } from './latency-watch.mjs'
import { analysePlayback, estimatePdtOffset, parseHistogram } from './latency-stats.mjs'
import { BASELINE_HLS_CONFIG, SEGMENT_TARGET, STREAMD_HLS_CONFIG } from './latency-config.mjs'

/** Settings (parseSettings) plus repo, ffmpeg path, demoSourceArgs and the temp dirs to remove; set by setupRuns(). */
let S

/** Give the runs what they need from the command line and the compiled tree. */
export function setupRuns(settings) {
  S = settings
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Poll `fn` every 200 ms until it returns something truthy; throws after `timeoutMs`. */
export async function waitFor(fn, timeoutMs, what) {
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
  const { width, height, fps, demoSourceArgs } = S
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
  const { opt, width, height, fps, ffmpeg, demoSourceArgs, tmpRoots } = S
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
export async function runConfig(cfg, rep) {
  const { opt, duration, warmup, repo } = S
  const distBuiltAt = newestJs(join(repo, 'dist'))
  const side = await startServerSide(cfg)
  let chrome
  let page
  let pageServer
  let partWatch
  const playlistLog = opt.trace && cfg.kind === 'streamd' ? /** @type {[number, string, string][]} */ ([]) : undefined
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
    const state = () => page.evaluate(() => /** @type {any} */ (window).__lat)

    const firstPlayingAt = await waitFor(() => page.evaluate(() => /** @type {any} */ (window).__lat.firstPlayingAt), 30_000, 'the first `playing` event')
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
        const s = /** @type {any} */ (window).__lat
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

