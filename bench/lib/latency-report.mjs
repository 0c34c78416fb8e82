/**
 * bench/latency's report: repetitions of a config summarised into one row,
 * the Markdown section (tables from latency-stats.mjs) and its place in
 * bench/RESULTS.md.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { loadavg } from './procs.mjs'
import {
  addHistograms, blockingTable, detailTable, histFractionBelow, histQuantile, loadTable, mainTable, median, verdict,
} from './latency-stats.mjs'

/** Collapse repetitions of one config into a summary row (medians; stalls summed). */
export function summarise(cfg, recs) {
  const played = recs.filter((r) => r.played)
  const med = (k) => median(played.map((r) => r[k]))
  // Latency to when the media really became available: wall − PDT plus how far the PDT ran ahead of that.
  const off = (r) => (r.pdtAhead && Number.isFinite(r.pdtAhead.offsetS) ? r.pdtAhead.offsetS : 0)
  const medTrue = (k) => median(played.map((r) => r[k] + off(r)))
  const blockingKinds = [...new Set(recs.flatMap((r) => Object.keys(r.blocking)))]
  const blocking = Object.fromEntries(blockingKinds.map((k) => [k, addHistograms(recs.map((r) => r.blocking[k]))]))
  const blockingAll = addHistograms(Object.values(blocking))
  return {
    id: cfg.id, kind: cfg.kind, dash: Boolean(cfg.dash), label: cfg.label, partTarget: cfg.partTarget,
    runs: recs.length, played: played.length === recs.length && recs.length > 0,
    p50: medTrue('p50'), p95: medTrue('p95'), steadyP50: medTrue('steadyP50'), steadyP95: medTrue('steadyP95'),
    rawP50: med('p50'), rawP95: med('p95'),
    pdtAheads: recs.map((r) => r.pdtAhead).filter(Boolean),
    pdtAhead: median(played.map((r) => r.pdtAhead?.offsetS).filter((x) => Number.isFinite(x))),
    mediaBeforeFirstFrame: med('mediaBeforeFirstFrame'),
    variants: [...new Set(recs.map((r) => r.variants).filter(Boolean))].join(' | '),
    heights: [...new Set(played.map((r) => r.heights))].join(' | '),
    ttffFrame: med('ttffFrameS'), ttffPlaying: med('ttffPlayingS'),
    ttff: median(played.map((r) => (Number.isFinite(r.ttffFrameS) ? r.ttffFrameS : r.ttffPlayingS))),
    hlsLatP50: med('hlsLatP50'), targetLatency: played.at(-1)?.targetLatency ?? NaN,
    edgeAheadP50: med('edgeAheadP50'), edgeLagP50: medTrue('edgeLagP50'), rateAbove1: med('rateAbove1'),
    samples: played.reduce((s, r) => s + r.samples, 0),
    stallCount: played.reduce((s, r) => s + r.stallCount, 0),
    stallS: played.reduce((s, r) => s + r.stallS, 0),
    stallsAt: played.flatMap((r) => r.stallsAt.map((x) => `rep ${r.rep + 1} ${x}`)),
    seeks: played.reduce((s, r) => s + r.seeks, 0),
    dropped: played.map((r) => r.dropped).join(', '),
    errors: recs.map((r) => r.errors).filter(Boolean).join('; '),
    blocking, blockingAll,
    blockingP99: histQuantile(blockingAll, 0.99),
    blockingP50: histQuantile(blockingAll, 0.5),
    blockingLe5ms: histFractionBelow(blockingAll, 0.005),
    ourCores: median(recs.map((r) => r.ourCores)), otherCores: median(recs.map((r) => r.otherCores)),
    loadavg: recs.map((r) => r.loadavg).join(' / '),
    responses: recs.map((r) => r.responses),
    failures: recs.filter((r) => r.failure).map((r) => r.failure),
  }
}

/** Machine, Node, FFmpeg, nginx and streamd revision, for the report. */
export function versions(repo, ffmpeg) {
  const first = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0].trim() } catch (e) { return `? (${String(e instanceof Error ? e.message : e).split('\n')[0]})` } }
  const nginxV = (() => { try { execFileSync('nginx', ['-v'], { stdio: ['ignore', 'ignore', 'pipe'] }) } catch { /* prints to stderr */ } return execFileSync('sh', ['-c', 'nginx -v 2>&1'], { encoding: 'utf8' }).trim() })()
  const cpuModel = (readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m) ?? [])[1] ?? '?'
  let rev = '?'
  try {
    rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repo, encoding: 'utf8' }).trim().split('\n').filter(Boolean).length
    if (dirty) rev += ` + ${dirty} uncommitted file(s) in src/`
  } catch { /* not a checkout */ }
  return {
    machine: `${cpus().length} × ${cpuModel}, ${Math.round(Number(readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s+(\d+)/)?.[1]) / 1024 / 1024)} GiB RAM`,
    node: process.version, ffmpeg: first(ffmpeg, ['-version']), nginx: nginxV, rev,
  }
}

/** `uptime`'s line, or the load average when it is missing. */
export function uptime() {
  try { return execFileSync('uptime', { encoding: 'utf8' }).trim() } catch { return `load average ${loadavg()}` }
}

/** Two decimals, or – when not a number. */
export const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–')

/** Player versions of the run ("hls.js 1.5.x, dash.js 5.x"); older saved runs name only hls.js's. */
function players(meta) {
  const list = meta.players?.length ? meta.players : [meta.hlsVersion]
  return list.map((v) => (/^dash\.js /.test(v) ? v : `hls.js ${v}`)).join(', ')
}

