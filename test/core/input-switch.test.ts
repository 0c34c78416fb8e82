/**
 * The input switch policy, driven like a session drives it: two simulated
 * publishers (a tag every 40 ms, a key frame every second from each connect)
 * on a fake clock, ticked every 100 ms. Each scenario lists every switch it
 * must produce, with its time, so a switch too early, too late, at a non-key
 * frame or one too many fails it; the simulation also checks, at every tag,
 * that exactly the on-air input's tags are forwarded.
 */
import t from 'tap'
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { InputSwitch, type InputRole, type InputSwitchOptions, type OnAir, type Switch, type SwitchCause, type SwitchTarget } from '../../src/core/input-switch.js'

const STEP = 10
const TAG_EVERY = 40
const TICK_PHASE = 50
const TICK_EVERY = 100

/** One simulated publisher: connected during `up`, sending nothing during `silent` ([from, to) ms). */
interface Plan {
  up: Array<[number, number]>
  silent?: Array<[number, number]>
}

type Expected = [at: number, from: OnAir, to: OnAir, cause: SwitchCause]

interface Scenario {
  name: string
  opts?: Partial<InputSwitchOptions>
  primary?: Plan
  backup?: Plan
  /** Manual requests; `refused` is the reason expected, else the request must be taken. */
  requests?: Array<{ at: number; target: SwitchTarget; refused?: RegExp }>
  until: number
  switches: Expected[]
  ended?: boolean
  /** Times of the flapping notes expected per input. */
  notes?: Partial<Record<InputRole, number[]>>
}

/** Connected [from, from + 1 s) every 2 s: an input that connects and drops every second. */
function flap(from: number, to: number): Array<[number, number]> {
  const up: Array<[number, number]> = []
  for (let k = from; k < to; k += 2000) up.push([k, k + 1000])
  return up
}

const within = (spans: Array<[number, number]> | undefined, at: number): boolean => (spans ?? []).some(([a, b]) => at >= a && at < b)

interface Run {
  switches: Expected[]
  violations: string[]
  notes: Record<InputRole, number[]>
  refusals: string[]
  sw: InputSwitch
}

function simulate(s: Scenario): Run {
  let clock = 0
  const sw = new InputSwitch({ now: () => clock, lossMs: 500, return: 'primary', returnAfterMs: 10_000, slateMaxSeconds: 60, ...s.opts })
  const plans: Record<InputRole, Plan | undefined> = { primary: s.primary, backup: s.backup }
  const connectedAt: Record<InputRole, number | null> = { primary: null, backup: null }
  const switches: Expected[] = []
  const violations: string[] = []
  const notes: Record<InputRole, number[]> = { primary: [], backup: [] }
  const refusals: string[] = []
  let last: OnAir = 'none'
  const saw = (x: Switch | null, where: string, causes: SwitchCause[]): void => {
    if (x === null) return
    switches.push([x.at, x.from, x.to, x.cause])
    if (x.at !== clock) violations.push(`${where}: switch dated ${x.at} at ${clock}`)
    if (x.from !== last) violations.push(`${where}: switch from ${x.from} but ${last} was on air`)
    if (x.to !== sw.onAir) violations.push(`${where}: switch to ${x.to} but onAir is ${sw.onAir}`)
    if (!causes.includes(x.cause)) violations.push(`${where}: cause ${x.cause} at ${clock}`)
    last = x.to
  }
  const roles: InputRole[] = ['primary', 'backup']
  for (clock = 0; clock <= s.until; clock += STEP) {
    for (const role of roles) {
      const up = within(plans[role]?.up, clock)
      if (up && connectedAt[role] === null) {
        connectedAt[role] = clock
        saw(sw.connect(role), `connect ${role}`, ['loss'])
      } else if (!up && connectedAt[role] !== null) {
        connectedAt[role] = null
        saw(sw.disconnect(role), `disconnect ${role}`, ['loss'])
      }
    }
    for (const role of roles) {
      const since = connectedAt[role]
      if (since === null || (clock - since) % TAG_EVERY !== 0 || within(plans[role]?.silent, clock)) continue
      const wasEnded = sw.ended
      const keyframe = (clock - since) % 1000 === 0
      const r = sw.media(role, { keyframe })
      if ((r !== false) !== (sw.onAir === role)) violations.push(`media ${role} at ${clock}: returned ${String(r)} with ${sw.onAir} on air`)
      if (wasEnded && r !== false) violations.push(`media ${role} at ${clock}: forwarded after the end`)
      if (typeof r === 'object') {
        if (!keyframe) violations.push(`media ${role} at ${clock}: switched at a non-key frame`)
        saw(r, `media ${role}`, ['start', 'return', 'manual', 'recovered'])
      }
    }
    for (const q of s.requests ?? []) {
      if (q.at !== clock) continue
      const r = sw.request(q.target)
      if (q.refused) {
        if (r.ok) violations.push(`request ${q.target} at ${clock} was taken; expected refused`)
        else if (!q.refused.test(r.reason)) violations.push(`request ${q.target} at ${clock}: reason "${r.reason}"`)
        else refusals.push(r.reason)
      } else if (!r.ok) violations.push(`request ${q.target} at ${clock} refused: ${r.reason}`)
      else saw(r.switch, `request ${q.target}`, ['manual'])
    }
    if (clock % TICK_EVERY === TICK_PHASE) {
      saw(sw.tick(), 'tick', ['loss', 'slate'])
      for (const role of roles) if (sw.note(role) !== null) notes[role].push(clock)
    }
  }
  return { switches, violations, notes, refusals, sw }
}

