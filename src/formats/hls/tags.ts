/**
 * Pure HLS text helpers: attribute lists and number/date formats exactly as
 * draft-pantos-hls-rfc8216bis section 4.2 defines them.
 */

import type { StartPoint } from './model.js'

/** What `enumValue` makes: a string written without quotes. */
export interface Unquoted {
  enum: string
}

/**
 * An attribute value (4.2): a string is a quoted-string, a number a decimal-integer or
 * decimal-floating-point, a boolean the enumerated-string YES/NO, `Unquoted` an
 * enumerated-string (or a number already formatted), bytes a hexadecimal-sequence.
 */
export type AttrValue = string | number | boolean | Unquoted | Uint8Array | undefined

/** `decimal-floating-point` with up to 5 decimals, no exponent, trailing zeros trimmed. */
export function decimal(n: number): string {
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`not a valid HLS decimal: ${n}`)
  const s = n.toFixed(5).replace(/0+$/, '')
  return s.endsWith('.') ? `${s}0` : s
}

/** `signed-decimal-floating-point`: `decimal` with a leading `-` when negative. */
export function signedDecimal(n: number): string {
  return n < 0 ? `-${decimal(-n)}` : decimal(n)
}

/** PROGRAM-DATE-TIME value: ISO 8601 with milliseconds and the `Z` zone (4.4.4.6). */
export function dateTime(ms: number): string {
  return new Date(ms).toISOString()
}

/** `hexadecimal-sequence`: `0x` then upper-case hex digits (4.2: characters [0..9] and [A..F]). */
export function hexSequence(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new RangeError('a hexadecimal-sequence holds at least one byte')
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').toUpperCase()}`
}

/**
 * Mark a string as an enumerated-string (written without quotes). 4.2: it never contains
 * a double quote, a comma or whitespace, which would end the value or the list early.
 */
export function enumValue(value: string): Unquoted {
  if (value === '' || /[",\s]/.test(value)) throw new RangeError(`not a valid enumerated-string: ${JSON.stringify(value)}`)
  return { enum: value }
}

/**
 * Format an attribute list (4.2). Strings are quoted; they may not contain a
 * double quote or a line break, which would end the tag early.
 */
export function attributes(attrs: Record<string, AttrValue>): string {
  let out = ''
  for (const key in attrs) {
    const value = attrs[key]
    if (value === undefined) continue
    let text: string
    if (typeof value === 'number') {
      // decimal-integer and decimal-floating-point are never negative; signed values go through signedDecimal.
      text = Number.isInteger(value) && value >= 0 ? String(value) : decimal(value)
    } else if (typeof value === 'boolean') {
      text = value ? 'YES' : 'NO'
    } else if (typeof value === 'string') {
      if (/["\r\n]/.test(value)) throw new RangeError(`quoted-string cannot hold a quote or line break: ${key}`)
      text = `"${value}"`
    } else if (value instanceof Uint8Array) {
      text = hexSequence(value)
    } else {
      text = value.enum
    }
    out += out === '' ? `${key}=${text}` : `,${key}=${text}`
  }
  return out
}

/** One tag line: `#NAME:attrs` or `#NAME` alone. */
export function tag(name: string, value?: string): string {
  return value === undefined ? `#${name}` : `#${name}:${value}`
}

/** EXT-X-START (4.4.2.2), a tag of media and multivariant playlists alike. */
export function startTag(s: StartPoint): string {
  return tag('EXT-X-START', attributes({ 'TIME-OFFSET': enumValue(signedDecimal(s.timeOffset)), PRECISE: s.precise ? enumValue('YES') : undefined }))
}
