/**
 * bench/ladder's summary: medians over repetitions, paired ratios, the goal
 * verdicts, and Markdown tables (they paste into RESULTS.md unchanged).
 */

/** Goals from the issue. */
export const GOALS = { cpuRatio: 1.1, veryfastSpeed: 1.5 }

/** Median (mean of the middle two for even lengths); NaN for none. */
export function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  const n = s.length
  if (n === 0) return NaN
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–')
const range = (xs, d = 2) => (xs.filter(Number.isFinite).length ? `${fmt(Math.min(...xs.filter(Number.isFinite)), d)}–${fmt(Math.max(...xs.filter(Number.isFinite)), d)}` : '–')

/** Highest paced rate a speed sweep sustained, and content/wall measured at it. */
function sustained(sweep) {
  const ok = sweep.filter((s) => s.sustained).sort((a, b) => b.readrate - a.readrate)[0]
  const failed = sweep.filter((s) => !s.sustained).sort((a, b) => a.readrate - b.readrate)[0]
  return { rate: ok?.readrate ?? NaN, measured: ok ? ok.content / ok.wallSeconds : NaN, failedAt: failed?.readrate }
}

/**
 * One row per preset from the runs of every repetition:
 * runs[preset] = [{ rep, streamd, reference, referenceFast, sweep: [...] }]
 */
export function summarise(runs, contentSeconds) {
  const rows = []
  for (const [preset, reps] of Object.entries(runs)) {
    const per = (f) => reps.map(f)
    const workers = per((r) => r.streamd.workersCpu / contentSeconds)
    const node = per((r) => r.streamd.nodeCpu / contentSeconds)
    const both = per((r) => (r.streamd.workersCpu + r.streamd.nodeCpu) / contentSeconds)
    const ref = per((r) => r.reference.cpu / contentSeconds)
    const ratioW = per((r) => r.streamd.workersCpu / r.reference.cpu)
    const ratioB = per((r) => (r.streamd.workersCpu + r.streamd.nodeCpu) / r.reference.cpu)
    const refSpeed = per((r) => (r.referenceFast ? r.referenceFast.content / r.referenceFast.wallSeconds : NaN))
    const unpaced = per((r) => (r.streamdFast?.fast ? r.streamdFast.fast.media / r.streamdFast.fast.seconds : NaN))
    // Lossless: no note but the other-load one (that is about the machine, not the ladder).
    const unpacedClean = per((r) => (r.streamdFast ? r.streamdFast.notes.every((n) => /^others used/.test(n)) : undefined))
    const sweeps = per((r) => (r.sweep ? sustained(r.sweep) : undefined)).filter(Boolean)
    const roles = {}
    for (const r of reps) for (const [role, cpu] of Object.entries(r.streamd.roles)) (roles[role] ??= []).push(cpu / contentSeconds)
    rows.push({
      preset,
      reps: reps.length,
      workers: median(workers),
      node: median(node),
      both: median(both),
      ref: median(ref),
      ratioW: median(ratioW),
      ratioWRange: range(ratioW),
      ratioB: median(ratioB),
      ratioBRange: range(ratioB),
      speedStreamd: median(sweeps.map((s) => s.rate)),
      speedStreamdMeasured: median(sweeps.map((s) => s.measured)),
      speedStreamdRange: range(sweeps.map((s) => s.rate)),
      speedFailedAt: sweeps.map((s) => s.failedAt),
      speedUnpaced: median(unpaced),
      speedUnpacedRange: range(unpaced),
      unpacedClean: unpacedClean.filter((x) => x === true).length,
      unpacedRuns: unpacedClean.filter((x) => x !== undefined).length,
      speedRef: median(refSpeed),
      speedRefRange: range(refSpeed),
      roles: Object.fromEntries(Object.entries(roles).map(([k, v]) => [k, median(v)])),
      publisher: median(per((r) => r.streamd.publisherCpu / contentSeconds)),
      otherLoad: median(per((r) => Math.max(r.streamd.otherBusy ?? NaN, r.reference.otherBusy ?? NaN))),
    })
  }
  return rows
}

