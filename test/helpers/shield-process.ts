/**
 * A real shield process (`bin/streamd shield`, not in-process) for attack replays:
 * its RSS is read from /proc, its death is seen, and it never takes the test runner
 * down with it. Stopped by pid at teardown.
 */
import type { ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import { tempDirSync } from './temp-dir.js'
import { spawnStreamd } from './streamd-process.js'

/** A running shield process. */
export interface ShieldProcess {
  child: ChildProcess
  pid: number
  url: string
  /** True while the process has not exited. */
  alive(): boolean
  /** Resident set size, bytes (VmRSS). */
  rss(): number
  /** Its log lines so far (JSON objects as text). */
  logText(): string
}

/** Start `bin/streamd shield --upstream ...` on 127.0.0.1:0 with `shield` merged into its config section. */
export async function startShieldProcess(t: Test, upstreams: string[], shield: Record<string, unknown> = {}): Promise<ShieldProcess> {
  const dir = tempDirSync(t, 'streamd-shield-')
  const cfgPath = join(dir, 'streamd.json')
  writeFileSync(cfgPath, JSON.stringify({ http: { host: '127.0.0.1', port: 0 }, log: { level: 'info' }, shield }))
  const proc = await spawnStreamd<{ http: number }>(t, ['shield', '--config', cfgPath, ...upstreams.flatMap((u) => ['--upstream', u])], 'shield listening')
  return { child: proc.child, pid: proc.pid, url: `http://127.0.0.1:${proc.listening.http}`, alive: proc.alive, rss: proc.rss, logText: proc.logText }
}
