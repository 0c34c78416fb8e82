/**
 * `streamd doctor`: what FFmpeg was found and what it can do, whether the ports
 * are free and the data dir writable — each problem with the command that fixes it.
 */
import { execFileSync } from 'node:child_process'
import { accessSync, constants, mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { createSocket } from 'node:dgram'
import type { Config } from '../config/schema.js'
import { resolveFfmpeg, resolveFfprobe } from '../transcode/ffmpeg-path.js'
import { describeError } from '../errors.js'
import { HS_VERSION } from '../ingest/srt/server.js'

/** One line of the report. */
export interface Check {
  name: string
  ok: boolean
  detail: string
  fix?: string
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, host, () => srv.close(() => resolve(true)))
  })
}

function udpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4')
    s.once('error', () => resolve(false))
    s.bind(port, host, () => s.close(() => resolve(true)))
  })
}

function ffmpegChecks(config: Config): Check[] {
  let path: string
  let source: string
  try {
    const loc = resolveFfmpeg(config.ffmpeg.path ?? undefined)
    path = loc.path
    source = loc.source
  } catch (err) {
    return [{ name: 'ffmpeg', ok: false, detail: describeError(err), fix: 'apt-get install -y ffmpeg' }]
  }
  const run = (args: string[]): string => execFileSync(path, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
  const version = run(['-hide_banner', '-version']).split('\n')[0] ?? 'unknown'
  const encoders = run(['-hide_banner', '-encoders'])
  const protocols = run(['-hide_banner', '-protocols'])
  const probe = resolveFfprobe({ path, source: 'path' })
  return [
    { name: 'ffmpeg', ok: true, detail: `${path} (found via ${source}): ${version}` },
    { name: 'libx264', ok: /\blibx264\b/.test(encoders), detail: 'H.264 encoder for the ladder and the demo', fix: 'apt-get install -y ffmpeg (Debian builds it with libx264)' },
    { name: 'libsrt', ok: /^\s*srt\s*$/m.test(protocols), detail: 'SRT protocol in FFmpeg (publishing tests and the SRT bench use it; ingest does not)', fix: 'apt-get install -y ffmpeg (Debian builds it with libsrt)' },
    { name: 'ffprobe', ok: probe !== undefined, detail: probe ?? 'not found (only the tests need it)', fix: 'apt-get install -y ffmpeg' },
  ]
}

/** Run every check. */
export async function runDoctor(config: Config): Promise<Check[]> {
  const checks = ffmpegChecks(config)
  const libsrt = checks.find((c) => c.name === 'libsrt')?.ok ?? false
  checks.push({ name: 'srt', ok: true, detail: `SRT: built-in listener (protocol v${HS_VERSION}, live mode, AES-CTR), FFmpeg libsrt: ${libsrt ? 'yes' : 'no'}` })
  for (const [name, host, port] of [['http port', config.http.host, config.http.port], ['rtmp port', config.rtmp.host, config.rtmp.port]] as const) {
    const free = await portFree(host, port)
    checks.push({ name, ok: free, detail: `${host}:${port} ${free ? 'is free' : 'is in use'}`, fix: free ? undefined : `stop what listens there, or pass --${name.split(' ')[0]}-port N` })
  }
  if (config.srt.enabled) {
    const free = await udpPortFree(config.srt.host, config.srt.port)
    checks.push({ name: 'srt port', ok: free, detail: `udp ${config.srt.host}:${config.srt.port} ${free ? 'is free' : 'is in use'}`, fix: free ? undefined : 'stop what listens there, or pass --srt-port N' })
  }
  try {
    mkdirSync(config.dataDir, { recursive: true })
    accessSync(config.dataDir, constants.W_OK)
    checks.push({ name: 'data dir', ok: true, detail: `${config.dataDir} is writable` })
  } catch (err) {
    checks.push({ name: 'data dir', ok: false, detail: `${config.dataDir}: ${describeError(err)}`, fix: 'pass --data-dir DIR with a writable directory' })
  }
  return checks
}

/** Format checks as lines for a terminal. */
export function formatChecks(checks: Check[]): string {
  return checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(10)} ${c.detail}${!c.ok && c.fix ? `\n     fix: ${c.fix}` : ''}`).join('\n')
}
