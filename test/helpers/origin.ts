/**
 * Start a real origin on port 0 (HTTP and RTMP) for integration tests, and
 * helpers to fetch from it and wait for its playlists.
 */
import type { Test } from 'tap'
import type { Logger } from 'pino'
import { buildConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/schema.js'
import { Origin } from '../../src/core/origin.js'
import { createLogger } from '../../src/log/logger.js'
import { tempDirSync } from './temp-dir.js'

/** A started origin and its URLs. */
export interface TestOrigin {
  origin: Origin
  http: string
  rtmp: string
  httpPort: number
  rtmpPort: number
  /** UDP port of the SRT listener. */
  srtPort: number
}

/** Start an origin with `overrides` merged over test defaults; stopped at teardown. */
export async function startOrigin(t: Test, overrides: Record<string, unknown> = {}, opts: { logger?: Logger; clockOffsetMs?: number } = {}): Promise<TestOrigin> {
  // Passthrough unless a test asks for a ladder: most tests need no transcoding CPU. Publishing
  // open: tests about keys override it (and give a dataDir of their own). A data dir of its own
  // (segment-number floors) so tests never share one. No slate: a test that kills its publisher
  // expects the stream to end then; tests of redundant inputs turn the slate on.
  const base = { dataDir: tempDirSync(t, 'streamd-origin-'), http: { host: '127.0.0.1', port: 0 }, rtmp: { host: '127.0.0.1', port: 0 }, srt: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' }, ladder: { enabled: false }, publish: { open: true }, slate: { maxSeconds: 0 } }
  const config: Config = buildConfig(base, [overrides])
  const logger = opts.logger ?? createLogger(process.env.STREAMD_TEST_LOG ?? config.log.level, { pretty: false })
  const origin = new Origin(config, logger, { defaultMetrics: false, clockOffsetMs: opts.clockOffsetMs })
  const ports = await origin.start()
  t.teardown(() => origin.stop())
  return {
    origin,
    httpPort: ports.http,
    rtmpPort: ports.rtmp!,
    srtPort: ports.srt ?? 0,
    http: `http://127.0.0.1:${ports.http}`,
    rtmp: `rtmp://127.0.0.1:${ports.rtmp}/live`,
  }
}

/** Poll `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** GET a URL; returns status, headers and body text (no throw on 4xx/5xx). */
export async function get(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string; body: Buffer; ms: number }> {
  const t0 = performance.now()
  const res = await fetch(url, init)
  const body = Buffer.from(await res.arrayBuffer())
  return { status: res.status, headers: res.headers, text: body.toString('utf8'), body, ms: performance.now() - t0 }
}

/** Wait until a media playlist has at least `segments` complete segments; returns its text. */
export async function waitForSegments(url: string, segments: number, timeoutMs = 30_000): Promise<string> {
  return waitFor(async () => {
    const r = await get(url).catch(() => undefined)
    if (!r || r.status !== 200) return undefined
    return (r.text.match(/^#EXTINF/gm)?.length ?? 0) >= segments ? r.text : undefined
  }, timeoutMs, `${segments} segments at ${url}`)
}
