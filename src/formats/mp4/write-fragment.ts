/**
 * Writes one coalesced CMAF chunk: a single `moof` (one traf per track) and a
 * single `mdat` with every track's sample bytes, in track order. Output depends
 * only on the arguments, so the same part is byte-identical wherever it is built.
 */
import { MediaFormatError } from '../../errors.js'
import type { Sample } from '../../media/types.js'
import { BoxWriter } from './box.js'
import { TFHD, TRUN, sampleFlagsFor } from './sample-flags.js'

/** The samples of one track for a fragment. */
export interface FragmentTrack {
  trackId: number
  samples: Sample[]
}

/** trun carries data_offset and, per sample, duration, size, flags and composition offset. */
const TRUN_FLAGS = TRUN.DATA_OFFSET | TRUN.DURATION | TRUN.SIZE | TRUN.FLAGS | TRUN.CTS
const U32_MAX = 0xffffffff

/**
 * Build `moof` + `mdat` for the given tracks (tracks without samples are left out).
 * Decode times are authoritative: trun can only express time as durations, so
 * each written duration is the gap to the next sample's dts, and only the last
 * sample of a track keeps its own duration.
 */
export function buildFragment(sequenceNumber: number, tracks: FragmentTrack[]): Buffer {
  checkU32(sequenceNumber, 'sequence_number')
  const present = tracks.filter((t) => t.samples.length > 0)
  if (present.length === 0) throw new MediaFormatError('fragment without samples')
  const seen = new Set<number>()
  for (const t of present) {
    if (t.trackId < 1 || t.trackId > U32_MAX || !Number.isInteger(t.trackId)) throw new MediaFormatError(`bad track_ID ${t.trackId}`)
    if (seen.has(t.trackId)) throw new MediaFormatError(`track_ID ${t.trackId} appears twice in one fragment`)
    seen.add(t.trackId)
  }

  const w = new BoxWriter(512)
  w.begin('moof')
  // §8.8.5: the sequence number "usually starts at 1 and increases for each movie fragment".
  w.beginFull('mfhd', 0, 0).u32(sequenceNumber).end()
  const dataOffsetFields: number[] = []
  for (const track of present) {
    const durations = writtenDurations(track)
    const first = track.samples[0] as Sample
    w.begin('traf')
    // default-base-is-moof: data offsets count from the moof's first byte (§8.8.7.1),
    // which keeps each chunk self-contained; CMAF (ISO/IEC 23000-19) requires it.
    w.beginFull('tfhd', 0, TFHD.DEFAULT_BASE_IS_MOOF).u32(track.trackId).end()
    w.beginFull('tfdt', 1, 0).u64(first.dts).end()
    // Version 1 makes composition offsets signed (§8.8.8.2), so negative offsets
    // (pts before dts, as encoders without an edit list write them) survive as given.
    w.beginFull('trun', 1, TRUN_FLAGS).u32(track.samples.length)
    dataOffsetFields.push(w.length)
    w.i32(0)
    track.samples.forEach((s, i) => {
      checkInt32(s.cts, 'composition offset')
      w.u32(durations[i] as number).u32(s.data.length).u32(sampleFlagsFor(s.sync)).i32(s.cts)
    })
    w.end().end()
  }
  w.end()
  const moofSize = w.length

  let payload = 0
  for (const t of present) for (const s of t.samples) payload += s.data.length
  // §4.2: a box that does not fit a 32-bit size uses size = 1 and a 64-bit largesize.
  const large = payload + 8 > U32_MAX
  const mdatHeader = Buffer.alloc(large ? 16 : 8)
  if (large) {
    mdatHeader.writeUInt32BE(1, 0)
    mdatHeader.write('mdat', 4, 'latin1')
    mdatHeader.writeBigUInt64BE(BigInt(payload + 16), 8)
  } else {
    mdatHeader.writeUInt32BE(payload + 8, 0)
    mdatHeader.write('mdat', 4, 'latin1')
  }

  // §8.8.8.1 data_offset is "added to the implicit or explicit data_offset established
  // in the track fragment header": the moof start here, so each track's data sits
  // after the moof, the mdat header and the tracks before it.
  let offset = moofSize + mdatHeader.length
  present.forEach((t, k) => {
    if (offset > 0x7fffffff) throw new MediaFormatError('fragment too large for a 32-bit data_offset')
    w.patchI32(dataOffsetFields[k] as number, offset)
    for (const s of t.samples) offset += s.data.length
  })
  const moof = w.finish()
  return Buffer.concat([moof, mdatHeader, ...present.flatMap((t) => t.samples.map((s) => s.data))])
}

/** The durations written for a track's samples; throws when dts goes backwards. */
function writtenDurations(track: FragmentTrack): number[] {
  const out: number[] = []
  const samples = track.samples
  samples.forEach((s, i) => {
    if (s.trackId !== track.trackId) throw new MediaFormatError(`sample of track ${s.trackId} given for track ${track.trackId}`)
    if (!Number.isSafeInteger(s.dts) || s.dts < 0) throw new MediaFormatError(`track ${track.trackId}: bad dts ${s.dts}`)
    const next = samples[i + 1]
    const duration = next ? next.dts - s.dts : s.duration
    if (next && duration < 0) throw new MediaFormatError(`track ${track.trackId}: dts goes backwards at sample ${i + 1}`)
    checkU32(duration, `track ${track.trackId} sample duration`)
    out.push(duration)
  })
  return out
}

/**
 * `styp` (§8.16.2) for a media segment; LL-HLS and DASH do not require one, but
 * some validators expect it. 'msdh' is the DASH media segment brand (ISO/IEC 23009-1).
 */
export function buildStyp(majorBrand = 'msdh', compatibleBrands: string[] = ['msdh']): Buffer {
  const w = new BoxWriter(8 + 8 + 4 * compatibleBrands.length)
  w.begin('styp').fourcc(majorBrand).u32(0)
  for (const b of compatibleBrands) w.fourcc(b)
  return w.end().finish()
}

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > U32_MAX) throw new MediaFormatError(`${what} out of 32-bit range: ${v}`)
}

function checkInt32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new MediaFormatError(`${what} out of signed 32-bit range: ${v}`)
}
