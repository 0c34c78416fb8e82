/**
 * The collapsing fetcher: for each cache key at most one upstream request is in
 * flight. Requests arriving meanwhile wait (a bounded list, bounded in time) only
 * until the response head is in; from then on they stream the growing entry,
 * so every waiter's first byte comes as soon as the first client's. Waiters
 * come and go without touching the fill; an upstream error reaches every waiter
 * once and nothing is stored; an upstream that fails before answering is
 * replaced by the next one (failover), and stale media answers when none can.
 * Fills share one byte budget: a fill that does not fit is refused before its head
 * (503 + Retry-After, or stale media), never by cutting a body a client is reading.
 */
import { CacheEntry, FillError } from './entry.js'
import type { ByteBudget } from './budget.js'
import type { UpstreamClient, UpstreamTimeouts } from './upstream.js'
import type { UpstreamSet } from './upstream-set.js'

/** The outcome handed to a request. */
export type Lookup =
  | { kind: 'entry'; entry: CacheEntry; source: 'hit' | 'disk' | 'miss' | 'collapsed' | 'stale' }
  /** Too many waiters, or waited too long: 503 + Retry-After, never a fan-out upstream. */
  | { kind: 'busy'; retryAfter: number; reason: string }
  /** Every upstream failed before answering and nothing stale is at hand: 502/504. */
  | { kind: 'error'; status: 502 | 504; error: FillError }

/** Where complete fills go and stale copies come from (the memory tier and below). */
export interface FillSink {
  /** A stale copy usable if the upstream fails (stale-if-error), if any. */
  stale(key: string): CacheEntry | undefined
  /** A fill ended well: decide its lifetime and store it. */
  completed(entry: CacheEntry, ctx: FillContext): void
}

/** Per-request facts the fill needs. */
export interface FillContext {
  /** Path and normalised query sent upstream. */
  target: string
  timeouts: UpstreamTimeouts
  /** First-byte wait on an upstream already out of rotation: it gets no long hold. */
  quickFirstByteMs: number
  /** May serve stale on upstream error (media, not playlists). */
  staleIfError: boolean
}

type Waiter = { deliver: (l: Lookup) => void; timer: NodeJS.Timeout }

interface Fill {
  entry: CacheEntry
  waiters: Set<Waiter>
  /** Once the head is decided, late arrivals get this at once. */
  outcome: Lookup | undefined
}

/** Counters for tests, metrics and benchmarks. */
export interface CollapserStats { upstreamRequests: number; collapsed: number; busy: number; staleServed: number; failovers: number }

/** One upstream request per key in flight; bounded waiting. */
export class Collapser {
  readonly stats: CollapserStats = { upstreamRequests: 0, collapsed: 0, busy: 0, staleServed: 0, failovers: 0 }
  private readonly fills = new Map<string, Fill>()
  private readonly client: UpstreamClient
  private readonly upstreams: UpstreamSet
  private readonly sink: FillSink
  private readonly maxWaiters: number
  private readonly budget: ByteBudget | undefined

  constructor(o: { client: UpstreamClient; upstreams: UpstreamSet; sink: FillSink; maxWaiters: number; budget?: ByteBudget }) {
    this.client = o.client
    this.upstreams = o.upstreams
    this.sink = o.sink
    this.maxWaiters = o.maxWaiters
    this.budget = o.budget
  }

  /** Fills in flight. */
  get inFlight(): number {
    return this.fills.size
  }

  /** True while `key` is being fetched. */
  filling(key: string): boolean {
    return this.fills.has(key)
  }

  /**
   * Join the fill for `key` (starting it if none): `deliver` is called once with the
   * outcome, within `waitMs`. Returns a cancel function for a client that goes away
   * (it frees its place in the list; the fill goes on for the others and the cache).
   */
  join(key: string, ctx: FillContext, waitMs: number, deliver: (l: Lookup) => void): () => void {
    let fill = this.fills.get(key)
    if (fill?.outcome) {
      this.stats.collapsed++
      deliver(fill.outcome.kind === 'entry' ? { ...fill.outcome, source: 'collapsed' } : fill.outcome)
      return () => {}
    }
    if (fill && fill.waiters.size >= this.maxWaiters) {
      this.stats.busy++
      deliver({ kind: 'busy', retryAfter: 1, reason: 'too many requests waiting for this object' })
      return () => {}
    }
    const fresh = !fill
    if (!fill) fill = this.create(key)
    else this.stats.collapsed++
    const f = fill
    const w: Waiter = {
      deliver,
      timer: setTimeout(() => {
        f.waiters.delete(w)
        this.stats.busy++
        deliver({ kind: 'busy', retryAfter: 1, reason: 'upstream did not answer in time' })
      }, waitMs),
    }
    f.waiters.add(w)
    // Started once the first waiter is on the list: a fill may be decided at once (a full budget).
    if (fresh) void this.run(f, ctx)
    return () => {
      clearTimeout(w.timer)
      f.waiters.delete(w)
    }
  }

