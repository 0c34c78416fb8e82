/**
 * Pure HLS text helpers: attribute lists and number/date formats exactly as
 * draft-pantos-hls-rfc8216bis section 4.2 defines them.
 */

/** An attribute value: a quoted string, an enumerated string, or a number. */
export type AttrValue = string | number | boolean | { enum: string } | undefined

/** `decimal-floating-point` with up to 5 decimals, no exponent, trailing zeros trimmed. */
export function decimal(n: number): string {
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`not a valid HLS decimal: ${n}`)
  const s = n.toFixed(5).replace(/0+$/, '')
  return s.endsWith('.') ? `${s}0` : s
}

/** PROGRAM-DATE-TIME value: ISO 8601 with milliseconds and the `Z` zone (4.4.4.6). */
export function dateTime(ms: number): string {
  return new Date(ms).toISOString()
}

/** Mark a string as an enumerated-string (written without quotes). */
export function enumValue(value: string): { enum: string } {
  return { enum: value }
}

/**
 * Format an attribute list (4.2). Strings are quoted; they may not contain a
 * double quote or a line break, which would end the tag early.
 */
export function attributes(attrs: Record<string, AttrValue>): string {
  const out: string[] = []
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined) continue
    if (typeof value === 'number') {
      out.push(`${key}=${Number.isInteger(value) ? String(value) : decimal(value)}`)
    } else if (typeof value === 'boolean') {
      out.push(`${key}=${value ? 'YES' : 'NO'}`)
    } else if (typeof value === 'object') {
      out.push(`${key}=${value.enum}`)
    } else {
      if (/["\r\n]/.test(value)) throw new RangeError(`quoted-string cannot hold a quote or line break: ${key}`)
      out.push(`${key}="${value}"`)
    }
  }
  return out.join(',')
}

/** One tag line: `#NAME:attrs` or `#NAME` alone. */
export function tag(name: string, value?: string): string {
  return value === undefined ? `#${name}` : `#${name}:${value}`
}
