/**
 * Rendition stores and streams in the states the HLS playlists must describe
 * (open segment, gaps, discontinuities, delta updates, end of stream, several
 * audio languages, shed rungs), built through the real RenditionStore API on
 * a fixed clock so every rendering is deterministic.
 */
import { LiveStream } from '../../src/packager/live-stream.js'
import type { MediaPlaylistRequest } from '../../src/packager/hls-media-playlist.js'
import { RenditionStore, type RenditionTiming } from '../../src/packager/rendition-store.js'
import type { TrackInfo } from '../../src/media/types.js'
import type { InitRecord } from '../../src/packager/types.js'

const CLOCK0 = Date.UTC(2030, 0, 1)

const video = (height: number, codec = 'avc1.64001f'): TrackInfo =>
  ({ id: 1, kind: 'video', timescale: 90000, codec, width: Math.round((height * 16) / 9), height, language: 'und' })
const audio = (language: string, channels: number | undefined = 2): TrackInfo =>
  ({ id: 2, kind: 'audio', timescale: 48000, codec: 'mp4a.40.2', sampleRate: 48000, channels, language })
const initOf = (hash: string, tracks: TrackInfo[]): InitRecord => ({ data: Buffer.from(`init-${hash}`), hash, tracks })

/** A store on a 2 s grid with the given window; segments appended by `Feeder`. */
class Feeder {
  readonly store: RenditionStore
  /** Media time (s) of the next segment. */
  private time = 0

  constructor(name: string, timing: Partial<RenditionTiming>, firstMsn: number, init: InitRecord) {
    this.store = new RenditionStore(name, { targetDuration: 2, partTarget: 0.5, windowSeconds: 8, ...timing }, firstMsn)
    this.store.beginEpoch(init)
  }

  /** One segment of these part durations; complete unless `open`. Each part holds `bytes` bytes. */
  segment(parts: number[], opts: { open?: boolean; msn?: number; bytes?: number } = {}): this {
    const grid = { duration: 2, startTimeOf: (m: number) => m * 2, pdtOf: (m: number) => CLOCK0 + m * 2000 }
    if (opts.msn !== undefined) this.time = opts.msn * 2
    this.store.startSegment(this.time, CLOCK0 + Math.round(this.time * 1000), true, opts.msn, grid)
    parts.forEach((d, i) => {
      this.store.addPart(d, i === 0, Buffer.alloc(opts.bytes ?? 100 * (i + 1)), 0, !opts.open && i === parts.length - 1)
      this.time += d
    })
    return this
  }

  /** `count` whole 2 s segments of four 0.5 s parts. */
  segments(count: number, bytes?: number): this {
    for (let i = 0; i < count; i++) this.segment([0.5, 0.5, 0.5, 0.5], { bytes })
    return this
  }

  /** An open gap segment (worker down) holding `parts` gap parts of 0.5 s. */
  gapSegment(parts: number): this {
    const msn = this.store.upcomingMsn
    this.store.startGapSegment(msn, msn * 2, CLOCK0 + msn * 2000)
    for (let i = 0; i < parts; i++) this.store.addGapPart(0.5)
    return this
  }

  /** A worker restart: a new epoch (a discontinuity), with a new init or the same one. */
  restart(init: InitRecord): this {
    this.store.beginEpoch(init)
    return this
  }
}

const V1 = initOf('v1', [video(360)])
const V2 = initOf('v2', [video(360, 'avc1.640020')])

/** One media playlist state: a store and the request it is rendered for. */
export interface MediaState {
  name: string
  store: RenditionStore
  req: MediaPlaylistRequest
}

