#!/usr/bin/env node
/**
 * bench/serve — segment and part serving throughput of streamd against nginx
 * (sendfile from tmpfs, one worker) and a bare uWebSockets.js handler, the same
 * bytes at the same URLs, wrk with 100 keep-alive connections, server pinned to
 * one core and wrk to another. Reports requests/s, Gbit/s and requests per server
 * CPU-second, with ratios against nginx; medians of finely interleaved repetitions
 * (the machine is shared and noisy).
 *
 * usage: USAGE below (printed by --help).
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { get } from 'node:http'
import { createHash } from 'node:crypto'
import { tmpdir, cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseCli, stopOnSignals } from './lib/cli.mjs'
import { benchObjects, writeObjects } from './lib/serve-objects.mjs'
import { coreBusy, cpuOf, killAllSync, loadavg, stopAll } from './lib/procs.mjs'
import { startNginx, startStreamd, startUws } from './lib/serve-servers.mjs'
import { runWrk } from './lib/serve-wrk.mjs'
import { goals, summarise, table } from './lib/serve-report.mjs'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
const env = process.env
const USAGE = `usage: npm run bench:serve [-- --quick] [--duration S] [--warmup S] [--reps N]
       [--connections N] [--servers streamd,nginx,uws] [--sizes 2k,100k,1m]
       [--server-cpu 0] [--wrk-cpu 1] [--uws-mode tryend|end|headers] [--json FILE] [--no-build]
       [--wait-quiet S]   (before each measurement wait up to S seconds (default 20, 0 = never) for
                           the machine to idle; a measurement during which other processes used
                           more than --max-other cores (default 0.3) is repeated, up to --retries
                           times (default 1))
defaults: 5 repetitions × (2 s warm-up + 5 s measured) per size and server; --quick: 1 × (1 s + 2 s).
       [--alt-dist DIR --servers streamd,streamd-alt,...]   (compare a patched compiled copy)
       [--baseline SERVER]   (what the ratio column divides by; default nginx, as the goals do)
       [--report FILE]       (print the tables again from a --json file; measures nothing)
servers: streamd, nginx (the reference: sendfile + open_file_cache), uws (bare uWebSockets.js),
         nginx-plain (nginx without open_file_cache), streamd-alt (streamd compiled at --alt-dist),
         streamd-front (streamd with http.http10 on: every connection through the HTTP/1.0 front)
env:   BENCH_DURATION, BENCH_WARMUP, BENCH_REPS, BENCH_CONNECTIONS,
       BENCH_NODE_FLAGS (extra node flags for the node servers, e.g. --cpu-prof)`
const SERVERS = ['streamd', 'nginx', 'uws', 'nginx-plain', 'streamd-alt', 'streamd-front']
const cli = parseCli('bench/serve', USAGE, {
  quick: { type: 'boolean', default: false },
  duration: { type: 'string', default: env.BENCH_DURATION },
  warmup: { type: 'string', default: env.BENCH_WARMUP },
  reps: { type: 'string', default: env.BENCH_REPS },
  connections: { type: 'string', default: env.BENCH_CONNECTIONS ?? '100' },
  servers: { type: 'string', default: 'streamd,nginx,uws' },
  sizes: { type: 'string', default: '2k,100k,1m' },
  'server-cpu': { type: 'string', default: '0' },
  'wrk-cpu': { type: 'string', default: '1' },
  'uws-mode': { type: 'string', default: 'tryend' },
  'alt-dist': { type: 'string' },
  json: { type: 'string' },
  report: { type: 'string' },
  baseline: { type: 'string', default: 'nginx' },
  'wait-quiet': { type: 'string' },
  'max-other': { type: 'string', default: '0.3' },
  retries: { type: 'string', default: '1' },
  'no-build': { type: 'boolean', default: false },
})
const opt = cli.values
const duration = cli.num('duration', opt.quick ? 2 : 5, { gt: 0, max: 600 })
const warmup = cli.num('warmup', opt.quick ? 1 : 2, { gt: 0, max: 600 })
const reps = cli.num('reps', opt.quick ? 1 : 5, { min: 1, max: 600, integer: true })
const connections = cli.num('connections', undefined, { min: 1, max: 600, integer: true })
const serverCpu = cli.num('server-cpu', undefined, { min: 0, max: cpus().length - 1, integer: true })
const wrkCpu = cli.num('wrk-cpu', undefined, { min: 0, max: cpus().length - 1, integer: true })
const servers = cli.list('servers', SERVERS)
const quietS = cli.num('wait-quiet', opt.quick ? 0 : 20, { min: 0, max: 3600 })
const maxOther = cli.num('max-other', undefined, { min: 0, max: 1024 })
const retries = cli.num('retries', undefined, { min: 0, max: 100, integer: true })
const sizes = cli.list('sizes', benchObjects(0).map((o) => o.key))
cli.choice('uws-mode', ['tryend', 'end', 'headers'])
cli.choice('baseline', SERVERS)
if (servers.includes('streamd-alt') && !opt['alt-dist']) cli.fail('server streamd-alt needs --alt-dist DIR')

const log = (msg) => process.stderr.write(msg + '\n')

/** Newest mtime under dir for files ending in ext. */
function newest(dir, ext) {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) t = Math.max(t, newest(p, ext))
    else if (e.name.endsWith(ext)) t = Math.max(t, statSync(p).mtimeMs)
  }
  return t
}

