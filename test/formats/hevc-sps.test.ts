import t from 'tap'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parseHevcDecoderConfig, parseHevcSps } from '../../src/formats/hevc-sps.js'
import { MediaFormatError } from '../../src/errors.js'
import { FFMPEG } from '../helpers/ffmpeg.js'
import { hasEncoder, tempDir } from '../helpers/mp4-fixtures.js'
import { buildHevcSps, hex, hvcC, type HevcSpsFields, type HevcSpsTail, type HevcStRps } from '../helpers/sps-builder.js'
import { ffprobe, limiter, ratio } from '../helpers/sps-encode.js'

const run = promisify(execFile)

t.test('HEVC SPS: hand-built table and malformed input', async (t) => {
  const base = { profileSpace: 0, tier: 0, profileIdc: 1, levelIdc: 123, chromaFormatIdc: 1, bitDepth: 8 }
  const cases: Array<[string, HevcSpsFields, object]> = [
    ['1080p, no conformance window', { width: 1920, height: 1080 }, { ...base, width: 1920, height: 1080 }],
    ['640x368 coded, window of 4 chroma rows', { width: 640, height: 368, window: [0, 0, 0, 4] }, { ...base, width: 640, height: 360 }],
    ['three sub-layers with mixed profile/level presence, 4:2:2 10-bit, high tier',
      { width: 336, height: 256, tier: 1, profileIdc: 4, subLayers: [{ profile: true, level: true }, { profile: false, level: true }, { profile: true, level: false }],
        chroma: 2, bitDepth: 10, window: [1, 6, 0, 15] },
      { ...base, tier: 1, profileIdc: 4, chromaFormatIdc: 2, bitDepth: 10, width: 322, height: 241 }],
    ['4:4:4 with separate planes: window in luma samples', { width: 64, height: 64, chroma: 3, separatePlanes: true, window: [1, 2, 3, 4] },
      { ...base, chromaFormatIdc: 3, width: 61, height: 57 }],
    ['monochrome: window in luma samples', { width: 328, height: 248, chroma: 0, window: [0, 7, 0, 7] }, { ...base, chromaFormatIdc: 0, width: 321, height: 241 }],
  ]
  for (const [name, f, want] of cases) t.same(parseHevcSps(buildHevcSps(f)), want, name)

  const good = buildHevcSps({ width: 640, height: 368, window: [0, 0, 0, 4], subLayers: [{ profile: true, level: true }] })
  for (let n = 0; n < good.length - 1; n++) t.throws(() => parseHevcSps(good.subarray(0, n)), MediaFormatError, `prefix of ${n} bytes`)
  const bad: Array<[string, Buffer]> = [
    ['PPS header', Buffer.concat([hex('44 01'), good.subarray(2)])],
    ['forbidden_zero_bit', Buffer.concat([hex('c2 01'), good.subarray(2)])],
    ['sps_max_sub_layers_minus1 7', Buffer.concat([hex('42 01 0f'), good.subarray(3)])],
    ['width 0', buildHevcSps({ width: 0, height: 64 })],
    ['width 20000', buildHevcSps({ width: 20000, height: 64 })],
    ['chroma_format_idc 4', buildHevcSps({ width: 64, height: 64, chroma: 4 })],
    ['bit depth 17', buildHevcSps({ width: 64, height: 64, bitDepth: 17 })],
    ['window eats the picture', buildHevcSps({ width: 64, height: 64, window: [16, 16, 0, 0] })],
  ]
  for (const [name, nal] of bad) t.throws(() => parseHevcSps(nal), MediaFormatError, name)
})

