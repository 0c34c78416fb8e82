/**
 * Real playlist parsers for tests: hls-parser in strict mode (throws on any
 * spec violation it knows) and m3u8-parser (what video.js uses).
 */
import HLS from 'hls-parser'
import { Parser } from 'm3u8-parser'
import { HLS_PARSER_PART_FLOOR, liftExemptParts, partFloorViolations } from './part-floor.js'

HLS.setOptions({ strictMode: true, silent: true })

/**
 * Parse with hls-parser strict mode; throws on violations. One rule is checked here
 * instead: hls-parser denies 4.4.4.9's INDEPENDENT/GAP exemptions from the 85% part floor
 * (see part-floor.ts), so on that error alone the floor is checked as the draft states it,
 * and every other strict check still runs on the playlist with the exempt parts lifted.
 */
export function parseStrict(text: string): any {
  try {
    return HLS.parse(text)
  } catch (err) {
    if (!(err instanceof Error) || !err.message.endsWith(HLS_PARSER_PART_FLOOR)) throw err
    const short = partFloorViolations(text)
    if (short.length > 0) throw new Error(`rfc8216bis 4.4.4.9: ${short.join('; ')}`)
    HLS.parse(liftExemptParts(text))
    // The result keeps the real part durations: the same text, parsed without throwing.
    HLS.setOptions({ strictMode: false })
    try {
      return HLS.parse(text)
    } finally {
      HLS.setOptions({ strictMode: true })
    }
  }
}

/** Parse with m3u8-parser; returns its manifest object and any warnings it raised. */
export function parseM3u8(text: string): { manifest: any; warnings: string[] } {
  const parser = new Parser()
  const warnings: string[] = []
  parser.on('warn', (w: { message: string }) => warnings.push(w.message))
  parser.push(text)
  parser.end()
  return { manifest: parser.manifest, warnings }
}

/** Every `#EXT-X-PART` line's attributes, in order. */
export function partsOf(text: string): Array<{ duration: number; uri: string; independent: boolean }> {
  return [...text.matchAll(/^#EXT-X-PART:(.*)$/gm)].map((m) => {
    const a = m[1]!
    return {
      duration: Number(/DURATION=([\d.]+)/.exec(a)?.[1]),
      uri: /URI="([^"]+)"/.exec(a)?.[1] ?? '',
      independent: /INDEPENDENT=YES/.test(a),
    }
  })
}
