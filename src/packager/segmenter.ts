/**
 * Groups samples into LL-HLS parts and segments. FFmpeg emits one fragment per
 * frame; the segmenter decides every boundary itself, on the lead track's
 * integer ticks, so part and segment durations obey the declared targets
 * whatever the source's frame rate, and each part leaves as one CMAF chunk.
 *
 * Frames arrive in decode order. With B-frames a frame is presented later than it is
 * decoded, so a segment is cut only where a key frame arrives (the frames decoded after
 * it belong to it), and it is placed and dated by presentation time.
 */
import type { Sample, TrackInfo } from '../media/types.js'
import { buildFragment } from '../formats/mp4/write-fragment.js'
import { buildPrft } from '../formats/mp4/prft.js'
import type { RenditionStore } from './rendition-store.js'
import type { InitRecord } from './types.js'
import { applyNow, type Publish, type SegmenterOptions } from './segmenter-options.js'
import { framesBefore, nextPartFrames } from './part-plan.js'

export type { Publish, SegmentGrid, SegmenterOptions } from './segmenter-options.js'

/** Non-lead samples held while no segment is open (audio before the first key frame). */
const MAX_PENDING_BEFORE_START = 500
/**
 * On the grid, a video segment waits this many segment targets for a key frame before it
 * is cut without one: a source that sends none (intra refresh) must not grow a segment,
 * and the memory it holds, without end.
 */
const MAX_KEYLESS_SEGMENTS = 5

/** Turns one epoch's samples into parts and segments of a RenditionStore. */
export class Segmenter {
  private readonly store: RenditionStore
  private readonly opts: SegmenterOptions
  private readonly lead: TrackInfo
  private readonly partTargetTicks: number
  /** 1.5 ms of lead ticks: how much millisecond timestamps make frame durations jitter. */
  private readonly jitterTicks: number
  private readonly maxSegmentTicks: number
  private readonly segmentTargetTicks: number
  /** The grid's offset (SegmentGrid.offset) in lead ticks. */
  private readonly offsetTicks: number
  private readonly publish: Publish
  private pending = new Map<number, Sample[]>()
  private partTicks = 0
  private segTicks = -1 // -1: no segment open
  private lastLeadDuration = 0
  private lastKeyTicks = -1
  private lastGopTicks = 0
  private nextLeadDts = -1
  private sequence = 1
  private segFrames = 0
  private lastLeadAt = 0
  private segIndex = -1
  private predictedCut = false
  /** The open segment was completed together with its last part (no separate EXTINF change). */
  private closedWithPart = false
  /** Frames in the open part, and how many it should get (audio on the grid). */
  private partFrames = 0
  private partGoal = 0
  /** Lead frames of the epoch and their summed durations: a mean that jitter cannot move. */
  private leadFrames = 0
  private leadTicks = 0
  /** Half the epoch's first lead frame: the grid's slack, one value for every decision. */
  private halfFrame = -1
  /**
   * Grid video: the composition offset of the epoch's first key frame, taken off every
   * frame's, so key frames are presented at their decode time (the grid time) as in
   * the encoded rungs, which have no reorder delay. undefined until that key frame.
   */
  private ctsShift: number | undefined
  /** Composition offset of the last key frame (after the shift): where the next one would be presented. */
  private keyCts = 0
  /** Longest a grid video segment may wait for a key frame. */
  private readonly keylessLimitTicks: number
  /** Warnings already logged (shared by a rendition's segmenters: once per stream). */
  private readonly warned: Set<string>

  constructor(store: RenditionStore, init: InitRecord, opts: SegmenterOptions) {
    this.store = store
    this.opts = opts
    const lead = init.tracks.find((t) => t.kind === 'video') ?? init.tracks[0]
    if (!lead) throw new Error('init segment has no audio or video track')
    this.lead = lead
    const ts = lead.timescale
    this.partTargetTicks = Math.floor(store.timing.partTarget * ts)
    this.jitterTicks = Math.ceil(0.0015 * ts)
    // 4.4.3.1: an EXTINF rounded to the nearest integer may not exceed TARGETDURATION,
    // so a segment must stay under TARGETDURATION + 0.5 s (a 2.002 s GOP at 29.97 fps fits).
    this.maxSegmentTicks = Math.floor((store.timing.targetDuration + 0.5) * ts) - 1
    this.segmentTargetTicks = Math.round(opts.segmentTarget * ts)
    this.offsetTicks = Math.round((opts.grid?.offset ?? 0) * ts)
    this.keylessLimitTicks = Math.max(this.maxSegmentTicks, MAX_KEYLESS_SEGMENTS * this.segmentTargetTicks)
    this.warned = opts.warned ?? new Set()
    this.publish = opts.publish ?? applyNow
    this.publish(-Infinity, false, () => store.beginEpoch(init))
  }

