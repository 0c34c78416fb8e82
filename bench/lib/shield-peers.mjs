/**
 * The shields under test in bench/shield, each in front of the stub origin and
 * pinned to the server core: streamd shield, nginx (proxy_cache with
 * proxy_cache_lock on, one worker) and Varnish (streaming, do_stream). Each start
 * returns { name, port, pids(), stop() }; processes are stopped by pid.
 */
import { mkdirSync, writeFileSync, existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { childPids, freePort, spawnTracked, stopProc } from './procs.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

async function waitHttp(port, path, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.status < 500, () => false)
    if (ok) return
    if (Date.now() > deadline) throw new Error(`${what} did not answer on ${port}: ${await fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.status + ' ' + r.statusText, (e) => e.cause?.code ?? e.message)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** streamd shield (bin/streamd from dist/). */
export async function startStreamdShield(cpu, upstreamPort, dir) {
  mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const conf = join(dir, 'streamd.json')
  writeFileSync(conf, JSON.stringify({ http: { host: '127.0.0.1', port }, log: { level: 'warn' }, shield: { upstreams: [`http://127.0.0.1:${upstreamPort}`], maxWaiters: 100_000 } }))
  const proc = spawnTracked(process.execPath, [join(root, 'bin', 'streamd'), 'shield', '--config', conf], { cpu })
  proc.stdout.resume()
  proc.stderr.resume()
  await waitHttp(port, '/healthz', 'streamd shield')
  return { name: 'streamd', port, pids: () => [proc.pid], stop: () => stopProc(proc) }
}

/** nginx: proxy_cache + proxy_cache_lock on (waiters poll every 500 ms until the fill completes). */
export async function startNginxShield(cpu, upstreamPort, dir) {
  mkdirSync(join(dir, 'cache'), { recursive: true })
  mkdirSync(join(dir, 'logs'), { recursive: true })
  const port = await freePort()
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, `${process.getuid?.() === 0 ? 'user root root;\n' : ''}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp-body; proxy_temp_path ${dir}/tmp-proxy;
  fastcgi_temp_path ${dir}/tmp-fcgi; uwsgi_temp_path ${dir}/tmp-uwsgi; scgi_temp_path ${dir}/tmp-scgi;
  proxy_cache_path ${dir}/cache keys_zone=c:16m max_size=1g inactive=10m use_temp_path=off;
  upstream origin { server 127.0.0.1:${upstreamPort}; keepalive 32; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache c;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 30s;
      proxy_cache_lock_age 30s;
      proxy_cache_valid 200 60s;
    }
  }
}
`)
  const proc = spawnTracked('nginx', ['-c', conf, '-p', dir, '-g', 'daemon off;'], { cpu })
  proc.stdout.resume()
  proc.stderr.resume()
  await waitHttp(port, '/healthz', 'nginx')
  return { name: 'nginx', port, pids: () => [proc.pid, ...childPids(proc.pid)], stop: () => stopProc(proc) }
}

/** Varnish with streaming (do_stream), request coalescing on its waiting list; no jail. */
export async function startVarnishShield(cpu, upstreamPort, dir) {
  if (!existsSync('/usr/sbin/varnishd')) return undefined
  mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const vcl = join(dir, 'shield.vcl')
  writeFileSync(vcl, `vcl 4.1;
backend default { .host = "127.0.0.1"; .port = "${upstreamPort}"; }
sub vcl_backend_response {
  set beresp.do_stream = true;
  set beresp.ttl = 60s;
}
`)
  const proc = spawnTracked('/usr/sbin/varnishd', ['-F', '-j', 'none', '-a', `127.0.0.1:${port}`, '-f', vcl, '-n', join(dir, 'work'), '-s', 'malloc,256m', '-T', 'none', '-p', 'thread_pool_min=100', '-p', 'listen_depth=4096'], { cpu })
  let stderr = ''
  proc.stdout.setEncoding('utf8').on('data', (d) => { stderr += d })
  proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d })
  await waitHttp(port, '/healthz', 'varnishd').catch((e) => { throw new Error(`${e.message}\n${stderr}`) })
  const pids = () => {
    const out = [proc.pid]
    for (let i = 0; i < out.length; i++) out.push(...childPids(out[i]))
    return out
  }
  return { name: 'varnish', port, pids, stop: () => stopProc(proc) }
}

/** Read how many requests the stub origin got for `path`. */
export async function stubCount(stubPort, path) {
  const r = await fetch(`http://127.0.0.1:${stubPort}/__count?p=${encodeURIComponent(path)}`)
  return (await r.json()).count
}
