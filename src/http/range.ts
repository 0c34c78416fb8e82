/**
 * HTTP Range for media (RFC 9110 14.2). LL-HLS clients in byte-range mode ask
 * for open-ended ranges such as `bytes=N-9007199254740991`; one range is
 * served as 206, several ranges are answered with the whole body (allowed).
 */

/** What to send for a Range header against a body of `size` bytes. */
export type RangeResult =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' }

const SINGLE = /^bytes=(\d{0,16})-(\d{0,16})$/

/** Decide a Range header (empty string = no header). */
export function parseRange(header: string, size: number): RangeResult {
  if (!header) return { kind: 'full' }
  const m = SINGLE.exec(header.trim())
  // Multiple ranges, other units or junk: ignoring Range is always allowed.
  if (!m) return { kind: 'full' }
  const [, a, b] = m as unknown as [string, string, string]
  if (a === '' && b === '') return { kind: 'full' }
  if (a === '') {
    // Suffix range: the last N bytes.
    const n = Number(b)
    if (n === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(a)
  if (start >= size) return { kind: 'unsatisfiable' }
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1)
  if (end < start) return { kind: 'full' } // invalid: ignore the header
  return { kind: 'partial', start, end }
}