/** ✓ / ✗ for one goal. */
const mark = (ok) => (ok === undefined ? 'n/a' : ok ? '✓' : '✗')

/** The main table. */
export function mainTable(rows) {
  const head = '| preset | streamd workers CPU-s/content-s | + node | reference CPU-s/content-s | ratio (workers) | ratio (workers+node) | speed ×RT streamd unpaced | speed ×RT streamd (readrate sweep) | speed ×RT reference | goals met? |'
  const sep = '|---|--:|--:|--:|--:|--:|--:|--:|--:|---|'
  const lines = rows.map((r) => {
    const cpuW = r.ratioW <= GOALS.cpuRatio
    const cpuB = r.ratioB <= GOALS.cpuRatio
    const best = Number.isFinite(r.speedUnpaced) ? r.speedUnpaced : r.speedStreamd
    const speed = r.preset === 'veryfast' && Number.isFinite(best) ? best >= GOALS.veryfastSpeed : undefined
    const goals = [`CPU ≤ ${GOALS.cpuRatio}× (workers) ${mark(cpuW)}`, `(workers+node) ${mark(cpuB)}`]
    if (r.preset === 'veryfast') goals.push(`≥ ${GOALS.veryfastSpeed}× RT ${mark(speed)}`)
    const fails = r.speedFailedAt.filter((x) => x !== undefined)
    const speedS = Number.isFinite(r.speedStreamd)
      ? `${fmt(r.speedStreamd)}× sustained (${fmt(r.speedStreamdMeasured)}× measured)${fails.length ? `, not ${fmt(Math.min(...fails))}×` : ''}`
      : (fails.length ? `< ${fmt(Math.min(...fails))}×` : '–')
    const unpacedS = Number.isFinite(r.speedUnpaced) ? `${fmt(r.speedUnpaced)}× (${r.speedUnpacedRange}; ${r.unpacedClean}/${r.unpacedRuns} runs lossless)` : '–'
    return `| ${r.preset} | ${fmt(r.workers, 3)} | ${fmt(r.both, 3)} (node ${fmt(r.node, 3)}) | ${fmt(r.ref, 3)} | ${fmt(r.ratioW)}× (${r.ratioWRange}) | ${fmt(r.ratioB)}× (${r.ratioBRange}) | ${unpacedS} | ${speedS} | ${fmt(r.speedRef)}× (${r.speedRefRange}) | ${goals.join(', ')} |`
  })
  return [head, sep, ...lines].join('\n')
}

/** Where streamd's CPU goes, per role (medians of CPU-s per content-s). */
export function rolesTable(rows) {
  const roles = [...new Set(rows.flatMap((r) => Object.keys(r.roles)))]
  const head = `| preset | ${roles.join(' | ')} | node (ingest, relay, packaging) | publisher (not counted) |`
  const sep = `|---|${roles.map(() => '--:').join('|')}|--:|--:|`
  const lines = rows.map((r) => `| ${r.preset} | ${roles.map((k) => fmt(r.roles[k], 3)).join(' | ')} | ${fmt(r.node, 3)} | ${fmt(r.publisher, 3)} |`)
  return [head, sep, ...lines].join('\n')
}

