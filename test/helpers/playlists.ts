/**
 * Real playlist parsers for tests: hls-parser in strict mode (throws on any
 * spec violation it knows) and m3u8-parser (what video.js uses).
 */
import HLS from 'hls-parser'
import { Parser } from 'm3u8-parser'

HLS.setOptions({ strictMode: true, silent: true })

/** Parse with hls-parser strict mode; throws on violations. */
export function parseStrict(text: string): any {
  return HLS.parse(text)
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
