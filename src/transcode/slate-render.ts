/**
 * One short-lived FFmpeg run that renders a slate clip: its stdout collected up to a
 * bound, killed when it overruns its time. The process gets a session of its own
 * and is killed as a group, so a wrapper script's children die with it and cannot
 * hold the pipes (and this promise) open.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { SlateError } from './slate-spec.js'

/** Why a render run failed. */
export type SlateRenderFailure = 'spawn' | 'timeout' | 'output' | 'exit'

/** A render run failed; `reason` says how, the message says what FFmpeg said. */
export class SlateRenderError extends SlateError {
  constructor(readonly reason: SlateRenderFailure, message: string) {
    super(message)
  }
}

/** Limits and input of one run. */
export interface SlateRunOptions {
  /** Bytes written to FFmpeg's stdin, then closed (the slate image); none: stdin is /dev/null. */
  stdin?: Buffer
  /** Killed after this long. */
  timeoutMs: number
  /** Killed when stdout grows past this many bytes. */
  maxOutputBytes: number
}

/** Characters of stderr kept for the error message: FFmpeg's reason is its last lines. */
const STDERR_TAIL = 1500

/** Run `ffmpeg args` once; resolves with its stdout when it exits 0. */
export function runSlateFfmpeg(ffmpeg: string, args: string[], o: SlateRunOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess
    try {
      child = spawn(ffmpeg, args, { stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true })
    } catch (err) {
      reject(new SlateRenderError('spawn', `slate: cannot start ${ffmpeg}: ${(err as Error).message}`))
      return
    }
    const chunks: Buffer[] = []
    let bytes = 0
    let stderr = ''
    let failure: SlateRenderError | undefined
    let settled = false
    const killGroup = (): void => {
      const pid = child.pid
      if (pid === undefined) return
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
      }
    }
    const fail = (f: SlateRenderError): void => {
      failure ??= f
      killGroup()
    }
    const settle = (err: Error | undefined, out?: Buffer): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err) reject(err)
      else resolve(out as Buffer)
    }
    const timer = setTimeout(() => fail(new SlateRenderError('timeout', `slate: FFmpeg did not finish rendering within ${o.timeoutMs} ms and was killed`)), o.timeoutMs)
    child.stdout!.on('data', (d: Buffer) => {
      bytes += d.length
      if (bytes > o.maxOutputBytes) fail(new SlateRenderError('output', `slate: FFmpeg wrote more than ${o.maxOutputBytes} bytes and was killed`))
      else chunks.push(d)
    })
    child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-STDERR_TAIL) })
    child.on('error', (err) => settle(new SlateRenderError('spawn', `slate: cannot start ${ffmpeg}: ${err.message}`)))
    if (o.stdin) {
      // FFmpeg may exit before reading it all (a file it cannot decode): EPIPE is its answer, not ours.
      child.stdin!.on('error', () => {})
      child.stdin!.end(o.stdin)
    }
    child.on('close', (code, signal) => {
      if (failure) return settle(failure)
      if (code !== 0) {
        const said = stderr.trim().split('\n').slice(-3).join(' | ')
        return settle(new SlateRenderError('exit', `slate: FFmpeg exited with ${code ?? signal}${said ? `: ${said}` : ''}`))
      }
      settle(undefined, Buffer.concat(chunks))
    })
  })
}
