/**
 * What the SRT listener remembers about refused conclusions, bounded: the
 * rejection sent to each caller socket (a caller repeats its conclusion until
 * answered, and gets the same answer without a second evaluation), and per
 * source host a refusal count that rate-limits both the log (one line per 10 s
 * with a count) and how often the host's conclusions are evaluated at all (key
 * checks, hooks and their log lines cost the server, not the caller).
 */
import { LRUCache } from 'lru-cache'

/** Window of the per-host log and evaluation limits. */
export const REFUSAL_WINDOW_MS = 10_000
/**
 * Refusals a host may collect in one window before its further conclusions are refused
 * unevaluated. A person retrying a typed key stays far below it; srt-live-transmit's
 * automatic reconnect (several attempts a second) or a key-guessing flood reaches it.
 */
export const REFUSALS_PER_WINDOW = 10
/** Caller sockets whose rejection is remembered, and hosts tracked; the oldest go first. */
const MAX_REPLIES = 4096
const MAX_HOSTS = 4096

interface HostRecord {
  /** Start of the current evaluation window. */
  windowStart: number
  /** Refusals in the current window. */
  refused: number
  /** When a line was last logged for this host. */
  loggedAt: number
  /** Refusals since that line, not logged yet. */
  unlogged: number
  code: number
  why: string
}

/** Log fields of one refusal line: `refusals` counts the refusals it stands for. */
export interface RefusalLogFields {
  remote: string
  code: number
  why: string
  refusals: number
}

/** Bounded memory of refusals, per caller socket and per host. */
export class RefusalLedger {
  private readonly replies = new LRUCache<string, Buffer>({ max: MAX_REPLIES, ttl: REFUSAL_WINDOW_MS, ttlAutopurge: false })
  private readonly hosts = new LRUCache<string, HostRecord>({ max: MAX_HOSTS })

  constructor(private readonly logLine: (fields: RefusalLogFields) => void, private readonly now: () => number = Date.now) {}

  /** Entries held: remembered rejections and tracked hosts (both capped at 4096). */
  get size(): { replies: number; hosts: number } {
    return { replies: this.replies.size, hosts: this.hosts.size }
  }

  /** The rejection already sent to this caller socket (`ip:port/socketId`), if recent. */
  reply(peerKey: string): Buffer | undefined {
    return this.replies.get(peerKey)
  }

  /** True when `host` used up its refusals for this window: refuse without evaluating. */
  throttled(host: string): boolean {
    const r = this.hosts.get(host)
    if (!r) return false
    if (this.now() - r.windowStart >= REFUSAL_WINDOW_MS) return false
    return r.refused >= REFUSALS_PER_WINDOW
  }

  /** Remember a refusal sent to `peerKey`; logs at once if `host` had no line in the last 10 s. */
  record(host: string, peerKey: string, reply: Buffer, code: number, why: string): void {
    const now = this.now()
    this.replies.set(peerKey, reply)
    let r = this.hosts.get(host)
    if (!r) {
      r = { windowStart: now, refused: 0, loggedAt: -Infinity, unlogged: 0, code, why }
      this.hosts.set(host, r)
    }
    if (now - r.windowStart >= REFUSAL_WINDOW_MS) {
      r.windowStart = now
      r.refused = 0
    }
    r.refused++
    r.unlogged++
    r.code = code
    r.why = why
    if (now - r.loggedAt >= REFUSAL_WINDOW_MS) this.emit(host, r, now)
  }

  /** Log the pending count of every host whose last line is 10 s old; call every few seconds. */
  flush(): void {
    const now = this.now()
    const idle: string[] = []
    for (const [host, r] of this.hosts.entries()) {
      if (now - r.loggedAt < REFUSAL_WINDOW_MS) continue
      if (r.unlogged > 0) this.emit(host, r, now)
      else if (now - r.windowStart >= REFUSAL_WINDOW_MS) idle.push(host) // nothing pending, nothing to limit
    }
    for (const host of idle) this.hosts.delete(host)
  }

  private emit(host: string, r: HostRecord, now: number): void {
    this.logLine({ remote: host, code: r.code, why: r.why, refusals: r.unlogged })
    r.loggedAt = now
    r.unlogged = 0
  }
}
