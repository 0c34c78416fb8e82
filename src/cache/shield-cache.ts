/**
 * The shield's cache as one object: key normalisation, the memory tier, the
 * collapsing fetcher, and the LL-HLS rules (rfc8216bis 6.2.5.2 and Appendix B):
 * blocking playlists are keyed by their `_HLS_*` question and held as long as
 * the origin may hold them, a playlist is stored under a blocking key only if it
 * answers that question, and a playlist's preload hint is fetched before anyone
 * asks for it.
 */
import { cacheKey, objectKind, type CacheKey, type ObjectKind } from './key.js'
import type { CacheEntry } from './entry.js'
import { MemoryTier } from './memory-tier.js'
import { Collapser, type FillContext, type Lookup } from './collapser.js'
import { UpstreamClient } from './upstream.js'
import { UpstreamSet } from './upstream-set.js'
import { ttlMs } from './policy.js'
import { DiskTier } from './disk-tier.js'
import { playlistInfo, satisfies, type PlaylistInfo } from './playlist-info.js'
import { LRUCache } from 'lru-cache'
import { ByteBudget } from './budget.js'
import { RenditionKnowledge } from './availability.js'

/** Shield cache settings (see the `shield` config section). */
export interface ShieldCacheOptions {
  upstreams: string[]
  memoryBytes: number
  /** Bytes all fills in flight may hold together (default half of memoryBytes); see ByteBudget. */
  inflightBytes?: number
  maxWaiters: number
  /** Longest wait for the response head of an object the origin is not holding, ms: past it the upstream has stalled. */
  waitTimeoutMs: number
  prefetchHints: boolean
  keepQuery: string[]
  /** Target duration assumed before any playlist told it, seconds. */
  defaultTargetDuration?: number
  /** Window in which stale media may answer for a failing upstream, ms. */
  staleIfErrorMs?: number
  connectTimeoutMs?: number
  /** Longest silence mid-body, ms (a segment still being produced gets at least one part duration more). */
  idleTimeoutMs?: number
  /** Largest object fetched, bytes (default 64 MiB, at most inflightBytes); larger than the memory tier is streamed but not kept. */
  maxObjectBytes?: number
  /** Health probe interval, ms, and path. */
  probeMs?: number
  /** A probe unanswered this long fails, ms (default the larger of probeMs and 2 s). */
  probeTimeoutMs?: number
  healthPath?: string
  /** Disk tier (directory and byte bound); none when undefined. */
  disk?: { dir: string; maxBytes: number } | undefined
  /** Where the cache reports what an operator should know (an upstream's implausible playlist). */
  warn?: (fields: Record<string, unknown>, message: string) => void
}

/** A request as the cache sees it. */
export interface CacheRequest extends CacheKey {
  kind: ObjectKind
  msn: number | undefined
  part: number | undefined
}

/** Segment number and part of a media path under the URL contract (`{msn}.m4s`, `{msn}.{part}.m4s`). */
function mediaPosition(path: string): { msn: number | undefined; part: number | undefined } {
  const m = /\/(\d{1,15})(?:\.(\d{1,9}))?\.m4s$/.exec(path)
  return m ? { msn: Number(m[1]), part: m[2] === undefined ? undefined : Number(m[2]) } : { msn: undefined, part: undefined }
}

/** Media without Cache-Control is kept this long, seconds. */
const DEFAULT_MEDIA_TTL = 60

/** Tiered, collapsing cache in front of upstream origins. */
export class ShieldCache {
  readonly memory: MemoryTier
  readonly collapser: Collapser
  readonly upstreams: UpstreamSet
  readonly disk: DiskTier | undefined
  /** Bytes held by fills in flight, all together. */
  readonly inflight: ByteBudget
  readonly prefetches = { started: 0 }
  private readonly o: Required<Omit<ShieldCacheOptions, 'disk' | 'warn'>>
  private readonly warn: (fields: Record<string, unknown>, message: string) => void
  /** Clamped durations already logged (directory, tag, value), so a playlist reloaded every second logs once. */
  private readonly warned = new LRUCache<string, true>({ max: 1000 })
  private readonly client = new UpstreamClient()
  private readonly keep: Set<string>
  /** Per playlist directory: target duration and how far the stream got, learnt from playlists. */
  readonly knowledge = new RenditionKnowledge()

