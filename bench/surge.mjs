#!/usr/bin/env node
/**
 * bench/surge — the "wicket" spike: a synthetic LL-HLS audience (hls.js-like
 * blocking reloads + part fetches, ABR switching between two renditions) ramping
 * from 0 to N viewers in T seconds, through a streamd shield in front of a
 * synthetic LL-HLS origin (parts every 500 ms on a fixed clock, so the moment each
 * part became available is known exactly). Reports errors, blocking-reload delay
 * after part availability (p50/p99), origin requests per second and the shield's
 * peak RSS, per N. Shield pinned to one core; origin and viewers share the other.
 *
 * usage: USAGE below (printed by --help).
 */
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseCli, stopOnSignals } from './lib/cli.mjs'
import { cpuOf, killAllSync, readyLine, spawnTracked, stopAll, stopProc } from './lib/procs.mjs'
import { startStreamdShield } from './lib/shield-peers.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const USAGE = 'usage: npm run bench:surge [-- --viewers 500,1000,2000] [--ramp-s 10] [--seconds 30] [--json FILE]'
// Strict: a mistyped or unknown option stops here, before any process starts.
const cli = parseCli('bench/surge', USAGE, {
  viewers: { type: 'string', default: '500,1000,2000' },
  'ramp-s': { type: 'string', default: '10' },
  seconds: { type: 'string', default: '30' },
  json: { type: 'string' },
})
const opt = cli.values
const STEPS = cli.list('viewers', (x) => /^\d+$/.test(x) && Number(x) >= 1 && Number(x) <= 20_000, 'an integer in [1, 20000]').map(Number)
const RAMP_S = cli.num('ramp-s', undefined, { min: 0, max: 600 })
const SECONDS = cli.num('seconds', undefined, { gt: 0, max: 600 })
const PART_MS = 500

const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

stopOnSignals('bench/surge', killAllSync)
const dir = mkdtempSync(join(tmpdir(), 'bench-surge-'))
const rows = []
try {
  for (const n of STEPS) {
    const t0 = Date.now() - 60_000 // the stream has been live for a minute
    const origin = spawnTracked(process.execPath, [join(here, 'lib', 'surge-origin-child.mjs'), '--t0', String(t0), '--part-ms', String(PART_MS)], { cpu: 0 })
    const { port: originPort } = await readyLine(origin, 'surge origin')
    const shield = await startStreamdShield(1, originPort, join(dir, `shield-${n}`))
    const originRequests = async () => (await (await fetch(`http://127.0.0.1:${originPort}/__stats`)).json()).requests
    const r0 = await originRequests()
    const cpu0 = cpuOf(shield.pids())
    let peakRss = 0
    const sampler = setInterval(() => { try { peakRss = Math.max(peakRss, rss(shield.pids()[0])) } catch { /* gone */ } }, 500)
    const viewers = spawnTracked(process.execPath, [join(here, 'lib', 'surge-viewers-child.mjs'), '--port', String(shield.port), '--t0', String(t0),
      '--part-ms', String(PART_MS), '--viewers', String(n), '--ramp-s', String(RAMP_S), '--seconds', String(SECONDS)], { cpu: 0 })
    const v = await readyLine(viewers, `viewers (${n})`, (SECONDS + 60) * 1000)
    clearInterval(sampler)
    const originReq = (await originRequests()) - r0
    const cpu = cpuOf(shield.pids()) - cpu0
    rows.push({ viewers: n, ...v, originReqPerS: originReq / SECONDS, shieldCpuS: cpu, peakRssMiB: peakRss })
    console.error(`N=${n}: ${v.requests} requests, ${v.errors} errors, reload delay p99 ${v.delayP99} ms, origin ${(originReq / SECONDS).toFixed(1)} req/s, RSS ${peakRss.toFixed(0)} MiB`)
    await shield.stop()
    await stopProc(origin)
  }
} finally {
  await stopAll()
  rmSync(dir, { recursive: true, force: true })
}
console.log(`\nbench/surge: 0 → N viewers in ${RAMP_S} s, ${SECONDS} s in all, 2 renditions with ABR switches, parts of ${PART_MS} ms, one streamd shield`)
console.log('| N | requests | errors | reload delay after availability p50 | p99 | max | origin req/s | shield CPU s | shield peak RSS |')
console.log('|---|---|---|---|---|---|---|---|---|')
for (const r of rows) {
  console.log(`| ${r.viewers} | ${r.requests} | ${r.errors} (${Object.entries(r.byStatus).map(([s, c]) => `${s}: ${c}`).join(', ')}) | ${r.delayP50} ms | ${r.delayP99} ms | ${r.delayMax} ms | ${r.originReqPerS.toFixed(1)} | ${r.shieldCpuS.toFixed(1)} | ${r.peakRssMiB.toFixed(0)} MiB |`)
}
const json = opt.json
if (json) writeFileSync(json, JSON.stringify(rows, null, 1))
