/**
 * Parameter-set builders for the H.264 / HEVC SPS tests: a bit writer, SPS and
 * decoder-configuration-record (avcC, hvcC) writers. The real-encoder helpers
 * (libx264 encode, Annex B and FLV readers, ffprobe) live in sps-encode.ts.
 */

/** Bytes from a hex string; whitespace is ignored. */
export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

/** Writes syntax elements MSB first, as an encoder does (H.264 §7.2, §9.1). */
export class BitWriter {
  private readonly out: number[] = []
  u(n: number, v: number): this {
    for (let i = n - 1; i >= 0; i--) this.out.push(Math.floor(v / 2 ** i) % 2)
    return this
  }
  flag(b: boolean | number): this {
    return this.u(1, b ? 1 : 0)
  }
  ue(v: number): this {
    const code = (v + 1).toString(2)
    return this.u(code.length - 1, 0).u(code.length, v + 1)
  }
  se(v: number): this {
    return this.ue(v > 0 ? 2 * v - 1 : -2 * v)
  }
  /** rbsp_trailing_bits(): a stop bit, then zeros to the byte boundary. */
  rbsp(): Buffer {
    const bits = [...this.out, 1]
    while (bits.length % 8) bits.push(0)
    const bytes: number[] = []
    for (let i = 0; i < bits.length; i += 8) bytes.push(bits.slice(i, i + 8).reduce((a, b) => a * 2 + b, 0))
    return Buffer.from(bytes)
  }
}

/** §7.4.1: insert 0x03 wherever two zeros would be followed by a byte ≤ 3, or end the unit. */
export function escape(rbsp: Buffer): Buffer {
  const out: number[] = []
  let zeros = 0
  for (const b of rbsp) {
    if (zeros === 2 && b <= 3) { out.push(3); zeros = 0 }
    out.push(b)
    zeros = b === 0 ? zeros + 1 : 0
  }
  if (zeros > 0) out.push(3)
  return Buffer.from(out)
}

/** A scaling list to write: its values, the default-matrix signal, or raw delta_scale values. */
export type ScalingListSpec = number[] | 'default' | { deltas: number[] }

/** Encode a scaling list as delta_scale values, ending early when the rest repeats (§7.3.2.1.1.1). */
function writeScalingList(w: BitWriter, list: ScalingListSpec): void {
  if (list === 'default') { w.se(-8); return } // nextScale 0 at j = 0: useDefaultScalingMatrixFlag
  if (!Array.isArray(list)) { for (const d of list.deltas) w.se(d); return }
  let last = 8
  for (let j = 0; j < list.length; j++) {
    if (list.slice(j).every((v) => v === last)) { w.se(((-last + 128) & 0xff) - 128); return }
    const v = list[j] as number
    w.se((((v - last) + 128) & 0xff) - 128)
    last = v
  }
}

/** The H.264 SPS fields buildSps can vary; everything else takes a fixed value. */
export interface SpsFields {
  profileIdc: number
  constraint?: number
  level?: number
  chroma?: number
  separatePlanes?: boolean
  bitDepth?: number
  /** One entry per list (8, or 12 for 4:4:4): absent, 'default' or explicit values. */
  scaling?: Array<ScalingListSpec | undefined>
  poc?: { type: 0 } | { type: 1; cycle: number[] } | { type: 2 }
  widthMbs: number
  heightMapUnits: number
  frameMbsOnly?: boolean
  crop?: [number, number, number, number]
  vui?: { sar?: number | [number, number]; overscan?: boolean; signal?: { colour: boolean }; chromaLoc?: [number, number]; timing?: [number, number] }
}

