/**
 * A real `bin/streamd` child process (serve or shield) for attack replays: started with
 * a config file, its log kept, its listening line awaited, its RSS read from /proc, and
 * stopped by pid at teardown. An attack that kills it never takes the test runner down.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'streamd')

/** A started streamd process and the fields of its listening log line. */
export interface StreamdProcess<L> {
  child: ChildProcess
  pid: number
  /** The JSON log line that said it listens (its ports). */
  listening: L
  /** True while the process has not exited. */
  alive(): boolean
  /** Resident set size, bytes (VmRSS); 0 once exited. */
  rss(): number
  /** Its log lines so far (JSON objects as text). */
  logText(): string
}

/**
 * Spawn `bin/streamd ...args`, resolve once a log line containing `listeningMsg` has
 * been written (within 15 s), reject if the process exits first.
 */
export async function spawnStreamd<L>(t: Test, args: string[], listeningMsg: string): Promise<StreamdProcess<L>> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-2_000_000) })
  child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-2_000_000) })
  let exited = false
  const gone = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve() }))
  t.teardown(async () => {
    if (!exited && child.pid) process.kill(child.pid, 'SIGKILL')
    await gone
  })
  const listening = await new Promise<L>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`streamd ${args[0]} did not start within 15 s:\n${log.slice(-3000)}`)), 15_000)
    const look = (): void => {
      for (const line of log.split('\n')) {
        if (!line.includes(listeningMsg)) continue
        try {
          const j = JSON.parse(line) as L
          clearTimeout(timer)
          child.stdout!.off('data', look)
          return resolve(j)
        } catch { /* a partial line: wait for the rest */ }
      }
    }
    child.stdout!.on('data', look)
    child.once('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`streamd ${args[0]} exited (${code ?? sig}) before listening:\n${log.slice(-3000)}`)) })
  })
  return {
    child,
    pid: child.pid!,
    listening,
    alive: () => !exited,
    rss: () => {
      if (exited) return 0
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
      return m ? Number(m[1]) * 1024 : 0
    },
    logText: () => log,
  }
}
