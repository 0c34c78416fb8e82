/**
 * A ladder written in the config reaches the playlists: the stream's own rungs by
 * name, sized and rated as configured, a rung larger than the source left out.
 */
import t from 'tap'
import { startOrigin, get, waitFor } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'
import { parseStrict } from '../helpers/playlists.js'
import { mp4boxParse } from '../helpers/mp4-fixtures.js'

t.test('a configured per-stream ladder: its rungs, its sizes, nothing upscaled', async (t) => {
  const o = await startOrigin(t, {
    ladder: {
      enabled: true,
      rungs: [{ name: 'common', height: 240, bitrate: 300 }],
      streams: { cfg: { rungs: [{ name: 'full', copy: true }, { name: 'big', height: 1080, bitrate: 5000 }, { name: 'small', height: 180, bitrate: 250, preset: 'ultrafast' }] } },
    },
  })
  const pub = startPublisher(`${o.rtmp}/cfg`, { width: 640, height: 360, fps: 30, gop: 60 })
  t.teardown(() => pub.stop())
  const base = `${o.http}/live/cfg`
  const mv = await waitFor(async () => {
    const r = await get(`${base}/index.m3u8`).catch(() => undefined)
    return r?.status === 200 && (r.text.match(/EXT-X-STREAM-INF/g)?.length ?? 0) >= 2 ? r.text : undefined
  }, 40_000, 'the configured ladder in the multivariant playlist')
  const p = parseStrict(mv)
  const names = p.variants.map((v: { uri: string }) => v.uri.split('/')[0]).sort()
  t.same(names, ['full', 'small'], 'the stream\'s own rungs; 1080p left out of a 360p source')
  const small = p.variants.find((v: { uri: string }) => v.uri.startsWith('small/'))!
  t.same(small.resolution, { width: 320, height: 180 }, '180p keeps the 16:9 source aspect')
  const box = mp4boxParse((await get(`${base}/small/init.mp4`)).body)
  const track = box.info.tracks.find((x: any) => x.video)!
  t.same({ width: track.video!.width, height: track.video!.height }, { width: 320, height: 180 }, 'the encoder made what the config says')
  t.equal(o.origin.directory.get('cfg')!.renditions.has('common'), false, 'the common ladder is not used for this stream')
})
