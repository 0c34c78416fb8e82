/**
 * hls.js player pages for the e2e tests: the in-page hls.js set-up with the `/`
 * page's settings (shared by the playback and ABR tests), and for the ABR test
 * (test/e2e/hlsjs-abr.test.ts) its page, instrumented with level switches,
 * fragment and part loads, each SourceBuffer's ranges and hls.js's own log
 * lines, and its publisher: a 1280x720 test source at a chosen bitrate, so the
 * ladder grows with the picture.
 */
import { spawn } from 'node:child_process'
import type { Test } from 'tap'
import { FFMPEG, testSourceArgs } from './ffmpeg.js'
import { playerPageStart, type PageState } from './playback.js'

/**
 * In-page script: `hls`, an hls.js player with the `/` page's settings, its log lines
 * going to `noop` and `keep(level)` (the page defines both first), its errors to
 * window.__e2e.errors.
 */
export const HLSJS_SETUP = `// The same player settings as the / page (src/http/page.ts).
const hls = new Hls({
  lowLatencyMode: true,
  backBufferLength: 30,
  maxLiveSyncPlaybackRate: 1.5,
  debug: { debug: noop, log: noop, info: noop, warn: keep('warn'), error: keep('error') },
})
hls.on(Hls.Events.ERROR, (_, d) => {
  const info = [d.url || d.frag?.url || d.context?.url || '', d.response ? 'HTTP ' + d.response.code : '', d.reason || '', d.error ? String(d.error) : '']
    .filter(Boolean).join(' ').slice(0, 400)
  S.errors.push({ at: Date.now(), type: d.type, details: d.details, fatal: d.fatal, info })
})`

/**
 * The start of an hls.js page with the `/` page's settings: the instrumented page head,
 * `video` (#v), the `keep`/`noop` log sinks and `hls` made by HLSJS_SETUP. The caller
 * adds its MANIFEST_PARSED handler and `window.__e2eStart(...)`, then hlsjsPageEnd.
 */
export function hlsjsPageStart(title: string, scriptOrigin: string): string {
  return `${playerPageStart(title, `${scriptOrigin}/static/hls.min.js`)}
S.playerVersion = Hls.version
const video = document.getElementById('v')
const keep = (level) => (...args) => S.warnings.push({ at: Date.now(), level, text: args.map(String).join(' ').slice(0, 400) })
const noop = () => { S.debugLines++ }
${HLSJS_SETUP}`
}

/** The end of an hls.js page: load `src`, attach the video `#v`, expose `hls` as window.hls, close the page. */
export function hlsjsPageEnd(src: string): string {
  return `hls.loadSource(${JSON.stringify(src)})
hls.attachMedia(video)
window.hls = hls
</script>
</body></html>
`
}

/** Publish a 1280x720 30 fps test source (2 s GOP) at `kbps` kbit/s of video to `url`; killed at teardown. */
export function startAbrSource(t: Test, url: string, kbps: number): { stderrText: () => string } {
  const args = testSourceArgs({ width: 1280, height: 720, fps: 30, gop: 60 })
  // The shared helper encodes at 800 kbit/s, less than the 480p rung: the ladder would not grow with the picture.
  args.splice(args.indexOf('-b:v'), 2, '-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps}k`)
  const child = spawn(FFMPEG, [...args, '-f', 'flv', url], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000) })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  return { stderrText: () => stderr }
}

/** A level as hls.js parsed it. */
export interface LevelInfo { index: number; height: number; bitrate: number; uri: string }
/** hls.js ABR events the page records. */
export interface AbrState {
  levels: LevelInfo[]
  switching: Array<{ at: number; level: number }>
  switched: Array<{ at: number; level: number; ct: number }>
  /** Main-fragment and part loads: bytes and load time, for the measured throughput. */
  loads: Array<{ at: number; type: string; level: number; sn: number | string; part: number; start: number; end: number; bytes: number; ms: number; ttfb: number }>
}
/** What the ABR page records: the shared PageState plus window.__e2e.abr. */
export type AbrPageState = PageState & { abr: AbrState }

/** The hls.js player page of the e2e playback test, plus ABR instrumentation (window.__e2e.abr). */
export function abrPlayerPage(origin: string, src: string): string {
  return `${playerPageStart('streamd e2e abr', `${origin}/static/hls.min.js`)}
S.playerVersion = Hls.version
S.abr = { levels: [], switching: [], switched: [], loads: [], sourceBuffers: [] }
// Each SourceBuffer, to tell a hole in one track from a hole in the other (video.buffered is their intersection).
const addSourceBuffer = MediaSource.prototype.addSourceBuffer
MediaSource.prototype.addSourceBuffer = function (mime) {
  const sb = addSourceBuffer.call(this, mime)
  S.abr.sourceBuffers.push({ mime, sb })
  return sb
}
window.__e2eBuffers = () => S.abr.sourceBuffers.map(({ mime, sb }) => {
  const r = []
  try { for (let i = 0; i < sb.buffered.length; i++) r.push([+sb.buffered.start(i).toFixed(3), +sb.buffered.end(i).toFixed(3)]) } catch (e) { r.push(String(e)) }
  return mime.split(';')[0] + ' ' + JSON.stringify(r)
})
const video = document.getElementById('v')
const keep = (level) => (...args) => S.warnings.push({ at: Date.now(), level, text: args.map(String).join(' ').slice(0, 400) })
// hls.js log lines (window.__e2eLog), kept for failure reports, never printed otherwise.
const hlsLog = window.__e2eLog = []
const noop = (...args) => {
  S.debugLines++
  hlsLog.push([Date.now(), args.map(String).join(' ').slice(0, 300)])
  if (hlsLog.length > 40000) hlsLog.splice(0, 20000)
}
${HLSJS_SETUP}
hls.on(Hls.Events.MANIFEST_PARSED, (_, d) => {
  S.abr.levels = hls.levels.map((l, index) => ({ index, height: l.height, bitrate: l.bitrate, uri: l.uri || l.url?.[0] || '' }))
  video.play().catch(() => {})
})
hls.on(Hls.Events.LEVEL_SWITCHING, (_, d) => { S.abr.switching.push({ at: Date.now(), level: d.level }) })
hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => { S.abr.switched.push({ at: Date.now(), level: d.level, ct: video.currentTime }) })
hls.on(Hls.Events.FRAG_LOADED, (_, d) => {
  if (d.frag.sn === 'initSegment') return
  const st = d.part ? d.part.stats : d.frag.stats
  const start = d.part ? d.part.start : d.frag.start
  const dur = d.part ? d.part.duration : d.frag.duration
  S.abr.loads.push({ at: Date.now(), type: d.frag.type, level: d.frag.level, sn: d.frag.sn, part: d.part ? d.part.index : -1, start: +start.toFixed(3), end: +(start + dur).toFixed(3), bytes: st.loaded, ms: Math.round(st.loading.end - st.loading.start), ttfb: Math.round(st.loading.first - st.loading.start) })
  if (S.abr.loads.length > 2000) S.abr.loads.splice(0, 1000)
})
window.__e2eStart(video, () => {
  const pd = hls.playingDate
  const level = hls.currentLevel
  return {
    latency: Number.isFinite(hls.latency) && hls.latency > 0 ? hls.latency : null,
    pdtLatency: pd ? (Date.now() - pd.getTime()) / 1000 : null,
    targetLatency: hls.targetLatency,
    level, height: level >= 0 ? hls.levels[level]?.height : null,
    bwEstimate: hls.bandwidthEstimate,
  }
})
${hlsjsPageEnd(src)}`
}
