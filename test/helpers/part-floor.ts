/**
 * The 85% floor on Partial Segment durations as draft-pantos-hls-rfc8216bis
 * 4.4.4.9 states it, for the one place hls-parser (0.16) applies it too widely.
 *
 * The draft: "The duration of each Partial Segment MUST be at least 85% of the
 * Part Target Duration, with the exception of Partial Segments with the
 * INDEPENDENT=YES or GAP=YES attribute, Partial Segments that are immediately
 * followed by a Partial Segment with a GAP=YES attribute, and the final Partial
 * Segment of any Parent Segment." hls-parser's strict mode exempts only the last
 * part of each segment, so it rejects a ladder's audio playlist, whose parts on
 * the 2 s grid are ~0.4 s and each INDEPENDENT=YES (every AAC frame is a sync
 * sample). parseStrict (playlists.ts) falls back to this check for exactly that
 * error and still runs hls-parser's every other strict check.
 */

/** hls-parser's message for its narrower rule. */
export const HLS_PARSER_PART_FLOOR = 'All Partial Segments except the last part of a segment must have a duration of at least 85% of PART-TARGET'

interface Part { line: number; duration: number; independent: boolean; gap: boolean; uri: string; exempt: boolean }

/** Every EXT-X-PART with whether 4.4.4.9 exempts it from the floor, and PART-TARGET. */
function partsWithExemptions(lines: string[]): { target: number | undefined; parts: Part[] } {
  const target = Number(/^#EXT-X-PART-INF:.*PART-TARGET=([\d.]+)/m.exec(lines.join('\n'))?.[1] ?? NaN)
  const parts: Part[] = []
  let group: Part[] = []
  const close = (): void => {
    group.forEach((p, i) => {
      const next = group[i + 1]
      // The final part of a parent segment is exempt. In the open segment, whose last part is
      // not known yet, the newest part is given the benefit of the doubt, as hls-parser does.
      p.exempt = p.independent || p.gap || next?.gap === true || i === group.length - 1
    })
    parts.push(...group)
    group = []
  }
  lines.forEach((l, line) => {
    if (l.startsWith('#EXT-X-PART:')) {
      group.push({
        line, duration: Number(/DURATION=([\d.]+)/.exec(l)?.[1]), uri: /URI="([^"]*)"/.exec(l)?.[1] ?? '',
        independent: /(^|,)INDEPENDENT=YES(,|$)/.test(l.slice(12)), gap: /(^|,)GAP=YES(,|$)/.test(l.slice(12)), exempt: false,
      })
    } else if (l !== '' && !l.startsWith('#')) {
      close() // a segment URI ends its parent's parts
    }
  })
  close() // the open segment's parts
  return { target: Number.isFinite(target) ? target : undefined, parts }
}

/** Parts under 85% of PART-TARGET that 4.4.4.9 does not exempt, described for an error message. */
export function partFloorViolations(text: string): string[] {
  const { target, parts } = partsWithExemptions(text.split('\n'))
  if (target === undefined) return []
  return parts.filter((p) => !p.exempt && p.duration < target * 0.85)
    .map((p) => `${p.uri} lasts ${p.duration} s, under 85% of PART-TARGET ${target} s, and is neither INDEPENDENT, GAP, before a GAP, nor last of its segment`)
}

/** The playlist with every exempt part under the floor raised to PART-TARGET, so hls-parser's wider rule passes. */
export function liftExemptParts(text: string): string {
  const lines = text.split('\n')
  const { target, parts } = partsWithExemptions(lines)
  if (target === undefined) return text
  for (const p of parts) {
    if (p.exempt && p.duration < target * 0.85) lines[p.line] = lines[p.line]!.replace(/DURATION=[\d.]+/, `DURATION=${target}`)
  }
  return lines.join('\n')
}
