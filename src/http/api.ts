/**
 * JSON API: what is live, where it comes from, what it produces.
 */
import type { LiveStream } from '../packager/live-stream.js'
import { measureFigures } from '../packager/stats.js'

/** JSON shape of one stream in /api/v1/streams. */
export interface StreamJson {
  name: string
  state: string
  ingest: { protocol: string; remote: string; since: string; bitrate: number; tracks?: Array<{ kind: string; codec: string; language?: string; selected: boolean }> } | null
  renditions: Array<{
    name: string
    codecs: string[]
    width?: number
    height?: number
    frameRate?: number
    bandwidth?: number
    lastMsn?: number
    lastPart?: number
    /** Media seconds produced per wall second (about 1 when keeping up). */
    speed?: number
    /** Why the rendition was shed, if it was. */
    shed?: string
  }>
}

/** Describe a stream for the API. */
export function streamJson(s: LiveStream): StreamJson {
  return {
    name: s.name,
    state: s.state,
    ingest: s.ingest
      ? { protocol: s.ingest.protocol, remote: s.ingest.remote, since: new Date(s.ingest.since).toISOString(), bitrate: Math.round(s.inputBitrate), ...(s.ingest.tracks ? { tracks: s.ingest.tracks } : {}) }
      : null,
    renditions: [...s.renditions.values()].map((r) => {
      const video = r.currentInit?.tracks.find((t) => t.kind === 'video')
      const edge = r.edge()
      return {
        name: r.name,
        codecs: r.currentInit?.tracks.map((t) => t.codec) ?? [],
        width: video?.width,
        height: video?.height,
        frameRate: r.frameRate ? Math.round(r.frameRate * 1000) / 1000 : undefined,
        bandwidth: measureFigures(r)?.peakBitrate,
        lastMsn: edge?.msn,
        lastPart: edge?.part,
        speed: r.speed !== undefined ? Math.round(r.speed * 1000) / 1000 : undefined,
        shed: r.shed,
      }
    }),
  }
}
