/**
 * Which of a stream's sources is on air: its primary input, its backup input or
 * the generated slate. A pure policy: the session feeds it events and an
 * injected clock (`now`, milliseconds, never going back); it keeps no timers
 * and does no I/O, so every decision can be replayed in a unit test.
 *
 * Health. An input is healthy while it is connected and has sent a tag (any:
 * audio keeps an input alive as video does) within `lossMs`. A healthy run
 * starts at its first tag after connecting or after a silence longer than
 * `lossMs`; that silence (seen by `tick()`) or the connection closing ends the
 * run: a loss.
 *
 * When a switch happens.
 * - Loss of the on-air input: at once (from `tick()` or `disconnect()`), to the
 *   other input if it is healthy and not flapping (the session starts it from
 *   the GOP it holds); else to the slate if there is one; else to the other
 *   input even if flapping (better than ending); else, when the lost input is
 *   silent but still connected, nothing changes (it keeps the air: a hiccup must
 *   not end a stream, its connection's own timeout decides); else to 'none':
 *   the stream ends. Inputs that both fall silent within one tick go to the slate at once;
 *   two connections closing one after the other are two losses in that order
 *   (the other input, then the slate), even within one event-loop turn.
 * - Any other switch to an input happens at that input's next key frame: the
 *   `media()` call of that tag returns the Switch, and the tag is the first one
 *   on air. Causes: 'start' (nothing was on air yet: the first healthy input
 *   to send a key frame, be it the backup), 'recovered' (on the slate: the first
 *   healthy, non-flapping input to send a key frame; the primary is not waited
 *   for, since that keeps the slate up longer, and return policy 'primary'
 *   brings it back later), 'return' (policy 'primary', the backup on air, the
 *   primary healthy without a loss for `returnAfterMs`), 'manual'.
 * - The slate: after `slateMaxSeconds` on it with no input back on air,
 *   `tick()` switches to 'none' (cause 'slate') and the stream ends.
 *
 * Manual choice (`request`). An input goes on air at its next key frame and
 * stays there (the return policy waits) until it is lost or another request
 * comes; a request is refused for an input that is not connected or not
 * sending. 'slate' goes on air at once and holds while any input is healthy;
 * once none is, the slate is the policy's own and its clock starts. 'auto'
 * hands the choice back to the policy from now: the input on air stays, the
 * primary returns by the usual rule, a held slate gives way to the next key
 * frame of a healthy, non-flapping input.
 *
 * Flapping (hysteresis). An input lost `flapLosses` times within `flapWindowMs`
 * is flapping until it has been healthy for `returnAfterMs` without a loss, or
 * those losses age out of the window. No automatic switch goes to a flapping
 * input (a loss prefers the slate, the slate waits); a manual request still
 * does. `note(role)` hands the session one line to log per `noteEveryMs`.
 */

/** One of a stream's two inputs. */
export type InputRole = 'primary' | 'backup'
/** What is on air; 'none' before the first input starts and once the stream ended. */
export type OnAir = InputRole | 'slate' | 'none'
/** What a manual request may ask for; 'auto' hands the choice back to the policy. */
export type SwitchTarget = InputRole | 'slate' | 'auto'
/** Why what is on air changed (see the file header). */
export type SwitchCause = 'start' | 'loss' | 'return' | 'manual' | 'slate' | 'recovered'

/** One change of what is on air, at clock time `at`. */
export interface Switch {
  readonly from: OnAir
  readonly to: OnAir
  readonly cause: SwitchCause
  readonly at: number
}

/** The answer to a manual request: refused with a reason, or taken (a Switch when it took effect at once). */
export type RequestResult = { readonly ok: true; readonly switch: Switch | null } | { readonly ok: false; readonly reason: string }

/** Settings of an InputSwitch; the first four mirror the `redundancy` config keys. */
export interface InputSwitchOptions {
  /** Clock in milliseconds; it must never go back (performance.now or a monotonic source). */
  now: () => number
  /** Silence after which an input is lost, ms. */
  lossMs: number
  /** 'primary': the primary returns after `returnAfterMs` healthy; 'sticky': the input on air stays. */
  return: 'primary' | 'sticky'
  /** Healthy time without a loss before the primary returns or a flapping input goes on air, ms. */
  returnAfterMs: number
  /** Longest slate with no input back before the stream ends, seconds; 0: no slate. */
  slateMaxSeconds: number
  /** Losses within `flapWindowMs` that make an input flapping (default 3). */
  flapLosses?: number
  /** Window of those losses, ms (default 30 s). */
  flapWindowMs?: number
  /** Least time between two notes about one flapping input, ms (default 10 s). */
  noteEveryMs?: number
}

