/**
 * Attack replay: SRT refusals as log and memory amplification, against a real
 * server with a canary playing and a passphrase set. First srt-live-transmit
 * with a wrong passphrase, reconnecting on its own for 8 s (a real client's
 * retry loop); then 5,000 wrong-key conclusions from one address holding a
 * valid cookie. The server answers them all, logs a handful of lines, stays
 * within its memory bound, and the canary keeps playing.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { startCanaryServer } from '../helpers/canary.js'
import { SrtCaller, bogusKeyMaterial } from '../helpers/srt-caller.js'

const PASSPHRASE = 'the right passphrase'
/** RSS growth allowed over the flood (the canary's stores fill meanwhile): refusals must not hold memory. */
const RSS_GROWTH_BOUND = 24 * 1024 * 1024
/** Refusal log lines allowed per replay (one per host per 10 s, plus a flushed count). */
const LOG_LINE_BOUND = 5

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const refusalLines = (log: string): number => log.split('\n').filter((l) => /"msg":"[^"]*refused/.test(l)).length

t.test('SRT refusals: a reconnect loop and a flood cost a few log lines and no memory', async (t) => {
  const s = await startCanaryServer(t, { config: { srt: { passphrase: PASSPHRASE } } })

  t.test('srt-live-transmit reconnecting with a wrong passphrase for 8 s', async (t) => {
    const lines0 = refusalLines(s.logText())
    const slt = spawn('srt-live-transmit', ['-v', 'file://con', `srt://127.0.0.1:${s.srtPort}?streamid=publish:slt:k&passphrase=not the passphrase`], { stdio: ['pipe', 'ignore', 'pipe'] })
    let stderr = ''
    slt.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-20_000) })
    slt.stdin!.on('error', () => { /* it may exit while we write */ })
    const gone = new Promise((r) => slt.once('exit', r))
    t.teardown(async () => { if (slt.exitCode === null && slt.pid) process.kill(slt.pid, 'SIGKILL'); await gone })
    const feed = setInterval(() => slt.stdin!.write(Buffer.alloc(1316, 0x47)), 5)
    await sleep(8000)
    clearInterval(feed)
    const attempts = stderr.match(/REJECT/g)?.length ?? 0
    t.ok(attempts >= 5, `srt-live-transmit was refused and retried (${attempts} rejections seen)`)
    const lines = refusalLines(s.logText()) - lines0
    t.ok(lines <= LOG_LINE_BOUND, `${lines} refusal log lines for ${attempts} refused attempts`)
    await s.assertAdvancing(t)
  })

  t.test('5,000 wrong-key conclusions with a valid cookie', async (t) => {
    await sleep(10_500) // the previous host window passes: the flood starts fresh
    const lines0 = refusalLines(s.logText())
    const rss0 = s.rss()
    const c = await SrtCaller.open(s.srtPort)
    t.teardown(() => c.close())
    await c.induction()
    let answered = 0
    c.sock.on('message', () => { answered++ })
    const n = 5000
    for (let i = 0; i < n; i++) {
      await c.send(c.conclusionPacket({ streamid: `publish:flood:k${i}`, km: bogusKeyMaterial() }).packet)
      if (i % 100 === 99) await sleep(10)
    }
    const until = Date.now() + 15_000
    while (answered < n && Date.now() < until) await sleep(100)
    t.ok(answered >= n * 0.95, `${answered} of ${n} conclusions answered`)
    await s.assertAdvancing(t)
    const lines = refusalLines(s.logText()) - lines0
    t.ok(lines <= LOG_LINE_BOUND, `${lines} refusal log lines for ${n} refusals`)
    const growth = s.rss() - rss0
    t.ok(growth < RSS_GROWTH_BOUND, `RSS grew ${(growth / 2 ** 20).toFixed(1)} MiB (bound ${RSS_GROWTH_BOUND / 2 ** 20} MiB)`)
  })
})
