/**
 * One DASH Period of the MPD: a publish session's renditions as AdaptationSets
 * and Representations over the very segment URLs HLS lists ({msn}.m4s).
 *
 * Addressing: on the shared grid (ladder) every segment is exactly the grid slot
 * long, so SegmentTemplate@duration with $Number$ describes it without listing
 * anything (ISO/IEC 23009-1 5.3.9.5.3) and a low-latency player can compute the
 * live edge from the clock alone. Keyframe-cut segments (passthrough) vary with
 * the source's GOP, so they are listed in a SegmentTimeline instead (5.3.9.6).
 */
import { el, textEl, type XmlElement } from '../formats/dash/xml.js'
import type { SessionTimeline } from './live-stream.js'
import type { RenditionStore } from './rendition-store.js'
import type { InitRecord, SegmentRecord } from './types.js'
import { startsWithPrft } from '../formats/mp4/prft.js'
import { audioLabel, languageTag } from './hls-multivariant.js'
import { measureFigures } from './stats.js'

/** The ProducerReferenceTime id that ServiceDescription's Latency refers to. */
export const PRT_ID = 0

/** What a Period needs besides the session. */
export interface PeriodContext {
  /** Dynamic (live) or static (ended) presentation. */
  live: boolean
  /** UTCTiming scheme and URL, repeated inside ProducerReferenceTime. */
  utcScheme: string
  utcUrl: string
  /** LL: availabilityTimeOffset of chunked (grid) segments, seconds. */
  availabilityTimeOffset: number
}

/** One rendition's share of a session: its segments in the session's number range. */
export interface SessionRendition {
  store: RenditionStore
  init: InitRecord
  /** Retained segments of the session with media (complete, or with parts), oldest first. */
  segments: SegmentRecord[]
}

/** Where a Period begins within its session: first segment number and media time (s). */
export interface PeriodSpan {
  firstMsn: number
  startSeconds: number
}

/** The Period's window in static presentations (numbers actually retained). */
export interface StaticWindow {
  firstMsn: number
  lastMsn: number
}

/** DASH @frameRate: an integer, or N/1001 for NTSC-style rates (5.3.7.2 FrameRateType). */
export function frameRateAttr(fps: number | undefined): string | undefined {
  if (!fps || !Number.isFinite(fps) || fps <= 0) return undefined
  if (Math.abs(fps - Math.round(fps)) < 0.01) return String(Math.round(fps))
  const ntsc = Math.round(fps * 1.001)
  if (Math.abs(fps * 1.001 - ntsc) < 0.01) return `${ntsc * 1000}/1001`
  return String(Math.round(fps))
}

/** Timescale of a rendition's addressing: its video track's, else its first track's. */
export function leadTimescale(init: InitRecord): number {
  return (init.tracks.find((t) => t.kind === 'video') ?? init.tracks[0])?.timescale ?? 1000
}

