/**
 * Issue 5: HEVC over SRT. FFmpeg (libx265, small and ultrafast to spare the
 * CPU) publishes MPEG-TS; without a ladder the source plays as hvc1 CMAF; with
 * one, the copied rung stays hvc1 and the encoded rungs are H.264 decoded from
 * the HEVC. ffprobe reads init + segment of every rendition.
 */
import t, { type Test } from 'tap'
import { tempDirSync } from '../../helpers/temp-dir.js'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startOrigin, get, waitFor, waitForSegments } from '../../helpers/origin.js'
import { ffprobeJson } from '../../helpers/ffmpeg.js'
import { parseM3u8, parseStrict } from '../../helpers/playlists.js'
import { srtUrl, startSrtPublisher } from '../../helpers/srt.js'

/** libx265 instead of the helper's libx264 (later options win). */
const HEVC = ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:keyint=60:min-keyint=60:scenecut=0']

/** ffprobe of a rendition's init + second listed segment (m3u8-parser: audio parts on the grid are INDEPENDENT and may be under 85%). */
export async function probeRendition(t: Test, base: string, rendition: string): Promise<any[]> {
  const { manifest } = parseM3u8((await get(`${base}/${rendition}/index.m3u8`)).text)
  const segs = manifest.segments.filter((s: any) => s.uri)
  const seg = segs[1] ?? segs[0]
  const init = await get(`${base}/${rendition}/${seg.map.uri}`)
  const media = await get(`${base}/${rendition}/${seg.uri}`)
  t.equal(media.status, 200, `${rendition} segment served`)
  const file = join(tempDirSync(t, 'streamd-hevc-'), `${rendition}.mp4`)
  writeFileSync(file, Buffer.concat([init.body, media.body]))
  return (await ffprobeJson(file, ['-count_frames'])).streams
}

t.test('HEVC over SRT without a ladder: the source plays as hvc1', async (t) => {
  const o = await startOrigin(t)
  const pub = startSrtPublisher(srtUrl(o.srtPort, 'publish:hevc:KEY'), { width: 320, height: 240, fps: 30, gop: 60, extra: HEVC })
  t.teardown(() => pub.stop())
  const base = `${o.http}/live/hevc`
  await waitForSegments(`${base}/source/index.m3u8`, 3, 60_000)
  parseStrict((await get(`${base}/source/index.m3u8`)).text) // the muxed rendition passes the strict parser
  const mv = (await get(`${base}/index.m3u8`)).text
  t.match(mv, /CODECS="hvc1\.1\.6\.L\d+\.[0-9A-F]+,mp4a\.40\.2"/, 'CODECS from the hvc1 init')
  t.match(mv, /RESOLUTION=320x240/)
  const streams = await probeRendition(t, base, 'source')
  const video = streams.find((s: any) => s.codec_type === 'video')
  t.equal(video.codec_name, 'hevc')
  t.equal(video.codec_tag_string, 'hvc1')
  t.ok(Number(video.nb_read_frames) >= 55, `a 2 s segment decodes (${video.nb_read_frames} frames)`)
  t.equal(streams.find((s: any) => s.codec_type === 'audio')?.codec_name, 'aac')
  t.equal(o.origin.directory.get('hevc')?.state, 'live')
})

t.test('HEVC over SRT with a ladder: copied rung hvc1, encoded rungs H.264', async (t) => {
  const o = await startOrigin(t, { ladder: { enabled: true } })
  const pub = startSrtPublisher(srtUrl(o.srtPort, 'publish:hlad:KEY'), { width: 320, height: 240, fps: 30, gop: 60, extra: HEVC })
  t.teardown(() => pub.stop())
  const base = `${o.http}/live/hlad`
  const stream = await waitFor(() => o.origin.directory.get('hlad'), 30_000, 'the stream')
  await waitFor(() => stream.renditions.size >= 3 && [...stream.renditions.values()].every((r) => r.segments.filter((s) => s.complete).length >= 2), 60_000, 'two segments in every rendition')
  const p = parseStrict((await get(`${base}/index.m3u8`)).text)
  const variants = p.variants.map((v: any) => ({ uri: v.uri.split('/')[0], codecs: v.codecs as string }))
  const hevc = variants.filter((v: any) => v.codecs.startsWith('hvc1.'))
  const avc = variants.filter((v: any) => v.codecs.startsWith('avc1.'))
  t.equal(hevc.length, 1, `one copied hvc1 variant: ${JSON.stringify(variants)}`)
  t.ok(avc.length >= 1, 'encoded variants are H.264')
  t.equal((await probeRendition(t, base, hevc[0]!.uri)).find((s: any) => s.codec_type === 'video').codec_name, 'hevc')
  const encoded = (await probeRendition(t, base, avc[0]!.uri)).find((s: any) => s.codec_type === 'video')
  t.equal(encoded.codec_name, 'h264', 'decoded from HEVC, encoded by x264')
  t.ok(Number(encoded.nb_read_frames) > 0)
  const audio = await probeRendition(t, base, 'audio')
  t.same(audio.map((s: any) => s.codec_name), ['aac'])
})