t.test('HEVC SPS: the frame rate of the VUI timing info (E.2.1), behind every field that can precede it', async (t) => {
  const size = { width: 640, height: 368, window: [0, 0, 0, 4] as [number, number, number, number] }
  // Explicit sets, then a predicted one whose entry of delta 0 (−1 + 1) is left out, then
  // one predicted from that: reading it needs the predicted set's size right (3 entries + 1).
  const rps: HevcStRps[] = [
    { s0: [-1, -3], s1: [2] },
    { s0: [-2], s1: [] },
    { s0: [-1, -3], s1: [2] },
    { deltaRps: 1, flags: [{ used: false, useDelta: false }, { used: true }, { used: false, useDelta: true }, { used: true }] },
    { deltaRps: -2, flags: [{ used: true }, { used: false, useDelta: false }, { used: true }, { used: true }] },
  ]
  const full: HevcSpsTail = { orderingAll: true, scalingLists: 'coded', pcm: true, stRps: rps, longTerm: [3, 200],
    vui: { extendedSar: [4, 3], signal: true, chromaLoc: true, displayWindow: true, timing: [1001, 60000] } }
  const cases: Array<[string, HevcSpsFields, number | undefined]> = [
    ['x265 style: (1, 25)', { ...size, tail: { vui: { timing: [1, 25] } } }, 25],
    ['every optional field before the timing, 59.94', { ...size, subLayers: [{ profile: true, level: false }, { profile: false, level: false }], tail: full }, 60000 / 1001],
    ['default scaling lists (no data), one sub-layer entry, 50', { ...size, subLayers: [{ profile: false, level: true }], tail: { scalingLists: 'default', vui: { timing: [2, 100] } } }, 50],
    ['no VUI', { ...size, tail: {} }, undefined],
    ['VUI without timing', { ...size, tail: { vui: { signal: true } } }, undefined],
    ['num_units_in_tick 0', { ...size, tail: { vui: { timing: [0, 25] } } }, undefined],
    ['time_scale 0', { ...size, tail: { vui: { timing: [1, 0] } } }, undefined],
  ]
  for (const [name, f, fps] of cases) {
    const sps = parseHevcSps(buildHevcSps(f))
    t.equal(sps.frameRate, fps, name)
    t.same([sps.width, sps.height], [640, 360], `${name}: the picture is read as before`)
  }
  // A tail that cannot be read costs the frame rate, never the stream.
  const good = buildHevcSps({ ...size, tail: full })
  const cut = Buffer.concat([good.subarray(0, good.length - 12), hex('80')])
  const { frameRate, ...picture } = parseHevcSps(good)
  t.equal(frameRate, 60000 / 1001)
  const truncated = parseHevcSps(cut)
  t.notOk('frameRate' in truncated, 'truncated VUI: no frame rate')
  t.same(truncated, picture, 'truncated VUI: the picture is kept')
  const tooMany = buildHevcSps({ ...size, tail: { stRps: Array.from({ length: 65 }, () => ({ s0: [-1], s1: [] })), vui: { timing: [1, 25] } } })
  t.equal(parseHevcSps(tooMany).frameRate, undefined, '65 short-term RPS (over the limit of 64)')
})

t.test('parseHevcDecoderConfig', async (t) => {
  const vps = hex('40 01 0c 01 ff ff')
  const sps = buildHevcSps({ width: 640, height: 368, window: [0, 0, 0, 4] })
  const pps = hex('44 01 c1 72')
  const sei = hex('4e 01 05 ff')
  const record = hvcC([[32, [vps]], [33, [sps]], [34, [pps, pps]], [39, [sei]]])
  t.same(parseHevcDecoderConfig(record), {
    profileSpace: 0, tier: 0, profileIdc: 1, compatibilityFlags: 0x60000000, constraintFlags: hex('900000000000'), levelIdc: 0x5d,
    chromaFormatIdc: 1, bitDepthLuma: 9, bitDepthChroma: 8, lengthSize: 4, vps: [vps], sps: [sps], pps: [pps, pps],
  })
  t.equal(parseHevcDecoderConfig(hvcC([], 1)).lengthSize, 2)
  const bad: Array<[string, Buffer]> = [
    ['configurationVersion 0', hvcC([], 3, 0)],
    ['lengthSizeMinusOne 2', hvcC([], 2)],
    ['SPS array holds a PPS', hvcC([[33, [pps]]])],
    ['1-byte NAL unit', hvcC([[34, [hex('44')]]])],
  ]
  for (let n = 0; n < record.length; n++) bad.push([`truncated to ${n} bytes`, record.subarray(0, n)])
  for (const [name, rec] of bad) t.throws(() => parseHevcDecoderConfig(rec), MediaFormatError, name)
})

