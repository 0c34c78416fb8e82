/**
 * LL-HLS media playlist rendering (draft-pantos-hls-rfc8216bis) from a
 * RenditionStore. Pure over the store's state: same state, same text.
 */
import { attributes, dateTime, decimal, enumValue, tag } from '../formats/hls/tags.js'
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

/** Render the media playlist for the store's current state. */
export function renderMediaPlaylist(store: RenditionStore, req: MediaPlaylistRequest = {}): string {
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
  const version = skipped > 0 ? (req.skip === 'v2' ? 10 : 9) : segs.slice(skipped).some((s) => s.gap) ? 8 : 6
  const lines: string[] = ['#EXTM3U', tag('EXT-X-VERSION', String(version))]
  lines.push(tag('EXT-X-TARGETDURATION', String(targetDuration)))
  lines.push(tag('EXT-X-SERVER-CONTROL', attributes({
    'CAN-BLOCK-RELOAD': true,
    'CAN-SKIP-UNTIL': skipUntil(store),
    'PART-HOLD-BACK': partHoldBack(store),
  })))
  lines.push(tag('EXT-X-PART-INF', `PART-TARGET=${decimal(partTarget)}`))
  lines.push(tag('EXT-X-MEDIA-SEQUENCE', String(firstMsn)))
  lines.push(tag('EXT-X-DISCONTINUITY-SEQUENCE', String(dsn)))
  if (skipped > 0) {
    // 4.4.5.2: RECENTLY-REMOVED-DATERANGES is required in a v2 update; empty: no date ranges here.
    const removed = req.skip === 'v2' ? '' : undefined
    lines.push(tag('EXT-X-SKIP', attributes({ 'SKIPPED-SEGMENTS': skipped, 'RECENTLY-REMOVED-DATERANGES': removed })))
  }

  // A preload hint that opens a new segment counts as one of the last three segments. A hint
  // is given in a gap too (a playlist with parts must have one): a gap part answers 404.
  const hintOpensSegment = !store.ended && (segs.length === 0 || segs[segs.length - 1]!.complete)
  const firstWithParts = segs.length - (hintOpensSegment ? 2 : 3)
  let elapsed = 0
  // After EXT-X-SKIP the map is stated again: the tag that declared it may have been skipped.
  let mapHash: string | undefined
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!
    if (i < skipped) {
      elapsed += s.duration
      continue
    }
    if (s.discontinuity && i > 0) lines.push('#EXT-X-DISCONTINUITY')
    // Repeat the map after every discontinuity, even if unchanged: players reset there.
    if (s.init.hash !== mapHash || (s.discontinuity && i > 0)) {
      lines.push(tag('EXT-X-MAP', attributes({ URI: initUri(s.init.hash) })))
      mapHash = s.init.hash
    }
    lines.push(tag('EXT-X-PROGRAM-DATE-TIME', dateTime(s.pdt)))
    // 4.4.4.7: absent media is listed with EXT-X-GAP (before its parts, each GAP=YES per
    // 4.4.4.9); the URIs answer 404. An open gap segment shows only its GAP=YES parts.
    if (s.gap && s.complete) lines.push('#EXT-X-GAP')
    // Parts on the last three segments only, and only those starting within the horizon.
    const partsAllowed = i >= firstWithParts
    let partStart = elapsed
    for (const p of s.parts) {
      const start = partStart
      partStart += p.duration
      if (!partsAllowed || total - start > partHorizon + 1e-9) continue
      lines.push(tag('EXT-X-PART', attributes({
        DURATION: p.duration,
        URI: partUri(p.msn, p.index),
        INDEPENDENT: p.independent ? enumValue('YES') : undefined,
        GAP: p.gap ? enumValue('YES') : undefined,
      })))
    }
    elapsed += s.duration
    if (s.complete) {
      lines.push(`#EXTINF:${decimal(s.duration)},`, segmentUri(s.msn))
    }
  }

  if (store.ended) {
    lines.push('#EXT-X-ENDLIST')
  } else {
    const open = store.openSegment()
    const hintMsn = open ? open.msn : store.upcomingMsn
    const hintPart = open ? open.parts.length : 0
    lines.push(tag('EXT-X-PRELOAD-HINT', attributes({ TYPE: enumValue('PART'), URI: partUri(hintMsn, hintPart) })))
  }
  for (const r of req.reports ?? []) {
    lines.push(tag('EXT-X-RENDITION-REPORT', attributes({ URI: r.uri, 'LAST-MSN': r.lastMsn, 'LAST-PART': r.lastPart })))
  }
  return lines.join('\n') + '\n'
}
