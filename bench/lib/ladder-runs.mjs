/**
 * One measured run each of bench/ladder: streamd (an Origin child publishing
 * the test source over RTMP) and the single-process FFmpeg reference (split
 * filter, one encoder per rung in one process). Every child is spawned here
 * (through procs.mjs) and stopped by its pid; killAllSync() is the SIGINT path.
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
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PidSampler, deadline, exitOf, machineBusy, liveTimes, readyLine, spawnTracked, stopProc, tail } from './procs.mjs'

export { killAllSync, machineBusy, procTimes, stopProc } from './procs.mjs'

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

/**
 * streamd: an Origin child with `overrides`; FFmpeg publishes `src` over RTMP
 * (`-re`, `-readrate R`, or unpaced when `readrate` is 0: then, given `contentSeconds`,
 * the publisher's input stays open until the ladder has produced all of it). Resolves when the
 * pipeline has stopped, with CPU, timing and what every rendition's store got.
 */
export async function runStreamd({ ffmpeg, src, overrides, readrate, stream = 'bench', timeoutMs, contentSeconds = 0, lastSegment = 2 }) {
  const script = new URL('./ladder-origin-child.mjs', import.meta.url).pathname
  const child = spawnTracked(process.execPath, [script, JSON.stringify(overrides), stream])
  const childErr = tail(child.stderr, 1_000_000)
  const ready = await readyLine(child, 'streamd origin child')
  const sampler = new PidSampler()
  let plan
  let onProgress
  let fast
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
        else if (msg.type === 'progress') onProgress?.(msg)
      }
    })
    child.once('exit', (code, sig) => reject(new Error(`streamd origin child exited (${code ?? sig}) before the pipeline stopped\n${childErr().slice(-4000)}`)))
  })
  stopped.catch(() => {}) // handled below; avoid an unhandled rejection while the publisher runs

  const pace = readrate === 1 ? ['-re'] : readrate > 0 ? ['-readrate', String(readrate)] : []
  const url = `rtmp://127.0.0.1:${ready.rtmp}/live/${stream}`
  const origin0 = liveTimes(child.pid)
  const self0 = liveTimes()
  const busy0 = machineBusy()
  const t0 = Date.now()
  // Unpaced: the FLV goes in as fast as FFmpeg reads it, through its stdin, which stays open
  // (the session stays live) until every video rendition has the whole content or time is up.
  const held = readrate === 0 && contentSeconds > 0
  const input = held ? ['-f', 'flv', '-i', 'pipe:0'] : ['-nostdin', '-i', src]
  const pub = spawnTracked(ffmpeg, ['-hide_banner', '-loglevel', 'error', ...pace, ...input, '-c', 'copy', '-f', 'flv', url])
  if (held) {
    createReadStream(src).pipe(pub.stdin, { end: false })
    const release = setTimeout(() => pub.stdin.end(), timeoutMs - 30_000)
    // The last segment completes only when the input ends (the decoder holds its last frames
    // until EOF): the speed is taken when every video rendition has all the segments before it.
    onProgress = (m) => {
      if (fast || m.video < contentSeconds - lastSegment - 0.5) return
      fast = { media: m.video, seconds: (m.at - t0) / 1000 }
      clearTimeout(release)
      pub.stdin.end()
    }
  } else {
    pub.stdin.end()
  }
  pub.stdout.resume()
  const pubErr = tail(pub.stderr)
  const cancelPub = deadline(pub, timeoutMs, 'publisher', 'bench/ladder')
  const pubExit = await exitOf(pub)
  cancelPub()
  const pubEnd = Date.now()
  const self1 = liveTimes()
  let summary
  const bound = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL') } catch { /* gone */ } }, 30_000)
  try {
    summary = await stopped
  } finally {
    clearTimeout(bound)
  }
  // Every worker is reaped once the pipeline has stopped: its CPU is in the Origin's cutime.
  const origin1 = liveTimes(child.pid)
  const busy1 = machineBusy()
  const self2 = liveTimes()
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
    // Unpaced: video media seconds in every rendition, and when (s from publish start).
    fast,
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
    const self0 = liveTimes()
    const busy0 = machineBusy()
    const t0 = performance.now()
    const proc = spawnTracked(ffmpeg, args)
    proc.stdin.end()
    proc.stdout.resume()
    const err = tail(proc.stderr)
    const cancel = deadline(proc, timeoutMs, 'reference ffmpeg', 'bench/ladder')
    const exit = await exitOf(proc)
    cancel()
    const wallSeconds = (performance.now() - t0) / 1000
    const self1 = liveTimes()
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
  const self0 = liveTimes()
  const busy0 = machineBusy()
  const t0 = performance.now()
  const proc = spawnTracked(ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe', ...Array(extraPipes).fill('pipe')] })
  proc.stdin.end()
  proc.stdout.resume()
  let bytes = 0
  for (let i = 0; i < extraPipes; i++) proc.stdio[3 + i]?.on('data', (d) => { bytes += d.length })
  const err = tail(proc.stderr)
  const cancel = deadline(proc, timeoutMs, 'ffmpeg', 'bench/ladder')
  const exit = await exitOf(proc)
  cancel()
  const wallSeconds = (performance.now() - t0) / 1000
  const self1 = liveTimes()
  const busy1 = machineBusy()
  const cpu = self1.children - self0.children
  return {
    exit: exit.code ?? exit.signal, stderr: err().trim(), wallSeconds, cpu, pipedBytes: bytes,
    drainCpu: self1.self - self0.self,
    otherBusy: (busy1 - busy0 - cpu - (self1.self - self0.self)) / wallSeconds,
  }
}
