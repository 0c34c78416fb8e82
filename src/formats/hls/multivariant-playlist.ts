/**
 * The one renderer of multivariant playlists: a `MultivariantPlaylist`
 * (model.ts) to text (draft-pantos-hls-rfc8216bis 4.4.6): session tags, then
 * the EXT-X-MEDIA renditions, then each EXT-X-STREAM-INF and its URI.
 */
import type { MediaRendition, MultivariantPlaylist, Variant } from './model.js'
import { attributes, enumValue, startTag, tag } from './tags.js'

const YES = enumValue('YES')
const NO = enumValue('NO')
const NONE = enumValue('NONE')

const yesNo = (b: boolean | undefined): { enum: string } | undefined => (b === undefined ? undefined : b ? YES : NO)

/** One EXT-X-MEDIA line. */
export function mediaTag(m: MediaRendition): string {
  return tag('EXT-X-MEDIA', attributes({
    TYPE: enumValue(m.type),
    'GROUP-ID': m.groupId,
    NAME: m.name,
    LANGUAGE: m.language,
    'ASSOC-LANGUAGE': m.assocLanguage,
    'STABLE-RENDITION-ID': m.stableRenditionId,
    DEFAULT: yesNo(m.default),
    AUTOSELECT: yesNo(m.autoselect),
    FORCED: yesNo(m.forced),
    'INSTREAM-ID': m.instreamId,
    CHARACTERISTICS: m.characteristics?.join(','),
    CHANNELS: m.channels,
    URI: m.uri,
  }))
}

/** One EXT-X-STREAM-INF line (its URI goes on the next line). */
export function streamInfTag(v: Variant): string {
  return tag('EXT-X-STREAM-INF', attributes({
    BANDWIDTH: v.bandwidth,
    'AVERAGE-BANDWIDTH': v.averageBandwidth,
    SCORE: v.score,
    CODECS: v.codecs?.join(','),
    // 4.2: a decimal-resolution is unquoted.
    RESOLUTION: v.resolution ? enumValue(`${v.resolution.width}x${v.resolution.height}`) : undefined,
    // 4.4.6.2: FRAME-RATE SHOULD be rounded to three decimal places.
    'FRAME-RATE': v.frameRate !== undefined ? enumValue(v.frameRate.toFixed(3)) : undefined,
    'HDCP-LEVEL': v.hdcpLevel ? enumValue(v.hdcpLevel) : undefined,
    'VIDEO-RANGE': v.videoRange ? enumValue(v.videoRange) : undefined,
    'STABLE-VARIANT-ID': v.stableVariantId,
    AUDIO: v.audio,
    VIDEO: v.video,
    SUBTITLES: v.subtitles,
    'CLOSED-CAPTIONS': v.closedCaptions === false ? NONE : v.closedCaptions,
    'PATHWAY-ID': v.pathwayId,
  }))
}

/** The text of a multivariant playlist. */
export function formatMultivariantPlaylist(p: MultivariantPlaylist): string {
  const lines = ['#EXTM3U', tag('EXT-X-VERSION', String(p.version))]
  if (p.independentSegments) lines.push('#EXT-X-INDEPENDENT-SEGMENTS')
  if (p.start) lines.push(startTag(p.start))
  if (p.contentSteering) {
    lines.push(tag('EXT-X-CONTENT-STEERING', attributes({ 'SERVER-URI': p.contentSteering.serverUri, 'PATHWAY-ID': p.contentSteering.pathwayId })))
  }
  for (const d of p.sessionData ?? []) {
    // 4.4.6.4: each has a VALUE or a URI, not both.
    if ((d.value === undefined) === (d.uri === undefined)) throw new RangeError(`EXT-X-SESSION-DATA ${d.dataId}: give VALUE or URI`)
    lines.push(tag('EXT-X-SESSION-DATA', attributes({
      'DATA-ID': d.dataId, VALUE: d.value, URI: d.uri, FORMAT: d.format ? enumValue(d.format) : undefined, LANGUAGE: d.language,
    })))
  }
  // 4.4.6.2: if one variant has CLOSED-CAPTIONS=NONE, every variant must.
  const none = p.variants.filter((v) => v.closedCaptions === false).length
  if (none > 0 && none < p.variants.length) throw new RangeError('CLOSED-CAPTIONS=NONE on some variants but not all')
  for (const m of p.renditions) lines.push(mediaTag(m))
  for (const v of p.variants) lines.push(streamInfTag(v), v.uri)
  return lines.join('\n') + '\n'
}
