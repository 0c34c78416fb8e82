#!/usr/bin/env node
/**
 * bench/shield — a new live part is a miss everywhere at once. A counting stub
 * origin trickles each body over ~300 ms; --clients simultaneous requests for one
 * new part go through (a) streamd shield, (b) nginx with proxy_cache_lock on,
 * (c) Varnish with streaming. Reports upstream requests per object, time to first
 * and last body byte (p50/p99), the p99 added over the origin's own time, and, for
 * a cached part under a steady keep-alive audience (wrk), requests/s and Gbit/s
 * per shield CPU-second. Each miss burst is followed by the same burst as a hit, the
 * floor this client and loopback allow for 1,000 bodies. Servers pinned to one core, clients to the other; rounds
 * interleave the servers; medians over rounds.
 *
 * usage: USAGE below (printed by --help).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseCli, stopOnSignals } from './lib/cli.mjs'
import { cpuOf, killAllSync, readyLine, spawnTracked, stopAll } from './lib/procs.mjs'
import { runWrk } from './lib/serve-wrk.mjs'
import { startNginxShield, startStreamdShield, startVarnishShield, stubCount } from './lib/shield-peers.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const USAGE = `usage: npm run bench:shield [-- --clients 1000] [--rounds 5] [--bytes 200000] [--trickle-ms 300]
       [--steady-seconds 5] [--connections 50] [--servers streamd,nginx,varnish] [--json FILE]`
const PEERS = ['streamd', 'nginx', 'varnish']
// Strict: a mistyped or unknown option stops here, before any server starts.
const cli = parseCli('bench/shield', USAGE, {
  clients: { type: 'string', default: '1000' },
  rounds: { type: 'string', default: '5' },
  bytes: { type: 'string', default: '200000' },
  'trickle-ms': { type: 'string', default: '300' },
  'steady-seconds': { type: 'string', default: '5' },
  connections: { type: 'string', default: '50' },
  servers: { type: 'string', default: PEERS.join(',') },
  json: { type: 'string' },
})
const opt = cli.values
const range = { gt: 0, max: 10_000_000 }
const CLIENTS = cli.num('clients', undefined, { ...range, integer: true })
const ROUNDS = cli.num('rounds', undefined, { ...range, integer: true })
const BYTES = cli.num('bytes', undefined, { ...range, integer: true })
const TRICKLE = cli.num('trickle-ms', undefined, range)
const STEADY_S = cli.num('steady-seconds', undefined, range)
const CONNECTIONS = cli.num('connections', undefined, { ...range, integer: true })
const SERVERS = cli.list('servers', PEERS)
const SERVER_CPU = 1
const CLIENT_CPU = 0

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] : NaN
}
const median = (xs) => q(xs, 0.5)
const f0 = (n) => (Number.isFinite(n) ? n.toFixed(0) : '-')
const f2 = (n) => (Number.isFinite(n) ? n.toFixed(2) : '-')

async function burst(port, path, n) {
  const proc = spawnTracked(process.execPath, [join(here, 'lib', 'shield-load-child.mjs'), String(port), path, String(n), '30000'], { cpu: CLIENT_CPU })
  return readyLine(proc, `load client (${path})`, 60_000)
}

stopOnSignals('bench/shield', killAllSync)
const dir = mkdtempSync(join(tmpdir(), 'bench-shield-'))
const out = { clients: CLIENTS, rounds: ROUNDS, bytes: BYTES, trickleMs: TRICKLE, bursts: /** @type {any[]} */ ([]), baseline: /** @type {number[]} */ ([]), steady: /** @type {any[]} */ ([]) }
try {
  const stub = spawnTracked(process.execPath, [join(here, 'lib', 'shield-stub-child.mjs'), '--bytes', String(BYTES), '--trickle-ms', String(TRICKLE)], { cpu: CLIENT_CPU })
  const { port: stubPort } = await readyLine(stub, 'stub origin')
  const starters = { streamd: startStreamdShield, nginx: startNginxShield, varnish: startVarnishShield }
  /** @type {any[]} */
  const servers = []
  for (const name of SERVERS) {
    const s = await starters[name](SERVER_CPU, stubPort, join(dir, name))
    if (s) servers.push(s)
    else console.error(`${name}: not installed, skipped`)
  }
  // One unmeasured burst per server first: JIT, upstream connections, thread pools.
  for (const s of servers) await burst(s.port, `/live/bench/v/${s.name}-warmup.0.m4s`, Math.min(CLIENTS, 200))
  for (let round = 1; round <= ROUNDS; round++) {
    const direct = await burst(stubPort, `/direct/${round}.m4s`, 1)
    out.baseline.push(direct.ttlb[0])
    for (const s of servers) {
      const path = `/live/bench/v/${s.name}-${round}.0.m4s`
      const cpu0 = cpuOf(s.pids())
      const r = await burst(s.port, path, CLIENTS)
      const cpu = cpuOf(s.pids()) - cpu0
      const upstream = await stubCount(stubPort, path)
      // The same burst again, now a hit: the floor this client and loopback allow.
      const hit = await burst(s.port, path, CLIENTS)
      out.bursts.push({ server: s.name, round, upstream, statuses: r.statuses, errors: r.errors, cpu, hitTtlb99: q(hit.ttlb, 0.99),
        ttfb50: q(r.ttfb, 0.5), ttfb99: q(r.ttfb, 0.99), ttlb50: q(r.ttlb, 0.5), ttlb99: q(r.ttlb, 0.99) })
      console.error(`round ${round} ${s.name}: upstream ${upstream}, ok ${r.statuses['200'] ?? 0}/${CLIENTS}, TTFB p50 ${f0(q(r.ttfb, 0.5))} ms, TTLB p99 ${f0(q(r.ttlb, 0.99))} ms`)
    }
  }
  for (const s of servers) {
    const url = `http://127.0.0.1:${s.port}/live/bench/v/steady.m4s`
    for (let i = 0; i < 3; i++) await fetch(url).then((r) => r.arrayBuffer())
    const cpu0 = cpuOf(s.pids())
    const w = await runWrk(url, { cpu: CLIENT_CPU, connections: CONNECTIONS, duration: STEADY_S })
    const cpu = cpuOf(s.pids()) - cpu0
    out.steady.push({ server: s.name, rps: w.reqPerSec, gbps: (w.bytesPerSec * 8) / 1e9, cpu, seconds: w.seconds, requests: w.requests })
  }
  await Promise.all(servers.map((s) => s.stop()))
} finally {
  await stopAll()
  rmSync(dir, { recursive: true, force: true })
}

