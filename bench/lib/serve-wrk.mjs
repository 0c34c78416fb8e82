/**
 * Running wrk pinned to its own core and parsing its report.
 */
import { CLK_TCK, run } from './procs.mjs'

const BYTE_UNITS = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }
const TIME_UNITS = { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 }

function bytes(text) {
  const m = /^([\d.]+)([KMGT]?B)$/.exec(text)
  if (!m) throw new Error(`wrk: cannot parse size ${text}`)
  return Number(m[1]) * BYTE_UNITS[m[2]]
}

function seconds(text) {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text)
  if (!m) throw new Error(`wrk: cannot parse time ${text}`)
  return Number(m[1]) * TIME_UNITS[m[2]]
}

/** Parse wrk 4's text report (run with --latency). */
export function parseWrk(out) {
  const total = /(\d+) requests in ([\d.]+\w+), ([\d.]+\w+) read/.exec(out)
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)
  const tps = /Transfer\/sec:\s+([\d.]+\w+)/.exec(out)
  if (!total || !rps || !tps) throw new Error(`wrk: unexpected output:\n${out}`)
  const lat = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+\\w+)`, 'm').exec(out)
    return m ? seconds(m[1]) * 1000 : NaN
  }
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  return {
    requests: Number(total[1]),
    seconds: seconds(total[2]),
    bytesRead: bytes(total[3]),
    reqPerSec: Number(rps[1]),
    bytesPerSec: bytes(tps[1]),
    p50ms: lat(50),
    p99ms: lat(99),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sock ? sock.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0,
  }
}

// A shell that runs wrk, then prints its own /proc stat: cutime+cstime there is wrk's CPU time.
const WRAPPER = 'wrk "$@"; rc=$?; echo; cat /proc/$$/stat >&2; exit $rc'

/**
 * wrk -t1 -cN -dDs --latency URL, pinned to `cpu`; resolves with the parsed report
 * plus wrkCpuS, the load generator's own CPU seconds.
 */
export async function runWrk(url, { cpu, connections, duration }) {
  const args = ['-c', WRAPPER, 'sh', '-t1', `-c${connections}`, `-d${duration}s`, '--latency', url]
  const { code, stdout, stderr } = await run('sh', args, { cpu, timeoutMs: (duration + 30) * 1000 })
  if (code !== 0) throw new Error(`wrk exited ${code}: ${stderr}${stdout}`)
  const stat = stderr.trim().split('\n').pop() ?? ''
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // After ')': cutime (field 16) is f[13], cstime (17) f[14].
  return { ...parseWrk(stdout), wrkCpuS: (Number(f[13]) + Number(f[14])) / CLK_TCK }
}
