/**
 * SRT test helpers: FFmpeg (libsrt, caller mode) publishing a test source as
 * MPEG-TS, and SRT URLs in the forms publishers type.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { FFMPEG, testSourceArgs, type TestSourceOptions } from './ffmpeg.js'

/** `srt://127.0.0.1:PORT?streamid=...&latency=µs[&passphrase=...]` (FFmpeg 5.1 takes latency in µs). */
export function srtUrl(port: number, streamid: string, o: { latencyMs?: number; passphrase?: string; pbkeylen?: number } = {}): string {
  let url = `srt://127.0.0.1:${port}?streamid=${streamid}&latency=${(o.latencyMs ?? 120) * 1000}`
  if (o.passphrase) url += `&passphrase=${o.passphrase}`
  if (o.pbkeylen) url += `&pbkeylen=${o.pbkeylen}`
  return url
}

/** A running FFmpeg publisher: its exit code once done, stderr tail, and a stop that kills it. */
export type Publisher = ChildProcess & { stop: () => Promise<void>; stderrText: () => string; exited: Promise<number | null> }

/** Publish a test source to `url` in `format` (default MPEG-TS). */
export function startSrtPublisher(url: string, o: TestSourceOptions & { format?: string; extra?: string[] } = {}): Publisher {
  const args = [...testSourceArgs(o), ...(o.extra ?? []), '-f', o.format ?? 'mpegts', url]
  const child = spawn(FFMPEG, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000) })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return Object.assign(child, {
    exited,
    stderrText: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL')
      await exited
    },
  })
}
