/**
 * `streamd shield`: a caching mid-tier in front of one or more origins.
 */
import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import { loadConfig } from '../config/load.js'
import { createLogger } from '../log/logger.js'
import { Shield } from '../core/shield.js'

interface ShieldFlags {
  config?: string
  upstream?: string[]
  httpPort?: number
  cacheDir?: string
}

function port(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535')
  return Number(value)
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

async function shield(flags: ShieldFlags): Promise<void> {
  const overrides: Record<string, unknown> = {}
  const s: Record<string, unknown> = {}
  if (flags.upstream) s.upstreams = flags.upstream
  if (flags.cacheDir !== undefined) s.cacheDir = flags.cacheDir
  if (Object.keys(s).length > 0) overrides.shield = s
  if (flags.httpPort !== undefined) overrides.http = { port: flags.httpPort }
  const config = loadConfig(flags.config, [overrides])
  const log = createLogger(config.log.level)
  const node = new Shield(config, log)
  const ports = await node.start()
  log.info(`shield on http://127.0.0.1:${ports.http}/ in front of ${config.shield.upstreams.join(', ')}`)
  let stopping = false
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'stopping')
    await node.stop()
    process.exit(0)
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))
}

/** Add the `shield` command to the program. */
export function registerShield(p: Command): void {
  p.command('shield')
    .description('run a shield: a collapsing, LL-HLS-aware cache in front of origins')
    .option('--config <file>', 'JSON config file')
    .option('--upstream <url>', 'upstream origin (repeat for failover, in order of preference)', collect)
    .option('--http-port <n>', 'HTTP port', port)
    .option('--cache-dir <dir>', 'disk tier directory')
    .action(shield)
}
