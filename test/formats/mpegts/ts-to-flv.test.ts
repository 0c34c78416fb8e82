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
import { parseHevcDecoderConfig } from '../../../src/formats/hevc-sps.js'
import { hevcCodec } from '../../../src/formats/mp4/codec-config.js'
import { probeSps } from '../../../src/core/stream-plan.js'
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
    const audio = tags.filter((x) => x.kind === 'audio' && x.track === 0)
    const second = tags.filter((x) => x.kind === 'audio' && x.track === 1)
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
    t.ok(Math.abs(second.length - 1 - 2 * 44100 / 1024) <= 3, `~86 AAC frames of the second track, got ${second.length - 1}`)
    t.same([audio[0]!.language, second[0]!.language], ['eng', 'fra'], 'each sequence header carries its language')
    t.same(tracks.map((x) => [x.kind, x.codec, x.language ?? null, x.selected, x.track ?? null]),
      [['video', 'H.264', null, true, null], ['audio', 'AAC (ADTS)', 'eng', true, 0], ['audio', 'AAC (ADTS)', 'fra', true, 1]])
  }
})

t.test('a configured language is numbered first (the default rendition)', async (t) => {
  const ts = await makeTs('b.ts', [])
  const { tags, tracks } = convert(ts, 1316, 'fra')
  t.same(tracks.filter((x) => x.kind === 'audio').map((x) => [x.language, x.track]), [['eng', 1], ['fra', 0]])
  // 44.1 kHz: index 4.
  t.same(tags.find((x) => x.kind === 'audio' && x.track === 0)!.data.subarray(2), Buffer.from([0x12, 0x08]))
})

t.test('the configured language matches its other ISO 639-2 form (fre is fra)', async (t) => {
  const ts = await makeTs('b2.ts', [])
  const { tracks } = convert(ts, 1316, 'fre')
  t.same(tracks.filter((x) => x.kind === 'audio').map((x) => [x.language, x.track]), [['eng', 1], ['fra', 0]], 'the fra track is numbered first')
})

t.test('the tags remux into an FLV FFmpeg decodes whole', async (t) => {
  const ts = await makeTs('c.ts', [])
  const { tags } = convert(ts)
  const flv = Buffer.concat([flvHeader(true, true), ...tags.filter((x) => !x.track).map((x) => flvTag(x.kind, x.timestamp, x.data))])
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

t.test('HEVC becomes CodecID 12 tags after an hvcC built from VPS/SPS/PPS', async (t) => {
  const ts = await makeTs('f.ts', ['-frames:v', '40'], { hevc: true })
  const { conv, tags } = convert(ts)
  t.equal(conv.unsupported, undefined)
  const video = tags.filter((x) => x.kind === 'video')
  t.same([...video[0]!.data.subarray(0, 2)], [0x1c, 0], 'key frame, CodecID 12, sequence header')
  const cfg = parseHevcDecoderConfig(video[0]!.data.subarray(5))
  t.same([cfg.vps.length, cfg.sps.length, cfg.pps.length, cfg.lengthSize, cfg.profileIdc], [1, 1, 1, 4, 1])
  t.same(probeSps(video[0]!.data), { width: 320, height: 240, fps: 30 }, 'the plan reads the picture size and the VUI frame rate from it')
  const frames = video.slice(1).map((x) => parseVideoTagHeader(x.data))
  t.equal(frames.length, 40)
  t.equal(frames.filter((h) => h.keyframe).length, 2, 'IRAP pictures are key frames (keyint 30)')
  // The codec string the packager derives from an init holding this record.
  t.match(hevcCodec('hvc1', video[0]!.data.subarray(5)), /^hvc1\.1\.6\.L\d+\.[0-9A-F]+/)
})

t.test('HEVC with a broken SPS is refused with the reason, before any video tag', async (t) => {
  const ts = await makeTs('g.ts', ['-frames:v', '10'], { hevc: true })
  // Damage the SPS: its picture width becomes 0 (§7.4.3.2.1 forbids it) or its fields overrun.
  const at = ts.indexOf(Buffer.from([0, 0, 1, 0x42, 0x01]))
  t.ok(at > 0, 'the SPS is in the stream')
  const bad = Buffer.from(ts)
  bad.fill(0, at + 5 + 14, at + 5 + 20)
  const { conv, tags } = convert(bad)
  t.match(conv.unsupported ?? '', /HEVC sequence parameter set unreadable/)
  t.equal(tags.filter((x) => x.kind === 'video').length, 0)
})
