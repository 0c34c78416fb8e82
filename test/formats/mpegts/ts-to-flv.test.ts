/**
 * MPEG-TS → FLV tags on FFmpeg-made transport streams: tag counts, key frames,
 * composition offsets, languages, 33-bit wrap, continuity errors, refusals.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FFMPEG, countFrames, ffprobeJson } from '../../helpers/ffmpeg.js'
import { TsToFlv, type FlvLikeTag, type TsTrack } from '../../../src/formats/mpegts/ts-to-flv.js'
import { flvHeader, flvTag, parseVideoTagHeader } from '../../../src/formats/flv.js'
import { parseAvcDecoderConfig } from '../../../src/formats/h264-sps.js'
import { TS_PACKET_SIZE } from '../../../src/formats/mpegts/demuxer.js'
import { tempDirSync } from '../../helpers/temp-dir.js'

const run = promisify(execFile)
const dir = tempDirSync(t, 'streamd-ts-')

async function makeTs(name: string, extra: string[], opts: { bframes?: boolean; hevc?: boolean } = {}): Promise<Buffer> {
  const file = join(dir, name)
  const codec = opts.hevc ? ['-c:v', 'libx265', '-x265-params', 'log-level=error'] : ['-c:v', 'libx264', '-preset', 'ultrafast', ...(opts.bframes ? ['-bf', '2', '-x264-params', 'b-adapt=0'] : [])]
  await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-f', 'lavfi', '-i', 'sine=frequency=660:sample_rate=44100',
    '-t', '2', '-map', '0:v', '-map', '1:a', '-map', '2:a', ...codec, '-g', '30', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-metadata:s:a:0', 'language=eng', '-metadata:s:a:1', 'language=fra', ...extra, '-f', 'mpegts', '-y', file])
  return readFileSync(file)
}

function convert(ts: Buffer, chunk = 1316, audioLanguage?: string): { tags: FlvLikeTag[]; tracks: TsTrack[]; conv: TsToFlv } {
  const tags: FlvLikeTag[] = []
  let tracks: TsTrack[] = []
  const conv = new TsToFlv({ onTag: (x) => tags.push(x), onTracks: (x) => { tracks = x }, audioLanguage })
  for (let i = 0; i < ts.length; i += chunk) conv.push(ts.subarray(i, i + chunk))
  conv.flush()
  return { tags, tracks, conv }
}

t.test('H.264 + two AAC tracks with languages', async (t) => {
  const ts = await makeTs('a.ts', [], { bframes: true })
  for (const chunk of [188, 1316, 1000, 65536]) {
    const { tags, tracks, conv } = convert(ts, chunk)
    t.equal(conv.stats.ccErrors, 0, `no continuity errors (chunk ${chunk})`)
    const video = tags.filter((x) => x.kind === 'video')
    const audio = tags.filter((x) => x.kind === 'audio')
    t.equal(video[0]!.data[0], 0x17, 'first video tag is an AVC key-frame header')
    t.equal(video[0]!.data[1], 0, 'first video tag is the sequence header')
    const cfg = parseAvcDecoderConfig(video[0]!.data.subarray(5))
    t.equal(cfg.sps.length, 1)
    t.equal(cfg.pps.length, 1)
    const frames = video.slice(1).map((x) => parseVideoTagHeader(x.data))
    t.equal(frames.length, 60, `60 frames (chunk ${chunk})`)
    t.equal(frames.filter((h) => h.keyframe).length, 2, 'a key frame every 30 frames')
    t.ok(frames[0]!.keyframe)
    t.ok(frames.some((h) => h.compositionTimeMs > 0), 'B-frames keep their composition offsets')
    t.same(audio[0]!.data.subarray(0, 2), Buffer.from([0xaf, 0]), 'AAC sequence header first')
    // 48 kHz AudioSpecificConfig: AAC-LC (2), index 3, 1 channel.
    t.same(audio[0]!.data.subarray(2), Buffer.from([0x11, 0x88]))
    t.ok(Math.abs(audio.length - 1 - 2 * 48000 / 1024) <= 3, `~94 AAC frames of the first track, got ${audio.length - 1}`)
    t.same(tracks.map((x) => [x.kind, x.codec, x.language ?? null, x.selected]),
      [['video', 'H.264', null, true], ['audio', 'AAC (ADTS)', 'eng', true], ['audio', 'AAC (ADTS)', 'fra', false]])
  }
})

t.test('a configured language picks its audio track', async (t) => {
  const ts = await makeTs('b.ts', [])
  const { tags, tracks } = convert(ts, 1316, 'fra')
  t.same(tracks.filter((x) => x.selected).map((x) => x.language ?? x.kind), ['video', 'fra'])
  // 44.1 kHz: index 4.
  t.same(tags.find((x) => x.kind === 'audio')!.data.subarray(2), Buffer.from([0x12, 0x08]))
})

t.test('the tags remux into an FLV FFmpeg decodes whole', async (t) => {
  const ts = await makeTs('c.ts', [])
  const { tags } = convert(ts)
  const flv = Buffer.concat([flvHeader(true, true), ...tags.map((x) => flvTag(x.kind, x.timestamp, x.data))])
  const file = join(dir, 'c.flv')
  writeFileSync(file, flv)
  const probe = await ffprobeJson(file)
  t.same(probe.streams.map((s: any) => s.codec_name).sort(), ['aac', 'h264'])
  const frames = await countFrames(file)
  t.equal(frames.video, 60)
  t.ok(frames.audio >= 90)
})

t.test('timestamps continue across the 33-bit PTS wrap', async (t) => {
  // 2^33 / 90 kHz = 95443.72 s: start a second before it.
  const ts = await makeTs('d.ts', ['-output_ts_offset', '95442.8', '-mpegts_copyts', '1'])
  const { tags } = convert(ts)
  const video = tags.filter((x) => x.kind === 'video').map((x) => x.timestamp)
  for (let i = 1; i < video.length; i++) t.ok(video[i]! >= video[i - 1]!, `video ms ${video[i]} after ${video[i - 1]}`)
  t.ok(video[video.length - 1]! > 95443.72 * 1000, 'last frame is past the wrap point on the unrolled clock')
  t.ok(video[video.length - 1]! - video[0]! < 2100, 'no 26-hour jump')
})

t.test('a lost transport packet is counted as a continuity error', async (t) => {
  const ts = await makeTs('e.ts', [])
  const cut = 200 * TS_PACKET_SIZE
  const { conv } = convert(Buffer.concat([ts.subarray(0, cut), ts.subarray(cut + TS_PACKET_SIZE)]))
  t.equal(conv.stats.ccErrors, 1)
})

t.test('bytes that are not MPEG-TS are refused', async (t) => {
  const conv = new TsToFlv({ onTag: () => {} })
  const junk = Buffer.alloc(70 * 1024, 0x11)
  t.throws(() => conv.push(junk), { code: 'ERR_MEDIA_FORMAT' })
})

t.test('HEVC is reported as unsupported with the reason', async (t) => {
  const ts = await makeTs('f.ts', ['-frames:v', '10'], { hevc: true })
  const { conv, tags } = convert(ts)
  t.match(conv.unsupported ?? '', /HEVC/)
  t.equal(tags.filter((x) => x.kind === 'video').length, 0)
})