  /** Feed samples in decode order (as they leave the worker). */
  push(samples: Sample[]): void {
    for (const s of samples) {
      if (s.trackId === this.lead.id) this.pushLead(s)
      else this.pushOther(s)
    }
  }

  /** The epoch's input ended: publish what is held and complete the segment. */
  flush(): void {
    this.closePart()
    this.completeSegment()
  }

  private pushLead(raw: Sample): void {
    const s = this.presentable(raw)
    if (this.nextLeadDts >= 0 && s.dts < this.nextLeadDts - s.duration) {
      this.opts.logger.warn({ dts: s.dts, expected: this.nextLeadDts }, 'lead track went back in time; sample dropped')
      return
    }
    if (this.halfFrame < 0) this.halfFrame = this.opts.grid?.locked ? this.slackOf(s.duration) : s.duration / 2
    if (this.segTicks < 0) {
      // A segment begins with an independent frame; after a predicted cut that missed
      // (no key frame came), the next segment starts anyway rather than losing frames.
      if (!s.sync && !this.predictedCut) return
      if (!s.sync && this.gridVideo()) this.warnOnce('missed', { at: round3((s.dts + s.cts) / this.lead.timescale) }, 'an encoded rung had no key frame at a segment start; segment begins without one')
      this.startSegment(s)
    } else if (this.startsSegment(s)) {
      this.closePart(true)
      this.completeSegment()
      this.startSegment(s)
    } else if (this.cutsWithoutKey(s)) {
      this.closePart(true)
      this.completeSegment()
      this.startSegment(s)
    } else if (this.partTicks > 0 && this.partTicks + s.duration > this.partTargetTicks) {
      this.closePart()
    }
    if (s.sync) {
      const t = s.dts
      if (this.lastKeyTicks >= 0) this.lastGopTicks = t - this.lastKeyTicks
      this.lastKeyTicks = t
      this.keyCts = s.cts
    }
    if (this.partTicks === 0) this.partGoal = this.planPart(s)
    this.add(s)
    this.lastLeadAt = performance.now()
    this.partFrames++
    this.leadFrames++
    this.leadTicks += s.duration
    this.partTicks += s.duration
    this.lastLeadDuration = s.duration
    this.segFrames++
    this.nextLeadDts = s.dts + s.duration
    if (this.gridVideo() && !this.opts.keyframesOnGrid) {
      // A source's key frames: only an arriving one ends a segment, since a prediction
      // that missed would leave the next segment to begin without one. A part that is
      // full just before a key frame may come waits for that frame, so the segment's last
      // part and its EXTINF appear in one change and the preload hint never names a part
      // that will not be added.
      if (this.partFull() && !this.keyMayComeNext(s)) this.closePart()
      return
    }
    // When the next frame should start a new segment (the grid's next slot, or a regular
    // GOP's next key frame), finish the segment now: its last part and EXTINF are out a
    // frame earlier, and the preload hint moves straight to the next segment's part 0
    // (a hint must name the part that is added next, 4.4.5.3). On the grid this cannot
    // miss: every audio frame is independent, and an encoded rung has a key frame forced
    // at every slot's start (presented at its decode time).
    const segmentEnds = this.opts.grid ? this.gridIndex(this.nextLeadDts + this.keyCts) > this.segIndex : this.keyframeExpectedNext()
    if (segmentEnds) {
      this.closePart(true)
      this.completeSegment()
      this.predictedCut = true
    } else if (this.partFull()) {
      this.closePart()
    }
  }

