// Attack replay: the AMF0 connect bomb (830,584 three-byte keys, 4.98 MB), sent by
// four connections in a loop, no key needed. Before the fix each took decodeAmf0
// 1.18 s on the event loop: health probes waited up to 6.7 s and a live stream's
// playlist stalled 7.5 s. Now the message is refused on its chunk header (and one
// of the same shape under the command size limit by the AMF0 entry limit).
// Against a real server process with the default config while a canary stream plays.
import t from 'tap'
import { startCanaryServer } from '../helpers/canary.js'
import { Attacker, connectBomb } from './rtmp-attacker.js'

/** The loop runs this long, or until this many bombs were sent. */
const ATTACK_MS = 6000
const MAX_BOMBS = 200
const WORKERS = 4
/** A probe answered later than this means the event loop was held (the attack run saw 6.7 s). */
const PROBE_BOUND_MS = 2000
/** RSS growth allowed over the attack (a refused bomb is never buffered). */
const RSS_BOUND = 100 * 1024 * 1024

t.test('four connections sending the 4.98 MB connect bomb in a loop', async (t) => {
  const s = await startCanaryServer(t)
  await s.assertAdvancing(t, 5000, 'canary before the attack')
  const rssBefore = s.rss()
  const bomb = connectBomb()
  t.equal((bomb.length / 1e6).toFixed(2), '4.98', 'the bomb is the 4.98 MB message of the report')
  // A fifth connection loops the same shape under the 64 KiB command limit: refused by the AMF0 limits instead.
  const small = connectBomb(10_000)
  t.ok(small.length < 65536, `the small bomb is ${small.length} bytes`)

  const attackers: Attacker[] = []
  const end = Date.now() + ATTACK_MS
  let sent = 0
  const worker = async (payload: Buffer): Promise<void> => {
    while (Date.now() < end && sent < MAX_BOMBS) {
      const a = await Attacker.open(s.rtmpPort)
      attackers.push(a)
      if (!(await a.handshake())) continue
      sent++
      a.send(payload)
      // The next bomb follows as soon as the server dealt with this one: closed it, or
      // answered it (what the attack run's loop did), or after 5 s.
      await a.closedOrAnswered(5000)
      a.destroy()
    }
  }
  const probes: number[] = []
  let probing = true
  const probe = async (): Promise<void> => {
    while (probing) {
      const started = Date.now()
      const r = await fetch(`${s.http}/healthz`, { signal: AbortSignal.timeout(15_000) }).catch(() => undefined)
      probes.push(r?.status === 200 ? Date.now() - started : Infinity)
      await new Promise((res) => setTimeout(res, 100))
    }
  }
  const probing$ = probe()
  const attack = Promise.all([...Array.from({ length: WORKERS }, () => worker(bomb)), worker(small)])
  // The canary keeps advancing while the bombs land.
  await s.assertAdvancing(t, 5000, 'canary during the attack')
  await attack
  probing = false
  await probing$

  t.ok(s.alive(), 'server still running')
  t.ok(sent >= WORKERS, `${sent} bombs sent by ${WORKERS + 1} connections in a loop`)
  const answered = attackers.filter((a) => a.gotResult).length
  t.equal(answered, 0, 'no bomb was answered with _result (none was decoded)')
  const stillOpen = attackers.filter((a) => !a.isClosed).length
  t.equal(stillOpen, 0, 'every bomb connection is closed')
  const worst = Math.max(...probes)
  t.comment(`health probes: ${probes.length}, slowest ${worst} ms; RSS ${Math.round(rssBefore / 1e6)} -> ${Math.round(s.rss() / 1e6)} MB`)
  t.ok(probes.length >= 5 && worst < PROBE_BOUND_MS, `every health probe answered within ${PROBE_BOUND_MS} ms (slowest ${worst} ms)`)
  t.ok(s.rss() - rssBefore < RSS_BOUND, `RSS grew less than 100 MB (${Math.round((s.rss() - rssBefore) / 1e6)} MB)`)
  // One refusal line per address per 10 s, however many bombs.
  const lines = s.logText().split('\n').filter((l) => l.includes('rtmp: connection refused'))
  t.ok(lines.length >= 1 && lines.length <= 2, `refusals logged rate-limited: ${lines.length} line(s) for ${sent} bombs`)
  await s.assertAdvancing(t, 5000, 'canary after the attack')
})
