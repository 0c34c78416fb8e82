/**
 * `streamd shield` as a user runs it: bin/streamd in a child process in front
 * of a stub origin; bad flags refused clearly.
 */
import t from 'tap'
import { spawn, execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { waitFor } from '../helpers/origin.js'
import { freePort } from '../helpers/ports.js'
import { startStubOrigin } from '../helpers/stub-origin.js'
import { shieldGet } from '../helpers/shield-client.js'

const run = promisify(execFile)
const BIN = fileURLToPath(new URL('../../bin/streamd', import.meta.url))

async function cli(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  try {
    const { stdout, stderr } = await run(BIN, args, { timeout: 30_000 })
    return { code: 0, stdout, stderr }
  } catch (err: any) {
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }
  }
}

t.test('shield flags are checked', async (t) => {
  t.match((await cli(['--help'])).stdout, /shield/)
  const none = await cli(['shield', '--http-port', '0'])
  t.equal(none.code, 2)
  t.match(none.stderr, /at least one upstream/)
  const bad = await cli(['shield', '--upstream', 'ftp://x', '--http-port', '0'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /shield\.upstreams is \["ftp:\/\/x"\]; expected a list whose items are each an http:\/\/ URL/)
})

t.test('streamd shield serves an upstream through its cache and stops on SIGTERM', async (t) => {
  const o = await startStubOrigin(t, () => ({ body: 'hello' }))
  const port = await freePort()
  const child = spawn(BIN, ['shield', '--upstream', o.url, '--http-port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const r = await waitFor(async () => {
    const x = await shieldGet(`http://127.0.0.1:${port}/live/a/v/1.m4s`, { timeoutMs: 2000 })
    return x.status === 200 ? x : undefined
  }, 20_000, 'the shield to answer')
  t.equal(r.body, 'hello')
  t.equal((await shieldGet(`http://127.0.0.1:${port}/live/a/v/1.m4s`)).headers['x-cache'], 'HIT')
  t.equal(o.count('/live/a/v/1.m4s'), 1)
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'clean exit on SIGTERM')
})
