/**
 * HEVC over SRT with the ladder on keeps the source's frame rate: read from the
 * SPS VUI timing info when libx265 writes it, measured from the timestamps when
 * it does not. The encoded rung runs at that rate (ffprobe r_frame_rate and the
 * frame count of a segment), and segment N starts at the same media time in the
 * copied rung, the encoded one and the audio: the 2 s grid holds.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startOrigin, get, waitFor } from '../../helpers/origin.js'
import { ffprobeJson } from '../../helpers/ffmpeg.js'
import { parseStrict } from '../../helpers/playlists.js'
import { srtUrl, startSrtPublisher } from '../../helpers/srt.js'
import { firstSampleTime } from '../../helpers/mp4-fixtures.js'

/** A copied rung and one small encoded rung with no frame-rate cap, at x264 ultrafast to spare the CPU. */
const LADDER = { enabled: true, preset: 'ultrafast', rungs: [{ name: 'source', copy: true }, { name: '180p', height: 180, bitrate: 250 }] }

async function checkRate(t: Test, fps: number, x265Params: string): Promise<void> {
  const o = await startOrigin(t, { ladder: LADDER })
  const name = `hr${fps}`
  const pub = startSrtPublisher(srtUrl(o.srtPort, `publish:${name}:KEY`), {
    width: 320, height: 240, fps, gop: fps * 2,
    extra: ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', `log-level=error:keyint=${fps * 2}:min-keyint=${fps * 2}:scenecut=0:${x265Params}`],
  })
  t.teardown(() => pub.stop())
  const base = `${o.http}/live/${name}`
  const stream = await waitFor(() => o.origin.directory.get(name), 30_000, 'the stream')
  const names = ['source', '180p', 'audio']
  await waitFor(() => names.every((n) => (stream.renditions.get(n)?.segments.filter((s) => s.complete).length ?? 0) >= 3), 60_000, 'three segments in every rendition')
  const plan = o.origin.sessions.get(name)!.currentPlan!
  t.equal(plan.mode === 'ladder' ? plan.source?.fps : undefined, fps, `planned at ${fps} fps`)

  const text = (await get(`${base}/180p/index.m3u8`)).text
  parseStrict(text)
  const complete = [...text.matchAll(/#EXTINF:([\d.]+),\n(\d+)\.m4s/g)].map((m) => ({ duration: Number(m[1]), msn: Number(m[2]) }))
  t.ok(complete.length >= 2, `${complete.length} complete segments listed`)
  for (const s of complete.slice(1)) t.equal(s.duration, 2, `180p segment ${s.msn} lasts 2 s`)

  const msn = complete.at(-1)!.msn
  const inits = await Promise.all(names.map(async (n) => (await get(`${base}/${n}/init.mp4`)).body))
  const segs = await Promise.all(names.map(async (n) => (await get(`${base}/${n}/${msn}.m4s`)).body))
  const file = join(mkdtempSync(join(tmpdir(), 'streamd-hevc-rate-')), '180p.mp4')
  writeFileSync(file, Buffer.concat([inits[1]!, segs[1]!]))
  const video = (await ffprobeJson(file, ['-count_frames'])).streams.find((s: any) => s.codec_type === 'video')
  t.equal(video.r_frame_rate, `${fps}/1`, `the encoded rung runs at ${fps} fps`)
  t.equal(Number(video.nb_read_frames), 2 * fps, `a 2 s segment holds ${2 * fps} frames`)

  const times = names.map((_, i) => firstSampleTime(inits[i]!, segs[i]!).seconds)
  t.ok(Math.abs(times[0]! - times[1]!) <= 1 / fps + 1e-6, `segment ${msn}: copied and encoded rungs start within a frame (${times.map((x) => x.toFixed(3)).join(', ')})`)
  t.ok(Math.abs(times[2]! - times[1]!) <= 1024 / 48000 + 1 / fps, `segment ${msn}: the audio starts within a frame of the video`)
}

t.test('HEVC at 25 fps with VUI timing info: the ladder runs at 25 fps on the 2 s grid', (t) => checkRate(t, 25, 'vui-timing-info=1'))

t.test('HEVC at 50 fps without VUI timing info: the rate is measured, the ladder runs at 50 fps', (t) => checkRate(t, 50, 'vui-timing-info=0'))
