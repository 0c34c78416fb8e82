/**
 * The streamid conventions publishers already type: `publish:{stream}:{key}`
 * (MediaMTX style) and the SRT access-control syntax `#!::r={stream},m=publish,s={key}`
 * (SRT AccessControl.md: keys r resource, m mode, s session, u user).
 */

/** What a streamid asks for. */
export type StreamIdRequest =
  | { ok: true; stream: string; key?: string }
  | { ok: false; reason: string; mode?: string }

/** Parse a streamid; only publishing is served over SRT. */
export function parseStreamId(sid: string): StreamIdRequest {
  if (sid.startsWith('#!::')) {
    const fields = new Map<string, string>()
    for (const pair of sid.slice(4).split(',')) {
      const eq = pair.indexOf('=')
      if (eq > 0) fields.set(pair.slice(0, eq).trim(), pair.slice(eq + 1))
    }
    const mode = fields.get('m') ?? 'request'
    if (mode !== 'publish') return { ok: false, reason: `mode "${mode.slice(0, 16)}" is not served: streamd takes SRT publishers only (m=publish)`, mode }
    const stream = fields.get('r')
    if (!stream) return { ok: false, reason: 'streamid has no resource (r=...)' }
    const key = fields.get('s')
    return key ? { ok: true, stream, key } : { ok: true, stream }
  }
  const parts = sid.split(':')
  if (parts[0] === 'publish' && parts.length >= 2 && parts.length <= 3 && parts[1]) {
    return parts[2] ? { ok: true, stream: parts[1], key: parts[2] } : { ok: true, stream: parts[1] }
  }
  if (parts[0] === 'read' || parts[0] === 'request' || parts[0] === 'play') return { ok: false, reason: 'playback over SRT is not served; use HLS', mode: parts[0] }
  return { ok: false, reason: 'streamid must be publish:{stream}:{key} or #!::r={stream},m=publish,s={key}' }
}
