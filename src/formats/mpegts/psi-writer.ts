/**
 * MPEG-TS program tables written (ISO/IEC 13818-1 §2.4.4): a PAT naming one
 * program and its PMT, each elementary stream with its ISO 639 language
 * descriptor (§2.6.18), sealed by the CRC_32 of Annex A. Pure.
 */

/** One elementary stream to announce in a PMT. */
export interface PmtEntry {
  pid: number
  /** stream_type (Table 2-34): 0x1B H.264, 0x24 HEVC, 0x0F AAC ADTS. */
  streamType: number
  /** ISO 639-2 code (three letters); omitted from the PMT when absent. */
  language?: string
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i << 24
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1
    table[i] = c >>> 0
  }
  return table
})()

/** Annex A CRC_32: polynomial 0x04C11DB7, initial 0xFFFFFFFF, no reflection, no final xor. */
export function crc32Mpeg(b: Buffer): number {
  let crc = 0xffffffff
  for (const byte of b) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0
  return crc
}

/** A long-form section: header with section_length, `body`, CRC_32. */
function section(tableId: number, idExt: number, version: number, body: Buffer): Buffer {
  const out = Buffer.alloc(8 + body.length + 4)
  out[0] = tableId
  // section_syntax_indicator 1, '0', reserved '11', section_length (bytes after it, CRC included).
  out.writeUInt16BE(0xb000 | (5 + body.length + 4), 1)
  out.writeUInt16BE(idExt, 3)
  out[5] = 0xc1 | ((version & 0x1f) << 1) // reserved '11', version, current_next_indicator 1
  out[6] = 0 // section_number
  out[7] = 0 // last_section_number
  body.copy(out, 8)
  out.writeUInt32BE(crc32Mpeg(out.subarray(0, 8 + body.length)), 8 + body.length)
  return out
}

/** A PAT with one program (§2.4.4.3). */
export function buildPat(program: number, pmtPid: number, transportStreamId = 1, version = 0): Buffer {
  const body = Buffer.alloc(4)
  body.writeUInt16BE(program, 0)
  body.writeUInt16BE(0xe000 | pmtPid, 2)
  return section(0x00, transportStreamId, version, body)
}

/** A PMT (§2.4.4.8) listing `streams`, PCR on `pcrPid`. */
export function buildPmt(program: number, pcrPid: number, streams: PmtEntry[], version = 0): Buffer {
  const parts: Buffer[] = []
  const head = Buffer.alloc(4)
  head.writeUInt16BE(0xe000 | pcrPid, 0)
  head.writeUInt16BE(0xf000, 2) // program_info_length 0
  parts.push(head)
  for (const s of streams) {
    // §2.6.18 ISO_639_language_descriptor: tag 0x0A, code, audio_type 0 (undefined).
    const desc = s.language && /^[a-z]{3}$/i.test(s.language)
      ? Buffer.concat([Buffer.from([0x0a, 4]), Buffer.from(s.language.toLowerCase(), 'latin1'), Buffer.from([0])])
      : Buffer.alloc(0)
    const entry = Buffer.alloc(5)
    entry[0] = s.streamType
    entry.writeUInt16BE(0xe000 | s.pid, 1)
    entry.writeUInt16BE(0xf000 | desc.length, 3)
    parts.push(entry, desc)
  }
  return section(0x02, program, version, Buffer.concat(parts))
}