const START: Expected = [0, 'none', 'primary', 'start']

const scenarios: Scenario[] = [
  {
    name: 'loss: the primary falls silent, the backup takes over within lossMs and one tick',
    primary: { up: [[0, 20_000]], silent: [[3000, 20_000]] },
    backup: { up: [[200, 20_000]] },
    until: 8000,
    // Last primary tag at 2960; silent more than 500 ms from 3461: the tick at 3550.
    switches: [START, [3550, 'primary', 'backup', 'loss']],
  },
  {
    name: 'loss: the primary connection closes, the backup takes over at once',
    primary: { up: [[0, 3000]] },
    backup: { up: [[200, 8000]] },
    until: 5000,
    switches: [START, [3000, 'primary', 'backup', 'loss']],
  },
  {
    name: 'return: the primary comes back after returnAfterMs of media, at its next key frame',
    primary: { up: [[0, 30_000]], silent: [[3000, 6100]] },
    backup: { up: [[200, 30_000]] },
    until: 20_000,
    // The primary's run starts at 6120 (not a key frame): 10 s later is 16120, its next key frame 17000.
    switches: [START, [3550, 'primary', 'backup', 'loss'], [17_000, 'backup', 'primary', 'return']],
  },
  {
    name: 'sticky: the backup stays on air although the primary is back',
    opts: { return: 'sticky' },
    primary: { up: [[0, 30_000]], silent: [[3000, 6100]] },
    backup: { up: [[200, 30_000]] },
    until: 29_000,
    switches: [START, [3550, 'primary', 'backup', 'loss']],
  },
  {
    name: 'the backup connected first goes on air; the primary returns 10 s after its first tag',
    primary: { up: [[500, 30_000]] },
    backup: { up: [[0, 30_000]] },
    until: 15_000,
    switches: [[0, 'none', 'backup', 'start'], [10_500, 'backup', 'primary', 'return']],
  },
  {
    name: 'manual: the backup goes on air at its next key frame and holds against the return policy',
    primary: { up: [[0, 20_000]] },
    backup: { up: [[200, 20_000]] },
    requests: [{ at: 2500, target: 'backup' }],
    until: 15_000,
    switches: [START, [3200, 'primary', 'backup', 'manual']],
  },
  {
    name: 'manual then auto: the policy decides again, the primary returns at its key frame',
    primary: { up: [[0, 20_000]] },
    backup: { up: [[200, 20_000]] },
    requests: [{ at: 2500, target: 'backup' }, { at: 5000, target: 'auto' }],
    until: 15_000,
    switches: [START, [3200, 'primary', 'backup', 'manual'], [10_000, 'backup', 'primary', 'return']],
  },
  {
    name: 'manual: an input that is not connected, or sends nothing, is refused',
    primary: { up: [[0, 8000]] },
    backup: { up: [[1000, 8000]], silent: [[1000, 8000]] },
    requests: [
      { at: 500, target: 'backup', refused: /^backup is not connected$/ },
      { at: 2000, target: 'backup', refused: /^backup has sent no media in the last 500 ms$/ },
    ],
    until: 5000,
    switches: [START],
  },
  {
    name: 'manual: an input silent past lossMs is refused before any tick has seen it',
    primary: { up: [[0, 8000]] },
    backup: { up: [[0, 8000]], silent: [[1000, 8000]] },
    // The backup's last tag at 960: the tick at 1450 saw 490 ms of silence, the request at 1540 sees 580.
    requests: [{ at: 1540, target: 'backup', refused: /^backup has sent no media in the last 500 ms$/ }],
    until: 3000,
    switches: [START],
  },
  {
    name: 'manual slate: on air at once, held past slateMaxSeconds while inputs are healthy; auto takes the first key frame',
    opts: { slateMaxSeconds: 5 },
    primary: { up: [[0, 30_000]] },
    backup: { up: [[200, 30_000]] },
    requests: [{ at: 2000, target: 'slate' }, { at: 20_000, target: 'auto' }],
    until: 22_000,
    // The primary's key frame at 20000 came before the request: the backup's at 20200 is first; the primary returns at 21000.
    switches: [START, [2000, 'primary', 'slate', 'manual'], [20_200, 'slate', 'backup', 'recovered'], [21_000, 'backup', 'primary', 'return']],
  },
  {
    name: 'manual slate with every input gone: the slate clock starts and the stream ends',
    opts: { slateMaxSeconds: 5 },
    primary: { up: [[0, 10_000]] },
    backup: { up: [[200, 10_000]] },
    requests: [{ at: 2000, target: 'slate' }],
    until: 20_000,
    switches: [START, [2000, 'primary', 'slate', 'manual'], [15_050, 'slate', 'none', 'slate']],
    ended: true,
  },
  {
    name: 'manual slate is refused when the slate is off',
    opts: { slateMaxSeconds: 0 },
    primary: { up: [[0, 8000]] },
    requests: [{ at: 2000, target: 'slate', refused: /slate is off/ }],
    until: 5000,
    switches: [START],
  },
  {
    name: 'both inputs fall silent together: the slate at once, the primary back at its key frame',
    primary: { up: [[0, 20_000]], silent: [[3000, 5100]] },
    backup: { up: [[200, 20_000]], silent: [[3000, 20_000]] },
    until: 8000,
    // Both last sent at 2960; the primary's first tag after is 5120, its next key frame 6000.
    switches: [START, [3550, 'primary', 'slate', 'loss'], [6000, 'slate', 'primary', 'recovered']],
  },
  {
    name: 'both connections close in one turn: the backup, then the slate, in the same instant',
    primary: { up: [[0, 3000], [5100, 8000]] },
    backup: { up: [[200, 3000]] },
    until: 7000,
    switches: [START, [3000, 'primary', 'backup', 'loss'], [3000, 'backup', 'slate', 'loss'], [5100, 'slate', 'primary', 'recovered']],
  },
  {
    name: 'the slate runs out: the stream ends and a returning input stays off air',
    opts: { slateMaxSeconds: 5 },
    primary: { up: [[0, 3000], [9000, 10_000]] },
    until: 10_000,
    switches: [START, [3000, 'primary', 'slate', 'loss'], [8050, 'slate', 'none', 'slate']],
    ended: true,
  },
  {
    name: 'no slate: losing the only input ends the stream',
    opts: { slateMaxSeconds: 0 },
    primary: { up: [[0, 3000]] },
    until: 5000,
    switches: [START, [3000, 'primary', 'none', 'loss']],
    ended: true,
  },
  {
    name: 'flapping backup: never on air automatically, the primary loss goes to the slate; noted once per 10 s',
    primary: { up: [[0, 21_500]] },
    backup: { up: flap(1000, 40_000) },
    until: 40_000,
    // Without hysteresis the backup would take over at 21500 and then swap with the slate every second.
    switches: [START, [21_500, 'primary', 'slate', 'loss']],
    // Its third loss at 6000 makes it flapping; notes at the next tick and every 10 s after.
    notes: { primary: [], backup: [6050, 16_050, 26_050, 36_050] },
  },
  {
    name: 'flapping backup with no slate: the loss still goes to it rather than ending',
    opts: { slateMaxSeconds: 0 },
    primary: { up: [[0, 21_500]] },
    backup: { up: flap(1000, 40_000) },
    until: 25_000,
    switches: [START, [21_500, 'primary', 'backup', 'loss'], [22_000, 'backup', 'none', 'loss']],
    ended: true,
  },
  {
    name: 'flapping primary with a steady backup: no return until 10 s steady',
    primary: { up: [...flap(0, 20_000), [20_000, 60_000]] },
    backup: { up: [[200, 60_000]] },
    until: 40_000,
    switches: [START, [1000, 'primary', 'backup', 'loss'], [30_000, 'backup', 'primary', 'return']],
  },
  {
    name: 'a lone flapping primary for 20 s: three turns on air, then the slate until it is steady',
    primary: { up: [...flap(0, 20_000), [22_000, 60_000]] },
    until: 40_000,
    // Without hysteresis: 20 switches in 20 s. Steady from 22000: on air 10 s later, at its key frame.
    switches: [
      START, [1000, 'primary', 'slate', 'loss'], [2000, 'slate', 'primary', 'recovered'], [3000, 'primary', 'slate', 'loss'],
      [4000, 'slate', 'primary', 'recovered'], [5000, 'primary', 'slate', 'loss'], [32_000, 'slate', 'primary', 'recovered'],
    ],
  },
  {
    name: 'both inputs flapping out of phase for 20 s: a bounded number of switches',
    primary: { up: flap(0, 20_000) },
    backup: { up: flap(1000, 20_000) },
    until: 20_000,
    switches: [
      START,
      [1000, 'primary', 'slate', 'loss'], [1000, 'slate', 'backup', 'recovered'],
      [2000, 'backup', 'slate', 'loss'], [2000, 'slate', 'primary', 'recovered'],
      [3000, 'primary', 'slate', 'loss'], [3000, 'slate', 'backup', 'recovered'],
      [4000, 'backup', 'slate', 'loss'], [4000, 'slate', 'primary', 'recovered'],
      [5000, 'primary', 'slate', 'loss'], [5000, 'slate', 'backup', 'recovered'],
      [6000, 'backup', 'slate', 'loss'],
    ],
  },
  {
    name: 'a manual request takes a flapping input',
    opts: { return: 'sticky' },
    primary: { up: [[0, 40_000]] },
    backup: { up: [...flap(1000, 20_000), [21_000, 40_000]] },
    requests: [{ at: 21_500, target: 'backup' }],
    until: 25_000,
    switches: [START, [22_000, 'primary', 'backup', 'manual']],
  },
]