function segmentTemplate(r: SessionRendition, tl: SessionTimeline, span: PeriodSpan, ctx: PeriodContext, win: StaticWindow | undefined): XmlElement {
  const ts = leadTimescale(r.init)
  const common = {
    media: `${r.store.name}/$Number$.m4s`,
    initialization: `${r.store.name}/init.mp4?v=${r.init.hash}`,
  }
  if (tl.gridSeconds !== undefined) {
    const slot = Math.round(tl.gridSeconds * ts)
    // Live: numbers and offset are the Period's own and never change. Static: the Period
    // starts at the first retained number, so PTO moves its media time to the Period start.
    const start = win?.firstMsn ?? span.firstMsn
    return el('SegmentTemplate', {
      timescale: ts, duration: slot, startNumber: start, presentationTimeOffset: (start - tl.firstMsn) * slot + Math.round((tl.mediaStartSeconds ?? 0) * ts), ...common,
      // DASH-IF IOP LL (9.X.4.3): a chunked segment may be requested this long before it completes.
      availabilityTimeOffset: ctx.live ? round3(ctx.availabilityTimeOffset) : undefined,
      availabilityTimeComplete: ctx.live ? false : undefined,
    })
  }
  const complete = r.segments.filter((s) => s.complete && !s.gap && (!win || (s.msn >= win.firstMsn && s.msn <= win.lastMsn)))
  const wall0 = tl.wallAtZero ?? 0
  const t0 = (s: SegmentRecord): number => Math.max(0, Math.round(((s.pdt - wall0) / 1000) * ts))
  const entries: Array<{ t: number; d: number; r: number }> = []
  complete.forEach((s, i) => {
    const next = complete[i + 1]
    const t = t0(s)
    const d = next && next.msn === s.msn + 1 ? Math.max(1, t0(next) - t) : Math.max(1, Math.round(s.duration * ts))
    const prev = entries[entries.length - 1]
    if (prev && prev.t + prev.d * (prev.r + 1) === t && prev.d === d) prev.r++
    else entries.push({ t, d, r: 0 })
  })
  const first = complete[0]
  return el('SegmentTemplate', {
    timescale: ts, startNumber: first?.msn ?? span.firstMsn,
    presentationTimeOffset: win && first ? t0(first) : Math.round(span.startSeconds * ts), ...common,
  }, [el('SegmentTimeline', {}, entries.map((e, i) => el('S', { t: i === 0 || !contiguous(entries[i - 1]!, e) ? e.t : undefined, d: e.d, r: e.r || undefined })))])
}

const contiguous = (a: { t: number; d: number; r: number }, b: { t: number }): boolean => a.t + a.d * (a.r + 1) === b.t
const round3 = (x: number): number => Math.round(x * 1000) / 1000

function representation(r: SessionRendition, tl: SessionTimeline, span: PeriodSpan, ctx: PeriodContext, win: StaticWindow | undefined): XmlElement | undefined {
  const figures = measureFigures(r.store)
  if (!figures) return undefined
  const v = r.init.tracks.find((t) => t.kind === 'video')
  const a = r.init.tracks.find((t) => t.kind === 'audio')
  return el('Representation', {
    id: r.store.name,
    bandwidth: figures.peakBitrate,
    codecs: r.init.tracks.map((t) => t.codec).join(','),
    width: v?.width, height: v?.height,
    frameRate: v ? frameRateAttr(r.store.frameRate) : undefined,
    sar: v ? '1:1' : undefined,
    audioSamplingRate: a?.sampleRate,
  }, [
    a?.channels !== undefined && el('AudioChannelConfiguration', { schemeIdUri: 'urn:mpeg:dash:23003:3:audio_channel_configuration:2011', value: a.channels }),
    segmentTemplate(r, tl, span, ctx, win),
  ])
}

/**
 * Whether every listed segment of these renditions opens with a `prft` box (the segmenter
 * writes one per segment; segments from elsewhere, e.g. tests, may lack it). Only then
 * may the MPD say the reference is also carried inband.
 */
export function prftInband(members: SessionRendition[]): boolean {
  let seen = 0
  for (const r of members) {
    for (const s of r.segments) {
      const first = s.parts[0]
      if (s.gap || !first) continue
      if (!startsWithPrft(first.data)) return false
      seen++
    }
  }
  return seen > 0
}

/**
 * ProducerReferenceTime (ISO/IEC 23009-1 5.12): media time zero of the session was
 * captured at the session's wall-clock anchor, the same one PROGRAM-DATE-TIME uses.
 * 5.12.2 @inband: each segment also starts with a `prft` on that same mapping.
 */
function producerReferenceTime(tl: SessionTimeline, ctx: PeriodContext, members: SessionRendition[]): XmlElement | undefined {
  if (tl.wallAtZero === undefined) return undefined
  return el('ProducerReferenceTime', {
    id: PRT_ID, inband: prftInband(members) || undefined, type: 'encoder',
    wallClockTime: new Date(tl.wallAtZero).toISOString(), presentationTime: 0,
  }, [el('UTCTiming', { schemeIdUri: ctx.utcScheme, value: ctx.utcUrl })])
}

