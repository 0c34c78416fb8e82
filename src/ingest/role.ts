/**
 * The role a publish names: a stream takes a primary and a backup input, each
 * published with the stream's key. RTMP reads it from `?role=` on the publish
 * name (or the connect app), SRT from its streamid; both decide it here so
 * the same text means the same thing on either protocol.
 */

/** Which input of its stream a publisher feeds. */
export type InputRole = 'primary' | 'backup'

/** Every role a publisher may name, in the order error messages list them. */
export const INPUT_ROLES: readonly InputRole[] = ['primary', 'backup']

/** The role a publish asked for, or why it cannot be served. */
export type RoleResult = { ok: true; role: InputRole } | { ok: false; reason: string }

/** A stranger's value as it may appear in a refusal: quoted, short, control characters escaped by JSON. */
function shown(value: string): string {
  return JSON.stringify(value.length > 16 ? `${value.slice(0, 16)}...` : value)
}

/**
 * The role named by every `role` value a publish carried (query parameters, streamid
 * fields): none means primary; one value, or the same value repeated, is that role.
 * An unknown value (`bkp`, empty) or two different values is refused rather than
 * guessed: a backup encoder mistaken for the primary would be refused as busy or,
 * worse, take the primary's place.
 */
export function roleFrom(values: readonly string[]): RoleResult {
  if (values.length === 0) return { ok: true, role: 'primary' }
  const first = values[0]!
  if (!(INPUT_ROLES as readonly string[]).includes(first)) {
    return { ok: false, reason: `role must be ${INPUT_ROLES.join(' or ')}, not ${shown(first)}` }
  }
  const other = values.find((v) => v !== first)
  if (other !== undefined) return { ok: false, reason: `role given twice with different values (${shown(first)}, ${shown(other)})` }
  return { ok: true, role: first as InputRole }
}
