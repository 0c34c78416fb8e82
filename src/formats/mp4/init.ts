/**
 * CMAF init segment (ftyp + moov) → the tracks the packager serves and the
 * per-track fragment defaults of `mvex/trex` that moofs may rely on.
 */
import { MediaFormatError } from '../../errors.js'
import type { TrackInfo, TrackKind } from '../../media/types.js'
import { childBoxes, readBoxes, readFullBox, requireChild, type BoxView } from './box.js'
import { parseSampleEntry } from './sample-entry.js'

/** Defaults of §8.8.3 TrackExtendsBox, used when tfhd and trun leave a field out. */
export interface TrexDefaults {
  sampleDescriptionIndex: number
  duration: number
  size: number
  flags: number
}

/** What an init segment declares. */
export interface InitInfo {
  /** Video and audio tracks in moov order; tracks of other handlers are left out. */
  tracks: TrackInfo[]
  /** trex by track_ID, for every track (including ones left out of `tracks`). */
  trex: Map<number, TrexDefaults>
}

/** §8.4.3 handler_type → track kind; other handlers (text, meta, hint) are not served. */
const HANDLER_KINDS: Record<string, TrackKind> = { vide: 'video', soun: 'audio' }

/** Parse an init segment (ftyp + moov, or a bare moov). */
export function parseInit(init: Buffer): InitInfo {
  const moov = readBoxes(init).find((b) => b.type === 'moov')
  if (!moov) throw new MediaFormatError('init segment has no moov box')
  const tracks: TrackInfo[] = []
  const trex = new Map<number, TrexDefaults>()
  for (const child of childBoxes(moov)) {
    if (child.type === 'trak') {
      const track = parseTrak(child)
      if (track) tracks.push(track)
    } else if (child.type === 'mvex') {
      for (const t of childBoxes(child)) {
        if (t.type !== 'trex') continue
        const { reader } = readFullBox(t)
        const trackId = reader.u32()
        trex.set(trackId, { sampleDescriptionIndex: reader.u32(), duration: reader.u32(), size: reader.u32(), flags: reader.u32() })
      }
    }
  }
  const ids = new Set<number>()
  for (const t of tracks) {
    if (ids.has(t.id)) throw new MediaFormatError(`two tracks with track_ID ${t.id}`)
    ids.add(t.id)
  }
  return { tracks, trex }
}

/** Comma-separated RFC 6381 codec strings of an init segment, as HLS CODECS wants them. */
export function codecsOf(init: InitInfo | Buffer): string {
  const info = Buffer.isBuffer(init) ? parseInit(init) : init
  return info.tracks.map((t) => t.codec).join(',')
}

function parseTrak(trak: BoxView): TrackInfo | undefined {
  const mdia = requireChild(trak, 'mdia')
  const kind = HANDLER_KINDS[handlerType(requireChild(mdia, 'hdlr'))]
  if (!kind) return undefined
  const id = trackId(requireChild(trak, 'tkhd'))
  const { timescale, language } = parseMdhd(requireChild(mdia, 'mdhd'))
  const stbl = requireChild(requireChild(mdia, 'minf'), 'stbl')
  const stsd = requireChild(stbl, 'stsd')
  const { version, reader } = readFullBox(stsd)
  const count = reader.u32()
  // 8 = version/flags + entry_count before the entries.
  const entry = childBoxes(stsd, 8)[0]
  if (count === 0 || !entry) throw new MediaFormatError(`track ${id}: stsd has no sample entry`)
  // streamd's workers write one sample entry per track; Sample has no field to say
  // which entry a fragment selected, so a second entry could not be honoured anyway.
  const info = parseSampleEntry(entry, kind, version)
  const track: TrackInfo = { id, kind, timescale, codec: info.codec, language }
  if (info.width !== undefined) track.width = info.width
  if (info.height !== undefined) track.height = info.height
  if (info.sampleRate !== undefined) track.sampleRate = info.sampleRate
  if (info.channels !== undefined) track.channels = info.channels
  return track
}

/** §8.4.3: pre_defined(32) then handler_type. */
function handlerType(hdlr: BoxView): string {
  const { reader } = readFullBox(hdlr)
  reader.skip(4)
  return reader.fourcc()
}

/** §8.3.2: creation and modification times are 32-bit in v0, 64-bit in v1, then track_ID. */
function trackId(tkhd: BoxView): number {
  const { version, reader } = readFullBox(tkhd)
  reader.skip(version === 1 ? 16 : 8)
  const id = reader.u32()
  if (id === 0) throw new MediaFormatError('tkhd: track_ID 0 is reserved')
  return id
}

/** §8.4.2: timescale after the times; language as three 5-bit letters offset by 0x60. */
function parseMdhd(mdhd: BoxView): { timescale: number; language: string } {
  const { version, reader } = readFullBox(mdhd)
  reader.skip(version === 1 ? 16 : 8)
  const timescale = reader.u32()
  if (timescale === 0) throw new MediaFormatError('mdhd: timescale 0')
  reader.skip(version === 1 ? 8 : 4)
  return { timescale, language: unpackLanguage(reader.u16()) }
}

/** ISO-639-2/T packed as `pad(1) char(5)×3`, each char being its letter - 0x60; `und` if not letters. */
export function unpackLanguage(packed: number): string {
  let out = ''
  for (const shift of [10, 5, 0]) {
    const c = (packed >> shift) & 0x1f
    if (c < 1 || c > 26) return 'und'
    out += String.fromCharCode(c + 0x60)
  }
  return out
}

/** Look up one track by id. */
export function trackById(init: InitInfo, id: number): TrackInfo | undefined {
  return init.tracks.find((t) => t.id === id)
}
