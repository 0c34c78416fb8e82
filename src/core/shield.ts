/**
 * Builds a shield from config: the cache (upstreams, memory tier, collapsing)
 * and its HTTP front. Starts and stops them in order.
 */
import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import { ConfigError } from '../errors.js'
import { Metrics } from '../log/metrics.js'
import { registerShieldMetrics } from '../log/shield-metrics.js'
import { ShieldCache, type ShieldCacheOptions } from '../cache/shield-cache.js'
import { ShieldHttpServer } from '../http/shield-server.js'

/** A running shield. */
export class Shield {
  readonly config: Config
  readonly cache: ShieldCache
  readonly metrics: Metrics
  private readonly log: Logger
  private readonly http: ShieldHttpServer

  constructor(config: Config, logger: Logger, opts: { defaultMetrics?: boolean; cache?: Partial<ShieldCacheOptions> } = {}) {
    const s = config.shield
    if (s.upstreams.length === 0) throw new ConfigError('shield: at least one upstream is needed (--upstream URL)')
    this.config = config
    this.log = logger
    this.metrics = new Metrics({ defaultMetrics: opts.defaultMetrics })
    this.cache = new ShieldCache({
      upstreams: s.upstreams, memoryBytes: s.memoryBytes, inflightBytes: s.inflightBytes ?? Math.floor(s.memoryBytes / 2), maxWaiters: s.maxWaiters, waitTimeoutMs: s.waitTimeoutMs, idleTimeoutMs: s.idleTimeoutMs,
      prefetchHints: s.prefetchHints, keepQuery: s.keepQuery,
      warn: (fields, message) => logger.warn(fields, message),
      disk: s.cacheDir !== null && s.diskBytes > 0 ? { dir: s.cacheDir, maxBytes: s.diskBytes } : undefined,
      ...opts.cache,
    })
    registerShieldMetrics(this.metrics.registry, this.cache)
    this.http = new ShieldHttpServer({ cache: this.cache, metrics: this.metrics, logger: logger.child({ component: 'shield-http' }), http10: config.http.http10 })
  }

  /** Bind HTTP and start health probes; resolves with the bound port. */
  async start(): Promise<{ http: number }> {
    const http = await this.http.listen(this.config.http.host, this.config.http.port)
    this.cache.start()
    this.log.info({ http, upstreams: this.config.shield.upstreams }, 'shield listening')
    return { http }
  }

  /** Stop HTTP, probes and upstream sockets. */
  async stop(): Promise<void> {
    this.http.close()
    this.cache.stop()
  }
}
