import t from 'tap'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { BoxWriter } from '../../../src/formats/mp4/box.js'
import { BoxSplitter, type Box } from '../../../src/formats/mp4/box-splitter.js'
import { parseFragment } from '../../../src/formats/mp4/fragment.js'
import { parseInit } from '../../../src/formats/mp4/init.js'
import type { Sample } from '../../../src/media/types.js'
import { FFPROBE, testSourceArgs } from '../../helpers/ffmpeg.js'
import {
  audioEntry, buildTestInit, initSegmentOf, makeFragmentedMp4, mp4boxParse, rawBox, tempDir, visualEntry,
} from '../../helpers/mp4-fixtures.js'

const run = promisify(execFile)

t.test('parses every fragment FFmpeg writes with frag_every_frame', async (t) => {
  const path = join(await tempDir(t), 'worker.mp4')
  const file = await makeFragmentedMp4(path, testSourceArgs({ duration: 3, realtime: false, gop: 30 }))
  // Feed the splitter in odd-sized chunks, as a pipe would.
  const splitter = new BoxSplitter()
  const boxes: Box[] = []
  for (let i = 0; i < file.length; i += 3001) boxes.push(...splitter.push(file.subarray(i, i + 3001)))
  t.same(splitter.end(), [])
  const init = parseInit(initSegmentOf(file))
  const samples: Sample[] = []
  for (let i = 0; i < boxes.length; i++) {
    const box = boxes[i]!
    if (box.type !== 'moof') continue
    const mdat = boxes[i + 1]
    t.equal(mdat?.type, 'mdat')
    samples.push(...parseFragment(box.data, mdat!.data, init, { moofOffset: box.offset }))
  }
  const [video, audio] = init.tracks
  const vs = samples.filter((s) => s.trackId === video!.id)
  const as = samples.filter((s) => s.trackId === audio!.id)
  t.equal(vs.length, 90, '3 s at 30 fps')
  t.same(vs.flatMap((s, i) => (s.sync ? [i] : [])), [0, 30, 60], 'sync on every GOP start, first sample sync')
  t.ok(as.every((s) => s.sync), 'AAC frames are all sync')
  const seconds = vs.reduce((a, s) => a + s.duration, 0) / video!.timescale
  t.ok(Math.abs(seconds - 3) < 0.05, `video durations sum to ~3 s (${seconds})`)
  for (const list of [vs, as]) {
    const breaks = list.slice(1).filter((s, i) => s.dts !== list[i]!.dts + list[i]!.duration).length
    t.equal(breaks, 0, `track ${list[0]!.trackId}: dts[i+1] = dts[i] + duration[i]`)
  }
  // AVC samples are length-prefixed NAL units that exactly fill the sample.
  for (const s of vs.slice(0, 5)) {
    let pos = 0
    while (pos + 4 <= s.data.length) pos += 4 + s.data.readUInt32BE(pos)
    t.equal(pos, s.data.length, 'NAL lengths fill the sample')
  }
  const within = (s: Sample) => boxes.some((b) => b.type === 'mdat' && b.data.buffer === s.data.buffer &&
    s.data.byteOffset >= b.data.byteOffset && s.data.byteOffset + s.data.length <= b.data.byteOffset + b.data.length)
  t.ok(vs.every(within) && as.every(within), 'sample data are views into their mdat, not copies')

  // Independent readers agree sample by sample.
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-of', 'json', '-show_entries', 'packet=stream_index,dts,size,flags', path], { maxBuffer: 16 << 20 })
  const packets: any[] = JSON.parse(stdout).packets
  for (const [k, list] of [vs, as].entries()) {
    const want = packets.filter((p) => p.stream_index === k).map((p) => [p.dts, Number(p.size), p.flags.startsWith('K')])
    t.same(list.map((s) => [s.dts, s.data.length, s.sync]), want, `track ${k + 1} matches ffprobe packets`)
  }
  const box = mp4boxParse(file)
  t.same([box.samples.get(1)?.count, box.samples.get(2)?.count], [vs.length, as.length], 'mp4box sample counts')
  t.equal(box.samples.get(1)?.bytes, vs.reduce((a, s) => a + s.data.length, 0), 'mp4box video bytes')
})

/** A trun sample; fields are written only when the trun flags ask for them. */
interface TS { duration?: number; size?: number; flags?: number; cts?: number }
interface TrunSpec { version?: number; flags: number; dataOffset?: number; firstFlags?: number; count?: number; samples: TS[] }
interface TrafSpec {
  trackId: number
  tfhdFlags: number
  baseDataOffset?: number
  defaults?: { duration?: number; size?: number; flags?: number }
  tfdt?: { version: number; time: number }
  truns: TrunSpec[]
}

