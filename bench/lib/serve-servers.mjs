/**
 * The three servers under test. Each start function returns
 * { name, port, pids(): number[], stop(): Promise<void> }, with every process
 * pinned to the server core; pids() lists the processes whose CPU is counted.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { childPids, freePort, readyLine, spawnTracked, stopProc } from './procs.mjs'

const here = dirname(fileURLToPath(import.meta.url))

async function startNodeChild(name, cpu, script, args, env) {
  const proc = spawnTracked(process.execPath, [...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean), join(here, script), ...args], { cpu, env: env ? { ...process.env, ...env } : undefined })
  const { port } = await readyLine(proc, name)
  return { name, port, pids: () => [proc.pid], stop: () => stopProc(proc) }
}

/**
 * streamd's real HttpServer over a RenditionStore filled from the manifest;
 * `dist` (optional) is another compiled tree to measure, e.g. a patched copy;
 * `http10`: behind the HTTP/1.0 front (same process, so its CPU is counted).
 */
export function startStreamd(cpu, manifestPath, dist, name = 'streamd', { http10 = false } = {}) {
  const env = { ...(dist ? { BENCH_STREAMD_DIST: dist } : {}), ...(http10 ? { BENCH_STREAMD_HTTP10: '1' } : {}) }
  return startNodeChild(name, cpu, 'serve-streamd-child.mjs', [manifestPath], Object.keys(env).length ? env : undefined)
}

/** Bare uWebSockets.js serving each object's Buffer on its exact path. */
export function startUws(cpu, root, paths, mode = 'tryend') {
  return startNodeChild('uws', cpu, 'serve-uws-child.mjs', [root, mode, ...paths])
}

function nginxConf(prefix, root, port, openFileCache) {
  return `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events {
  worker_connections 4096;
  use epoll;
}
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 10000000;
${openFileCache ? '  open_file_cache max=1000 inactive=60s;\n  open_file_cache_valid 60s;\n' : ''}  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  types { video/iso.segment m4s; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { }
  }
}
`
}

async function waitFor(cond, ms, what) {
  const until = Date.now() + ms
  while (Date.now() < until) {
    const v = cond()
    if (v) return v
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/**
 * nginx, one worker, sendfile from the tmpfs `root`, own prefix/pid/logs under
 * `prefix`, run in the foreground as our child; stopped through the master's pid.
 * open_file_cache (on by default, as in a tuned static server) saves the open/fstat per request.
 */
export async function startNginx(cpu, prefix, root, { openFileCache = true, name = 'nginx' } = {}) {
  mkdirSync(prefix, { recursive: true })
  const port = await freePort()
  const conf = join(prefix, 'nginx.conf')
  writeFileSync(conf, nginxConf(prefix, root, port, openFileCache))
  const proc = spawnTracked('nginx', ['-c', conf, '-p', prefix, '-g', 'daemon off;'], { cpu })
  let stderr = ''
  proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d })
  proc.stdout.resume()
  let exited = false
  proc.on('exit', () => { exited = true })
  const master = await waitFor(() => {
    if (exited) throw new Error(`nginx exited at start: ${stderr}`)
    try { return Number(readFileSync(join(prefix, 'nginx.pid'), 'utf8').trim()) || undefined } catch { return undefined }
  }, 10_000, 'nginx pid file')
  if (master !== proc.pid) throw new Error(`nginx master pid ${master} is not our child ${proc.pid}`)
  await waitFor(() => childPids(master).length > 0, 10_000, 'nginx worker')
  return {
    name,
    port,
    pids: () => [master, ...childPids(master)],
    stop: () => stopProc(proc),
  }
}