for (const s of scenarios) {
  t.test(s.name, async (t) => {
    const run = simulate(s)
    t.same(run.violations, [], 'every tag forwarded iff its input is on air; switches consistent')
    t.same(run.switches, s.switches, 'the switches, in order, with their times')
    t.equal(run.sw.ended, s.ended ?? false, s.ended ? 'the stream ended' : 'the stream is live')
    if (s.notes) t.same(run.notes, s.notes, 'flapping notes, at most one per 10 s per input')
    t.equal(run.refusals.length, (s.requests ?? []).filter((q) => q.refused).length, 'every refusal expected was given')
  })
}

t.test('flapping(role): set by the third loss in 30 s, cleared by returnAfterMs steady or by the losses ageing out', async (t) => {
  let clock = 0
  const sw = new InputSwitch({ now: () => clock, lossMs: 500, return: 'primary', returnAfterMs: 10_000, slateMaxSeconds: 60 })
  const key = { keyframe: true }
  const blip = (): void => {
    sw.connect('backup')
    sw.media('backup', key)
    clock += 100
    sw.disconnect('backup')
    clock += 900
  }
  blip()
  blip()
  t.notOk(sw.flapping('backup'), 'two losses: not flapping')
  blip()
  t.ok(sw.flapping('backup'), 'three losses in 3 s: flapping')
  sw.connect('backup')
  const from = clock
  for (; clock < from + 9960; clock += 40) sw.media('backup', key)
  t.ok(sw.flapping('backup'), 'still flapping after 9.96 s of media')
  clock += 40
  sw.media('backup', key)
  t.notOk(sw.flapping('backup'), 'not flapping after 10 s of media without a loss')
  sw.disconnect('backup')
  t.ok(sw.flapping('backup'), 'one more loss: the three last losses are within 30 s again')
  clock = 2000 + 30_001
  t.notOk(sw.flapping('backup'), 'the oldest of the last three losses is older than 30 s')
})

