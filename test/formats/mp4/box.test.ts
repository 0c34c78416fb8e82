import t from 'tap'
import {
  BoxWriter, childBoxes, findChild, peekBoxHeader, readBox, readBoxes, readFullBox, requireChild,
} from '../../../src/formats/mp4/box.js'
import { ByteReader, BitReader } from '../../../src/formats/mp4/reader.js'
import { MediaFormatError } from '../../../src/errors.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

t.test('peekBoxHeader / readBox table', async (t) => {
  const uuid = '00112233445566778899aabbccddeeff'
  const cases: { name: string; buf: Buffer; type?: string; size?: number; headerSize?: number; payload?: string; error?: RegExp }[] = [
    { name: 'plain', buf: hex('0000000c 66726565 01020304'), type: 'free', size: 12, headerSize: 8, payload: '01020304' },
    { name: 'empty body', buf: hex('00000008 736b6970'), type: 'skip', size: 8, headerSize: 8, payload: '' },
    { name: 'largesize', buf: hex('00000001 6d646174 0000000000000012 aabb'), type: 'mdat', size: 18, headerSize: 16, payload: 'aabb' },
    { name: 'size 0 runs to end', buf: hex('00000000 6d646174 010203'), type: 'mdat', size: 11, headerSize: 8, payload: '010203' },
    { name: 'uuid', buf: hex(`0000001a 75756964 ${uuid} cafe`), type: 'uuid', size: 26, headerSize: 24, payload: 'cafe' },
    { name: 'largesize uuid', buf: hex(`00000001 75756964 0000000000000021 ${uuid} 00`), type: 'uuid', size: 33, headerSize: 32, payload: '00' },
    { name: 'size < 8', buf: hex('00000007 66726565'), error: /smaller than its header/ },
    { name: 'largesize < 16', buf: hex('00000001 6d646174 000000000000000f'), error: /smaller than its header/ },
    { name: 'largesize above 2^53', buf: hex('00000001 6d646174 ffffffffffffffff'), error: /too large/ },
    { name: 'size past the end', buf: hex('00000010 66726565 00'), error: /runs past the end/ },
    { name: 'truncated header', buf: hex('000000'), error: /header truncated/ },
    { name: 'truncated largesize', buf: hex('00000001 6d646174 0000'), error: /header truncated/ },
  ]
  for (const c of cases) {
    if (c.error) {
      t.throws(() => readBox(c.buf), { name: 'MediaFormatError', message: c.error }, c.name)
      continue
    }
    const b = readBox(c.buf)
    t.same({ type: b.type, size: b.data.length, headerSize: b.headerSize, payload: b.payload.toString('hex') },
      { type: c.type, size: c.size, headerSize: c.headerSize, payload: c.payload }, c.name)
  }
  t.equal(peekBoxHeader(hex('00000001 6d646174 00')), undefined, 'largesize not yet complete')
  t.equal(peekBoxHeader(hex('00000020 75756964 0011')), undefined, 'usertype not yet complete')
  t.equal(readBox(hex(`0000001a 75756964 ${uuid} cafe`)).usertype?.toString('hex'), uuid)
})

t.test('children, full boxes, QuickTime terminator', async (t) => {
  const w = new BoxWriter(4) // small start: forces growth
  w.begin('moov')
  w.beginFull('mvhd', 1, 0x000203).u32(7).end()
  w.begin('trak').begin('tkhd').end().end()
  w.u32(0) // 4-byte terminator some QuickTime writers add
  w.end()
  const moov = readBox(w.finish())
  t.same(childBoxes(moov).map((b) => b.type), ['mvhd', 'trak'])
  const { version, flags, reader } = readFullBox(requireChild(moov, 'mvhd'))
  t.same([version, flags, reader.u32()], [1, 0x203, 7])
  t.ok(findChild(requireChild(moov, 'trak'), 'tkhd'))
  t.equal(findChild(moov, 'mvex'), undefined)
  t.throws(() => requireChild(moov, 'mvex'), /'moov' has no 'mvex' box/)
  // A child whose size overruns its parent is an error, not a silent truncation.
  const bad = hex('00000014 6d6f6f76 00000010 7472616b 0000')
  t.throws(() => childBoxes(readBox(bad)), MediaFormatError)
  t.same(readBoxes(hex('00000008 66726565 00000008 736b6970')).map((b) => b.type), ['free', 'skip'])
})

t.test('BoxWriter writes exact big-endian bytes', async (t) => {
  const w = new BoxWriter()
  w.begin('test').u8(1).u16(0x0203).u24(0x040506).u32(0x0708090a).i32(-2).u64(2 ** 40 + 5).fourcc('abcd').bytes(hex('ff')).end()
  t.equal(w.finish().toString('hex'),
    '00000023' + '74657374' + '01' + '0203' + '040506' + '0708090a' + 'fffffffe' + '0000010000000005' + '61626364' + 'ff')
  t.throws(() => new BoxWriter().begin('open').finish(), /still open/)
  t.throws(() => new BoxWriter().u64(-1), RangeError)
  t.throws(() => new BoxWriter().fourcc('toolong'), RangeError)
})

t.test('ByteReader and BitReader never read out of bounds', async (t) => {
  const r = new ByteReader(hex('0001020304050607 09'), 'x')
  t.equal(r.u64(), 0x0001020304050607)
  t.equal(r.remaining, 1)
  t.throws(() => r.u16(), { name: 'MediaFormatError', message: /x: truncated/ })
  t.throws(() => new ByteReader(hex('ffffffffffffffff'), 'y').u64(), /too large/)
  const bits = new BitReader(hex('f0'), 'bits')
  t.equal(bits.bits(3), 7)
  t.equal(bits.bits(5), 16)
  t.throws(() => bits.bits(1), MediaFormatError)
})
