/**
 * A stream with a primary and a backup input (RTMP and SRT): the primary is killed by
 * pid and the backup takes over with no ENDLIST, no discontinuity in the encoded rung,
 * dates running forward, and its frames (blue, where the primary's are red) on air; the
 * primary comes back and returns; both die and the slate keeps the stream live.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startOrigin, get, waitFor, type TestOrigin } from '../helpers/origin.js'
import { FFMPEG, startPublisher } from '../helpers/ffmpeg.js'
import { srtUrl, startSrtPublisher } from '../helpers/srt.js'
import { parseStrict } from '../helpers/playlists.js'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'streamd-redundant-'))
const SOURCE = { width: 320, height: 180, fps: 30, gop: 30 }

/** The average colour of the last frame of a rendition's newest complete segment. */
async function colourOf(base: string, rendition: string, msn: number): Promise<[number, number, number]> {
  const text = (await get(`${base}/${rendition}/index.m3u8`)).text
  // The init that applies to the segment: the last EXT-X-MAP above its line.
  let init = ''
  for (const line of text.split('\n')) {
    const m = /^#EXT-X-MAP:URI="([^"]+)"/.exec(line)
    if (m) init = m[1]!
    if (line === `${msn}.m4s`) break
  }
  const file = join(dir, `${rendition}-${msn}.mp4`)
  writeFileSync(file, Buffer.concat([(await get(`${base}/${rendition}/${init}`)).body, (await get(`${base}/${rendition}/${msn}.m4s`)).body]))
  const { stdout } = await run(FFMPEG, ['-v', 'error', '-i', file, '-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer', maxBuffer: 1 << 20 })
  const last = (stdout as Buffer).subarray(-3)
  return [last[0]!, last[1]!, last[2]!]
}

/** The colour of a rendition's newest complete segment now; undefined while it has none (or it cannot be read yet). */
async function colourNow(base: string, rendition: string): Promise<string | undefined> {
  const msn = lastComplete((await get(`${base}/${rendition}/index.m3u8`)).text)
  if (!Number.isFinite(msn)) return undefined
  try {
    return redOrBlue(await colourOf(base, rendition, msn))
  } catch {
    return undefined // evicted or replaced between the playlist and the fetch: look again
  }
}

const lastComplete = (text: string): number => Math.max(...[...text.matchAll(/^(\d+)\.m4s$/gm)].map((m) => Number(m[1])))
const api = async (o: TestOrigin, name: string): Promise<any> => JSON.parse((await get(`${o.http}/api/v1/streams/${name}`)).text)
const redOrBlue = (c: [number, number, number]): string => (c[0] > 150 && c[2] < 80 ? 'red' : c[2] > 150 && c[0] < 80 ? 'blue' : `neither (${c.join(',')})`)

