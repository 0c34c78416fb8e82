/**
 * LL-HLS media playlist of a RenditionStore (draft-pantos-hls-rfc8216bis):
 * the store's state becomes a `MediaPlaylist` model, which the format's one
 * renderer writes out. Pure over the store's state: same state, same text.
 */
import { formatMediaPlaylist } from '../formats/hls/media-playlist.js'
import type { MediaPlaylist, MediaSegment, PartialSegment } from '../formats/hls/model.js'
import type { RenditionStore } from './rendition-store.js'
import type { SegmentRecord } from './types.js'

/** Another rendition's position, for EXT-X-RENDITION-REPORT. */
export interface RenditionReport {
  uri: string
  lastMsn: number
  lastPart: number
}

/** What varies per request. */
export interface MediaPlaylistRequest {
  /** `_HLS_skip=YES` (v1) or `v2`: a delta update. */
  skip?: 'YES' | 'v2'
  reports?: RenditionReport[]
}

/** Segment URI within the rendition folder. */
export const segmentUri = (msn: number): string => `${msn}.m4s`
/** Part URI within the rendition folder. */
export const partUri = (msn: number, index: number): string => `${msn}.${index}.m4s`
/** Init URI: content-addressed, so one URL never names two different init segments. */
export const initUri = (hash: string): string => `init.mp4?v=${hash}`

/** 4.4.3.8: CAN-SKIP-UNTIL must be at least six target durations. */
export function skipUntil(store: RenditionStore): number {
  return 6 * store.timing.targetDuration
}

/** PART-HOLD-BACK: 4.4.3.8 requires at least three part targets. */
export function partHoldBack(store: RenditionStore): number {
  return 3 * store.timing.partTarget
}

/**
 * The segments the playlist lists: complete ones covering at least windowSeconds
 * (6.2.2: never less than three target durations, which config guarantees), then
 * the one in production.
 */
export function listedSegments(store: RenditionStore): SegmentRecord[] {
  const all = store.segments.filter((s) => s.parts.length > 0 || s.gap)
  let total = 0
  let first = all.length
  while (first > 0) {
    const s = all[first - 1]!
    if (s.complete) {
      if (total >= store.timing.windowSeconds) break
      total += s.duration
    }
    first--
  }
  return all.slice(first)
}

/** The media playlist model of the store's current state, for one request. */
export function mediaPlaylistModel(store: RenditionStore, req: MediaPlaylistRequest = {}): MediaPlaylist {
  const { targetDuration, partTarget } = store.timing
  const segs = listedSegments(store)
  const firstMsn = segs[0]?.msn ?? store.upcomingMsn
  // Discontinuities dropped from the top (retained grace segments included) raise the sequence.
  let dsn = store.discontinuitySequence
  for (const s of store.segments) {
    if (s.msn >= firstMsn) break
    if (s.discontinuity) dsn++
  }

  // Parts stay listed while within 3 target durations of the playlist's end (4.4.4.9).
  const partHorizon = 3 * targetDuration
  const total = segs.reduce((a, s) => a + s.duration, 0)

  // Delta update (6.2.5.1): every complete segment further from the playlist's end than the
  // skip boundary is replaced by EXT-X-SKIP, with the tags that apply only to it.
  let skipped = 0
  if (req.skip && !store.ended) {
    let elapsed = 0
    for (const s of segs) {
      if (!s.complete || total - elapsed - s.duration < skipUntil(store)) break
      elapsed += s.duration
      skipped++
    }
  }

  // 8: the lowest version that fits (fMP4 needs 6, EXT-X-GAP 8, EXT-X-SKIP 9, v2 skip 10).
  let version = 6
  if (skipped > 0) version = req.skip === 'v2' ? 10 : 9
  else if (segs.some((s) => s.gap)) version = 8

  // A preload hint that opens a new segment counts as one of the last three segments. A hint
  // is given in a gap too (a playlist with parts must have one): a gap part answers 404.
  const hintOpensSegment = !store.ended && (segs.length === 0 || segs[segs.length - 1]!.complete)
  const firstWithParts = segs.length - (hintOpensSegment ? 2 : 3)
  const segments: MediaSegment[] = []
  let elapsed = 0
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!
    if (i < skipped) {
      elapsed += s.duration
      continue
    }
    // Parts on the last three segments only, and only those starting within the horizon.
    const parts: PartialSegment[] = []
    if (i >= firstWithParts) {
      let start = elapsed
      for (const p of s.parts) {
        if (total - start <= partHorizon + 1e-9) parts.push({ duration: p.duration, uri: partUri(p.msn, p.index), independent: p.independent, gap: p.gap })
        start += p.duration
      }
    }
    elapsed += s.duration
    segments.push({
      duration: s.duration,
      uri: s.complete ? segmentUri(s.msn) : undefined,
      map: { uri: initUri(s.init.hash) },
      pdt: s.pdt,
      // The first listed segment starts the playlist: there is nothing before it to break from.
      discontinuity: s.discontinuity && i > 0,
      // 4.4.4.7: absent media is listed with EXT-X-GAP (its parts each GAP=YES per 4.4.4.9);
      // the URIs answer 404. An open gap segment shows only its GAP=YES parts.
      gap: s.gap && s.complete,
      parts,
    })
  }

  const open = store.openSegment()
  return {
    version,
    targetDuration,
    serverControl: { canBlockReload: true, canSkipUntil: skipUntil(store), partHoldBack: partHoldBack(store) },
    partTarget,
    mediaSequence: firstMsn,
    discontinuitySequence: dsn,
    // 4.4.5.2: RECENTLY-REMOVED-DATERANGES is required in a v2 update; empty: no date ranges here.
    skip: skipped > 0 ? { skippedSegments: skipped, recentlyRemovedDateranges: req.skip === 'v2' ? [] : undefined } : undefined,
    segments,
    endList: store.ended,
    preloadHints: store.ended ? [] : [{ type: 'PART', uri: partUri(open ? open.msn : store.upcomingMsn, open ? open.parts.length : 0) }],
    renditionReports: req.reports ?? [],
  }
}

/** Render the media playlist for the store's current state. */
export function renderMediaPlaylist(store: RenditionStore, req: MediaPlaylistRequest = {}): string {
  return formatMediaPlaylist(mediaPlaylistModel(store, req))
}
