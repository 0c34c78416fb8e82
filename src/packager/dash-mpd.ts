/**
 * The DASH MPD of a stream (ISO/IEC 23009-1, DASH-IF IOP v5 low-latency), over
 * the same CMAF segments HLS lists. One Period per publish session, so a
 * republish under the same name continues the presentation without reusing a
 * number. Live streams get a dynamic MPD whose availabilityStartTime is the
 * first session's media zero (the PROGRAM-DATE-TIME anchor) and stays fixed; an
 * ended stream gets a static MPD listing only what is still retained.
 * Pure over the stream's state and the options.
 */
import { dateTime, duration, el, serialize, textEl, type XmlElement } from '../formats/dash/xml.js'
import type { SteeringView } from './hls-multivariant.js'
import type { LiveStream, SessionTimeline } from './live-stream.js'
import type { RenditionStore } from './rendition-store.js'
import { PRT_ID, adaptationSets, type PeriodContext, type PeriodSpan, type SessionRendition, type StaticWindow } from './dash-period.js'

/** UTCTiming scheme of streamd's `/time` endpoint: an ISO 8601 date over HTTP (5.8.5.7). */
export const UTC_HTTP_ISO = 'urn:mpeg:dash:utc:http-iso:2014'

/** What varies per response. */
export interface MpdOptions {
  /** MPD@publishTime (ms): the time this content was last changed. */
  publishTime: number
  /** URL of the time endpoint the player synchronizes with; a relative one resolves against the MPD's URL (5.6.4). */
  utcUrl: string
  /** Content steering: one MPD-level BaseURL per pathway (best first) and the ContentSteering element. */
  steering?: SteeringView
}

/**
 * DASH-IF Content Steering: a BaseURL per pathway, named by @serviceLocation (the ids the
 * steering manifest's SERVICE-LOCATION-PRIORITY orders), and ContentSteering naming the
 * manifest and the location to use until it is loaded. Segment URLs resolve against the
 * chosen BaseURL, so each pathway serves the stream's `live/{stream}/` tree.
 */
function steeringElements(stream: string, s: SteeringView | undefined): XmlElement[] {
  if (!s || s.pathways.length === 0) return []
  return [
    ...s.pathways.map((p) => textEl('BaseURL', { serviceLocation: p.id }, new URL(`live/${stream}/`, p.url.endsWith('/') ? p.url : `${p.url}/`).href)),
    textEl('ContentSteering', { defaultServiceLocation: s.pathways[0]!.id, queryBeforeStart: 'false' }, s.serverUri),
  ]
}

/** Latency figures of ServiceDescription (seconds), from the part target. */
export interface LatencyTargets {
  target: number
  min: number
  max: number
}

/**
 * DASH-IF IOP LL (9.X.4.2): the service's latency target. Three parts behind the live
 * edge matches LL-HLS PART-HOLD-BACK, so both players aim at the same distance.
 */
export function latencyTargets(partTarget: number, segmentTarget: number): LatencyTargets {
  const target = Math.max(1, 3 * partTarget)
  return { target, min: Math.max(0.5, 2 * partTarget), max: target + 2 * segmentTarget }
}

interface PlannedPeriod {
  tl: SessionTimeline
  span: PeriodSpan
  renditions: SessionRendition[]
  window?: StaticWindow
  seconds?: number
}

function sessionRenditions(stream: LiveStream, tl: SessionTimeline, lo: number, hi: number, current: boolean): SessionRendition[] {
  const out: SessionRendition[] = []
  for (const store of stream.renditions.values()) {
    const segments = store.segments.filter((s) => s.msn >= lo && s.msn < hi && (s.parts.length > 0 || s.gap))
    const withMedia = segments.filter((s) => !s.gap)
    // A shed rendition is no longer offered live (HLS drops it from the multivariant too).
    const init = withMedia[withMedia.length - 1]?.init ?? (current && !store.shed && store.edge() ? store.currentInit : undefined)
    if (!init || (current && store.shed)) continue
    if (segments.length === 0 && !current) continue
    out.push({ store, init, segments })
  }
  return out
}

/**
 * A session's Periods: one, plus one more wherever a rendition's init changed (a worker
 * restarted with a new codec configuration, where HLS writes EXT-X-DISCONTINUITY and a
 * new EXT-X-MAP). 23009-1 5.3.9.2 allows one Initialization per Representation and
 * Period, so old segments keep their init only in a Period of their own. Numbers and
 * media time run on across the boundary (the restarted worker continues the session's
 * timeline), so the new Period starts at its first segment's media time.
 */
function spans(stream: LiveStream, tl: SessionTimeline, hi: number): Array<PeriodSpan & { hi: number }> {
  const cuts = new Map<number, number>()
  for (const store of stream.renditions.values()) {
    for (const c of store.initChanges) {
      // previousMsn inside the session: a restart, not the first segment of a republish.
      if (c.msn <= tl.firstMsn || c.msn >= hi || c.previousMsn < tl.firstMsn || cuts.has(c.msn)) continue
      const at = tl.gridSeconds !== undefined ? (c.msn - tl.firstMsn) * tl.gridSeconds : Math.max(0, (c.pdt - tl.wallAtZero!) / 1000)
      cuts.set(c.msn, at)
    }
  }
  const starts = [{ firstMsn: tl.firstMsn, startSeconds: 0 }, ...[...cuts].sort(([a], [b]) => a - b).map(([firstMsn, startSeconds]) => ({ firstMsn, startSeconds }))]
  return starts.map((sp, i) => ({ ...sp, hi: starts[i + 1]?.firstMsn ?? hi }))
}

