/**
 * Which sources browsers cannot decode, read from real libx264 sequence headers:
 * 8-bit 4:2:0 Baseline, Main and High play; High 4:4:4 Predictive, 4:2:2 and
 * 10-bit do not. And the plan: such a source is encoded at its own size instead
 * of copied when the ladder is on.
 */
import t from 'tap'
import { encodeH264, flvSequenceHeader } from '../helpers/sps-encode.js'
import { tempDirSync } from '../helpers/temp-dir.js'
import { sourceFormat } from '../../src/core/source-playability.js'
import { planStream, renditionNames } from '../../src/core/stream-plan.js'
import { buildConfig } from '../../src/config/load.js'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { FFMPEG } from '../helpers/ffmpeg.js'

const run = promisify(execFile)

const cases = [
  { name: 'high', args: ['-pix_fmt', 'yuv420p', '-profile:v', 'high'], profile: 'High', chroma: '4:2:0', bitDepth: 8, playable: true },
  { name: 'main', args: ['-pix_fmt', 'yuv420p', '-profile:v', 'main'], profile: 'Main', chroma: '4:2:0', bitDepth: 8, playable: true },
  { name: 'baseline', args: ['-pix_fmt', 'yuv420p', '-profile:v', 'baseline'], profile: 'Constrained Baseline', chroma: '4:2:0', bitDepth: 8, playable: true },
  { name: 'high444', args: ['-pix_fmt', 'yuv444p', '-profile:v', 'high444'], profile: 'High 4:4:4 Predictive', chroma: '4:4:4', bitDepth: 8, playable: false },
  { name: 'high422', args: ['-pix_fmt', 'yuv422p', '-profile:v', 'high422'], profile: 'High 4:2:2', chroma: '4:2:2', bitDepth: 8, playable: false },
  { name: 'high10', args: ['-pix_fmt', 'yuv420p10le', '-profile:v', 'high10'], profile: 'High 10', chroma: '4:2:0', bitDepth: 10, playable: false },
]

t.test('the format and its problem, from the FLV sequence header of a real encode', async (t) => {
  const dir = tempDirSync(t, 'streamd-playable-')
  for (const c of cases) {
    const { flv } = await encodeH264(dir, c.name, { name: c.name, size: [320, 180], rate: '30', args: c.args, want: { profileIdc: 0, chroma: 1, bitDepth: 8 } })
    const f = sourceFormat(flvSequenceHeader(flv!))
    t.match(f, { codec: 'H.264', profile: c.profile, chroma: c.chroma, bitDepth: c.bitDepth }, `${c.name}: ${f?.profile}, ${f?.chroma}, ${f?.bitDepth}-bit`)
    if (c.playable) t.equal(f?.problem, undefined, `${c.name}: browsers decode it`)
    else t.match(f?.problem, c.bitDepth !== 8 ? /10-bit/ : new RegExp(c.chroma), `${c.name}: ${f?.problem}`)
  }
  t.equal(sourceFormat(Buffer.from([0x17, 0x00, 0, 0, 0, 1, 2])), undefined, 'garbage is unreadable, not an error')
  t.equal(sourceFormat(Buffer.alloc(0)), undefined)
})

t.test('HEVC from real libx265 encodes: Main and Main 10 play, 4:2:2 (Range Extensions) does not', async (t) => {
  const dir = tempDirSync(t, 'streamd-playable-hevc-')
  for (const c of [
    { pix: 'yuv420p', profile: 'Main', chroma: '4:2:0', bitDepth: 8, playable: true },
    { pix: 'yuv420p10le', profile: 'Main 10', chroma: '4:2:0', bitDepth: 10, playable: true },
    { pix: 'yuv422p10le', profile: 'Range Extensions', chroma: '4:2:2', bitDepth: 10, playable: false },
  ]) {
    const path = join(dir, `${c.pix}.mp4`)
    await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25',
      '-vf', `format=${c.pix}`, '-frames:v', '1', '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error', path])
    const file = await readFile(path)
    const at = file.indexOf('hvcC')
    // The FLV layout SRT ingest produces for HEVC: CodecID 12, a sequence header, then the hvcC record.
    const body = Buffer.concat([Buffer.from([0x1c, 0x00, 0, 0, 0]), file.subarray(at + 4, at - 4 + file.readUInt32BE(at - 4))])
    const f = sourceFormat(body)
    t.match(f, { codec: 'HEVC', profile: c.profile, chroma: c.chroma, bitDepth: c.bitDepth }, `${c.pix}: ${f?.profile}, ${f?.chroma}, ${f?.bitDepth}-bit`)
    if (c.playable) t.equal(f?.problem, undefined, `${c.pix}: browsers with HEVC decode it`)
    else t.match(f?.problem, /Range Extensions profile, 4:2:2 chroma/, `${c.pix}: ${f?.problem}`)
  }
})

t.test('a ladder encodes an undecodable source at its own size instead of copying it', async (t) => {
  const source = { width: 1280, height: 720, fps: 30 }
  const config = buildConfig({ ladder: { maxRungs: 4, pixelBudget: 1e9 } })
  const fine = planStream(config, source, true)
  t.ok(fine.mode === 'ladder' && fine.copy?.name === 'source', 'a decodable source is copied')
  const bad = planStream(config, source, true, { browserUndecodable: true })
  t.ok(bad.mode === 'ladder' && bad.copy === undefined, 'an undecodable one is not')
  t.same(renditionNames(bad), ['720p', '480p', '360p', '240p', 'audio'], 'the top rung is encoded at the source size')
  // A configured copy is left out, and the plan says why; with nothing encoded it stays.
  const rungs = buildConfig({ ladder: { rungs: [{ name: 'orig', copy: true }, { name: 'sd', height: 360, bitrate: 700 }] } })
  const configured = planStream(rungs, source, true, { browserUndecodable: true })
  t.same(renditionNames(configured), ['sd', 'audio'])
  t.match(configured.mode === 'ladder' && configured.dropped, [{ name: 'orig', why: /browsers cannot decode/ }])
  const only = buildConfig({ ladder: { rungs: [{ name: 'orig', copy: true }] } })
  t.same(renditionNames(planStream(only, source, true, { browserUndecodable: true })), ['orig', 'audio'], 'nothing else to offer: the copy stays')
})
