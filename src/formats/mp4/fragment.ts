/**
 * Movie fragment (moof + the mdat right after it) → Samples, following ISO/IEC
 * 14496-12 §8.8: tfhd defaults over trex defaults, trun per-sample fields over
 * both, decode times from tfdt accumulated by duration. Sample bytes are
 * subarrays of the mdat (no copies); every offset and count is checked against
 * the buffers so a corrupt fragment throws MediaFormatError instead of reading
 * out of bounds or allocating without limit.
 */
import { MediaFormatError } from '../../errors.js'
import type { Sample } from '../../media/types.js'
import { childBoxes, readBox, readFullBox, type BoxView } from './box.js'
import type { InitInfo } from './init.js'
import { TFHD, TRUN, isSyncSample } from './sample-flags.js'

/** Options of parseFragment. */
export interface ParseFragmentOptions {
  /**
   * Stream offset of the moof's first byte; needed only when a tfhd carries an
   * absolute base-data-offset (BoxSplitter's `Box.offset` gives it).
   */
  moofOffset?: number
}

/** Where sample data may lie, in bytes from the first byte of moof, and where samples go. */
interface DataContext {
  mdat: Buffer
  moofSize: number
  /** First byte of mdat's payload. */
  start: number
  /** One past mdat's last byte. */
  end: number
  out: Sample[]
}

/** One traf's defaults and position while walking its truns. */
interface TrafContext {
  trackId: number
  keep: boolean
  duration?: number
  size?: number
  flags?: number
  /** Base data offset of the traf. */
  base: number
  /** Where the next run's data starts unless it has a data_offset. */
  pos: number
  /** Decode time of the next sample. */
  dts: number
}

/** Parse all track fragments of `moof`, whose sample data lies in `mdat` right after it. */
export function parseFragment(moof: Buffer, mdat: Buffer, init: InitInfo, options: ParseFragmentOptions = {}): Sample[] {
  const moofBox = readBox(moof)
  if (moofBox.type !== 'moof') throw new MediaFormatError(`expected moof, got '${moofBox.type}'`)
  if (moofBox.data.length !== moof.length) throw new MediaFormatError('moof buffer holds more than one box')
  const mdatBox = readBox(mdat)
  if (mdatBox.type !== 'mdat') throw new MediaFormatError(`expected mdat, got '${mdatBox.type}'`)
  // Offsets below count from the first byte of moof; mdat's payload follows moof directly.
  const data: DataContext = {
    mdat, moofSize: moof.length, start: moof.length + mdatBox.headerSize, end: moof.length + mdatBox.data.length, out: [],
  }
  let previousTrafEnd = 0
  for (const traf of childBoxes(moofBox)) {
    if (traf.type !== 'traf') continue
    const tfhd = childBoxes(traf).find((b) => b.type === 'tfhd')
    if (!tfhd) throw new MediaFormatError("'traf' has no 'tfhd' box")
    const { reader, flags } = readFullBox(tfhd)
    const trackId = reader.u32()
    const trex = init.trex.get(trackId)
    const keep = init.tracks.some((t) => t.id === trackId)
    // Tracks of other handlers (trex without a served track) are walked for their data extent, then dropped.
    if (!keep && !trex) throw new MediaFormatError(`traf for track_ID ${trackId}, which the init segment does not declare`)
    let base: number
    if (flags & TFHD.BASE_DATA_OFFSET) {
      const absolute = reader.u64()
      if (options.moofOffset === undefined) throw new MediaFormatError('tfhd base_data_offset is absolute, but the moof stream offset is unknown')
      base = absolute - options.moofOffset
    } else if (flags & TFHD.DEFAULT_BASE_IS_MOOF) {
      base = 0
    } else {
      // §8.8.7.1: without either flag the first traf starts at the moof, later ones
      // where the preceding traf's data ended.
      base = previousTrafEnd
    }
    // Read past it: streamd's tracks carry one sample entry, so there is nothing to select.
    if (flags & TFHD.SAMPLE_DESCRIPTION_INDEX) reader.skip(4)
    const duration = flags & TFHD.DEFAULT_DURATION ? reader.u32() : trex?.duration
    const size = flags & TFHD.DEFAULT_SIZE ? reader.u32() : trex?.size
    const defaultFlags = flags & TFHD.DEFAULT_FLAGS ? reader.u32() : trex?.flags
    // §8.8.7.1 duration-is-empty: "there are no samples for this time interval".
    if (flags & TFHD.DURATION_IS_EMPTY) {
      previousTrafEnd = base
      continue
    }
    const ctx: TrafContext = { trackId, keep, duration, size, flags: defaultFlags, base, pos: base, dts: baseDecodeTime(traf) }
    for (const trun of childBoxes(traf)) {
      if (trun.type === 'trun') readTrun(trun, ctx, data)
    }
    previousTrafEnd = ctx.pos
  }
  return data.out
}

