/**
 * A stream's life with real FFmpeg on both sides: duplicate publishers, a
 * publisher that vanishes, a worker that dies, a name that comes back.
 */
import t from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { startOrigin, get, waitFor, waitForSegments } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'
import { model, type PlSegment } from '../helpers/conformance.js'
import { all, kids, parseXml } from '../helpers/dash.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const lastMsn = (text: string): number => Math.max(...[...text.matchAll(/^(\d+)\.m4s$/gm)].map((m) => Number(m[1])))

t.test('a second publisher for a live name is refused; the first is unharmed', async (t) => {
  const o = await startOrigin(t)
  const first = startPublisher(`${o.rtmp}/dup`, { width: 320, height: 180 })
  t.teardown(() => first.stop())
  const url = `${o.http}/live/dup/source/index.m3u8`
  const before = lastMsn(await waitForSegments(url, 1))
  const second = startPublisher(`${o.rtmp}/dup`, { width: 320, height: 180 })
  const code = await new Promise<number | null>((resolve) => second.once('exit', (c) => resolve(c)))
  t.not(code, 0, 'second FFmpeg fails to publish')
  t.match(second.stderrText(), /already being published|BadName|Error/i)
  const after = lastMsn(await waitFor(async () => {
    const text = (await get(url)).text
    return lastMsn(text) >= before + 2 ? text : undefined
  }, 15_000, 'the first stream to keep producing'))
  t.ok(after >= before + 2, 'first stream kept producing segments')
  t.equal(o.origin.directory.get('dup')?.ingest?.remote !== undefined, true)
})

t.test('a publisher that vanishes ends the stream cleanly and frees it', async (t) => {
  const o = await startOrigin(t, { hls: { windowSeconds: 6, endedRetentionSeconds: 6 } })
  const other = startPublisher(`${o.rtmp}/other`, { width: 320, height: 180 })
  t.teardown(() => other.stop())
  const pub = startPublisher(`${o.rtmp}/gone`, { width: 320, height: 180 })
  const url = `${o.http}/live/gone/source/index.m3u8`
  await waitForSegments(url, 2)
  await waitForSegments(`${o.http}/live/other/source/index.m3u8`, 1)
  const workerPid = o.origin.sessions.get('gone')!.workerPid!
  t.ok(alive(workerPid), 'worker running')
  let storeRef: WeakRef<object> | undefined = new WeakRef(o.origin.directory.get('gone')!.renditions.get('source')!)

  process.kill(pub.pid!, 'SIGKILL')
  const ended = await waitFor(async () => {
    const r = await get(url)
    return r.status === 200 && r.text.includes('#EXT-X-ENDLIST') ? r.text : undefined
  }, 10_000, 'ENDLIST')
  t.notMatch(ended, /PRELOAD-HINT/, 'no preload hint after the end')
  const blocking = await get(`${url}?_HLS_msn=${lastMsn(ended) + 1}&_HLS_part=0`)
  t.equal(blocking.status, 200, 'blocking parameters are ignored once ended')
  t.ok(blocking.ms < 1000, 'and answered at once')
  await waitFor(() => !alive(workerPid), 5000, 'worker exit')
  t.notOk(alive(workerPid), 'worker process stopped')
  t.equal(o.origin.sessions.has('gone'), false)

  await waitFor(() => o.origin.directory.get('gone')?.removed === true, 12_000, 'retention to expire')
  t.equal((await get(url)).status, 404, 'the playlist is gone after its retention')
  await waitFor(() => o.origin.directory.get('gone') === undefined, 12_000, 'the segments to be dropped a window later')
  t.equal((await get(url)).status, 404, 'gone after its retention')
  await waitFor(() => {
    gc()
    return storeRef!.deref() === undefined
  }, 5000, 'the store to be collected')
  storeRef = undefined
  t.pass('stream memory was released')

  t.equal((await get(`${o.http}/live/other/source/index.m3u8`)).status, 200, 'the other stream never noticed')
  await pub.stop()
})

