/**
 * The input selector of a stream with redundant inputs: a primary, a backup and a
 * generated slate. Every input is ingested whether or not it is on air, and its latest
 * GOP is held, so the other input can take over at once when the on-air one is lost.
 * The decision is the switch policy's (input-switch.ts); this class carries it out in
 * front of the decoder: the new input's sequence headers and held GOP are spliced onto
 * the stream's timeline (its own clock is unrelated, so its timestamps are rebased to
 * follow the last tag on air), and from then on its tags go on air. Encoded rungs thus
 * continue on the same timeline with no discontinuity; a worker that copies a stream
 * whose configuration changed restarts on its own (flv-normalizer.ts).
 */
import type { Logger } from 'pino'
import { parseAudioTagHeader, parseVideoTagHeader } from '../formats/flv.js'
import type { MediaTag } from '../ingest/types.js'
import type { InputSelector, MediaSource } from './media-source.js'
import type { InputRole, InputSwitch, OnAir, RequestResult, Switch, SwitchTarget } from './input-switch.js'

/** Media a session can put on air when no input is: started and stopped by the switcher. */
export interface SlateFeed {
  /** Start emitting tags (sequence headers first, then a key frame) in real time. */
  start(onTag: (tag: MediaTag) => void): void
  stop(): void
}

/** What a switcher needs besides its policy. */
export interface SwitcherOptions {
  policy: InputSwitch
  log: Logger
  /** The slate, once the session knows its picture size (undefined: no slate to show yet). */
  slate?: () => SlateFeed | undefined
  /** Every change of what is on air (metrics, API, logs). */
  onSwitch?: (s: Switch) => void
  /** How often the policy is ticked, ms (0: never by itself; the caller ticks). */
  tickMs?: number
}

/** Bytes of one input's GOP held for a fast takeover; a longer GOP is held up to this. */
const MAX_HELD_BYTES = 32 * 1024 * 1024
/** Spacing assumed between the last tag on air and a spliced key frame that arrived earlier, ms. */
const SPLICE_STEP_MS = 20

/** One input's held state. */
class Held {
  videoSeq: MediaTag | undefined
  readonly audioSeq = new Map<number, MediaTag>()
  gop: MediaTag[] = []
  gopBytes = 0
  /** Added to this input's timestamps while it is on air. */
  offset = 0
  /** On air, but waiting for its first key frame (it had none held when it took over). */
  awaitingKey = false

  constructor(readonly source: MediaSource | undefined) {}

  /** Remember a tag; true when it is a video key frame (or any audio of an input without video). */
  hold(tag: MediaTag): { config: boolean; key: boolean } {
    if (tag.kind === 'video') {
      const h = parseVideoTagHeader(tag.data)
      if (h.avcPacketType === 'seq') {
        this.videoSeq = tag
        return { config: true, key: false }
      }
      if (h.keyframe) {
        this.gop = []
        this.gopBytes = 0
      }
      this.push(tag)
      return { config: false, key: h.keyframe }
    }
    if (tag.kind === 'audio') {
      if (parseAudioTagHeader(tag.data).aacPacketType === 'seq') {
        this.audioSeq.set(tag.track ?? 0, tag)
        return { config: true, key: false }
      }
      this.push(tag)
      return { config: false, key: this.videoSeq === undefined }
    }
    return { config: true, key: false }
  }

  private push(tag: MediaTag): void {
    if (this.videoSeq && this.gop.length === 0 && tag.kind !== 'video') return // audio before the first key frame
    if (this.gopBytes + tag.data.length > MAX_HELD_BYTES) return
    this.gop.push(tag)
    this.gopBytes += tag.data.length
  }
}

/** Switches one stream between its primary, its backup and a slate. */
export class InputSwitcher implements InputSelector {
  onAirTag: ((tag: MediaTag, source: MediaSource | undefined) => void) | undefined
  onEnd: ((reason: string) => void) | undefined
  private readonly o: SwitcherOptions
  private readonly inputs = new Map<InputRole, Held>()
  private slate: { feed: SlateFeed; held: Held } | undefined
  /** Timeline position of the newest tag on air (NaN before the first). */
  private lastOutTs = NaN
  /** Arrival minus timeline position of the first tag on air: the timeline's wall clock. */
  private base = NaN
  private readonly timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(o: SwitcherOptions) {
    this.o = o
    const every = o.tickMs ?? 50
    this.timer = every > 0 ? setInterval(() => this.tick(), every) : undefined
    this.timer?.unref()
  }

  /** What is on air now. */
  get onAir(): OnAir {
    return this.o.policy.onAir
  }

  /** The input of a role, while attached. */
  input(role: InputRole): MediaSource | undefined {
    return this.inputs.get(role)?.source
  }

  /** InputSelector: a second input of the same role is refused. */
  attach(source: MediaSource): { ok: true } | { ok: false; reason: string } {
    if (source.role === 'slate') return { ok: false, reason: 'a slate is generated, not attached' }
    const existing = this.inputs.get(source.role)
    if (existing) return { ok: false, reason: `a ${source.role} input is already connected (${existing.source?.protocol} ${existing.source?.remote})` }
    this.inputs.set(source.role, new Held(source))
    this.apply(this.o.policy.connect(source.role))
    return { ok: true }
  }