/** Everything known about one input; mutated in place so `media()` allocates nothing. */
class InputState {
  connected = false
  /** In a healthy run: connected and a tag seen since the last loss. */
  running = false
  runSince = 0
  lastMediaAt = 0
  /** Times of the last `flapLosses` losses, a ring; `losses[nextLoss]` is the oldest. */
  readonly losses: Float64Array
  nextLoss = 0
  lastNoteAt = -Infinity

  constructor(readonly role: InputRole, flapLosses: number) {
    this.losses = new Float64Array(flapLosses).fill(-Infinity)
  }
}

/** The input switch policy of one stream (see the file header for every rule). */
export class InputSwitch {
  private on: OnAir = 'none'
  private done = false
  private manual: InputRole | 'slate' | null = null
  private slateSince = 0
  private readonly primary: InputState
  private readonly backup: InputState
  private readonly now: () => number
  private readonly lossMs: number
  private readonly returnToPrimary: boolean
  private readonly returnAfterMs: number
  private readonly slateMaxMs: number
  private readonly flapWindowMs: number
  private readonly noteEveryMs: number

  constructor(opts: InputSwitchOptions) {
    const flapLosses = opts.flapLosses ?? 3
    if (!Number.isInteger(flapLosses) || flapLosses < 1) throw new RangeError(`flapLosses is ${flapLosses}; expected an integer of at least 1`)
    this.now = opts.now
    this.lossMs = opts.lossMs
    this.returnToPrimary = opts.return === 'primary'
    this.returnAfterMs = opts.returnAfterMs
    this.slateMaxMs = opts.slateMaxSeconds * 1000
    this.flapWindowMs = opts.flapWindowMs ?? 30_000
    this.noteEveryMs = opts.noteEveryMs ?? 10_000
    this.primary = new InputState('primary', flapLosses)
    this.backup = new InputState('backup', flapLosses)
  }

  /** What is on air now. */
  get onAir(): OnAir {
    return this.on
  }

  /** True once the stream is over: the slate ran out, or everything was lost with no slate. */
  get ended(): boolean {
    return this.done
  }

  /** An input connected; a second connect of a connected input first closes the old one (a loss if it ran). */
  connect(role: InputRole): Switch | null {
    const s = this.input(role)
    const closed = s.connected ? this.disconnect(role) : null
    s.connected = true
    s.running = false
    return closed
  }

  /** An input's connection closed: a loss at once if it was running; the Switch if it was on air. */
  disconnect(role: InputRole): Switch | null {
    const s = this.input(role)
    if (!s.connected) return null
    const now = this.now()
    if (s.running) this.lose(s, now)
    s.connected = false
    return this.settle(now)
  }

  /**
   * A tag from an input, on air or not. Returns false: drop it; true: it is on
   * air; a Switch: it is on air and starts this input's turn (a key frame).
   * O(1) and allocation-free unless it switches.
   */
  media(role: InputRole, tag: { readonly keyframe: boolean }): boolean | Switch {
    const s = role === 'primary' ? this.primary : this.backup
    if (!s.connected) return false
    const now = this.now()
    if (!s.running) {
      s.running = true
      s.runSince = now
    } else if (now - s.lastMediaAt > this.lossMs) {
      // A silence tick() did not see (ticks late): still a loss, and a new run.
      this.lose(s, now)
      s.running = true
      s.runSince = now
    }
    s.lastMediaAt = now
    if (this.on === role) return true
    if (!tag.keyframe || this.done) return false
    return this.atKeyFrame(s, now)
  }

  /** Periodic check (every 50–100 ms): finds silent inputs and runs the slate clock; the Switch if one happened. */
  tick(): Switch | null {
    if (this.done) return null
    const now = this.now()
    // Both inputs are checked before deciding, so two silent at once go to the slate, not to each other.
    if (this.primary.running && now - this.primary.lastMediaAt > this.lossMs) this.lose(this.primary, now)
    if (this.backup.running && now - this.backup.lastMediaAt > this.lossMs) this.lose(this.backup, now)
    return this.settle(now)
  }

