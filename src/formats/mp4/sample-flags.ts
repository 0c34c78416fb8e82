/**
 * Flag bits of tfhd and trun (ISO/IEC 14496-12 §8.8.7.1, §8.8.8.1) and the 32-bit
 * sample_flags word (§8.8.3.1), shared by the fragment reader and writer.
 */

/** tfhd tf_flags (§8.8.7.1). */
export const TFHD = {
  BASE_DATA_OFFSET: 0x000001,
  SAMPLE_DESCRIPTION_INDEX: 0x000002,
  DEFAULT_DURATION: 0x000008,
  DEFAULT_SIZE: 0x000010,
  DEFAULT_FLAGS: 0x000020,
  DURATION_IS_EMPTY: 0x010000,
  DEFAULT_BASE_IS_MOOF: 0x020000,
} as const

/** trun tr_flags (§8.8.8.1). */
export const TRUN = {
  DATA_OFFSET: 0x000001,
  FIRST_SAMPLE_FLAGS: 0x000004,
  DURATION: 0x000100,
  SIZE: 0x000200,
  FLAGS: 0x000400,
  CTS: 0x000800,
} as const

/**
 * §8.8.3.1 sample_flags: reserved(4) is_leading(2) sample_depends_on(2)
 * sample_is_depended_on(2) sample_has_redundancy(2) sample_padding_value(3)
 * sample_is_non_sync_sample(1) sample_degradation_priority(16).
 */
const NON_SYNC_BIT = 0x00010000

/** sample_depends_on = 2: "this sample does not depend on others (I picture)". */
export const SYNC_SAMPLE_FLAGS = 0x02000000
/** sample_depends_on = 1, "this sample does depend on others (not an I picture)", plus sample_is_non_sync_sample. */
export const NON_SYNC_SAMPLE_FLAGS = 0x01000000 | NON_SYNC_BIT

/** A sample is a sync sample when sample_is_non_sync_sample is clear (§8.8.3.1). */
export function isSyncSample(flags: number): boolean {
  return (flags & NON_SYNC_BIT) === 0
}

/** sample_flags the writer uses for a sync or non-sync sample. */
export function sampleFlagsFor(sync: boolean): number {
  return sync ? SYNC_SAMPLE_FLAGS : NON_SYNC_SAMPLE_FLAGS
}