/** Every run, one line each (for the record). */
export function runsTable(runs, contentSeconds) {
  const head = '| preset | rep | run | wall s | CPU-s | CPU-s/content-s | content s (min video rendition) | other load (cores) | notes |'
  const sep = '|---|--:|---|--:|--:|--:|--:|--:|---|'
  const lines = []
  for (const [preset, reps] of Object.entries(runs)) {
    for (const r of reps) {
      const s = r.streamd
      lines.push(`| ${preset} | ${r.rep} | streamd -re | ${fmt(s.wallSeconds, 1)} | ${fmt(s.workersCpu, 2)} + node ${fmt(s.nodeCpu, 2)} | ${fmt(s.workersCpu / contentSeconds, 3)} + ${fmt(s.nodeCpu / contentSeconds, 3)} | ${fmt(s.content, 2)} | ${fmt(s.otherBusy, 2)} | ${s.notes.join('; ')} |`)
      const ref = r.reference
      lines.push(`| ${preset} | ${r.rep} | reference -re | ${fmt(ref.wallSeconds, 1)} | ${fmt(ref.cpu, 2)} | ${fmt(ref.cpu / contentSeconds, 3)} | ${fmt(ref.content, 2)} | ${fmt(ref.otherBusy, 2)} | ${ref.notes.join('; ')} |`)
      const f = r.referenceFast
      if (f) lines.push(`| ${preset} | ${r.rep} | reference unpaced | ${fmt(f.wallSeconds, 1)} | ${fmt(f.cpu, 2)} | ${fmt(f.cpu / contentSeconds, 3)} | ${fmt(f.content, 2)} | ${fmt(f.otherBusy, 2)} | ${fmt(f.content / f.wallSeconds)}× RT${f.notes.length ? '; ' + f.notes.join('; ') : ''} |`)
      const u = r.streamdFast
      if (u) lines.push(`| ${preset} | ${r.rep} | streamd unpaced | ${fmt(u.wallSeconds, 1)} | ${fmt(u.workersCpu, 2)} + node ${fmt(u.nodeCpu, 2)} | ${fmt(u.workersCpu / contentSeconds, 3)} + ${fmt(u.nodeCpu / contentSeconds, 3)} | ${fmt(u.content, 2)} | ${fmt(u.otherBusy, 2)} | ${u.fast ? `${fmt(u.fast.media / u.fast.seconds)}× RT (${fmt(u.fast.media, 0)} s in every video rendition after ${fmt(u.fast.seconds)} s)` : 'never had all but the last segment'}${u.notes.length ? '; ' + u.notes.join('; ') : ''} |`)
      for (const w of r.sweep ?? []) {
        lines.push(`| ${preset} | ${r.rep} | streamd -readrate ${w.readrate} | ${fmt(w.wallSeconds, 1)} | ${fmt(w.workersCpu, 2)} + node ${fmt(w.nodeCpu, 2)} | ${fmt(w.workersCpu / contentSeconds, 3)} + ${fmt(w.nodeCpu / contentSeconds, 3)} | ${fmt(w.content, 2)} | ${fmt(w.otherBusy, 2)} | ${w.sustained ? 'sustained' : 'NOT sustained'}, ${fmt(w.content / w.wallSeconds)}× RT measured${w.notes.length ? '; ' + w.notes.join('; ') : ''} |`)
      }
    }
  }
  return [head, sep, ...lines].join('\n')
}

/** bench/lib/ladder-attribution.mjs's result as Markdown. */
export function attributionTable(a) {
  const lines = [
    `${a.preset}, ${a.seconds} s source, unpaced, medians of ${a.reps}; ladder ${a.ladder.join(', ')}`,
    '',
    '| FFmpeg run (unpaced) | CPU-s/content-s | ×RT | others (cores) |',
    '|---|--:|--:|--:|',
  ]
  for (const r of a.rows) {
    const extra = r.drainCpuPerContent !== undefined ? ` (+ Node draining ${(r.pipedBytesPerContent / 1e6).toFixed(0)} MB/content-s: ${r.drainCpuPerContent.toFixed(3)})` : ''
    lines.push(`| ${r.name} | ${r.cpuPerContent.toFixed(3)}${extra} | ${r.speed.toFixed(2)} | ${r.others.toFixed(2)} |`)
  }
  return lines.join('\n')
}

