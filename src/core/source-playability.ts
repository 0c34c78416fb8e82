/**
 * Whether a browser can decode the source's video as is, read from its sequence
 * header (the SPS): what the copied rendition would put in front of players.
 * Browsers decode H.264 in the Constrained Baseline, Main and High profiles,
 * 8-bit 4:2:0 only (MSE in Chrome, Firefox, Safari; hardware decoders the same),
 * and HEVC (where they have it at all) in Main and Main 10, 4:2:0.
 */
import { parseVideoTagHeader } from '../formats/flv.js'
import { parseAvcDecoderConfig, parseH264Sps } from '../formats/h264-sps.js'
import { parseHevcDecoderConfig, parseHevcSps } from '../formats/hevc-sps.js'

/** H.264 profile_idc values (ITU-T H.264 Annex A) and their names. */
const H264_PROFILES: ReadonlyMap<number, string> = new Map([
  [66, 'Baseline'], [77, 'Main'], [88, 'Extended'], [100, 'High'], [110, 'High 10'],
  [122, 'High 4:2:2'], [244, 'High 4:4:4 Predictive'], [44, 'CAVLC 4:4:4 Intra'],
  [83, 'Scalable Baseline'], [86, 'Scalable High'], [118, 'Multiview High'], [128, 'Stereo High'],
])
/** The H.264 profiles browsers decode. */
const H264_PLAYABLE = new Set([66, 77, 100])
/** HEVC general_profile_idc values (ITU-T H.265 Annex A). */
const HEVC_PROFILES: ReadonlyMap<number, string> = new Map([[1, 'Main'], [2, 'Main 10'], [3, 'Main Still Picture'], [4, 'Range Extensions'], [9, 'Screen Content']])
const HEVC_PLAYABLE = new Set([1, 2])
const CHROMA = ['4:0:0', '4:2:0', '4:2:2', '4:4:4']

/** What the SPS says of the picture format. */
export interface SourceFormat {
  codec: 'H.264' | 'HEVC'
  profile: string
  chroma: string
  bitDepth: number
  /** Why browsers cannot decode it; undefined when they can. */
  problem?: string
}

/**
 * The format of an FLV video sequence header body (AVC, or HEVC in the CodecID 12
 * layout), and what keeps browsers from decoding it; undefined when unreadable (the
 * pipeline has its own handling of sources it cannot read).
 */
export function sourceFormat(videoConfig: Buffer): SourceFormat | undefined {
  try {
    const h = parseVideoTagHeader(videoConfig)
    const record = videoConfig.subarray(h.headerSize)
    if (h.codecId === 12) {
      const nal = parseHevcDecoderConfig(record).sps[0]
      if (!nal) return undefined
      const sps = parseHevcSps(nal)
      const f: SourceFormat = { codec: 'HEVC', profile: HEVC_PROFILES.get(sps.profileIdc) ?? `profile ${sps.profileIdc}`, chroma: CHROMA[sps.chromaFormatIdc] ?? '?', bitDepth: sps.bitDepth }
      const problems: string[] = []
      if (!HEVC_PLAYABLE.has(sps.profileIdc)) problems.push(`the ${f.profile} profile`)
      if (sps.chromaFormatIdc !== 1) problems.push(`${f.chroma} chroma`)
      if (sps.bitDepth > 10) problems.push(`${sps.bitDepth}-bit samples`)
      return problems.length ? { ...f, problem: problems.join(', ') } : f
    }
    if (h.codecId !== 7 && h.fourCc !== 'avc1') return undefined
    const nal = parseAvcDecoderConfig(record).sps[0]
    if (!nal) return undefined
    const sps = parseH264Sps(nal)
    // Constraint set 1 marks a Baseline stream as Constrained Baseline, which is what browsers take.
    const constrained = sps.profileIdc === 66 && (sps.constraintFlags & 0x40) !== 0
    const name = constrained ? 'Constrained Baseline' : H264_PROFILES.get(sps.profileIdc) ?? `profile ${sps.profileIdc}`
    const f: SourceFormat = { codec: 'H.264', profile: name, chroma: CHROMA[sps.chromaFormatIdc] ?? '?', bitDepth: sps.bitDepth }
    const problems: string[] = []
    if (!H264_PLAYABLE.has(sps.profileIdc)) problems.push(`the ${name} profile`)
    if (sps.chromaFormatIdc !== 1) problems.push(`${f.chroma} chroma`)
    if (sps.bitDepth !== 8) problems.push(`${sps.bitDepth}-bit samples`)
    return problems.length ? { ...f, problem: problems.join(', ') } : f
  } catch {
    return undefined
  }
}