/** Media playlist states, each a fresh store. */
export function mediaStates(): MediaState[] {
  const reports = [{ uri: '../720p/index.m3u8', lastMsn: 20, lastPart: 1 }, { uri: '../audio/index.m3u8', lastMsn: 20, lastPart: 3 }]
  const states: MediaState[] = []
  const add = (name: string, store: RenditionStore, req: MediaPlaylistRequest = {}): void => { states.push({ name, store, req }) }

  add('empty epoch: no segment yet', new Feeder('v', {}, 7, V1).store)
  add('first parts of the first segment', new Feeder('v', {}, 7, V1).segment([0.5, 0.5], { open: true }).store)
  add('live, open segment, rendition reports', new Feeder('v', {}, 10, V1).segments(9).segment([0.5, 0.5], { open: true }).store, { reports })
  add('live, last segment just completed', new Feeder('v', {}, 10, V1).segments(9).store)
  add('odd durations (a 30 fps part, whole-second parts, a short segment)',
    new Feeder('v', { partTarget: 1 }, 0, V1).segment([1, 1]).segment([0.9, 1]).segment([0.4]).segment([1, 29 / 30]).segment([1 / 3], { open: true }).store)
  add('grid hole listed as gap segments, then media', new Feeder('v', {}, 0, V1).segments(3).segment([0.5, 0.5, 0.5, 0.5], { msn: 6 }).segment([0.5], { open: true }).store)
  add('open gap segment with gap parts', new Feeder('v', {}, 0, V1).segments(4).gapSegment(3).store)
  add('open gap segment without parts yet', new Feeder('v', {}, 0, V1).segments(4).gapSegment(0).store)
  add('restart with a new init, then with the same init', new Feeder('v', {}, 0, V1).segments(2).restart(V2).segments(2).restart(V2).segments(1).segment([0.5], { open: true }).store)
  add('discontinuities scrolled off the top raise the sequence', new Feeder('v', {}, 0, V1).segments(2).restart(V2).segments(2).restart(V1).segments(12).store)
  for (const skip of ['YES', 'v2'] as const) {
    add(`delta update ${skip}`, new Feeder('v', { windowSeconds: 18 }, 100, V1).segments(4).restart(V2).segments(4).restart(V2).segments(3).segment([0.5], { open: true }).store, { skip, reports: reports.slice(0, 1) })
  }
  add('delta update, a gap and a new map after the boundary',
    new Feeder('v', { windowSeconds: 18 }, 0, V1).segments(8).restart(V2).segment([0.5, 0.5, 0.5, 0.5], { msn: 10 }).segments(1).store, { skip: 'v2' })
  add('delta update with too short a playlist: nothing skipped', new Feeder('v', { windowSeconds: 18 }, 0, V1).segments(4).store, { skip: 'YES' })
  const ended = new Feeder('v', {}, 3, V1).segments(8).segment([0.5, 0.5], { open: true }).store
  ended.end()
  add('ended, delta update requested', ended, { skip: 'YES', reports })
  const endedGap = new Feeder('v', {}, 0, V1).segments(3).gapSegment(2).store
  endedGap.end()
  add('ended in a gap', endedGap)
  return states
}

/** One multivariant state; `render` is expected undefined when nothing has produced media. */
export interface MultivariantState {
  name: string
  stream: LiveStream
}

function streamOf(feeders: Feeder[]): LiveStream {
  const s = new LiveStream('s')
  for (const f of feeders) s.addRendition(f.store)
  return s
}

/** Multivariant playlist states, each a fresh stream. */
export function multivariantStates(): MultivariantState[] {
  const states: MultivariantState[] = []
  const rung = (name: string, height: number, bytes: number, frameRate?: number): Feeder => {
    const f = new Feeder(name, {}, 0, initOf(name, [video(height)])).segments(3, bytes).segment([0.25, 0.25], { open: true, bytes })
    f.store.frameRate = frameRate
    return f
  }
  const track = (name: string, language: string, bytes: number, channels?: number): Feeder =>
    new Feeder(name, {}, 0, initOf(name, [audio(language, channels)])).segments(3, bytes)

  const shed = rung('240p', 240, 3000, 10)
  shed.store.shed = 'encoders below real time'
  const silent = new Feeder('160p', {}, 0, initOf('160p', [video(160)]))
  states.push({
    name: 'ladder, four audio tracks in three languages, a shed rung, a rung without media',
    stream: streamOf([
      rung('source', 1080, 600_000, 30), rung('720p', 720, 250_000, 29.97002997), rung('360p', 360, 80_000), shed, silent,
      track('audio-eng', 'eng', 16_000, 2), track('audio-eng-2', 'eng', 12_000, 6), track('audio-und', 'und', 12_000, 0), track('audio-fre', 'fre', 20_000, 1),
    ]),
  })
  states.push({ name: 'video without audio', stream: streamOf([rung('source', 720, 200_000, 25)]) })
  states.push({ name: 'audio only: each track a variant', stream: streamOf([track('audio-eng', 'eng', 16_000), track('audio-hin', 'hin', 16_000)]) })
  // Parts only so far: the figures come from the parts, padded.
  const first = new Feeder('source', {}, 0, initOf('mux', [{ ...video(480), width: undefined }, audio('eng')])).segment([0.5, 0.5], { open: true, bytes: 5000 })
  states.push({ name: 'muxed passthrough, parts only, no resolution known', stream: streamOf([first]) })
  states.push({ name: 'nothing produced yet', stream: streamOf([silent]) })
  return states
}
