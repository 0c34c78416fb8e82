/**
 * The one process tracker of the benches: every child is spawned through
 * spawnTracked() (optionally pinned to a core with taskset), stopped by its pid
 * (never by name), and signalled by killAllSync() on SIGINT / exit; browsers,
 * which playwright starts detached, are tracked as process groups. Also the /proc
 * readings the benches measure CPU by, a free loopback port and a bounded run().
 */
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { createServer } from 'node:net'

/** @typedef {import('node:child_process').ChildProcess} ChildProcess */
/** @typedef {import('node:child_process').ChildProcessWithoutNullStreams} PipedChild */
/** @typedef {import('node:child_process').StdioOptions} StdioOptions */
/** @typedef {PipedChild & { pid: number }} Tracked a tracked child */

/**
 * @typedef {object} SpawnOptions
 * @property {number} [cpu] core to pin the child to (taskset, which execs: the pid is the command's)
 * @property {NodeJS.Signals} [signal] what stopProc() and killAllSync() send first; default SIGTERM
 * @property {StdioOptions} [stdio] default: three pipes
 * @property {NodeJS.ProcessEnv} [env] the child's environment; default this process's
 */

/** Clock ticks per second for /proc/PID/stat utime/stime (getconf CLK_TCK; 100 on Linux). */
export const CLK_TCK = 100

/** Every child started here and not yet seen exit: pid → { proc, signal }. */
/** @type {Map<number, { proc: ChildProcess, signal: NodeJS.Signals }>} */
const live = new Map()

/** Process groups (detached browsers) killed whole by killAllSync(). */
/** @type {Set<number>} */
const groups = new Set()

/**
 * Spawn `cmd args` and track it until it exits. With the default three pipes the
 * child's stdin, stdout and stderr are streams (typed so). Its pid is typed as a
 * number: it is undefined only when the spawn failed, which the child's 'error'
 * event reports (exitOf() then never resolves: callers listen for 'error' or let it throw).
 * @param {string} cmd
 * @param {readonly string[]} args
 * @param {SpawnOptions} [opts]
 * @returns {Tracked}
 */
export function spawnTracked(cmd, args, opts = {}) {
  const { cpu, signal = 'SIGTERM', stdio = ['pipe', 'pipe', 'pipe'], env } = opts
  const [file, argv] = cpu === undefined ? [cmd, args] : ['taskset', ['-c', String(cpu), cmd, ...args]]
  const proc = /** @type {Tracked} */ (spawn(file, argv, { stdio, ...(env ? { env } : {}) }))
  if (proc.pid === undefined) {
    // spawn failed (ENOENT...): 'error' follows; nothing to track.
    return proc
  }
  const pid = proc.pid
  live.set(pid, { proc, signal })
  const gone = () => { live.delete(pid) }
  proc.on('exit', gone)
  proc.on('error', gone)
  return proc
}

/**
 * Resolve when `proc` has exited (and been reaped).
 * @param {ChildProcess} proc
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null }>}
 */
export function exitOf(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve({ code: proc.exitCode, signal: proc.signalCode })
    proc.once('exit', (code, signal) => resolve({ code, signal }))
  })
}

/**
 * Stop one tracked child by pid and wait for it; SIGKILL after `graceMs`.
 * @param {ChildProcess} proc
 * @param {number} [graceMs]
 */
export async function stopProc(proc, graceMs = 5000) {
  const entry = proc.pid === undefined ? undefined : live.get(proc.pid)
  if (!entry || proc.pid === undefined) return
  const pid = proc.pid
  const exited = exitOf(proc)
  try { process.kill(pid, entry.signal) } catch { /* already gone */ }
  const timer = setTimeout(() => { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }, graceMs)
  await exited
  clearTimeout(timer)
}

/** Stop every tracked child still running, by pid. */
export async function stopAll() {
  await Promise.all([...live.values()].map(({ proc }) => stopProc(proc)))
}

/**
 * Track a detached process group (a browser) so that killAllSync() kills it whole.
 * @param {number} pgid
 */
export function trackGroup(pgid) { groups.add(pgid) }

/**
 * Forget a process group once it is gone.
 * @param {number} pgid
 */