/** tfdt baseMediaDecodeTime (§8.8.12), 32-bit in v0 and 64-bit in v1. */
function baseDecodeTime(traf: BoxView): number {
  const tfdt = childBoxes(traf).find((b) => b.type === 'tfdt')
  // CMAF requires tfdt in every traf; without it dts would depend on every earlier fragment.
  if (!tfdt) throw new MediaFormatError("'traf' has no 'tfdt' box")
  const { version, reader } = readFullBox(tfdt)
  return version === 1 ? reader.u64() : reader.u32()
}

/** Read one trun (§8.8.8), append its samples, and advance the traf's position and time. */
function readTrun(trun: BoxView, ctx: TrafContext, data: DataContext): void {
  const { version, flags, reader } = readFullBox(trun)
  const count = reader.u32()
  // §8.8.8.1: without data_offset "the data for this run starts immediately after
  // the data of the previous run, or at the base-data-offset" for the first run.
  if (flags & TRUN.DATA_OFFSET) ctx.pos = ctx.base + reader.i32()
  const firstFlags = flags & TRUN.FIRST_SAMPLE_FLAGS ? reader.u32() : undefined
  const perSample = [TRUN.DURATION, TRUN.SIZE, TRUN.FLAGS, TRUN.CTS].filter((f) => flags & f).length * 4
  // Bound the loop by the bytes that could back it before allocating anything.
  if (perSample > 0 ? count * perSample > reader.remaining : count > data.end - data.start) {
    throw new MediaFormatError(`trun of track ${ctx.trackId}: ${count} samples do not fit in the box`)
  }
  for (let i = 0; i < count; i++) {
    const duration = flags & TRUN.DURATION ? reader.u32() : ctx.duration
    const size = flags & TRUN.SIZE ? reader.u32() : ctx.size
    const perFlags = flags & TRUN.FLAGS ? reader.u32() : undefined
    // v0 offsets are unsigned, v1 signed (§8.8.8.2).
    const cts = flags & TRUN.CTS ? (version === 0 ? reader.u32() : reader.i32()) : 0
    const sampleFlags = (i === 0 ? firstFlags : undefined) ?? perFlags ?? ctx.flags
    if (duration === undefined || size === undefined || sampleFlags === undefined) {
      throw new MediaFormatError(`trun of track ${ctx.trackId}: sample ${i} has no duration, size or flags and no default`)
    }
    const at = ctx.pos
    if (at < data.start || at + size > data.end) {
      throw new MediaFormatError(`trun of track ${ctx.trackId}: sample ${i} at [${at}, ${at + size}) lies outside mdat data [${data.start}, ${data.end})`)
    }
    if (ctx.keep) {
      const bytes = data.mdat.subarray(at - data.moofSize, at - data.moofSize + size)
      data.out.push({ trackId: ctx.trackId, dts: ctx.dts, duration, cts, sync: isSyncSample(sampleFlags), data: bytes })
    }
    ctx.pos += size
    ctx.dts += duration
  }
  if (!Number.isSafeInteger(ctx.dts)) throw new MediaFormatError(`trun of track ${ctx.trackId}: decode time overflows`)
}