t.test('a killed worker is restarted; numbering continues with a discontinuity', async (t) => {
  const o = await startOrigin(t, { worker: { minBackoffMs: 100, maxBackoffMs: 1000 } })
  const pub = startPublisher(`${o.rtmp}/w`, { width: 320, height: 180, gop: 30 })
  t.teardown(() => pub.stop())
  const url = `${o.http}/live/w/source/index.m3u8`
  const before = lastMsn(await waitForSegments(url, 2))
  const pid = o.origin.sessions.get('w')!.workerPid!
  const killedAt = Date.now()
  process.kill(pid, 'SIGKILL')
  const text = await waitFor(async () => {
    const r = await get(url)
    return /^#EXT-X-DISCONTINUITY$/m.test(r.text) && lastMsn(r.text) >= before + 2 ? r.text : undefined
  }, 20_000, 'segments after the restart')
  const newPid = o.origin.sessions.get('w')!.workerPid
  t.ok(newPid && newPid !== pid, 'a new worker process runs')
  t.ok(lastMsn(text) > before, 'media sequence kept increasing')
  t.equal(new Set([...text.matchAll(/^(\d+)\.m4s$/gm)].map((m) => m[1])).size, [...text.matchAll(/^(\d+)\.m4s$/gm)].length, 'no msn listed twice')
  t.match(text, /#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init\.mp4\?v=[0-9a-f]+"/, 'the new epoch carries its own map')
  // The restarted process's media is dated on the session's clock, not from its own zero.
  const segs = model(text).segments.filter((s) => s.uri && !s.lines.includes('#EXT-X-GAP'))
  const at = segs.findIndex((s) => s.discontinuity)
  const [prev, next] = [segs[at - 1]!, segs[at]!]
  const pdt = (s: PlSegment): number => Date.parse(s.pdt!)
  t.ok(pdt(next) >= pdt(prev) + prev.duration! * 1000 - 1, `PDT runs on across the restart (${prev.pdt} + ${prev.duration} s, then ${next.pdt})`)
  t.ok(Math.abs(pdt(next) - killedAt) < 5000, `the restarted media is dated near the restart (${pdt(next) - killedAt} ms from the kill)`)
  // DASH places segments by those dates: every SegmentTimeline still runs forward.
  const mpd = parseXml((await get(`${o.http}/live/w/manifest.mpd`)).text)
  for (const timeline of all(mpd, 'SegmentTimeline')) {
    const starts: number[] = []
    let at = 0
    for (const e of kids(timeline, 'S')) {
      at = e.hasAttribute('t') ? Number(e.getAttribute('t')) : at
      for (let k = 0; k <= Number(e.getAttribute('r') ?? 0); k++, at += Number(e.getAttribute('d'))) starts.push(at)
    }
    t.ok(starts.length > 1 && starts.every((x, i) => i === 0 || x > starts[i - 1]!), `the MPD's segment times run forward (${starts.join(', ')})`)
  }
  const metrics = (await get(`${o.http}/metrics`)).text
  t.match(metrics, /streamd_worker_restarts_total\{stream="w"\} 1/)
})

t.test('a name that comes back continues numbering', async (t) => {
  const o = await startOrigin(t)
  const url = `${o.http}/live/again/source/index.m3u8`
  const pub1 = startPublisher(`${o.rtmp}/again`, { width: 320, height: 180 })
  const first = lastMsn(await waitForSegments(url, 2))
  await pub1.stop()
  await waitFor(async () => (await get(url)).text.includes('#EXT-X-ENDLIST'), 10_000, 'end')
  const endedAt = lastMsn((await get(url)).text)
  t.ok(endedAt >= first)
  const pub2 = startPublisher(`${o.rtmp}/again`, { width: 320, height: 180 })
  t.teardown(() => pub2.stop())
  const text = await waitFor(async () => {
    const r = await get(url)
    return !r.text.includes('#EXT-X-ENDLIST') && lastMsn(r.text) > endedAt ? r.text : undefined
  }, 20_000, 'the second session to produce')
  t.ok(lastMsn(text) > endedAt, 'new segments continue after the old ones')
  t.match(text, /^#EXT-X-DISCONTINUITY$/m, 'marked as a discontinuity')
})