/** What the machine's other users did around the runs (the bench's quiet waits and retries). */
export function loadNoteOf(data) {
  const { quietCores, maxOther, retries } = data.settings
  const others = Object.values(data.runs).flat().flatMap((r) => [r.streamd, r.reference, r.referenceFast, r.streamdFast, ...(r.sweep ?? [])]).filter(Boolean).map((x) => x.otherBusy)
  const gaveUp = data.quiet.filter((q) => q.gaveUp).length
  const waited = data.quiet.reduce((a, q) => a + q.waitedS, 0)
  const retried = Object.values(data.runs).flat().flatMap((r) => [r.streamd, r.reference, r.referenceFast, r.streamdFast, ...(r.sweep ?? [])]).filter((x) => x?.attempts > 1).length
  return `Other load: before each run the bench waited for < ${quietCores} busy cores from others (waited ${waited.toFixed(0)} s in all${gaveUp ? `; gave up waiting ${gaveUp}×` : ''}), ` +
    `and ran again (up to ${retries}×) a run during which others used > ${maxOther} cores (${retried} runs were retried); ` +
    `during the runs others used ${Math.min(...others).toFixed(2)}–${Math.max(...others).toFixed(2)} cores (median ${[...others].sort((a, b) => a - b)[Math.floor(others.length / 2)].toFixed(2)}), ` +
    `1-min load average when runs started ${Math.min(...data.quiet.map((q) => q.load1)).toFixed(2)}–${Math.max(...data.quiet.map((q) => q.load1)).toFixed(2)}.`
}

/** How the runs were made, for the report (`refShown`: the reference command as run). */
export function methodText(data, refShown) {
  return [
    '**What runs.** streamd: an `Origin` from dist/ in its own Node process (bench/lib/ladder-origin-child.mjs), HTTP and RTMP on 127.0.0.1 port 0, ' +
    '`ladder: { enabled: true, copyTop: false, preset, rungs: [720p 2800k high, 480p 1200k main, 360p 700k main] }`; FFmpeg publishes the FLV with `-c copy` to `rtmp://127.0.0.1:PORT/live/bench`. ' +
    'Its workers: one decoder (decode once; fps, split, scale per rung; raw yuv420p on one pipe per rung), one libx264 encoder per rung reading raw frames that Node relays, one audio remux (AAC copied). ' +
    'Reference: one FFmpeg with streamd\'s own decoder graph (decoderArgs) and, per rung, streamd\'s own encoder options (encoderArgs, from `-c:v` up to `-output_ts_offset`), the same fMP4 flags, audio copied; outputs to files in tmp, probed afterwards:',
    '',
    '```',
    refShown,
    '```',
    '',
    '**CPU** (runs paced at real time, `-re`): streamd workers = the Origin process\'s cutime+cstime delta from publish start until the pipeline has stopped (every worker, restarted ones included, reaped by then); ' +
    '"+ node" adds the Origin process\'s own utime+stime over the same span (RTMP ingest, raw-frame relay, fMP4 parsing and packaging). The publisher\'s CPU is not counted (the reference reads the file itself; it is shown in the second table). ' +
    'Reference = the bench process\'s cutime+cstime delta around the FFmpeg process (its only child exiting then). Divided by 60 content-seconds. ' +
    '`workerPids()` is also polled every 100 ms and every pid\'s utime+stime read every 250 ms from /proc, for the split by role.',
    '',
    `**Speed.** Reference: unpaced (no \`-re\`), content-seconds ÷ wall-seconds. streamd unpaced: the FLV is published as fast as FFmpeg reads it, the decoder's input queue raised (\`worker.inputQueueBytes\`; and \`rtmp.idleTimeoutMs\` raised, as the publisher idles once it has sent everything) so the whole file queues in Node rather than dropping to key frames, the relay holding the decoder back for its slowest encoder; ` +
    `speed = media seconds every video rendition has ÷ seconds from publish start, taken when all segments but the last are complete (the last completes only when the input ends). ` +
    `Readrate sweep (when run): the highest publish rate (\`-readrate R\`, R from ${(data.settings.rates ?? []).join(', ')}) at which every rendition still gets the whole minute (≥ 59 s of media each) with no gap, discontinuity, drop, restart or shed rung, searched from 1.5× upward (downward if 1.5× fails); "measured" is content-seconds ÷ wall-seconds (publish start to pipeline stopped) of that run.`,
  ].join('\n')
}