  constructor(opts: ShieldCacheOptions) {
    this.o = {
      defaultTargetDuration: 6, staleIfErrorMs: 60_000, connectTimeoutMs: 2000, idleTimeoutMs: 2000,
      probeMs: 1000, probeTimeoutMs: Math.max(opts.probeMs ?? 1000, 2000), healthPath: '/healthz', maxObjectBytes: 64 * 1024 * 1024,
      inflightBytes: Math.floor(opts.memoryBytes / 2), ...opts,
    }
    this.inflight = new ByteBudget(this.o.inflightBytes)
    // An object larger than the whole budget could never be held: it is refused as too large (502), not busy.
    this.o.maxObjectBytes = Math.min(this.o.maxObjectBytes, this.o.inflightBytes)
    this.warn = opts.warn ?? (() => {})
    this.disk = opts.disk ? new DiskTier(opts.disk.dir, opts.disk.maxBytes) : undefined
    this.keep = new Set(opts.keepQuery)
    this.memory = new MemoryTier(opts.memoryBytes)
    // Media pushed out of memory while still fresh goes to disk (DVR window, init segments).
    this.memory.onEvict = (e) => {
      const kind = objectKind(e.key.split('?')[0]!)
      if (this.disk && e.status === 200 && e.fresh() && (kind === 'segment' || kind === 'part' || kind === 'init')) void this.disk.put(e)
    }
    this.upstreams = new UpstreamSet(opts.upstreams, { probeMs: this.o.probeMs, probeTimeoutMs: this.o.probeTimeoutMs, healthPath: this.o.healthPath })
    this.collapser = new Collapser({
      client: this.client, upstreams: this.upstreams, maxWaiters: opts.maxWaiters, budget: this.inflight,
      sink: { stale: (k) => this.memory.get(k), completed: (e, ctx) => this.completed(e, ctx) },
    })
  }

  /** Start health probes. */
  start(): void {
    this.upstreams.startProbes()
  }

  /** Stop probes and close upstream sockets. */
  stop(): void {
    this.upstreams.stop()
    this.client.close()
  }

  /** Normalise a request. */
  request(path: string, query: string): CacheRequest {
    const k = cacheKey(path, query, this.keep)
    const num = (name: string): number | undefined => {
      const m = new RegExp(`(?:^|&)${name}=(\\d{1,15})(?:&|$)`).exec(k.query)
      return m ? Number(m[1]) : undefined
    }
    return { ...k, kind: objectKind(path), msn: num('_HLS_msn'), part: num('_HLS_part') }
  }

  /** Answer from memory, then disk, or join the fill; returns a cancel for a client that leaves. */
  lookup(r: CacheRequest, deliver: (l: Lookup) => void): () => void {
    const cached = this.memory.get(r.key)
    if (cached?.fresh()) {
      deliver({ kind: 'entry', entry: cached, source: 'hit' })
      return () => {}
    }
    if (!this.disk || r.kind === 'playlist' || this.collapser.filling(r.key)) return this.join(r, deliver)
    let cancelled = false
    let cancel = (): void => { cancelled = true }
    void this.disk.get(r.key).then((e) => {
      if (cancelled) return
      if (e?.fresh()) {
        this.memory.set(e, 0)
        deliver({ kind: 'entry', entry: e, source: 'disk' })
      } else {
        cancel = this.join(r, deliver)
      }
    })
    return () => cancel()
  }

  private join(r: CacheRequest, deliver: (l: Lookup) => void): () => void {
    const ctx = this.context(r)
    // Each upstream may take its connect and first-byte time before the next is tried.
    const waitMs = (ctx.timeouts.connectMs + ctx.timeouts.firstByteMs) * this.o.upstreams.length + 500
    return this.collapser.join(r.key, ctx, waitMs, deliver)
  }