/** Compile with tsc when dist is missing or older than src; tolerate type errors elsewhere if dist was emitted. */
function build() {
  const out = join(repo, 'dist/http/server.js')
  if (existsSync(out) && statSync(out).mtimeMs >= newest(join(repo, 'src'), '.ts')) return
  log('building: npx tsc -p . (dist missing or older than src)')
  try {
    execFileSync('npx', ['tsc', '-p', '.'], { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 })
  } catch (err) {
    if (!existsSync(out)) throw err
    log('warning: tsc reported errors; dist/ was still emitted, continuing with it')
  }
}

/** GET one URL (no keep-alive), resolving with { status, headers, sha, length }. */
function fetchOnce(port, path) {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
      const h = createHash('sha256')
      let length = 0
      res.on('data', (d) => { h.update(d); length += d.length })
      res.on('end', () => resolve({ status: res.statusCode, headers: res.rawHeaders, sha: h.digest('hex'), length }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)))
    req.on('error', reject)
  })
}

/** Every server must answer every object with 200 and exactly our bytes before it is measured. */
async function verify(srv, objects, sha, headerSamples) {
  for (const o of objects) {
    const r = await fetchOnce(srv.port, o.path)
    if (r.status !== 200 || r.length !== o.bytes || r.sha !== sha[o.path]) {
      throw new Error(`${srv.name} ${o.path}: status ${r.status}, ${r.length} bytes, sha ${r.sha === sha[o.path] ? 'ok' : 'MISMATCH'}`)
    }
    if (o.key === objects[0].key && !headerSamples[srv.name]) headerSamples[srv.name] = r.headers
  }
}

const tmpRoots = []
function cleanup() {
  killAllSync()
  for (const d of tmpRoots) rmSync(d, { recursive: true, force: true })
}
stopOnSignals('bench/serve', cleanup)

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Wait (at most maxS seconds) until the machine's cores are busy less than a third of a core over 3 s. */
async function waitQuiet(maxS) {
  const until = Date.now() + maxS * 1000
  for (;;) {
    const b0 = coreBusy()
    await sleep(3000)
    const busy = coreBusy().reduce((sum, b, i) => sum + b - b0[i], 0) / 3
    if (busy < 0.33) return
    if (Date.now() >= until) {
      log(`  machine still busy (${busy.toFixed(2)} cores in use by others); measuring anyway`)
      return
    }
    log(`  machine busy (${busy.toFixed(2)} cores in use by others); waiting`)
    await sleep(15_000)
  }
}

