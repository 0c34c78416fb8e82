/**
 * Medians over repetitions and the printed table (Markdown, so it pastes into
 * RESULTS.md unchanged).
 */

/** Goals from the issue: streamd's requests per server CPU-second over nginx's. */
export const GOALS = { '2k': 1.1, '100k': 1.8, '1m': 1.8 }

/** Median of a list of numbers (mean of the middle two for even lengths). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const n = s.length
  if (n === 0) return NaN
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

/** Collapse repetitions: one row per (size, server) with medians and the per-rep ratio to nginx (median, range). */
export function summarise(results, objects, servers, baseline = 'nginx') {
  const rows = []
  for (const obj of objects) {
    const of = (server) => results.filter((r) => r.size === obj.key && r.server === server)
    const baseByRep = new Map(of(baseline).map((r) => [r.rep, r.reqPerCpu]))
    for (const server of servers) {
      const rs = of(server)
      if (rs.length === 0) continue
      const perRep = server === baseline ? [] : rs.filter((r) => baseByRep.has(r.rep)).map((r) => r.reqPerCpu / baseByRep.get(r.rep))
      const reqPerCpu = median(rs.map((r) => r.reqPerCpu))
      rows.push({
        size: obj.key,
        label: obj.label,
        bytes: obj.bytes,
        server,
        runs: rs.length,
        reqPerSec: median(rs.map((r) => r.reqPerSec)),
        gbps: median(rs.map((r) => r.gbps)),
        payloadGbps: median(rs.map((r) => r.payloadGbps)),
        cpuS: median(rs.map((r) => r.cpuS)),
        util: median(rs.map((r) => r.cpuS / r.seconds)),
        wrkUtil: median(rs.map((r) => r.wrkCpuS / r.seconds)),
        otherUtil: median(rs.map((r) => r.otherCpuS / r.seconds)),
        byRep: Object.fromEntries(rs.map((r) => [r.rep, r.reqPerCpu])),
        reqPerCpu,
        p99ms: median(rs.map((r) => r.p99ms)),
        // Paired by repetition: nginx ran seconds before or after, under the same background load.
        ratio: server === baseline ? 1 : perRep.length ? median(perRep) : NaN,
        ratioMin: perRep.length ? Math.min(...perRep) : NaN,
        ratioMax: perRep.length ? Math.max(...perRep) : NaN,
      })
    }
  }
  return rows
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–')

const times = (x) => (Number.isFinite(x) ? `${fmt(x, 2)}×` : '–')

/** The main table, Markdown. */
export function table(rows, baseline = 'nginx') {
  const head = `| size | server | req/s | Gbit/s | server CPU-s | CPU util | req per CPU-s | ratio vs ${baseline} (per CPU-s) | per-rep ratio range | p99 ms | wrk CPU | other CPU |`
  const sep = '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|'
  const lines = rows.map((r) => `| ${r.label} | ${r.server} | ${fmt(r.reqPerSec)} | ${fmt(r.gbps, 2)} | ${fmt(r.cpuS, 2)} | ${fmt(r.util * 100)}% | ${fmt(r.reqPerCpu)} | ${times(r.ratio)} | ${r.server === baseline || !Number.isFinite(r.ratioMin) ? '' : `${fmt(r.ratioMin, 2)}–${fmt(r.ratioMax, 2)}`} | ${fmt(r.p99ms, 2)} | ${fmt(r.wrkUtil * 100)}% | ${fmt(r.otherUtil * 100)}% |`)
  return [head, sep, ...lines].join('\n')
}

/** Median over repetitions of a's requests per CPU-second over b's in the same repetition. */
function paired(a, b) {
  const xs = Object.keys(a.byRep).filter((rep) => rep in b.byRep).map((rep) => a.byRep[rep] / b.byRep[rep])
  return median(xs)
}

/** Goal lines: streamd's ratio against the goal, with bare uWS as the practical ceiling. */
export function goals(rows) {
  const plain = rows.some((r) => r.server === 'nginx-plain')
  const out = [
    `| size | goal (streamd ÷ nginx, per CPU-s) | streamd | bare uWS (ceiling) | streamd ÷ bare uWS | verdict |${plain ? ' streamd ÷ nginx-plain | bare uWS ÷ nginx-plain |' : ''}`,
    `|---|--:|--:|--:|--:|---|${plain ? '--:|--:|' : ''}`,
  ]
  for (const key of Object.keys(GOALS)) {
    const s = rows.find((r) => r.size === key && r.server === 'streamd')
    const u = rows.find((r) => r.size === key && r.server === 'uws')
    if (!s && !u) continue
    const label = (s ?? u).label
    const verdict = s && Number.isFinite(s.ratio) ? (s.ratio >= GOALS[key] ? 'PASS' : 'MISS') : 'n/a'
    const p = rows.find((r) => r.size === key && r.server === 'nginx-plain')
    const vsPlain = plain ? ` ${s && p ? times(paired(s, p)) : '–'} | ${u && p ? times(paired(u, p)) : '–'} |` : ''
    out.push(`| ${label} | ≥ ${fmt(GOALS[key], 1)}× | ${s ? times(s.ratio) : '–'} | ${u ? times(u.ratio) : '–'} | ${s && u ? times(paired(s, u)) : '–'} | ${verdict} |${vsPlain}`)
  }
  return out.join('\n')
}
