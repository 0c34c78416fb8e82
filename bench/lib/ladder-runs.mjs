/**
 * One measured run each of bench/ladder: streamd (an Origin child publishing
 * the test source over RTMP) and the single-process FFmpeg reference (split
 * filter, one encoder per rung in one process). Every child is spawned here
 * and stopped by its pid; killAllSync() is the SIGINT path.
 *
 * CPU is exact rather than sampled: a process's cutime+cstime in /proc grows by
 * a child's whole CPU when the child is reaped. So
 * - streamd workers = the Origin child's cutime+cstime delta from publish to
 *   pipeline stopped (every FFmpeg worker, restarted ones too, is reaped by then),
 * - streamd's own Node CPU = the Origin child's utime+stime delta over the same span,
 * - the reference (and the publisher) = this process's cutime+cstime delta around
 *   it, as it is the only child of this process that exits in that span.
 * Per-pid samples of workerPids() every 250 ms are kept too, for the split by role.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Clock ticks per second of /proc/PID/stat times (getconf CLK_TCK). */
const CLK_TCK = 100

/** Every child started here and not yet seen exit: pid → { proc, signal }. */
const live = new Map()

function spawnTracked(cmd, args, signal = 'SIGTERM') {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  live.set(proc.pid, { proc, signal })
  const gone = () => live.delete(proc.pid)
  proc.on('exit', gone)
  proc.on('error', gone)
  return proc
}

/** Resolve when `proc` has exited (and been reaped): { code, signal }. */
function exitOf(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve({ code: proc.exitCode, signal: proc.signalCode })
    proc.once('exit', (code, signal) => resolve({ code, signal }))
  })
}

/** Stop one child by pid and wait; SIGKILL after `graceMs`. */
export async function stopProc(proc, graceMs = 5000) {
  const entry = live.get(proc.pid)
  if (!entry) return
  const exited = exitOf(proc)
  try { process.kill(proc.pid, entry.signal) } catch { /* gone */ }
  const timer = setTimeout(() => { try { process.kill(proc.pid, 'SIGKILL') } catch { /* gone */ } }, graceMs)
  await exited
  clearTimeout(timer)
}

/** Synchronous last resort (exit/SIGINT): signal every child still running, by pid. */
export function killAllSync() {
  for (const [pid] of live) try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
}

/** { self, children } CPU seconds of a process from /proc/PID/stat; undefined when gone. */
export function procTimes(pid = process.pid) {
  let text
  try { text = readFileSync(`/proc/${pid}/stat`, 'utf8') } catch { return undefined }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // After ')': f[0] is field 3 (state); utime 14, stime 15, cutime 16, cstime 17.
  return { self: (Number(f[11]) + Number(f[12])) / CLK_TCK, children: (Number(f[13]) + Number(f[14])) / CLK_TCK }
}

/** Resolve with the first stdout line of `proc` parsed as JSON; reject on exit or timeout. */
function readyLine(proc, what, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => fail(new Error(`${what}: not ready after ${timeoutMs} ms`)), timeoutMs)
    const onData = (d) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl < 0) return
      cleanup()
      try { resolve(JSON.parse(out.slice(0, nl))) } catch { reject(new Error(`${what}: bad ready line ${out.slice(0, nl)}`)) }
    }
    const onExit = (code, sig) => fail(new Error(`${what}: exited (${code ?? sig}) before ready`))
    const cleanup = () => {
      clearTimeout(timer)
      proc.stdout.off('data', onData)
      proc.off('exit', onExit)
    }
    const fail = (e) => { cleanup(); reject(e) }
    proc.stdout.setEncoding('utf8')
    proc.stdout.on('data', onData)
    proc.on('exit', onExit)
  })
}

/** Keep the last `max` characters a stream printed. */
function tail(stream, max = 16_000) {
  let text = ''
  stream.setEncoding('utf8').on('data', (d) => { text = (text + d).slice(-max) })
  return () => text
}

/** Kill `proc` after `ms` (a bound on every run); returns the cancel function. */
function deadline(proc, ms, what) {
  const timer = setTimeout(() => {
    process.stderr.write(`bench/ladder: ${what} still running after ${ms} ms; killing pid ${proc.pid}\n`)
    try { process.kill(proc.pid, 'SIGKILL') } catch { /* gone */ }
  }, ms)
  return () => clearTimeout(timer)
}

/**
 * The pids of workerPids() → utime+stime, last value read while each was alive.
 * Only for the split by role: the total comes from cutime, which misses nothing.
 */
