/**
 * A real shield process (`bin/streamd shield`, not in-process) for attack replays:
 * its RSS is read from /proc, its death is seen, and it never takes the test runner
 * down with it. Stopped by pid at teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import { tempDirSync } from './temp-dir.js'

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'streamd')

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
  const args = [BIN, 'shield', '--config', cfgPath, ...upstreams.flatMap((u) => ['--upstream', u])]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-2_000_000) })
  child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-2_000_000) })
  let exited = false
  const gone = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve() }))
  t.teardown(async () => {
    if (!exited && child.pid) process.kill(child.pid, 'SIGKILL')
    await gone
  })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`shield did not start within 15 s:\n${log.slice(-3000)}`)), 15_000)
    const look = (): void => {
      for (const line of log.split('\n')) {
        if (!line.includes('shield listening')) continue
        try {
          const j = JSON.parse(line) as { http: number }
          clearTimeout(timer)
          child.stdout!.off('data', look)
          return resolve(j.http)
        } catch { /* a partial line: wait for the rest */ }
      }
    }
    child.stdout!.on('data', look)
    child.once('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`shield exited (${code ?? sig}) before listening:\n${log.slice(-3000)}`)) })
  })
  return {
    child,
    pid: child.pid!,
    url: `http://127.0.0.1:${port}`,
    alive: () => !exited,
    rss: () => {
      if (exited) return 0
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
      return m ? Number(m[1]) * 1024 : 0
    },
    logText: () => log,
  }
}
