/**
 * MPEG-TS program tables (ISO/IEC 13818-1 §2.4.4): PAT and PMT sections, with
 * the ISO 639 language descriptor (§2.6.18) of each elementary stream. Pure.
 */
import { MediaFormatError } from '../../errors.js'

/** One elementary stream listed in a PMT. */
export interface PmtStream {
  pid: number
  /** stream_type (Table 2-34): 0x1B H.264, 0x24 HEVC, 0x0F AAC ADTS, ... */
  streamType: number
  /** ISO 639-2 language code from descriptor 0x0A, when present. */
  language?: string
}

/** A decoded PMT. */
export interface Pmt {
  program: number
  version: number
  streams: PmtStream[]
}

/** Human name of a stream_type, for logs and refusals. */
export function streamTypeName(t: number): string {
  const names: Record<number, string> = {
    0x01: 'MPEG-1 video', 0x02: 'MPEG-2 video', 0x03: 'MPEG-1 audio', 0x04: 'MPEG-2 audio', 0x06: 'private data',
    0x0f: 'AAC (ADTS)', 0x11: 'AAC (LATM)', 0x15: 'ID3 metadata', 0x1b: 'H.264', 0x24: 'HEVC', 0x81: 'AC-3', 0x87: 'E-AC-3',
  }
  return names[t] ?? `stream_type 0x${t.toString(16)}`
}

/** Check the common section header; returns the bytes between the 5-byte syntax header and the CRC. */
function sectionBody(section: Buffer, tableId: number, what: string): { body: Buffer; idExt: number; version: number } {
  if (section.length < 12) throw new MediaFormatError(`mpegts: ${what} section too short`)
  if (section[0] !== tableId) throw new MediaFormatError(`mpegts: ${what} table_id ${section[0]}, expected ${tableId}`)
  // §2.4.4.3: section_length counts the bytes after it, the CRC_32 included.
  const length = section.readUInt16BE(1) & 0x0fff
  if (length + 3 > section.length || length < 9) throw new MediaFormatError(`mpegts: ${what} section_length ${length} does not fit`)
  const idExt = section.readUInt16BE(3)
  const version = (section[5]! >> 1) & 0x1f
  return { body: section.subarray(8, 3 + length - 4), idExt, version }
}

/** Parse a PAT section into program_number → program_map_PID (network PID 0 excluded). */
export function parsePat(section: Buffer): Map<number, number> {
  const { body } = sectionBody(section, 0x00, 'PAT')
  const out = new Map<number, number>()
  for (let i = 0; i + 4 <= body.length; i += 4) {
    const program = body.readUInt16BE(i)
    const pid = body.readUInt16BE(i + 2) & 0x1fff
    if (program !== 0) out.set(program, pid)
  }
  return out
}

function languageOf(descriptors: Buffer): string | undefined {
  for (let i = 0; i + 2 <= descriptors.length;) {
    const tag = descriptors[i]!
    const len = descriptors[i + 1]!
    if (tag === 0x0a && len >= 3 && i + 5 <= descriptors.length) {
      const code = descriptors.toString('latin1', i + 2, i + 5)
      if (/^[a-zA-Z]{3}$/.test(code)) return code.toLowerCase()
    }
    i += 2 + len
  }
  return undefined
}

/** Parse a PMT section (§2.4.4.8). */
export function parsePmt(section: Buffer): Pmt {
  const { body, idExt, version } = sectionBody(section, 0x02, 'PMT')
  if (body.length < 4) throw new MediaFormatError('mpegts: PMT too short')
  const programInfoLength = body.readUInt16BE(2) & 0x0fff
  const streams: PmtStream[] = []
  for (let i = 4 + programInfoLength; i + 5 <= body.length;) {
    const streamType = body[i]!
    const pid = body.readUInt16BE(i + 1) & 0x1fff
    const esInfoLength = body.readUInt16BE(i + 3) & 0x0fff
    const language = languageOf(body.subarray(i + 5, i + 5 + esInfoLength))
    streams.push(language ? { pid, streamType, language } : { pid, streamType })
    i += 5 + esInfoLength
  }
  return { program: idExt, version, streams }
}

/** Read a 33-bit PTS/DTS from its 5-byte PES field (§2.4.3.7). */
export function readTimestamp(b: Buffer, at: number): number {
  return ((b[at]! >> 1) & 0x07) * 2 ** 30 + ((b.readUInt16BE(at + 1) >> 1) << 15) + (b.readUInt16BE(at + 3) >> 1)
}

/** A PES packet's header fields and payload. */
export interface PesPacket {
  streamId: number
  pts?: number
  dts?: number
  payload: Buffer
}

/** Parse a complete PES packet (§2.4.3.6). */
export function parsePes(pes: Buffer): PesPacket {
  if (pes.length < 9 || pes[0] !== 0 || pes[1] !== 0 || pes[2] !== 1) throw new MediaFormatError('mpegts: PES without start code')
  const streamId = pes[3]!
  // Streams without the optional header (padding, private_stream_2, ...) are not media we read.
  if (streamId === 0xbe || streamId === 0xbf || streamId === 0xbc) return { streamId, payload: pes.subarray(6) }
  const flags = pes[7]!
  const headerLength = pes[8]!
  if (9 + headerLength > pes.length) throw new MediaFormatError('mpegts: PES header longer than the packet')
  const out: PesPacket = { streamId, payload: pes.subarray(9 + headerLength) }
  if (flags & 0x80 && headerLength >= 5) out.pts = readTimestamp(pes, 9)
  if ((flags & 0xc0) === 0xc0 && headerLength >= 10) out.dts = readTimestamp(pes, 14)
  return out
}
