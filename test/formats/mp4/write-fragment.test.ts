import t from 'tap'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BoxSplitter } from '../../../src/formats/mp4/box-splitter.js'
import { parseFragment } from '../../../src/formats/mp4/fragment.js'
import { parseInit, type InitInfo } from '../../../src/formats/mp4/init.js'
import { buildFragment, buildStyp } from '../../../src/formats/mp4/write-fragment.js'
import type { Sample } from '../../../src/media/types.js'
import { testSourceArgs } from '../../helpers/ffmpeg.js'
import {
  audioEntry, buildTestInit, initSegmentOf, makeFragmentedMp4, mp4boxParse, probeDecode, rawBox, tempDir, visualEntry,
} from '../../helpers/mp4-fixtures.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const sample = (trackId: number, dts: number, duration: number, cts: number, sync: boolean, data: string): Sample =>
  ({ trackId, dts, duration, cts, sync, data: hex(data) })

const video = [sample(1, 1000, 512, 1024, true, 'aabb'), sample(1, 1512, 512, -512, false, 'cc')]
const audio = [sample(2, 48000, 1024, 0, true, 'dddddd')]

t.test('two-track fragment, byte for byte', async (t) => {
  const expected = hex(`
    000000c8 6d6f6f66
      00000010 6d666864 00000000 00000001
      00000060 74726166
        00000010 74666864 00020000 00000001
        00000014 74666474 01000000 00000000000003e8
        00000034 7472756e 01000f01 00000002 000000d0
          00000200 00000002 02000000 00000400
          00000200 00000001 01010000 fffffe00
      00000050 74726166
        00000010 74666864 00020000 00000002
        00000014 74666474 01000000 000000000000bb80
        00000024 7472756e 01000f01 00000001 000000d3
          00000400 00000003 02000000 00000000
    0000000e 6d646174 aabbcc dddddd`)
  const built = buildFragment(1, [{ trackId: 1, samples: video }, { trackId: 2, samples: audio }])
  t.equal(built.toString('hex'), expected.toString('hex'))
  t.ok(buildFragment(1, [{ trackId: 1, samples: video }, { trackId: 2, samples: audio }]).equals(built), 'deterministic')
  t.equal(buildStyp().toString('hex'), '00000014' + '73747970' + '6d736468' + '00000000' + '6d736468')
})

const init: InitInfo = parseInit(buildTestInit([
  { id: 1, handler: 'vide', timescale: 90000, entry: visualEntry('avc1', 64, 64, [rawBox('avcC', '01 64 00 1f ff e0 00')]) },
  { id: 2, handler: 'soun', timescale: 48000, entry: audioEntry('mp4a', 48000, 2, [rawBox('esds', '00000000 03 16 0001 00 04 11 40 15 000000 00000000 00000000 05 02 1190')]) },
]))

/** Parse a built fragment back (moof and mdat split with BoxSplitter). */
function reparse(fragment: Buffer): Sample[] {
  const [moof, mdat, ...rest] = new BoxSplitter().push(fragment)
  if (!moof || !mdat || rest.length) throw new Error('expected moof + mdat')
  return parseFragment(moof.data, mdat.data, init)
}

t.test('build → parse round trip', async (t) => {
  const big = Array.from({ length: 50 }, (_, i) => sample(1, 2 ** 33 + i * 3000, 3000, i % 3 === 1 ? -3000 : 6000, i % 25 === 0, (i + 1).toString(16).padStart(2, '0').repeat(i + 1)))
  for (const tracks of [[{ trackId: 1, samples: video }, { trackId: 2, samples: audio }], [{ trackId: 2, samples: audio }], [{ trackId: 1, samples: big }]]) {
    t.same(reparse(buildFragment(7, tracks)), tracks.flatMap((x) => x.samples))
  }
  // A track without samples is left out rather than written as an empty traf.
  t.same(reparse(buildFragment(1, [{ trackId: 1, samples: [] }, { trackId: 2, samples: audio }])), audio)
})

t.test('dts is authoritative: written durations close gaps between samples', async (t) => {
  const gappy = [sample(2, 0, 0, 0, true, '01'), sample(2, 1024, 1024, 0, true, '02'), sample(2, 3072, 1024, 0, true, '03')]
  const back = reparse(buildFragment(1, [{ trackId: 2, samples: gappy }]))
  t.same(back.map((s) => [s.dts, s.duration]), [[0, 1024], [1024, 2048], [3072, 1024]])
})

