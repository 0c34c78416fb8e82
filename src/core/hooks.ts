/**
 * Webhooks in the shape nginx-rtmp and SRS users know: a POST per event, the
 * answer of `on_publish` deciding the publish. The body is JSON and signed
 * (HMAC-SHA256 over the exact bytes sent) so the receiver can trust it.
 */
import { createHmac } from 'node:crypto'
import { describeError } from '../errors.js'
import type { InputRole } from '../ingest/types.js'

/** Header carrying `sha256=<hex HMAC of the body>`. */
export const SIGNATURE_HEADER = 'X-Streamd-Signature'

/** What a hook is told (never a secret: `key` is the key's name, i.e. the stream it was issued for). */
export interface HookEvent {
  action: 'on_publish' | 'on_publish_done'
  app: string
  stream: string
  protocol: string
  /** Publisher `ip:port`. */
  remote: string
  /** Name of the key that authorized the publish; null when publishing was open to this peer. */
  key: string | null
  /** Which input of the stream the publisher feeds (primary or backup): a hook may allow one and not the other. */
  role: InputRole
  /** ISO time of the event; inside the signed body, so a receiver can reject stale replays. */
  time: string
}

/** Outcome of calling a hook. */
export type HookResult = { ok: true } | { ok: false; reason: string }

/** `sha256=<hex>` of `body` under `secret`, as sent in SIGNATURE_HEADER. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/** Most bytes of a hook answer read: enough for `{"code":0}` or a reason, never a flood. */
const MAX_ANSWER = 4096

/**
 * A 2xx answer accepts, unless its body refuses: SRS's `{"code": N}` with N ≠ 0 (or a
 * bare non-zero number), or `{"allow": false}`. nginx-rtmp users answer with a status
 * code only; an empty or non-JSON 2xx body therefore accepts.
 */
function refusalIn(body: string): string | undefined {
  const text = body.trim()
  if (!text) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof parsed === 'number') return parsed === 0 ? undefined : `hook answered ${parsed}`
  if (typeof parsed !== 'object' || parsed === null) return undefined
  const o = parsed as Record<string, unknown>
  const reason = typeof o.reason === 'string' ? o.reason.slice(0, 200) : undefined
  if (o.allow === false) return reason ?? 'hook answered allow: false'
  if (typeof o.code === 'number' && o.code !== 0) return reason ?? `hook answered code ${o.code}`
  return undefined
}

/** POST `event` to `url`; resolves (never rejects) once it answered, failed or timed out. */
export async function callHook(url: string, event: HookEvent, opts: { timeoutMs: number; secret: string | null }): Promise<HookResult> {
  const body = JSON.stringify(event)
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'streamd' }
  if (opts.secret) headers[SIGNATURE_HEADER] = signBody(body, opts.secret)
  // One deadline covers connect, answer and body: a hook that trickles its body is still cut off.
  const signal = AbortSignal.timeout(opts.timeoutMs)
  try {
    const res = await fetch(url, { method: 'POST', headers, body, signal, redirect: 'error' })
    const answer = await readCapped(res, MAX_ANSWER)
    if (res.status < 200 || res.status > 299) return { ok: false, reason: `hook answered HTTP ${res.status}` }
    const refused = refusalIn(answer)
    return refused ? { ok: false, reason: refused } : { ok: true }
  } catch (err) {
    if (signal.aborted) return { ok: false, reason: `hook did not answer within ${opts.timeoutMs} ms` }
    return { ok: false, reason: `hook failed: ${describeError((err as Error).cause ?? err)}` }
  }
}

async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Buffer[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(Buffer.from(value))
    size += value.length
    if (size >= max) {
      await reader.cancel()
      break
    }
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8')
}
