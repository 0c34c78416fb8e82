/**
 * Slate clips rendered by the real FFmpeg: what the tags hold, that a few seconds of
 * the looped slate decode as one clean stream, the picture (card or image), and the
 * failures: a missing or undecodable image, a bad spec, a render that hangs.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { checkSlateImage, SlateClip } from '../../src/transcode/slate-clip.js'
import { SlateTimeline } from '../../src/transcode/slate-player.js'
import type { SlateSpec } from '../../src/transcode/slate-spec.js'
import { flvHeader, flvTag, parseAudioTagHeader, parseVideoTagHeader } from '../../src/formats/flv.js'
import { sourceVideoInfo } from '../../src/formats/h264-sps.js'
import { parseAudioSpecificConfig } from '../../src/formats/mp4/codec-config.js'
import { audioSpecificConfig } from '../../src/formats/mpegts/adts.js'
import { silentLogger } from '../../src/log/logger.js'
import { FFMPEG, FFPROBE } from '../helpers/ffmpeg.js'
import { captureLogger } from '../helpers/recording-handler.js'
import { tempDirSync } from '../helpers/temp-dir.js'

const run = promisify(execFile)
const dir = tempDirSync(t, 'slate-')
const log = silentLogger()

/** AAC-LC AudioSpecificConfig: rate index 3 is 48 kHz, 4 is 44.1 kHz. */
const asc = (rateIndex: number, channelConfig: number): Buffer => audioSpecificConfig({ objectType: 2, rateIndex, channelConfig })

/** The slate played from `startMs` for `ms` of media (no waiting: the timeline is pure), as an FLV file. */
function writeSlateFlv(path: string, clip: SlateClip, startMs: number, ms: number): { video: number[]; audio: number[] } {
  const tl = new SlateTimeline(clip, startMs)
  const tags = [...tl.headers(0), ...tl.take(startMs + ms, 0)]
  writeFileSync(path, Buffer.concat([flvHeader(clip.audio !== undefined, true), ...tags.map((x) => flvTag(x.kind, x.timestamp, x.data))]))
  const frames = tags.slice(clip.audio ? 2 : 1)
  return { video: frames.filter((x) => x.kind === 'video').map((x) => x.timestamp), audio: frames.filter((x) => x.kind === 'audio').map((x) => x.timestamp) }
}

/** Decoded frames of a file, per stream, with what ffprobe said on stderr (decode errors). */
async function decodeFrames(path: string): Promise<{ video: Array<{ ms: number; key: boolean }>; audio: number[]; stderr: string }> {
  const { stdout, stderr } = await run(FFPROBE, ['-v', 'error', '-of', 'json', '-show_entries', 'frame=media_type,pts,key_frame', '-show_frames', path])
  const frames = (JSON.parse(stdout) as { frames: Array<{ media_type: string; pts: number; key_frame: number }> }).frames
  return {
    video: frames.filter((f) => f.media_type === 'video').map((f) => ({ ms: f.pts, key: f.key_frame === 1 })),
    audio: frames.filter((f) => f.media_type === 'audio').map((f) => f.pts),
    stderr,
  }
}

/** The first decoded picture as RGB bytes. */
async function firstPicture(path: string): Promise<Buffer> {
  const { stdout } = await run(FFMPEG, ['-v', 'error', '-i', path, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { encoding: 'buffer', maxBuffer: 64 << 20 })
  return stdout
}
const pixel = (rgb: Buffer, width: number, x: number, y: number): number[] => [...rgb.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)]
const brightPixels = (rgb: Buffer): number => { let n = 0; for (let i = 0; i < rgb.length; i += 3) if (rgb[i]! > 200 && rgb[i + 1]! > 200 && rgb[i + 2]! > 200) n++; return n }

const monotonic = (xs: number[]): boolean => xs.every((x, i) => i === 0 || x > xs[i - 1]!)

/** A script standing in for ffmpeg: `body` runs with DIR set; `exec "$REAL"` runs the real one. */
function fakeFfmpeg(name: string, body: string): string {
  const path = join(dir, name)
  writeFileSync(path, `#!/bin/sh\nDIR='${dir}'\nREAL='${FFMPEG}'\n${body}\n`)
  chmodSync(path, 0o755)
  return path
}

