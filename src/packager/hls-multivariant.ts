/**
 * The HLS multivariant playlist of a stream (rfc8216bis 4.4.6): audio-only
 * renditions form one EXT-X-MEDIA audio group, shared by every video variant;
 * a muxed rendition is a variant of its own. Attributes are measured from
 * what each rendition produced. The stream's state becomes a
 * `MultivariantPlaylist` model, which the format's one renderer writes out.
 */
import type { MediaRendition, MultivariantPlaylist, Variant } from '../formats/hls/model.js'
import { formatMultivariantPlaylist } from '../formats/hls/multivariant-playlist.js'
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

/** Content steering of a multivariant playlist: where the steering manifest is, and the pathways in order of preference. */
export interface SteeringView {
  /** SERVER-URI, relative to the multivariant playlist or absolute. */
  serverUri: string
  /** Pathways, best first; the first is the one players apply until they have the steering manifest. */
  pathways: ReadonlyArray<{ id: string; url: string }>
}

/** Where one pathway's variants point: a URI prefix and the audio group they play with. */
interface PathwayView {
  id?: string
  /** Prefix of every rendition URI: '' (relative) without steering, else the pathway's absolute `.../live/{stream}/`. */
  base: string
  audioGroup: string
}

function audioMedia(p: Produced, isDefault: boolean, names: Set<string>, path: PathwayView): MediaRendition {
  const lang = p.audio!.language
  return {
    type: 'AUDIO',
    groupId: path.audioGroup,
    // 4.4.6.1: NAME is unique within its group; a second track of a language goes by its rendition name.
    name: audioLabel(lang, p.store.name, names),
    language: languageTag(lang),
    default: isDefault,
    autoselect: true,
    channels: p.audio!.channels ? String(p.audio!.channels) : undefined,
    uri: `${path.base}${p.store.name}/index.m3u8`,
    // 4.4.6.1: the same rendition on every pathway shares its STABLE-RENDITION-ID.
    ...(path.id !== undefined ? { stableRenditionId: p.store.name } : {}),
  }
}

/**
 * The multivariant playlist model of the stream; undefined while no rendition has produced media.
 * With `steering`, one full set of variants and audio renditions per pathway, best first, each
 * with absolute URIs on its pathway (rfc8216bis 4.4.6.6); a player that ignores steering plays
 * the first set as it would a plain playlist.
 */
export function multivariantModel(stream: LiveStream, steering?: SteeringView): MultivariantPlaylist | undefined {
  // A shed rendition is no longer offered; players on it see its playlist end.
  const all = [...stream.renditions.values()].filter((r) => !r.shed).map(produced).filter((p): p is Produced => p !== undefined)
  const audioOnly = all.filter((p) => p.audio && !p.video)
  const videos = all.filter((p) => p.video)
  if (all.length === 0) return undefined
  // With video variants, audio-only renditions are alternatives in a group; without, variants.
  const grouped = videos.length > 0 ? audioOnly : []
  const paths: PathwayView[] = steering && steering.pathways.length > 0
    ? steering.pathways.map((p) => ({
      id: p.id,
      base: new URL(`live/${stream.name}/`, p.url.endsWith('/') ? p.url : `${p.url}/`).href,
      // 4.4.6.2: PATHWAY-ID is an attribute of EXT-X-STREAM-INF only; each pathway's variants
      // name a rendition group of their own, whose URIs are on that pathway.
      audioGroup: `${AUDIO_GROUP}-${p.id}`,
    }))
    : [{ base: '', audioGroup: AUDIO_GROUP }]
  const renditions = paths.flatMap((path) => {
    const names = new Set<string>()
    return grouped.map((p, i) => audioMedia(p, i === 0, names, path))
  })
  // 4.4.6.2: BANDWIDTH covers every rendition a variant may play, so add the largest audio.
  const audioPeak = Math.max(0, ...grouped.map((p) => p.figures.peakBitrate))
  const audioAvg = Math.max(0, ...grouped.map((p) => p.figures.averageBitrate))
  const audioCodecs = [...new Set(grouped.flatMap((p) => p.codecs))]
  const variants = paths.flatMap((path) => (videos.length > 0 ? videos : audioOnly).map((p): Variant => {
    const separateAudio = p.video !== undefined && !p.audio && grouped.length > 0
    return {
      uri: `${path.base}${p.store.name}/index.m3u8`,
      bandwidth: p.figures.peakBitrate + (separateAudio ? audioPeak : 0),
      averageBandwidth: p.figures.averageBitrate + (separateAudio ? audioAvg : 0),
      codecs: [...p.codecs, ...(separateAudio ? audioCodecs : [])],
      resolution: p.video?.width && p.video.height ? { width: p.video.width, height: p.video.height } : undefined,
      frameRate: p.video && p.store.frameRate ? p.store.frameRate : undefined,
      audio: separateAudio ? path.audioGroup : undefined,
      // No captions: saying so spares players a scan of the first segments for them.
      closedCaptions: false,
      // 4.4.6.2: a player moving to another pathway finds the same variant by STABLE-VARIANT-ID.
      ...(path.id !== undefined ? { pathwayId: path.id, stableVariantId: p.store.name } : {}),
    }
  }))
  if (!steering || steering.pathways.length === 0) return { version: 6, renditions, variants }
  // 4.4.6.6: PATHWAY-ID is the pathway to apply until the steering manifest is loaded.
  return { version: 6, contentSteering: { serverUri: steering.serverUri, pathwayId: steering.pathways[0]!.id }, renditions, variants }
}

/** Render the multivariant playlist; undefined while no rendition has produced media. */
export function renderMultivariant(stream: LiveStream, steering?: SteeringView): string | undefined {
  const model = multivariantModel(stream, steering)
  return model && formatMultivariantPlaylist(model)
}
