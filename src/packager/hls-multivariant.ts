/**
 * The HLS multivariant playlist of a stream: one EXT-X-STREAM-INF per video
 * rendition (or per muxed rendition), attributes measured from what was produced.
 */
import { attributes, tag } from '../formats/hls/tags.js'
import type { LiveStream } from './live-stream.js'
import { measureFigures } from './stats.js'

/** Render the multivariant playlist; undefined while no rendition has produced media. */
export function renderMultivariant(stream: LiveStream): string | undefined {
  const lines = ['#EXTM3U', tag('EXT-X-VERSION', '6')]
  let variants = 0
  for (const r of stream.renditions.values()) {
    const init = r.currentInit
    const figures = measureFigures(r)
    if (!init || !figures) continue
    const video = init.tracks.find((t) => t.kind === 'video')
    const codecs = init.tracks.map((t) => t.codec).join(',')
    lines.push(tag('EXT-X-STREAM-INF', attributes({
      BANDWIDTH: figures.peakBitrate,
      'AVERAGE-BANDWIDTH': figures.averageBitrate,
      CODECS: codecs,
      RESOLUTION: video?.width && video.height ? { enum: `${video.width}x${video.height}` } : undefined,
      'FRAME-RATE': video && r.frameRate ? { enum: r.frameRate.toFixed(3) } : undefined,
    })))
    lines.push(`${r.name}/index.m3u8`)
    variants++
  }
  return variants > 0 ? lines.join('\n') + '\n' : undefined
}
