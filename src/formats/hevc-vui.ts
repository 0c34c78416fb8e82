/**
 * The rest of an H.265 sequence parameter set after the bit depths (ITU-T H.265
 * §7.3.2.2.1), read only to reach the VUI timing info (Annex E.2.1): the frame
 * rate sits behind the sub-layer ordering info, the scaling lists, PCM and the
 * short-term reference picture sets, each of which must be walked bit by bit.
 */
import { MediaFormatError } from '../errors.js'
import type { RbspReader } from './h264-sps.js'

/** §7.4.3.2.1: num_short_term_ref_pic_sets "shall be in the range of 0 to 64". */
const MAX_ST_RPS = 64
/** §7.4.3.2.1: num_long_term_ref_pics_sps "shall be in the range of 0 to 32". */
const MAX_LT_PICS = 32
/** §7.4.8: num_negative_pics / num_positive_pics are at most sps_max_dec_pic_buffering_minus1 ≤ 15 (A.4.2 MaxDpbSize − 1). */
const MAX_DELTA_POCS = 16

/** A short-term RPS as §7.4.8 derives it: DeltaPocS0 (negative, nearest first) and DeltaPocS1 (positive, nearest first). */
interface StRps { s0: number[]; s1: number[] }

/**
 * Read from bit_depth_chroma_minus8 to the VUI and return the frame rate of its timing
 * info, or undefined when the SPS has no VUI or no timing in it. Throws MediaFormatError
 * on a malformed or truncated tail.
 */
export function readHevcSpsTail(r: RbspReader, maxSubLayersMinus1: number): number | undefined {
  r.ueMax(8, 'bit_depth_chroma_minus8')
  const pocLsbBits = r.ueMax(12, 'log2_max_pic_order_cnt_lsb_minus4') + 4
  const orderingAll = r.flag() // sps_sub_layer_ordering_info_present_flag
  for (let i = orderingAll ? 0 : maxSubLayersMinus1; i <= maxSubLayersMinus1; i++) {
    r.ueMax(15, 'sps_max_dec_pic_buffering_minus1')
    r.ue() // sps_max_num_reorder_pics
    r.ue() // sps_max_latency_increase_plus1
  }
  for (let i = 0; i < 6; i++) r.ue() // log2 coding/transform block sizes, max transform hierarchy depths
  if (r.flag() && r.flag()) skipScalingListData(r) // scaling_list_enabled_flag, sps_scaling_list_data_present_flag
  r.flag() // amp_enabled_flag
  r.flag() // sample_adaptive_offset_enabled_flag
  if (r.flag()) { // pcm_enabled_flag
    r.u(8) // pcm_sample_bit_depth_luma_minus1, pcm_sample_bit_depth_chroma_minus1
    r.ue() // log2_min_pcm_luma_coding_block_size_minus3
    r.ue() // log2_diff_max_min_pcm_luma_coding_block_size
    r.flag() // pcm_loop_filter_disabled_flag
  }
  const sets: StRps[] = []
  const count = r.ueMax(MAX_ST_RPS, 'num_short_term_ref_pic_sets')
  for (let i = 0; i < count; i++) sets.push(readStRps(r, sets))
  if (r.flag()) { // long_term_ref_pics_present_flag
    const lt = r.ueMax(MAX_LT_PICS, 'num_long_term_ref_pics_sps')
    for (let i = 0; i < lt; i++) { r.u(pocLsbBits); r.flag() } // lt_ref_pic_poc_lsb_sps, used_by_curr_pic_lt_sps_flag
  }
  r.flag() // sps_temporal_mvp_enabled_flag
  r.flag() // strong_intra_smoothing_enabled_flag
  if (!r.flag()) return undefined // vui_parameters_present_flag
  return readVuiTiming(r)
}

/** §7.3.4 scaling_list_data(): 4 sizes × 6 matrices (2 at 32×32), each predicted or coded. */
function skipScalingListData(r: RbspReader): void {
  for (let sizeId = 0; sizeId < 4; sizeId++) {
    for (let matrixId = 0; matrixId < 6; matrixId += sizeId === 3 ? 3 : 1) {
      if (!r.flag()) { // scaling_list_pred_mode_flag
        r.ueMax(matrixId, 'scaling_list_pred_matrix_id_delta') // §7.4.5: 0..matrixId (÷3 at 32×32, still ≤ matrixId)
        continue
      }
      const coefNum = Math.min(64, 1 << (4 + (sizeId << 1)))
      if (sizeId > 1) r.se() // scaling_list_dc_coef_minus8
      for (let i = 0; i < coefNum; i++) r.se() // scaling_list_delta_coef
    }
  }
}

