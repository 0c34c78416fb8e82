// @ts-check
/**
 * The processes of bench/failover: the streamd origin child (failover-origin-child.mjs)
 * with its stream of switch records, and the two FFmpeg publishers (primary over RTMP,
 * backup over SRT or RTMP) that the bench kills with SIGKILL, as a crashed encoder or
 * a pulled cable would go. Every child is spawned through procs.mjs's tracker and
 * stopped by its pid.
 */
import { createInterface } from 'node:readline'
import { readyLine, spawnTracked, stopProc, tail } from './procs.mjs'

/**
 * @typedef {object} OriginChild
 * @property {number} http
 * @property {number} rtmp
 * @property {number} srt
 * @property {number} pid
 * @property {any} config the child's hls, redundancy, slate and ladder settings
 * @property {any[]} lines every JSON line after the ready line (on-air and switch records), in order
 * @property {() => string} stderr
 * @property {() => Promise<void>} stop
 */

/**
 * Start the origin child with config `overrides` for stream `name`.
 * @param {object} overrides
 * @param {string} name
 * @returns {Promise<OriginChild>}
 */
export async function startFailoverOrigin(overrides, name) {
  const script = new URL('./failover-origin-child.mjs', import.meta.url).pathname
  const proc = spawnTracked(process.execPath, [script, JSON.stringify(overrides), name])
  const stderr = tail(proc.stderr, 16_000)
  const ready = await readyLine(proc, 'streamd origin', 30_000)
  /** @type {any[]} */
  const lines = []
  createInterface({ input: proc.stdout }).on('line', (line) => {
    try { lines.push(JSON.parse(line)) } catch { /* not ours */ }
  })
  return { http: ready.http, rtmp: ready.rtmp, srt: ready.srt, config: { hls: ready.hls, redundancy: ready.redundancy, slate: ready.slate, ladder: ready.ladder }, pid: /** @type {number} */ (proc.pid), lines, stderr, stop: () => stopProc(proc, 10_000) }
}

/**
 * @typedef {object} SourceSettings
 * @property {number} width
 * @property {number} height
 * @property {number} fps
 * @property {number} gopS key frame interval, seconds
 */

/**
 * FFmpeg arguments of one encoder: the test pattern and a tone, H.264 + AAC at the
 * settings a live encoder would use. Both inputs get the same settings (only the
 * tone differs), as two encoders of one production would be.
 * @param {SourceSettings} s
 * @param {number} toneHz
 */
export function encoderArgs(s, toneHz) {
  const gop = String(Math.max(1, Math.round(s.gopS * s.fps)))
  return ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re',
    '-f', 'lavfi', '-i', `testsrc2=size=${s.width}x${s.height}:rate=${s.fps}`,
    '-f', 'lavfi', '-i', `sine=frequency=${toneHz}:sample_rate=48000`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    '-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-b:v', '1000k',
    '-c:a', 'aac', '-b:a', '96k', '-ar', '48000', '-ac', '2']
}

/**
 * @typedef {object} Publisher
 * @property {'primary' | 'backup'} role
 * @property {number} pid
 * @property {number} startedAt Date.now() at spawn
 * @property {() => (number | string | undefined)} exited exit code or signal, once it exited
 * @property {() => string} stderr
 * @property {() => Promise<void>} kill SIGKILL by pid, and wait for it
 */

/**
 * Publish one input of stream `name`: the primary over RTMP; the backup over `backupProtocol`.
 * @param {string} ffmpeg
 * @param {'primary' | 'backup'} role
 * @param {{ name: string, rtmp: number, srt: number, backupProtocol: 'rtmp' | 'srt', source: SourceSettings }} o
 * @returns {Publisher}
 */
export function startPublisher(ffmpeg, role, o) {
  const args = encoderArgs(o.source, role === 'primary' ? 440 : 880)
  if (role === 'backup' && o.backupProtocol === 'srt') {
    // FFmpeg's libsrt takes latency in microseconds.
    args.push('-f', 'mpegts', `srt://127.0.0.1:${o.srt}?streamid=publish:${o.name}:open:backup&latency=120000`)
  } else {
    args.push('-f', 'flv', `rtmp://127.0.0.1:${o.rtmp}/live/${o.name}${role === 'backup' ? '?role=backup' : ''}`)
  }
  // SIGKILL: the encoder dies without a word (no RTMP deleteStream, no SRT shutdown).
  const proc = spawnTracked(ffmpeg, args, { signal: 'SIGKILL' })
  proc.stdin.end()
  proc.stdout.resume()
  const stderr = tail(proc.stderr, 4000)
  /** @type {number | string | undefined} */
  let exit
  proc.on('exit', (code, sig) => { exit = code ?? sig ?? undefined })
  return { role, pid: /** @type {number} */ (proc.pid), startedAt: Date.now(), exited: () => exit, stderr, kill: () => stopProc(proc, 2000) }
}
