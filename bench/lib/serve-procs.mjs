/**
 * Child process bookkeeping shared by the benches: start pinned children, stop
 * them by pid (never by name), read their CPU time and the machine's load from
 * /proc, find a free loopback port; and a median.
 */
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { createServer } from 'node:net'

/** Clock ticks per second for /proc/PID/stat utime/stime (getconf CLK_TCK; 100 on Linux). */
export const CLK_TCK = 100

/** Every child we started and have not yet seen exit: pid → { proc, stopSignal }. */
const live = new Map()

/** Spawn `cmd args` pinned to `cpu` with taskset (which execs, so the pid is the command's). */
export function spawnPinned(cpu, cmd, args, opts = {}) {
  const proc = cpu === undefined
    ? spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts })
    : spawn('taskset', ['-c', String(cpu), cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...opts })
  live.set(proc.pid, { proc, stopSignal: opts.stopSignal ?? 'SIGTERM' })
  proc.on('exit', () => live.delete(proc.pid))
  return proc
}

/** Resolve with the first stdout line parsed as JSON, or reject on exit/timeout. */
export function readyLine(proc, what, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => fail(new Error(`${what}: not ready after ${timeoutMs} ms\n${err}`)), timeoutMs)
    const onData = (d) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl < 0) return
      cleanup()
      try { resolve(JSON.parse(out.slice(0, nl))) } catch { reject(new Error(`${what}: bad ready line ${out.slice(0, nl)}`)) }
    }
    const onErr = (d) => { err += d }
    const onExit = (code, sig) => fail(new Error(`${what}: exited (${code ?? sig}) before ready\n${err}`))
    const cleanup = () => {
      clearTimeout(timer)
      proc.stdout.off('data', onData)
      proc.stderr.off('data', onErr)
      proc.off('exit', onExit)
    }
    const fail = (e) => { cleanup(); reject(e) }
    proc.stdout.setEncoding('utf8')
    proc.stdout.on('data', onData)
    proc.stderr.on('data', onErr)
    proc.on('exit', onExit)
  })
}

/** Stop one child by pid and wait (bounded) for it to exit; SIGKILL after `graceMs`. */
export async function stopChild(proc, graceMs = 5000) {
  if (!live.has(proc.pid)) return
  const entry = live.get(proc.pid)
  const exited = new Promise((resolve) => proc.once('exit', resolve))
  try { process.kill(proc.pid, entry.stopSignal) } catch { /* already gone */ }
  const timer = setTimeout(() => { try { process.kill(proc.pid, 'SIGKILL') } catch { /* gone */ } }, graceMs)
  await exited
  clearTimeout(timer)
}

/** Synchronous last resort (exit/SIGINT): signal every child still running, by pid. */
export function killAllSync() {
  for (const [pid, { stopSignal }] of live) {
    try { process.kill(pid, stopSignal) } catch { /* gone */ }
  }
}

/** Stop every child still running, by pid. */
export async function stopAll() {
  await Promise.all([...live.values()].map(({ proc }) => stopChild(proc)))
}

function statFields(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may contain spaces.
  return text.slice(text.lastIndexOf(')') + 2).split(' ')
}

/** utime + stime of a process (all its threads), in seconds. */
export function cpuSeconds(pid) {
  const f = statFields(pid)
  // After ')': f[0] = state (field 3), so utime (field 14) is f[11] and stime (15) f[12].
  return (Number(f[11]) + Number(f[12])) / CLK_TCK
}

/** Pids whose parent is `ppid` (nginx workers of the master). */
export function childPids(ppid) {
  const out = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (Number(statFields(name)[1]) === ppid) out.push(Number(name))
    } catch { /* exited while scanning */ }
  }
  return out
}

/** `root` and all its descendants (scan of /proc). */
export function treePids(root) {
  const out = [root]
  for (let i = 0; i < out.length; i++) out.push(...childPids(out[i]))
  return out
}

/** Sum of cpuSeconds over `pids`. */
export function cpuOf(pids) {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0)
}

/** A loopback TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/** Run a command to completion (bounded), resolving with { code, stdout, stderr }. */
export function run(cmd, args, { cpu, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawnPinned(cpu, cmd, args)
    proc.stdin.end()
    let stdout = ''
    let stderr = ''
    proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d })
    proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d })
    const timer = setTimeout(() => { try { process.kill(proc.pid, 'SIGKILL') } catch { /* gone */ } }, timeoutMs)
    proc.on('error', (e) => { clearTimeout(timer); reject(e) })
    proc.on('exit', (code, sig) => { clearTimeout(timer); resolve({ code: code ?? sig, stdout, stderr }) })
  })
}

/** Busy CPU seconds per core (all but idle and iowait) from /proc/stat: [cpu0, cpu1, ...]. */
export function coreBusy() {
  const out = []
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line)
    if (!m) continue
    const v = m[2].trim().split(/\s+/).map(Number)
    // user nice system idle iowait irq softirq steal (guest is included in user).
    out[Number(m[1])] = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / CLK_TCK
  }
  return out
}

/** The 1-, 5- and 15-minute load averages from /proc/loadavg. */
export const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')

/** Median of a list of numbers (mean of the middle two for even lengths); NaN if empty. */
export function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  const n = s.length
  if (n === 0) return NaN
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}