/** §7.3.7 st_ref_pic_set(stRpsIdx) in an SPS, with the §7.4.8 derivation the next set may predict from. */
function readStRps(r: RbspReader, sets: StRps[]): StRps {
  const idx = sets.length
  // inter_ref_pic_set_prediction_flag exists only from the second set on; in an SPS
  // the reference is always the set just before (delta_idx_minus1 is a slice-header field).
  if (idx > 0 && r.flag()) {
    const ref = sets[idx - 1]!
    const sign = r.flag() ? -1 : 1 // delta_rps_sign
    const deltaRps = sign * (r.ueMax(2 ** 15 - 1, 'abs_delta_rps_minus1') + 1) // §7.4.8: 0..2^15 − 1
    // (7-61), (7-62): entry j is each reference delta in S0-then-S1 order, and j = NumDeltaPocs is deltaRps itself.
    const refDeltas = [...ref.s0, ...ref.s1, 0]
    const s0: number[] = []
    const s1: number[] = []
    for (const d of refDeltas) {
      const used = r.flag() // used_by_curr_pic_flag
      const useDelta = used || r.flag() // use_delta_flag, inferred 1 when absent
      const dPoc = d + deltaRps
      if (useDelta && dPoc < 0) s0.push(dPoc)
      else if (useDelta && dPoc > 0) s1.push(dPoc)
    }
    s0.sort((a, b) => b - a)
    s1.sort((a, b) => a - b)
    if (s0.length > MAX_DELTA_POCS || s1.length > MAX_DELTA_POCS) throw new MediaFormatError(`${r.what}: predicted st_ref_pic_set ${idx} has ${s0.length}+${s1.length} pictures`)
    return { s0, s1 }
  }
  const negatives = r.ueMax(MAX_DELTA_POCS, 'num_negative_pics')
  const positives = r.ueMax(MAX_DELTA_POCS, 'num_positive_pics')
  const s0: number[] = []
  const s1: number[] = []
  // (7-63)..(7-66): each delta_poc_sX_minus1 + 1 steps further from the current picture.
  for (let i = 0, poc = 0; i < negatives; i++) { poc -= r.ueMax(2 ** 15 - 1, 'delta_poc_s0_minus1') + 1; r.flag(); s0.push(poc) }
  for (let i = 0, poc = 0; i < positives; i++) { poc += r.ueMax(2 ** 15 - 1, 'delta_poc_s1_minus1') + 1; r.flag(); s1.push(poc) }
  return { s0, s1 }
}

/** Table E-1: aspect_ratio_idc 255 is Extended_SAR, followed by sar_width and sar_height. */
const EXTENDED_SAR = 255

/** E.2.1 vui_parameters() up to vui_timing_info: frames per second, or undefined without timing. */
function readVuiTiming(r: RbspReader): number | undefined {
  if (r.flag() && r.u(8) === EXTENDED_SAR) r.u(32) // aspect_ratio_info_present_flag → idc (→ sar_width, sar_height)
  if (r.flag()) r.flag() // overscan_info_present_flag → overscan_appropriate_flag
  if (r.flag()) { // video_signal_type_present_flag
    r.u(4) // video_format, video_full_range_flag
    if (r.flag()) r.u(24) // colour_description_present_flag → primaries, transfer, matrix
  }
  if (r.flag()) { // chroma_loc_info_present_flag
    r.ueMax(5, 'chroma_sample_loc_type_top_field')
    r.ueMax(5, 'chroma_sample_loc_type_bottom_field')
  }
  r.flag() // neutral_chroma_indication_flag
  r.flag() // field_seq_flag
  r.flag() // frame_field_info_present_flag
  if (r.flag()) for (let i = 0; i < 4; i++) r.ue() // default_display_window_flag → 4 offsets
  if (!r.flag()) return undefined // vui_timing_info_present_flag
  const numUnitsInTick = r.u(32)
  const timeScale = r.u(32)
  // E.3.1: a clock tick lasts vui_num_units_in_tick ÷ vui_time_scale seconds, and a
  // picture one tick (H.264 counts two ticks per frame, H.265 does not): pictures per
  // second = time_scale ÷ num_units_in_tick, as libx265 writes (1, 25) for 25 fps. Both
  // "shall be greater than 0"; a zero is no usable timing rather than a broken SPS.
  return numUnitsInTick > 0 && timeScale > 0 ? timeScale / numUnitsInTick : undefined
}