t.test('a second connect of a connected input closes the first: a loss if it was on air', async (t) => {
  let clock = 0
  const sw = new InputSwitch({ now: () => clock, lossMs: 500, return: 'primary', returnAfterMs: 10_000, slateMaxSeconds: 60 })
  sw.connect('primary')
  sw.connect('backup')
  t.match(sw.media('primary', { keyframe: true }), { to: 'primary', cause: 'start' })
  sw.media('backup', { keyframe: true })
  clock = 100
  t.same(sw.connect('primary'), { from: 'primary', to: 'backup', cause: 'loss', at: 100 })
  t.equal(sw.media('primary', { keyframe: true }), false, 'the new primary connection is off air')
})

t.test('requests: unknown targets and requests after the end are refused', async (t) => {
  let clock = 0
  const sw = new InputSwitch({ now: () => clock, lossMs: 500, return: 'primary', returnAfterMs: 10_000, slateMaxSeconds: 0 })
  t.same(sw.request('tertiary' as SwitchTarget), { ok: false, reason: 'unknown input "tertiary"; expected primary, backup, slate or auto' })
  sw.connect('primary')
  sw.media('primary', { keyframe: true })
  t.same(sw.request('primary'), { ok: true, switch: null }, 'the input on air may be held')
  clock = 10
  sw.disconnect('primary')
  t.ok(sw.ended)
  t.same(sw.request('auto'), { ok: false, reason: 'the stream has ended' })
  t.equal(sw.tick(), null)
})

