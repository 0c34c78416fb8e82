/**
 * bench/edge-spread: how far apart a ladder's renditions' live edges are as players see
 * them, and what the publish gate (hls.renditionMaxLagSeconds) costs in publish delay.
 *
 * One in-process origin (compiled dist/) per run, a 1280x720 30 fps test source published
 * with FFmpeg (-re, libx264 veryfast zerolatency, AAC), the default ladder. Every 50 ms
 * the media time at the end of each rendition's newest published part is read from the
 * stores; the spread is max − min over the renditions. The gate's cost is the
 * streamd_publish_held_seconds histogram (every part; 0 when not held). Runs alternate
 * gate on / off so both see the same background load.
 *
 * usage: USAGE below (printed by --help).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import pino from 'pino'
import { parseCli, stopOnSignals } from './lib/cli.mjs'
import { killAllSync, spawnTracked } from './lib/procs.mjs'

const USAGE = 'usage: npm run build && node bench/edge-spread.mjs [--seconds 20] [--reps 2] [--part 0.2]'
const cli = parseCli('bench/edge-spread', USAGE, { seconds: { type: 'string', default: '20' }, reps: { type: 'string', default: '2' }, part: { type: 'string', default: '0.2' } })
const seconds = cli.num('seconds', undefined, { gt: 0, max: 3600 })
const reps = cli.num('reps', undefined, { min: 1, max: 100, integer: true })
// The part targets config validation accepts with 2 s segments.
const partTarget = cli.num('part', undefined, { min: 0.1, max: 1 })
// The publisher is tracked; the in-process Origin's FFmpeg workers are found by the descendant sweep.
stopOnSignals('bench/edge-spread', killAllSync)
const dist = new URL('../dist/', import.meta.url).href
/** @type {typeof import('../src/core/origin.js')} */
const { Origin } = await import(new URL('core/origin.js', dist).href)
/** @type {typeof import('../src/config/load.js')} */
const { buildConfig } = await import(new URL('config/load.js', dist).href)

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN
}

/** Media end (s) of a store's newest published part. */
const edgeOf = (store) => {
  const seg = [...store.segments].reverse().find((x) => x.parts.length > 0)
  return seg ? seg.startTime + seg.parts.reduce((a, p) => a + p.duration, 0) : undefined
}

async function run(lagParts) {
  const config = buildConfig({ http: { host: '127.0.0.1', port: 0 }, rtmp: { host: '127.0.0.1', port: 0 }, srt: { enabled: false }, log: { level: 'warn' }, publish: { open: true } },
    [{ hls: { partTarget, renditionMaxLagSeconds: lagParts } }])
  const origin = new Origin(config, pino({ level: 'warn' }, pino.destination({ fd: 2, sync: true })), { defaultMetrics: false })
  const ports = await origin.start()
  const ff = spawnTracked('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '60', '-b:v', '2M', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k',
    '-f', 'flv', `rtmp://127.0.0.1:${ports.rtmp}/live/spread`], { stdio: 'ignore' })
  const spreads = []
  let lagging = 0
  try {
    // Until every rendition has published, then watch.
    for (let i = 0; i < 400; i++) {
      const s = origin.directory.get('spread')
      if (s && s.renditions.size > 1 && [...s.renditions.values()].every((r) => edgeOf(r) !== undefined)) break
      await sleep(50)
    }
    const stream = origin.directory.get('spread')
    if (!stream) throw new Error('the stream never started')
    const stores = [...stream.renditions.values()]
    const end = Date.now() + seconds * 1000
    while (Date.now() < end) {
      const edges = stores.map(edgeOf).filter((x) => x !== undefined)
      spreads.push(Math.max(...edges) - Math.min(...edges))
      lagging += stores.filter((r) => r.lagging).length > 0 ? 1 : 0
      await sleep(50)
    }
    const held = (await origin.metrics.publishHeld.get()).values
    const buckets = held.filter((v) => v.metricName?.endsWith('_bucket'))
    const count = held.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0
    const sum = held.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0
    const le = (x) => buckets.find((b) => b.labels.le === x)?.value ?? 0
    return { lagParts, renditions: stores.length, spreads, lagging: lagging / spreads.length, parts: count, heldMean: count ? sum / count : 0, notHeld: count ? le(0.0005) / count : 0, within20ms: count ? le(0.02) / count : 0, within100ms: count ? le(0.1) / count : 0 }
  } finally {
    ff.kill('SIGKILL')
    await origin.stop()
  }
}

const rows = []
for (let r = 0; r < reps; r++) {
  for (const lag of [1, 0]) {
    const res = await run(lag)
    rows.push(res)
    const sp = res.spreads
    console.log(`gate ${lag ? `on (max lag ${lag} s)` : 'off'}, rep ${r + 1}: ${res.renditions} renditions, spread p50 ${(quantile(sp, 0.5) * 1000).toFixed(0)} ms, p95 ${(quantile(sp, 0.95) * 1000).toFixed(0)} ms, max ${(Math.max(...sp) * 1000).toFixed(0)} ms; ` +
      `parts ${res.parts}: not held ${(res.notHeld * 100).toFixed(1)}%, held <= 20 ms ${(res.within20ms * 100).toFixed(1)}%, <= 100 ms ${(res.within100ms * 100).toFixed(1)}%, mean ${(res.heldMean * 1000).toFixed(1)} ms; samples with a lagging rendition ${(res.lagging * 100).toFixed(0)}%`)
  }
}