t.test('primary killed → backup on air → primary returns → both gone → slate', async (t) => {
  const o = await startOrigin(t, {
    ladder: { enabled: true, preset: 'ultrafast', rungs: [{ name: 'source', copy: true }, { name: '144p', height: 144, bitrate: 200 }] },
    worker: { minBackoffMs: 100, maxBackoffMs: 1000 },
    redundancy: { lossMs: 500, returnAfterMs: 3000 },
    slate: { maxSeconds: 30 },
  })
  const name = 'final'
  const base = `${o.http}/live/${name}`
  let primary = startPublisher(`${o.rtmp}/${name}`, { ...SOURCE, color: 'red' })
  t.teardown(() => primary.stop())
  let text = await waitFor(async () => { const x = (await get(`${base}/144p/index.m3u8`)).text; return (x.match(/^\d+\.m4s$/gm)?.length ?? 0) >= 2 && x }, 30_000, 'two 144p segments')
  const backup = startSrtPublisher(srtUrl(o.srtPort, `publish:${name}:KEY:backup`), { ...SOURCE, color: 'blue' })
  t.teardown(() => backup.stop())
  await waitFor(async () => (await api(o, name)).inputs?.find((i: any) => i.role === 'backup')?.state === 'standby', 30_000, 'the backup standing by')
  t.equal((await api(o, name)).onAir, 'primary', 'the primary stays on air')
  t.equal(redOrBlue(await colourOf(base, '144p', lastComplete(text))), 'red', 'the primary (red) is on air')
  const initBefore = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)![1]
  const view = await api(o, name)
  t.same(view.inputs.map((i: any) => [i.role, i.state, i.protocol]).sort(), [['backup', 'standby', 'srt'], ['primary', 'on-air', 'rtmp']], 'the API lists both inputs')

  // The primary dies without a word (kill -9): its connection drops.
  const killedAt = Date.now()
  await primary.stop()
  await waitFor(async () => (await api(o, name)).onAir === 'backup', 10_000, 'the backup on air')
  t.comment(`backup on air ${Date.now() - killedAt} ms after the kill`)
  const atSwitch = lastComplete((await get(`${base}/144p/index.m3u8`)).text)
  text = await waitFor(async () => { const x = (await get(`${base}/144p/index.m3u8`)).text; return lastComplete(x) >= atSwitch + 2 && x }, 20_000, 'two more 144p segments')
  parseStrict(text)
  t.notMatch(text, /#EXT-X-ENDLIST/, 'no end')
  t.notMatch(text, /#EXT-X-DISCONTINUITY\n/, 'the encoded rung goes on with no discontinuity')
  t.equal([...text.matchAll(/#EXT-X-MAP:URI="([^"]+)"/g)].map((m) => m[1]).at(-1), initBefore, 'and the same init')
  const dates = [...text.matchAll(/#EXT-X-PROGRAM-DATE-TIME:(\S+)/g)].map((m) => Date.parse(m[1]!))
  t.ok(dates.every((d, i) => i === 0 || d > dates[i - 1]!), 'PROGRAM-DATE-TIME runs forward')
  t.equal(redOrBlue(await colourOf(base, '144p', lastComplete(text))), 'blue', 'the backup (blue) is on air in the encoded rung')
  await waitFor(async () => (await colourNow(base, 'source')) === 'blue', 15_000, 'the backup in the copied rung')
  const metrics = (await get(`${o.http}/metrics`)).text
  t.match(metrics, /streamd_input_switches_total\{stream="final",cause="loss"\} [1-9]/, 'the switch is counted by cause')

  // The primary comes back; after returnAfterMs healthy, it returns at its key frame.
  primary = startPublisher(`${o.rtmp}/${name}`, { ...SOURCE, color: 'red' })
  await waitFor(async () => (await api(o, name)).onAir === 'primary', 20_000, 'the primary back on air')
  const atReturn = lastComplete((await get(`${base}/144p/index.m3u8`)).text)
  text = await waitFor(async () => { const x = (await get(`${base}/144p/index.m3u8`)).text; return lastComplete(x) >= atReturn + 2 && x }, 20_000, 'two segments after the return')
  t.equal(redOrBlue(await colourOf(base, '144p', lastComplete(text))), 'red', 'red again')
  t.notMatch(text, /#EXT-X-DISCONTINUITY\n/, 'still no discontinuity in the encoded rung')

  // Both die: the slate keeps the stream live.
  await Promise.all([primary.stop(), backup.stop()])
  await waitFor(async () => (await api(o, name)).onAir === 'slate', 10_000, 'the slate on air')
  const atSlate = lastComplete((await get(`${base}/144p/index.m3u8`)).text)
  text = await waitFor(async () => { const x = (await get(`${base}/144p/index.m3u8`)).text; return lastComplete(x) >= atSlate + 2 && x }, 20_000, 'two segments of slate')
  t.notMatch(text, /#EXT-X-ENDLIST/, 'no end during the slate')
  t.match(redOrBlue(await colourOf(base, '144p', lastComplete(text))), /neither/, 'neither input\'s picture: the slate')
  const slateView = await api(o, name)
  t.same(slateView.inputs.map((i: any) => i.state), ['lost', 'lost'], 'both inputs lost')
})

t.test('manual switching through the API: backup, slate, primary; refusals; no FFmpeg left after a stop during slate', async (t) => {
  const o = await startOrigin(t, { redundancy: { lossMs: 500, returnAfterMs: 1000, return: 'sticky' }, slate: { maxSeconds: 30 } })
  const name = 'manual'
  const base = `${o.http}/live/${name}`
  const post = async (input: string): Promise<{ status: number; body: any }> => {
    const r = await get(`${o.http}/api/v1/streams/${name}/input`, { method: 'POST', body: JSON.stringify({ input }), headers: { 'content-type': 'application/json' } })
    return { status: r.status, body: JSON.parse(r.text) }
  }
  const primary = startPublisher(`${o.rtmp}/${name}`, { ...SOURCE, color: 'red' })
  t.teardown(() => primary.stop())
  await waitFor(async () => (await api(o, name)).onAir === 'primary', 30_000, 'the primary on air')
  const refused = await post('backup')
  t.equal(refused.status, 409, 'no backup connected: 409')
  t.match(refused.body.message, /backup is not connected/)

  const backup = startPublisher(`${o.rtmp}/${name}?role=backup`, { ...SOURCE, color: 'blue' })
  t.teardown(() => backup.stop())
  await waitFor(async () => (await api(o, name)).inputs?.find((i: any) => i.role === 'backup')?.state === 'standby', 30_000, 'the backup standing by')
  t.equal((await post('backup')).status, 202, 'switch to the backup accepted')
  await waitFor(async () => (await api(o, name)).onAir === 'backup', 10_000, 'the backup on air at its key frame')
  await waitFor(async () => (await colourNow(base, 'source')) === 'blue', 15_000, 'blue frames on air')
  t.pass('the backup\'s frames are on air')

  t.equal((await post('slate')).status, 202, 'switch to the slate accepted')
  await waitFor(async () => (await api(o, name)).onAir === 'slate', 5_000, 'the slate on air at once')
  await waitFor(async () => /neither/.test((await colourNow(base, 'source')) ?? ''), 15_000, 'the slate\'s picture on air')
  t.pass('the slate is on air while both inputs are healthy')
  t.equal((await post('primary')).status, 202, 'switch back to the primary accepted')
  await waitFor(async () => (await api(o, name)).onAir === 'primary', 10_000, 'the primary on air at its key frame')
  await waitFor(async () => (await colourNow(base, 'source')) === 'red', 15_000, 'red frames on air')
  t.pass('the primary\'s frames are on air again')
  t.equal((await post('slate')).status, 202, 'and the slate once more')
  await waitFor(async () => (await api(o, name)).onAir === 'slate', 5_000, 'the slate on air')

  const pids = Object.values(o.origin.sessions.get(name)!.workerPids()).filter((p): p is number => p !== undefined)
  t.ok(pids.length > 0, `workers running (${pids.join(', ')})`)
  await o.origin.stop()
  const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }
  t.same(pids.filter(alive), [], 'stopping the server during the slate leaves no FFmpeg behind')
  const store = o.origin.directory.get(name)!.renditions.get('source')!
  t.ok(store.ended && store.segments.every((s) => s.complete), 'every segment complete and the rendition ended: nothing torn')
})

t.test('DELETE through the API ends the stream at once, slate or not: an operator\'s stop is no loss to cover', async (t) => {
  const o = await startOrigin(t, { slate: { maxSeconds: 30 } })
  const name = 'stop'
  const pub = startPublisher(`${o.rtmp}/${name}`, { ...SOURCE, color: 'red' })
  t.teardown(() => pub.stop())
  await waitFor(async () => (await api(o, name)).onAir === 'primary', 30_000, 'the primary on air')
  const switched: string[] = []
  o.origin.sessions.get(name)!.events.on('input-switched', ({ to }) => switched.push(to))
  t.equal((await get(`${o.http}/api/v1/streams/${name}`, { method: 'DELETE' })).status, 204)
  await waitFor(async () => (await api(o, name)).state === 'ended', 10_000, 'the stream ended')
  t.same(switched, [], 'no slate went on air')
  t.match((await get(`${o.http}/live/${name}/source/index.m3u8`)).text, /#EXT-X-ENDLIST/, 'players get the end')
})
