/**
 * Browser tests take turns. Each plays a live stream in Chromium against real encoders and
 * judges stalls; two of them side by side on a 2-core machine starve each other's players
 * and encoders, and the suite then measures the machine, not streamd. A test file takes the
 * turn before it starts anything and holds it to its end; tap's other worker goes on with
 * the rest of the suite meanwhile. The turn is a directory created atomically (mkdir), named
 * per checkout, with the holder's pid in it: a holder that died (a test killed on a time-out)
 * is noticed and its turn taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import type { Test } from 'tap'

const LOCK = join(tmpdir(), `streamd-browser-turn-${createHash('sha1').update(process.cwd()).digest('hex').slice(0, 12)}`)
/** Longest wait for a turn: every browser test file is far shorter. */
const MAX_WAIT_MS = 15 * 60_000

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Wait for this checkout's browser turn and hold it until `t` ends. */
export async function takeBrowserTurn(t: Test): Promise<void> {
  const deadline = Date.now() + MAX_WAIT_MS
  for (;;) {
    try {
      mkdirSync(LOCK)
      writeFileSync(join(LOCK, 'pid'), String(process.pid))
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    let holder = NaN
    try { holder = Number(readFileSync(join(LOCK, 'pid'), 'utf8')) } catch { /* being written */ }
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
      rmSync(LOCK, { recursive: true, force: true })
      continue
    }
    if (Date.now() > deadline) throw new Error(`no browser turn after ${MAX_WAIT_MS / 60_000} min (held by pid ${holder}: ${LOCK})`)
    await new Promise((r) => setTimeout(r, 250))
  }
  t.teardown(() => rmSync(LOCK, { recursive: true, force: true }))
}
