/**
 * FFmpeg commands of a ladder: the decode-once filter graph with one raw pipe
 * per rung (read back from a real FFmpeg), encoders on the segment grid, audio.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { audioArgs, copyVideoArgs, decoderArgs, encoderArgs, frameBytes, rungFps } from '../../src/transcode/ladder-args.js'
import { FMP4_OUTPUT } from '../../src/transcode/args.js'
import { SEEDS, seedRung, type VideoRung } from '../../src/transcode/ladder.js'
import { FFMPEG, makeTestFile } from '../helpers/ffmpeg.js'
import { tempDir } from '../helpers/mp4-fixtures.js'

const SOURCE = { width: 1920, height: 1080, fps: 30 }
const seed = (h: number): (typeof SEEDS)[number] => SEEDS.find((s) => s.height === h)!
const rung = (h: number, source = SOURCE): VideoRung => seedRung(seed(h), source, 'veryfast')
/** The value after `flag`, asserting that the flag is there exactly once. */
function valueOf(t: Test, args: string[], flag: string): string | undefined {
  t.equal(args.filter((a) => a === flag).length, 1, `${flag} once`)
  return args[args.indexOf(flag) + 1]
}
/** Whether `seq` appears in `args` as consecutive elements. */
const hasSeq = (args: string[], ...seq: string[]): boolean =>
  args.some((_, i) => seq.every((s, k) => args[i + k] === s))

t.test('rungFps and frameBytes', async (t) => {
  t.equal(rungFps(rung(720), 30), 30)
  t.equal(rungFps(rung(240), 30), 15, 'the 2G rung is capped')
  t.equal(rungFps(rung(240), 10), 10, 'a slower source is not raised to the cap')
  t.equal(rungFps(rung(720), 60), 60)
  t.equal(frameBytes(rung(720)), 1280 * 720 * 1.5)
  t.equal(frameBytes(rung(240)), 426 * 240 * 1.5)
})

t.test('decoderArgs: one split output and one rawvideo pipe per rung, in order', async (t) => {
  for (const heights of [[720], [720, 240], [1080, 720, 480, 360, 240]]) {
    const rungs = heights.map((h) => rung(h))
    const args = decoderArgs(rungs, 30)
    const label = `${heights.join('/')}`
    t.equal(valueOf(t, args, '-i'), 'pipe:0', `${label}: FLV on stdin`)
    t.equal(args[args.indexOf('-i') - 1], 'flv', `${label}: -f flv before -i`)
    t.ok(args.includes('-copyts') && args.indexOf('-copyts') < args.indexOf('-i'), `${label}: -copyts as an input option`)
    t.ok(args.includes('-an'), `${label}: no audio`)
    const chains = valueOf(t, args, '-filter_complex')!.split(';')
    t.equal(chains.length, rungs.length + 1, `${label}: the split and one chain per rung`)
    const split = /^\[0:v\]fps=(\d+),split=(\d+)((?:\[\w+\])+)$/.exec(chains[0]!)
    t.ok(split, `${label}: the source goes through fps then one split: ${chains[0]}`)
    t.equal(split?.[1], '30', `${label}: constant source frame rate`)
    t.equal(Number(split?.[2]), rungs.length, `${label}: split=${rungs.length}`)
    const splitLabels = split?.[3]?.match(/\[\w+\]/g) ?? []
    t.equal(new Set(splitLabels).size, rungs.length, `${label}: one distinct split output per rung`)
    const outs = args.flatMap((a, i) => (a === '-map' ? [args.slice(i, i + 5)] : []))
    t.equal(outs.length, rungs.length, `${label}: one -map per rung`)
    for (const [i, r] of rungs.entries()) {
      const m = /^(\[\w+\])scale=(\d+):(\d+)(?::[^,]*)?,fps=(\d+),format=yuv420p(\[\w+\])$/.exec(chains[i + 1]!)
      t.ok(m, `${label}: rung ${i} chain ${chains[i + 1]}`)
      t.equal(m?.[1], splitLabels[i], `${label}: rung ${i} reads split output ${i}`)
      t.same([Number(m?.[2]), Number(m?.[3])], [r.width, r.height], `${label}: rung ${i} scaled to ${r.width}x${r.height}`)
      t.equal(Number(m?.[4]), r.fpsCap === 15 ? 15 : 30, `${label}: rung ${i} fps`)
      t.same(outs[i], ['-map', m?.[5], '-f', 'rawvideo', `pipe:${3 + i}`], `${label}: rung ${i} → pipe:${3 + i}`)
    }
  }
})

