/**
 * Codec configuration records → RFC 6381 `codecs` strings: avcC and hvcC
 * (ISO/IEC 14496-15), esds with its DecoderConfigDescriptor (ISO/IEC 14496-1
 * §7.2.6) and AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1).
 */
import { MediaFormatError } from '../../errors.js'
import { readFullBox, type BoxView } from './box.js'
import { BitReader, ByteReader } from './reader.js'

/** RFC 6381 §3.3: `avc1.PPCCLL`, profile_idc, constraint flags byte and level_idc in hex. */
export function avcCodec(format: string, avcC: Buffer): string {
  // 14496-15 §5.3.3.1: configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication.
  const r = new ByteReader(avcC, "'avcC'")
  const version = r.u8()
  if (version !== 1) throw new MediaFormatError(`'avcC': configurationVersion ${version}, expected 1`)
  return `${format}.${hex2(r.u8())}${hex2(r.u8())}${hex2(r.u8())}`
}

/**
 * 14496-15 Annex E.3: `hvc1.[A-C]?<profile_idc>.<compat flags, bit-reversed, hex>.
 * <L|H><level_idc>` then the 6 constraint bytes in hex, trailing zero bytes omitted.
 */
export function hevcCodec(format: string, hvcC: Buffer): string {
  const r = new ByteReader(hvcC, "'hvcC'")
  const version = r.u8()
  if (version !== 1) throw new MediaFormatError(`'hvcC': configurationVersion ${version}, expected 1`)
  const b = r.u8()
  const profileSpace = b >> 6
  const tier = (b >> 5) & 1
  const profileIdc = b & 0x1f
  const compat = r.u32()
  const constraints = [...r.bytes(6)]
  const level = r.u8()
  // E.3: "general_profile_compatibility_flags ... in reverse bit order".
  let reversed = 0
  for (let i = 0; i < 32; i++) if (compat & (1 << i)) reversed |= 1 << (31 - i)
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop()
  const parts = [
    format,
    `${['', 'A', 'B', 'C'][profileSpace] ?? ''}${profileIdc}`,
    (reversed >>> 0).toString(16).toUpperCase(),
    `${tier ? 'H' : 'L'}${level}`,
    ...constraints.map((c) => c.toString(16).toUpperCase()),
  ]
  return parts.join('.')
}

/** The parts of an AudioSpecificConfig that name and size the stream. */
export interface AudioSpecificConfig {
  /** audioObjectType after the escape (2 = AAC-LC, 5 = SBR/HE-AAC, 29 = PS). */
  objectType: number
  /** Output sampling rate (the SBR extension rate for explicitly signalled HE-AAC). */
  sampleRate: number
  /** channelConfiguration mapped to a channel count; 0 when defined in-band. */
  channels: number
}

/** What an esds says: objectTypeIndication and, for MPEG-4 audio, its AudioSpecificConfig. */
export interface EsdsInfo {
  objectTypeIndication: number
  asc?: AudioSpecificConfig
}

/** 14496-1 §7.2.2.1 tags. */
const ES_DESCR_TAG = 0x03
const DECODER_CONFIG_DESCR_TAG = 0x04
const DEC_SPECIFIC_INFO_TAG = 0x05

/** Parse the ES_Descriptor of an `esds` full box. */
export function parseEsds(esds: BoxView): EsdsInfo {
  const { reader } = readFullBox(esds)
  const es = readDescriptor(reader, ES_DESCR_TAG)
  es.skip(2) // ES_ID
  const flags = es.u8()
  if (flags & 0x80) es.skip(2) // streamDependenceFlag → dependsOn_ES_ID
  if (flags & 0x40) es.skip(es.u8()) // URL_Flag → URLlength, URLstring
  if (flags & 0x20) es.skip(2) // OCRstreamFlag → OCR_ES_Id
  const dc = readDescriptor(es, DECODER_CONFIG_DESCR_TAG)
  const objectTypeIndication = dc.u8()
  dc.skip(12) // streamType/upStream/reserved, bufferSizeDB, maxBitrate, avgBitrate
  const info: EsdsInfo = { objectTypeIndication }
  // 14496-1 Table 5: 0x40 is Audio ISO/IEC 14496-3, whose DecoderSpecificInfo is an AudioSpecificConfig.
  if (objectTypeIndication === 0x40 && dc.remaining > 0) {
    const dsi = readDescriptor(dc, DEC_SPECIFIC_INFO_TAG)
    info.asc = parseAudioSpecificConfig(dsi.bytes(dsi.remaining))
  }
  return info
}

