/**
 * bench/ladder's write-up of a run: the reference command as shown to readers,
 * the whole Markdown report (summary line, tables from ladder-report.mjs, load
 * note, method, attribution, findings, every run), and its section of
 * bench/RESULTS.md. Imported after ladder.mjs has chosen the compiled tree
 * (ladder-plan.mjs loads it at import).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { plannedLadder, referenceCommand, streamdOverrides } from './ladder-plan.mjs'
import { GOALS, attributionTable, loadNoteOf, mainTable, methodText, rolesTable, runsTable } from './ladder-report.mjs'

/** The reference command of `preset`, as run (paths shortened). */
export function showReference(preset) {
  const { config, plan } = plannedLadder(streamdOverrides(preset))
  const ref = referenceCommand(plan, config.hls.segmentTarget)
  const q = (a) => (/[\s;\[\]()*,]/.test(a) ? `'${a}'` : a)
  const parts = ['ffmpeg -hide_banner -nostdin -loglevel warning [-re] -i src.flv -filter_complex', q(ref.graph)]
  for (const o of ref.outputs) parts.push(`\\\n  -map ${q(o.map)} ${o.options.map(q).join(' ')} ${ref.fmp4Flags.join(' ')} ${o.name}.mp4`)
  return parts.join(' ')
}

/** The Markdown report of a run's `data` and its summary `rows`, with the optional attribution run and findings text. */
export function composeReport(data, rows, { refShown, attribution, findings }) {
  const loadNote = loadNoteOf(data)
  const renditions = Object.values(data.runs)[0]?.[0]?.renditions ?? []
  const method = methodText(data, refShown)
  return [
    `Run ${data.env.date.slice(0, 16).replace('T', ' ')} UTC: ${data.env.cpu} × ${data.env.cores}, Node ${data.env.node}, ${data.env.ffmpeg}; ` +
    `${data.seconds} s of 1080p30 testsrc2 (easy content), ${Object.values(data.runs)[0]?.length ?? 0} repetitions interleaved, medians (per-rep range in parentheses). ` +
    `Ladder: ${renditions.join(', ')} (configured as \`ladder.rungs\` with streamd's seed bitrates and profiles, copyTop false). ` +
    `Goals: ladder CPU ≤ ${GOALS.cpuRatio}× the reference; veryfast ≥ ${GOALS.veryfastSpeed}× real time on this ${data.env.cores}-core box.`,
    '',
    mainTable(rows),
    '',
    'Where streamd\'s CPU goes (CPU-s per content-s; per-pid samples of workerPids(), so slightly under the exact totals above):',
    '',
    rolesTable(rows),
    '',
    loadNote,
    '',
    method,
    '',
    ...(attribution ? ['**Attribution** (bench/lib/ladder-attribution.mjs: FFmpeg runs that add one piece of streamd\'s decoder at a time; ' + `run ${attribution.date.slice(0, 16).replace('T', ' ')} UTC):`, '', attributionTable(attribution), ''] : []),
    ...(findings ? [findings, ''] : []),
    '<details><summary>Every run</summary>',
    '',
    runsTable(data.runs, data.seconds),
    '',
    '</details>',
  ].join('\n')
}

/** Put the report of the run dated `date` into `resultsFile` as bench/ladder's section. */
export function recordResults(resultsFile, date, report) {
  const BEGIN = '<!-- bench:ladder:start -->'
  const END = '<!-- bench:ladder:end -->'
  const block = `${BEGIN}\n## bench/ladder — ABR ladder CPU and speed (\`npm run bench:ladder\`, ${date.slice(0, 19)}Z)\n\n${report}\n${END}`
  let text = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : ''
  const a = text.indexOf(BEGIN)
  const b = text.indexOf(END)
  // Only this bench's own section is replaced; everything else in the file stays as it is.
  text = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.replace(/\n*$/, '')}${text ? '\n\n' : ''}${block}\n`
  writeFileSync(resultsFile, text)
}
