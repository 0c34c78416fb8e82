/**
 * Several upstreams in order of preference, with health: a failed request or a
 * failed probe takes an upstream out of rotation for a while; a periodic probe
 * brings it back. Requests go to the first healthy one, then the rest in order,
 * so when the active origin stumbles the same fill moves on without the player
 * ever seeing the failure.
 */
import http from 'node:http'

/** What took an upstream out of rotation: its health probe, or a request to it. */
export type DownCause = 'probe' | 'request'

interface Upstream {
  base: string
  downUntil: number
  failures: number
  downCause: DownCause
}

/** Health-checked, ordered upstreams. */
export class UpstreamSet {
  private readonly list: Upstream[]
  private readonly probeMs: number
  private readonly probeTimeoutMs: number
  private readonly healthPath: string
  private timer: NodeJS.Timeout | undefined
  private readonly downListeners = new Set<(base: string, cause: DownCause) => void>()

  constructor(bases: string[], opts: { probeMs?: number; probeTimeoutMs?: number; healthPath?: string } = {}) {
    if (bases.length === 0) throw new Error('at least one upstream is needed')
    this.list = bases.map((b) => ({ base: b.replace(/\/+$/, ''), downUntil: 0, failures: 0, downCause: 'request' as DownCause }))
    this.probeMs = opts.probeMs ?? 1000
    // A loaded origin may be slow to answer; a probe fails only when it is far slower than that.
    this.probeTimeoutMs = opts.probeTimeoutMs ?? Math.max(this.probeMs, 2000)
    this.healthPath = opts.healthPath ?? '/healthz'
  }

  /** Upstream bases to try, healthy first (each group in configured order). */
  order(now = Date.now()): string[] {
    const up = this.list.filter((u) => u.downUntil <= now)
    const down = this.list.filter((u) => u.downUntil > now)
    return [...up, ...down].map((u) => u.base)
  }

  /** The upstream requests go to first. */
  get active(): string {
    return this.order()[0]!
  }

  /** True while `base` is out of rotation because its health probe failed (it answers nothing). */
  probeDown(base: string, now = Date.now()): boolean {
    const u = this.list.find((x) => x.base === base)
    return u !== undefined && u.downUntil > now && u.downCause === 'probe'
  }

  /** A request to `base` failed (connect, timeout, 5xx), or its probe did: out of rotation for a while. */
  failed(base: string, cause: DownCause = 'request'): void {
    const u = this.list.find((x) => x.base === base)
    if (!u) return
    // Listeners hear of a new outage, and of a probe confirming one a request suspected.
    const notify = u.downUntil <= Date.now() || (cause === 'probe' && u.downCause !== 'probe')
    u.failures++
    // A request failing on an upstream its probe already found frozen does not soften the cause.
    if (cause === 'probe' || u.downUntil <= Date.now()) u.downCause = cause
    u.downUntil = Date.now() + Math.min(30_000, 1000 * 2 ** Math.min(5, u.failures - 1))
    if (notify) for (const fn of this.downListeners) fn(base, cause)
  }

  /** Be told when an upstream leaves rotation (so requests stalled on it can move on). */
  onDown(fn: (base: string, cause: DownCause) => void): () => void {
    this.downListeners.add(fn)
    return () => this.downListeners.delete(fn)
  }

  /**
   * A request to `base` succeeded, or its probe did. A probe ends only an outage a probe
   * found: an origin whose health path answers while its media stall stays out until its
   * back-off ends, or it would be back in rotation, and stalling players, within a probe period.
   */
  succeeded(base: string, cause: DownCause = 'request'): void {
    const u = this.list.find((x) => x.base === base)
    if (cause === 'probe' && u && u.downUntil > Date.now() && u.downCause !== 'probe') return
    if (u && u.failures > 0) {
      u.failures = 0
      u.downUntil = 0
    }
  }

  /**
   * Start probing every upstream's health path (any answer below 500 counts as alive).
   * A single upstream is probed too: it is how a request held on a frozen origin learns,
   * within a probe period, that no answer is coming.
   */
  startProbes(): void {
    if (this.timer) return
    this.timer = setInterval(() => {
      for (const u of this.list) void this.probe(u)
    }, this.probeMs)
    this.timer.unref()
  }

  /** Stop probing. */
  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private probe(u: Upstream): Promise<void> {
    return new Promise((resolve) => {
      const req = http.get(`${u.base}${this.healthPath}`, { timeout: this.probeTimeoutMs }, (res) => {
        res.resume()
        if ((res.statusCode ?? 500) < 500) this.succeeded(u.base, 'probe')
        else this.failed(u.base, 'probe')
        resolve()
      })
      req.on('timeout', () => req.destroy(new Error('probe timeout')))
      req.on('error', () => {
        this.failed(u.base, 'probe')
        resolve()
      })
    })
  }
}
