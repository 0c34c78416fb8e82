/**
 * bench/latency arithmetic: quantiles, stall detection over the page's samples
 * and media events, Prometheus histogram parsing and bucket-interpolated
 * quantiles, and the Markdown tables.
 */
/** Median of a list of numbers (mean of the middle two for even lengths); NaN if empty. */
export function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  const n = s.length
  if (n === 0) return NaN
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

/** Nearest-rank quantile (q in [0, 1]) of a list of numbers; NaN if empty. */
export function quantile(xs, q) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]
}

/** A `currentTime` that stays put (not paused) for longer than this is a stall. */
export const STUCK_S = 0.5
/** Latency samples taken this long after the first `playing` count as steady state. */
export const SETTLE_S = 10

/** Merge [start, end] intervals (ms) that overlap or touch within `gapMs`. */
function merge(intervals, gapMs = 250) {
  const s = [...intervals].sort((a, b) => a[0] - b[0])
  const out = []
  for (const iv of s) {
    const last = out.at(-1)
    if (last && iv[0] <= last[1] + gapMs) last[1] = Math.max(last[1], iv[1])
    else out.push([iv[0], iv[1]])
  }
  return out
}

/**
 * Stalls of a page's record between `t0` and `end` (ms): `waiting` after the first
 * `playing` (until the next `playing`), and runs of samples whose currentTime did not
 * move for more than STUCK_S while not paused; `stalls` merges both into [start, end] intervals.
 */
export function stallIntervals(state, t0, end) {
  const watched = state.samples.filter((x) => x.at >= t0 && x.at <= end)
  const events = state.events.filter((e) => e.at > t0 && e.at <= end)
  const waits = []
  for (const [i, e] of events.entries()) {
    if (e.type !== 'waiting') continue
    const resumed = events.slice(i + 1).find((x) => x.type === 'playing')
    waits.push([e.at, resumed ? resumed.at : end])
  }
  const stuck = []
  let since = watched[0]
  let prev = watched[0]
  for (const x of watched) {
    if (x.ct !== since.ct || x.paused) {
      if (prev.at - since.at > STUCK_S * 1000) stuck.push([since.at, prev.at])
      since = x
    }
    prev = x
  }
  if (prev && since && !prev.paused && prev.ct === since.ct && prev.at - since.at > STUCK_S * 1000) stuck.push([since.at, prev.at])
  return { stalls: merge([...waits, ...stuck]), waits, stuck }
}

/**
 * Summarise one page's record (window.__lat) over `watchS` seconds from the
 * first `playing` event. `pdtCorrectionS` is added to every wall − PDT sample.
 */
export function analysePlayback(state, watchS, pdtCorrectionS = 0) {
  const t0 = state.firstPlayingAt
  if (t0 === null) return { played: false, errors: summariseErrors(state.errors, null) }
  const end = t0 + watchS * 1000
  const watched = state.samples.filter((x) => x.at >= t0 && x.at <= end)
  const lat = watched.map((x) => (x.pdt === null ? null : x.pdt + pdtCorrectionS)).filter((v) => v !== null)
  const steady = watched.filter((x) => x.at >= t0 + SETTLE_S * 1000)
  const steadyLat = steady.map((x) => (x.pdt === null ? null : x.pdt + pdtCorrectionS)).filter((v) => v !== null)
  // How the latency splits: media behind the playlist's edge (player buffer) and the edge behind the wall clock.
  const edgeAhead = watched.map((x) => x.edgeAhead).filter((v) => v !== null)
  const edgeLag = watched.filter((x) => x.pdt !== null && x.edgeAhead !== null).map((x) => x.pdt + pdtCorrectionS - x.edgeAhead)

  const { stalls, waits, stuck } = stallIntervals(state, t0, end)
  const events = state.events.filter((e) => e.at > t0 && e.at <= end)
  const first = watched[0]
  const last = watched.at(-1)
  return {
    played: true,
    ttffFrameS: state.firstFrameAt !== null ? (state.firstFrameAt - state.loadSourceAt) / 1000 : NaN,
    ttffPlayingS: (t0 - state.loadSourceAt) / 1000,
    watchedS: last ? (last.at - first.at) / 1000 : 0,
    advancedS: last ? last.ct - first.ct : 0,
    samples: watched.length,
    pdtSamples: lat.length,
    p50: median(lat),
    p95: quantile(lat, 0.95),
    max: lat.length ? Math.max(...lat) : NaN,
    min: lat.length ? Math.min(...lat) : NaN,
    steadyP50: median(steadyLat),
    steadyP95: quantile(steadyLat, 0.95),
    hlsLatP50: median(watched.map((x) => x.hlsLat).filter((v) => v !== null)),
    targetLatency: watched.at(-1)?.target ?? null,
    edgeAheadP50: median(edgeAhead),
    edgeLagP50: median(edgeLag),
    bufAheadP50: median(watched.map((x) => x.bufAhead).filter((v) => v !== null)),
    rateAbove1: watched.filter((x) => x.rate > 1.001).length / Math.max(1, watched.length),
    stallCount: stalls.length,
    stallS: stalls.reduce((s, [a, b]) => s + (b - a), 0) / 1000,
    waitingEvents: waits.length,
    stuckRuns: stuck.length,
    stallsAt: stalls.map(([a, b]) => `+${((a - t0) / 1000).toFixed(1)}s for ${((b - a) / 1000).toFixed(2)}s`),
    seeks: events.filter((e) => e.type === 'seeking').length,
    // Picture heights shown, in order (ABR switches): "240→480→720".
    heights: watched.map((x) => x.h).filter((h, i, a) => h && h !== a[i - 1]).join('→'),
    dropped: state.quality ? `${state.quality.dropped}/${state.quality.total}` : '?',
    errors: summariseErrors(state.errors, t0),
  }
}