  /** InputSelector: every tag of every input; on-air tags go on, rebased onto the stream's timeline. */
  write(source: MediaSource, tag: MediaTag): void {
    const held = this.inputs.get(source.role as InputRole)
    if (!held || held.source !== source || this.stopped) return
    const { config, key } = held.hold(tag)
    if (config) {
      // A new configuration of the input on air goes on at once (a reconnecting encoder's new SPS).
      if (this.onAir === source.role && !held.awaitingKey) this.emit(held, tag)
      return
    }
    const verdict = this.o.policy.media(source.role as InputRole, { keyframe: key })
    if (verdict === false) return
    if (verdict !== true) {
      this.apply(verdict)
      return // the splice sent this key frame (the last tag of the held GOP)
    }
    if (held.awaitingKey) {
      if (!key) return
      this.splice(held)
      return
    }
    this.emit(held, tag)
  }

  /** InputSelector: an input left; `clean` when its publisher ended the publish itself. */
  detach(source: MediaSource, reason: string, clean = false): void {
    const role = source.role as InputRole
    if (this.inputs.get(role)?.source !== source) return
    this.inputs.delete(role)
    const other = this.inputs.get(role === 'primary' ? 'backup' : 'primary')
    // A publisher that stops publishing itself, with nothing else connected, ends the stream
    // as it always has: that is the end of the show, not an accident to cover with a slate.
    if (clean && !other && this.onAir === role) return this.end(`${reason} (the ${role} input ended its publish)`)
    this.apply(this.o.policy.disconnect(role))
  }

  /** A manual choice from the API (input-switch.ts says when it takes effect). */
  request(target: SwitchTarget): RequestResult {
    const r = this.o.policy.request(target)
    if (r.ok && r.switch) this.apply(r.switch)
    return r
  }

  /** InputSelector: the session is over; no timers, no slate left. */
  stop(): void {
    this.stopped = true
    clearInterval(this.timer)
    this.stopSlate()
  }

  /** Check for lost inputs and run the slate clock (every `tickMs`). */
  tick(): void {
    if (this.stopped) return
    this.apply(this.o.policy.tick())
    for (const role of ['primary', 'backup'] as const) {
      const note = this.inputs.has(role) ? this.o.policy.note(role) : null
      if (note) this.o.log.warn({ input: role }, note)
    }
  }

  private apply(s: Switch | null): void {
    if (!s || this.stopped) return
    this.o.log.info({ from: s.from, to: s.to, cause: s.cause }, `on air: ${s.to} (was ${s.from}; ${s.cause})`)
    this.o.onSwitch?.(s)
    if (s.from === 'slate') this.stopSlate()
    if (s.to === 'none') return this.end(this.o.policy.ended && s.from === 'slate' ? 'no input came back before the slate ran out' : 'every input is gone')
    if (s.to === 'slate') return this.startSlate()
    const held = this.inputs.get(s.to)
    if (held) this.splice(held)
  }

  private end(reason: string): void {
    if (this.stopped) return
    this.stop()
    this.onEnd?.(reason)
  }

  private startSlate(): void {
    const feed = this.o.slate?.()
    if (!feed) {
      this.o.log.warn('no input on air and no slate to show yet; players wait for media')
      return
    }
    const held = new Held(undefined)
    held.awaitingKey = true
    this.slate = { feed, held }
    feed.start((tag) => {
      if (this.slate?.held !== held || this.stopped) return
      const { config, key } = held.hold(tag)
      if (config) return
      if (held.awaitingKey) {
        if (key) this.splice(held)
        return
      }
      this.emit(held, tag)
    })
  }

  private stopSlate(): void {
    this.slate?.feed.stop()
    this.slate = undefined
  }

  /**
   * Put `held` on air from its held GOP: its sequence headers, then its tags from the key
   * frame, rebased so that the key frame follows the last tag on air by as much wall-clock
   * time as passed between them (at least a small step: a held key frame may have arrived
   * before the last tag on air). Without a held key frame it waits for its next one.
   */
  private splice(held: Held): void {
    const first = held.gop[0]
    if (!first || (held.videoSeq && first.kind !== 'video')) {
      held.awaitingKey = true
      return
    }
    held.awaitingKey = false
    // The key frame goes where its arrival puts it on the timeline's wall clock, so dates stay
    // true; never before the last tag on air: a held key frame that arrived earlier follows it
    // closely (the timeline then runs ahead of the clock by its age, until a later splice with
    // a hole in real time, a fresh key frame, takes that back).
    held.offset = Number.isNaN(this.lastOutTs) ? 0
      : Math.max(this.lastOutTs + SPLICE_STEP_MS, first.arrival - this.base) - first.timestamp
    if (held.videoSeq) this.emit(held, { ...held.videoSeq, timestamp: first.timestamp, arrival: first.arrival })
    for (const a of held.audioSeq.values()) this.emit(held, { ...a, timestamp: first.timestamp, arrival: first.arrival })
    for (const tag of held.gop) if (tag.timestamp >= first.timestamp) this.emit(held, tag)
  }

  private emit(held: Held, tag: MediaTag): void {
    const ts = tag.timestamp + held.offset
    const out = ts === tag.timestamp ? tag : { ...tag, timestamp: ts }
    if (Number.isNaN(this.base)) this.base = tag.arrival - ts
    if (!(ts < this.lastOutTs)) this.lastOutTs = ts
    this.onAirTag?.(out, held.source)
  }
}
