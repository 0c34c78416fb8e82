/**
 * ProducerReferenceTimeBox `prft` (ISO/IEC 14496-12 §8.16.5): pairs a wall-clock
 * time (NTP format) with a media time of a reference track, so a player can tell
 * how far behind the producer it is. Placed right before the `moof` it describes
 * (CMAF, ISO/IEC 23000-19, allows `prft` ahead of a chunk's `moof`). Pure.
 */
import { MediaFormatError } from '../../errors.js'
import { BoxWriter, readFullBox, type BoxView } from './box.js'

/**
 * §8.16.5 flags: what the wall-clock time marks. 0: the frame at media_time was input to
 * the encoder; 24: it was captured. dash.js maps them to ProducerReferenceTime@type
 * "encoder" and "captured" (ISO/IEC 23009-1 5.12), so they must agree with the MPD.
 */
export const PRFT_FLAGS = { ENCODER_INPUT: 0, CAPTURED: 24 } as const

/** What a prft says. */
export interface ProducerReference {
  /** track_ID whose timescale media_time is in. */
  referenceTrackId: number
  /** Wall-clock time, ms since the Unix epoch (fractions kept to the NTP resolution). */
  wallClockMs: number
  /** Media time of the reference track, in its timescale. */
  mediaTime: number
  flags?: number
}

/** RFC 5905 §6: NTP seconds count from 1900-01-01, 70 years (17 of them leap) before the Unix epoch. */
const NTP_UNIX_OFFSET_S = 2_208_988_800
const TWO_32 = 2 ** 32

/** Unix ms → 64-bit NTP timestamp as [seconds, fraction]; seconds wrap per era (RFC 5905 §6, 2036). */
export function ntpFromUnixMs(ms: number): [number, number] {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`not a wall-clock time: ${ms}`)
  const whole = Math.floor(ms / 1000)
  let frac = Math.round(((ms - whole * 1000) / 1000) * TWO_32)
  let sec = whole + NTP_UNIX_OFFSET_S
  if (frac >= TWO_32) {
    frac -= TWO_32
    sec++
  }
  return [sec % TWO_32, frac]
}

/** 64-bit NTP timestamp → Unix ms (era 0, 1900–2036, and era 1 from 2036 on). */
export function unixMsFromNtp(sec: number, frac: number): number {
  // Era 1 starts in 2036: an era-0 value below 1970 cannot come from a live producer.
  const s = sec < NTP_UNIX_OFFSET_S ? sec + TWO_32 : sec
  return (s - NTP_UNIX_OFFSET_S) * 1000 + (frac / TWO_32) * 1000
}

/**
 * Build a prft. §8.16.5.2: version 0 carries media_time in 32 bits, version 1 in 64;
 * version 1 is used only when the time does not fit 32 bits (after 13 h at 90 kHz).
 */
export function buildPrft(p: ProducerReference): Buffer {
  const { referenceTrackId: id, mediaTime } = p
  if (!Number.isInteger(id) || id < 1 || id >= TWO_32) throw new MediaFormatError(`bad reference_track_ID ${id}`)
  if (!Number.isSafeInteger(mediaTime) || mediaTime < 0) throw new MediaFormatError(`bad prft media_time ${mediaTime}`)
  const version = mediaTime >= TWO_32 ? 1 : 0
  const [sec, frac] = ntpFromUnixMs(p.wallClockMs)
  const w = new BoxWriter(version ? 32 : 28)
  w.beginFull('prft', version, p.flags ?? PRFT_FLAGS.ENCODER_INPUT).u32(id).u32(sec).u32(frac)
  if (version) w.u64(mediaTime)
  else w.u32(mediaTime)
  return w.end().finish()
}

/** Read a prft box back; throws MediaFormatError when it is truncated or of an unknown version. */
export function parsePrft(box: BoxView): ProducerReference {
  if (box.type !== 'prft') throw new MediaFormatError(`expected prft, got '${box.type}'`)
  const { version, flags, reader } = readFullBox(box)
  if (version > 1) throw new MediaFormatError(`prft version ${version} unknown`)
  const referenceTrackId = reader.u32()
  const sec = reader.u32()
  const frac = reader.u32()
  const mediaTime = version === 1 ? reader.u64() : reader.u32()
  return { referenceTrackId, wallClockMs: unixMsFromNtp(sec, frac), mediaTime, flags }
}

/** Whether `chunk` begins with a prft box (cheap: looks at the first box's type only). */
export function startsWithPrft(chunk: Buffer): boolean {
  return chunk.length >= 8 && chunk.toString('latin1', 4, 8) === 'prft'
}