  /**
   * A locked grid's slack: half a frame, down to whole milliseconds. Audio frames of 21 and
   * 22 ms alternate in millisecond timestamps; with the first frame's own half, origins
   * that started on different frames would put a frame 10.7 ms before a slot on different
   * sides of it.
   */
  private slackOf(duration: number): number {
    const msTicks = this.lead.timescale / 1000
    return Math.max(0, Math.floor(duration / 2 / msTicks) * msTicks)
  }

  /** Video on the shared grid (a ladder's rungs): segments are cut at key frames only. */
  private gridVideo(): boolean {
    return this.opts.grid !== undefined && this.lead.kind === 'video'
  }

  /**
   * The sample as packaged. On the grid, video is moved back by the reorder delay: its
   * first key frame's composition offset comes off every frame's (signed offsets, trun
   * version 1), so key frames are presented at their decode time, as CMAF wants of a
   * fragment's first sample and as the encoded rungs present theirs. Without that, a
   * copied B-frame source would be presented the delay (two frames at -bf 3) later than
   * the rungs that were decoded from it, and dated so.
   */
  private presentable(s: Sample): Sample {
    if (!this.gridVideo()) return s
    if (this.ctsShift === undefined) {
      if (!s.sync) return s
      this.ctsShift = s.cts
    }
    return this.ctsShift === 0 ? s : { ...s, cts: s.cts - this.ctsShift }
  }

  /**
   * Grid video: whether the frame after `last` may be a key frame that opens the next
   * slot, i.e. it is the first frame at or past the slot's start, or where a regular
   * GOP puts the next key frame.
   */
  private keyMayComeNext(last: Sample): boolean {
    const next = this.nextLeadDts + this.keyCts
    if (this.gridIndex(next) <= this.segIndex) return false
    if (this.gridIndex(last.dts + this.keyCts) <= this.segIndex) return true
    return this.lastGopTicks > 0 && Math.abs(this.nextLeadDts - this.lastKeyTicks - this.lastGopTicks) < this.lastLeadDuration / 2
  }

  /**
   * No key frame in time. Keyframe-cut segments (passthrough) are cut anyway so none
   * rounds above TARGETDURATION. Grid video waits for the key frame (a segment that does
   * not begin with one cannot be switched to or started from), up to a bound.
   */
  private cutsWithoutKey(s: Sample): boolean {
    const dur = this.segTicks + this.partTicks + s.duration
    if (!this.gridVideo()) return dur > this.maxSegmentTicks
    if (dur <= this.keylessLimitTicks) return false
    this.warnOnce('keyless', {
      seconds: round3(dur / this.lead.timescale), segmentTarget: this.opts.segmentTarget,
    }, 'the source sent no key frame for too long; cutting a segment without one (set a keyframe interval of the segment target)')
    return true
  }

