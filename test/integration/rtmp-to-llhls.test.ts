/**
 * Issue 2 acceptance: FFmpeg publishes over RTMP to an origin on port 0; the
 * LL-HLS output parses strictly, blocking requests wait for exactly the part
 * they name, and init + segment decode with ffprobe.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startOrigin, get, waitForSegments } from '../helpers/origin.js'
import { startPublisher, ffprobeJson, countFrames } from '../helpers/ffmpeg.js'
import { parseStrict, parseM3u8 } from '../helpers/playlists.js'
import { tempDirSync } from '../helpers/temp-dir.js'

t.test('RTMP publish to LL-HLS', async (t) => {
  const o = await startOrigin(t)
  const pub = startPublisher(`${o.rtmp}/t1`, { width: 640, height: 360, fps: 30, gop: 60 })
  t.teardown(() => pub.stop())
  const base = `${o.http}/live/t1`
  const text = await waitForSegments(`${base}/source/index.m3u8`, 2)

  t.test('media playlist parses strictly with every LL-HLS tag', async (t) => {
    const p = parseStrict(text)
    t.equal(p.version, 6)
    t.equal(p.targetDuration, 2)
    t.equal(p.partTargetDuration, 0.5)
    t.equal(p.lowLatencyCompatibility.canBlockReload, true)
    t.ok(p.lowLatencyCompatibility.partHoldBack >= 3 * 0.5)
    t.ok(p.segments.length >= 2)
    // hls-parser keeps a trailing parts-only segment apart (no URI, no inherited map).
    for (const s of p.segments.filter((x: any) => x.uri)) {
      t.ok(s.programDateTime instanceof Date, `segment ${s.uri} has PROGRAM-DATE-TIME`)
      t.ok(s.map?.uri.startsWith('init.mp4?v='), `segment ${s.uri} has a content-addressed map`)
    }
    t.match(text, /^#EXT-X-PRELOAD-HINT:TYPE=PART,URI="\d+\.\d+\.m4s"$/m)
    t.same(parseM3u8(text).warnings, [])
  })

  t.test('multivariant playlist names the rendition with codecs and resolution', async (t) => {
    const r = await get(`${base}/index.m3u8`)
    t.equal(r.status, 200)
    t.equal(r.headers.get('content-type'), 'application/vnd.apple.mpegurl')
    t.equal(r.headers.get('access-control-allow-origin'), '*')
    const p = parseStrict(r.text)
    t.equal(p.isMasterPlaylist, true)
    t.equal(p.variants.length, 1)
    const v = p.variants[0]
    t.equal(v.uri, 'source/index.m3u8')
    t.match(v.codecs, /^avc1\.[0-9a-f]{6},mp4a\.40\.2$/)
    t.same(v.resolution, { width: 640, height: 360 })
    t.ok(Math.abs(v.frameRate - 30) < 0.5, `frame rate ${v.frameRate}`)
    t.ok(v.bandwidth > 100_000)
  })

  t.test('a blocking request returns only after its part exists, and promptly', async (t) => {
    const store = o.origin.directory.get('t1')!.renditions.get('source')!
    const playlist = (await get(`${base}/source/index.m3u8`)).text
    const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(\d+)\.(\d+)\.m4s"/.exec(playlist)!
    const msn = Number(hint[1])
    const part = Number(hint[2])
    t.equal(store.part(msn, part), undefined, 'hinted part does not exist when asked for')
    const [pl, media] = await Promise.all([
      get(`${base}/source/index.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`).then((r) => ({ ...r, at: Date.now() })),
      get(`${base}/source/${msn}.${part}.m4s`).then((r) => ({ ...r, at: Date.now() })),
    ])
    const rec = store.part(msn, part) ?? store.part(msn + 1, 0)
    t.ok(rec, 'the part (or the next segment\'s first) exists now')
    t.equal(pl.status, 200)
    t.match(pl.text, new RegExp(`URI="(${msn}\\.${part}|${msn + 1}\\.0)\\.m4s"`), 'playlist lists the awaited part')
    t.ok(pl.at >= rec!.completedAt, 'playlist answered after the part completed')
    t.ok(pl.at - rec!.completedAt < 250, `playlist answered ${pl.at - rec!.completedAt} ms after completion`)
    if (store.part(msn, part)) {
      t.equal(media.status, 200)
      t.ok(media.at >= rec!.completedAt)
      t.same(media.body, store.part(msn, part)!.data, 'the hinted URI got the whole part')
      t.equal(media.headers.get('content-type'), 'video/iso.segment')
    } else {
      t.equal(media.status, 404, 'segment ended before the hinted part: 404')
    }
  })

  t.test('init + segment decode with ffprobe', async (t) => {
    const p = parseStrict((await get(`${base}/source/index.m3u8`)).text)
    const seg = p.segments.find((s: any) => s.uri)!
    const init = await get(`${base}/source/${seg.map.uri}`)
    const media = await get(`${base}/source/${seg.uri}`)
    t.equal(init.status, 200)
    t.equal(media.status, 200)
    t.match(init.headers.get('cache-control') ?? '', /immutable/)
    const dir = tempDirSync(t, 'streamd-probe-')
    const file = join(dir, 'seg.mp4')
    writeFileSync(file, Buffer.concat([init.body, media.body]))
    const probe = await ffprobeJson(file)
    const types = probe.streams.map((s: any) => s.codec_name).sort()
    t.same(types, ['aac', 'h264'])
    const frames = await countFrames(file)
    const expected = Math.round(seg.duration * 30)
    t.ok(Math.abs(frames.video - expected) <= 1, `video frames ${frames.video} ~ ${expected}`)
    t.ok(frames.audio > seg.duration * 40, `audio frames ${frames.audio}`)
  })
})
