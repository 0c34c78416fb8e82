/**
 * AAC ADTS framing (ISO/IEC 13818-7 §6.2, 14496-3 §1.A.2): splits a PES payload
 * into raw AAC frames and builds the AudioSpecificConfig FLV and MP4 need. Pure.
 */

/** Sampling rates by sampling_frequency_index (14496-3 Table 1.18). */
export const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]

/** One ADTS frame's raw payload and the stream parameters of its header. */
export interface AdtsFrame {
  /** audioObjectType: ADTS profile + 1 (2 = AAC-LC). */
  objectType: number
  rateIndex: number
  sampleRate: number
  channelConfig: number
  raw: Buffer
}

/** Split ADTS frames out of a buffer; bytes that are not a whole frame are skipped. */
export function parseAdts(b: Buffer): AdtsFrame[] {
  const out: AdtsFrame[] = []
  let i = 0
  while (i + 7 <= b.length) {
    if (b[i] !== 0xff || (b[i + 1]! & 0xf6) !== 0xf0) {
      i++
      continue
    }
    const protectionAbsent = b[i + 1]! & 0x01
    const objectType = ((b[i + 2]! >> 6) & 0x03) + 1
    const rateIndex = (b[i + 2]! >> 2) & 0x0f
    const channelConfig = ((b[i + 2]! & 0x01) << 2) | (b[i + 3]! >> 6)
    const frameLength = ((b[i + 3]! & 0x03) << 11) | (b[i + 4]! << 3) | (b[i + 5]! >> 5)
    const header = protectionAbsent ? 7 : 9
    const sampleRate = AAC_RATES[rateIndex]
    if (frameLength < header || i + frameLength > b.length || sampleRate === undefined) break
    out.push({ objectType, rateIndex, sampleRate, channelConfig, raw: b.subarray(i + header, i + frameLength) })
    i += frameLength
  }
  return out
}

/** The 2-byte AudioSpecificConfig (14496-3 §1.6.2.1) of an ADTS stream. */
export function audioSpecificConfig(f: Pick<AdtsFrame, 'objectType' | 'rateIndex' | 'channelConfig'>): Buffer {
  return Buffer.from([(f.objectType << 3) | (f.rateIndex >> 1), ((f.rateIndex & 1) << 7) | (f.channelConfig << 3)])
}
