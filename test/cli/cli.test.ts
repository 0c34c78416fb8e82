/**
 * The `streamd` command as a user runs it: bin/streamd in a child process.
 */
import t from 'tap'
import { spawn, execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { get, waitFor } from '../helpers/origin.js'
import { freePort } from '../helpers/ports.js'
import { tempDirSync } from '../helpers/temp-dir.js'

const run = promisify(execFile)
// Run as a user does (shebang), not as `node BIN`: tap rewrites node children's arguments.
const BIN = fileURLToPath(new URL('../../bin/streamd', import.meta.url))

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(BIN, args, { timeout: 30_000 })
    return { code: 0, stdout, stderr }
  } catch (err: any) {
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }
  }
}

t.test('help lists the commands', async (t) => {
  const r = await cli(['--help'])
  t.equal(r.code, 0)
  t.match(r.stdout, /serve/)
  t.match(r.stdout, /doctor/)
  t.match(r.stdout, /keys/)
})

t.test('bad flags and config are refused with the key, value and what is allowed', async (t) => {
  const port = await cli(['serve', '--http-port', 'abc'])
  t.not(port.code, 0)
  t.match(port.stderr, /--http-port.*expected a port number from 0 to 65535/)
  const dir = tempDirSync(t, 'streamd-cli-')
  const cfg = join(dir, 'bad.json')
  writeFileSync(cfg, JSON.stringify({ hls: { partTarget: 'fast' } }))
  const bad = await cli(['serve', '--config', cfg])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /streamd: config: hls\.partTarget is "fast"; expected a number from 0\.1 to 2/)
  const missing = await cli(['serve', '--config', join(dir, 'nope.json')])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /cannot read .*nope\.json/)
})

t.test('doctor reports FFmpeg, libx264, libsrt, ports and data dir', async (t) => {
  const dir = tempDirSync(t, 'streamd-doctor-')
  const cfg = join(dir, 'c.json')
  writeFileSync(cfg, JSON.stringify({ http: { host: '127.0.0.1', port: await freePort() }, rtmp: { host: '127.0.0.1', port: await freePort() }, srt: { host: '127.0.0.1', port: await freePort() }, dataDir: join(dir, 'data') }))
  const r = await cli(['doctor', '--config', cfg])
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.match(r.stdout, /ok\s+ffmpeg\s+\/\S+ffmpeg \(found via \w+\): ffmpeg version/)
  t.match(r.stdout, /ok\s+libx264/)
  t.match(r.stdout, /ok\s+libsrt/)
  t.match(r.stdout, /ok\s+srt\s+SRT: built-in listener \(protocol v5\b.*\), FFmpeg libsrt: yes/)
  t.match(r.stdout, /ok\s+srt port\s+udp 127\.0\.0\.1:\d+ is free/)
  t.match(r.stdout, /ok\s+http port/)
  t.match(r.stdout, /ok\s+data dir/)
  const broken = await run(BIN, ['doctor', '--config', cfg], { env: { ...process.env, STREAMD_FFMPEG: '/nonexistent/ffmpeg' } }).catch((e) => e)
  t.equal(broken.code, 1)
  t.match(broken.stdout, /FAIL ffmpeg\s+STREAMD_FFMPEG=\/nonexistent\/ffmpeg is not an executable file\n\s+fix: apt-get install -y ffmpeg/)
})

t.test('serve --demo produces a live stream and stops cleanly on SIGTERM', async (t) => {
  const http = await freePort()
  const rtmp = await freePort()
  // Publishing is closed by default; --demo opens it to loopback, and the key store lives in the data dir.
  const dataDir = tempDirSync(t, 'streamd-demo-')
  const child = spawn(BIN, ['serve', '--demo', '--http-port', String(http), '--rtmp-port', String(rtmp), '--data-dir', dataDir, '--srt-port', String(await freePort())], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { out += d })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const text = await waitFor(async () => {
    const r = await get(`http://127.0.0.1:${http}/live/demo/index.m3u8`).catch(() => undefined)
    return r?.status === 200 ? r.text : undefined
  }, 30_000, 'the demo stream')
  t.match(text, /RESOLUTION=1280x720/)
  const page = await get(`http://127.0.0.1:${http}/`)
  t.match(page.text, /\/live\/demo\/index\.m3u8/, 'the page lists the demo')
  t.match(page.text, /\/static\/hls\.min\.js/, 'with hls.js served locally')
  t.equal((await get(`http://127.0.0.1:${http}/static/hls.min.js`)).status, 200)
  t.match(out, /"msg":"publish accepted"/, 'JSON logs when stdout is not a terminal')
  t.match(out, /publishing without a key is allowed from this machine \(loopback\) only/)
  t.ok(existsSync(join(dataDir, 'streamd.db')), 'the key store opened in --data-dir')
  const demoPids = (await run('pgrep', ['-P', String(child.pid)]).catch(() => ({ stdout: '' }))).stdout.trim().split('\n').filter(Boolean).map(Number)
  t.ok(demoPids.length >= 2, 'demo publisher and worker run as children')
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'exit code 0 after SIGTERM')
  await new Promise((r) => setTimeout(r, 300))
  for (const pid of demoPids) {
    let alive = true
    try { process.kill(pid, 0) } catch { alive = false }
    t.notOk(alive, `child ${pid} stopped`)
  }
})
