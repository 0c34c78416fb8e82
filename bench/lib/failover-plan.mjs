// @ts-check
/**
 * What bench/failover does to the two inputs and when: one action every `every`
 * seconds, cycling through a plan that kills the primary (the backup takes over),
 * brings it back (it returns after `redundancy.returnAfterMs`), kills it again,
 * then kills the backup too (the slate), brings the backup back first (slate exit
 * to the backup) and the primary after it (it returns). Kills and returns thus
 * alternate, and the returning input alternates between the primary and the backup.
 */

/**
 * @typedef {object} Action
 * @property {'kill' | 'start'} act
 * @property {'primary' | 'backup'} role
 * @property {string} expect the switch this should cause, as "from→to (cause)"
 */

/** The cycle of actions (see the file header). */
/** @type {readonly Action[]} */
export const PLAN = [
  { act: 'kill', role: 'primary', expect: 'primary→backup (loss)' },
  { act: 'start', role: 'primary', expect: 'backup→primary (return)' },
  { act: 'kill', role: 'primary', expect: 'primary→backup (loss)' },
  { act: 'kill', role: 'backup', expect: 'backup→slate (loss)' },
  { act: 'start', role: 'backup', expect: 'slate→backup (recovered)' },
  { act: 'start', role: 'primary', expect: 'backup→primary (return)' },
]

/**
 * The actions of a run: one every `everyS` from `everyS` on, while before `durationS`.
 * @param {number} durationS
 * @param {number} everyS
 * @returns {(Action & { k: number, atS: number })[]}
 */
export function schedule(durationS, everyS) {
  const out = []
  // Bounded: at most durationS / everyS actions.
  for (let k = 1; k * everyS < durationS; k++) out.push({ ...PLAN[(k - 1) % PLAN.length], k, atS: k * everyS })
  return out
}

/**
 * What kind of switch a record is: a failover to the other input, the slate coming
 * on or going off, the primary's return; and from what the time to the first part is
 * counted: the lost input's last tag, or the switch itself (the new input's key frame).
 * @param {{ from: string, to: string, cause: string }} s
 * @returns {{ kind: 'failover' | 'slate entry' | 'slate exit' | 'return' | 'other', fromLastTag: boolean }}
 */
export function kindOf(s) {
  if (s.to === 'slate') return { kind: 'slate entry', fromLastTag: s.from === 'primary' || s.from === 'backup' }
  if (s.from === 'slate') return { kind: 'slate exit', fromLastTag: false }
  if (s.cause === 'loss' && (s.to === 'primary' || s.to === 'backup')) return { kind: 'failover', fromLastTag: true }
  if (s.cause === 'return') return { kind: 'return', fromLastTag: false }
  return { kind: 'other', fromLastTag: false }
}