class PidSampler {
  constructor() {
    this.byPid = new Map() // pid → { role, cpu }
    this.current = {}
    this.timer = setInterval(() => this.sample(), 250)
  }
  setPids(pids) {
    this.current = pids
    for (const [role, pid] of Object.entries(pids)) if (pid && !this.byPid.has(pid)) this.byPid.set(pid, { role, cpu: 0 })
    this.sample()
  }
  sample() {
    for (const [pid, e] of this.byPid) {
      const t = procTimes(pid)
      if (t) e.cpu = t.self
    }
  }
  stop() {
    clearInterval(this.timer)
    const byRole = {}
    for (const { role, cpu } of this.byPid.values()) byRole[role] = (byRole[role] ?? 0) + cpu
    return { byRole, processes: this.byPid.size }
  }
}

/** Warnings streamd logged, counted by message (restarts, drops, sheds all show here), and what FFmpeg said. */
function countWarnings(stderrText) {
  const counts = {}
  const ffmpegSaid = {}
  for (const line of stderrText.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const o = JSON.parse(line)
      if (o.level < 40) continue
      counts[o.msg] = (counts[o.msg] ?? 0) + 1
      if (o.ffmpeg) {
        const key = `${o.worker ?? o.rendition ?? '?'}: ${String(o.ffmpeg).replace(/0x[0-9a-f]+/g, '0x…')}`
        ffmpegSaid[key] = (ffmpegSaid[key] ?? 0) + 1
      }
    } catch { /* partial line */ }
  }
  return { counts, ffmpegSaid }
}

/** Busy CPU seconds of the whole machine (all cores, all but idle and iowait) from /proc/stat. */
export function machineBusy() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '))
  const v = line.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal (guest is inside user).
  return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / CLK_TCK
}

/**
 * streamd: an Origin child with `overrides`; FFmpeg publishes `src` over RTMP
 * (`-re`, `-readrate R`, or unpaced when `readrate` is 0). Resolves when the
 * pipeline has stopped, with CPU, timing and what every rendition's store got.
 */
export async function runStreamd({ ffmpeg, src, overrides, readrate, stream = 'bench', timeoutMs }) {
  const script = new URL('./ladder-origin-child.mjs', import.meta.url).pathname
  const child = spawnTracked(process.execPath, [script, JSON.stringify(overrides), stream])
  const childErr = tail(child.stderr, 1_000_000)
  const ready = await readyLine(child, 'streamd origin child')
  const sampler = new PidSampler()
  let plan
  const stopped = new Promise((resolve, reject) => {
    let buf = ''
    child.stdout.on('data', (d) => {
      buf += d
      let nl
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        let msg
        try { msg = JSON.parse(line) } catch { continue }
        if (msg.type === 'pids') sampler.setPids(msg.pids)
        else if (msg.type === 'plan') plan = msg.plan
        else if (msg.type === 'stopped') resolve(msg)
      }
    })
    child.once('exit', (code, sig) => reject(new Error(`streamd origin child exited (${code ?? sig}) before the pipeline stopped\n${childErr().slice(-4000)}`)))
  })
  stopped.catch(() => {}) // handled below; avoid an unhandled rejection while the publisher runs

  const pace = readrate === 1 ? ['-re'] : readrate > 0 ? ['-readrate', String(readrate)] : []
  const url = `rtmp://127.0.0.1:${ready.rtmp}/live/${stream}`
  const origin0 = procTimes(child.pid)
  const self0 = procTimes()
  const busy0 = machineBusy()
  const t0 = Date.now()
  const pub = spawnTracked(ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', ...pace, '-i', src, '-c', 'copy', '-f', 'flv', url])
  pub.stdin.end()
  pub.stdout.resume()
  const pubErr = tail(pub.stderr)
  const cancelPub = deadline(pub, timeoutMs, 'publisher')
  const pubExit = await exitOf(pub)
  cancelPub()
  const pubEnd = Date.now()
  const self1 = procTimes()
  let summary
  const bound = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL') } catch { /* gone */ } }, 30_000)
  try {
    summary = await stopped
  } finally {
    clearTimeout(bound)
  }
  // Every worker is reaped once the pipeline has stopped: its CPU is in the Origin's cutime.
  const origin1 = procTimes(child.pid)
  const busy1 = machineBusy()
  const self2 = procTimes()
  const roles = sampler.stop()
  await stopProc(child)
  const wallSeconds = (summary.at - t0) / 1000
  const workersCpu = origin1.children - origin0.children
  const nodeCpu = origin1.self - origin0.self
  const publisherCpu = self1.children - self0.children
  const warnings = countWarnings(childErr())
  return {
    kind: 'streamd',
    readrate,
    plan,
    publisherExit: pubExit.code ?? pubExit.signal,
    publisherStderr: pubErr().trim(),
    publisherCpu,
    wallSeconds,
    publishSeconds: (pubEnd - t0) / 1000,
    lastSegmentSeconds: Math.max(...summary.renditions.map((r) => r.lastSegmentAt ?? 0)) / 1000 - t0 / 1000,
    workersCpu,
    nodeCpu,
    // Cores busy with anything but this run (other users of the machine), averaged over the run.
    otherBusy: (busy1 - busy0 - workersCpu - nodeCpu - publisherCpu - (self2.self - self0.self)) / wallSeconds,
    roles: roles.byRole,
    workerProcesses: roles.processes,
    renditions: summary.renditions,
    dropped: summary.dropped,
    metrics: summary.metrics,
    warnings: warnings.counts,
    ffmpegSaid: warnings.ffmpegSaid,
  }
}