  /** Fetch `key` ahead of any client (a preload hint); no-op if already in flight. */
  prefetch(key: string, ctx: FillContext): void {
    if (!this.fills.has(key)) void this.run(this.create(key), ctx)
  }

  private create(key: string): Fill {
    const fill: Fill = { entry: new CacheEntry(key), waiters: new Set(), outcome: undefined }
    this.fills.set(key, fill)
    return fill
  }

  private decide(fill: Fill, outcome: Lookup): void {
    if (fill.outcome) return
    fill.outcome = outcome
    for (const w of fill.waiters) {
      clearTimeout(w.timer)
      w.deliver(outcome)
    }
    fill.waiters.clear()
  }

  private async run(fill: Fill, ctx: FillContext): Promise<void> {
    const { entry } = fill
    const order = this.upstreams.order()
    const stale = ctx.staleIfError ? this.sink.stale(entry.key) : undefined
    let lastError: FillError | undefined
    /** The byte budget refused this fill: no upstream is at fault, so none is failed over or marked down. */
    let refused: FillError | undefined
    const unsubscribe = entry.subscribe(() => {
      if (entry.hasHead) this.decide(fill, { kind: 'entry', entry, source: 'miss' })
    })
    for (let i = 0; i < order.length; i++) {
      const base = order[i]!
      const last = i === order.length - 1
      // A full budget refuses at once: asking upstream for bytes that cannot be held costs it for nothing.
      if (this.budget && this.budget.used >= this.budget.limit) {
        refused = new FillError('ERR_SHIELD_BUSY', `in-flight byte budget full (${this.budget.used} of ${this.budget.limit} bytes taken)`)
        break
      }
      if (i > 0) this.stats.failovers++
      this.stats.upstreamRequests++
      entry.upstream = base
      // A 5xx is passed on only from the last upstream, and only with nothing stale to give.
      // A health probe that takes this upstream out of rotation moves a fill still
      // waiting for its head to the next upstream at once, not after the whole hold;
      // on the last upstream only a failed probe does (a 503 for one held request says
      // nothing about the others), and the fill ends in stale or a fast 504.
      const abort = new AbortController()
      const stopWatching = this.upstreams.onDown((b, cause) => {
        if (b === base && !entry.hasHead && (!last || cause === 'probe')) abort.abort()
      })
      // An upstream whose probe found it frozen gets no long hold: it is tried, briefly.
      const timeouts = this.upstreams.probeDown(base) ? { ...ctx.timeouts, firstByteMs: Math.min(ctx.timeouts.firstByteMs, ctx.quickFirstByteMs) } : ctx.timeouts
      const err = await this.client.fetch(base, ctx.target, entry, timeouts, (status) => status < 500 || (last && !stale), abort.signal, this.budget)
      stopWatching()
      if (entry.hasHead) {
        if (err) this.upstreams.failed(base)
        else if (entry.status < 500) this.upstreams.succeeded(base)
        else this.upstreams.failed(base)
        break
      }
      if (err?.code === 'ERR_SHIELD_BUSY') {
        refused = err
        break
      }
      lastError = err
      this.upstreams.failed(base)
    }
    unsubscribe()
    this.fills.delete(entry.key)
    if (!entry.hasHead) {
      const err = refused ?? lastError ?? new FillError('ERR_UPSTREAM_CONNECT', 'no upstream answered')
      entry.fail(err)
      if (stale) {
        this.stats.staleServed += fill.waiters.size
        this.decide(fill, { kind: 'entry', entry: stale, source: 'stale' })
      } else if (refused) {
        this.stats.busy += fill.waiters.size
        this.decide(fill, { kind: 'busy', retryAfter: 1, reason: `shield ${refused.message}` })
      } else {
        this.decide(fill, { kind: 'error', status: err.code === 'ERR_UPSTREAM_TIMEOUT' ? 504 : 502, error: err })
      }
      return
    }
    // Errors mid-body are already on the entry (readers cut their responses); never stored.
    if (!entry.error) this.sink.completed(entry, ctx)
  }
}
