/**
 * Segments as a media playlist lists them, collected over successive reloads: media
 * sequence number, EXTINF, PROGRAM-DATE-TIME and (while the playlist lists them) the
 * durations of its parts. Tests compare two origins' playlists with it.
 */

/** One complete segment as seen in a playlist. */
export interface SeenSegment {
  duration: number
  /** PROGRAM-DATE-TIME, ms since the Unix epoch. */
  pdt: number
  /** Part durations, when the playlist listed the segment's parts. */
  parts?: number[]
}

/** Add the complete segments of one media playlist to `into` (by msn; parts kept once seen). */
export function collectSegments(text: string, into: Map<number, SeenSegment>): void {
  let msn = 0
  let pdt: number | undefined
  let parts: number[] = []
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) msn = Number(line.slice(22))
    else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = Date.parse(line.slice(25))
    else if (line.startsWith('#EXT-X-PART:')) parts.push(Number(/DURATION=([\d.]+)/.exec(line)?.[1]))
    else if (line.startsWith('#EXTINF:')) {
      const duration = Number(line.slice(8).split(',')[0])
      const before = into.get(msn)
      const seg: SeenSegment = { duration, pdt: pdt ?? NaN }
      if (parts.length > 0) seg.parts = parts
      else if (before?.parts) seg.parts = before.parts
      into.set(msn, seg)
    } else if (line.length > 0 && !line.startsWith('#')) {
      msn++
      if (pdt !== undefined) pdt += (into.get(msn - 1)?.duration ?? 0) * 1000
      parts = []
    }
  }
}
