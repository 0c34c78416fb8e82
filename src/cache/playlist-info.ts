/**
 * Just enough of an HLS media playlist for the shield's rules: target duration,
 * which segment and part it reaches, the preload hint. A line scan, not a full
 * parser: the shield never rewrites playlists, it only decides how long to keep
 * them and whether they answer the blocking request they were fetched for.
 */

/** Facts read from a media playlist. */
export interface PlaylistInfo {
  /** EXT-X-TARGETDURATION, seconds; undefined for a multivariant playlist. */
  targetDuration: number | undefined
  /** EXT-X-PART-INF PART-TARGET, seconds; undefined without parts. */
  partTarget: number | undefined
  /** Media sequence number of the last complete segment listed; -1 when none. */
  lastMsn: number
  /** Parts listed after the last complete segment (of segment lastMsn + 1). */
  trailingParts: number
  ended: boolean
  /** URI of the EXT-X-PRELOAD-HINT TYPE=PART, as written. */
  preloadHint: string | undefined
  /** URIs of the newest objects listed (last segment, parts after it, last parts before it), as written. */
  newest: string[]
}

/** Read the facts from playlist text (unknown tags ignored). */
export function playlistInfo(text: string): PlaylistInfo {
  let td: number | undefined
  let pt: number | undefined
  let seq = 0
  let segments = 0
  let parts = 0
  let ended = false
  let hint: string | undefined
  let skipped = 0
  const newest: string[] = []
  const remember = (uri: string | undefined): void => {
    if (uri === undefined) return
    newest.push(uri)
    if (newest.length > 8) newest.shift()
  }
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line.startsWith('#')) {
      if (line !== '') {
        segments++
        parts = 0
        remember(line)
      }
      continue
    }
    if (line.startsWith('#EXT-X-TARGETDURATION:')) td = Number(line.slice(22))
    else if (line.startsWith('#EXT-X-PART-INF:')) pt = Number(/PART-TARGET=([\d.]+)/.exec(line)?.[1])
    else if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) seq = Number(line.slice(22))
    else if (line.startsWith('#EXT-X-PART:')) {
      parts++
      remember(/URI="([^"]*)"/.exec(line)?.[1])
    }
    else if (line.startsWith('#EXT-X-ENDLIST')) ended = true
    else if (line.startsWith('#EXT-X-SKIP:')) skipped = Number(/SKIPPED-SEGMENTS=(\d+)/.exec(line)?.[1] ?? 0)
    else if (line.startsWith('#EXT-X-PRELOAD-HINT:') && /TYPE=PART/.test(line)) hint = /URI="([^"]*)"/.exec(line)?.[1]
  }
  return {
    targetDuration: td !== undefined && Number.isFinite(td) && td > 0 ? td : undefined,
    partTarget: pt !== undefined && Number.isFinite(pt) && pt > 0 ? pt : undefined,
    lastMsn: Number.isFinite(seq) ? seq + skipped + segments - 1 : -1,
    trailingParts: parts,
    ended,
    preloadHint: hint,
    newest,
  }
}

/**
 * Whether a playlist answers a blocking request (rfc8216bis 6.2.5.2): it contains
 * segment `msn` (or a later one), or, with `part`, that part of segment `msn` (or later).
 * An ended playlist is the last answer there will be.
 */
export function satisfies(info: PlaylistInfo, msn: number, part: number | undefined): boolean {
  if (info.ended) return true
  if (info.lastMsn >= msn) return true
  if (part === undefined) return false
  const open = info.lastMsn + 1
  return open > msn || (open === msn && info.trailingParts > part)
}