/** An SPS NAL unit written field by field from H.264 §7.3.2.1.1 and E.1.1. */
export function buildSps(f: SpsFields): Buffer {
  const w = new BitWriter().u(8, f.profileIdc).u(8, f.constraint ?? 0).u(8, f.level ?? 30).ue(0)
  if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(f.profileIdc)) {
    w.ue(f.chroma ?? 1)
    if (f.chroma === 3) w.flag(f.separatePlanes ?? false)
    w.ue((f.bitDepth ?? 8) - 8).ue((f.bitDepth ?? 8) - 8).flag(0).flag(f.scaling !== undefined)
    for (const list of f.scaling ?? []) {
      w.flag(list !== undefined)
      if (list !== undefined) writeScalingList(w, list)
    }
  }
  const poc = f.poc ?? { type: 0 }
  w.ue(0).ue(poc.type)
  if (poc.type === 0) w.ue(2)
  if (poc.type === 1) {
    w.flag(0).se(-3).se(5).ue(poc.cycle.length)
    for (const o of poc.cycle) w.se(o)
  }
  w.ue(1).flag(0).ue(f.widthMbs - 1).ue(f.heightMapUnits - 1).flag(f.frameMbsOnly ?? true)
  if (f.frameMbsOnly === false) w.flag(1)
  w.flag(1).flag(f.crop !== undefined)
  for (const c of f.crop ?? []) w.ue(c)
  w.flag(f.vui !== undefined)
  const v = f.vui
  if (v) {
    w.flag(v.sar !== undefined)
    if (typeof v.sar === 'number') w.u(8, v.sar)
    else if (v.sar) w.u(8, 255).u(16, v.sar[0]).u(16, v.sar[1])
    w.flag(v.overscan ?? false)
    if (v.overscan) w.flag(1)
    w.flag(v.signal !== undefined)
    if (v.signal) w.u(3, 5).flag(1).flag(v.signal.colour)
    if (v.signal?.colour) w.u(8, 1).u(8, 1).u(8, 1)
    w.flag(v.chromaLoc !== undefined)
    if (v.chromaLoc) w.ue(v.chromaLoc[0]).ue(v.chromaLoc[1])
    w.flag(v.timing !== undefined)
    if (v.timing) w.u(32, v.timing[0]).u(32, v.timing[1]).flag(1)
    w.flag(0).flag(0).flag(0).flag(0) // nal_hrd, vcl_hrd, pic_struct, bitstream_restriction
  }
  return Buffer.concat([Buffer.from([0x67]), escape(w.rbsp())])
}

/** A scaling list of `n` equal values. */
export const flat = (n: number, v = 16): number[] => Array.from({ length: n }, () => v)
/** A scaling list of `n` varied values in 6..65. */
export const ramp = (n: number): number[] => Array.from({ length: n }, (_, i) => 6 + ((i * 7) % 60))

/** An avcC record around the given parameter sets (14496-15 §5.3.3.1.2). */
export function avcC(sps: Buffer[], pps: Buffer[], lengthSizeMinusOne = 3, head = '01 64 00 28'): Buffer {
  const parts = [hex(head), Buffer.from([0xfc | lengthSizeMinusOne, 0xe0 | sps.length])]
  for (const s of sps) parts.push(Buffer.from([s.length >> 8, s.length & 0xff]), s)
  parts.push(Buffer.from([pps.length]))
  for (const p of pps) parts.push(Buffer.from([p.length >> 8, p.length & 0xff]), p)
  return Buffer.concat(parts)
}

/** The HEVC SPS fields buildHevcSps can vary. */
export interface HevcSpsFields {
  width: number
  height: number
  profileIdc?: number
  tier?: number
  level?: number
  subLayers?: Array<{ profile: boolean; level: boolean }>
  chroma?: number
  separatePlanes?: boolean
  window?: [number, number, number, number]
  bitDepth?: number
  /** The rest of the SPS, through the VUI; without it the unit ends after log2_max_pic_order_cnt_lsb_minus4. */
  tail?: HevcSpsTail
}

/** A short-term RPS to write: explicit deltas (S0 negative, S1 positive), or predicted from the previous set. */
export type HevcStRps = { s0: number[]; s1: number[] } | { deltaRps: number; flags: Array<{ used: boolean; useDelta?: boolean }> }

/** The SPS fields after the bit depths (H.265 §7.3.2.2.1) and the VUI (E.2.1). */
export interface HevcSpsTail {
  /** sps_sub_layer_ordering_info_present_flag: one entry per sub-layer instead of the last only. */
  orderingAll?: boolean
  /** scaling_list_enabled_flag with no data, or scaling_list_data(): per matrix a predicted delta or coded coefficients. */
  scalingLists?: 'default' | 'coded'
  pcm?: boolean
  stRps?: HevcStRps[]
  /** lt_ref_pic_poc_lsb_sps values (8 bits each: log2_max_pic_order_cnt_lsb is 8). */
  longTerm?: number[]
  vui?: { extendedSar?: [number, number]; signal?: boolean; chromaLoc?: boolean; displayWindow?: boolean; timing?: [number, number] }
}

/** An HEVC SPS NAL unit up to the bit depths, written from H.265 §7.3.2.2.1 and §7.3.3. */
export function buildHevcSps(f: HevcSpsFields): Buffer {
  const subLayers = f.subLayers ?? []
  const w = new BitWriter().u(4, 0).u(3, subLayers.length).flag(1)
  w.u(2, 0).u(1, f.tier ?? 0).u(5, f.profileIdc ?? 1).u(32, 0x60000000).u(32, 0x90000000).u(16, 0).u(8, f.level ?? 123)
  for (const s of subLayers) w.flag(s.profile).flag(s.level)
  if (subLayers.length > 0) for (let i = subLayers.length; i < 8; i++) w.u(2, 0)
  // Busy bit patterns, so reading a sub-layer field that is absent (or skipping one that is there) shows.
  for (const s of subLayers) {
    if (s.profile) w.u(32, 0x5a123456).u(32, 0x789abcde).u(24, 0xf0f0f0)
    if (s.level) w.u(8, 0xa5)
  }
  w.ue(0).ue(f.chroma ?? 1)
  if (f.chroma === 3) w.flag(f.separatePlanes ?? false)
  w.ue(f.width).ue(f.height).flag(f.window !== undefined)
  for (const o of f.window ?? []) w.ue(o)
  w.ue((f.bitDepth ?? 8) - 8).ue((f.bitDepth ?? 8) - 8).ue(4) // bit depths, log2_max_pic_order_cnt_lsb_minus4
  if (f.tail) writeHevcTail(w, f.tail, subLayers.length)
  return Buffer.concat([hex('42 01'), escape(w.rbsp())])
}

