/**
 * bench/blocking-path: the synchronous work from a worker's stdout chunk that
 * completes a part to the last held blocking request being answered — fMP4
 * parsing, segmenter, store, waiter checks, playlist rendering (once per change,
 * gzip and ETag included), the delay metric — without sockets. It shows what
 * streamd's own code adds to streamd_blocking_answer_delay_seconds, apart from
 * scheduling, for 1 to 1000 held requests on one rendition.
 *
 * A real fMP4 stream is made once with FFmpeg (640x360 30 fps, one fragment per
 * frame, the workers' output flags). Each configuration replays it part by part.
 *
 * usage: USAGE below (printed by --help).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate as tick } from 'node:timers/promises'
import pino from 'pino'
import { parseCli, stopOnSignals } from './lib/cli.mjs'
import { exitOf, killAllSync, spawnTracked } from './lib/procs.mjs'

const USAGE = 'usage: npm run build && node bench/blocking-path.mjs [--waiters 1,100,1000] [--part 0.2]'
const cli = parseCli('bench/blocking-path', USAGE, { waiters: { type: 'string', default: '1,100,1000' }, part: { type: 'string', default: '0.2' } })
const waiters = cli.list('waiters', (x) => /^\d+$/.test(x) && Number(x) >= 1 && Number(x) <= 100_000, 'an integer in [1, 100000]').map(Number)
// The part targets config validation accepts with 2 s segments.
const partTarget = cli.num('part', undefined, { min: 0.1, max: 1 })
const dist = new URL('../dist/', import.meta.url).href
const load = async (p) => import(new URL(p, dist).href)
/** @type {typeof import('../src/transcode/args.js')} */
const { FMP4_OUTPUT } = await load('transcode/args.js')
/** @type {typeof import('../src/packager/fmp4-reader.js')} */
const { Fmp4Reader } = await load('packager/fmp4-reader.js')
/** @type {typeof import('../src/packager/segmenter.js')} */
const { Segmenter } = await load('packager/segmenter.js')
/** @type {typeof import('../src/packager/rendition-store.js')} */
const { RenditionStore } = await load('packager/rendition-store.js')
/** @type {typeof import('../src/packager/hls-blocking.js')} */
const { blockingSatisfied } = await load('packager/hls-blocking.js')
/** @type {typeof import('../src/packager/hls-media-playlist.js')} */
const { renderMediaPlaylist } = await load('packager/hls-media-playlist.js')
/** @type {typeof import('../src/http/live-common.js')} */
const { textEntry } = await load('http/live-common.js')
/** @type {typeof import('../src/log/metrics.js')} */
const { Metrics } = await load('log/metrics.js')

const dir = mkdtempSync(join(tmpdir(), 'streamd-blocking-path-'))
stopOnSignals('bench/blocking-path', () => { killAllSync(); rmSync(dir, { recursive: true, force: true }) })
const file = join(dir, 'v.mp4')
// A tracked child (not execFileSync), so SIGINT/SIGTERM during the encode stop it by pid.
const made = await exitOf(spawnTracked('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-t', '12',
  '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '60', '-pix_fmt', 'yuv420p', ...FMP4_OUTPUT.slice(0, -1), '-y', file], { stdio: ['ignore', 'inherit', 'inherit'] }))
if (made.code !== 0) throw new Error(`bench/blocking-path: FFmpeg exited ${made.code ?? made.signal} making the stream`)
const bytes = readFileSync(file)
rmSync(dir, { recursive: true })

/** The stream cut into box pairs (ftyp+moov, then one moof+mdat per frame), as a worker writes them. */
function chunks() {
  const out = []
  let off = 0
  let pending = []
  while (off + 8 <= bytes.length) {
    const size = bytes.readUInt32BE(off)
    const type = bytes.toString('latin1', off + 4, off + 8)
    pending.push(bytes.subarray(off, off + size))
    off += size
    if (type === 'moov' || type === 'mdat') {
      out.push(Buffer.concat(pending))
      pending = []
    }
  }
  return out
}

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]
}

function run(waiterCount, partTarget) {
  const metrics = new Metrics({ defaultMetrics: false })
  const store = new RenditionStore('v', { targetDuration: 2, partTarget, windowSeconds: 30 }, 1)
  const logger = pino({ level: 'silent' })
  let seg
  /** @type {{ version: number, entry: ReturnType<typeof textEntry> }} */
  let cache = { version: -1, entry: /** @type {any} */ (undefined) }
  const sent = []
  const reader = new Fmp4Reader({
    onInit: (init) => { seg = new Segmenter(store, init, { segmentTarget: 2, wallClockAt: (s) => 1.7e12 + s * 1000, logger }) },
    onSamples: (samples) => seg.push(samples),
  })
  const results = []
  for (const chunk of chunks()) {
    // Hold `waiterCount` blocking reloads for the part after the current edge.
    const edge = store.edge()
    let answered = 0
    let lastAnswerAt = 0
    if (edge) {
      const open = store.openSegment()
      const msn = open ? open.msn : edge.msn + 1
      const part = open ? open.parts.length : 0
      for (let i = 0; i < waiterCount; i++) {
        store.waiters.wait(() => blockingSatisfied(store, msn, part), 60_000, (outcome) => {
          if (outcome !== 'ready') return
          const rec = store.segment(msn)?.parts[part] ?? store.segment(msn + 1)?.parts[0]
          if (rec) metrics.blockingAnswerDelay.observe({ kind: 'playlist' }, (performance.now() - rec.readyAt) / 1000)
          if (cache.version !== store.version) cache = { version: store.version, entry: textEntry(String(store.version), Buffer.from(renderMediaPlaylist(store))) }
          sent.push(cache.entry.gz)
          answered++
          lastAnswerAt = performance.now()
        })
      }
    }
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    reader.push(chunk)
    const cpu = process.cpuUsage(c0)
    if (answered > 0) results.push({ all: lastAnswerAt - t0, cpu: (cpu.user + cpu.system) / 1000, answered, where: `${store.edge()?.msn}.${store.edge()?.part}${store.segment(store.edge()?.msn ?? -1)?.complete ? ' (segment end)' : ''}` })
    if (sent.length > 100_000) sent.length = 0
    store.waiters.finishAll('cancelled')
  }
  return results
}

for (const k of waiters) {
  // Each run is synchronous: let a pending SIGINT/SIGTERM in between.
  await tick()
  run(k, partTarget) // warm-up
  await tick()
  const r = run(k, partTarget)
  const all = r.map((x) => x.all)
  if (process.env.BENCH_DETAIL) console.log([...r].sort((a, b) => b.all - a.all).slice(0, 6).map((x) => `${x.where} ${x.all.toFixed(2)} ms (cpu ${x.cpu.toFixed(2)})`).join('; '))
  console.log(`part target ${partTarget} s, ${k} held requests: ${r.length} parts; chunk in → last answer p50 ${q(all, 0.5).toFixed(3)} ms, p99 ${q(all, 0.99).toFixed(3)} ms, max ${Math.max(...all).toFixed(3)} ms; per answer ${(q(all, 0.5) / k * 1000).toFixed(1)} µs (p50)`)
}
