/**
 * Groups samples into LL-HLS parts and segments. FFmpeg emits one fragment per
 * frame; the segmenter decides every boundary itself, on the lead track's
 * integer ticks, so part and segment durations obey the declared targets
 * whatever the source's frame rate, and each part leaves as one CMAF chunk.
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

  private pushLead(s: Sample): void {
    if (this.nextLeadDts >= 0 && s.dts < this.nextLeadDts - s.duration) {
      this.opts.logger.warn({ dts: s.dts, expected: this.nextLeadDts }, 'lead track went back in time; sample dropped')
      return
    }
    if (this.halfFrame < 0) this.halfFrame = s.duration / 2
    if (this.segTicks < 0) {
      // A segment begins with an independent frame; after a predicted cut that missed
      // (no key frame came), the next segment starts anyway rather than losing frames.
      if (!s.sync && !this.predictedCut) return
      this.startSegment(s)
    } else if (this.startsSegment(s)) {
      this.closePart()
      this.completeSegment()
      this.startSegment(s)
    } else if (this.segTicks + this.partTicks + s.duration > this.maxSegmentTicks) {
      // No key frame in time: cut anyway so no segment rounds above TARGETDURATION.
      this.closePart()
      this.completeSegment()
      this.startSegment(s)
    } else if (this.partTicks > 0 && this.partTicks + s.duration > this.partTargetTicks) {
      this.closePart()
    }
    if (s.sync) {
      const t = s.dts
      if (this.lastKeyTicks >= 0) this.lastGopTicks = t - this.lastKeyTicks
      this.lastKeyTicks = t
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
    // When the next frame should start a new segment (the grid's next slot, or a regular
    // GOP's next key frame), finish the segment now: its last part and EXTINF are out a
    // frame earlier, and the preload hint moves straight to the next segment's part 0
    // (a hint must name the part that is added next, 4.4.5.3).
    const segmentEnds = this.opts.grid ? this.gridIndex(s.dts + s.cts + s.duration) > this.segIndex : this.keyframeExpectedNext()
    if (segmentEnds) {
      this.closePart(true)
      this.completeSegment()
      this.predictedCut = true
    } else if (this.partFull()) {
      this.closePart()
    }
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
    const left = framesBefore(first.dts + first.cts, (this.segIndex + 1) * this.segmentTargetTicks, frame, this.halfFrame)
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
    if (this.opts.grid) return this.gridIndex(s.dts + s.cts) > this.segIndex
    return this.cutAtKeyframe()
  }

  /**
   * Grid slot of a presentation time; half a frame of slack absorbs timestamp jitter. The
   * slack is one value for the epoch: with a frame's own length, a 21/22 ms rhythm could
   * predict a segment's end that the next frame then denies (a one-frame segment).
   */
  private gridIndex(ptsTicks: number): number {
    return Math.floor((ptsTicks + this.halfFrame) / this.segmentTargetTicks)
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
    const start = s.dts / ts
    const grid = this.opts.grid
    const wallClockAt = this.opts.wallClockAt
    if (grid) {
      this.segIndex = this.gridIndex(s.dts + s.cts)
      const slot = this.opts.segmentTarget
      const msn = grid.msnBase + this.segIndex
      this.publish(-Infinity, false, () => this.store.startSegment(start, wallClockAt(pts), s.sync, msn, {
        duration: slot,
        startTimeOf: (n) => (n - grid.msnBase) * slot,
        pdtOf: (n) => wallClockAt((n - grid.msnBase) * slot),
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
    const end = (first.dts + first.cts) / this.lead.timescale + duration
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
