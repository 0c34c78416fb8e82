/**
 * The HLS multivariant playlist of a stream (rfc8216bis 4.4.6): audio-only
 * renditions form one EXT-X-MEDIA audio group, shared by every video variant;
 * a muxed rendition is a variant of its own. Attributes are measured from
 * what each rendition produced.
 */
import { attributes, enumValue, tag } from '../formats/hls/tags.js'
import { bcp47Language, UNDETERMINED } from '../media/language.js'
import type { LiveStream } from './live-stream.js'
import type { RenditionStore } from './rendition-store.js'
import { measureFigures, type RenditionFigures } from './stats.js'

/** GROUP-ID of the audio renditions. */
export const AUDIO_GROUP = 'audio'

interface Produced {
  store: RenditionStore
  figures: RenditionFigures
  codecs: string[]
  video?: { width?: number; height?: number }
  audio?: { language: string; channels?: number }
}

function produced(store: RenditionStore): Produced | undefined {
  const init = store.currentInit
  const figures = measureFigures(store)
  if (!init || !figures) return undefined
  const v = init.tracks.find((t) => t.kind === 'video')
  const a = init.tracks.find((t) => t.kind === 'audio')
  return {
    store, figures, codecs: init.tracks.map((t) => t.codec),
    video: v ? { width: v.width, height: v.height } : undefined,
    audio: a ? { language: a.language, channels: a.channels } : undefined,
  }
}

/** The BCP 47 tag of an mdhd ISO 639-2 code for HLS LANGUAGE and DASH @lang; undefined when undetermined (the attribute is left out). */
export function languageTag(iso639: string): string | undefined {
  const bcp = bcp47Language(iso639)
  return bcp !== UNDETERMINED ? bcp : undefined
}

/**
 * The name players show for an audio rendition: its language (ISO 639-2), or its rendition
 * name when the language is unknown or an earlier rendition in `used` already took it.
 * HLS NAME and DASH Label use the same one, so both manifests say the same.
 */
export function audioLabel(language: string, rendition: string, used: Set<string>): string {
  const label = language !== 'und' && !used.has(language) ? language : rendition
  used.add(label)
  return label
}

function audioMedia(p: Produced, isDefault: boolean, names: Set<string>): string {
  const lang = p.audio!.language
  // 4.4.6.1: NAME is unique within its group; a second track of a language goes by its rendition name.
  const name = audioLabel(lang, p.store.name, names)
  return tag('EXT-X-MEDIA', attributes({
    TYPE: enumValue('AUDIO'),
    'GROUP-ID': AUDIO_GROUP,
    NAME: name,
    LANGUAGE: languageTag(lang),
    DEFAULT: isDefault ? enumValue('YES') : enumValue('NO'),
    AUTOSELECT: enumValue('YES'),
    CHANNELS: p.audio!.channels ? String(p.audio!.channels) : undefined,
    URI: `${p.store.name}/index.m3u8`,
  }))
}

/** Render the multivariant playlist; undefined while no rendition has produced media. */
export function renderMultivariant(stream: LiveStream): string | undefined {
  // A shed rendition is no longer offered; players on it see its playlist end.
  const all = [...stream.renditions.values()].filter((r) => !r.shed).map(produced).filter((p): p is Produced => p !== undefined)
  const audioOnly = all.filter((p) => p.audio && !p.video)
  const videos = all.filter((p) => p.video)
  if (all.length === 0) return undefined
  const lines = ['#EXTM3U', tag('EXT-X-VERSION', '6')]
  // With video variants, audio-only renditions are alternatives in a group; without, variants.
  const grouped = videos.length > 0 ? audioOnly : []
  const names = new Set<string>()
  grouped.forEach((p, i) => lines.push(audioMedia(p, i === 0, names)))
  // 4.4.6.2: BANDWIDTH covers every rendition a variant may play, so add the largest audio.
  const audioPeak = Math.max(0, ...grouped.map((p) => p.figures.peakBitrate))
  const audioAvg = Math.max(0, ...grouped.map((p) => p.figures.averageBitrate))
  const audioCodecs = [...new Set(grouped.flatMap((p) => p.codecs))]
  for (const p of videos.length > 0 ? videos : audioOnly) {
    const r = p.store
    const separateAudio = p.video !== undefined && !p.audio && grouped.length > 0
    lines.push(tag('EXT-X-STREAM-INF', attributes({
      BANDWIDTH: p.figures.peakBitrate + (separateAudio ? audioPeak : 0),
      'AVERAGE-BANDWIDTH': p.figures.averageBitrate + (separateAudio ? audioAvg : 0),
      CODECS: [...p.codecs, ...(separateAudio ? audioCodecs : [])].join(','),
      RESOLUTION: p.video?.width && p.video.height ? enumValue(`${p.video.width}x${p.video.height}`) : undefined,
      'FRAME-RATE': p.video && r.frameRate ? enumValue(r.frameRate.toFixed(3)) : undefined,
      AUDIO: separateAudio ? AUDIO_GROUP : undefined,
      // No captions: saying so spares players a scan of the first segments for them.
      'CLOSED-CAPTIONS': enumValue('NONE'),
    })))
    lines.push(`${r.name}/index.m3u8`)
  }
  return lines.join('\n') + '\n'
}
