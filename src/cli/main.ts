/**
 * The `streamd` command line. The only place that calls process.exit.
 */
import { Command, InvalidArgumentError } from 'commander'
import { loadConfig } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { createLogger } from '../log/logger.js'
import { Origin } from '../core/origin.js'
import { SupervisedWorker } from '../transcode/worker.js'
import { demoSourceArgs } from '../transcode/args.js'
import type { Logger } from 'pino'
import { StreamdError, describeError } from '../errors.js'
import { formatChecks, runDoctor } from './doctor.js'
import { registerKeys } from './keys.js'
import { registerShield } from './shield.js'

// `serve --demo`: a built-in FFmpeg test source published through the server's own RTMP
// ingest, so a newcomer sees a live stream at once.

/** Name the demo publishes under. */
export const DEMO_STREAM = 'demo'

/** Start the demo publisher against rtmp://127.0.0.1:{rtmpPort}; returns it for stop(). */
export function startDemo(ffmpeg: string, rtmpPort: number, logger: Logger): SupervisedWorker {
  const worker = new SupervisedWorker({
    ffmpeg,
    args: demoSourceArgs({ width: 1280, height: 720, fps: 30, url: `rtmp://127.0.0.1:${rtmpPort}/live/${DEMO_STREAM}` }),
    logger: logger.child({ component: 'demo' }),
    minBackoffMs: 500,
    maxBackoffMs: 10_000,
    onSpawn: (io) => {
      io.stdin.end()
      io.stdout.resume()
    },
  })
  worker.start()
  return worker
}

function port(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535')
  return Number(value)
}

interface ServeFlags {
  config?: string
  demo?: boolean
  httpPort?: number
  rtmpPort?: number
  srtPort?: number
  dataDir?: string
}

function configFrom(flags: ServeFlags): Config {
  const overrides: Record<string, unknown> = {}
  if (flags.httpPort !== undefined) overrides.http = { port: flags.httpPort }
  if (flags.rtmpPort !== undefined) overrides.rtmp = { port: flags.rtmpPort }
  if (flags.srtPort !== undefined) overrides.srt = { port: flags.srtPort }
  if (flags.dataDir !== undefined) overrides.dataDir = flags.dataDir
  return loadConfig(flags.config, [overrides])
}

async function serve(flags: ServeFlags): Promise<void> {
  const config = configFrom(flags)
  const log = createLogger(config.log.level)
  // The demo publishes from 127.0.0.1 without a key: open publishing to loopback peers only,
  // never wider than the config already is.
  if (flags.demo && config.publish.open === false) {
    config.publish.open = 'loopback'
    log.info('--demo: publishing without a key is allowed from this machine (loopback) only')
  }
  const origin = new Origin(config, log)
  const ports = await origin.start()
  const demo = flags.demo && ports.rtmp !== undefined ? startDemo(origin.ffmpegPath, ports.rtmp, log) : undefined
  if (flags.demo && ports.rtmp === undefined) log.warn('--demo needs RTMP ingest enabled; no demo started')
  log.info(`open http://127.0.0.1:${ports.http}/ to watch${demo ? ' the demo stream' : ''}`)
  let stopping = false
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'stopping')
    await demo?.stop()
    await origin.stop()
    process.exit(0)
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))
}

async function doctor(flags: { config?: string }): Promise<void> {
  const checks = await runDoctor(loadConfig(flags.config))
  console.log(formatChecks(checks))
  process.exitCode = checks.every((c) => c.ok) ? 0 : 1
}

/** Build the commander program (exported for tests of flag parsing). */
export function program(): Command {
  const p = new Command('streamd').description('live streaming server: RTMP in, LL-HLS out').showHelpAfterError()
  p.command('serve')
    .description('run an origin: ingest, packaging, HTTP')
    .option('--config <file>', 'JSON config file (see config/streamd.json)')
    .option('--demo', 'publish a built-in test source as stream "demo"')
    .option('--http-port <n>', 'HTTP port', port)
    .option('--rtmp-port <n>', 'RTMP port', port)
    .option('--srt-port <n>', 'SRT port (UDP, default 8890)', port)
    .option('--data-dir <dir>', 'data directory')
    .action(serve)
  p.command('doctor')
    .description('check FFmpeg, ports and the data dir')
    .option('--config <file>', 'JSON config file')
    .action(doctor)
  registerKeys(p)
  registerShield(p)
  return p
}

/** Entry point used by bin/streamd. */
export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv)
  } catch (err) {
    if (err instanceof StreamdError) {
      console.error(`streamd: ${err.message}`)
      process.exit(2)
    }
    console.error(`streamd: unexpected error: ${describeError(err)}`)
    process.exit(1)
  }
}