// Skipping would hide a missing check; an FFmpeg without libx265 is a broken test box.
const x265 = await hasEncoder('libx265')
t.test('HEVC SPS of real libx265 streams agree with ffprobe', async (t) => {
  if (!x265) {
    t.fail(`${FFMPEG} has no libx265 encoder: install an FFmpeg that has it (apt-get install -y ffmpeg — Debian's FFmpeg has libx265)`)
    return
  }
  const dir = await tempDir(t)
  const cases: Array<{ name: string; size: [number, number]; pix: string; params?: string; profile: string; subLayers: boolean; rate: string; fps?: number }> = [
    { name: '640x360 Main (coded 368), 25 fps', size: [640, 360], pix: 'yuv420p', profile: 'Main', subLayers: false, rate: '25', fps: 25 },
    { name: '426x240 Main 10, 50 fps', size: [426, 240], pix: 'yuv420p10le', profile: 'Main 10', subLayers: false, rate: '50', fps: 50 },
    { name: '1920x1080 Main with temporal sub-layers, 29.97 fps', size: [1920, 1080], pix: 'yuv420p', params: 'temporal-layers=1', profile: 'Main', subLayers: true, rate: '30000/1001', fps: 30000 / 1001 },
    { name: '322x241 4:2:2 10-bit (RExt), 24 fps, default scaling lists', size: [322, 241], pix: 'yuv422p10le', params: 'scaling-list=default', profile: 'Rext', subLayers: false, rate: '24', fps: 24 },
    { name: '320x240 without VUI timing info', size: [320, 240], pix: 'yuv420p', params: 'vui-timing-info=0', profile: 'Main', subLayers: false, rate: '25' },
  ]
  const limit = limiter(2)
  const jobs = cases.map((c, i) => limit(async () => {
    const path = join(dir, `${i}.mp4`)
    await run(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=${c.rate}`,
      '-vf', `scale=${c.size.join(':')},format=${c.pix}`, '-frames:v', '1', '-c:v', 'libx265', '-preset', 'ultrafast',
      '-x265-params', `log-level=error${c.params ? `:${c.params}` : ''}`, path])
    return { file: await readFile(path), probe: await ffprobe(path) }
  }))
  for (const j of jobs) j.catch(() => {})
  for (const [i, c] of cases.entries()) {
    await t.test(c.name, async (t) => {
      const { file, probe } = await (jobs[i] as (typeof jobs)[number])
      const at = file.indexOf('hvcC')
      t.ok(at >= 4, 'the MP4 has an hvcC box')
      const config = parseHevcDecoderConfig(file.subarray(at + 4, at - 4 + file.readUInt32BE(at - 4)))
      t.equal(config.vps.length, 1)
      t.equal(config.pps.length, 1)
      const nal = config.sps[0] as Buffer
      t.equal(((nal[2] ?? 0) >> 1 & 7) > 0, c.subLayers, 'sps_max_sub_layers_minus1 > 0 as intended')
      const sps = parseHevcSps(nal)
      t.same([sps.width, sps.height], c.size, 'size after the conformance window')
      t.same([sps.width, sps.height], [probe.width, probe.height], 'ffprobe agrees on the size')
      t.equal(probe.profile, c.profile)
      t.equal(sps.levelIdc, probe.level, 'ffprobe agrees on the level')
      t.equal(sps.frameRate, c.fps, `VUI frame rate ${sps.frameRate}`)
      if (c.fps) t.equal(ratio(probe.r_frame_rate), c.fps, 'ffprobe agrees on the rate')
      t.same([sps.profileIdc, sps.levelIdc, sps.chromaFormatIdc, sps.bitDepth],
        [config.profileIdc, config.levelIdc, config.chromaFormatIdc, config.bitDepthLuma], 'record and SPS agree')
    })
  }
})
