/**
 * Child process for bench/ladder: one real streamd Origin (compiled dist/) on
 * 127.0.0.1 port 0, config overrides from argv[2] (JSON). This process is
 * streamd and nothing else: the bench reads its own CPU (utime+stime: ingest,
 * relay, packaging) and its reaped children's CPU (cutime+cstime: every FFmpeg
 * worker, restarts included) from /proc/PID/stat in the parent.
 *
 * stdout, one JSON line each:
 *   {type:'ready', http, rtmp}
 *   {type:'plan', at, plan}                          the stream was planned
 *   {type:'pids', at, pids}                          workerPids() changed (polled every 100 ms)
 *   {type:'progress', at, video}                     a segment completed: least complete media (s) of the video renditions
 *   {type:'stopped', at, renditions:[...], metrics}  the pipeline stopped (every worker reaped)
 * Logs (pino, warn and up) go to stderr as JSON lines. Stops on SIGTERM/SIGINT or stdin end.
 *
 * usage: [BENCH_STREAMD_DIST=/path/to/dist] node ladder-origin-child.mjs '{"ladder":{...}}' STREAM
 */
import { pathToFileURL } from 'node:url'
import pino from 'pino'

const dist = process.env.BENCH_STREAMD_DIST ? pathToFileURL(process.env.BENCH_STREAMD_DIST + '/').href : new URL('../../dist/', import.meta.url).href
/** @type {typeof import('../../src/core/origin.js')} */
const { Origin } = await import(new URL('core/origin.js', dist).href)
/** @type {typeof import('../../src/config/load.js')} */
const { buildConfig } = await import(new URL('config/load.js', dist).href)

const overrides = JSON.parse(process.argv[2] ?? '{}')
const name = process.argv[3] ?? 'bench'
// Publishing open: the bench publishes from this machine without keys.
const base = { http: { host: '127.0.0.1', port: 0 }, rtmp: { host: '127.0.0.1', port: 0 }, srt: { host: '127.0.0.1', port: 0 }, log: { level: 'warn' }, publish: { open: true } }
const config = buildConfig(base, [overrides])
const logger = pino({ level: config.log.level, name: 'streamd' }, pino.destination({ fd: 2, sync: true }))
const origin = new Origin(config, logger, { defaultMetrics: false })
const ports = await origin.start()
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n')
say({ type: 'ready', http: ports.http, rtmp: ports.rtmp })

/** Per rendition: Date.now() when its newest segment completed. */
const lastSegmentAt = new Map()
const watched = new Set()
let pipeline
let lastPids = ''
let planned = false

function watchStores() {
  const stream = origin.directory.get(name)
  if (!stream) return
  for (const store of stream.renditions.values()) {
    if (watched.has(store)) continue
    watched.add(store)
    let complete = 0
    store.onChange(() => {
      const n = store.segments.filter((s) => s.complete && !s.gap).length
      if (n !== complete) {
        complete = n
        lastSegmentAt.set(store.name, Date.now())
        const video = [...stream.renditions.values()].filter((r) => r.name !== 'audio')
          .map((r) => r.segments.filter((x) => x.complete && !x.gap).reduce((a, x) => a + x.duration, 0))
        say({ type: 'progress', at: Date.now(), video: Math.min(...video) })
      }
    })
  }
}

// A cheap poll (a map lookup and a small object per tick): pids change when a worker restarts.
const poll = setInterval(() => {
  const p = origin.sessions.get(name)
  if (p && p !== pipeline) {
    pipeline = p
    void p.stopped.then(() => report(p))
  }
  if (!pipeline) return
  if (!planned && pipeline.currentPlan) {
    planned = true
    const plan = pipeline.currentPlan
    say({ type: 'plan', at: Date.now(), plan: { mode: plan.mode, source: plan.source, copy: plan.copy?.name, audio: plan.audio, encoded: plan.encoded?.map((r) => ({ name: r.name, width: r.width, height: r.height, bitrate: r.bitrate, fpsCap: r.fpsCap, profile: r.profile, preset: r.preset })) } })
  }
  watchStores()
  const pids = JSON.stringify(pipeline.workerPids())
  if (pids !== lastPids) {
    lastPids = pids
    say({ type: 'pids', at: Date.now(), pids: JSON.parse(pids) })
  }
}, 100)

async function report(p) {
  const at = Date.now()
  const stream = origin.directory.get(name)
  const renditions = [...(stream?.renditions.values() ?? [])].map((s) => {
    const segs = s.segments
    const media = segs.filter((x) => x.complete && !x.gap)
    const last = media[media.length - 1]
    return {
      name: s.name,
      ended: s.ended,
      shed: s.shed,
      segments: media.length,
      gaps: segs.filter((x) => x.gap).length,
      discontinuities: segs.filter((x) => x.discontinuity).length,
      mediaSeconds: media.reduce((a, x) => a + x.duration, 0),
      firstStart: media[0]?.startTime,
      lastEnd: last ? last.startTime + last.duration : undefined,
      lastSegmentAt: lastSegmentAt.get(s.name),
    }
  })
  const text = await origin.metrics.registry?.metrics?.().catch(() => '') ?? ''
  const metric = (re) => [...text.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0)
  say({
    type: 'stopped', at, renditions,
    // Dropped FLV tags: the normalizer's own count (a bench reads it; it is no public API).
    dropped: p.normalizer?.dropped,
    metrics: {
      workerRestarts: metric(/^streamd_worker_restarts_total\{[^}]*\} (\S+)$/gm),
      rungsShed: metric(/^streamd_rungs_shed_total\{[^}]*\} (\S+)$/gm),
    },
  })
}

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  clearInterval(poll)
  const timer = setTimeout(() => process.exit(1), 8000)
  try {
    await origin.stop()
  } finally {
    clearTimeout(timer)
    process.exit(0)
  }
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop)
process.stdin.on('error', stop)
process.stdin.resume()
