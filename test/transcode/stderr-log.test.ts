import t from 'tap'
import { pino } from 'pino'
import { Writable } from 'node:stream'
import { StderrLog } from '../../src/transcode/stderr-log.js'
import { SupervisedWorker } from '../../src/transcode/worker.js'

/** A pino logger whose JSON lines land in `lines`. */
function capture() {
  const lines: any[] = []
  const sink = new Writable({ write(chunk, _enc, cb) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l)); cb() } })
  return { log: pino({ level: 'info' }, sink), lines }
}

t.test('a flood of lines is logged within the budget, the rest counted once per window', async (t) => {
  const { log, lines } = capture()
  let now = 0
  const s = new StderrLog(log, { now: () => now, perWindow: 5 })
  s.push('first\nsec')
  s.push('ond\n\n   \n')
  for (let i = 0; i < 100; i++) s.push(`frame ${i}: non monotonic dts\n`)
  await new Promise((r) => setImmediate(r))
  t.same(lines.map((l) => l.ffmpeg), ['first', 'second', 'frame 0: non monotonic dts', 'frame 1: non monotonic dts', 'frame 2: non monotonic dts'], 'lines split across chunks are joined; blank lines skipped')
  now = 10_000
  s.push('next window\n')
  await new Promise((r) => setImmediate(r))
  t.equal(lines[5].suppressed, 97, 'the suppressed lines are counted')
  t.equal(lines[5].last, 'frame 99: non monotonic dts', 'with the last one')
  t.equal(lines[6].ffmpeg, 'next window', 'and a new window logs again')
  s.flush()
  t.equal(lines.length, 7, 'nothing more to say')
})

t.test('an unterminated line cannot grow without bound; long lines are cut', async (t) => {
  const { log, lines } = capture()
  const s = new StderrLog(log)
  for (let i = 0; i < 100; i++) s.push('x'.repeat(1000))
  s.push('\n')
  await new Promise((r) => setImmediate(r))
  t.equal(lines.length, 1)
  t.equal(lines[0].ffmpeg.length, 500)
})

t.test('a worker printing a line per frame logs its budget and a summary at exit', async (t) => {
  const { log, lines } = capture()
  let exit!: () => void
  const exited = new Promise<void>((resolve) => { exit = resolve })
  const w = new SupervisedWorker({
    ffmpeg: '/bin/sh', args: ['-c', 'i=0; while [ $i -lt 300 ]; do echo "warning $i" >&2; i=$((i+1)); done'],
    logger: log, minBackoffMs: 60_000, maxBackoffMs: 60_000, onSpawn: () => {}, onExit: () => exit(),
  })
  w.start()
  await exited
  await w.stop()
  await new Promise((r) => setImmediate(r))
  const said = lines.filter((l) => l.ffmpeg !== undefined)
  const summary = lines.find((l) => l.suppressed !== undefined)
  t.equal(said.length, 20, 'twenty lines logged')
  t.equal(summary?.suppressed, 280, 'the other 280 counted')
})