/** Duration (s) of a media file's first stream by ffprobe; NaN when unreadable. */
function probeDuration(ffprobe, file) {
  return new Promise((resolve) => {
    const p = spawn(ffprobe, ['-v', 'error', '-show_entries', 'stream=duration:format=duration', '-of', 'json', file], { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    p.stdout.setEncoding('utf8').on('data', (d) => { out += d })
    p.on('exit', () => {
      try {
        const j = JSON.parse(out)
        resolve(Number(j.streams?.[0]?.duration ?? j.format?.duration))
      } catch { resolve(NaN) }
    })
  })
}

/**
 * The reference: one FFmpeg reads `src` (`-re` when `realtime`), decodes once,
 * runs `graph` (streamd's own decoder graph: fps, split, scale per rung) and
 * encodes every rung in the same process with `outputs` (per output: map label,
 * encoder options, name), audio copied; fMP4 files in a temp dir, probed after.
 */
export async function runReference({ ffmpeg, ffprobe, src, graph, outputs, fmp4Flags, realtime, timeoutMs }) {
  const dir = mkdtempSync(join(tmpdir(), 'streamd-bench-ladder-'))
  try {
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'warning', ...(realtime ? ['-re'] : []), '-i', src, '-filter_complex', graph]
    const files = []
    for (const o of outputs) {
      const file = join(dir, `${o.name}.mp4`)
      files.push({ name: o.name, file })
      args.push('-map', o.map, ...o.options, ...fmp4Flags, file)
    }
    const self0 = procTimes()
    const busy0 = machineBusy()
    const t0 = performance.now()
    const proc = spawnTracked(ffmpeg, args)
    proc.stdin.end()
    proc.stdout.resume()
    const err = tail(proc.stderr)
    const cancel = deadline(proc, timeoutMs, 'reference ffmpeg')
    const exit = await exitOf(proc)
    cancel()
    const wallSeconds = (performance.now() - t0) / 1000
    const self1 = procTimes()
    const busy1 = machineBusy()
    const renditions = []
    for (const { name, file } of files) {
      renditions.push({ name, mediaSeconds: await probeDuration(ffprobe, file), bytes: statSync(file, { throwIfNoEntry: false })?.size ?? 0 })
    }
    return {
      kind: 'reference',
      realtime,
      exit: exit.code ?? exit.signal,
      stderr: err().trim(),
      wallSeconds,
      cpu: self1.children - self0.children,
      otherBusy: (busy1 - busy0 - (self1.children - self0.children) - (self1.self - self0.self)) / wallSeconds,
      renditions,
      args,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * One FFmpeg run for attribution (bench/lib/ladder-attribution.mjs): `args` as
 * given, `extraPipes` output pipes on fds 3, 4, ... drained here as fast as they
 * come (as streamd's relay reads the decoder). CPU from this process's cutime.
 */
export async function runFfmpegCpu(ffmpeg, args, { extraPipes = 0, timeoutMs = 600_000 } = {}) {
  const self0 = procTimes()
  const busy0 = machineBusy()
  const t0 = performance.now()
  const proc = spawn(ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe', ...Array(extraPipes).fill('pipe')] })
  live.set(proc.pid, { proc, signal: 'SIGTERM' })
  proc.on('exit', () => live.delete(proc.pid))
  proc.stdin.end()
  proc.stdout.resume()
  let bytes = 0
  for (let i = 0; i < extraPipes; i++) proc.stdio[3 + i].on('data', (d) => { bytes += d.length })
  const err = tail(proc.stderr)
  const cancel = deadline(proc, timeoutMs, 'ffmpeg')
  const exit = await exitOf(proc)
  cancel()
  const wallSeconds = (performance.now() - t0) / 1000
  const self1 = procTimes()
  const busy1 = machineBusy()
  const cpu = self1.children - self0.children
  return {
    exit: exit.code ?? exit.signal, stderr: err().trim(), wallSeconds, cpu, pipedBytes: bytes,
    drainCpu: self1.self - self0.self,
    otherBusy: (busy1 - busy0 - cpu - (self1.self - self0.self)) / wallSeconds,
  }
}
