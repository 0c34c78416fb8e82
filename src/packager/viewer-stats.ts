/**
 * Per-stream audience counters since the current publish started: requests by
 * kind, and an estimate of distinct client addresses in fixed memory.
 */

/** Bits of the distinct-address bitmap: 8 KiB per stream, accurate to about 1% up to ~100k addresses. */
const BITS = 1 << 16

/** FNV-1a, 32-bit: cheap and spreads short address strings well enough for linear counting. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** Request counters and distinct-address estimate of one stream. */
export class ViewerStats {
  /** Multivariant and media playlist requests. */
  playlistRequests = 0
  /** Init, segment and part requests. */
  mediaRequests = 0
  private bitmap = new Uint8Array(BITS / 8)
  private zeros = BITS

  /** Count one media request (init, segment, part); no address: that would cost every request a lookup. */
  media(): void {
    this.mediaRequests++
  }

  /** Count one playlist request from `address` (no port). Addresses are counted here only: every player polls a playlist. */
  playlist(address: string): void {
    this.playlistRequests++
    const bit = fnv1a(address) & (BITS - 1)
    const byte = bit >> 3
    const mask = 1 << (bit & 7)
    if ((this.bitmap[byte]! & mask) === 0) {
      this.bitmap[byte]! |= mask
      this.zeros--
    }
  }

  /**
   * Estimated distinct client addresses (linear counting: n = -m ln(zeros / m), Whang et al. 1990).
   * Behind a CDN or shield this counts edges, not people.
   */
  get distinctClients(): number {
    if (this.zeros === 0) return Math.round(BITS * Math.log(BITS))
    return Math.round(-BITS * Math.log(this.zeros / BITS))
  }

  /** Start over (a new publish of the name). */
  reset(): void {
    this.playlistRequests = 0
    this.mediaRequests = 0
    this.bitmap = new Uint8Array(BITS / 8)
    this.zeros = BITS
  }
}
