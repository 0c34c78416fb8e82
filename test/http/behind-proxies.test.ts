/// <reference lib="dom" />
/**
 * streamd behind Debian's nginx and Varnish, hls.js playing through each at once
 * with zero stalls: (a) nginx with nothing but `proxy_pass` and `proxy_cache`
 * (so HTTP/1.0 upstream) before an origin with `http.http10` on; (b) nginx with
 * the README's configuration; (c) Varnish with the README's VCL. One origin, one
 * publisher, one browser; the proxies run in the foreground from temporary
 * directories and are stopped by pid (no system service is used).
 */
import t, { type Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startOrigin, waitFor, get } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'
import { launchChromium } from '../helpers/browser.js'
import { freePort } from '../helpers/ports.js'
import { tempDirSync } from '../helpers/temp-dir.js'
import { watchLoopFreezes } from '../helpers/loop-freezes.js'
import { fmt, openPlayerPage, quantile, servePage, watchPlayback } from '../helpers/playback.js'
import { assertBlockingReload, assertSmoothPlayback } from '../helpers/playback-asserts.js'
import { hlsjsPageEnd, hlsjsPageStart } from '../helpers/hlsjs-pages.js'
import { takeBrowserTurn } from '../helpers/browser-turn.js'

// Browser tests take turns (test/helpers/browser-turn.ts).
await takeBrowserTurn(t)

const WATCH_SECONDS = 16
const README = join(dirname(fileURLToPath(import.meta.url)), '../../README.md')

/** The fenced block of `lang` in the README's "Behind nginx or Varnish" section. */
function readmeBlock(lang: string): string {
  const text = readFileSync(README, 'utf8')
  const section = text.slice(text.indexOf('## Behind nginx or Varnish'))
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section.slice(0, section.indexOf('\n## ', 3)))
  if (!m) throw new Error(`README: no \`\`\`${lang} block under "Behind nginx or Varnish"`)
  return m[1]!
}

/** The README's origin address and paths swapped for this test's. */
function adapt(block: string, originPort: number, listenPort: number, dir: string): string {
  const out = block
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${originPort}`)
    .replaceAll('.port = "8080"', `.port = "${originPort}"`)
    .replaceAll('/var/cache/nginx/streamd', join(dir, 'cache'))
    .replaceAll('listen 80;', `listen 127.0.0.1:${listenPort};`)
  if (out === block) throw new Error('README block: nothing to adapt (did its addresses change?)')
  return out
}

/** A foreground child stopped by its pid at teardown; rejects if it exits early. */
function startChild(t: Test, cmd: string, args: string[], what: string): { proc: ChildProcess; output: () => string } {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  proc.stdout!.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-4000) })
  proc.stderr!.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-4000) })
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null && proc.pid) process.kill(proc.pid, 'SIGTERM')
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
    if (proc.exitCode === null && proc.signalCode === null && proc.pid) process.kill(proc.pid, 'SIGKILL')
  })
  proc.once('exit', (code, signal) => { if (code !== 0 && signal === null) output += `\n${what} exited with ${code}` })
  return { proc, output: () => output }
}

/** nginx in the foreground with `httpBlock` inside a minimal `http {}` of its own temp paths. */
async function startNginx(t: Test, dir: string, port: number, httpBlock: string, name: string): Promise<string> {
  mkdirSync(join(dir, 'cache'), { recursive: true })
  const conf = join(dir, 'nginx.conf')
  // Workers run as root when we are root: the temp dirs are ours.
  writeFileSync(conf, `${process.getuid?.() === 0 ? 'user root root;\n' : ''}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp-body; proxy_temp_path ${dir}/tmp-proxy;
  fastcgi_temp_path ${dir}/tmp-fcgi; uwsgi_temp_path ${dir}/tmp-uwsgi; scgi_temp_path ${dir}/tmp-scgi;
${httpBlock}
}
`)
  const child = startChild(t, 'nginx', ['-c', conf, '-p', dir, '-g', 'daemon off;'], name)
  await waitFor(async () => (await get(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200, 15_000, `${name} answering`)
    .catch((err: Error) => { throw new Error(`${err.message}\n${child.output()}\n${readFileSync(join(dir, 'error.log'), 'utf8')}`) })
  return `http://127.0.0.1:${port}`
}

/** An hls.js page (the `/` page's settings) instrumented by the shared sampler. */
function playerPage(scriptOrigin: string, src: string): string {
  return `${hlsjsPageStart('streamd behind a proxy', scriptOrigin)}
hls.on(Hls.Events.MANIFEST_PARSED, () => { video.play().catch(() => {}) })
window.__e2eStart(video, () => ({ latency: Number.isFinite(hls.latency) && hls.latency > 0 ? hls.latency : null, targetLatency: hls.targetLatency }))
${hlsjsPageEnd(src)}`
}