/** RFC 6381 §3.3: `mp4a.40.<audioObjectType>` for MPEG-4 audio, else `mp4a.<OTI hex>` (e.g. `mp4a.6B`). */
export function mp4aCodec(es: EsdsInfo): string {
  const oti = hex2(es.objectTypeIndication).toUpperCase()
  if (es.objectTypeIndication === 0x40 && es.asc) return `mp4a.${oti}.${es.asc.objectType}`
  return `mp4a.${oti}`
}

/** 14496-3 Table 1.18 samplingFrequencyIndex → Hz. */
const SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]
/** 14496-3 Table 1.19 channelConfiguration → channels (7 is 7.1). */
const CHANNELS = [0, 1, 2, 3, 4, 5, 6, 8]

/** Read audioObjectType, sampling frequency and channel configuration. */
export function parseAudioSpecificConfig(asc: Buffer): AudioSpecificConfig {
  const r = new BitReader(asc, 'AudioSpecificConfig')
  // §1.6.2.1 GetAudioObjectType(): 5 bits, and 31 escapes to 32 + the next 6 bits.
  let objectType = r.bits(5)
  if (objectType === 31) objectType = 32 + r.bits(6)
  let sampleRate = readSampleRate(r)
  let channels = CHANNELS[r.bits(4)] ?? 0
  // Explicit SBR/PS signalling: the extension rate is the output rate (SBR doubles
  // it), and PS turns a mono core into stereo output.
  if (objectType === 5 || objectType === 29) {
    sampleRate = readSampleRate(r)
    if (objectType === 29 && channels === 1) channels = 2
  }
  return { objectType, sampleRate, channels }
}

/** samplingFrequencyIndex, with 0xf escaping to an explicit 24-bit frequency. */
function readSampleRate(r: BitReader): number {
  const index = r.bits(4)
  return index === 0xf ? r.bits(24) : SAMPLE_RATES[index] ?? 0
}

/** ETSI TS 102 366 Table 4.3 acmod → full-bandwidth channels (acmod 0 is 1+1 dual mono). */
const ACMOD_CHANNELS = [2, 1, 2, 3, 3, 4, 4, 5]

/** Channels of an AC-3 stream from `dac3` (TS 102 366 §F.4): fscod(2) bsid(5) bsmod(3) acmod(3) lfeon(1). */
export function ac3Channels(dac3: Buffer): number {
  const r = new BitReader(dac3, "'dac3'")
  r.bits(10)
  const acmod = r.bits(3)
  return (ACMOD_CHANNELS[acmod] ?? 0) + r.bits(1)
}

/**
 * Channels of the first independent substream of an E-AC-3 stream from `dec3`
 * (TS 102 366 §F.6): data_rate(13) num_ind_sub(3), then fscod(2) bsid(5)
 * reserved(1) asvc(1) bsmod(3) acmod(3) lfeon(1). Channels that dependent
 * substreams add (chan_loc) are not counted.
 */
export function ec3Channels(dec3: Buffer): number {
  const r = new BitReader(dec3, "'dec3'")
  r.bits(16 + 12)
  const acmod = r.bits(3)
  return (ACMOD_CHANNELS[acmod] ?? 0) + r.bits(1)
}

/**
 * Read a descriptor header (tag, then a size of 1–4 bytes with 7 bits each and the
 * top bit meaning "more", 14496-1 §8.3.3) and return a reader over its body.
 */
function readDescriptor(r: ByteReader, tag: number): ByteReader {
  const got = r.u8()
  if (got !== tag) throw new MediaFormatError(`${r.what}: descriptor tag 0x${hex2(got)}, expected 0x${hex2(tag)}`)
  let size = 0
  for (let i = 0; i < 4; i++) {
    const b = r.u8()
    size = size * 128 + (b & 0x7f)
    if (!(b & 0x80)) break
  }
  return new ByteReader(r.bytes(size), `descriptor 0x${hex2(tag)}`)
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0')
}
