/**
 * A hung worker (alive, silent) is found by its silence, killed and replaced;
 * the stream continues after a discontinuity.
 */
import t from 'tap'
import { startOrigin, get, waitFor, waitForSegments } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'

t.test('a frozen worker is killed and restarted', async (t) => {
  const o = await startOrigin(t, { worker: { minBackoffMs: 100, maxBackoffMs: 1000 } })
  const pub = startPublisher(`${o.rtmp}/hang`, { width: 320, height: 180, gop: 30 })
  t.teardown(() => pub.stop())
  const url = `${o.http}/live/hang/source/index.m3u8`
  await waitForSegments(url, 1)
  const pipeline = o.origin.sessions.get('hang')!
  const pid = pipeline.workerPid!
  process.kill(pid, 'SIGSTOP') // hung: the process exists but writes nothing
  t.teardown(() => { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } })
  const stoppedAt = Date.now()
  const replaced = await waitFor(() => {
    const now = pipeline.workerPid
    return now && now !== pid ? now : undefined
  }, 8000, 'a replacement worker')
  t.ok(replaced !== pid, `worker ${pid} replaced by ${replaced} after ${Date.now() - stoppedAt} ms`)
  let gone = false
  try { process.kill(pid, 0) } catch { gone = true }
  t.ok(gone, 'the hung process was killed')
  const text = await waitFor(async () => {
    const r = await get(url)
    return /^#EXT-X-DISCONTINUITY$/m.test(r.text) ? r.text : undefined
  }, 10_000, 'media from the new worker')
  t.match(text, /#EXT-X-DISCONTINUITY\n#EXT-X-MAP/, text)
  const metrics = await waitFor(async () => {
    const m = (await get(`${o.http}/metrics`)).text
    return /streamd_rendition_speed_ratio\{stream="hang",rendition="source"\} [0-9.]+/.test(m) ? m : undefined
  }, 10_000, 'the speed gauge (measured over a few seconds of output)')
  t.match(metrics, /streamd_worker_restarts_total\{stream="hang"\} [1-9]/)
})
