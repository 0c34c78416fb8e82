/**
 * Stream and rendition names appear in URLs, logs and file names, so both are
 * held to a small safe alphabet everywhere they enter.
 */

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

/** True for a name usable as `{stream}` or `{rendition}` in the URL contract. */
export function isValidName(name: string): boolean {
  return NAME.test(name) && !name.includes('..')
}

/** Human-readable rule, for refusal messages. */
export const NAME_RULE = '1-64 characters of A-Z a-z 0-9 _ . - starting with a letter or digit, no ".."'
