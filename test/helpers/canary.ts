/**
 * A real streamd process (bin/streamd, not in-process) with a canary stream playing,
 * for attack replays: an attack that crashes or stalls the server shows as a dead pid,
 * a canary playlist that stops advancing, or an RSS over a stated bound, and never takes
 * the test runner down with it.
 */
import type { ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import { startPublisher } from './ffmpeg.js'
import { tempDirSync } from './temp-dir.js'
import { spawnStreamd } from './streamd-process.js'

/** A running server process and the canary stream published to it. */
export interface CanaryServer {
  child: ChildProcess
  pid: number
  http: string
  httpPort: number
  rtmpPort: number
  srtPort: number
  /** URL of the canary's media playlist. */
  canaryPlaylist: string
  /** True while the process has not exited. */
  alive(): boolean
  /** Resident set size of the server process, bytes. */
  rss(): number
  /** The server's log lines so far (JSON objects as text). */
  logText(): string
  /** Resolves when the canary's playlist has advanced (a new part or segment) within `withinMs`. */
  assertAdvancing(t: Test, withinMs?: number, what?: string): Promise<void>
}

/** Options of startCanaryServer. */
export interface CanaryOptions {
  /** Config merged over the test defaults (loopback, port 0, passthrough, open publishing). */
  config?: Record<string, unknown>
  /** Canary stream name; default `canary`. */
  stream?: string
  /** Publish no canary (the attack needs an empty server). */
  noCanary?: boolean
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a }
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k]
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)
      ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
      : v
  }
  return out
}

/** The last (msn, part) a media playlist announces, as one comparable number. */
function lastPosition(text: string): number {
  let msn = -1
  const m = /#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)
  if (m) msn = Number(m[1]) + (text.match(/^#EXTINF/gm)?.length ?? 0)
  const parts = text.slice(text.lastIndexOf('#EXTINF') + 1).match(/^#EXT-X-PART:/gm)?.length ?? 0
  return msn * 1000 + parts
}

/**
 * Start `bin/streamd serve` on port 0 with a config file in a temp dir, wait for its
 * ports, publish a canary over RTMP and wait for its playlist; everything is stopped by
 * pid at teardown.
 */
export async function startCanaryServer(t: Test, o: CanaryOptions = {}): Promise<CanaryServer> {
  const dir = tempDirSync(t, 'streamd-canary-')
  const base = {
    http: { host: '127.0.0.1', port: 0 }, rtmp: { host: '127.0.0.1', port: 0 }, srt: { host: '127.0.0.1', port: 0 },
    ladder: { enabled: false }, publish: { open: true }, dataDir: join(dir, 'data'), log: { level: 'info' },
  }
  const cfgPath = join(dir, 'streamd.json')
  writeFileSync(cfgPath, JSON.stringify(deepMerge(base, o.config ?? {})))
  const proc = await spawnStreamd<{ http: number; rtmp: number; srt: number }>(t, ['serve', '--config', cfgPath], 'origin listening')
  const { child, listening: ports } = proc
  const http = `http://127.0.0.1:${ports.http}`
  const stream = o.stream ?? 'canary'
  const canaryPlaylist = `${http}/live/${stream}/source/index.m3u8`
  const server: CanaryServer = {
    child,
    pid: child.pid!,
    http,
    httpPort: ports.http,
    rtmpPort: ports.rtmp,
    srtPort: ports.srt,
    canaryPlaylist,
    alive: proc.alive,
    rss: proc.rss,
    logText: proc.logText,
    assertAdvancing: async (tt, withinMs = 5_000, what = 'canary playlist') => {
      const first = await fetchPosition(canaryPlaylist)
      const deadline = Date.now() + withinMs
      let now = first
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200))
        now = await fetchPosition(canaryPlaylist)
        if (now > first) break
      }
      tt.ok(server.alive(), `server process ${child.pid} still running`)
      tt.ok(now > first, `${what} advanced within ${withinMs} ms (${first} -> ${now})`)
    },
  }
  if (!o.noCanary) {
    const pub = startPublisher(`rtmp://127.0.0.1:${ports.rtmp}/live/${stream}`, { width: 320, height: 180, fps: 25, gop: 50 })
    t.teardown(() => pub.stop())
    const deadline = Date.now() + 20_000
    while ((await fetchPosition(canaryPlaylist)) < 0) {
      if (Date.now() > deadline) throw new Error(`canary never appeared:\n${pub.stderrText()}\n${proc.logText().slice(-3000)}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  return server
}

async function fetchPosition(url: string): Promise<number> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) })
    if (r.status !== 200) return -1
    return lastPosition(await r.text())
  } catch {
    return -1
  }
}
