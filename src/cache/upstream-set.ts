/**
 * Several upstreams in order of preference, with health: a failed request or a
 * failed probe takes an upstream out of rotation for a while; a periodic probe
 * brings it back. Requests go to the first healthy one, then the rest in order,
 * so when the active origin stumbles the same fill moves on without the player
 * ever seeing the failure.
 */
import http from 'node:http'

interface Upstream {
  base: string
  downUntil: number
  failures: number
}

/** Health-checked, ordered upstreams. */
export class UpstreamSet {
  private readonly list: Upstream[]
  private readonly probeMs: number
  private readonly healthPath: string
  private timer: NodeJS.Timeout | undefined
  private readonly downListeners = new Set<(base: string) => void>()

  constructor(bases: string[], opts: { probeMs?: number; healthPath?: string } = {}) {
    if (bases.length === 0) throw new Error('at least one upstream is needed')
    this.list = bases.map((b) => ({ base: b.replace(/\/+$/, ''), downUntil: 0, failures: 0 }))
    this.probeMs = opts.probeMs ?? 1000
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

  /** A request to `base` failed (connect, timeout, 5xx): out of rotation for a while. */
  failed(base: string): void {
    const u = this.list.find((x) => x.base === base)
    if (!u) return
    const wasUp = u.downUntil <= Date.now()
    u.failures++
    u.downUntil = Date.now() + Math.min(30_000, 1000 * 2 ** Math.min(5, u.failures - 1))
    if (wasUp) for (const fn of this.downListeners) fn(base)
  }

  /** Be told when an upstream leaves rotation (so requests stalled on it can move on). */
  onDown(fn: (base: string) => void): () => void {
    this.downListeners.add(fn)
    return () => this.downListeners.delete(fn)
  }

  /** A request to `base` succeeded. */
  succeeded(base: string): void {
    const u = this.list.find((x) => x.base === base)
    if (u && u.failures > 0) {
      u.failures = 0
      u.downUntil = 0
    }
  }

  /** Start probing every upstream's health path (any answer below 500 counts as alive). */
  startProbes(): void {
    if (this.list.length < 2 || this.timer) return
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
      const req = http.get(`${u.base}${this.healthPath}`, { timeout: this.probeMs }, (res) => {
        res.resume()
        if ((res.statusCode ?? 500) < 500) this.succeeded(u.base)
        else this.failed(u.base)
        resolve()
      })
      req.on('timeout', () => req.destroy(new Error('probe timeout')))
      req.on('error', () => {
        this.failed(u.base)
        resolve()
      })
    })
  }
}
