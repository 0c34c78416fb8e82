import t from 'tap'
import { flvHeader, flvTag } from '../../src/formats/flv.js'
import { readFlvTags } from '../../src/formats/flv-read.js'
import { MediaFormatError } from '../../src/errors.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

t.test('reads back what flvHeader + flvTag wrote, extended timestamps included', async (t) => {
  const tags = [
    { kind: 'data' as const, timestamp: 0, body: hex('02000a6f6e4d657461') },
    { kind: 'video' as const, timestamp: 0, body: hex('1700000000 01640028') },
    { kind: 'audio' as const, timestamp: 23, body: hex('af01 2110') },
    { kind: 'video' as const, timestamp: 0x12345678, body: hex('2701000000 00000002 0910') },
    { kind: 'audio' as const, timestamp: 0xfffffffe, body: Buffer.alloc(0) },
  ]
  const flv = Buffer.concat([flvHeader(true, true), ...tags.map((x) => flvTag(x.kind, x.timestamp, x.body))])
  const got = readFlvTags(flv)
  t.same(got.map((x) => ({ kind: x.kind, timestamp: x.timestamp, body: x.body.toString('hex') })), tags.map((x) => ({ ...x, body: x.body.toString('hex') })))
})

t.test('honours DataOffset and skips reserved tag types', async (t) => {
  // A 12-byte header (DataOffset 12: 3 bytes this reader does not know), then a type-15 tag and an audio tag.
  const header = Buffer.concat([hex('464c5601 04 0000000c'), hex('aabbcc'), hex('00000000')])
  const odd = flvTag('audio', 7, hex('0102'))
  odd[0] = 15
  const flv = Buffer.concat([header, odd, flvTag('audio', 9, hex('af01ff'))])
  t.same(readFlvTags(flv).map((x) => [x.kind, x.timestamp, x.body.toString('hex')]), [['audio', 9, 'af01ff']])
})

t.test('a cut or damaged stream is a MediaFormatError, never a read past the end', async (t) => {
  const whole = Buffer.concat([flvHeader(true, false), flvTag('audio', 0, hex('af01 0102030405'))])
  for (let cut = 13 + 1; cut < whole.length; cut++) {
    t.throws(() => readFlvTags(whole.subarray(0, cut)), MediaFormatError, `cut at ${cut} of ${whole.length}`)
  }
  t.same(readFlvTags(whole.subarray(0, 13)), [], 'the header alone holds no tags')
  t.throws(() => readFlvTags(hex('464c5601 04 00000009 0000')), MediaFormatError, 'ends inside PreviousTagSize0')
  t.throws(() => readFlvTags(Buffer.from('not an flv at all')), MediaFormatError, 'no signature')
  t.throws(() => readFlvTags(hex('464c5601 04 00000003 00000000')), MediaFormatError, 'DataOffset below 9')
  const encrypted = Buffer.concat([flvHeader(true, false), flvTag('audio', 0, hex('af01'))])
  encrypted[13] = 0x20 | 8
  t.throws(() => readFlvTags(encrypted), /encrypted/, 'Filter bit set')
})
