/**
 * Start a shield on port 0 in front of given upstreams, for tests; stopped at teardown.
 */
import type { Test } from 'tap'
import { buildConfig } from '../../src/config/load.js'
import { Shield } from '../../src/core/shield.js'
import { createLogger } from '../../src/log/logger.js'
import type { ShieldCacheOptions } from '../../src/cache/shield-cache.js'

/** A started shield and its URL. */
export interface TestShield {
  shield: Shield
  url: string
  port: number
}

/** Start a shield; `shield` overrides the config section, `cache` the cache's internal options. */
export async function startShield(t: Test, upstreams: string[], o: { shield?: Record<string, unknown>; cache?: Partial<ShieldCacheOptions> } = {}): Promise<TestShield> {
  const config = buildConfig({ http: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' }, shield: { upstreams, ...o.shield } })
  const logger = createLogger(process.env.STREAMD_TEST_LOG ?? config.log.level, { pretty: false })
  const shield = new Shield(config, logger, { defaultMetrics: false, cache: o.cache })
  const ports = await shield.start()
  t.teardown(() => shield.stop())
  return { shield, url: `http://127.0.0.1:${ports.http}`, port: ports.http }
}
