/**
 * ISO 639-2 language codes (what MPEG-TS descriptors and the mp4 `mdhd` box
 * carry) to the BCP 47 tags HLS LANGUAGE and DASH `@lang` require. The code
 * table is `@cospired/i18n-iso-languages` (ISO 639-1 with 639-2/T and /B).
 */
import { alpha3BToAlpha2, alpha3TToAlpha2, alpha2ToAlpha3T } from '@cospired/i18n-iso-languages/index.js'

/** The tag of an undetermined language (ISO 639-2 `und`, also BCP 47). */
export const UNDETERMINED = 'und'

const WELL_FORMED = /^[a-z]{3}$/

/**
 * The BCP 47 primary language subtag of an ISO 639-2 code, B or T form.
 * RFC 5646 2.2.1: "When languages have both an ISO 639-1 two-character code and
 * a three-character code (assigned by ISO 639-2, ISO 639-3, or ISO 639-5), only
 * the ISO 639-1 two-character code is defined in the IANA registry", and of a
 * B/T pair only the terminology (T) code is registered — so `fre` and `fra`
 * are `fr`, `ger` is `de`, `chi` is `zh`. A well-formed three-letter code
 * without a two-letter one stays as it is: that is its BCP 47 form for every
 * other ISO 639-2 code (`haw`, `fil`), for `mul`, `mis`, `zxx`, `und`, for the
 * private-use range `qaa`–`qtz`, and for ISO 639-3 codes some encoders write
 * (`yue`). Anything else (not three letters) is `und`: it names no language.
 */
export function bcp47Language(code: string | undefined): string {
  const c = code?.toLowerCase()
  if (c === undefined || !WELL_FORMED.test(c)) return UNDETERMINED
  return alpha3TToAlpha2(c) ?? alpha3BToAlpha2(c) ?? c
}

/** The ISO 639-2/T form of a code (B codes such as `fre` become `fra`), lower case; for comparing two codes. */
export function iso639T(code: string): string {
  const c = code.toLowerCase()
  const alpha2 = alpha3BToAlpha2(c)
  return (alpha2 !== undefined ? alpha2ToAlpha3T(alpha2) : undefined) ?? c
}
