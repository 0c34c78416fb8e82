/**
 * Issue 4: a publisher that changes resolution mid-stream keeps the ladder
 * playing (a new init segment after EXT-X-DISCONTINUITY in the copied rung, and
 * a new DASH Period there; the encoded rungs carry on); one that switches to a codec streamd cannot ingest
 * gets a clear refusal, never a silent stall.
 */
import t from 'tap'
import { join } from 'node:path'
import { startOrigin, get, waitFor } from '../helpers/origin.js'
import { makeTestFile } from '../helpers/ffmpeg.js'
import { RawRtmpClient } from '../helpers/rtmp-client.js'
import { readFlv, publishTags } from '../helpers/flv-file.js'
import { parseStrict } from '../helpers/playlists.js'
import { fetchMpd, kid, kids, seconds } from '../helpers/dash.js'
import { tempDirSync } from '../helpers/temp-dir.js'

const dir = tempDirSync(t, 'streamd-midchange-')

async function publisher(port: number, name: string): Promise<RawRtmpClient> {
  const c = await RawRtmpClient.open(port)
  await c.handshake()
  c.setChunkSize(65536)
  const status = await c.publish('live', name)
  if (status.code !== 'NetStream.Publish.Start') throw new Error(`publish refused: ${String(status.code)}`)
  return c
}

t.test('a resolution change mid-stream: new init after a discontinuity, encoded rungs carry on', async (t) => {
  const big = join(dir, 'a.flv')
  const small = join(dir, 'b.flv')
  await makeTestFile(big, 'flv', { width: 640, height: 360, duration: 6, gop: 60 })
  await makeTestFile(small, 'flv', { width: 320, height: 180, duration: 6, gop: 60 })
  const o = await startOrigin(t, { ladder: { enabled: true } })
  const client = await publisher(o.rtmpPort, 'mid')
  t.teardown(() => client.destroy())
  const a = readFlv(big)
  const started = Date.now()
  await publishTags(client, a, 0, started)
  const base = `${o.http}/live/mid`
  const before = parseStrict((await get(`${base}/source/index.m3u8`)).text)
  const firstMap = before.segments.find((s: any) => s.map)?.map.uri
  const lowBefore = (await get(`${base}/240p/index.m3u8`)).text
  const lastLow = Math.max(...[...lowBefore.matchAll(/^(\d+)\.m4s$/gm)].map((m) => Number(m[1])))
  const offset = Math.max(...a.map((x) => x.timestamp)) + 33
  const b = readFlv(small).filter((x) => x.type !== 18) // the metadata of the first file stays
  await publishTags(client, b, offset, started)
  const after = await waitFor(async () => {
    const text = (await get(`${base}/source/index.m3u8`)).text
    return /^#EXT-X-DISCONTINUITY$/m.test(text) ? text : undefined
  }, 15_000, 'the copied rung to restart on the new resolution')
  const maps = [...after.matchAll(/#EXT-X-MAP:URI="([^"]+)"/g)].map((m) => m[1])
  t.ok(maps.some((m) => m !== firstMap), 'a new init segment is announced')
  const newInit = (await get(`${base}/source/${maps.at(-1)}`)).body
  t.not(newInit.toString('hex'), (await get(`${base}/source/${firstMap}`)).body.toString('hex'), 'and it differs from the first')
  t.match(after, /#EXT-X-DISCONTINUITY\n#EXT-X-MAP/, 'the new init follows a discontinuity')
  parseStrict(after)
  const lowAfter = await waitFor(async () => {
    const text = (await get(`${base}/240p/index.m3u8`)).text
    const last = Math.max(...[...text.matchAll(/^(\d+)\.m4s$/gm)].map((m) => Number(m[1])))
    return last >= lastLow + 2 ? text : undefined
  }, 15_000, 'the encoded rung to keep producing')
  parseStrict(lowAfter)
  const mv = (await get(`${base}/index.m3u8`)).text
  t.match(mv, /RESOLUTION=320x180[^\n]*\nsource\/index\.m3u8/, 'the multivariant playlist shows the new source size')
  // DASH: one Initialization per Representation and Period (23009-1 5.3.9.2), so the new init opens a Period.
  const restartMsn = Number(after.split('#EXT-X-DISCONTINUITY\n')[1]!.match(/^(\d+)\.m4s$/m)![1])
  const mpd = (await fetchMpd(`${base}/manifest.mpd`)).root
  const periods = kids(mpd, 'Period')
  const sourceIn = (p: Element): Element | undefined => kids(p, 'AdaptationSet').flatMap((a) => kids(a, 'Representation')).find((r) => r.getAttribute('id') === 'source')
  const last = periods.at(-1)!
  t.equal(last.getAttribute('id'), `p${restartMsn}`, `the MPD's last Period begins at the restart segment ${restartMsn}`)
  t.equal(sourceIn(last)?.getAttribute('width'), '320', 'its source Representation has the new size')
  t.equal(kid(sourceIn(last)!, 'SegmentTemplate').getAttribute('initialization'), `source/${maps.at(-1)}`, '... and names the new init')
  const prev = periods.at(-2)!
  t.equal(sourceIn(prev)?.getAttribute('width'), '640', 'the Period before keeps the old size')
  t.equal(kid(sourceIn(prev)!, 'SegmentTemplate').getAttribute('initialization'), `source/${firstMap}`, '... and the old init')
  t.ok(seconds(last.getAttribute('start')) > seconds(prev.getAttribute('start')), 'and starts later')
})

t.test('a switch to a codec streamd cannot ingest ends the publish with a clear reason', async (t) => {
  const file = join(dir, 'c.flv')
  await makeTestFile(file, 'flv', { width: 320, height: 180, duration: 3, gop: 30 })
  const o = await startOrigin(t, { ladder: { enabled: false } })
  const client = await publisher(o.rtmpPort, 'codec')
  t.teardown(() => client.destroy())
  const tags = readFlv(file)
  await publishTags(client, tags, 0, Date.now())
  const url = `${o.http}/live/codec/source/index.m3u8`
  await waitFor(async () => (await get(url)).text.includes('#EXTINF'), 10_000, 'media')
  // An HEVC sequence header in the widespread pre-Enhanced-RTMP form (codec id 12).
  const hevc = Buffer.concat([Buffer.from([0x1c, 0x00, 0x00, 0x00, 0x00]), Buffer.alloc(23, 1)])
  client.send(client.chunks(6, 9, 1, Math.max(...tags.map((x) => x.timestamp)) + 40, hevc))
  t.ok(await client.closedWithin(5000), 'the publisher is disconnected')
  const ended = await waitFor(async () => {
    const r = await get(url)
    return r.text.includes('#EXT-X-ENDLIST') ? r.text : undefined
  }, 10_000, 'the stream to end cleanly')
  t.match(ended, /#EXT-X-ENDLIST/, 'viewers get a proper end, not a stall')
  t.equal(o.origin.sessions.has('codec'), false, 'the workers are gone')
})