  private warnOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    if (this.warned.has(key)) return
    this.warned.add(key)
    this.opts.logger.warn(fields, msg)
  }

  /** Whether the open part is done before the next lead frame arrives, so it is out a frame earlier. */
  private partFull(): boolean {
    // Audio on the grid: the segment's frames are planned over its parts (part-plan.ts).
    if (this.partGoal > 0) return this.partFrames >= this.partGoal
    // Otherwise close when a frame as long as the last cannot fit, instead of waiting for
    // the frame that overflows (at 0.33 s and 30 fps, 9 frames end the part: a 10th makes
    // 0.333 s). Slack of the timestamp jitter only: a 33/34 ms rhythm must not close a
    // part that one more frame fits.
    return this.partTicks + this.lastLeadDuration > this.partTargetTicks + this.jitterTicks
  }

  private pushOther(s: Sample): void {
    const list = this.pending.get(s.trackId) ?? []
    if (this.segTicks < 0 && list.length >= MAX_PENDING_BEFORE_START) list.shift()
    list.push(s)
    this.pending.set(s.trackId, list)
  }

  /**
   * Frames the part that `first` opens should get; 0 (fill to PART-TARGET, or to the
   * segment's end) unless the lead is audio on the grid, where the segment's end is
   * known in advance and every frame is independent.
   */
  private planPart(first: Sample): number {
    if (!this.opts.grid || this.lead.kind !== 'audio' || this.segIndex < 0) return 0
    // Mean frame length over the epoch: millisecond timestamps make AAC frames
    // alternate 21/22 ms, and a plan on one frame's length would wobble.
    const frame = this.leadFrames > 0 ? this.leadTicks / this.leadFrames : first.duration
    if (frame <= 0) return 0
    const left = framesBefore(first.dts + first.cts, (this.segIndex + 1) * this.segmentTargetTicks - this.offsetTicks, frame, this.halfFrame)
    const max = Math.floor((this.partTargetTicks - this.jitterTicks) / frame)
    const min = Math.ceil((0.85 * this.partTargetTicks) / frame - 1e-9)
    const goal = nextPartFrames(left, min, max)
    // The segment's last part ends where the grid says (segmentEnds), not on a count that
    // jitter may leave one frame short of it: that frame would be a part of its own.
    return goal >= left ? 0 : goal
  }

  /** Whether lead sample `s` begins a new segment (it must be independent). */
  private startsSegment(s: Sample): boolean {
    if (!s.sync) return false
    if (!this.opts.grid) return this.cutAtKeyframe()
    const slot = this.gridIndex(s.dts + s.cts)
    if (slot <= this.segIndex) return false
    if (this.gridVideo()) this.checkOnGrid(s, slot)
    return true
  }

  /**
   * A key frame that opens slot `slot` away from the slot's start, or after a slot went
   * by without one: the source's GOP does not fit the grid, so this rendition's segments
   * run longer than the target and the slots they cover are listed as gaps. Logged once
   * with the numbers, for the operator to fix the encoder's keyframe interval.
   */
  private checkOnGrid(s: Sample, slot: number): void {
    const pts = s.dts + s.cts
    const late = pts + this.offsetTicks - slot * this.segmentTargetTicks
    if (late <= this.halfFrame + this.jitterTicks && slot === this.segIndex + 1) return
    const ts = this.lead.timescale
    // A slot went by without a key frame: this rendition now lists a gap where the others
    // have media, and its segments run past the target. (Key frames that are merely late in
    // their slots, as after a publisher's mid-stream change, keep every slot filled.)
    if (slot > this.segIndex + 1 && !this.warned.has('slot-skipped')) {
      this.warned.add('slot-skipped')
      this.opts.onOffGrid?.(`key frames do not fit the ${this.opts.segmentTarget} s segment grid (a slot had none; key frame at ${round3(pts / ts)} s)`)
    }
    this.warnOnce('off-grid', {
      keyFrameAt: round3(pts / ts),
      gopSeconds: this.lastKeyTicks >= 0 ? round3((s.dts - this.lastKeyTicks) / ts) : undefined,
      segmentTarget: this.opts.segmentTarget,
      segmentSeconds: round3((this.segTicks + this.partTicks) / ts),
    }, `the source's GOP does not fit the ${this.opts.segmentTarget} s segment grid: its segments are cut at its key frames, run longer than the target and leave gaps; set its keyframe interval to the segment target or a divisor of it`)
  }

  /**
   * Grid slot of a presentation time; half a frame of slack absorbs timestamp jitter. The
   * slack is one value for the epoch: with a frame's own length, a 21/22 ms rhythm could
   * predict a segment's end that the next frame then denies (a one-frame segment).
   */
  private gridIndex(ptsTicks: number): number {
    return Math.floor((ptsTicks + this.offsetTicks + this.halfFrame) / this.segmentTargetTicks)
  }

  private keyframeExpectedNext(): boolean {
    if (this.lead.kind !== 'video' || this.lastGopTicks <= 0 || this.lastKeyTicks < 0) return false
    const sinceKey = this.nextLeadDts - this.lastKeyTicks
    const dur = this.segTicks + this.partTicks
    return Math.abs(sinceKey - this.lastGopTicks) < this.lastLeadDuration / 2 &&
      dur >= this.segmentTargetTicks - this.partTargetTicks / 2
  }

  private cutAtKeyframe(): boolean {
    const dur = this.segTicks + this.partTicks
    if (dur >= this.segmentTargetTicks - this.partTargetTicks / 2) return true
    // The next key frame would land past the limit: cut here instead.
    return this.lastGopTicks > 0 && dur + this.lastGopTicks > this.maxSegmentTicks
  }

  private add(s: Sample): void {
    const list = this.pending.get(s.trackId)
    if (list) list.push(s)
    else this.pending.set(s.trackId, [s])
  }

  private startSegment(s: Sample): void {
    const ts = this.lead.timescale
    const pts = (s.dts + s.cts) / ts
    // Presentation time: with B-frames a key frame is presented after it is decoded.
    const start = pts
    const grid = this.opts.grid
    const wallClockAt = this.opts.wallClockAt
    if (grid) {
      // A segment cut without a key frame (MAX_KEYLESS_SEGMENTS) may be mid-slot: the next number.
      this.segIndex = Math.max(this.gridIndex(s.dts + s.cts), this.segIndex + 1)
      const slot = this.opts.segmentTarget
      const offset = grid.offset ?? 0
      const msn = grid.msnBase + this.segIndex
      this.publish(-Infinity, false, () => this.store.startSegment(start, wallClockAt(pts), s.sync, msn, {
        duration: slot,
        startTimeOf: (n) => (n - grid.msnBase) * slot - offset,
        pdtOf: (n) => wallClockAt((n - grid.msnBase) * slot - offset),
      }))
    } else {
      this.publish(-Infinity, false, () => this.store.startSegment(start, wallClockAt(pts), s.sync))
    }
    this.segTicks = 0
    this.partTicks = 0
    this.segFrames = 0
    this.predictedCut = false
  }

  /** Publish the pending samples as a part; `last` completes the segment atomically with it. */
  private closePart(last = false): void {
    const leadSamples = this.pending.get(this.lead.id)
    if (!leadSamples || leadSamples.length === 0 || this.segTicks < 0) return
    const tracks = [...this.pending.entries()]
      .filter(([, list]) => list.length > 0)
      .sort(([a], [b]) => a - b)
      .map(([trackId, samples]) => ({ trackId, samples }))
    const fragment = buildFragment(this.sequence++, tracks)
    const first = leadSamples[0]!
    const opensSegment = this.segTicks === 0
    // Frames over the segment so far: exact where millisecond timestamps jitter, and known
    // from the first part on (the multivariant playlist's FRAME-RATE needs it early).
    const elapsed = this.segTicks + this.partTicks
    if (this.lead.kind === 'video' && this.segFrames > 1 && elapsed > 0) {
      this.store.frameRate = this.segFrames / (elapsed / this.lead.timescale)
    }
    const duration = this.partTicks / this.lead.timescale
    // Media time the part completes: where its frames are decoded up to, presented as a
    // key frame there would be (with B-frames the first frame is not the earliest).
    const end = (first.dts + this.partTicks + this.keyCts) / this.lead.timescale
    const readyAt = this.lastLeadAt
    this.publish(end, true, (held) => {
      const data = opensSegment ? Buffer.concat([this.producerReference(first), fragment]) : fragment
      // A held part is ready for its waiters when released: the answer delay is measured from there.
      const part = this.store.addPart(duration, first.sync, data, held ? performance.now() : readyAt, last)
      this.opts.onPart?.(part)
    }, last)
    if (last) this.closedWithPart = true
    this.segTicks += this.partTicks
    this.partTicks = 0
    this.partFrames = 0
    this.partGoal = 0
    this.pending = new Map()
  }

  /**
   * The `prft` (ISO/IEC 14496-12 §8.16.5) that opens each segment: the wall-clock time of
   * its first lead frame, on the same clock as PROGRAM-DATE-TIME and the MPD's
   * ProducerReferenceTime, so DASH players can measure latency from the segment itself.
   * Flags 0 ("input to the encoder") match ProducerReferenceTime@type="encoder".
   */
  private producerReference(first: Sample): Buffer {
    const pts = Math.max(0, first.dts + first.cts)
    return buildPrft({ referenceTrackId: this.lead.id, wallClockMs: this.opts.wallClockAt(pts / this.lead.timescale), mediaTime: pts })
  }

  private completeSegment(): void {
    if (this.segTicks < 0) return
    this.segTicks = -1
    const closes = !this.closedWithPart
    this.closedWithPart = false
    this.publish(-Infinity, false, () => {
      // The store may have completed it already, atomically with its last part.
      const open = this.store.openSegment()
      const seg = open ? this.store.completeSegment() : this.store.segments[this.store.segments.length - 1]
      if (seg?.complete) this.opts.onSegment?.(seg)
    }, closes)
  }
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000
