/**
 * The slate's tags take the path an RTMP publisher's take: the normalizer, a worker
 * input in FLV or MPEG-TS, FFmpeg copying it to fragmented MP4 (the copied rendition)
 * and FFmpeg re-encoding it (a ladder rung). Every frame sent comes out of both.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FlvNormalizer } from '../../src/ingest/flv-normalizer.js'
import { audioSpecificConfig } from '../../src/formats/mpegts/adts.js'
import { silentLogger } from '../../src/log/logger.js'
import { FMP4_OUTPUT, inputArgs, passthroughArgs } from '../../src/transcode/args.js'
import { SlateClip } from '../../src/transcode/slate-clip.js'
import { SlateTimeline } from '../../src/transcode/slate-player.js'
import { countFrames, FFMPEG } from '../helpers/ffmpeg.js'
import { tempDirSync } from '../helpers/temp-dir.js'

const dir = tempDirSync(t, 'slate-pipe-')

/** Run FFmpeg with `input` on stdin; resolves with its stdout. */
function ffmpeg(args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(FFMPEG, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let err = ''
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.stdin.on('error', () => {})
    child.stdin.end(input)
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`ffmpeg exited ${code}: ${err.slice(-500)}`))))
  })
}

t.test('slate tags through the normalizer and the workers', async (t) => {
  const clip = await SlateClip.render(FFMPEG, {
    width: 320, height: 180, fps: 30, streamName: 'cam1', image: null,
    audioConfig: audioSpecificConfig({ objectType: 2, rateIndex: 3, channelConfig: 2 }),
  }, silentLogger())
  const tl = new SlateTimeline(clip, 42_000)
  const tags = [...tl.headers(Date.now()), ...tl.take(42_000 + 2000, Date.now())]
  const sent = { video: tags.filter((x) => x.kind === 'video').length - 1, audio: tags.filter((x) => x.kind === 'audio').length - 1 }

  for (const format of ['flv', 'mpegts'] as const) {
    const n = new FlvNormalizer(silentLogger())
    const bytes: Buffer[] = []
    let startMs: number | undefined
    n.attach((b) => { bytes.push(b); return true }, { format, select: { audio: [0] }, onStart: (ms) => { startMs = ms } })
    for (const tag of tags) n.push(tag)
    t.equal(startMs, 0, `${format}: a consumer starts at the slate's first key frame`)
    const input = Buffer.concat(bytes)

    const copied = join(dir, `copy-${format}.mp4`)
    writeFileSync(copied, await ffmpeg(passthroughArgs({ input: { format } }), input))
    t.same(await countFrames(copied), sent, `${format}: the copied rendition holds every frame`)

    const encoded = join(dir, `rung-${format}.mp4`)
    writeFileSync(encoded, await ffmpeg(['-hide_banner', '-nostdin', '-loglevel', 'error', ...inputArgs({ format }),
      '-map', '0:v', '-map', '0:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-s', '160x90', '-c:a', 'aac', ...FMP4_OUTPUT], input))
    const got = await countFrames(encoded)
    t.equal(got.video, sent.video, `${format}: an encoded rung decodes and re-encodes every frame`)
    t.ok(Math.abs(got.audio - sent.audio) <= 1, `${format}: and the audio (${got.audio} frames from ${sent.audio}; AAC re-encoding adds a priming frame)`)
  }
})