t.test('refuses what trun cannot express', async (t) => {
  const cases: [string, () => unknown, RegExp][] = [
    ['no samples', () => buildFragment(1, [{ trackId: 1, samples: [] }]), /without samples/],
    ['track twice', () => buildFragment(1, [{ trackId: 2, samples: audio }, { trackId: 2, samples: audio }]), /appears twice/],
    ['sample of another track', () => buildFragment(1, [{ trackId: 1, samples: audio }]), /sample of track 2 given for track 1/],
    ['dts going backwards', () => buildFragment(1, [{ trackId: 1, samples: [video[1]!, video[0]!] }]), /backwards/],
    ['composition offset beyond 32 bits', () => buildFragment(1, [{ trackId: 1, samples: [sample(1, 0, 1, 2 ** 31, true, '00')] }]), /signed 32-bit/],
    ['negative dts', () => buildFragment(1, [{ trackId: 1, samples: [sample(1, -1, 1, 0, true, '00')] }]), /bad dts/],
    ['sequence number beyond 32 bits', () => buildFragment(2 ** 32, [{ trackId: 2, samples: audio }]), /sequence_number/],
    ['track_ID 0', () => buildFragment(1, [{ trackId: 0, samples: [sample(0, 0, 1, 0, true, '00')] }]), /bad track_ID/],
  ]
  for (const [name, fn, msg] of cases) t.throws(fn, { name: 'MediaFormatError', message: msg }, name)
})

t.test('coalesced FFmpeg fragments still decode: ffprobe and mp4box', async (t) => {
  const dir = await tempDir(t)
  const sources = [
    { name: 'worker (zerolatency)', args: testSourceArgs({ duration: 3, realtime: false, gop: 30 }) },
    // B-frames: composition offsets must survive the rewrite.
    { name: 'B-frames', args: [...testSourceArgs({ duration: 2, realtime: false, gop: 30, audio: false }).filter((a) => a !== 'zerolatency' && a !== '-tune'), '-bf', '2'] },
  ]
  for (const [n, src] of sources.entries()) {
    await t.test(src.name, async (t) => {
      const original = join(dir, `original-${n}.mp4`)
      const file = await makeFragmentedMp4(original, src.args)
      const boxes = new BoxSplitter().push(file)
      const info = parseInit(initSegmentOf(file))
      const samples: Sample[] = []
      boxes.forEach((b, i) => {
        if (b.type === 'moof') samples.push(...parseFragment(b.data, boxes[i + 1]!.data, info))
      })
      const videoId = info.tracks.find((x) => x.kind === 'video')!.id
      // Coalesce as the packager does: a new part every 15 video samples, audio in between joins the open part.
      const parts: Sample[][] = [[]]
      let videoInPart = 0
      for (const s of samples) {
        if (s.trackId === videoId && videoInPart === 15) {
          parts.push([])
          videoInPart = 0
        }
        if (s.trackId === videoId) videoInPart++
        parts[parts.length - 1]!.push(s)
      }
      const fragments = parts.map((p, i) => buildFragment(i + 1, info.tracks.map((tr) => ({ trackId: tr.id, samples: p.filter((s) => s.trackId === tr.id) }))))
      t.equal(fragments.length, Math.ceil(samples.filter((s) => s.trackId === videoId).length / 15))
      const rebuilt = join(dir, `coalesced-${n}.mp4`)
      const out = Buffer.concat([initSegmentOf(file), ...fragments])
      await writeFile(rebuilt, out)

      const [want, got] = await Promise.all([probeDecode(original), probeDecode(rebuilt)])
      t.ok(want.video > 0, `original decodes ${want.video} video / ${want.audio} audio frames`)
      t.same([got.video, got.audio], [want.video, want.audio], 'ffprobe decodes the same frames')
      t.equal(got.errors, '', 'ffprobe reports no errors')
      const mp4box = mp4boxParse(out)
      t.same(mp4box.errors, [])
      for (const tr of info.tracks) {
        const list = samples.filter((s) => s.trackId === tr.id)
        t.same(mp4box.samples.get(tr.id), { count: list.length, bytes: list.reduce((a, s) => a + s.data.length, 0), sync: list.filter((s) => s.sync).length },
          `mp4box finds every sample of track ${tr.id}`)
      }
      // And our own reader gets the original samples back (decode times, offsets, bytes, flags).
      const back: Sample[] = []
      const outBoxes = new BoxSplitter().push(out)
      outBoxes.forEach((b, i) => {
        if (b.type === 'moof') back.push(...parseFragment(b.data, outBoxes[i + 1]!.data, info))
      })
      const key = (s: Sample): string => `${s.trackId}:${s.dts}:${s.cts}:${s.sync}:${s.data.toString('base64')}`
      const order = (a: Sample, b: Sample): number => a.trackId - b.trackId || a.dts - b.dts
      t.same(back.sort(order).map(key), [...samples].sort(order).map(key), 'same samples after the rewrite')
      if (src.name === 'B-frames') t.ok(back.some((s) => s.cts !== 0), 'composition offsets present')
    })
  }
})
