/**
 * The processes of one bench/latency config: a streamd origin child, FFmpeg
 * publishers, nginx serving FFmpeg's HLS output, and Debian's Chromium. Every
 * child is started here and stopped by its pid (Chromium by its own process
 * group, which playwright creates for it); killAllSync() is the SIGINT path.
 *
 * Children are spawned here, unpinned (pinning them to one core, as the serving
 * bench does, would distort a latency measurement), and tracked for SIGINT.
 *
 * nginx gets its own config here rather than servers.mjs's startNginx: live HLS
 * needs CORS, `no-store` playlists (nginx's Last-Modified has 1 s resolution, so
 * a revalidated playlist could come back 304 and stale) and no open_file_cache.
 */
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { spawn } from 'node:child_process'
import { childPids, cpuSeconds, freePort, readyLine, treePids } from './serve-procs.mjs'

export { treePids }

/** Every child started here and not yet seen exit: pid → { proc, stopSignal }. */
const live = new Map()

/** Spawn `cmd args` (pipes on all three fds) and track it until it exits. */
function spawnTracked(cmd, args, stopSignal = 'SIGTERM') {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  live.set(proc.pid, { proc, stopSignal })
  proc.on('exit', () => live.delete(proc.pid))
  proc.on('error', () => live.delete(proc.pid))
  return proc
}

/** Stop one child by pid and wait for it; SIGKILL after `graceMs`. */
export async function stopProc(proc, graceMs = 5000) {
  const entry = live.get(proc.pid)
  if (!entry) return
  const exited = new Promise((resolve) => proc.once('exit', resolve))
  try { process.kill(proc.pid, entry.stopSignal) } catch { /* already gone */ }
  const timer = setTimeout(() => { try { process.kill(proc.pid, 'SIGKILL') } catch { /* gone */ } }, graceMs)
  await exited
  clearTimeout(timer)
}

/** Stop every tracked child still running, by pid. */
export async function stopAllProcs() {
  await Promise.all([...live.values()].map(({ proc }) => stopProc(proc)))
}

/** Synchronous last resort (exit/SIGINT): signal every tracked child and browser group, by pid. */
export function killAllSync() {
  for (const [pid, { stopSignal }] of live) {
    try { process.kill(pid, stopSignal) } catch { /* gone */ }
  }
  killBrowsersSync()
}

/** Flags that keep a headless Chromium quiet and able to autoplay, unthrottled (as test/helpers/browser.ts). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  '--mute-audio',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
]

/** Debian's Chromium: CHROMIUM_PATH, else /usr/bin/chromium. Never a downloaded browser. */
export function chromiumPath() {
  const p = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
  try {
    accessSync(p, constants.X_OK)
  } catch {
    throw new Error(`Chromium not found at ${p}: apt-get install -y chromium (or set CHROMIUM_PATH)`)
  }
  return p
}

/** Keep the last `max` characters a stream printed. */
function tail(stream, max = 8000) {
  let text = ''
  stream.setEncoding('utf8').on('data', (d) => { text = (text + d).slice(-max) })
  return () => text
}

/**
 * A streamd Origin from dist/ in its own process, HTTP and RTMP on 127.0.0.1.
 * Resolves with { http, rtmp, pid, stderr(), stop() }.
 */
export async function startOriginChild(overrides) {
  const script = new URL('./latency-origin-child.mjs', import.meta.url).pathname
  const proc = spawnTracked(process.execPath, [script, JSON.stringify(overrides)])
  const stderr = tail(proc.stderr)
  const ready = await readyLine(proc, 'streamd origin')
  return { ...ready, pid: proc.pid, stderr, stop: () => stopProc(proc) }
}

/** An FFmpeg child (publisher or HLS writer); stop() signals its pid and waits. */
export function startFfmpeg(ffmpeg, args, name) {
  const proc = spawnTracked(ffmpeg, args)
  proc.stdin.end()
  proc.stdout.resume()
  const stderr = tail(proc.stderr)
  let exit
  proc.on('exit', (code, sig) => { exit = code ?? sig })
  return { name, pid: proc.pid, stderr, exited: () => exit, stop: () => stopProc(proc, 3000) }
}

function nginxConf(prefix, root, port) {
  return `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_timeout 65;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  types {
    application/vnd.apple.mpegurl m3u8;
    video/iso.segment m4s;
    video/mp4 mp4;
    video/mp2t ts;
  }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    add_header Access-Control-Allow-Origin * always;
    location ~ \\.m3u8$ {
      add_header Access-Control-Allow-Origin * always;
      add_header Cache-Control no-store always;
      etag off;
      if_modified_since off;
    }
  }
}
`
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** nginx (one worker, loopback) serving `root`; the master is our child, stopped by its pid. */
export async function startHlsNginx(prefix, root) {
  mkdirSync(prefix, { recursive: true })
  const port = await freePort()
  const conf = join(prefix, 'nginx.conf')
  writeFileSync(conf, nginxConf(prefix, root, port))
  const proc = spawnTracked('nginx', ['-c', conf, '-p', prefix, '-g', 'daemon off;'])
  const stderr = tail(proc.stderr)
  proc.stdout.resume()
  let exited = false
  proc.on('exit', () => { exited = true })
  for (let i = 0; i < 200; i++) {
    if (exited) throw new Error(`nginx exited at start: ${stderr()}`)
    if (childPids(proc.pid).length > 0) return { port, pid: proc.pid, stderr, stop: () => stopProc(proc) }
    await sleep(50)
  }
  await stopProc(proc)
  throw new Error(`nginx started no worker: ${stderr()}`)
}

/** Process groups of browsers we launched, for the synchronous SIGINT path. */
const browserGroups = new Set()

/**
 * Headless Debian Chromium through playwright's launchServer, so its pid is
 * ours to stop; resolves with { browser, pid, version, close() }.
 */
export async function launchBrowser() {
  const server = await chromium.launchServer({
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_ARGS,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    timeout: 30_000,
  })
  const pid = server.process().pid
  browserGroups.add(pid)
  const browser = await chromium.connect(server.wsEndpoint())
  const close = async () => {
    await browser.close().catch(() => undefined)
    await Promise.race([server.close().catch(() => undefined), sleep(5000)])
    // playwright spawns Chromium detached: its pid is also its process group.
    try { process.kill(-pid, 'SIGKILL') } catch { /* already gone */ }
    browserGroups.delete(pid)
  }
  return { browser, pid, version: browser.version(), close }
}

/** SIGINT/exit path: kill every browser group we launched, synchronously. */
export function killBrowsersSync() {
  for (const pid of browserGroups) {
    try { process.kill(-pid, 'SIGKILL') } catch { /* gone */ }
  }
  browserGroups.clear()
}

/** CPU seconds per pid for the trees under `roots`; vanished pids are skipped. */
export function cpuSnapshot(roots) {
  const snap = new Map()
  for (const root of roots) {
    for (const pid of treePids(root)) {
      try { snap.set(pid, cpuSeconds(pid)) } catch { /* exited */ }
    }
  }
  return snap
}

/** CPU seconds used between two snapshots (pids new in `after` count from zero). */
export function cpuBetween(before, after) {
  let s = 0
  for (const [pid, c] of after) s += c - (before.get(pid) ?? 0)
  return s
}
