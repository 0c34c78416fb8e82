import t from 'tap'
import { join } from 'node:path'
import { codecsOf, parseInit } from '../../../src/formats/mp4/init.js'
import type { TrackInfo } from '../../../src/media/types.js'
import { ffprobeJson } from '../../helpers/ffmpeg.js'
import {
  audioEntry, buildTestInit, hasEncoder, initSegmentOf, makeFragmentedMp4, mp4boxParse, rawBox, tempDir, visualEntry,
} from '../../helpers/mp4-fixtures.js'

const VIDEO = ['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30']
const AUDIO = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000']
const X264 = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p']
const X265 = ['-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-x265-params', 'log-level=error']

interface Fixture {
  name: string
  args: string[]
  movflags?: string
  encoder?: string
  /** Expected codec per track, as a pattern (checked against ffprobe/mp4box below). */
  codecs: RegExp[]
  check?: (tracks: TrackInfo[], probe: any) => void
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0')

t.test('init segments written by FFmpeg', async (t) => {
  const dir = await tempDir(t)
  const fixtures: Fixture[] = [
    {
      name: 'h264-baseline-aac',
      args: [...VIDEO, ...AUDIO, '-t', '0.3', ...X264, '-profile:v', 'baseline', '-preset', 'ultrafast', '-c:a', 'aac', '-ac', '2'],
      codecs: [/^avc1\.42c0[0-9a-f]{2}$/, /^mp4a\.40\.2$/],
      check: (tracks, probe) => {
        const [v, a] = tracks
        t.equal(probe.streams[0].profile, 'Constrained Baseline')
        t.equal(v?.codec.slice(-2), hex2(probe.streams[0].level), 'level_idc matches ffprobe')
        t.match(v, { kind: 'video', width: 320, height: 180, timescale: probe.streams[0].time_base.split('/')[1] * 1 })
        t.match(a, { kind: 'audio', sampleRate: 48000, channels: 2, language: 'und' })
      },
    },
    {
      name: 'h264-high',
      args: [...VIDEO, '-t', '0.3', ...X264, '-profile:v', 'high', '-preset', 'veryfast', '-s', '640x360'],
      codecs: [/^avc1\.6400[0-9a-f]{2}$/],
      check: (tracks, probe) => {
        t.equal(probe.streams[0].profile, 'High')
        t.equal(tracks[0]?.codec.slice(-2), hex2(probe.streams[0].level), 'level_idc matches ffprobe')
        t.match(tracks[0], { width: 640, height: 360 })
      },
    },
    {
      name: 'hevc-hvc1',
      encoder: 'libx265',
      args: [...VIDEO, '-t', '0.3', ...X265, '-tag:v', 'hvc1'],
      codecs: [/^hvc1\.1\.6\.L\d+(\.[0-9A-F]{1,2})*$/],
      check: (tracks, probe) => {
        t.equal(probe.streams[0].profile, 'Main')
        t.match(tracks[0]?.codec, new RegExp(`\\.L${probe.streams[0].level}\\.`), 'level_idc matches ffprobe')
      },
    },
    { name: 'hevc-hev1', encoder: 'libx265', args: [...VIDEO, '-t', '0.3', ...X265], codecs: [/^hev1\.1\.6\.L\d+/] },
    {
      name: 'aac-lc-audio-only-hindi',
      args: [...AUDIO, '-t', '0.3', '-c:a', 'aac', '-ac', '2', '-metadata:s:a:0', 'language=hin'],
      codecs: [/^mp4a\.40\.2$/],
      check: (tracks) => t.match(tracks[0], { kind: 'audio', language: 'hin', sampleRate: 48000, channels: 2, timescale: 48000 }),
    },
    {
      // FFmpeg's native encoder can write AAC Main: a real object type other than 2.
      name: 'aac-main-mono',
      args: [...AUDIO, '-t', '0.3', '-c:a', 'aac', '-profile:a', 'aac_main'],
      codecs: [/^mp4a\.40\.1$/],
      check: (tracks) => t.match(tracks[0], { channels: 1 }),
    },
    // HE-AAC needs libfdk_aac, which Debian's FFmpeg lacks: hand-built configs cover it (codec-config tests).
    { name: 'video-only', args: [...VIDEO, '-t', '0.3', ...X264, '-preset', 'ultrafast'], codecs: [/^avc1\./] },
    { name: 'opus', encoder: 'libopus', args: [...AUDIO, '-t', '0.3', '-c:a', 'libopus', '-ac', '2'], codecs: [/^opus$/] },
    // AC-3 headers are only known after the first packet, hence delay_moov instead of empty_moov.
    { name: 'ac-3', encoder: 'ac3', args: [...AUDIO, '-t', '0.3', '-c:a', 'ac3', '-ac', '2'], movflags: '+frag_every_frame+delay_moov+default_base_moof', codecs: [/^ac-3$/] },
    { name: 'ec-3', encoder: 'eac3', args: [...AUDIO, '-t', '0.3', '-c:a', 'eac3'], movflags: '+frag_every_frame+delay_moov+default_base_moof', codecs: [/^ec-3$/] },
  ]
  const available = await Promise.all(fixtures.map((f) => (f.encoder ? hasEncoder(f.encoder) : true)))
  const made = await Promise.all(fixtures.map(async (f, i) => {
    if (!available[i]) return undefined
    const path = join(dir, `${f.name}.mp4`)
    return { path, file: await makeFragmentedMp4(path, f.args, f.movflags) }
  }))
  for (const [i, f] of fixtures.entries()) {
    const m = made[i]
    if (!m) {
      t.fail(`${f.name}: this FFmpeg has no ${f.encoder} encoder; install Debian's ffmpeg (apt-get install -y ffmpeg)`)
      continue
    }
    await t.test(f.name, async (t) => {
      const info = parseInit(initSegmentOf(m.file))
      const probe = await ffprobeJson(m.path)
      t.equal(info.tracks.length, f.codecs.length, 'track count')
      info.tracks.forEach((track, k) => t.match(track.codec, f.codecs[k] as RegExp, `track ${k} codec`))
      t.equal(codecsOf(info), info.tracks.map((x) => x.codec).join(','))
      // An independent parser must derive the same RFC 6381 strings ('Opus' is its fourcc spelling).
      const box = mp4boxParse(m.file)
      t.same(info.tracks.map((x) => x.codec), box.info.tracks.map((x) => (x.codec === 'Opus' ? 'opus' : x.codec)), 'mp4box agrees')
      for (const [k, track] of info.tracks.entries()) {
        const s = probe.streams[k]
        t.equal(track.id, box.info.tracks[k]?.id, 'track id')
        t.equal(track.kind, s.codec_type, 'kind')
        if (track.kind === 'video') t.same([track.width, track.height], [s.width, s.height], 'dimensions')
        else t.same([track.sampleRate, track.channels], [Number(s.sample_rate), s.channels], 'sample rate, channels')
        t.ok(info.trex.has(track.id), 'trex present')
      }
      f.check?.(info.tracks, probe)
    })
  }
})

t.test('init segments built box by box', async (t) => {
  const avcC = rawBox('avcC', '01 64 00 28 ff e0 00')
  const esds = rawBox('esds', '00000000 03 16 0001 00 04 11 40 15 000000 00000000 00000000 05 02 1190')
  const info = parseInit(buildTestInit([
    { id: 3, handler: 'vide', timescale: 90000, v1: true, entry: visualEntry('avc1', 1920, 1080, [avcC]), trex: { duration: 3000, size: 0, flags: 0x01010000 } },
    { id: 7, handler: 'text', timescale: 1000, entry: rawBox('tx3g', Buffer.alloc(8)) },
    { id: 9, handler: 'soun', timescale: 44100, language: 'eng', entry: audioEntry('mp4a', 44100, 2, [esds]) },
  ]))
  t.same(info.tracks, [
    { id: 3, kind: 'video', timescale: 90000, codec: 'avc1.640028', language: 'und', width: 1920, height: 1080 },
    { id: 9, kind: 'audio', timescale: 44100, codec: 'mp4a.40.2', language: 'eng', sampleRate: 44100, channels: 2 },
  ], 'v1 boxes read, text track left out')
  t.same([...info.trex.keys()], [3, 7, 9], 'trex kept for every track')
  t.same(info.trex.get(3), { sampleDescriptionIndex: 1, duration: 3000, size: 0, flags: 0x01010000 })

  // §8.12: a protected entry names its original format in sinf/frma.
  const sinf = rawBox('sinf', Buffer.concat([rawBox('frma', Buffer.from('avc1')), rawBox('schm', '00000000 63656e63 00010000')]))
  const enc = parseInit(buildTestInit([{ id: 1, handler: 'vide', timescale: 90000, entry: visualEntry('encv', 640, 360, [avcC, sinf]) }]))
  t.equal(enc.tracks[0]?.codec, 'avc1.640028', 'encv → frma avc1')

  // QuickTime sound description v1, esds nested in 'wave'.
  const qt = parseInit(buildTestInit([{ id: 1, handler: 'soun', timescale: 48000, entry: audioEntry('mp4a', 48000, 2, [rawBox('wave', esds)], 1) }]))
  t.match(qt.tracks[0], { codec: 'mp4a.40.2', sampleRate: 48000, channels: 2 })

  const errors: [string, () => unknown, RegExp][] = [
    ['no moov', () => parseInit(rawBox('ftyp', '69736f360000000069736f36')), /no moov/],
    ['unsupported video codec', () => parseInit(buildTestInit([{ id: 1, handler: 'vide', timescale: 90000, entry: visualEntry('vp09', 64, 64, []) }])), /unsupported video sample entry 'vp09'/],
    ['avc1 without avcC', () => parseInit(buildTestInit([{ id: 1, handler: 'vide', timescale: 90000, entry: visualEntry('avc1', 64, 64, []) }])), /without avcC/],
    ['timescale 0', () => parseInit(buildTestInit([{ id: 1, handler: 'soun', timescale: 0, entry: audioEntry('mp4a', 48000, 2, [esds]) }])), /timescale 0/],
    ['duplicate track ids', () => parseInit(buildTestInit([
      { id: 1, handler: 'soun', timescale: 48000, entry: audioEntry('mp4a', 48000, 2, [esds]) },
      { id: 1, handler: 'soun', timescale: 48000, entry: audioEntry('mp4a', 48000, 2, [esds]) },
    ])), /two tracks with track_ID 1/],
    ['truncated moov', () => parseInit(buildTestInit([{ id: 1, handler: 'vide', timescale: 90000, entry: visualEntry('avc1', 64, 64, [avcC]) }]).subarray(0, 200)), /runs past the end/],
  ]
  for (const [name, fn, msg] of errors) t.throws(fn, { name: 'MediaFormatError', message: msg }, name)
})