async function measure(srv, obj, rep) {
  const url = `http://127.0.0.1:${srv.port}${obj.path}`
  await runWrk(url, { cpu: wrkCpu, connections, duration: warmup })
  const pids = srv.pids()
  const cpu0 = cpuOf(pids)
  const busy0 = coreBusy()
  const w = await runWrk(url, { cpu: wrkCpu, connections, duration })
  const cpuS = cpuOf(pids) - cpu0
  const busy1 = coreBusy()
  const busy = busy1.reduce((sum, b, i) => sum + b - busy0[i], 0)
  // CPU time of everything else on the machine during the run (other users' tests, ...).
  const otherCpuS = Math.max(0, busy - cpuS - w.wrkCpuS)
  if (w.non2xx || w.socketErrors) log(`  warning: ${srv.name} ${obj.label}: ${w.non2xx} non-2xx, ${w.socketErrors} socket errors`)
  return {
    rep, server: srv.name, size: obj.key, bytes: obj.bytes, ...w, cpuS,
    gbps: (w.bytesPerSec * 8) / 1e9,
    payloadGbps: (w.reqPerSec * obj.bytes * 8) / 1e9,
    reqPerCpu: w.requests / cpuS,
    otherCpuS,
    loadavg: loadavg(),
  }
}

async function main() {
  if (cpus().length < 2) throw new Error('needs at least 2 cores (server and wrk each pinned to one)')
  if (!opt['no-build']) build()
  const starters = {
    streamd: () => startStreamd(serverCpu, manifestPath),
    'streamd-alt': () => startStreamd(serverCpu, manifestPath, opt['alt-dist'], 'streamd-alt'),
    'streamd-front': () => startStreamd(serverCpu, manifestPath, undefined, 'streamd-front', { http10: true }),
    nginx: () => startNginx(serverCpu, join(nginxPrefix, `run-${Date.now()}`), root),
    'nginx-plain': () => startNginx(serverCpu, join(nginxPrefix, `run-${Date.now()}`), root, { openFileCache: false, name: 'nginx-plain' }),
    uws: () => startUws(serverCpu, root, objects.map((o) => o.path), opt['uws-mode']),
  }

  const root = mkdtempSync('/dev/shm/streamd-bench-')
  // nginx workers run as an unprivileged user when we are root: the tree must be world-readable.
  chmodSync(root, 0o755)
  const nginxPrefix = mkdtempSync(join(tmpdir(), 'streamd-bench-nginx-'))
  tmpRoots.push(root, nginxPrefix)
  // Numbers of the magnitude streamd serves: 2 s grid slots since 2020-01-01.
  const firstMsn = Math.floor((Date.now() - Date.UTC(2020, 0, 1)) / 2000)
  const written = writeObjects(root, firstMsn)
  const { manifestPath, sha } = written
  const objects = written.objects.filter((o) => sizes.includes(o.key))

  log(`bench/serve: ${servers.join(', ')} × ${objects.map((o) => o.label).join(', ')}; ${reps} rep(s), ${warmup}s warm-up + ${duration}s each, ${connections} connections; server on cpu ${serverCpu}, wrk on cpu ${wrkCpu}; load ${loadavg()}`)
  const results = []
  const headerSamples = {}
  // Every server runs for the whole benchmark but only one is under load at a time (idle ones
  // use no measurable CPU); measurements interleave finely — rep, then size, then server in an
  // order rotated per rep — so a burst of background load hits all servers alike.
  const running = []
  try {
    for (const name of servers) {
      const srv = await starters[name]()
      running.push(srv)
      await verify(srv, objects, sha, headerSamples)
    }
    for (let rep = 0; rep < reps; rep++) {
      const order = running.map((_, i) => running[(i + rep) % running.length])
      for (const obj of objects) {
        for (const srv of order) {
          if (quietS > 0) await waitQuiet(quietS)
          let r = await measure(srv, obj, rep)
          for (let retry = 0; quietS > 0 && retry < retries && r.otherCpuS / r.seconds > maxOther; retry++) {
            log(`  rep ${rep + 1}/${reps} ${srv.name} ${obj.label}: others used ${(r.otherCpuS / r.seconds).toFixed(2)} cores during the run; repeating`)
            await waitQuiet(quietS)
            r = await measure(srv, obj, rep)
          }
          results.push(r)
          // Keep what was measured so far, in case the run is cut short.
          if (opt.json) writeFileSync(opt.json, JSON.stringify({ partial: true, duration, warmup, reps, connections, results }, null, 2))
          log(`  rep ${rep + 1}/${reps} ${srv.name.padEnd(11)} ${obj.label.padEnd(6)} ${Math.round(r.reqPerSec).toString().padStart(7)} req/s  ${r.gbps.toFixed(2).padStart(5)} Gbit/s  server cpu ${r.cpuS.toFixed(2)}s  wrk cpu ${r.wrkCpuS.toFixed(2)}s  other ${r.otherCpuS.toFixed(2)}s  ${Math.round(r.reqPerCpu).toString().padStart(7)} req/cpu-s  (load ${r.loadavg})`)
        }
      }
    }
    // The servers must still serve the right bytes after the load.
    for (const srv of running) await verify(srv, objects, sha, {})
  } finally {
    for (const srv of running) await srv.stop()
  }

  const rows = report(results, objects, servers, { reps, duration, headerSamples })
  if (opt.json) writeFileSync(opt.json, JSON.stringify({ when: new Date().toISOString(), duration, warmup, reps, connections, serverCpu, wrkCpu, servers, results, rows }, null, 2))
}