  /** A manual choice (see the file header); refused with a reason the operator can act on. */
  request(target: SwitchTarget): RequestResult {
    if (this.done) return { ok: false, reason: 'the stream has ended' }
    const now = this.now()
    switch (target) {
      case 'auto':
        // A held slate becomes the policy's own: its clock starts now.
        if (this.manual === 'slate') this.slateSince = now
        this.manual = null
        return { ok: true, switch: null }
      case 'slate':
        if (this.slateMaxMs <= 0) return { ok: false, reason: 'the slate is off (slate.maxSeconds is 0)' }
        this.manual = 'slate'
        return { ok: true, switch: this.on === 'slate' ? null : this.switchTo('slate', 'manual', now) }
      case 'primary':
      case 'backup': {
        const s = this.input(target)
        if (!s.connected) return { ok: false, reason: `${target} is not connected` }
        if (!this.healthy(s, now)) return { ok: false, reason: `${target} has sent no media in the last ${this.lossMs} ms` }
        this.manual = target
        return { ok: true, switch: null }
      }
      default:
        return { ok: false, reason: `unknown input ${JSON.stringify(target)}; expected primary, backup, slate or auto` }
    }
  }

  /** Whether an input is flapping now: no automatic switch goes to it. */
  flapping(role: InputRole): boolean {
    return this.flappingAt(this.input(role), this.now())
  }

  /** A line to log about a flapping input, at most once per `noteEveryMs` per input; else null. */
  note(role: InputRole): string | null {
    const s = this.input(role)
    const now = this.now()
    if (!this.flappingAt(s, now) || now - s.lastNoteAt < this.noteEveryMs) return null
    s.lastNoteAt = now
    const recent = s.losses.filter((t) => t >= now - this.flapWindowMs).length
    return `the ${role} input is flapping (lost ${recent} times in ${this.flapWindowMs / 1000} s): ` +
      `it goes on air automatically only after ${this.returnAfterMs / 1000} s of media without a loss`
  }

  private input(role: InputRole): InputState {
    return role === 'primary' ? this.primary : this.backup
  }

  private healthy(s: InputState, now: number): boolean {
    return s.connected && s.running && now - s.lastMediaAt <= this.lossMs
  }

  private flappingAt(s: InputState, now: number): boolean {
    // The oldest of the last flapLosses losses is within the window: all of them are.
    if (s.losses[s.nextLoss]! < now - this.flapWindowMs) return false
    return !(this.healthy(s, now) && now - s.runSince >= this.returnAfterMs)
  }

  private lose(s: InputState, now: number): void {
    s.running = false
    s.losses[s.nextLoss] = now
    s.nextLoss = (s.nextLoss + 1) % s.losses.length
    // A manual choice holds until its input is lost.
    if (this.manual === s.role) this.manual = null
  }

  /** After losses: fail over from a lost on-air input, release a held slate nothing can replace, run the slate clock. */
  private settle(now: number): Switch | null {
    if (this.done) return null
    const on = this.on
    if (on === 'primary' || on === 'backup') {
      const lost = this.input(on)
      return lost.running ? null : this.failover(lost, on === 'primary' ? this.backup : this.primary, now)
    }
    if (on !== 'slate') return null
    if (this.manual === 'slate') {
      if (!this.healthy(this.primary, now) && !this.healthy(this.backup, now)) {
        this.manual = null
        this.slateSince = now
      }
      return null
    }
    return now - this.slateSince >= this.slateMaxMs ? this.switchTo('none', 'slate', now) : null
  }

  private failover(lost: InputState, other: InputState, now: number): Switch | null {
    const up = this.healthy(other, now)
    if (up && (this.manual === other.role || !this.flappingAt(other, now))) return this.switchTo(other.role, 'loss', now)
    if (this.slateMaxMs > 0) return this.switchTo('slate', 'loss', now)
    if (up) return this.switchTo(other.role, 'loss', now)
    // No slate and nothing to switch to: an input that is silent but still connected keeps
    // the air (a network hiccup must not end the stream; its connection's own timeout
    // decides); only a closed one ends the stream.
    return lost.connected ? null : this.switchTo('none', 'loss', now)
  }

  /** A key frame from an input that is not on air: does its turn start here? */
  private atKeyFrame(s: InputState, now: number): boolean | Switch {
    if (this.manual === s.role) return this.switchTo(s.role, 'manual', now)
    if (this.manual !== null) return false
    if (this.on === 'none' || this.on === 'slate') {
      return this.flappingAt(s, now) ? false : this.switchTo(s.role, this.on === 'none' ? 'start' : 'recovered', now)
    }
    // The other input is on air: only the primary returns, and only after a healthy run of returnAfterMs.
    if (this.returnToPrimary && s.role === 'primary' && now - s.runSince >= this.returnAfterMs) return this.switchTo('primary', 'return', now)
    return false
  }

  private switchTo(to: OnAir, cause: SwitchCause, now: number): Switch {
    const from = this.on
    this.on = to
    if (to === 'slate') this.slateSince = now
    if (to === 'none') {
      this.done = true
      this.manual = null
    }
    return { from, to, cause, at: now }
  }
}