type Kind = 'video' | 'audio' | 'muxed'

function kindOf(init: InitRecord): Kind {
  const v = init.tracks.some((t) => t.kind === 'video')
  const a = init.tracks.some((t) => t.kind === 'audio')
  return v && a ? 'muxed' : v ? 'video' : 'audio'
}

/**
 * AdaptationSets of a Period: one for the video (or muxed) renditions, which are
 * bitrate alternatives of one picture, and one per audio rendition. ISO/IEC 23009-1
 * 5.3.3.1: Representations of one set are "perceptually equivalent" alternatives a
 * client may switch between — two audio tracks are not, even in one language (a
 * commentary and the stadium sound). Each audio set gets a Label (5.3.10, the name
 * HLS gives it too) when there are several, and a Role of the DASH role scheme
 * (5.8.5.5): `main` for the first, the default that HLS marks DEFAULT=YES, and
 * `alternate` for the others, so a player starts on the same track either way.
 */
export function adaptationSets(renditions: SessionRendition[], tl: SessionTimeline, span: PeriodSpan, ctx: PeriodContext, win?: StaticWindow): XmlElement[] {
  const groups = new Map<string, SessionRendition[]>()
  for (const r of renditions) {
    const kind = kindOf(r.init)
    const key = kind === 'audio' ? `audio:${r.store.name}` : kind
    groups.set(key, [...(groups.get(key) ?? []), r])
  }
  const sets: XmlElement[] = []
  // Video first, then audio renditions in the plan's order (its first is the default); ids unique within the Period.
  const keys = [...groups.keys()].sort((x, y) => (x.startsWith('audio:') ? 1 : 0) - (y.startsWith('audio:') ? 1 : 0) || (x.startsWith('audio:') ? 0 : x.localeCompare(y)))
  const audioCount = keys.filter((k) => k.startsWith('audio:')).length
  const labels = new Set<string>()
  let audioSets = 0
  for (const key of keys) {
    const members = groups.get(key)!
    const reps = members.map((r) => representation(r, tl, span, ctx, win)).filter((x): x is XmlElement => x !== undefined)
    if (reps.length === 0) continue
    const audio = key.startsWith('audio:')
    const lang = audio ? members[0]!.init.tracks.find((t) => t.kind === 'audio')?.language ?? 'und' : undefined
    const videos = members.flatMap((r) => r.init.tracks.filter((t) => t.kind === 'video'))
    const label = audio && audioCount > 1 ? audioLabel(lang!, members[0]!.store.name, labels) : undefined
    const role = audio ? (audioSets++ === 0 ? 'main' : 'alternate') : undefined
    sets.push(el('AdaptationSet', {
      id: sets.length,
      contentType: key === 'muxed' ? undefined : audio ? 'audio' : 'video',
      mimeType: audio ? 'audio/mp4' : 'video/mp4',
      lang: lang ? languageTag(lang) : undefined,
      // Segments of all renditions are aligned by number and start with a sync sample.
      segmentAlignment: true,
      startWithSAP: 1,
      maxWidth: videos.length ? Math.max(...videos.map((t) => t.width ?? 0)) || undefined : undefined,
      maxHeight: videos.length ? Math.max(...videos.map((t) => t.height ?? 0)) || undefined : undefined,
    }, [
      // Schema order (RepresentationBaseType, then AdaptationSetType): Label, ProducerReferenceTime, Role.
      label !== undefined && textEl('Label', {}, label),
      producerReferenceTime(tl, ctx, members),
      role && el('Role', { schemeIdUri: 'urn:mpeg:dash:role:2011', value: role }),
      ...reps,
    ]))
  }
  return sets
}