/** Build a moof from specs; `dataOffset` values are relative to the moof start as written. */
function moof(trafs: TrafSpec[]): Buffer {
  const w = new BoxWriter()
  w.begin('moof').beginFull('mfhd', 0, 0).u32(1).end()
  for (const tr of trafs) {
    w.begin('traf').beginFull('tfhd', 0, tr.tfhdFlags).u32(tr.trackId)
    if (tr.tfhdFlags & 0x1) w.u64(tr.baseDataOffset ?? 0)
    if (tr.tfhdFlags & 0x2) w.u32(1)
    if (tr.tfhdFlags & 0x8) w.u32(tr.defaults?.duration ?? 0)
    if (tr.tfhdFlags & 0x10) w.u32(tr.defaults?.size ?? 0)
    if (tr.tfhdFlags & 0x20) w.u32(tr.defaults?.flags ?? 0)
    w.end()
    if (tr.tfdt) {
      w.beginFull('tfdt', tr.tfdt.version, 0)
      if (tr.tfdt.version === 1) w.u64(tr.tfdt.time)
      else w.u32(tr.tfdt.time)
      w.end()
    }
    for (const r of tr.truns) {
      w.beginFull('trun', r.version ?? 0, r.flags).u32(r.count ?? r.samples.length)
      if (r.flags & 0x1) w.i32(r.dataOffset ?? 0)
      if (r.flags & 0x4) w.u32(r.firstFlags ?? 0)
      for (const s of r.samples) {
        if (r.flags & 0x100) w.u32(s.duration ?? 0)
        if (r.flags & 0x200) w.u32(s.size ?? 0)
        if (r.flags & 0x400) w.u32(s.flags ?? 0)
        if (r.flags & 0x800) w.i32(s.cts ?? 0)
      }
      w.end()
    }
    w.end()
  }
  return Buffer.from(w.end().finish())
}