/** The Markdown section of RESULTS.md for a run. */
export function report(rows, meta) {
  const base = rows.find((r) => r.kind === 'ffmpeg')
  const lines = [
    `## bench/latency — live latency in the browser: hls.js, and dash.js on the LL-DASH row (${meta.date})`,
    '',
    `Machine: ${meta.v.machine}; \`uptime\` before: ${meta.uptimeBefore}; after: ${meta.uptimeAfter}.`,
    `Versions: streamd ${meta.v.rev} (dist/${(meta.builds ?? []).length ? ` built ${meta.builds.map((t) => new Date(t).toISOString().slice(11, 19)).join(', ')} UTC` : ''}${(meta.builds ?? []).length > 1 ? ' — rebuilt during the run' : ''}), Node ${meta.v.node}, ${meta.v.ffmpeg}, ${meta.v.nginx}, Chromium ${meta.chromium} (headless, Debian), ${players(meta)}.`,
    `Run: \`${meta.altDist ? `BENCH_STREAMD_DIST=${meta.altDist} ` : ''}node bench/latency.mjs ${meta.argv}\` — ${meta.reps} run(s) per config, ${meta.duration} s watched per run from the first \`playing\`, configs one after another; demo source ${meta.size} @ ${meta.fps} fps (libx264 veryfast zerolatency, 2 Mbit/s) with the UTC clock burnt in.`,
    '',
    `streamd renditions (multivariant playlist): ${rows.find((r) => r.kind === 'streamd')?.variants || '?'}; ladder ${meta.ladder === 'default' ? "as streamd's default config" : meta.ladder}. Rendition heights the player played: ${rows.map((r) => `${r.label}: ${r.heights || '?'}`).join('; ')}.`,
    '',
    mainTable(rows),
    '',
    'Latency = wall clock − program date time at the playhead (`Date.now() − hls.playingDate`; on the LL-DASH row dash.js\'s `getCurrentLiveLatency()`, wall clock − the playhead\'s time on the MPD\'s clock; sampled every 250 ms over the whole watch, start-up included), plus how far that config\'s PROGRAM-DATE-TIMEs were measured to run ahead of the media\'s real arrival (next table), so that it is the latency against the media\'s real capture time; median over runs of each run\'s p50/p95. The uncorrected wall − PDT is the column "as served". TTFF = from `hls.loadSource()` to the first rendered frame (requestVideoFrameCallback). Stalls = `waiting` events after the first `playing` and runs where currentTime stood still > 0.5 s while not paused, merged; count and total seconds over all runs. Blocking delay = `streamd_blocking_answer_delay_seconds` (playlist and part kinds together), p99 estimated by linear interpolation inside the histogram buckets (bounds 0.5, 1, 2, 3, 5, 10, … ms), so it is an estimate, not a measured order statistic.',
    '',
    detailTable(rows),
    '',
    '"PDT ahead of arrival" checks the dates themselves: how far a config\'s PROGRAM-DATE-TIME runs ahead of when its media really became available (streamd: PDT of a part\'s end − when the part was first listed, polling the media playlist every 50 ms; baseline: PDT of a segment\'s end − the segment file\'s mtime, FFmpeg writing a segment when it closes), the least delayed part or segment counting. Both date media time zero by when the first key frame came out of the publisher\'s encoder (streamd: its arrival at ingest; FFmpeg: its HLS muxer starting), while `-re` paces the media from FFmpeg\'s input start: the publisher\'s start-up delay, spent before that first frame, is caught up afterwards, so every later frame arrives earlier than its date says and wall − PDT reads low by that much for the whole session. The latency columns add it back; for a streamd part closed on its last frame the estimate reads up to one frame (33 ms) high, so streamd\'s corrected latency errs high, never low.',
    '',
    '"Edge ahead of playhead" is the player\'s buffer behind the newest media its playlist lists (hls.js `details.edge − currentTime`; not known for dash.js); "edge behind wall clock" is the rest of the latency (wall − PDT − edge-ahead): publishing, packaging and playlist staleness.',
    '',
    blockingTable(rows),
    '',
    loadTable(rows),
  ]
  const ahead = rows.filter((r) => r.pdtAheads.length)
  if (ahead.length) {
    lines.push('', `PDT ahead of arrival, per run: ${ahead.map((r) => `${r.label}: ${r.pdtAheads.map((o) => `${o.offsetS.toFixed(3)} s (n ${o.n})`).join(', ')}`).join('; ')}.`)
  }
  const stalled = rows.filter((r) => r.stallsAt.length)
  if (stalled.length) lines.push('', `Stalls: ${stalled.map((r) => `${r.label}: ${r.stallsAt.join(', ')}`).join('; ')}.`)
  lines.push('', `Player requests by status: ${rows.map((r) => `${r.label}: ${r.responses.map((x) => Object.entries(x).map(([k, n]) => `${k}×${n}`).join(' ')).join(' | ')}`).join('; ')}.`)
  return lines.join('\n')
}

/**
 * Put a bench's section into RESULTS.md between its `<!-- bench:NAME:start/end -->`
 * markers: replace its previous one, else append; never touch the rest.
 */
export function writeResults(file, section, name = 'latency') {
  const START = `<!-- bench:${name}:start -->`
  const END = `<!-- bench:${name}:end -->`
  const block = `${START}\n${section}\n${END}\n`
  let text = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const a = text.indexOf(START)
  const b = text.indexOf(END)
  if (a >= 0 && b > a) text = text.slice(0, a) + block + text.slice(b + END.length + 1)
  else text = text + (text && !text.endsWith('\n\n') ? (text.endsWith('\n') ? '\n' : '\n\n') : '') + block
  writeFileSync(file, text)
}
