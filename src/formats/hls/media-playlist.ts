/**
 * The one renderer of media playlists: a `MediaPlaylist` (model.ts) to text,
 * in the tag order of draft-pantos-hls-rfc8216bis 4.4: header tags, then per
 * segment its tags, parts, EXTINF and URI, then the end, hints and reports.
 */
import type { DateRange, Key, MediaPlaylist, MediaSegment } from './model.js'
import { attributes, dateTime, decimal, enumValue, startTag, tag, type AttrValue } from './tags.js'

const YES = enumValue('YES')

/** 4.4.5.1: a client attribute name is `X-` and then upper case letters, digits and hyphens. */
const CLIENT_ATTRIBUTE = /^X-[A-Z0-9-]+$/

/** One EXT-X-DATERANGE line. */
export function dateRangeTag(d: DateRange): string {
  // 4.4.5.1: END-ON-NEXT needs a CLASS and excludes DURATION and END-DATE; a range does not end before it starts.
  if (d.endOnNext && (d.class === undefined || d.duration !== undefined || d.endDate !== undefined)) {
    throw new RangeError(`EXT-X-DATERANGE ${d.id}: END-ON-NEXT needs CLASS and excludes DURATION and END-DATE`)
  }
  if (d.endDate !== undefined && d.endDate < d.startDate) throw new RangeError(`EXT-X-DATERANGE ${d.id}: END-DATE before START-DATE`)
  const attrs: Record<string, AttrValue> = {
    ID: d.id,
    CLASS: d.class,
    'START-DATE': dateTime(d.startDate),
    // 4.2: an enumerated-string-list is a quoted-string of comma-separated enumerated-strings.
    CUE: d.cue?.join(','),
    'END-DATE': d.endDate === undefined ? undefined : dateTime(d.endDate),
    DURATION: d.duration,
    'PLANNED-DURATION': d.plannedDuration,
  }
  // 4.4.5.1: a client attribute is a quoted-string, a hexadecimal-sequence or a decimal-floating-point.
  for (const [name, value] of Object.entries(d.clientAttributes ?? {})) {
    if (!CLIENT_ATTRIBUTE.test(name)) throw new RangeError(`not a client attribute name: ${name}`)
    attrs[name] = value
  }
  attrs['SCTE35-CMD'] = d.scte35Cmd
  attrs['SCTE35-OUT'] = d.scte35Out
  attrs['SCTE35-IN'] = d.scte35In
  attrs['END-ON-NEXT'] = d.endOnNext ? YES : undefined
  return tag('EXT-X-DATERANGE', attributes(attrs))
}

/** One EXT-X-KEY line. */
export function keyTag(k: Key): string {
  // 4.4.4.4: with METHOD=NONE no other attribute may be present.
  if (k.method === 'NONE' && (k.uri !== undefined || k.iv !== undefined || k.keyFormat !== undefined || k.keyFormatVersions !== undefined)) {
    throw new RangeError('EXT-X-KEY METHOD=NONE takes no other attribute')
  }
  if (k.method !== 'NONE' && k.uri === undefined) throw new RangeError(`EXT-X-KEY METHOD=${k.method} needs a URI`)
  if (k.iv !== undefined && k.iv.length !== 16) throw new RangeError('EXT-X-KEY IV is a 128-bit number')
  return tag('EXT-X-KEY', attributes({
    METHOD: enumValue(k.method),
    URI: k.uri,
    IV: k.iv,
    KEYFORMAT: k.keyFormat,
    KEYFORMATVERSIONS: k.keyFormatVersions?.join('/'),
  }))
}

function segmentLines(lines: string[], s: MediaSegment, mapUri: string | undefined): string | undefined {
  if (s.dateranges) for (const d of s.dateranges) lines.push(dateRangeTag(d))
  if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY')
  if (s.keys) for (const k of s.keys) lines.push(keyTag(k))
  // 4.4.4.5: a map applies until the next one. It is restated after every discontinuity even
  // when unchanged (players reset there), and on the first listed segment (after EXT-X-SKIP
  // the segment that declared it may be gone).
  if (s.map && (s.map.uri !== mapUri || s.discontinuity)) {
    lines.push(tag('EXT-X-MAP', attributes({ URI: s.map.uri })))
    mapUri = s.map.uri
  }
  if (s.pdt !== undefined) lines.push(tag('EXT-X-PROGRAM-DATE-TIME', dateTime(s.pdt)))
  if (s.gap) lines.push('#EXT-X-GAP')
  for (const p of s.parts) {
    lines.push(tag('EXT-X-PART', attributes({
      DURATION: p.duration,
      URI: p.uri,
      INDEPENDENT: p.independent ? YES : undefined,
      GAP: p.gap ? YES : undefined,
    })))
  }
  if (s.uri !== undefined) lines.push(`#EXTINF:${decimal(s.duration)},`, s.uri)
  return mapUri
}

/** The text of a media playlist. */
export function formatMediaPlaylist(p: MediaPlaylist): string {
  const lines: string[] = ['#EXTM3U', tag('EXT-X-VERSION', String(p.version))]
  if (p.independentSegments) lines.push('#EXT-X-INDEPENDENT-SEGMENTS')
  if (p.start) lines.push(startTag(p.start))
  lines.push(tag('EXT-X-TARGETDURATION', String(p.targetDuration)))
  const sc = p.serverControl
  if (sc) {
    lines.push(tag('EXT-X-SERVER-CONTROL', attributes({
      'CAN-BLOCK-RELOAD': sc.canBlockReload ? YES : undefined,
      'CAN-SKIP-UNTIL': sc.canSkipUntil,
      'CAN-SKIP-DATERANGES': sc.canSkipDateranges ? YES : undefined,
      'HOLD-BACK': sc.holdBack,
      'PART-HOLD-BACK': sc.partHoldBack,
    })))
  }
  if (p.partTarget !== undefined) lines.push(tag('EXT-X-PART-INF', `PART-TARGET=${decimal(p.partTarget)}`))
  lines.push(tag('EXT-X-MEDIA-SEQUENCE', String(p.mediaSequence)))
  if (p.discontinuitySequence !== undefined) lines.push(tag('EXT-X-DISCONTINUITY-SEQUENCE', String(p.discontinuitySequence)))
  if (p.playlistType) lines.push(tag('EXT-X-PLAYLIST-TYPE', p.playlistType))
  if (p.skip) {
    lines.push(tag('EXT-X-SKIP', attributes({
      'SKIPPED-SEGMENTS': p.skip.skippedSegments,
      // 4.2: a quoted-string of tab-separated IDs.
      'RECENTLY-REMOVED-DATERANGES': p.skip.recentlyRemovedDateranges?.join('\t'),
    })))
  }
  let mapUri: string | undefined
  for (const s of p.segments) mapUri = segmentLines(lines, s, mapUri)
  if (p.endList) lines.push('#EXT-X-ENDLIST')
  for (const h of p.preloadHints) {
    lines.push(tag('EXT-X-PRELOAD-HINT', attributes({
      TYPE: enumValue(h.type),
      URI: h.uri,
      'BYTERANGE-START': h.byterangeStart,
      'BYTERANGE-LENGTH': h.byterangeLength,
    })))
  }
  for (const r of p.renditionReports) {
    lines.push(tag('EXT-X-RENDITION-REPORT', attributes({ URI: r.uri, 'LAST-MSN': r.lastMsn, 'LAST-PART': r.lastPart })))
  }
  return lines.join('\n') + '\n'
}