const avcC = rawBox('avcC', '01 64 00 1f ff e0 00')
const esds = rawBox('esds', '00000000 03 16 0001 00 04 11 40 15 000000 00000000 00000000 05 02 1190')
const init = parseInit(buildTestInit([
  { id: 1, handler: 'vide', timescale: 90000, entry: visualEntry('avc1', 64, 64, [avcC]), trex: { duration: 3000, size: 2, flags: 0x01010000 } },
  { id: 2, handler: 'soun', timescale: 48000, entry: audioEntry('mp4a', 48000, 2, [esds]), trex: { duration: 1024, size: 3, flags: 0x02000000 } },
  { id: 5, handler: 'text', timescale: 1000, entry: rawBox('tx3g', Buffer.alloc(8)) },
]))
const mdat = rawBox('mdat', Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'))
/** Moof size of a spec list, for computing data offsets (offsets do not change the size). */
const sizeOf = (trafs: TrafSpec[]): number => moof(trafs).length
const brief = (list: Sample[]): unknown[] => list.map((s) => [s.trackId, s.dts, s.duration, s.cts, s.sync, s.data.toString('hex')])

t.test('tfhd / trex / trun rules', async (t) => {
  const cases: { name: string; trafs: (m: number) => TrafSpec[]; opts?: { moofOffset?: number }; want: unknown[] }[] = [
    {
      name: 'trex fallbacks, first-sample-flags, tfdt v0',
      trafs: (m) => [{ trackId: 1, tfhdFlags: 0x020000, tfdt: { version: 0, time: 9000 }, truns: [{ flags: 0x5, dataOffset: m + 8, firstFlags: 0x02000000, samples: [{}, {}] }] }],
      want: [[1, 9000, 3000, 0, true, '0001'], [1, 12000, 3000, 0, false, '0203']],
    },
    {
      name: 'tfhd defaults override trex; per-sample fields override both; v1 signed cts, 64-bit tfdt',
      trafs: (m) => [{
        trackId: 1, tfhdFlags: 0x020038, defaults: { duration: 10, size: 1, flags: 0x02000000 }, tfdt: { version: 1, time: 2 ** 40 },
        truns: [{ version: 1, flags: 0xe01, dataOffset: m + 8, samples: [{ size: 4, flags: 0x01010000, cts: -20 }, { size: 1, flags: 0x02000000, cts: 30 }] }],
      }],
      want: [[1, 2 ** 40, 10, -20, false, '00010203'], [1, 2 ** 40 + 10, 10, 30, true, '04']],
    },
    {
      name: 'trun v0 composition offsets are unsigned',
      trafs: (m) => [{ trackId: 1, tfhdFlags: 0x020000, tfdt: { version: 0, time: 0 }, truns: [{ flags: 0x801, dataOffset: m + 8, samples: [{ cts: -1 }] }] }],
      want: [[1, 0, 3000, 0xffffffff, false, '0001']],
    },
    {
      name: 'no base flags: second traf continues where the first ended; runs without data_offset continue',
      trafs: (m) => [
        { trackId: 1, tfhdFlags: 0, tfdt: { version: 0, time: 0 }, truns: [{ flags: 0x1, dataOffset: m + 8, samples: [{}] }, { flags: 0, samples: [{}] }] },
        { trackId: 5, tfhdFlags: 0x10, defaults: { size: 1 }, tfdt: { version: 0, time: 0 }, truns: [{ flags: 0, samples: [{}] }] },
        { trackId: 2, tfhdFlags: 0x2, tfdt: { version: 0, time: 512 }, truns: [{ flags: 0, samples: [{}, {}] }] },
      ],
      want: [[1, 0, 3000, 0, false, '0001'], [1, 3000, 3000, 0, false, '0203'], [2, 512, 1024, 0, true, '050607'], [2, 1536, 1024, 0, true, '08090a']],
    },
    {
      name: 'absolute base-data-offset with the moof stream offset',
      trafs: (m) => [{ trackId: 2, tfhdFlags: 0x1, baseDataOffset: 1000 + m + 8 + 13, tfdt: { version: 0, time: 0 }, truns: [{ flags: 0, samples: [{}] }] }],
      opts: { moofOffset: 1000 },
      want: [[2, 0, 1024, 0, true, '0d0e0f']],
    },
    {
      name: 'duration-is-empty: no samples',
      trafs: () => [{ trackId: 1, tfhdFlags: 0x030000, tfdt: { version: 0, time: 0 }, truns: [] }],
      want: [],
    },
  ]
  for (const c of cases) {
    const m = sizeOf(c.trafs(0))
    t.same(brief(parseFragment(moof(c.trafs(m)), mdat, init, c.opts)), c.want, c.name)
  }
})

t.test('malformed fragments throw MediaFormatError', async (t) => {
  const ok = (m: number, run: Partial<TrunSpec> = {}, traf: Partial<TrafSpec> = {}): TrafSpec[] =>
    [{ trackId: 1, tfhdFlags: 0x020000, tfdt: { version: 0, time: 0 }, truns: [{ flags: 0x201, dataOffset: m + 8, samples: [{ size: 2 }], ...run }], ...traf }]
  const m = sizeOf(ok(0))
  const truncatedTrun = moof(ok(m, { count: 10 }))
  const cases: [string, () => unknown, RegExp][] = [
    ['truncated trun (count larger than its entries)', () => parseFragment(truncatedTrun, mdat, init), /samples do not fit/],
    ['moof cut short', () => parseFragment(truncatedTrun.subarray(0, truncatedTrun.length - 6), mdat, init), /runs past the end|truncated/],
    ['data offset past mdat', () => parseFragment(moof(ok(m, { dataOffset: m + 8 + 15 })), mdat, init), /outside mdat/],
    ['data offset inside moof', () => parseFragment(moof(ok(m, { dataOffset: 4 })), mdat, init), /outside mdat/],
    ['negative data offset', () => parseFragment(moof(ok(m, { dataOffset: -100 })), mdat, init), /outside mdat/],
    ['sample larger than mdat', () => parseFragment(moof(ok(m, { samples: [{ size: 0xffffffff }] })), mdat, init), /outside mdat/],
    ['4 billion default-sized samples', () => parseFragment(moof(ok(m, { flags: 0x1, count: 0xffffffff, samples: [] })), mdat, init), /do not fit/],
    ['no tfdt', () => parseFragment(moof(ok(m, {}, { tfdt: undefined })), mdat, init), /no 'tfdt'/],
    ['unknown track', () => parseFragment(moof(ok(m, {}, { trackId: 9 })), mdat, init), /track_ID 9/],
    ['absolute base without moof offset', () => parseFragment(moof(ok(m, {}, { tfhdFlags: 0x1 })), mdat, init), /stream offset is unknown/],
    ['not a moof', () => parseFragment(mdat, mdat, init), /expected moof/],
    ['not an mdat', () => parseFragment(moof(ok(m)), moof(ok(m)), init), /expected mdat/],
    ['no defaults anywhere', () => parseFragment(moof(ok(m, { flags: 0x1 })), mdat, { tracks: init.tracks, trex: new Map() }), /no duration, size or flags/],
  ]
  for (const [name, fn, msg] of cases) t.throws(fn, { name: 'MediaFormatError', message: msg }, name)
})
