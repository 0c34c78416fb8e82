/**
 * The memory tier: complete entries in an LRU bounded in bytes (lru-cache
 * `maxSize`), each kept for its lifetime plus, for media, a stale-if-error window
 * (RFC 5861 4) so a failing upstream can still be answered from here.
 */
import { LRUCache } from 'lru-cache'
import type { CacheEntry } from './entry.js'

/** Bytes charged per entry beyond its body: key, headers, bookkeeping. */
const OVERHEAD = 512

/** Byte-bounded LRU of complete entries. */
export class MemoryTier {
  private readonly lru: LRUCache<string, CacheEntry>
  /** Called with entries pushed out by size (not by expiry), e.g. to keep them on disk. */
  onEvict: ((entry: CacheEntry) => void) | undefined

  constructor(maxBytes: number) {
    this.lru = new LRUCache<string, CacheEntry>({
      maxSize: maxBytes,
      sizeCalculation: (e) => Math.max(1, e.size + e.key.length + OVERHEAD),
      // Expired entries are dropped by lru-cache itself; freshness is the entry's own test.
      ttlAutopurge: false,
      allowStale: false,
      dispose: (e, _k, reason) => {
        if (reason === 'evict') this.onEvict?.(e)
      },
    })
  }

  /** The entry for `key` (fresh or within its stale window), if any. */
  get(key: string): CacheEntry | undefined {
    return this.lru.get(key)
  }

  /** Store a complete entry for its lifetime plus `staleMs`. */
  set(entry: CacheEntry, staleMs: number): void {
    const size = entry.size + entry.key.length + OVERHEAD
    if (size > this.lru.maxSize) return
    const left = entry.ttlMs - (Date.now() - entry.receivedAt) - entry.upstreamAge * 1000
    if (left <= 0 && staleMs <= 0) return
    this.lru.set(entry.key, entry, { ttl: Math.max(1, left + staleMs) })
  }

  /** Forget a key. */
  delete(key: string): void {
    this.lru.delete(key)
  }

  /** Entries held. */
  get count(): number {
    return this.lru.size
  }

  /** Bytes charged. */
  get bytes(): number {
    return this.lru.calculatedSize
  }
}
