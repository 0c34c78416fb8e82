/**
 * HEVC with a sequence parameter set no decoder can read, sent over SRT: the
 * publish ends with the reason in the log, nothing reaches the workers, and a
 * stream published next to it keeps going.
 */
import t from 'tap'
import { tempDirSync } from '../../helpers/temp-dir.js'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SrtServer } from '../../../src/ingest/srt/server.js'
import { FFMPEG } from '../../helpers/ffmpeg.js'
import { captureLogger, recordingHandler, waitFor } from '../../helpers/recording-handler.js'
import { srtUrl, startSrtPublisher } from '../../helpers/srt.js'

const run = promisify(execFile)

t.test('a broken HEVC SPS ends that publish with its reason; the other stream is unharmed', async (t) => {
  const dir = tempDirSync(t, 'streamd-badsps-')
  const good = join(dir, 'good.ts')
  await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '20',
    '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:keyint=30', '-f', 'mpegts', '-y', good])
  const ts = readFileSync(good)
  // Zero six bytes inside every SPS (NAL header 0x42 0x01): the picture size reads as 0 or the fields overrun.
  for (let at = ts.indexOf(Buffer.from([0, 0, 1, 0x42, 0x01])); at >= 0; at = ts.indexOf(Buffer.from([0, 0, 1, 0x42, 0x01]), at + 1)) ts.fill(0, at + 19, at + 25)
  const bad = join(dir, 'bad.ts')
  writeFileSync(bad, ts)
  const log = captureLogger()
  const rec = recordingHandler()
  const srv = new SrtServer({ host: '127.0.0.1', port: 0, handler: rec.handler, logger: log.logger, latencyMs: 120 })
  const port = await srv.listen()
  t.teardown(() => srv.close())
  const other = startSrtPublisher(srtUrl(port, 'publish:fine:k'), { width: 320, height: 240, duration: 30 })
  const sender = spawn(FFMPEG, ['-hide_banner', '-loglevel', 'quiet', '-re', '-i', bad, '-c', 'copy', '-f', 'mpegts', srtUrl(port, 'publish:badsps:k')], { stdio: 'ignore' })
  t.teardown(async () => { sender.kill('SIGKILL'); await other.stop() })
  await waitFor(() => (rec.byStream('badsps')?.endReasons.length ?? 0) > 0, 'the bad publish to end', 30_000)
  t.match(rec.byStream('badsps')!.endReasons[0], /HEVC sequence parameter set unreadable/)
  t.equal(rec.byStream('badsps')!.tags.filter((x) => x.kind === 'video').length, 0, 'no video reached the sink')
  t.ok(log.lines.some((l) => /unsupported media/.test(String(l.msg)) && /HEVC sequence parameter set/.test(String(l.reason))), 'logged with the reason')
  const before = rec.byStream('fine')?.tags.length ?? 0
  await waitFor(() => (rec.byStream('fine')?.tags.length ?? 0) > before + 30, 'the other stream to keep delivering', 10_000)
  t.same(rec.byStream('fine')!.endReasons, [], 'the other stream is still live')
})
