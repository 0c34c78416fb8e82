/**
 * Watching a player through trouble, for tests that allow short stalls and bound
 * them (ABR switches, shed rungs): the stalls in a page's samples, a network
 * throttle through the DevTools protocol, and whether the origin's workers kept
 * up meanwhile (to tell a slow box from a player bug).
 */
import type { Test } from 'tap'
import type { CDPSession, Page } from 'playwright-core'
import type { LiveStream } from '../../src/packager/live-stream.js'
import { fmt, quantile, type PageState, type Sample } from './playback.js'

/** An interval in which playback did not advance: from `waiting` to `playing`, or currentTime frozen between samples. */
export interface Stall {
  kind: 'waiting' | 'stuck'
  /** Wall clock, ms since the epoch. */
  from: number
  to: number
  ms: number
  /** currentTime when it began. */
  ct: number
  /** True when the stall had not ended when the state was read. */
  open: boolean
}

/**
 * Every stall at or after `since`: each `waiting` event up to the next `playing`
 * (or the last sample), and each run of samples with currentTime frozen while
 * not paused, measured from the first frozen sample to the first moving one
 * (the sampling period makes that ±250 ms). Unlike assertSmoothPlayback, this
 * tolerates short stalls, for tests that bound their length (ABR switches).
 */
export function findStalls(s: PageState, since: number): Stall[] {
  const stalls: Stall[] = []
  const end = s.samples.at(-1)?.at ?? since
  const events = s.events.filter((e) => e.at >= since)
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    if (e.type !== 'waiting') continue
    const resumed = events.slice(i + 1).find((x) => x.type === 'playing')
    const to = resumed?.at ?? end
    stalls.push({ kind: 'waiting', from: e.at, to, ms: to - e.at, ct: e.ct, open: resumed === undefined })
    // A second `waiting` before `playing` belongs to the same stall.
    while (i + 1 < events.length && events[i + 1] !== resumed) i++
  }
  const watched = s.samples.filter((x) => x.at >= since)
  let runStart: Sample | undefined
  for (let i = 1; i < watched.length; i++) {
    const prev = watched[i - 1]!
    const x = watched[i]!
    const frozen = !x.paused && !prev.paused && x.ct === prev.ct
    if (frozen && !runStart) runStart = prev
    if (runStart && (!frozen || i === watched.length - 1)) {
      stalls.push({ kind: 'stuck', from: runStart.at, to: x.at, ms: x.at - runStart.at, ct: runStart.ct, open: frozen })
      runStart = undefined
    }
  }
  return stalls.sort((a, b) => a.from - b.from)
}

/** Network conditions applied to one page through the Chrome DevTools Protocol. */
export interface NetworkThrottle {
  /** Limit downloads to `kbps` kbit/s (upload unlimited, no added latency); undefined lifts the limit. */
  set: (kbps: number | undefined) => Promise<void>
  cdp: CDPSession
}

/** Throttle `page`'s network with CDP `Network.emulateNetworkConditions` (Chromium only). */
export async function networkThrottle(page: Page): Promise<NetworkThrottle> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Network.enable')
  return {
    cdp,
    set: async (kbps) => {
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        // Bytes per second; -1 disables throttling.
        downloadThroughput: kbps === undefined ? -1 : (kbps * 1000) / 8,
        uploadThroughput: -1,
      })
    },
  }
}

/** Whether the origin's workers kept up with real time while a player watched (to tell a slow box from a player bug). */
export interface ProductionWatch {
  /** Stop sampling (also done at teardown). */
  stop: () => void
  /** Lowest encoder speed (media s per wall s, a 5 s average) sampled in [from, to]. */
  slowest: (from: number, to?: number) => number
  /** Per rendition: min/median speed and median/max part lag (ms after its media's wall-clock time) in [from, to]. */
  summary: (from: number, to?: number) => string
}

/**
 * Sample each rendition's speed every 500 ms; part lags come from the store's
 * parts: completion time minus the program date time of the part's end.
 */
export function watchProduction(t: Test, stream: LiveStream): ProductionWatch {
  const speeds = new Map<string, Array<{ at: number; v: number }>>()
  const timer = setInterval(() => {
    for (const [name, r] of stream.renditions) if (r.speed !== undefined) speeds.set(name, [...(speeds.get(name) ?? []), { at: Date.now(), v: r.speed }])
  }, 500)
  const stop = (): void => clearInterval(timer)
  t.teardown(stop)
  const within = (xs: Array<{ at: number; v: number }>, from: number, to: number): number[] => xs.filter((x) => x.at >= from && x.at <= to).map((x) => x.v)
  const lags = (name: string): Array<{ at: number; v: number }> => {
    const out: Array<{ at: number; v: number }> = []
    for (const seg of stream.renditions.get(name)?.segments ?? []) {
      let offset = 0
      for (const part of seg.parts) {
        offset += part.duration
        out.push({ at: part.completedAt, v: part.completedAt - (seg.pdt + offset * 1000) })
      }
    }
    return out
  }
  return {
    stop,
    slowest: (from, to = Infinity) => Math.min(...[...speeds.values()].flatMap((xs) => within(xs, from, to))),
    summary: (from, to = Infinity) => [...stream.renditions.keys()].map((n) => {
      const sp = within(speeds.get(n) ?? [], from, to)
      const lag = within(lags(n), from, to)
      return `${n} speed ${fmt(Math.min(...sp))}/${fmt(quantile(sp, 0.5))}, lag ${Math.round(quantile(lag, 0.5))}/${Math.round(Math.max(...lag))} ms`
    }).join('; '),
  }
}
