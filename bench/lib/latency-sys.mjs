/**
 * Small process and arithmetic helpers of bench/latency: CPU time from /proc,
 * child pids, busy cores, a free loopback port, a child's JSON ready line, median.
 * (bench/latency first imported these from the serving bench's procs.mjs and
 * report.mjs; those were renamed to serve-*.mjs, so latency keeps its own copies.)
 */
import { readFileSync, readdirSync } from 'node:fs'
import { createServer } from 'node:net'

/** Clock ticks per second of /proc/PID/stat and /proc/stat (getconf CLK_TCK; 100 on Linux). */
export const CLK_TCK = 100

function statFields(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which is in parentheses and may contain spaces.
  return text.slice(text.lastIndexOf(')') + 2).split(' ')
}

/** utime + stime of a process (all its threads), in seconds. */
export function cpuSeconds(pid) {
  const f = statFields(pid)
  return (Number(f[11]) + Number(f[12])) / CLK_TCK
}

/** Pids whose parent is `ppid`. */
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

/** Busy CPU seconds per core (all but idle and iowait) from /proc/stat. */
export function coreBusy() {
  const out = []
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line)
    if (!m) continue
    const v = m[2].trim().split(/\s+/).map(Number)
    out[Number(m[1])] = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / CLK_TCK
  }
  return out
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

/** Resolve with a child's first stdout line parsed as JSON; reject on exit or timeout. */
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

/** Median of a list of numbers (mean of the middle two for even lengths); NaN if empty. */
export function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  const n = s.length
  if (n === 0) return NaN
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}