/** Static window of a Period: numbers complete in every rendition that has them. */
function staticWindow(renditions: SessionRendition[]): StaticWindow | undefined {
  let first = -Infinity
  let last = -Infinity
  for (const r of renditions) {
    const done = r.segments.filter((s) => s.complete && !s.gap)
    if (done.length === 0) continue
    first = Math.max(first, done[0]!.msn)
    last = Math.max(last, done[done.length - 1]!.msn)
  }
  return Number.isFinite(first) && first <= last ? { firstMsn: first, lastMsn: last } : undefined
}

function staticSeconds(p: PlannedPeriod): number {
  const w = p.window!
  if (p.tl.gridSeconds !== undefined) return (w.lastMsn - w.firstMsn + 1) * p.tl.gridSeconds
  const lead = p.renditions[0]!
  return lead.segments.filter((s) => s.complete && s.msn >= w.firstMsn && s.msn <= w.lastMsn).reduce((a, s) => a + s.duration, 0)
}

function plan(stream: LiveStream, live: boolean): PlannedPeriod[] {
  const tls = stream.timelines
  const out: PlannedPeriod[] = []
  tls.forEach((tl, i) => {
    if (tl.wallAtZero === undefined) return
    const sessionEnd = tls[i + 1]?.firstMsn ?? Infinity
    const parts = spans(stream, tl, sessionEnd)
    parts.forEach((span, k) => {
      const current = live && i === tls.length - 1 && k === parts.length - 1
      const renditions = sessionRenditions(stream, tl, span.firstMsn, span.hi, current)
      if (renditions.length === 0) return
      if (live) return out.push({ tl, span, renditions })
      const window = staticWindow(renditions)
      if (!window) return
      const p: PlannedPeriod = { tl, span, renditions, window }
      p.seconds = staticSeconds(p)
      out.push(p)
    })
  })
  return out
}

/** Any rendition's timing (all renditions of a stream share the configuration). */
function timingOf(stream: LiveStream): RenditionStore['timing'] | undefined {
  return stream.renditions.values().next().value?.timing
}

/** Render the MPD; undefined while the stream has produced no media. */
export function renderMpd(stream: LiveStream, o: MpdOptions): string | undefined {
  const timing = timingOf(stream)
  const ast = stream.availabilityStart
  if (!timing || ast === undefined) return undefined
  const live = stream.state !== 'ended'
  const periods = plan(stream, live)
  if (periods.length === 0) return undefined
  const segmentTarget = periods[periods.length - 1]!.tl.gridSeconds ?? timing.targetDuration
  const lat = latencyTargets(timing.partTarget, segmentTarget)
  const ctx: PeriodContext = {
    live, utcScheme: UTC_HTTP_ISO, utcUrl: o.utcUrl,
    // A grid segment's first chunk is out one part target after the segment starts.
    availabilityTimeOffset: Math.max(0, segmentTarget - timing.partTarget),
  }
  let staticStart = 0
  const periodEls: XmlElement[] = periods.map((p) => {
    let start: number
    if (live) {
      start = (p.tl.wallAtZero! - ast) / 1000 + p.span.startSeconds
    } else {
      start = staticStart
      staticStart += p.seconds!
    }
    return el('Period', { id: `p${p.span.firstMsn}`, start: duration(Math.max(0, start)), duration: live ? undefined : duration(p.seconds!) },
      adaptationSets(p.renditions, p.tl, p.span, ctx, p.window))
  })
  const root = el('MPD', {
    xmlns: 'urn:mpeg:dash:schema:mpd:2011',
    profiles: 'urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019',
    type: live ? 'dynamic' : 'static',
    availabilityStartTime: live ? dateTime(ast) : undefined,
    publishTime: dateTime(o.publishTime),
    mediaPresentationDuration: live ? undefined : duration(staticStart),
    // Segment addresses follow from the clock; refreshing once a segment keeps bandwidth and Periods current.
    minimumUpdatePeriod: live ? duration(segmentTarget) : undefined,
    timeShiftBufferDepth: live ? duration(timing.windowSeconds) : undefined,
    suggestedPresentationDelay: live ? duration(lat.target) : undefined,
    maxSegmentDuration: duration(timing.targetDuration + 0.5),
    minBufferTime: duration(Math.max(2 * timing.partTarget, 0.5)),
  }, [
    ...steeringElements(stream.name, o.steering),
    // 5.13 / DASH-IF LL: the latency the service aims at, measured against the producer reference.
    live && el('ServiceDescription', { id: 0 }, [
      el('Latency', { referenceId: PRT_ID, target: Math.round(lat.target * 1000), min: Math.round(lat.min * 1000), max: Math.round(lat.max * 1000) }),
      el('PlaybackRate', { min: 0.96, max: 1.04 }),
    ]),
    ...periodEls,
    el('UTCTiming', { schemeIdUri: UTC_HTTP_ISO, value: o.utcUrl }),
  ])
  return serialize(root)
}
