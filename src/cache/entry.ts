/**
 * One cached response that may still be arriving: status and headers once, then
 * body chunks appended as upstream delivers them, then done or failed. Any number
 * of readers stream from it at their own pace (read-while-writer): each keeps its
 * own position and is told when more is there, so a slow reader never holds the
 * fill or the other readers back.
 */

import type { ByteBudget } from './budget.js'

/** Response headers kept from upstream (lower-case names). */
export type EntryHeaders = Record<string, string>

/** Why a fill failed; readers that already sent headers must cut the response. */
export class FillError extends Error {
  /** Stable code: ERR_UPSTREAM_CONNECT, ERR_UPSTREAM_TIMEOUT, ERR_UPSTREAM_LENGTH, ERR_UPSTREAM_ABORTED, ERR_UPSTREAM_STATUS, ERR_UPSTREAM_TOO_LARGE, ERR_UPSTREAM_ENCODING. */
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.code = code
    this.name = 'FillError'
  }
}

type Listener = () => void

/** A response being filled or filled; readers subscribe for progress. */
export class CacheEntry {
  readonly key: string
  status = 0
  headers: EntryHeaders = {}
  /** Body length announced by upstream (Content-Length), if any. */
  expectedLength: number | undefined
  readonly chunks: Buffer[] = []
  /** Bytes received so far. */
  size = 0
  done = false
  error: FillError | undefined
  /** When the response headers arrived (ms since epoch), the base of `Age`. */
  receivedAt = 0
  /** Age the upstream response already had (its `Age` header), seconds. */
  upstreamAge = 0
  /** Freshness lifetime, ms after receivedAt; 0 = not to be stored. */
  ttlMs = 0
  /** Which upstream filled it (for logs and tests). */
  upstream = ''
  private listeners = new Set<Listener>()
  /** Bytes of a shared budget this entry's fill took: held while it fills or anyone still reads it. */
  private charged: { budget: ByteBudget; bytes: number } | undefined
  private readers = 0

  constructor(key: string) {
    this.key = key
  }

  /** True once status and headers are known. */
  get hasHead(): boolean {
    return this.status !== 0
  }

  /** Status and headers are in. */
  setHead(status: number, headers: EntryHeaders, expectedLength: number | undefined): void {
    this.status = status
    this.headers = headers
    this.expectedLength = expectedLength
    this.receivedAt = Date.now()
    const age = Number(headers.age)
    this.upstreamAge = Number.isFinite(age) && age >= 0 ? Math.floor(age) : 0
    this.emit()
  }

  /** Append body bytes (the caller hands over ownership of `chunk`). */
  push(chunk: Buffer): void {
    if (this.done || chunk.length === 0) return
    this.chunks.push(chunk)
    this.size += chunk.length
    this.emit()
  }

  /** The body is complete. */
  end(): void {
    if (this.done) return
    this.done = true
    this.emit()
    this.listeners.clear()
    this.release()
  }

  /** The fill failed: readers cut their responses; the entry is never stored. */
  fail(err: FillError): void {
    if (this.done) return
    this.error = err
    this.done = true
    this.emit()
    this.listeners.clear()
    this.release()
  }

  /**
   * Record `bytes` taken from `budget` for this entry's body. They are given back once the
   * entry is done and no response reads it any more: a slow client keeps the body alive
   * after the fill, evicted from the memory tier or not, so it stays counted until then.
   */
  charge(budget: ByteBudget, bytes: number): void {
    if (bytes <= 0) return
    if (this.charged && this.charged.budget !== budget) throw new Error('an entry is charged to one budget')
    this.charged = { budget, bytes: (this.charged?.bytes ?? 0) + bytes }
  }

  /** Bytes of a budget this entry holds now. */
  get chargedBytes(): number {
    return this.charged?.bytes ?? 0
  }

  /** A response starts sending this entry; call the returned function (once or more) when it has ended. */
  read(): () => void {
    this.readers++
    let open = true
    return () => {
      if (!open) return
      open = false
      this.readers--
      this.release()
    }
  }

  /** Give the budget back once nothing more can need the body through this entry's charge. */
  private release(): void {
    if (!this.done || this.readers > 0 || !this.charged) return
    const { budget, bytes } = this.charged
    this.charged = undefined
    budget.give(bytes)
  }

  /** Call `fn` on every change until it unsubscribes (the returned function) or the entry ends. */
  subscribe(fn: Listener): () => void {
    if (this.done) return () => {}
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /** Whole body (only meaningful once done without error). */
  body(): Buffer {
    if (this.chunks.length !== 1) {
      const all = Buffer.concat(this.chunks)
      this.chunks.splice(0, this.chunks.length, all)
    }
    return this.chunks[0] ?? Buffer.alloc(0)
  }

  /** Body bytes from `offset`, at most `max` of them, from one chunk; undefined when none yet. */
  sliceFrom(offset: number, max = 256 * 1024): Buffer | undefined {
    let base = 0
    for (const c of this.chunks) {
      if (offset < base + c.length) {
        const start = offset - base
        return c.subarray(start, Math.min(c.length, start + max))
      }
      base += c.length
    }
    return undefined
  }

  /** Seconds for the `Age` header: upstream's age plus time held here (RFC 9111 4.2.3). */
  age(now = Date.now()): number {
    return this.upstreamAge + Math.max(0, Math.floor((now - this.receivedAt) / 1000))
  }

  /** Fresh: stored, and its age (upstream's included) within its lifetime. */
  fresh(now = Date.now()): boolean {
    return this.ttlMs > 0 && now - this.receivedAt + this.upstreamAge * 1000 < this.ttlMs
  }

  private emit(): void {
    for (const fn of [...this.listeners]) fn()
  }
}
