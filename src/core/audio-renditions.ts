/**
 * Names of a stream's audio renditions: `audio` when the source has one audio
 * track (what RTMP carries; the URL every existing player knows), else one per
 * track named by its language — `audio-eng`, `audio-hin` — made unique when
 * two tracks share a language (`audio-eng-2`) or have none (`audio-und`).
 */

/** The single audio rendition's name. */
export const AUDIO_RENDITION = 'audio'

/** An audio track of the source. */
export interface AudioTrackInfo {
  /** The track number its tags carry. */
  track: number
  /** ISO 639-2 code, when the source names one. */
  language?: string
}

/** One audio rendition of a plan. */
export interface AudioRendition extends AudioTrackInfo {
  name: string
}

/** Audio renditions for `tracks`, in their order (the first is the default). */
export function audioRenditions(tracks: AudioTrackInfo[]): AudioRendition[] {
  if (tracks.length === 1) return [{ ...tracks[0]!, name: AUDIO_RENDITION }]
  const used = new Set<string>()
  return tracks.map((t) => {
    const base = `${AUDIO_RENDITION}-${t.language && /^[a-z]{3}$/.test(t.language) ? t.language : 'und'}`
    let name = base
    for (let n = 2; used.has(name); n++) name = `${base}-${n}`
    used.add(name)
    return { ...t, name }
  })
}
