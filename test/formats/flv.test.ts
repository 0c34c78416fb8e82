import t from 'tap'
import { flvHeader, flvTag, parseAudioTagHeader, parseVideoTagHeader } from '../../src/formats/flv.js'
import { MediaFormatError } from '../../src/errors.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

t.test('flvHeader is the 9-byte header plus PreviousTagSize0', async (t) => {
  t.equal(flvHeader(true, true).toString('hex'), hex('464c5601 05 00000009 00000000').toString('hex'))
  t.equal(flvHeader(false, true).toString('hex'), hex('464c5601 01 00000009 00000000').toString('hex'))
  t.equal(flvHeader(true, false).toString('hex'), hex('464c5601 04 00000009 00000000').toString('hex'))
})

t.test('flvTag writes header, body and PreviousTagSize', async (t) => {
  const cases: Array<[string, Parameters<typeof flvTag>, string]> = [
    ['video at 0', ['video', 0, hex('1701000000aa')], '09 000006 000000 00 000000 1701000000aa 00000011'],
    ['audio at 1000', ['audio', 1000, hex('af01bb')], '08 000003 0003e8 00 000000 af01bb 0000000e'],
    ['data', ['data', 5, hex('02000a')], '12 000003 000005 00 000000 02000a 0000000e'],
    // Timestamp above 24 bits: lower 24 in Timestamp, upper 8 in TimestampExtended.
    ['extended timestamp', ['video', 0x12345678, hex('27')], '09 000001 345678 12 000000 27 0000000c'],
    ['empty body', ['audio', 1, Buffer.alloc(0)], '08 000000 000001 00 000000 0000000b'],
  ]
  for (const [name, args, bytes] of cases) t.equal(flvTag(...args).toString('hex'), hex(bytes).toString('hex'), name)
  t.throws(() => flvTag('video', 0, Buffer.alloc(0x1000000)), MediaFormatError, 'body larger than UI24')
})

t.test('parseVideoTagHeader: legacy AVC', async (t) => {
  t.same(parseVideoTagHeader(hex('17 00 000000 0164001f')), {
    frameType: 1, keyframe: true, codecId: 7, avcPacketType: 'seq', compositionTimeMs: 0, headerSize: 5,
  })
  t.same(parseVideoTagHeader(hex('27 01 000050 00000002 0910')), {
    frameType: 2, keyframe: false, codecId: 7, avcPacketType: 'nalu', compositionTimeMs: 80, headerSize: 5,
  })
  t.equal(parseVideoTagHeader(hex('27 01 ffffd8')).compositionTimeMs, -40, 'SI24 composition time is signed')
  t.equal(parseVideoTagHeader(hex('17 02 000000')).avcPacketType, 'eos')
  t.same(parseVideoTagHeader(hex('1c 00 000000')).codecId, 12, 'legacy HEVC id 12 uses the AVC layout')
  const vp6 = parseVideoTagHeader(hex('24 00'))
  t.equal(vp6.codecId, 4)
  t.equal(vp6.avcPacketType, undefined)
  t.equal(vp6.headerSize, 1)
})

t.test('parseVideoTagHeader: Enhanced RTMP hvc1', async (t) => {
  // 0x90: IsExHeader, FrameType 1, PacketType 0 (SequenceStart).
  t.same(parseVideoTagHeader(hex('90 68766331 01')), {
    frameType: 1, keyframe: true, codecId: 12, fourCc: 'hvc1', avcPacketType: 'seq', compositionTimeMs: 0, headerSize: 5,
  })
  // 0xa1: inter frame, CodedFrames with a composition time.
  t.same(parseVideoTagHeader(hex('a1 68766331 000021 00')), {
    frameType: 2, keyframe: false, codecId: 12, fourCc: 'hvc1', avcPacketType: 'nalu', compositionTimeMs: 33, headerSize: 8,
  })
  // CodedFramesX: no composition time field.
  const x = parseVideoTagHeader(hex('93 68766331 00'))
  t.equal(x.avcPacketType, 'nalu')
  t.equal(x.headerSize, 5)
  t.equal(parseVideoTagHeader(hex('92 68766331')).avcPacketType, 'eos')
  const av1 = parseVideoTagHeader(hex('91 61763031 0a'))
  t.equal(av1.fourCc, 'av01')
  t.equal(av1.codecId, 0)
  t.equal(av1.headerSize, 5, 'av01 coded frames have no composition time')
})

t.test('parseVideoTagHeader: malformed bodies throw', async (t) => {
  for (const [name, b] of [['empty', ''], ['short AVC', '1701'], ['short ex header', '906876'], ['bad AVCPacketType', '1705000000'],
    ['short ex composition', 'a168766331']] as const) {
    t.throws(() => parseVideoTagHeader(hex(b)), MediaFormatError, name)
  }
})

t.test('parseAudioTagHeader', async (t) => {
  t.same(parseAudioTagHeader(hex('af 00 1190')), {
    soundFormat: 10, soundRate: 3, sixteenBit: true, stereo: true, aacPacketType: 'seq', headerSize: 2,
  })
  t.equal(parseAudioTagHeader(hex('af 01 21')).aacPacketType, 'raw')
  const mp3 = parseAudioTagHeader(hex('2e ff'))
  t.equal(mp3.soundFormat, 2)
  t.equal(mp3.stereo, false)
  t.equal(mp3.aacPacketType, undefined)
  t.throws(() => parseAudioTagHeader(Buffer.alloc(0)), MediaFormatError)
  t.throws(() => parseAudioTagHeader(hex('af')), MediaFormatError)
  t.throws(() => parseAudioTagHeader(hex('af 07')), MediaFormatError)
})
