/**
 * Publish keys end to end: real FFmpeg publishing rtmp://127.0.0.1:PORT/live/NAME?key=SECRET
 * to a running origin, keys added and revoked with the real CLI while it runs,
 * and oversized keys that must not hurt anyone else.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startOrigin, waitFor, waitForSegments } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'
import { RawRtmpClient } from '../helpers/rtmp-client.js'
import { captureLogger } from '../helpers/recording-handler.js'
import { tempDirSync } from '../helpers/temp-dir.js'

const run = promisify(execFile)
const BIN = fileURLToPath(new URL('../../bin/streamd', import.meta.url))

async function keysCli(dataDir: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(BIN, ['keys', ...args, '--data-dir', dataDir], { timeout: 30_000 })
  return stdout
}

/** Publish for up to `ms`; resolves with FFmpeg's exit code (null when still running, then stopped) and stderr. */
async function attempt(url: string, ms = 15_000): Promise<{ code: number | null; stderr: string }> {
  const p = startPublisher(url, { width: 320, height: 180, duration: 20 })
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), ms)
    p.once('exit', (c) => { clearTimeout(timer); resolve(c) })
  })
  await p.stop()
  return { code, stderr: p.stderrText() }
}

t.test('no key, wrong key, revoked key refused; the right key works; CLI changes apply without restart', async (t) => {
  const dataDir = tempDirSync(t, 'streamd-pubkeys-')
  const log = captureLogger()
  const o = await startOrigin(t, { publish: { open: false }, dataDir }, { logger: log.logger })

  const none = await attempt(`${o.rtmp}/cam`)
  t.not(none.code, 0, 'no key: FFmpeg fails')
  t.match(none.stderr, /a publish key is required/, 'FFmpeg prints the server\'s reason')

  const wrong = await attempt(`${o.rtmp}/cam?key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`)
  t.not(wrong.code, 0, 'wrong key: FFmpeg fails')
  t.match(wrong.stderr, /invalid publish key/)

  // Added while the server runs, by the real CLI in another process.
  const secret = /^key: (\S+)$/m.exec(await keysCli(dataDir, 'add', 'cam'))![1]!
  const pub = startPublisher(`${o.rtmp}/cam?key=${secret}`, { width: 320, height: 180 })
  t.teardown(() => pub.stop())
  await waitForSegments(`${o.http}/live/cam/source/index.m3u8`, 1)
  t.pass('the key added with the CLI publishes without a restart')
  t.equal(o.origin.directory.get('cam')?.ingest?.key, 'cam')
  await pub.stop()

  await keysCli(dataDir, 'revoke', 'cam')
  await new Promise((r) => setTimeout(r, 300))
  const revoked = await attempt(`${o.rtmp}/cam?key=${secret}`)
  t.not(revoked.code, 0, 'revoked: the next publish fails')
  t.match(revoked.stderr, /invalid publish key/)

  const msgs = log.lines.map((l) => l.msg)
  t.ok(msgs.includes('publish refused: no publish key'))
  t.ok(msgs.includes('publish refused: no key exists for this stream'))
  t.ok(msgs.includes('publish refused: revoked key'))
  t.notOk(log.lines.some((l) => JSON.stringify(l).includes(secret)), 'the secret never reaches the log')
})

t.test('a 10 MB key is refused cleanly and the server keeps serving a keyed publisher', async (t) => {
  const dataDir = tempDirSync(t, 'streamd-bigkey-')
  const log = captureLogger()
  const o = await startOrigin(t, { publish: { open: false }, dataDir }, { logger: log.logger })
  const secret = /^key: (\S+)$/m.exec(await keysCli(dataDir, 'add', 'ok'))![1]!
  const pub = startPublisher(`${o.rtmp}/ok?key=${secret}`, { width: 320, height: 180 })
  t.teardown(() => pub.stop())
  await waitForSegments(`${o.http}/live/ok/source/index.m3u8`, 1)

  // 10 MB: larger than any RTMP message the server accepts, so the connection is dropped.
  const huge = await RawRtmpClient.open(o.rtmpPort)
  t.teardown(() => huge.destroy())
  await huge.handshake()
  await t.rejects(huge.publish('live', `ok?key=${'A'.repeat(10 * 1024 * 1024)}`), /closed/)
  t.ok(huge.isClosed, 'the connection is closed')
  // 60 KiB fits in a command before publish (rtmp.maxCommandBytes, 64 KiB): refused as an
  // invalid key, with a status, without hashing it.
  const big = await RawRtmpClient.open(o.rtmpPort)
  t.teardown(() => big.destroy())
  await big.handshake()
  t.match(await big.publish('live', `ok?key=${'A'.repeat(60 * 1024)}`), { level: 'error', code: 'NetStream.Publish.Denied', description: 'invalid publish key' })
  t.ok(await big.closedWithin(3000))
  t.ok(log.lines.some((l) => l.msg === 'publish refused: malformed key'))
  t.notOk(log.lines.some((l) => JSON.stringify(l).includes('AAAAAAAAAAAAAAAA')), 'the oversized key is not logged')

  const before = (await waitForSegments(`${o.http}/live/ok/source/index.m3u8`, 1)).match(/^#EXTINF/gm)!.length
  const after = await waitForSegments(`${o.http}/live/ok/source/index.m3u8`, before + 1)
  t.ok(after, 'the keyed publisher kept producing')
})

t.test('on_publish over RTMP: a hanging hook refuses after its timeout, an accepting one lets the publish start; on_publish_done follows', async (t) => {
  const seen: Array<{ action: string; stream: string }> = []
  let hang = true
  const hook = createServer((rq, rs) => {
    let body = ''
    rq.on('data', (c) => { body += c })
    rq.on('end', () => {
      seen.push(JSON.parse(body))
      if (hang && seen.at(-1)!.action === 'on_publish') return // never answer
      rs.end('{"code":0}')
    })
  })
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => { hook.closeAllConnections(); hook.close() })
  const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`
  const log = captureLogger()
  const o = await startOrigin(t, { hooks: { onPublish: url, onPublishDone: url, timeoutMs: 400 } }, { logger: log.logger })

  const slow = await RawRtmpClient.open(o.rtmpPort)
  t.teardown(() => slow.destroy())
  await slow.handshake()
  t.match(await slow.publish('live', 'hooked'), { level: 'error', code: 'NetStream.Publish.Denied', description: /on_publish hook: hook did not answer within 400 ms/ })
  t.ok(log.lines.some((l) => l.msg === 'publish refused by on_publish hook'), 'the refusal is logged')

  hang = false
  const ok = await RawRtmpClient.open(o.rtmpPort)
  await ok.handshake()
  t.match(await ok.publish('live', 'hooked'), { code: 'NetStream.Publish.Start' })
  ok.destroy()
  await waitFor(() => seen.some((e) => e.action === 'on_publish_done'), 10_000, 'on_publish_done')
  t.same(seen.map((e) => [e.action, e.stream]), [['on_publish', 'hooked'], ['on_publish', 'hooked'], ['on_publish_done', 'hooked']])
})