t.test('decoderArgs: a 25 fps source', async (t) => {
  const graph = decoderArgs([rung(720), rung(240)], 25).find((a) => a.includes('split='))!
  t.ok(graph.startsWith('[0:v]fps=25,split=2'), graph)
  t.same(graph.match(/,fps=\d+,/g), [',fps=25,', ',fps=15,'])
})

t.test('encoderArgs: key frames on the segment grid, GOP, offset, rate control', async (t) => {
  const cases: Array<{ r: VideoRung; fps: number; seg: number; start: number; gop: number; rate: number }> = [
    { r: rung(720), fps: 30, seg: 2, start: 0, gop: 60, rate: 30 },
    { r: rung(240), fps: 30, seg: 2, start: 12.5, gop: 30, rate: 15 },
    { r: rung(1080), fps: 25, seg: 4, start: 3600.04, gop: 100, rate: 25 },
    { r: rung(480), fps: 30000 / 1001, seg: 2, start: 1.001, gop: 60, rate: 30000 / 1001 },
    { r: { ...rung(360), level: '3.0' }, fps: 50, seg: 1, start: 7, gop: 50, rate: 50 },
  ]
  for (const c of cases) {
    const args = encoderArgs(c.r, c.fps, c.seg, c.start)
    const label = `${c.r.name} at ${c.fps.toFixed(2)} fps, ${c.seg} s segments`
    t.equal(valueOf(t, args, '-force_key_frames'), `expr:gte(t,n_forced*${c.seg})`, `${label}: forced key frames every ${c.seg} s`)
    t.equal(valueOf(t, args, '-g'), String(c.gop), `${label}: GOP = fps × segment`)
    t.equal(valueOf(t, args, '-keyint_min'), String(c.gop), `${label}: keyint_min = GOP`)
    t.equal(valueOf(t, args, '-sc_threshold'), '0', `${label}: no scene-cut key frames`)
    t.equal(Number(valueOf(t, args, '-output_ts_offset')), c.start, `${label}: output_ts_offset ${c.start}`)
    t.ok(hasSeq(args, '-tune', 'zerolatency'), `${label}: zerolatency`)
    t.equal(valueOf(t, args, '-b:v'), `${c.r.bitrate}k`, `${label}: bitrate`)
    t.equal(valueOf(t, args, '-maxrate'), `${c.r.maxrate}k`, `${label}: maxrate`)
    t.equal(valueOf(t, args, '-bufsize'), `${c.r.bufsize}k`, `${label}: bufsize`)
    t.equal(valueOf(t, args, '-profile:v'), c.r.profile, `${label}: profile`)
    t.equal(valueOf(t, args, '-preset'), c.r.preset, `${label}: preset`)
    t.equal(args.includes('-level:v') ? valueOf(t, args, '-level:v') : undefined, c.r.level, `${label}: level`)
    t.equal(valueOf(t, args, '-c:v'), 'libx264')
    t.equal(Number(valueOf(t, args, '-r')), c.rate, `${label}: input rate`)
    t.equal(valueOf(t, args, '-s'), `${c.r.width}x${c.r.height}`, `${label}: raw frame size`)
    t.ok(hasSeq(args, '-f', 'rawvideo', '-pix_fmt', 'yuv420p'), `${label}: raw yuv420p in`)
    t.equal(valueOf(t, args, '-i'), 'pipe:0')
    t.same(args.slice(-FMP4_OUTPUT.length), FMP4_OUTPUT, `${label}: fMP4 on stdout`)
  }
})

