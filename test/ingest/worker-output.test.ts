/**
 * The worker input a TS publisher gets: FFmpeg-made MPEG-TS (HEVC or H.264 with
 * three AAC tracks in three languages) → TsToFlv → the normalizer → MPEG-TS for
 * a worker, read back by ffprobe: codecs, languages, frame counts, and each
 * track's own tone. The FLV output of an RTMP-shaped stream is unchanged.
 */
import t from 'tap'
import { tempDirSync } from '../helpers/temp-dir.js'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import { FFMPEG, FFPROBE, countFrames } from '../helpers/ffmpeg.js'
import { toneHz } from '../helpers/tone.js'
import { TsToFlv } from '../../src/formats/mpegts/ts-to-flv.js'
import { FlvNormalizer, type AttachOptions } from '../../src/ingest/flv-normalizer.js'

const run = promisify(execFile)
const dir = tempDirSync(t, 'streamd-wo-')
const FREQS = [300, 1200, 3000]

async function makeTs(name: string, hevc: boolean): Promise<Buffer> {
  const file = join(dir, name)
  const codec = hevc ? ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:keyint=30:bframes=2'] : ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30']
  await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30',
    ...FREQS.flatMap((f) => ['-f', 'lavfi', '-i', `sine=frequency=${f}:sample_rate=48000`]),
    '-t', '3', '-map', '0:v', '-map', '1:a', '-map', '2:a', '-map', '3:a', ...codec, '-pix_fmt', 'yuv420p', '-c:a', 'aac',
    '-metadata:s:a:0', 'language=eng', '-metadata:s:a:1', 'language=hin', '-metadata:s:a:2', 'language=tam', '-f', 'mpegts', '-y', file])
  return readFileSync(file)
}

/** Normalize `ts` and collect one consumer's bytes; it attaches (replaying the GOP) once all three tracks are known, as a pipeline does. */
function normalize(ts: Buffer, opts: AttachOptions): Buffer {
  const n = new FlvNormalizer(pino({ level: 'silent' }))
  const out: Buffer[] = []
  let attached = false
  const conv = new TsToFlv({
    onTag: (tag) => {
      n.push({ ...tag, arrival: Date.now() })
      if (!attached && n.canStart && n.audioTracks.length === 3) {
        attached = true
        n.attach((b) => { out.push(b); return true }, { ...opts, replay: true })
      }
    },
  })
  for (let i = 0; i < ts.length; i += 1316) conv.push(ts.subarray(i, i + 1316))
  conv.flush()
  return Buffer.concat(out)
}

async function probe(bytes: Buffer, name: string): Promise<{ file: string; streams: any[] }> {
  const file = join(dir, name)
  writeFileSync(file, bytes)
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-print_format', 'json', '-show_streams', file])
  return { file, streams: JSON.parse(stdout).streams }
}

for (const hevc of [true, false]) {
  const codec = hevc ? 'hevc' : 'h264'
  t.test(`${codec} + three AAC tracks: every track, its language and its tone reach the worker`, async (t) => {
    const ts = await makeTs(`${codec}.ts`, hevc)
    const all = await probe(normalize(ts, { format: 'mpegts', select: { audio: [0, 1, 2] } }), `${codec}-all.ts`)
    t.same(all.streams.map((s: any) => [s.codec_name, s.tags?.language ?? null]), [[codec, null], ['aac', 'eng'], ['aac', 'hin'], ['aac', 'tam']])
    t.same([all.streams[0].width, all.streams[0].height], [320, 240])
    const frames = await countFrames(all.file)
    t.ok(frames.video >= 88 && frames.video <= 90, `video frames from the first key frame: ${frames.video}`)
    for (const [i, f] of FREQS.entries()) {
      const hz = await toneHz(all.file, i)
      t.ok(Math.abs(hz - f) < f * 0.05, `track ${i}: ${hz.toFixed(0)} Hz, sent ${f} Hz`)
    }
    // One audio worker's input: its track alone, no video.
    const one = await probe(normalize(ts, { format: 'mpegts', select: { video: false, audio: [1] } }), `${codec}-hin.ts`)
    t.same(one.streams.map((s: any) => [s.codec_name, s.tags?.language ?? null]), [['aac', 'hin']])
    const hz = await toneHz(one.file, 0)
    t.ok(Math.abs(hz - FREQS[1]!) < FREQS[1]! * 0.05, `the hin worker hears ${hz.toFixed(0)} Hz`)
  })
}

t.test('FLV output (the default) still carries video and the first audio track', async (t) => {
  const ts = await makeTs('flv.ts', false)
  const flv = await probe(normalize(ts, {}), 'out.flv')
  t.same(flv.streams.map((s: any) => s.codec_name), ['h264', 'aac'])
  t.ok(Math.abs(await toneHz(flv.file, 0) - FREQS[0]!) < FREQS[0]! * 0.05, 'the first track')
})
