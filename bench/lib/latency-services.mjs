/**
 * The services of one bench/latency config: a streamd origin child, FFmpeg
 * publishers, nginx serving FFmpeg's HLS output, and Debian's Chromium. Every
 * child is spawned through procs.mjs's tracker, unpinned (pinning them to one
 * core, as the serving bench does, would distort a latency measurement), and
 * stopped by its pid; Chromium by its own process group, which playwright
 * creates for it and the tracker kills on SIGINT.
 *
 * nginx gets its own config here rather than serve-servers.mjs's startNginx: live
 * HLS needs CORS, `no-store` playlists (nginx's Last-Modified has 1 s resolution,
 * so a revalidated playlist could come back 304 and stale) and no open_file_cache.
 */
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { childPids, freePort, readyLine, spawnTracked, stopProc, tail, trackGroup, untrackGroup } from './procs.mjs'

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

/**
 * A streamd Origin from dist/ in its own process, HTTP and RTMP on 127.0.0.1.
 * Resolves with { http, rtmp, pid, stderr(), stop() }.
 */
export async function startOriginChild(overrides) {
  const script = new URL('./latency-origin-child.mjs', import.meta.url).pathname
  const proc = spawnTracked(process.execPath, [script, JSON.stringify(overrides)])
  const stderr = tail(proc.stderr, 8000)
  const ready = await readyLine(proc, 'streamd origin')
  return { ...ready, pid: proc.pid, stderr, stop: () => stopProc(proc) }
}

/** An FFmpeg child (publisher or HLS writer); stop() signals its pid and waits. */
export function startFfmpeg(ffmpeg, args, name) {
  const proc = spawnTracked(ffmpeg, args)
  proc.stdin.end()
  proc.stdout.resume()
  const stderr = tail(proc.stderr, 8000)
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
  const stderr = tail(proc.stderr, 8000)
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
  if (pid === undefined) throw new Error('Chromium did not start (no pid)')
  trackGroup(pid)
  const browser = await chromium.connect(server.wsEndpoint())
  const close = async () => {
    await browser.close().catch(() => undefined)
    await Promise.race([server.close().catch(() => undefined), sleep(5000)])
    // playwright spawns Chromium detached: its pid is also its process group.
    try { process.kill(-pid, 'SIGKILL') } catch { /* already gone */ }
    untrackGroup(pid)
  }
  return { browser, pid, version: browser.version(), close }
}
