/**
 * Child process for bench/latency: one real streamd Origin (compiled dist/),
 * HTTP and RTMP on 127.0.0.1 port 0, config overrides from argv[2] (JSON).
 * Prints one JSON line {http, rtmp} when listening; logs (pino, warn and up)
 * go to stderr. Stops the origin (worker first) on SIGTERM/SIGINT or stdin end.
 *
 * usage: [BENCH_STREAMD_DIST=/path/to/dist] node latency-origin-child.mjs '{"hls":{"partTarget":0.2}}'
 */
import { pathToFileURL } from 'node:url'
import pino from 'pino'

const dist = process.env.BENCH_STREAMD_DIST ? pathToFileURL(process.env.BENCH_STREAMD_DIST + '/').href : new URL('../../dist/', import.meta.url).href
/** @type {typeof import('../../src/core/origin.js')} */
const { Origin } = await import(new URL('core/origin.js', dist).href)
/** @type {typeof import('../../src/config/load.js')} */
const { buildConfig } = await import(new URL('config/load.js', dist).href)

const overrides = JSON.parse(process.argv[2] ?? '{}')
// Publishing open: the bench publishes from this machine without keys.
const base = { http: { host: '127.0.0.1', port: 0 }, rtmp: { host: '127.0.0.1', port: 0 }, log: { level: 'warn' }, publish: { open: true } }
const config = buildConfig(base, [overrides])
// stdout carries only the ready line; logs go to stderr (fd 2), synchronously.
const logger = pino({ level: config.log.level, name: 'streamd' }, pino.destination({ fd: 2, sync: true }))
// Process metrics off: the bench reads only the streamd_* series it needs.
const origin = new Origin(config, logger, { defaultMetrics: false })
const ports = await origin.start()
process.stdout.write(JSON.stringify({ http: ports.http, rtmp: ports.rtmp, config: config.hls }) + '\n')

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  const timer = setTimeout(() => process.exit(1), 5000)
  try {
    await origin.stop()
  } finally {
    clearTimeout(timer)
    process.exit(0)
  }
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop)
process.stdin.on('error', stop)
process.stdin.resume()
