import t from 'tap'
import { createFile, MP4BoxBuffer } from 'mp4box'
import { readBox } from '../../../src/formats/mp4/box.js'
import { MediaFormatError } from '../../../src/errors.js'
import { PRFT_FLAGS, buildPrft, ntpFromUnixMs, parsePrft, startsWithPrft, unixMsFromNtp } from '../../../src/formats/mp4/prft.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
// 2024-03-01T12:00:00.250Z: 1709294400 s after 1970, so 3918283200 (0xe98c41c0) after 1900; .25 s = 0x40000000 / 2^32.
const WALL = Date.UTC(2024, 2, 1, 12, 0, 0, 250)

t.test('prft byte for byte', async (t) => {
  const table: Array<{ name: string; p: Parameters<typeof buildPrft>[0]; hex: string }> = [
    {
      name: 'version 0: media_time fits 32 bits',
      p: { referenceTrackId: 1, wallClockMs: WALL, mediaTime: 90000 },
      hex: '0000001c 70726674 00000000 00000001 e98c41c0 40000000 00015f90',
    },
    {
      name: 'version 1: 64-bit media_time, captured flags',
      p: { referenceTrackId: 2, wallClockMs: WALL, mediaTime: 2 ** 32, flags: PRFT_FLAGS.CAPTURED },
      hex: '00000020 70726674 01000018 00000002 e98c41c0 40000000 00000001 00000000',
    },
    {
      name: 'last 32-bit media_time stays version 0',
      p: { referenceTrackId: 7, wallClockMs: WALL - 250, mediaTime: 2 ** 32 - 1 },
      hex: '0000001c 70726674 00000000 00000007 e98c41c0 00000000 ffffffff',
    },
  ]
  for (const row of table) {
    const built = buildPrft(row.p)
    t.equal(built.toString('hex'), hex(row.hex).toString('hex'), row.name)
    const back = parsePrft(readBox(built))
    t.equal(back.referenceTrackId, row.p.referenceTrackId, `${row.name}: track read back`)
    t.equal(back.mediaTime, row.p.mediaTime, `${row.name}: media_time read back`)
    t.equal(back.flags, row.p.flags ?? 0, `${row.name}: flags read back`)
    t.ok(Math.abs(back.wallClockMs - row.p.wallClockMs) < 1e-3, `${row.name}: wall clock read back`)
  }
})

t.test('mp4box.js reads what buildPrft writes', async (t) => {
  const built = buildPrft({ referenceTrackId: 3, wallClockMs: WALL + 0.5, mediaTime: 123456 })
  const file = createFile()
  const copy = built.buffer.slice(built.byteOffset, built.byteOffset + built.length) as ArrayBuffer
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(copy, 0))
  file.flush()
  const box = file.boxes.find((b: any) => b.type === 'prft') as any
  t.ok(box, 'mp4box found the prft')
  t.equal(box.ref_track_id, 3)
  t.equal(box.media_time, 123456)
  const ms = (box.ntp_timestamp / 2 ** 32 - 2_208_988_800) * 1000
  t.ok(Math.abs(ms - (WALL + 0.5)) < 0.01, `NTP time ${ms} is the wall clock given`)
})

t.test('NTP conversion', async (t) => {
  t.same(ntpFromUnixMs(0), [2_208_988_800, 0], 'Unix epoch')
  // A fraction that rounds up to a whole second carries into the seconds.
  t.same(ntpFromUnixMs(999.99999999999), [2_208_988_801, 0], 'rounding carries')
  // RFC 5905 era 1 begins 2036-02-07T06:28:16Z; seconds wrap to 0 and are read back as era 1.
  const era1 = Date.UTC(2036, 1, 7, 6, 28, 16)
  t.same(ntpFromUnixMs(era1), [0, 0], 'era 1 wraps')
  t.equal(unixMsFromNtp(0, 0), era1, 'era 1 read back')
  t.equal(unixMsFromNtp(...ntpFromUnixMs(WALL)), WALL, 'round trip')
  t.throws(() => ntpFromUnixMs(-1), RangeError)
  t.throws(() => ntpFromUnixMs(NaN), RangeError)
})

t.test('bad input is refused', async (t) => {
  t.throws(() => buildPrft({ referenceTrackId: 0, wallClockMs: WALL, mediaTime: 0 }), MediaFormatError)
  t.throws(() => buildPrft({ referenceTrackId: 1, wallClockMs: WALL, mediaTime: -1 }), MediaFormatError)
  t.throws(() => buildPrft({ referenceTrackId: 1, wallClockMs: WALL, mediaTime: 1.5 }), MediaFormatError)
  t.throws(() => parsePrft(readBox(hex('0000001470726674 00000000 00000001 e98c41c0'))), MediaFormatError, 'truncated')
  t.throws(() => parsePrft(readBox(hex('0000001c70726674 02000000 00000001 e98c41c0 00000000 00000000'))), MediaFormatError, 'version 2')
  t.throws(() => parsePrft(readBox(hex('000000086d6f6f66'))), MediaFormatError, 'not a prft')
  t.equal(startsWithPrft(buildPrft({ referenceTrackId: 1, wallClockMs: WALL, mediaTime: 0 })), true)
  t.equal(startsWithPrft(hex('000000086d6f6f66')), false)
  t.equal(startsWithPrft(Buffer.alloc(4)), false)
})