/** Print the tables (Markdown) for a set of measurements; returns the summary rows. */
function report(results, objects, servers, { reps, duration, headerSamples = {} }) {
  const rows = summarise(results, objects, servers, opt.baseline)
  const out = [
    '',
    `## bench/serve — medians of ${reps} run(s) × ${duration}s, wrk -t1 -c${connections} (keep-alive), server pinned to cpu ${serverCpu}, wrk to cpu ${wrkCpu}`,
    '',
    table(rows, opt.baseline),
    '',
    `Gbit/s is wrk's Transfer/sec (body + response headers). The ratio is requests per server CPU-second over ${opt.baseline}'s measured in the same repetition and size (seconds apart), median over repetitions; the range is min–max of those per-repetition ratios. "other CPU" is what the rest of the machine used during the run, in cores.`,
    '',
    ...(opt.baseline === 'nginx' ? [goals(rows), ''] : []),
    ...(Object.keys(headerSamples).length ? [`Response headers for the 2 KB object: ${Object.entries(headerSamples).map(([k, h]) => `${k}: ${h.filter((_, i) => i % 2 === 0).join(', ')}`).join('; ')}`] : []),
    `Load average at end: ${loadavg()}`,
  ]
  console.log(out.join('\n'))
  return rows
}

/** --report FILE: print the tables again from a saved --json file, measuring nothing. */
function reprint(file) {
  const saved = JSON.parse(readFileSync(file, 'utf8'))
  const keys = new Set(saved.results.map((r) => r.size))
  const objects = benchObjects(0).filter((o) => keys.has(o.key))
  const names = [...new Set(saved.results.map((r) => r.server))]
  const repsSeen = new Set(saved.results.map((r) => r.rep)).size
  report(saved.results, objects, names, { reps: repsSeen, duration: saved.duration })
}

if (opt.report) {
  reprint(opt.report)
  process.exit(0)
}

main().then(
  async () => { await stopAll(); cleanup() },
  async (err) => {
    log(`bench/serve failed: ${err.stack ?? err}`)
    await stopAll()
    cleanup()
    process.exitCode = 1
  },
)
