/**
 * Sample entries of `stsd` → RFC 6381 codec string, picture size, audio format.
 * Layouts from ISO/IEC 14496-12 §12.1.3 (VisualSampleEntry) and §12.2.3
 * (AudioSampleEntry); codec configuration boxes from ISO/IEC 14496-15 (avcC,
 * hvcC), ISO/IEC 14496-14/-1 (esds), the Opus-in-ISOBMFF spec (dOps), ETSI TS 102 366 (dac3, dec3).
 */
import { MediaFormatError } from '../../errors.js'
import type { TrackKind } from '../../media/types.js'
import { childBoxes, findChild, type BoxView } from './box.js'
import { ByteReader } from './reader.js'
import { ac3Channels, avcCodec, ec3Channels, hevcCodec, mp4aCodec, parseEsds } from './codec-config.js'

/** What a sample entry tells about its track. */
export interface SampleEntryInfo {
  codec: string
  width?: number
  height?: number
  sampleRate?: number
  channels?: number
}

/**
 * §12.1.3: SampleEntry (6 reserved + data_reference_index) then pre_defined,
 * reserved, pre_defined[3], width, height, resolutions, reserved, frame_count,
 * compressorname[32], depth, pre_defined: child boxes start 78 bytes in.
 */
const VISUAL_ENTRY_SIZE = 78
/** §12.2.3: SampleEntry (8) + reserved[2] + channelcount, samplesize, pre_defined, reserved, samplerate. */
const AUDIO_ENTRY_SIZE = 28

/** Describe the sample entry `entry` of a `kind` track; `stsdVersion` tells QuickTime v1 entries apart. */
export function parseSampleEntry(entry: BoxView, kind: TrackKind, stsdVersion = 0): SampleEntryInfo {
  const format = originalFormat(entry)
  return kind === 'video' ? parseVisual(entry, format) : parseAudio(entry, format, stsdVersion)
}

/**
 * §8.12: a protected entry (encv/enca) keeps the original layout, and its
 * `sinf/frma` names the format it was before encryption.
 */
function originalFormat(entry: BoxView): string {
  if (entry.type !== 'encv' && entry.type !== 'enca') return entry.type
  const skip = entry.type === 'encv' ? VISUAL_ENTRY_SIZE : AUDIO_ENTRY_SIZE
  const sinf = findChild(entry, 'sinf', skip)
  const frma = sinf && findChild(sinf, 'frma')
  if (!frma) throw new MediaFormatError(`'${entry.type}' without sinf/frma`)
  return new ByteReader(frma.payload, "'frma'").fourcc()
}

function parseVisual(entry: BoxView, format: string): SampleEntryInfo {
  const r = new ByteReader(entry.payload, `'${entry.type}' sample entry`)
  r.need(VISUAL_ENTRY_SIZE)
  r.skip(24)
  const width = r.u16()
  const height = r.u16()
  const child = (type: string): BoxView | undefined => findChild(entry, type, VISUAL_ENTRY_SIZE)
  let codec: string
  switch (format) {
    case 'avc1':
    case 'avc3': {
      const avcC = child('avcC')
      if (!avcC) throw new MediaFormatError(`'${format}' sample entry without avcC`)
      codec = avcCodec(format, avcC.payload)
      break
    }
    case 'hvc1':
    case 'hev1': {
      const hvcC = child('hvcC')
      if (!hvcC) throw new MediaFormatError(`'${format}' sample entry without hvcC`)
      codec = hevcCodec(format, hvcC.payload)
      break
    }
    default:
      throw new MediaFormatError(`unsupported video sample entry '${format}'`)
  }
  return { codec, width, height }
}

function parseAudio(entry: BoxView, format: string, stsdVersion: number): SampleEntryInfo {
  const r = new ByteReader(entry.payload, `'${entry.type}' sample entry`)
  r.need(AUDIO_ENTRY_SIZE)
  r.skip(8)
  // ISO keeps these 2 bytes reserved = 0; QuickTime stores a sound description version there.
  const qtVersion = r.u16()
  r.skip(6)
  // §12.2.3 declares channelcount a template (= 2 for most codecs), so the codec
  // configuration below overrides it where it says more.
  let channels = r.u16()
  r.skip(6)
  // §12.2.3: samplerate is 16.16 fixed point; the integer part is the rate.
  let sampleRate = r.u32() >>> 16
  let childOffset = AUDIO_ENTRY_SIZE
  if (qtVersion === 1 && stsdVersion === 0) {
    childOffset += 16 // QuickTime v1: samplesPerPacket, bytesPerPacket, bytesPerFrame, bytesPerSample
  } else if (qtVersion === 2) {
    // QuickTime v2: sizeOfStructOnly, audioSampleRate (float64), numAudioChannels, ...
    r.skip(4)
    sampleRate = Math.round(r.buf.readDoubleBE(r.pos))
    r.skip(8)
    channels = r.u32()
    childOffset += 36
  }
  r.need(childOffset - r.pos)
  const children = childBoxes(entry, childOffset)
  const child = (type: string): BoxView | undefined => {
    const direct = children.find((b) => b.type === type)
    if (direct) return direct
    // QuickTime files nest the esds inside a 'wave' box.
    const wave = children.find((b) => b.type === 'wave')
    return wave && findChild(wave, type)
  }
  let codec: string
  switch (format) {
    case 'mp4a': {
      const esds = child('esds')
      if (!esds) throw new MediaFormatError("'mp4a' sample entry without esds")
      const es = parseEsds(esds)
      codec = mp4aCodec(es)
      if (sampleRate === 0 && es.asc?.sampleRate) sampleRate = es.asc.sampleRate
      if (es.asc?.channels) channels = es.asc.channels
      break
    }
    case 'Opus': {
      codec = 'opus'
      // dOps: Version, OutputChannelCount, PreSkip, InputSampleRate, ...
      const dOps = child('dOps')
      if (dOps) channels = new ByteReader(dOps.payload, "'dOps'", 1).u8()
      break
    }
    case 'ac-3': {
      codec = format
      const dac3 = child('dac3')
      if (dac3) channels = ac3Channels(dac3.payload)
      break
    }
    case 'ec-3': {
      codec = format
      const dec3 = child('dec3')
      if (dec3) channels = ec3Channels(dec3.payload)
      break
    }
    default:
      throw new MediaFormatError(`unsupported audio sample entry '${format}'`)
  }
  return { codec, sampleRate, channels }
}
