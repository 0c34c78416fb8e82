// @ts-check
/**
 * bench/failover's arithmetic and report: per switch, the time from its start point
 * (the lost input's last tag, or the switch itself for a return or a slate exit) to
 * the new source's first part in every rendition, in ms and in part targets; the
 * player's stalls, each given to the switch before it; medians by kind of switch; the
 * goals (switch ≤ 1 part target, 0 stalls); and the Markdown section of RESULTS.md.
 */
import { kindOf } from './failover-plan.mjs'
import { median, stallIntervals } from './latency-stats.mjs'

/** A stall starting this long after a switch (the player plays ~1.5 s behind the live edge) is that switch's. */
export const ATTRIBUTE_MS = 10_000

/**
 * @typedef {object} Row
 * @property {number} n
 * @property {number} atS seconds since the schedule started
 * @property {string} action what the bench did last before the switch, and how long before
 * @property {string} change "from→to (cause)"
 * @property {string} kind
 * @property {string} startPoint
 * @property {number} detectMs lost input's last tag → the switch (NaN when not a loss)
 * @property {Record<string, number>} ms per rendition: start point → first part of the new source
 * @property {number} worstMs the largest of `ms` (NaN when a rendition had no part of the new source)
 * @property {number} afterSwitchMs the switch → the last rendition's first part
 * @property {number} fromReconnectMs the new input's first tag after (re)connecting → the last rendition's first part
 * @property {number} gaps gap parts published between the switch and the new source's first part, all renditions
 * @property {[number, number][]} stalls player stalls given to this switch
 * @property {boolean} complete
 * @property {string[]} restarted worker roles whose process was replaced within RESTART_WINDOW_MS of the switch
 * @property {number} mediaAheadS how much more media time than wall time passed from the first switch to this one's splice point, s
 */

/** A worker whose pid changed this soon after a switch was restarted by it. */
export const RESTART_WINDOW_MS = 3000

const f0 = (/** @type {number} */ x) => (Number.isFinite(x) ? x.toFixed(0) : '–')
const f1 = (/** @type {number} */ x) => (Number.isFinite(x) ? x.toFixed(1) : '–')
const f2 = (/** @type {number} */ x) => (Number.isFinite(x) ? x.toFixed(2) : '–')
const maxOf = (/** @type {number[]} */ xs) => (xs.length && xs.every(Number.isFinite) ? Math.max(...xs) : NaN)

/**
 * Rows of a run (see runFailover's result), with its stalls split by switch.
 * @param {any} run
 */