t.test('hls.js plays through nginx (default proxy_pass; the README config) and Varnish (the README VCL)', async (t) => {
  const freezes = watchLoopFreezes(t)
  const dir = tempDirSync(t, 'behind-proxies-')
  const origin = await startOrigin(t, { http: { http10: true } })
  const publisher = startPublisher(`${origin.rtmp}/px`, { width: 640, height: 360, fps: 30, gop: 30 })
  t.teardown(() => publisher.stop())
  const [browser, nginxDefaultPort, nginxReadmePort, varnishPort] = await Promise.all([launchChromium(t), freePort(), freePort(), freePort()])

  // (a) What a default nginx cache does: HTTP/1.0 upstream (proxy_http_version's default).
  const nginxDefault = await startNginx(t, join(dir, 'nginx-default'), nginxDefaultPort, `  proxy_cache_path ${dir}/nginx-default/cache keys_zone=plain:8m;
  server {
    listen 127.0.0.1:${nginxDefaultPort};
    location / { proxy_pass http://127.0.0.1:${origin.httpPort}; proxy_cache plain; }
  }`, 'nginx (default proxy_pass)')
  // (b) The README's nginx configuration.
  const readmeDir = join(dir, 'nginx-readme')
  const nginxReadme = await startNginx(t, readmeDir, nginxReadmePort, adapt(readmeBlock('nginx'), origin.httpPort, nginxReadmePort, readmeDir), 'nginx (README)')
  // (c) Varnish with the README's VCL; no jail, so it runs as whoever we are.
  const vcl = join(dir, 'streamd.vcl')
  writeFileSync(vcl, adapt(readmeBlock('vcl'), origin.httpPort, varnishPort, dir))
  const varnish = startChild(t, 'varnishd', ['-F', '-j', 'none', '-a', `127.0.0.1:${varnishPort}`, '-f', vcl, '-n', join(dir, 'varnish'), '-s', 'malloc,64m', '-T', 'none'], 'varnishd')
  const varnishUrl = `http://127.0.0.1:${varnishPort}`
  await waitFor(async () => (await get(`${varnishUrl}/healthz`).catch(() => undefined))?.status === 200, 30_000, 'varnishd answering')
    .catch((err: Error) => { throw new Error(`${err.message}\n${varnish.output()}`) })

  const multivariant = `${origin.http}/live/px/index.m3u8`
  await waitFor(async () => {
    const r = await get(multivariant).catch(() => undefined)
    if (r?.status !== 200) return false
    const uri = r.text.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'))
    const media = uri ? await get(new URL(uri.trim(), multivariant).href).catch(() => undefined) : undefined
    return (media?.text.match(/^#EXTINF/gm)?.length ?? 0) >= 2
  }, 30_000, 'two segments (publisher stderr below)').catch((err: Error) => { throw new Error(`${err.message}\n${publisher.stderrText()}`) })

  const paths = { 'nginx (default proxy_pass, HTTP/1.0 upstream)': nginxDefault, 'nginx (README config)': nginxReadme, 'Varnish (README VCL)': varnishUrl }
  const sessions = await Promise.all(Object.entries(paths).map(async ([name, base]) => {
    // The page loads hls.js and every playlist and media request through the proxy.
    const site = await servePage(t, playerPage(base, `${base}/live/px/index.m3u8`))
    return { name, session: await openPlayerPage(browser, site.url) }
  }))
  const watched = await Promise.all(sessions.map(async ({ name, session }) => ({ name, session, ...(await watchPlayback(session, WATCH_SECONDS)) })))
  for (const { name, session, s, firstPlayingAt } of watched) {
    await t.test(`${name}: hls.js plays with zero stalls`, async (t) => {
      const samples = assertSmoothPlayback(t, s, firstPlayingAt, { minWallSeconds: WATCH_SECONDS - 2, freezes })
      // Blocking reloads must pass through the cache; whether hls.js then fetches parts or whole
      // segments depends on how far behind the edge it plays (a loaded box puts it further back).
      assertBlockingReload(t, session.requests, { player: `hls.js via ${name}`, min: 1 })
      t.ok(session.requests.withQueryParam('_HLS_msn').length >= 10, 'at least 10 blocking playlist reloads went through')
      const lat = samples.map((x) => x.latency).filter((v): v is number => v !== null)
      t.comment(`${name}: hls.js latency median ${fmt(quantile(lat, 0.5))} s, max ${fmt(Math.max(...lat))} s`)
      t.same(s.errors.filter((e) => e.fatal), [], 'no fatal player error')
    })
    await session.page.close()
  }
})
