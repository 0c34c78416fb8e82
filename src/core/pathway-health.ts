/**
 * Health of content-steering pathways, measured the way a player would notice
 * trouble: each pathway's copy of a live stream's media playlist is fetched
 * periodically with a timeout. A pathway whose probe fails, times out or whose
 * playlist stops advancing (its last media sequence number unchanged for longer
 * than `stallMs`) is unhealthy and goes last; it is preferred again only after
 * probing healthy for `recoverMs`, so a flapping pathway does not bounce viewers.
 * Time and HTTP are injected (tests drive them); one timer at most, none after stop().
 */
import type { SteeringPathway } from '../config/schema.js'

/** What a probe fetch returns: status and body text. */
export type ProbeFetch = (url: string, signal: AbortSignal) => Promise<{ status: number; text: string }>

/** One playlist to probe on every pathway: a live stream and one of its renditions. */
export interface ProbeTarget {
  stream: string
  rendition: string
}

/** Settings and collaborators of a PathwayHealth. */
export interface PathwayHealthOptions {
  pathways: readonly SteeringPathway[]
  intervalMs: number
  timeoutMs: number
  recoverMs: number
  /** A playlist whose last MSN has not moved this long is stalled. */
  stallMs: number
  /** The playlists to probe now (live streams); bounded by the caller. */
  targets: () => ProbeTarget[]
  fetch: ProbeFetch
  now: () => number
  /** Told when a pathway turns unhealthy for a stream (`failed` or `stalled`) or healthy again (`recovered`). */
  onChange?: (pathway: string, stream: string, change: 'failed' | 'stalled' | 'recovered') => void
}

interface State {
  healthy: boolean
  /** Start of the current run of good probes while unhealthy. */
  goodSince?: number
  lastMsn?: number
  /** When lastMsn last changed. */
  advancedAt?: number
}

/** Most streams probed per round: a server with thousands of streams probes the first ones. */
export const MAX_PROBED_STREAMS = 32

/** The last media sequence number a media playlist lists (its MEDIA-SEQUENCE plus its segments), or undefined if it is not one. */
export function lastMsn(text: string): number | undefined {
  if (!text.startsWith('#EXTM3U')) return undefined
  const seq = /^#EXT-X-MEDIA-SEQUENCE:(\d+)/m.exec(text)
  if (!seq) return undefined
  // rfc8216bis 4.4.5.2: a delta update's EXT-X-SKIP stands for that many segments.
  const skipped = Number(/^#EXT-X-SKIP:.*SKIPPED-SEGMENTS=(\d+)/m.exec(text)?.[1] ?? 0)
  const segments = text.match(/^#EXTINF:/gm)?.length ?? 0
  return Number(seq[1]) + skipped + segments - 1
}

/** Probes pathways and orders them by health, per stream. */
export class PathwayHealth {
  private readonly states = new Map<string, State>()
  private timer: NodeJS.Timeout | undefined
  private abort: AbortController | undefined
  private stopped = true

  constructor(private readonly o: PathwayHealthOptions) {}

  /** Probe every `intervalMs` until stop(). */
  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.schedule()
  }

  /** Stop probing: clears the timer and aborts probes in flight. */
  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.abort?.abort()
    this.abort = undefined
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.probeOnce().finally(() => this.schedule())
    }, this.o.intervalMs)
    this.timer.unref?.()
  }

  /** One round: every pathway × every target, concurrently; resolves when all have answered or timed out. */
  async probeOnce(): Promise<void> {
    const targets = this.o.targets().slice(0, MAX_PROBED_STREAMS)
    const live = new Set(targets.map((t) => t.stream))
    // Streams no longer live take their state with them: the map stays bounded.
    for (const key of this.states.keys()) if (!live.has(key.slice(key.indexOf('\n') + 1))) this.states.delete(key)
    const abort = new AbortController()
    this.abort = abort
    await Promise.all(targets.flatMap((t) => this.o.pathways.map((p) => this.probe(p, t, abort.signal))))
    if (this.abort === abort) this.abort = undefined
  }

  private async probe(p: SteeringPathway, t: ProbeTarget, parent: AbortSignal): Promise<void> {
    const url = new URL(`live/${t.stream}/${t.rendition}/index.m3u8`, withSlash(p.url)).href
    // A timer of our own, cleared when the probe settles (AbortSignal.timeout's would outlive it).
    const own = new AbortController()
    const timer = setTimeout(() => own.abort(), this.o.timeoutMs)
    const signal = AbortSignal.any([parent, own.signal])
    let msn: number | undefined
    try {
      const res = await Promise.race([this.o.fetch(url, signal), aborted(signal)])
      if (res.status === 200) msn = lastMsn(res.text)
    } catch {
      msn = undefined
    } finally {
      clearTimeout(timer)
    }
    if (parent.aborted) return
    this.record(p.id, t.stream, msn)
  }

  /** Feed one probe result: the playlist's last MSN, or undefined for a failure. */
  record(pathway: string, stream: string, msn: number | undefined): void {
    const key = `${pathway}\n${stream}`
    const now = this.o.now()
    let s = this.states.get(key)
    if (!s) this.states.set(key, (s = { healthy: true }))
    let bad: 'failed' | 'stalled' | undefined = msn === undefined ? 'failed' : undefined
    if (msn !== undefined) {
      if (s.lastMsn === undefined || msn > s.lastMsn) {
        s.lastMsn = msn
        s.advancedAt = now
      } else if (now - (s.advancedAt ?? now) > this.o.stallMs) {
        bad = 'stalled'
      }
    }
    if (bad) {
      if (s.healthy) this.o.onChange?.(pathway, stream, bad)
      s.healthy = false
      s.goodSince = undefined
      return
    }
    if (s.healthy) return
    s.goodSince ??= now
    if (now - s.goodSince >= this.o.recoverMs) {
      s.healthy = true
      s.goodSince = undefined
      this.o.onChange?.(pathway, stream, 'recovered')
    }
  }

  /** Every probed (pathway, stream) and whether it is healthy, for metrics. */
  snapshot(): Array<{ stream: string; pathway: string; healthy: boolean }> {
    return [...this.states].map(([key, s]) => {
      const cut = key.indexOf('\n')
      return { pathway: key.slice(0, cut), stream: key.slice(cut + 1), healthy: s.healthy }
    })
  }

  /** Whether a pathway is healthy for a stream (never probed counts as healthy). */
  healthy(pathway: string, stream: string): boolean {
    return this.states.get(`${pathway}\n${stream}`)?.healthy ?? true
  }

  /** Pathway ids for a stream: healthy ones in configured order, then unhealthy ones in configured order. */
  order(stream: string): string[] {
    const ids = this.o.pathways.map((p) => p.id)
    return [...ids.filter((id) => this.healthy(id, stream)), ...ids.filter((id) => !this.healthy(id, stream))]
  }
}

/** Rejects when `signal` aborts: a fetch that ignores its signal still cannot hold a round. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'))
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })
  })
}

/** A base URL that `live/...` resolves under (RFC 3986 5.2.3 drops the last segment of a path without a trailing slash). */
export function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`
}