export function untrackGroup(pgid) { groups.delete(pgid) }

/** Synchronous last resort (exit/SIGINT): signal every tracked child by pid and kill every tracked group. */
export function killAllSync() {
  for (const [pid, { signal }] of live) {
    try { process.kill(pid, signal) } catch { /* gone */ }
  }
  for (const pgid of groups) {
    try { process.kill(-pgid, 'SIGKILL') } catch { /* gone */ }
  }
  groups.clear()
}

/**
 * Resolve with the first stdout line parsed as JSON, or reject on exit/timeout
 * (quoting the child's stderr).
 * @param {PipedChild} proc
 * @param {string} what
 * @param {number} [timeoutMs]
 * @returns {Promise<any>}
 */
export function readyLine(proc, what, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => fail(new Error(`${what}: not ready after ${timeoutMs} ms\n${err}`)), timeoutMs)
    /** @param {string} d */
    const onData = (d) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl < 0) return
      cleanup()
      try { resolve(JSON.parse(out.slice(0, nl))) } catch { reject(new Error(`${what}: bad ready line ${out.slice(0, nl)}`)) }
    }
    /** @param {Buffer} d */
    const onErr = (d) => { err += d }
    /** @param {number | null} code @param {NodeJS.Signals | null} sig */
    const onExit = (code, sig) => fail(new Error(`${what}: exited (${code ?? sig}) before ready\n${err}`))
    const cleanup = () => {
      clearTimeout(timer)
      proc.stdout.off('data', onData)
      proc.stderr.off('data', onErr)
      proc.off('exit', onExit)
    }
    /** @param {Error} e */
    const fail = (e) => { cleanup(); reject(e) }
    proc.stdout.setEncoding('utf8')
    proc.stdout.on('data', onData)
    proc.stderr.on('data', onErr)
    proc.on('exit', onExit)
  })
}

/**
 * Keep the last `max` characters a stream printed.
 * @param {import('node:stream').Readable} stream
 * @param {number} [max]
 * @returns {() => string}
 */
export function tail(stream, max = 16_000) {
  let text = ''
  stream.setEncoding('utf8').on('data', (d) => { text = (text + d).slice(-max) })
  return () => text
}

/**
 * Kill `proc` after `ms` (a bound on every run); returns the cancel function.
 * @param {ChildProcess} proc
 * @param {number} ms
 * @param {string} what
 * @param {string} [script] named in the message
 */
export function deadline(proc, ms, what, script = 'bench') {
  const timer = setTimeout(() => {
    process.stderr.write(`${script}: ${what} still running after ${ms} ms; killing pid ${proc.pid}\n`)
    try { if (proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL') } catch { /* gone */ }
  }, ms)
  return () => clearTimeout(timer)
}

/**
 * Run a command to completion (bounded), resolving with { code, stdout, stderr }.
 * @param {string} cmd
 * @param {readonly string[]} args
 * @param {{ cpu?: number, timeoutMs?: number }} [opts]
 * @returns {Promise<{ code: number | string, stdout: string, stderr: string }>}
 */
export function run(cmd, args, { cpu, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawnTracked(cmd, args, { cpu })
    proc.stdin.end()
    let stdout = ''
    let stderr = ''
    proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d })
    proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d })
    const timer = setTimeout(() => { try { if (proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL') } catch { /* gone */ } }, timeoutMs)
    proc.on('error', (e) => { clearTimeout(timer); reject(e) })
    proc.on('exit', (code, sig) => { clearTimeout(timer); resolve({ code: code ?? sig ?? -1, stdout, stderr }) })
  })
}

/** A loopback TCP port that was free a moment ago. @returns {Promise<number>} */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address())
      srv.close(() => resolve(port))
    })
  })
}

/** @param {number | string} pid */
function statFields(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may contain spaces.
  return text.slice(text.lastIndexOf(')') + 2).split(' ')
}

/**
 * utime + stime of a process (all its threads), in seconds; throws when it is gone.
 * @param {number} pid
 */
export function cpuSeconds(pid) {
  const f = statFields(pid)
  // After ')': f[0] = state (field 3), so utime (field 14) is f[11] and stime (15) f[12].
  return (Number(f[11]) + Number(f[12])) / CLK_TCK
}