export function analyse(run) {
  /** @type {string[]} */
  const renditions = []
  for (const sw of run.switches) for (const r of sw.renditions) if (!renditions.includes(r)) renditions.push(r)
  // Stalls from the first `playing` on: warm-up ones are reported apart, not given to a switch.
  const stalls = /** @type {[number, number][]} */ (stallIntervals(run.state, run.firstPlayingAt, run.end + ATTRIBUTE_MS).stalls)
  const warmupStalls = stalls.filter(([a]) => a < run.t0)
  /** @type {[number, number][]} */
  const unattributed = []
  /** @type {any} */
  const first = run.switches[0]
  /** @type {Row[]} */
  const rows = run.switches.map((/** @type {any} */ sw) => {
    const { kind, fromLastTag } = kindOf(sw)
    const start = fromLastTag ? sw.lostLastTag : sw.at
    /** @type {Record<string, number>} */
    const ms = {}
    for (const r of sw.renditions) ms[r] = sw.parts[r] && start !== null ? sw.parts[r].at - start : NaN
    const arrivals = sw.renditions.map((/** @type {string} */ r) => sw.parts[r]?.at ?? NaN)
    const last = maxOf(arrivals)
    const action = [...run.actions].reverse().find((a) => a.at <= sw.at)
    // Workers whose pid changed within RESTART_WINDOW_MS after the switch (restarted by it).
    const before = [...(run.pids ?? [])].reverse().find((/** @type {any} */ x) => x.at <= sw.at)?.pids ?? {}
    const after = [...(run.pids ?? [])].reverse().find((/** @type {any} */ x) => x.at <= sw.at + RESTART_WINDOW_MS)?.pids ?? {}
    const restarted = Object.keys(after).filter((k) => before[k] !== undefined && after[k] !== before[k])
    const planned = action && `${sw.from}→${sw.to} (${sw.cause})` === action.expect
    return {
      n: sw.n,
      atS: (sw.at - run.t0) / 1000,
      action: action ? `${action.act === 'kill' ? 'kill' : 'start'} ${action.role} (${((sw.at - action.at) / 1000).toFixed(1)} s before)` : '–',
      change: `${sw.from}→${sw.to} (${sw.cause})${planned ? '' : ' **unplanned**'}`,
      kind,
      startPoint: fromLastTag ? 'last tag of the lost input' : 'the switch (new input\'s key frame)',
      detectMs: fromLastTag && sw.lostLastTag !== null ? sw.at - sw.lostLastTag : NaN,
      ms,
      worstMs: maxOf(Object.values(ms)),
      afterSwitchMs: last - sw.at,
      fromReconnectMs: sw.toFirstTag !== null ? last - sw.toFirstTag : NaN,
      gaps: Object.values(sw.gaps).reduce((/** @type {number} */ a, /** @type {number} */ b) => a + b, 0),
      stalls: [],
      complete: sw.complete,
      restarted,
      mediaAheadS: sw.spliceMediaS !== null && first?.spliceMediaS != null ? (sw.spliceMediaS - first.spliceMediaS) - (sw.at - first.at) / 1000 : NaN,
    }
  })
  for (const st of stalls) {
    if (st[0] < run.t0) continue
    const owner = [...rows].reverse().find((r) => run.t0 + r.atS * 1000 <= st[0])
    if (owner && st[0] - (run.t0 + owner.atS * 1000) <= ATTRIBUTE_MS) owner.stalls.push(st)
    else unattributed.push(st)
  }
  // Each action's expected switch, looked for before the next action.
  const missed = run.actions.flatMap((/** @type {any} */ act, /** @type {number} */ i) => {
    const until = run.actions[i + 1]?.at ?? Infinity
    const seen = run.switches.filter((/** @type {any} */ sw) => sw.at >= act.at && sw.at < until).map((/** @type {any} */ sw) => `${sw.from}→${sw.to} (${sw.cause})`)
    return seen.includes(act.expect) ? [] : [`+${((act.at - run.t0) / 1000).toFixed(1)} s ${act.act} ${act.role}: expected ${act.expect}, saw ${seen.join(', ') || 'no switch'}${act.note ? ` (${act.note})` : ''}`]
  })
  // A tag of an input whose encoder the bench had killed (its connection's last buffered
  // media, delivered late) is told apart from a live encoder's silence.
  const silent = (run.silences ?? []).filter((/** @type {any} */ x) => x.at >= run.t0 && x.at <= run.end)
  const afterKill = (/** @type {any} */ x) => [...run.actions].reverse().find((/** @type {any} */ act) => act.role === x.role && act.at <= x.at)?.act === 'kill'
  const describe = (/** @type {any} */ x) => `${x.role} at +${((x.at - run.t0) / 1000).toFixed(1)} s (${x.gapMs} ms)`
  const silences = silent.filter((/** @type {any} */ x) => !afterKill(x)).map(describe)
  const lateTags = silent.filter(afterKill).map(describe)
  return { renditions, rows, warmupStalls, unattributed, missed, silences, lateTags, scheduleStalls: stalls.filter(([a]) => a >= run.t0) }
}

/** @param {[number, number][]} xs */
const stallText = (xs) => (xs.length ? `${xs.length} / ${f2(xs.reduce((s, [a, b]) => s + b - a, 0) / 1000)} s` : '0')

/**
 * The per-switch table (Markdown).
 * @param {ReturnType<typeof analyse>} a
 * @param {number} partMs
 */