function writeHevcTail(w: BitWriter, t: HevcSpsTail, maxSubLayersMinus1: number): void {
  w.flag(t.orderingAll ?? false)
  for (let i = t.orderingAll ? 0 : maxSubLayersMinus1; i <= maxSubLayersMinus1; i++) w.ue(4).ue(2).ue(5 + i)
  w.ue(0).ue(3).ue(0).ue(3).ue(2).ue(1) // block sizes and transform depths
  w.flag(t.scalingLists !== undefined)
  if (t.scalingLists) {
    w.flag(t.scalingLists === 'coded')
    if (t.scalingLists === 'coded') {
      for (let sizeId = 0; sizeId < 4; sizeId++) {
        for (let m = 0; m < 6; m += sizeId === 3 ? 3 : 1) {
          // Alternate: odd matrices predicted from the one before, even ones coded with busy deltas.
          if (m % 2 === 1) { w.flag(0).ue(1); continue }
          w.flag(1)
          if (sizeId > 1) w.se(-3)
          for (let i = 0; i < Math.min(64, 1 << (4 + (sizeId << 1))); i++) w.se(((i * 5) % 11) - 5)
        }
      }
    }
  }
  w.flag(1).flag(1) // amp, sample adaptive offset
  w.flag(t.pcm ?? false)
  if (t.pcm) w.u(4, 7).u(4, 7).ue(0).ue(2).flag(1)
  const sets = t.stRps ?? []
  w.ue(sets.length)
  for (const [i, set] of sets.entries()) {
    if (i > 0) w.flag('deltaRps' in set)
    if ('deltaRps' in set) {
      w.flag(set.deltaRps < 0).ue(Math.abs(set.deltaRps) - 1)
      for (const f of set.flags) { w.flag(f.used); if (!f.used) w.flag(f.useDelta ?? false) }
      continue
    }
    w.ue(set.s0.length).ue(set.s1.length)
    set.s0.forEach((d, k) => w.ue((set.s0[k - 1] ?? 0) - d - 1).flag(1))
    set.s1.forEach((d, k) => w.ue(d - (set.s1[k - 1] ?? 0) - 1).flag(0))
  }
  w.flag(t.longTerm !== undefined)
  if (t.longTerm) { w.ue(t.longTerm.length); for (const lsb of t.longTerm) w.u(8, lsb).flag(1) }
  w.flag(1).flag(1) // temporal MVP, strong intra smoothing
  const v = t.vui
  w.flag(v !== undefined)
  if (!v) return
  w.flag(v.extendedSar !== undefined)
  if (v.extendedSar) w.u(8, 255).u(16, v.extendedSar[0]).u(16, v.extendedSar[1])
  w.flag(1).flag(0) // overscan info: not appropriate
  w.flag(v.signal ?? false)
  if (v.signal) w.u(3, 5).flag(0).flag(1).u(8, 1).u(8, 1).u(8, 1)
  w.flag(v.chromaLoc ?? false)
  if (v.chromaLoc) w.ue(2).ue(3)
  w.flag(0).flag(0).flag(0) // neutral chroma, field_seq, frame_field_info
  w.flag(v.displayWindow ?? false)
  if (v.displayWindow) w.ue(1).ue(2).ue(3).ue(4)
  w.flag(v.timing !== undefined)
  if (v.timing) w.u(32, v.timing[0]).u(32, v.timing[1]).flag(0).flag(0) // no POC proportionality, no HRD
  w.flag(0) // bitstream_restriction_flag
}

/** An hvcC record (14496-15 §8.3.3.1.2) with the given NAL unit arrays. */
export function hvcC(arrays: Array<[number, Buffer[]]>, lengthSizeMinusOne = 3, version = 1): Buffer {
  const parts = [Buffer.from([version]), hex('01 60000000 900000000000 5d f000 fc fd f9 f8 0000'), Buffer.from([0x0c | lengthSizeMinusOne, arrays.length])]
  for (const [type, nals] of arrays) {
    parts.push(Buffer.from([0x80 | type, nals.length >> 8, nals.length & 0xff]))
    for (const n of nals) parts.push(Buffer.from([n.length >> 8, n.length & 0xff]), n)
  }
  return Buffer.concat(parts)
}
