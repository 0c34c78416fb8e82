/**
 * Process and arithmetic helpers of bench/latency: busy cores per CPU, a child's
 * JSON ready line, median. CPU time, child pids and free ports are the serving
 * bench's (serve-procs.mjs), re-exported so both benches measure alike.
 */
import { readFileSync } from 'node:fs'
import { CLK_TCK } from './serve-procs.mjs'

export { CLK_TCK, childPids, cpuSeconds, freePort } from './serve-procs.mjs'

/** The 1-, 5- and 15-minute load averages from /proc/loadavg. */
export const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')

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
