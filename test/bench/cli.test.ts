/**
 * The bench scripts' command line (bench/lib/cli.mjs): --help / -h print usage and
 * exit 0, an unknown option or a malformed value is one line and exit 2, all before
 * any work; and SIGTERM stops every descendant (tracked child and grandchild) by pid.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const bench = (name: string) => fileURLToPath(new URL(`../../bench/${name}.mjs`, import.meta.url))
const fixture = fileURLToPath(new URL('./fixtures/stop-fixture.mjs', import.meta.url))
const SCRIPTS = ['serve', 'latency', 'ladder', 'surge', 'srt-loss', 'edge-spread', 'blocking-path', 'shield', 'playlist-render', 'failover']
/** Run a bench script to its exit (async, so the scripts of one test run side by side). */
function run(file: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    child.once('close', (status) => resolve({ status, stdout, stderr }))
  })
}

for (const name of SCRIPTS) {
  t.test(`bench/${name}`, async (t) => {
    const [help, h, r] = await Promise.all([run(bench(name), ['--help']), run(bench(name), ['-h']), run(bench(name), ['--bogus'])])
    for (const [flag, out] of [['--help', help], ['-h', h]] as const) {
      t.equal(out.status, 0, `${flag} exits 0`)
      t.match(out.stdout, /^usage: /, `${flag} prints the usage`)
      t.equal(out.stderr, '', `${flag} prints nothing on stderr`)
    }
    t.equal(r.status, 2, '--bogus exits 2')
    t.equal(r.stdout, '', 'nothing on stdout')
    t.match(r.stderr, new RegExp(`^bench/${name}: unknown option --bogus; allowed: .*\\(see --help\\)\\n$`), 'one line naming the option and what is allowed')
  })
}

t.test('malformed values are refused in one line', async (t) => {
  const cases: Array<[string, string[], RegExp]> = [
    ['srt-loss', ['--seconds', 'abc'], /--seconds must be a number in \(0, 120\]; got 'abc'/],
    ['srt-loss', ['--runs'], /--runs needs a value/],
    ['serve', ['--servers', 'nginx,apache'], /--servers: unknown 'apache' \(allowed: /],
    ['serve', ['--quick=yes'], /--quick takes no value/],
    ['latency', ['--configs', 'streamd-9'], /--configs: 'streamd-9' is not a config/],
    ['ladder', ['--presets', 'turbo'], /--presets: unknown 'turbo'/],
    ['surge', ['stray'], /unexpected argument 'stray'/],
    ['playlist-render', ['--reps', '0'], /--reps must be an integer in \[1, 50\]; got '0'/],
    ['playlist-render', ['--alt-dist', '/nonexistent'], /no compiled streamd in \/nonexistent/],
    ['failover', ['--every', '5'], /--every must be a number in \[12, 600\]; got '5'/],
    ['failover', ['--backup', 'udp'], /--backup must be one of srt, rtmp; got 'udp'/],
    ['failover', ['--duration', '20', '--every', '20'], /--every \(20\) must be less than --duration \(20\)/],
    ['failover', ['--report', '/nonexistent'], /--report: no file '\/nonexistent'/],
  ]
  const results = await Promise.all(cases.map(([name, args]) => run(bench(name), args)))
  for (const [i, [name, args, message]] of cases.entries()) {
    const r = results[i]!
    t.equal(r.status, 2, `${name} ${args.join(' ')}: exit 2`)
    t.match(r.stderr, message, `${name} ${args.join(' ')}: says why`)
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line')
  }
})

/** Whether `pid` still runs (a zombie waiting for init does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

t.test('SIGTERM stops the tracked child and the grandchild, exit 143', async (t) => {
  const proc = spawn(process.execPath, [fixture, '--seconds', '30'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (proc.exitCode === null) proc.kill('SIGKILL') })
  const line = await new Promise<string>((resolve) => proc.stdout.setEncoding('utf8').once('data', (d: string) => resolve(d)))
  const pids = JSON.parse(line) as number[]
  t.equal(pids.length, 3, 'sleep, sh and the sleep under sh')
  t.ok(pids.every(running), 'all running before the signal')
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  proc.kill('SIGTERM')
  t.equal(await exited, 143, 'exit 143')
  for (let i = 0; i < 50 && pids.some(running); i++) await new Promise((r) => setTimeout(r, 20))
  t.same(pids.filter(running), [], 'no descendant left')
})
