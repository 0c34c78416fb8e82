/**
 * Child processes of bench/ladder: every child is spawned through spawnTracked()
 * and stopped by its pid (killAllSync() is the SIGINT path), with the /proc
 * readings the runs measure CPU by (see ladder-runs.mjs).
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'

// One ready-line reader for every bench (it also quotes the child's stderr on failure).
export { readyLine } from './serve-procs.mjs'

/** Clock ticks per second of /proc/PID/stat times (getconf CLK_TCK). */
export const CLK_TCK = 100

/** Every child started here and not yet seen exit: pid → { proc, signal }. */
const live = new Map()

/** Spawn a child and track it until it exits; `stdio` defaults to three pipes. */
export function spawnTracked(cmd, args, signal = 'SIGTERM', stdio = ['pipe', 'pipe', 'pipe']) {
  const proc = spawn(cmd, args, { stdio })
  live.set(proc.pid, { proc, signal })
  const gone = () => live.delete(proc.pid)
  proc.on('exit', gone)
  proc.on('error', gone)
  return proc
}

/** Resolve when `proc` has exited (and been reaped): { code, signal }. */
export function exitOf(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve({ code: proc.exitCode, signal: proc.signalCode })
    proc.once('exit', (code, signal) => resolve({ code, signal }))
  })
}

/** Stop one child by pid and wait; SIGKILL after `graceMs`. */
export async function stopProc(proc, graceMs = 5000) {
  const entry = live.get(proc.pid)
  if (!entry) return
  const exited = exitOf(proc)
  try { process.kill(proc.pid, entry.signal) } catch { /* gone */ }
  const timer = setTimeout(() => { try { process.kill(proc.pid, 'SIGKILL') } catch { /* gone */ } }, graceMs)
  await exited
  clearTimeout(timer)
}

/** Synchronous last resort (exit/SIGINT): signal every child still running, by pid. */
export function killAllSync() {
  for (const [pid] of live) try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
}

/** { self, children } CPU seconds of a process from /proc/PID/stat; undefined when gone. */
export function procTimes(pid = process.pid) {
  let text
  try { text = readFileSync(`/proc/${pid}/stat`, 'utf8') } catch { return undefined }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // After ')': f[0] is field 3 (state); utime 14, stime 15, cutime 16, cstime 17.
  return { self: (Number(f[11]) + Number(f[12])) / CLK_TCK, children: (Number(f[13]) + Number(f[14])) / CLK_TCK }
}

/** Keep the last `max` characters a stream printed. */
export function tail(stream, max = 16_000) {
  let text = ''
  stream.setEncoding('utf8').on('data', (d) => { text = (text + d).slice(-max) })
  return () => text
}

/** Kill `proc` after `ms` (a bound on every run); returns the cancel function. */
export function deadline(proc, ms, what) {
  const timer = setTimeout(() => {
    process.stderr.write(`bench/ladder: ${what} still running after ${ms} ms; killing pid ${proc.pid}\n`)
    try { process.kill(proc.pid, 'SIGKILL') } catch { /* gone */ }
  }, ms)
  return () => clearTimeout(timer)
}

/**
 * The pids of workerPids() → utime+stime, last value read while each was alive.
 * Only for the split by role: the total comes from cutime, which misses nothing.
 */
export class PidSampler {
  constructor() {
    this.byPid = new Map() // pid → { role, cpu }
    this.current = {}
    this.timer = setInterval(() => this.sample(), 250)
  }
  setPids(pids) {
    this.current = pids
    for (const [role, pid] of Object.entries(pids)) if (pid && !this.byPid.has(pid)) this.byPid.set(pid, { role, cpu: 0 })
    this.sample()
  }
  sample() {
    for (const [pid, e] of this.byPid) {
      const t = procTimes(pid)
      if (t) e.cpu = t.self
    }
  }
  stop() {
    clearInterval(this.timer)
    const byRole = {}
    for (const { role, cpu } of this.byPid.values()) byRole[role] = (byRole[role] ?? 0) + cpu
    return { byRole, processes: this.byPid.size }
  }
}

/** Busy CPU seconds of the whole machine (all cores, all but idle and iowait) from /proc/stat. */
export function machineBusy() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '))
  const v = line.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal (guest is inside user).
  return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / CLK_TCK
}