export function switchTable(a, partMs) {
  const head = ['#', 'at', 'last action', 'switch', 'kind', 'detect', ...a.renditions, 'worst', 'part targets', 'switch → last first part', 'gap parts', 'media − wall since #first', 'workers restarted', 'stalls (n / s)']
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i >= 5 && i < head.length - 2 ? '--:' : '---')).join('|')}|`]
  for (const r of a.rows) {
    lines.push(`| ${[r.n, `${f1(r.atS)} s`, r.action, r.change, r.kind, Number.isFinite(r.detectMs) ? `${f0(r.detectMs)} ms` : '–',
      ...a.renditions.map((x) => (x in r.ms ? `${f0(r.ms[x])} ms` : '–')),
      `${f0(r.worstMs)} ms${r.complete ? '' : ' (incomplete)'}`, f2(r.worstMs / partMs), `${f0(r.afterSwitchMs)} ms`, r.gaps, `${Number.isFinite(r.mediaAheadS) ? (r.mediaAheadS >= 0 ? '+' : '') : ''}${f2(r.mediaAheadS)} s`, r.restarted.join(', ') || '–', stallText(r.stalls)].join(' | ')} |`)
  }
  return lines.join('\n')
}

/**
 * Medians by kind of switch (Markdown).
 * @param {ReturnType<typeof analyse>} a
 * @param {number} partMs
 */
export function kindTable(a, partMs) {
  const lines = ['| kind | switches | from | median worst | max worst | median in part targets | ≤ 1 part target | median detect | median switch → first parts | stalls (n / s) |', '|---|--:|---|--:|--:|--:|--:|--:|--:|--:|']
  for (const kind of ['failover', 'return', 'slate entry', 'slate exit', 'other']) {
    const rs = a.rows.filter((r) => r.kind === kind)
    if (!rs.length) continue
    const worst = rs.map((r) => r.worstMs)
    lines.push(`| ${kind} | ${rs.length} | ${rs[0]?.startPoint} | ${f0(median(worst))} ms | ${f0(maxOf(worst))} ms | ${f2(median(worst) / partMs)} | ${rs.filter((r) => r.worstMs <= partMs).length}/${rs.length} | ${f0(median(rs.map((r) => r.detectMs)))} ms | ${f0(median(rs.map((r) => r.afterSwitchMs)))} ms | ${stallText(rs.flatMap((r) => r.stalls))} |`)
  }
  return lines.join('\n')
}

/**
 * Whether the goals were met, in one paragraph.
 * @param {ReturnType<typeof analyse>} a
 * @param {number} partMs
 */
export function goals(a, partMs) {
  const met = a.rows.filter((r) => r.worstMs <= partMs)
  const over = a.rows.filter((r) => !(r.worstMs <= partMs)).map((r) => `#${r.n} ${r.kind} ${f0(r.worstMs)} ms (+${f0(r.worstMs - partMs)} ms)`)
  const stallS = a.scheduleStalls.reduce((s, [x, y]) => s + y - x, 0) / 1000
  return [
    `**Switch ≤ 1 part target (${partMs} ms), every rendition**: ${met.length === a.rows.length ? 'met' : 'not met'} — ${met.length} of ${a.rows.length} switches within it${over.length ? `; over: ${over.join(', ')}` : ''}.`,
    ...(a.missed.length ? [`**Actions without their expected switch**: ${a.missed.join('; ')}.`] : []),
    ...(a.lateTags.length ? [`**Tags from an input after its encoder was killed** (after that many ms without one): ${a.lateTags.join(', ')}.`] : []),
    ...(a.silences.length ? [`**Inputs silent longer than redundancy.lossMs without being killed** (a starved encoder; the policy counts each as a loss): ${a.silences.join(', ')}.`] : []),
    `**0 stalls**: ${a.scheduleStalls.length === 0 ? 'met' : `not met — ${a.scheduleStalls.length} stall(s), ${f2(stallS)} s in all during the schedule`}` +
      `${a.unattributed.length ? ` (${a.unattributed.length} more than ${ATTRIBUTE_MS / 1000} s after any switch)` : ''}${a.warmupStalls.length ? `; ${a.warmupStalls.length} more during the warm-up, not counted` : ''}.`,
  ].join('\n')
}

/**
 * Where the player played during the schedule: hls.js's latency and its buffer ahead of
 * the playhead (medians and ranges). A player far behind the live edge rides over a
 * switch on its buffer, so "0 stalls" means less the further behind it was.
 * @param {any} run
 */
export function playerLine(run) {
  const xs = run.state.samples.filter((/** @type {any} */ x) => x.at >= run.t0 && x.at <= run.end)
  /** @param {string} k */
  const stat = (k) => {
    const v = xs.map((/** @type {any} */ x) => x[k]).filter((/** @type {any} */ y) => typeof y === 'number')
    return v.length ? `median ${f2(median(v))} s (${f2(Math.min(...v))}–${f2(Math.max(...v))})` : 'not known'
  }
  return `**Player during the schedule**: hls.js latency ${stat('hlsLat')}; buffered ahead of the playhead ${stat('bufAhead')}; wall clock − PROGRAM-DATE-TIME at the playhead ${stat('pdt')}.`
}