/**
 * { self, children } CPU seconds of a process (children: the reaped ones, cutime + cstime); undefined when gone.
 * @param {number} [pid]
 * @returns {{ self: number, children: number } | undefined}
 */
export function procTimes(pid = process.pid) {
  let f
  try { f = statFields(pid) } catch { return undefined }
  // After ')': f[0] is field 3 (state); utime 14, stime 15, cutime 16, cstime 17.
  return { self: (Number(f[11]) + Number(f[12])) / CLK_TCK, children: (Number(f[13]) + Number(f[14])) / CLK_TCK }
}

/**
 * procTimes() of a process that must be there (this one, or a child not yet reaped).
 * @param {number} [pid]
 */
export function liveTimes(pid = process.pid) {
  const t = procTimes(pid)
  if (!t) throw new Error(`process ${pid} is gone; its CPU time cannot be read`)
  return t
}

/**
 * Pids whose parent is `ppid` (nginx workers of the master).
 * @param {number} ppid
 */
export function childPids(ppid) {
  /** @type {number[]} */
  const out = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (Number(statFields(name)[1]) === ppid) out.push(Number(name))
    } catch { /* exited while scanning */ }
  }
  return out
}

/**
 * `root` and all its descendants (scan of /proc).
 * @param {number} root
 */
export function treePids(root) {
  const out = [root]
  for (let i = 0; i < out.length; i++) out.push(...childPids(/** @type {number} */ (out[i])))
  return out
}

/**
 * Sum of cpuSeconds over `pids`.
 * @param {number[]} pids
 */
export function cpuOf(pids) {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0)
}

/**
 * CPU seconds per pid for the trees under `roots`; vanished pids are skipped.
 * @param {number[]} roots
 */
export function cpuSnapshot(roots) {
  /** @type {Map<number, number>} */
  const snap = new Map()
  for (const root of roots) {
    for (const pid of treePids(root)) {
      try { snap.set(pid, cpuSeconds(pid)) } catch { /* exited */ }
    }
  }
  return snap
}

/**
 * CPU seconds used between two snapshots (pids new in `after` count from zero).
 * @param {Map<number, number>} before
 * @param {Map<number, number>} after
 */
export function cpuBetween(before, after) {
  let s = 0
  for (const [pid, c] of after) s += c - (before.get(pid) ?? 0)
  return s
}

/**
 * The pids given to setPids() → utime+stime, last value read while each was alive.
 * Only for a split by role: a total should come from cutime, which misses nothing.
 */
export class PidSampler {
  constructor() {
    /** @type {Map<number, { role: string, cpu: number }>} */
    this.byPid = new Map()
    /** @type {Record<string, number | undefined>} */
    this.current = {}
    this.timer = setInterval(() => this.sample(), 250)
  }

  /** @param {Record<string, number | undefined>} pids role → pid */
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

  /** @returns {{ byRole: Record<string, number>, processes: number }} */
  stop() {
    clearInterval(this.timer)
    /** @type {Record<string, number>} */
    const byRole = {}
    for (const { role, cpu } of this.byPid.values()) byRole[role] = (byRole[role] ?? 0) + cpu
    return { byRole, processes: this.byPid.size }
  }
}

/** @param {string} line a /proc/stat cpu line's numbers */
function busyOf(line) {
  const v = line.trim().split(/\s+/).map(Number)
  // user nice system idle iowait irq softirq steal (guest is included in user).
  return ((v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0)) / CLK_TCK
}

/** Busy CPU seconds per core (all but idle and iowait) from /proc/stat: [cpu0, cpu1, ...]. */
export function coreBusy() {
  /** @type {number[]} */
  const out = []
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line)
    if (m) out[Number(m[1])] = busyOf(/** @type {string} */ (m[2]))
  }
  return out
}

/** Busy CPU seconds of the whole machine (all cores, all but idle and iowait) from /proc/stat. */
export function machineBusy() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '))
  return busyOf((line ?? '').slice(4))
}

/** The 1-, 5- and 15-minute load averages from /proc/loadavg. */
export const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