const base = median(out.baseline)
const rows = SERVERS.map((name) => {
  const b = out.bursts.filter((x) => x.server === name)
  if (b.length === 0) return undefined
  const st = out.steady.find((x) => x.server === name)
  return {
    name, upstream: b.map((x) => x.upstream), errors: b.reduce((a, x) => a + x.errors + (CLIENTS - (x.statuses['200'] ?? 0)), 0),
    ttfb50: median(b.map((x) => x.ttfb50)), ttfb99: median(b.map((x) => x.ttfb99)),
    ttlb50: median(b.map((x) => x.ttlb50)), ttlb99: median(b.map((x) => x.ttlb99)),
    added99: median(b.map((x) => x.ttlb99)) - base, hit99: median(b.map((x) => x.hitTtlb99)), burstCpu: median(b.map((x) => x.cpu)),
    rpsPerCpu: st ? (st.rps * st.seconds) / st.cpu : NaN, gbpsPerCpu: st ? (st.gbps * st.seconds) / st.cpu : NaN, rps: st?.rps,
  }
}).filter((r) => r !== undefined)
const nginx = rows.find((r) => r.name === 'nginx')
console.log(`\nbench/shield: ${CLIENTS} simultaneous requests for one new ${BYTES}-byte part, origin trickles it over ${TRICKLE} ms (direct from origin: TTLB median ${f0(base)} ms); medians of ${ROUNDS} rounds`)
console.log('| shield | upstream req/object (per round) | failed | TTFB p50 | TTFB p99 | TTLB p50 | TTLB p99 | added p99 | vs nginx | hit-burst TTLB p99 | burst CPU s | steady req/s | req/s per CPU-s | Gbit/s per CPU-s |')
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
for (const r of rows) {
  console.log(`| ${r.name} | ${r.upstream.join(' ')} | ${r.errors} | ${f0(r.ttfb50)} ms | ${f0(r.ttfb99)} ms | ${f0(r.ttlb50)} ms | ${f0(r.ttlb99)} ms | ${f0(r.added99)} ms | ${nginx ? f2(r.added99 / nginx.added99) + '×' : '-'} | ${f0(r.hit99)} ms | ${f2(r.burstCpu)} | ${f0(r.rps)} | ${f0(r.rpsPerCpu)} | ${f2(r.gbpsPerCpu)} |`)
}
const sd = rows.find((r) => r.name === 'streamd')
if (sd && nginx) {
  console.log(`\ngoals: exactly 1 upstream request per object: ${sd.upstream.every((u) => u === 1) ? 'met' : 'MISSED'}; added p99 ≤ 0.2 × nginx's: ${f2(sd.added99 / nginx.added99)}× ${sd.added99 <= 0.2 * nginx.added99 ? 'met' : 'MISSED'}`)
}
const json = opt.json
if (json) writeFileSync(json, JSON.stringify({ ...out, rows }, null, 1))
