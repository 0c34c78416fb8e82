/**
 * What the shield has learnt about each rendition from the playlists it passed
 * on: target duration, part target, and how far the stream had got. That tells
 * a request the origin holds (rfc8216bis 6.2.5.2: a blocking reload, or the
 * hinted part, may legitimately wait up to 3 target durations for its first
 * byte) from one for an object the origin already has, which must answer at
 * once: an upstream that is silent on the latter has stalled, and the shield
 * moves on (next upstream, stale copy, or a fast error) instead of waiting out
 * the whole hold.
 */
import { LRUCache } from 'lru-cache'
import type { ObjectKind } from './key.js'
import { satisfies, type PlaylistInfo } from './playlist-info.js'

/** Segments a playlist may lag the newest one seen (a late answer); further back, the origin restarted. */
const RESTART_GAP = 10

/**
 * Largest EXT-X-TARGETDURATION and PART-TARGET believed, seconds. Every hold the shield
 * grants is a multiple of them (3 TD for a blocking reload or the hinted part), so an
 * upstream announcing 700,000 s would hold clients for days, and past 2^31 ms the timer
 * overflows to 1 ms. Live playlists use a few seconds (Apple recommends 6 s); 30 s and
 * 5 s leave room for any real stream.
 */
export const MAX_TARGET_DURATION = 30
/** Largest PART-TARGET believed, seconds (LL-HLS parts are well under a second or two). */
export const MAX_PART_TARGET = 5

/** A learnt duration above its bound: what the playlist said and what is used instead. */
export interface Clamped {
  tag: 'EXT-X-TARGETDURATION' | 'PART-TARGET'
  announced: number
  used: number
}

/** A rendition's last known state. */
interface Known {
  info: PlaylistInfo
  targetDuration: number | undefined
  partTarget: number | undefined
}

/** The timeouts a request gets, ms. */
export interface RequestTimeouts {
  /** Until the response head. */
  firstByteMs: number
  /** Longest silence between body bytes. */
  idleMs: number
}

/** Settings the timeouts are derived from. */
export interface TimeoutSettings {
  /** First-byte wait for an object the origin has (not held), ms. */
  firstByteMs: number
  /** Idle wait mid-body for a complete object, ms. */
  idleMs: number
  /** Target duration assumed before a playlist told it, seconds. */
  defaultTargetDuration: number
}

/** Per-directory knowledge of each rendition, bounded in entries. */
export class RenditionKnowledge {
  private readonly known = new LRUCache<string, Known>({ max: 10_000 })

  /**
   * Remember what a media playlist for `dir` says (a multivariant one teaches nothing).
   * Durations above MAX_TARGET_DURATION / MAX_PART_TARGET are clamped; returns those that were.
   */
  learn(dir: string, info: PlaylistInfo): Clamped[] {
    const clamped: Clamped[] = []
    const bound = (tag: Clamped['tag'], v: number | undefined, max: number): number | undefined => {
      if (v === undefined || v <= max) return v
      clamped.push({ tag, announced: v, used: max })
      return max
    }
    const prev = this.known.get(dir)
    // Never step back for an older playlist answered late (a listed object must not look
    // unavailable), but follow an origin that restarted its numbering far below.
    const restarted = prev !== undefined && info.lastMsn < prev.info.lastMsn - RESTART_GAP
    const newer = !prev || restarted || info.ended || info.lastMsn > prev.info.lastMsn ||
      (info.lastMsn === prev.info.lastMsn && info.trailingParts >= prev.info.trailingParts)
    this.known.set(dir, {
      info: newer ? info : prev.info,
      targetDuration: bound('EXT-X-TARGETDURATION', info.targetDuration, MAX_TARGET_DURATION) ?? prev?.targetDuration,
      partTarget: bound('PART-TARGET', info.partTarget, MAX_PART_TARGET) ?? prev?.partTarget,
    })
    return clamped
  }

  /** Target duration learnt for `dir`, seconds. */
  targetDuration(dir: string): number | undefined {
    return this.known.get(dir)?.targetDuration
  }

  /**
   * True when the origin is known to have the object now (listed in the newest
   * playlist, or a segment whose first part is out, which origins stream at once),
   * so it must answer without a hold. Unknown renditions count as not known.
   */
  available(dir: string, kind: ObjectKind, msn: number | undefined, part: number | undefined): boolean {
    const k = this.known.get(dir)
    if (!k || msn === undefined) return false
    const { info } = k
    if (kind === 'playlist' || kind === 'part') return satisfies(info, msn, part)
    if (kind === 'segment') return info.ended || msn <= info.lastMsn || (msn === info.lastMsn + 1 && info.trailingParts > 0)
    return false
  }

  /**
   * Timeouts for one request. Held requests (blocking playlists, parts and segments
   * not yet listed) wait 3 target durations plus a second for their head, as the
   * origin may hold them that long (6.2.5.2, 6.2.6); everything else gets the short
   * first-byte wait. A segment still being produced streams part by part, so its
   * idle wait covers one part (or target) duration between chunks.
   */
  timeouts(dir: string, kind: ObjectKind, msn: number | undefined, part: number | undefined, blocking: boolean, s: TimeoutSettings): RequestTimeouts {
    const k = this.known.get(dir)
    const td = k?.targetDuration ?? s.defaultTargetDuration
    const media = kind === 'part' || kind === 'segment'
    // An origin without LL-HLS (no parts, no hint) lists only complete segments and holds none.
    const lowLatency = !k || k.partTarget !== undefined || k.info.preloadHint !== undefined
    const mayHold = (kind === 'playlist' && blocking) || (media && lowLatency)
    const held = mayHold && !this.available(dir, kind, msn, part)
    const firstByteMs = held ? Math.max(s.firstByteMs, 3 * td * 1000 + 1000) : s.firstByteMs
    const complete = k !== undefined && msn !== undefined && (k.info.ended || msn <= k.info.lastMsn)
    const streamed = kind === 'segment' && !complete
    const idleMs = streamed ? Math.max(s.idleMs, (k?.partTarget ?? td) * 1000 + 1000) : s.idleMs
    return { firstByteMs, idleMs }
  }
}