t.test('audioArgs: copy vs encode, track choice', async (t) => {
  const copy = audioArgs({ copy: true, bitrateKbps: 128 })
  t.ok(hasSeq(copy, '-c:a', 'copy'), 'AAC is copied')
  t.notOk(copy.includes('-b:a'), 'no bitrate when copying')
  t.ok(hasSeq(copy, '-map', '0:a:0'), 'first audio track by default')
  const enc = audioArgs({ copy: false, bitrateKbps: 96, track: 2 })
  t.ok(hasSeq(enc, '-c:a', 'aac', '-b:a', '96k', '-ar', '48000'), 'other codecs are encoded to 48 kHz AAC')
  t.ok(hasSeq(enc, '-map', '0:a:2'), 'track 2')
  for (const [name, args] of [['copy', copy], ['encode', enc]] as const) {
    t.ok(args.includes('-vn'), `${name}: no video`)
    t.ok(hasSeq(args, '-f', 'flv', '-i', 'pipe:0'), `${name}: FLV on stdin`)
    t.ok(args.indexOf('-copyts') >= 0 && args.indexOf('-copyts') < args.indexOf('-i'), `${name}: -copyts`)
    t.same(args.slice(-FMP4_OUTPUT.length), FMP4_OUTPUT, `${name}: fMP4 on stdout`)
  }
  const v = copyVideoArgs()
  t.ok(hasSeq(v, '-map', '0:v:0', '-c:v', 'copy') && v.includes('-an'), 'copied top rung: video only, as is')
})

t.test('a real FFmpeg runs the decoder graph: each pipe carries whole frames at its rung rate', { timeout: 15_000 }, async (t) => {
  const dir = await tempDir(t)
  const flv = join(dir, 'source.flv')
  const source = { width: 640, height: 360, fps: 30 }
  await makeTestFile(flv, 'flv', { ...source, duration: 1, audio: false })
  const rungs = [rung(360, source), rung(240, source)]
  t.same(rungs.map((r) => [r.width, r.height, rungFps(r, 30)]), [[640, 360, 30], [426, 240, 15]], 'a 30 fps rung and a 15 fps rung')

  const child = spawn(FFMPEG, decoderArgs(rungs, source.fps), { stdio: ['pipe', 'ignore', 'pipe', 'pipe', 'pipe'] })
  const timer = setTimeout(() => child.kill('SIGKILL'), 12_000)
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  const bytes = [0, 0]
  const ended = rungs.map((_, i) => new Promise<void>((resolve) => {
    const pipe = child.stdio[3 + i] as Readable
    pipe.on('data', (d: Buffer) => { bytes[i]! += d.length })
    pipe.on('end', () => resolve())
    pipe.on('error', () => resolve())
  }))
  child.stdin!.on('error', () => {}) // FFmpeg may close stdin once it has read the whole file
  createReadStream(flv).pipe(child.stdin!)
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)))
  clearTimeout(timer)
  await Promise.all(ended)
  t.equal(code, 0, `ffmpeg exits 0 ${stderr.trim()}`)

  for (const [i, r] of rungs.entries()) {
    const size = frameBytes(r)
    const frames = bytes[i]! / size
    const want = rungFps(r, source.fps)
    t.equal(size, r.width * r.height * 1.5, `pipe:${3 + i}: a frame is width × height × 1.5 bytes`)
    t.ok(Number.isInteger(frames), `pipe:${3 + i}: ${bytes[i]} bytes are whole ${r.width}x${r.height} frames`)
    t.ok(Math.abs(frames - want) <= 1, `pipe:${3 + i}: ${frames} frames in 1 s at ${want} fps (±1)`)
  }
})