/** hls.js errors as "type/details ×n" (fatal ones marked), counted from `since` (all if null). */
function summariseErrors(errors, since) {
  const m = new Map()
  for (const e of errors) {
    if (since !== null && e.at < since) continue
    const k = `${e.fatal ? 'FATAL ' : ''}${e.type}/${e.details}`
    m.set(k, (m.get(k) ?? 0) + 1)
  }
  return [...m].map(([k, n]) => `${k}×${n}`).join(', ')
}

/**
 * How far program date times run ahead of the media's real availability.
 * `records` is [{ pdtMs, durationS, mtimeMs }]: a part or segment's start date,
 * its duration, and when it really became available (segment file mtime for
 * FFmpeg, which writes a segment when it closes; first listing for streamd).
 * Each gives (date of its end − availability); the largest (least delayed) is
 * the estimate, in seconds; spreadS is how far the median lies below it.
 */
export function estimatePdtOffset(records) {
  const offs = records.map((r) => (r.pdtMs + r.durationS * 1000 - r.mtimeMs) / 1000)
  if (offs.length === 0) return { offsetS: NaN, spreadS: NaN, n: 0 }
  const offsetS = Math.max(...offs)
  return { offsetS, spreadS: offsetS - median(offs), n: offs.length }
}

/** Parse one histogram from Prometheus text: { [kind]: { buckets: [[le, cumulative]], count, sum } }. */
export function parseHistogram(text, name) {
  const out = {}
  const labelsOf = (s) => Object.fromEntries([...s.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
  for (const line of text.split('\n')) {
    const m = /^(\w+)\{([^}]*)\}\s+(\S+)$/.exec(line) ?? /^(\w+)()\s+(\S+)$/.exec(line)
    if (!m || !m[1].startsWith(name)) continue
    const labels = labelsOf(m[2])
    const kind = labels.kind ?? ''
    const h = (out[kind] ??= { buckets: [], count: 0, sum: 0 })
    const v = Number(m[3])
    if (m[1] === `${name}_bucket`) h.buckets.push([labels.le === '+Inf' ? Infinity : Number(labels.le), v])
    else if (m[1] === `${name}_count`) h.count = v
    else if (m[1] === `${name}_sum`) h.sum = v
  }
  for (const h of Object.values(out)) h.buckets.sort((a, b) => a[0] - b[0])
  return out
}

/** Add histograms bucket by bucket (same bucket bounds). */
export function addHistograms(hs) {
  const list = hs.filter(Boolean)
  if (list.length === 0) return { buckets: [], count: 0, sum: 0 }
  return {
    buckets: list[0].buckets.map(([le], i) => [le, list.reduce((s, h) => s + (h.buckets[i]?.[1] ?? 0), 0)]),
    count: list.reduce((s, h) => s + h.count, 0),
    sum: list.reduce((s, h) => s + h.sum, 0),
  }
}

/**
 * Quantile estimate from cumulative buckets, linear within the bucket (as
 * Prometheus's histogram_quantile). Above the last finite bound: { value: bound, above: true }.
 */
export function histQuantile(h, q) {
  if (!h || h.count === 0) return { value: NaN, above: false }
  const rank = q * h.count
  let lower = 0
  let below = 0
  for (const [le, cum] of h.buckets) {
    if (cum >= rank) {
      if (le === Infinity) return { value: lower, above: true }
      const inBucket = cum - below
      return { value: lower + (le - lower) * (inBucket > 0 ? (rank - below) / inBucket : 1), above: false }
    }
    lower = le
    below = cum
  }
  return { value: lower, above: true }
}

/** Fraction of observations ≤ `bound` (a bucket bound). */
export function histFractionBelow(h, bound) {
  if (!h || h.count === 0) return NaN
  const b = h.buckets.find(([le]) => Math.abs(le - bound) < 1e-12)
  return b ? b[1] / h.count : NaN
}

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–')
const ms = (q) => (Number.isFinite(q.value) ? `${q.above ? '> ' : ''}${(q.value * 1000).toFixed(2)} ms` : '–')

/** Goals from the issue. */
export const GOALS = { p50S: 1.5, ttffS: 1.0, stalls: 0, blockingP99S: 0.005 }

/** Goal verdict of one summary row: 'yes', 'no (…)', or 'baseline'. */
export function verdict(row) {
  if (row.kind !== 'streamd') return 'baseline (no goal)'
  if (!row.played) return 'no (did not play)'
  const miss = []
  // LL-DASH goal (issue 6): p50 ≤ 2 s with zero stalls; there is no blocking reload to time.
  if (row.dash) {
    if (!(row.p50 <= 2)) miss.push('p50 > 2 s')
    if (row.stallCount > 0) miss.push('stalls')
    return miss.length ? `no: ${miss.join(', ')}` : 'yes (p50 ≤ 2 s, no stall)'
  }
  const latencyGoal = row.partTarget <= 0.33 + 1e-9
  if (latencyGoal && !(row.p50 <= GOALS.p50S)) miss.push(`p50 > ${GOALS.p50S} s`)
  if (!(row.ttff <= GOALS.ttffS)) miss.push(`TTFF > ${GOALS.ttffS} s`)
  if (row.stallCount > GOALS.stalls) miss.push('stalls')
  if (!(row.blockingP99.value <= GOALS.blockingP99S) || row.blockingP99.above) miss.push('blocking p99 > 5 ms')
  const scope = latencyGoal ? '' : ' (p50 goal is for 0.2–0.33 s parts)'
  return miss.length ? `no: ${miss.join(', ')}${scope}` : `yes${scope}`
}

/** The main table, Markdown. */
export function mainTable(rows) {
  const head = '| config | p50 latency | p95 latency | TTFF | stalls (count / s) | blocking delay p99 | goal met? | wall − PDT as served, p50 / p95 |'
  const sep = '|---|--:|--:|--:|--:|--:|---|--:|'
  const lines = rows.map((r) => `| ${r.label} | ${f(r.p50)} s | ${f(r.p95)} s | ${f(r.ttff)} s | ${r.played ? `${r.stallCount} / ${f(r.stallS, 1)}` : '–'} | ${r.kind === 'streamd' ? ms(r.blockingP99) : 'n/a'} | ${verdict(r)} | ${f(r.rawP50)} / ${f(r.rawP95)} s |`)
  return [head, sep, ...lines].join('\n')
}

/** Details: the latency's parts, start-up, steady state, player behaviour. */
export function detailTable(rows) {
  const head = '| config | runs | samples | p50 / p95 after first 10 s | player latency p50 (hls.latency, dash.js getCurrentLiveLatency) | target | edge ahead of playhead p50 | edge behind wall clock p50 | PDT ahead of arrival | TTFF first frame / `playing` | media responses before first frame | rate > 1 | seeks | dropped frames | player errors |'
  const sep = '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|'
  const lines = rows.map((r) => `| ${r.label} | ${r.runs} | ${r.samples} | ${f(r.steadyP50)} / ${f(r.steadyP95)} s | ${f(r.hlsLatP50)} s | ${f(r.targetLatency)} s | ${f(r.edgeAheadP50)} s | ${f(r.edgeLagP50)} s | ${f(r.pdtAhead, 3)} s | ${f(r.ttffFrame)} / ${f(r.ttffPlaying)} s | ${f(r.mediaBeforeFirstFrame, 0)} | ${f(r.rateAbove1 * 100, 0)}% | ${r.seeks} | ${r.dropped} | ${r.errors || 'none'} |`)
  return [head, sep, ...lines].join('\n')
}

/** Blocking answer delay per kind (streamd only). */
export function blockingTable(rows) {
  const head = '| config | kind | answered | p50 (est.) | p99 (est.) | ≤ 5 ms | mean |'
  const sep = '|---|---|--:|--:|--:|--:|--:|'
  const lines = []
  for (const r of rows.filter((x) => x.kind === 'streamd')) {
    for (const [kind, h] of [...Object.entries(r.blocking), ['all', r.blockingAll]]) {
      lines.push(`| ${r.label} | ${kind} | ${h.count} | ${ms(histQuantile(h, 0.5))} | ${ms(histQuantile(h, 0.99))} | ${f(histFractionBelow(h, 0.005) * 100, 1)}% | ${h.count ? (h.sum / h.count * 1000).toFixed(2) + ' ms' : '–'} |`)
    }
  }
  return [head, sep, ...lines].join('\n')
}

/** Machine load while each config was measured. */
export function loadTable(rows) {
  const head = '| config | our processes (cores) | everything else (cores) | load average at end |'
  const sep = '|---|--:|--:|---|'
  return [head, sep, ...rows.map((r) => `| ${r.label} | ${f(r.ourCores)} | ${f(r.otherCores)} | ${r.loadavg} |`)].join('\n')
}
