/**
 * Input roles against a running origin with publishing closed: a backup goes
 * through the same key check as the primary (a wrong key is Denied, the reason
 * reaching FFmpeg), and an unknown role is refused as a bad name before the
 * key is looked at, FFmpeg printing why.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { startOrigin } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'
import { RawRtmpClient } from '../helpers/rtmp-client.js'
import { captureLogger } from '../helpers/recording-handler.js'
import { tempDirSync } from '../helpers/temp-dir.js'

const run = promisify(execFile)
const BIN = fileURLToPath(new URL('../../bin/streamd', import.meta.url))

t.test('a backup needs the stream\'s key; an unknown role is refused before the key check', async (t) => {
  const dataDir = tempDirSync(t, 'streamd-role-')
  const log = captureLogger()
  const o = await startOrigin(t, { publish: { open: false }, dataDir }, { logger: log.logger })
  const { stdout } = await run(BIN, ['keys', 'add', 'cam', '--data-dir', dataDir], { timeout: 30_000 })
  const secret = /^key: (\S+)$/m.exec(stdout)![1]!

  const publish = async (name: string): Promise<Record<string, unknown>> => {
    const c = await RawRtmpClient.open(o.rtmpPort)
    t.teardown(() => c.destroy())
    await c.handshake()
    return c.publish('live', name)
  }
  t.match(await publish('cam?key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&role=backup'), { level: 'error', code: 'NetStream.Publish.Denied', description: 'invalid publish key' })
  t.match(await publish(`cam?key=${secret}&role=bkp`), { level: 'error', code: 'NetStream.Publish.BadName', description: 'role must be primary or backup, not "bkp"' })
  t.equal(log.lines.filter((l) => /publish refused: (wrong key|no key exists)/.test(l.msg)).length, 1, 'only the wrong key reached the key check')

  const ffmpeg = startPublisher(`${o.rtmp}/cam?key=${secret}&role=primary&role=backup`, { width: 320, height: 180, duration: 10 })
  t.teardown(() => ffmpeg.stop())
  const code = await new Promise<number | null>((resolve) => ffmpeg.once('exit', (c) => resolve(c)))
  t.not(code, 0, 'FFmpeg fails')
  t.match(ffmpeg.stderrText(), /role given twice with different values/, 'and prints the server\'s reason')
  t.notOk(log.lines.some((l) => JSON.stringify(l).includes(secret)), 'the secret never reaches the log')
})
