/**
 * Issue 5 acceptance (SRT): FFmpeg publishes MPEG-TS over SRT and the stream
 * plays as LL-HLS; two callers share the port; a reconnect continues the
 * numbering. Real FFmpeg (libsrt caller) against streamd's own listener.
 */
import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startOrigin, get, waitFor, waitForSegments } from '../../helpers/origin.js'
import { ffprobeJson, countFrames } from '../../helpers/ffmpeg.js'
import { parseStrict } from '../../helpers/playlists.js'
import { srtUrl, startSrtPublisher } from '../../helpers/srt.js'
import { tempDirSync } from '../../helpers/temp-dir.js'

async function probeFirstSegment(t: Test, base: string): Promise<void> {
  const p = parseStrict((await get(`${base}/source/index.m3u8`)).text)
  t.ok(p.segments.length >= 2, 'media playlist lists segments')
  const seg = p.segments.find((s: any) => s.uri)!
  const init = await get(`${base}/source/${seg.map.uri}`)
  const media = await get(`${base}/source/${seg.uri}`)
  t.equal(media.status, 200)
  const file = join(tempDirSync(t, 'streamd-srt-'), 'seg.mp4')
  writeFileSync(file, Buffer.concat([init.body, media.body]))
  const probe = await ffprobeJson(file)
  t.same(probe.streams.map((s: any) => s.codec_name).sort(), ['aac', 'h264'])
  const frames = await countFrames(file)
  t.ok(Math.abs(frames.video - Math.round(seg.duration * 30)) <= 1, `video frames ${frames.video} for ${seg.duration} s`)
}

t.test('SRT publish to LL-HLS, two callers on one port', async (t) => {
  const o = await startOrigin(t)
  t.ok(o.srtPort > 0, 'SRT listener bound')
  const a = startSrtPublisher(srtUrl(o.srtPort, 'publish:t1:KEY', { latencyMs: 200 }), { width: 640, height: 360, fps: 30, gop: 60 })
  const b = startSrtPublisher(srtUrl(o.srtPort, '#!::r=t2,m=publish,s=KEY2'), { width: 320, height: 240, fps: 30, gop: 60 })
  t.teardown(() => Promise.all([a.stop(), b.stop()]))
  await waitForSegments(`${o.http}/live/t1/source/index.m3u8`, 2, 40_000)
  await waitForSegments(`${o.http}/live/t2/source/index.m3u8`, 2, 40_000)
  await probeFirstSegment(t, `${o.http}/live/t1`)
  await probeFirstSegment(t, `${o.http}/live/t2`)
  const api = JSON.parse((await get(`${o.http}/api/v1/streams`)).text)
  const t1 = (api.streams ?? api).find((s: any) => s.name === 't1')
  t.equal(t1.ingest.protocol, 'srt')
  t.same(t1.ingest.tracks.map((x: any) => [x.kind, x.codec]), [['video', 'H.264'], ['audio', 'AAC (ADTS)']])
  t.equal(o.origin.srt!.connections().length, 2, 'two connections on one port')
  t.equal(o.origin.srt!.totals().ccErrors, 0, 'no MPEG-TS continuity errors')
})

t.test('a caller that reconnects continues the numbering', async (t) => {
  const o = await startOrigin(t)
  const url = srtUrl(o.srtPort, 'publish:re:KEY')
  const media = `${o.http}/live/re/source/index.m3u8`
  const first = startSrtPublisher(url, { duration: 5, gop: 30 })
  t.teardown(() => first.stop())
  await waitForSegments(media, 1, 40_000)
  t.equal(await first.exited, 0, 'first publisher ran to its end')
  await waitFor(() => o.origin.directory.get('re')?.state === 'ended', 20_000, 'stream ended')
  const before = parseStrict((await get(media)).text)
  const lastMsn = before.mediaSequenceBase + before.segments.filter((s: any) => s.uri).length - 1
  const second = startSrtPublisher(url, { gop: 30 })
  t.teardown(() => second.stop())
  const text = await waitFor(async () => {
    const r = await get(media)
    return r.status === 200 && !/#EXT-X-ENDLIST/.test(r.text) && (r.text.match(/^#EXTINF/gm)?.length ?? 0) > before.segments.length ? r.text : undefined
  }, 40_000, 'new segments after the reconnect')
  const after = parseStrict(text)
  t.equal(after.mediaSequenceBase, before.mediaSequenceBase, 'the window still starts at the old first segment')
  const uris = after.segments.filter((s: any) => s.uri).map((s: any) => Number(/^(\d+)\.m4s/.exec(s.uri)![1]))
  t.ok(uris.some((n: number) => n > lastMsn), `segments after ${lastMsn}: ${uris.join(',')}`)
  t.ok(after.segments.some((s: any) => s.discontinuity), 'a discontinuity marks the new session')
})

t.test('a caller that vanishes without shutdown and comes back at once takes its stream over', async (t) => {
  const o = await startOrigin(t)
  const url = srtUrl(o.srtPort, 'publish:gone:KEY')
  const media = `${o.http}/live/gone/source/index.m3u8`
  const first = startSrtPublisher(url, { gop: 30 })
  t.teardown(() => first.stop())
  await waitForSegments(media, 1, 40_000)
  await first.stop() // SIGKILL: no SHUTDOWN reaches the server
  const before = parseStrict((await get(media)).text)
  const lastMsn = before.mediaSequenceBase + before.segments.filter((s: any) => s.uri).length - 1
  await new Promise((r) => setTimeout(r, 1200))
  t.equal(o.origin.srt!.connections().length, 1, 'the old connection is still there (idle timeout not reached)')
  const second = startSrtPublisher(url, { gop: 30 })
  t.teardown(() => second.stop())
  const text = await waitFor(async () => {
    const r = await get(media)
    const uris = [...r.text.matchAll(/^(\d+)\.m4s/gm)].map((m) => Number(m[1]))
    return uris.some((n) => n > lastMsn + 1) ? r.text : undefined
  }, 40_000, 'segments from the second caller')
  t.ok(parseStrict(text).segments.some((s: any) => s.discontinuity), 'the new session follows a discontinuity')
  t.equal(second.exitCode, null, 'the second caller was accepted and keeps publishing')
  t.equal(o.origin.srt!.connections().length, 1)
})