/** True while `pid` runs (a zombie has ended). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

const cases: Array<{ name: string; spec: SlateSpec; rate: number; channels: number }> = [
  { name: '640x360@30, 48 kHz stereo', spec: { width: 640, height: 360, fps: 30, audioConfig: asc(3, 2), streamName: 'cam1', image: null }, rate: 48000, channels: 2 },
  { name: '1280x720@25, 44.1 kHz mono', spec: { width: 1280, height: 720, fps: 25, audioConfig: asc(4, 1), streamName: 'studio-b', image: null }, rate: 44100, channels: 1 },
]

for (const c of cases) {
  t.test(`card slate ${c.name}: the tags, then 3 s of it looped decode cleanly`, async (t) => {
    SlateClip.clearCache()
    const clip = await SlateClip.render(FFMPEG, c.spec, log)
    t.equal(clip.picture, 'card', 'the text was drawn (Debian FFmpeg has drawtext; fonts-dejavu-core is installed)')
    const seq = parseVideoTagHeader(clip.videoSeq)
    t.equal(seq.avcPacketType, 'seq', 'the first video tag is the AVC sequence header')
    const info = sourceVideoInfo(clip.videoSeq)
    t.same([info.width, info.height], [c.spec.width, c.spec.height], 'its SPS has the stream size')
    t.equal(clip.frames.length, c.spec.fps, 'fps × 1 s frames')
    t.same(clip.frames.map((f) => parseVideoTagHeader(f).keyframe), clip.frames.map((_, i) => i === 0), 'one key frame, at the loop start')
    t.ok(clip.frames.every((f) => parseVideoTagHeader(f).compositionTimeMs === 0), 'no reordering')
    const ascOut = parseAudioSpecificConfig(clip.audio!.seq.subarray(parseAudioTagHeader(clip.audio!.seq).headerSize))
    t.same(ascOut, { objectType: 2, sampleRate: c.rate, channels: c.channels }, 'AAC-LC at the source rate and channels')
    t.equal(parseAudioTagHeader(clip.audio!.silence).aacPacketType, 'raw')

    const flv = join(dir, `loop-${c.spec.width}.flv`)
    const start = 5_000_000 // a stream already 83 minutes in
    const sent = writeSlateFlv(flv, clip, start, 3000)
    const got = await decodeFrames(flv)
    t.equal(got.stderr, '', 'no decode errors')
    t.equal(got.video.length, sent.video.length, 'every video frame decodes')
    t.equal(got.video.length, 3 * c.spec.fps + 1, '3 s of frames, both ends included')
    t.equal(got.audio.length, sent.audio.length, 'every audio frame decodes')
    t.equal(got.audio.length, Math.floor((3000 * c.rate) / 1024 / 1000) + 1)
    t.ok(monotonic(got.video.map((f) => f.ms)), 'video timestamps increase')
    t.ok(monotonic(got.audio), 'audio timestamps increase')
    t.same(got.video.map((f) => f.ms), sent.video, 'video plays at the timestamps sent')
    t.same(got.video.filter((f) => f.key).map((f) => f.ms), [0, 1, 2, 3].map((s) => start + s * 1000), 'a key frame at every loop start')

    const { stderr } = await run(FFMPEG, ['-hide_banner', '-nostats', '-i', flv, '-map', '0:a', '-af', 'volumedetect', '-f', 'null', '-'])
    const max = /max_volume: (-?[\d.]+|-inf) dB/.exec(stderr)?.[1]
    t.ok(max === '-inf' || Number(max) < -80, `the repeated frame decodes to silence (max ${max} dB)`)

    const rgb = await firstPicture(flv)
    t.equal(rgb.length, c.spec.width * c.spec.height * 3)
    const corner = pixel(rgb, c.spec.width, 4, 4)
    t.ok(corner.every((v) => v > 16 && v < 60), `a dark card (corner ${corner})`)
    t.ok(brightPixels(rgb) > 500, 'with white text on it')
  })
}

t.test('a clip of few frames still gets its audio: 1 fps mono, 12.5 fps 5.1, 96 kHz at 2 s', async (t) => {
  SlateClip.clearCache()
  const small: Array<[Partial<SlateSpec>, number, number, number]> = [
    [{ width: 16, height: 16, fps: 1, audioConfig: asc(3, 1) }, 1, 48000, 1],
    [{ width: 176, height: 144, fps: 12.5, audioConfig: asc(3, 6) }, 13, 48000, 6],
    [{ width: 160, height: 90, fps: 2, seconds: 2, audioConfig: asc(0, 2) }, 4, 96000, 2],
  ]
  for (const [spec, frames, rate, channels] of small) {
    const clip = await SlateClip.render(FFMPEG, { width: 0, height: 0, fps: 0, streamName: 'x', image: null, ...spec }, log)
    t.equal(clip.frames.length, frames, `${spec.width}x${spec.height}@${spec.fps}: ${frames} frames`)
    t.same([clip.audio?.sampleRate, clip.audio?.channels], [rate, channels], 'and silence in the source format')
  }
})

t.test('image slate: the picture fitted inside the size, centred on black; no audio without a config', async (t) => {
  SlateClip.clearCache()
  const png = join(dir, 'red.png')
  await run(FFMPEG, ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=red:s=400x400', '-frames:v', '1', '-y', png])
  await checkSlateImage(png)
  const clip = await SlateClip.render(FFMPEG, { width: 640, height: 360, fps: 30, streamName: 'cam1', image: png }, log)
  t.equal(clip.picture, 'image')
  t.equal(clip.audio, undefined)
  t.equal(clip.frames.length, 30)
  const flv = join(dir, 'image.flv')
  writeSlateFlv(flv, clip, 0, 1500)
  const got = await decodeFrames(flv)
  t.equal(got.stderr, '')
  t.equal(got.video.length, 46)
  const rgb = await firstPicture(flv)
  const centre = pixel(rgb, 640, 320, 180)
  t.ok(centre[0]! > 200 && centre[1]! < 60 && centre[2]! < 60, `red in the middle (${centre})`)
  for (const x of [10, 630]) {
    const bar = pixel(rgb, 640, x, 180)
    t.ok(bar.every((v) => v < 24), `black bar at x=${x} (${bar}): a square picture pillarboxed in 16:9`)
  }
  t.equal(brightPixels(rgb), 0, 'no card text over an image')
})

t.test('slate.image missing or not a picture: a clear error; a missing file starts no FFmpeg', async (t) => {
  SlateClip.clearCache()
  const counting = fakeFfmpeg('counting-ffmpeg', 'echo x >> "$DIR/spawned"\nexec "$REAL" "$@"')
  const missing = join(dir, 'no-such.png')
  await t.rejects(SlateClip.render(counting, { width: 640, height: 360, fps: 30, streamName: 'a', image: missing }, log),
    { name: 'SlateError', message: `slate.image ${missing} cannot be read: ENOENT` })
  await t.rejects(SlateClip.render(counting, { width: 640, height: 360, fps: 30, streamName: 'a', image: dir }, log), { message: /slate.image .* is not a file/ })
  t.notOk(existsSync(join(dir, 'spawned')), 'no FFmpeg started')
  await t.rejects(checkSlateImage(missing), { message: `slate.image ${missing} cannot be read: ENOENT` }, 'the same check at startup')
  const text = join(dir, 'notes.png')
  writeFileSync(text, 'this is not a picture\n')
  await t.rejects(SlateClip.render(counting, { width: 640, height: 360, fps: 30, streamName: 'a', image: text }, log),
    { name: 'SlateError', message: new RegExp(`slate.image ${text} cannot be rendered as a picture \\(slate: FFmpeg exited with 1: `) })
  rmSync(join(dir, 'spawned'), { force: true })
})

t.test('a bad spec is refused before FFmpeg starts', async (t) => {
  SlateClip.clearCache()
  const counting = fakeFfmpeg('counting-ffmpeg-2', 'echo x >> "$DIR/spawned-2"\nexec "$REAL" "$@"')
  await t.rejects(SlateClip.render(counting, { width: 0, height: 0, fps: 30, streamName: 'a', image: null }, log), { name: 'SlateError', message: /width 0/ })
  await t.rejects(SlateClip.render(counting, { width: 640, height: 360, fps: 0, streamName: 'a', image: null }, log), { name: 'SlateError', message: /fps 0/ })
  await t.rejects(SlateClip.render(counting, { width: 640, height: 360, fps: 30, audioConfig: asc(3, 0), streamName: 'a', image: null }, log), { message: /0 audio channels/ })
  t.notOk(existsSync(join(dir, 'spawned-2')), 'no FFmpeg started')
})

t.test('a render that hangs is killed at its timeout, children included', async (t) => {
  SlateClip.clearCache()
  // A wrapper whose own child would outlive a kill of the wrapper alone and hold stdout open.
  const hang = fakeFfmpeg('hanging-ffmpeg', 'echo $$ > "$DIR/pids"\nsleep 30 &\necho $! >> "$DIR/pids"\nwait')
  const started = Date.now()
  await t.rejects(SlateClip.render(hang, { width: 320, height: 180, fps: 30, streamName: 'a', image: null }, log, { timeoutMs: 400 }),
    { code: 'ERR_SLATE', reason: 'timeout', message: 'slate: FFmpeg did not finish rendering within 400 ms and was killed' })
  t.ok(Date.now() - started < 25_000, 'settled without waiting for the sleep')
  const pids = readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n').map(Number)
  t.equal(pids.length, 2)
  for (let i = 0; i < 50 && pids.some(running); i++) await new Promise((r) => setTimeout(r, 20))
  t.same(pids.filter(running), [], 'no process left')
})

t.test('an FFmpeg that cannot draw text renders a plain card and says so', async (t) => {
  SlateClip.clearCache()
  const noText = fakeFfmpeg('no-drawtext-ffmpeg', `case "$*" in *drawtext*) echo "No such filter: 'drawtext'" >&2; exit 1;; esac\nexec "$REAL" "$@"`)
  const cap = captureLogger()
  const clip = await SlateClip.render(noText, { width: 640, height: 360, fps: 30, streamName: 'cam1', image: null }, cap.logger)
  t.equal(clip.picture, 'plain card')
  t.match(cap.warns().map((l) => l.msg), [/could not draw the text.*plain card/])
  const flv = join(dir, 'plain.flv')
  writeSlateFlv(flv, clip, 0, 100)
  t.equal(brightPixels(await firstPicture(flv)), 0, 'no text on it')
})

t.test('clips are cached per spec (4 at most); a failure is not', async (t) => {
  SlateClip.clearCache()
  const spawns = join(dir, 'spawned-3')
  const counting = fakeFfmpeg('counting-ffmpeg-3', `echo x >> "$DIR/spawned-3"\n[ -e "$DIR/fail" ] && exit 1\nexec "$REAL" "$@"`)
  const count = (): number => (existsSync(spawns) ? readFileSync(spawns, 'utf8').split('\n').filter(Boolean).length : 0)
  const spec = (fps: number, streamName = 'a'): SlateSpec => ({ width: 160, height: 90, fps, streamName, image: null })
  const [a, b] = await Promise.all([SlateClip.render(counting, spec(10), log), SlateClip.render(counting, spec(10), log)])
  t.equal(a, b, 'the same clip')
  t.equal(count(), 1, 'rendered once')
  t.equal(await SlateClip.render(counting, spec(10), log), a)
  t.equal(count(), 1)
  await SlateClip.render(counting, spec(10, 'b'), log)
  t.equal(count(), 2, 'another stream name is another card')
  for (const fps of [12, 15, 20]) await SlateClip.render(counting, spec(fps), log)
  t.equal(count(), 5)
  t.not(await SlateClip.render(counting, spec(10), log), a, 'the least recently used was evicted')
  t.equal(count(), 6)
  writeFileSync(join(dir, 'fail'), '')
  await t.rejects(SlateClip.render(counting, spec(24), log), { message: /FFmpeg exited with 1/ })
  rmSync(join(dir, 'fail'))
  // The failed card retried the plain card too: two spawns for the failure.
  t.equal(count(), 8)
  t.equal((await SlateClip.render(counting, spec(24), log)).frames.length, 24, 'the failure was not kept')
  t.equal(count(), 9)
})