  /** First-byte and idle timeouts for `r`: the full hold only where the origin may be holding it. */
  timeouts(r: CacheRequest): { firstByteMs: number; idleMs: number } {
    const pos = r.kind === 'part' || r.kind === 'segment' ? mediaPosition(r.path) : { msn: r.msn, part: r.part }
    return this.knowledge.timeouts(this.dir(r.path), r.kind, pos.msn, pos.part, r.msn !== undefined, {
      firstByteMs: this.o.waitTimeoutMs, idleMs: this.o.idleTimeoutMs, defaultTargetDuration: this.o.defaultTargetDuration,
    })
  }

  private context(r: CacheRequest): FillContext {
    const t = this.timeouts(r)
    return {
      target: r.key,
      staleIfError: r.kind === 'part' || r.kind === 'segment' || r.kind === 'init',
      quickFirstByteMs: this.o.waitTimeoutMs,
      timeouts: { connectMs: this.o.connectTimeoutMs, firstByteMs: t.firstByteMs, idleMs: t.idleMs, maxBodyBytes: this.o.maxObjectBytes },
    }
  }

  private dir(path: string): string {
    return path.slice(0, path.lastIndexOf('/') + 1)
  }

  private completed(e: CacheEntry, ctx: FillContext): void {
    const r = this.request(ctx.target.split('?')[0]!, ctx.target.split('?')[1] ?? '')
    let answers = true
    if (r.kind === 'playlist' && e.status === 200) {
      const info = playlistInfo(e.body().toString('utf8'))
      if (info.targetDuration !== undefined) this.learn(r.path, info)
      // A playlist that does not reach the asked msn/part must not be stored under that question.
      if (r.msn !== undefined) answers = satisfies(info, r.msn, r.part)
      // A 404 kept for an object this playlist now lists (or hints) is out of date: drop it,
      // so a part asked for a moment too early is not refused for a whole target duration.
      for (const uri of [...info.newest, ...(info.preloadHint === undefined ? [] : [info.preloadHint])]) {
        const k = this.resolve(r.path, uri)
        if (k && this.memory.get(k.key)?.status === 404) this.memory.delete(k.key)
      }
      if (info.preloadHint !== undefined && this.o.prefetchHints && !info.ended) this.prefetch(r.path, info.preloadHint)
    }
    const td = this.knowledge.targetDuration(this.dir(r.path))
    e.ttlMs = answers
      ? ttlMs({ status: e.status, cacheControl: e.headers['cache-control'], kind: r.kind, blocking: r.msn !== undefined, targetDuration: td, defaultMediaTtl: DEFAULT_MEDIA_TTL })
      : 0
    if (e.ttlMs > 0) this.memory.set(e, ctx.staleIfError && e.status === 200 ? this.o.staleIfErrorMs : 0)
  }

  /** Take in a media playlist's facts; a duration past its bound is clamped and logged once. */
  private learn(path: string, info: PlaylistInfo): void {
    const dir = this.dir(path)
    for (const c of this.knowledge.learn(dir, info)) {
      const id = `${dir} ${c.tag} ${c.announced}`
      if (this.warned.has(id)) continue
      this.warned.set(id, true)
      this.warn({ playlist: path, upstream: this.upstreams.active, tag: c.tag, announced: c.announced, used: c.used },
        `upstream playlist ${path} announces ${c.tag} ${c.announced} s; using ${c.used} s (holds are 3 target durations)`)
    }
  }

  /** The request a playlist's URI names, if it is on this shield (relative or same-host). */
  private resolve(playlistPath: string, uri: string): CacheRequest | undefined {
    let u: URL
    try {
      u = new URL(uri, `http://shield${playlistPath}`)
    } catch {
      return undefined
    }
    if (u.host !== 'shield') return undefined // an absolute URI elsewhere is not ours
    return this.request(u.pathname, u.search.slice(1))
  }

  private prefetch(playlistPath: string, uri: string): void {
    const r = this.resolve(playlistPath, uri)
    if (!r) return
    if (this.memory.get(r.key)?.fresh() || this.collapser.filling(r.key)) return
    this.prefetches.started++
    this.collapser.prefetch(r.key, this.context(r))
  }
}