t.test('media() is cheap: a million tags cause no garbage collection', async (t) => {
  // An object allocated per call is 16 bytes at least: 16 MB over a million calls, more than the
  // young generation takes before a scavenge (a per-call allocation fails both checks below).
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  let clock = 0
  const sw = new InputSwitch({ now: () => clock, lossMs: 500, return: 'primary', returnAfterMs: 10_000, slateMaxSeconds: 60 })
  sw.connect('primary')
  sw.connect('backup')
  const key = { keyframe: true }
  const delta = { keyframe: false }
  sw.media('primary', key)
  sw.media('backup', key)
  let calls = 0
  const loop = (n: number): number => {
    let forwarded = 0
    for (let i = 0; i < n; i++) {
      clock = calls++ >> 4
      if (sw.media('primary', delta) === true) forwarded++
      if (sw.media('backup', delta) === false) forwarded++
    }
    return forwarded
  }
  loop(100_000)
  gc()
  const gcs: PerformanceEntry[] = []
  const obs = new PerformanceObserver((list) => gcs.push(...list.getEntries()))
  obs.observe({ entryTypes: ['gc'] })
  const before = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size
  const forwarded = loop(500_000)
  const after = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size
  await sleep(50)
  obs.disconnect()
  t.equal(forwarded, 1_000_000, 'every primary tag on air, every backup tag off air')
  t.equal(gcs.length, 0, 'no garbage collection during a million calls')
  t.ok(after - before < 100_000, `young generation grew ${after - before} bytes over a million calls`)
})
