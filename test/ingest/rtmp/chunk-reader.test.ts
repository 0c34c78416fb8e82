import t from 'tap'
import { ChunkReader } from '../../../src/ingest/rtmp/chunk-reader.js'
import { ChunkWriter } from '../../../src/ingest/rtmp/chunk-writer.js'
import type { RtmpMessage } from '../../../src/ingest/rtmp/messages.js'
import { ProtocolError } from '../../../src/errors.js'

// Chunk bytes are built by hand here, straight from RTMP 1.0 §5.3.1, so the
// reader is not checked against the writer's own idea of the format.
function basic(fmt: number, csid: number): number[] {
  if (csid < 64) return [(fmt << 6) | csid]
  if (csid < 320) return [fmt << 6, csid - 64]
  return [(fmt << 6) | 1, (csid - 64) & 0xff, (csid - 64) >> 8]
}
const u24 = (v: number): number[] => [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]
const u32 = (v: number): number[] => [v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]
const u32le = (v: number): number[] => u32(v).reverse()

function type0(csid: number, ts: number, len: number, type: number, sid: number, ext?: number): Buffer {
  return Buffer.from([...basic(0, csid), ...u24(ts), ...u24(len), type, ...u32le(sid), ...(ext !== undefined ? u32(ext) : [])])
}
function type1(csid: number, delta: number, len: number, type: number, ext?: number): Buffer {
  return Buffer.from([...basic(1, csid), ...u24(delta), ...u24(len), type, ...(ext !== undefined ? u32(ext) : [])])
}
const type2 = (csid: number, delta: number): Buffer => Buffer.from([...basic(2, csid), ...u24(delta)])
const type3 = (csid: number, ext?: number): Buffer => Buffer.from([...basic(3, csid), ...(ext !== undefined ? u32(ext) : [])])
const payload = (n: number, seed = 1): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff))
const setChunkSize = (n: number): Buffer => Buffer.concat([type0(2, 0, 4, 1, 0), Buffer.from(u32(n))])

function collect(opts: { maxMessageSize?: number; maxChunkStreams?: number; maxBufferedBytes?: number } = {}) {
  const out: RtmpMessage[] = []
  const reader = new ChunkReader({ maxMessageSize: opts.maxMessageSize ?? 1 << 20, ...opts, onMessage: (m) => out.push(m) })
  return { reader, out }
}
const brief = (m: RtmpMessage) => ({ csid: m.csid, typeId: m.typeId, streamId: m.streamId, timestamp: m.timestamp, len: m.payload.length })

// A stream exercising every header type, a chunk size change, an extended
// timestamp and multi-chunk messages; used whole and byte by byte.
const p300 = payload(300)
const p25 = payload(25, 3)
const p200 = payload(200, 5)
const stream = Buffer.concat([
  type0(3, 1000, 5, 20, 0), payload(5),
  type0(6, 100, 300, 9, 1), p300.subarray(0, 128), type3(6), p300.subarray(128, 256), type3(6), p300.subarray(256),
  type1(6, 40, 4, 9), payload(4),
  type2(6, 33), payload(4),
  type3(6), payload(4),
  setChunkSize(10),
  type0(4, 50, 25, 8, 1), p25.subarray(0, 10), type3(4), p25.subarray(10, 20), type3(4), p25.subarray(20),
  type0(7, 0xffffff, 200, 9, 1, 0x01000000),
  ...Array.from({ length: 20 }, (_, i) => Buffer.concat([i ? type3(7, 0x01000000) : Buffer.alloc(0), p200.subarray(i * 10, i * 10 + 10)])),
  type1(7, 0xffffff, 3, 9, 0x02000000), payload(3),
])
const expected = [
  { csid: 3, typeId: 20, streamId: 0, timestamp: 1000, len: 5 },
  { csid: 6, typeId: 9, streamId: 1, timestamp: 100, len: 300 },
  { csid: 6, typeId: 9, streamId: 1, timestamp: 140, len: 4 },
  { csid: 6, typeId: 9, streamId: 1, timestamp: 173, len: 4 },
  { csid: 6, typeId: 9, streamId: 1, timestamp: 206, len: 4 },
  { csid: 4, typeId: 8, streamId: 1, timestamp: 50, len: 25 },
  { csid: 7, typeId: 9, streamId: 1, timestamp: 0x01000000, len: 200 },
  { csid: 7, typeId: 9, streamId: 1, timestamp: 0x03000000, len: 3 },
]

t.test('type 0/1/2/3 headers, chunk size change and extended timestamps in one push', async (t) => {
  const { reader, out } = collect()
  reader.push(stream)
  t.same(out.map(brief), expected)
  t.same(out[1]?.payload, p300, '300-byte message reassembled from three chunks')
  t.same(out[5]?.payload, p25, 'message reassembled with the new chunk size of 10')
  t.same(out[6]?.payload, p200, 'extended timestamp repeated on every type 3 continuation')
  t.equal(reader.peerChunkSize, 10)
})

t.test('the same stream pushed one byte at a time', async (t) => {
  const { reader, out } = collect()
  for (let i = 0; i < stream.length; i++) reader.push(stream.subarray(i, i + 1))
  t.same(out.map(brief), expected)
  t.same(out[1]?.payload, p300)
  t.same(out[6]?.payload, p200)
})

t.test('split at every possible point into two pushes', async (t) => {
  let bad = 0
  for (let cut = 1; cut < stream.length; cut++) {
    const { reader, out } = collect()
    reader.push(stream.subarray(0, cut))
    reader.push(stream.subarray(cut))
    if (JSON.stringify(out.map(brief)) !== JSON.stringify(expected)) bad++
  }
  t.equal(bad, 0)
})

t.test('2- and 3-byte basic headers, interleaved chunk streams', async (t) => {
  const a = payload(200, 1)
  const b = payload(150, 2)
  const { reader, out } = collect()
  reader.push(Buffer.concat([
    type0(100, 10, 200, 9, 1), a.subarray(0, 128),
    type0(1000, 20, 150, 8, 1), b.subarray(0, 128),
    type3(100), a.subarray(128),
    type3(1000), b.subarray(128),
  ]))
  t.same(out.map(brief), [
    { csid: 100, typeId: 9, streamId: 1, timestamp: 10, len: 200 },
    { csid: 1000, typeId: 8, streamId: 1, timestamp: 20, len: 150 },
  ])
  t.same(out[0]?.payload, a)
  t.same(out[1]?.payload, b)
})

t.test('type 3 new message after type 0 reuses the type 0 timestamp as delta (FFmpeg writer)', async (t) => {
  const { reader, out } = collect()
  reader.push(Buffer.concat([type0(4, 40, 2, 8, 1), payload(2), type3(4), payload(2)]))
  t.same(out.map((m) => m.timestamp), [40, 80])
})

t.test('zero-length message and 32-bit timestamp wrap', async (t) => {
  const { reader, out } = collect()
  reader.push(Buffer.concat([type0(5, 0xffffff, 0, 18, 1, 0xfffffff0), type1(5, 0x20, 1, 18), payload(1)]))
  t.same(out.map(brief), [
    { csid: 5, typeId: 18, streamId: 1, timestamp: 0xfffffff0, len: 0 },
    { csid: 5, typeId: 18, streamId: 1, timestamp: 0x10, len: 1 },
  ])
})

t.test('Abort discards the partial message', async (t) => {
  const { reader, out } = collect()
  const abort = Buffer.concat([type0(2, 0, 4, 2, 0), Buffer.from(u32(6))])
  const fresh = payload(3, 9)
  reader.push(Buffer.concat([
    type0(6, 0, 300, 9, 1), payload(128),
    abort,
    type0(6, 500, 3, 9, 1), fresh,
  ]))
  t.same(out.map(brief), [{ csid: 6, typeId: 9, streamId: 1, timestamp: 500, len: 3 }])
  t.same(out[0]?.payload, fresh)
})

t.test('protocol control messages other than chunk-layer ones are passed up', async (t) => {
  const { reader, out } = collect()
  reader.push(Buffer.concat([type0(2, 0, 4, 5, 0), Buffer.from(u32(2500000))]))
  t.same(out.map((m) => [m.typeId, m.payload.readUInt32BE(0)]), [[5, 2500000]])
})

t.test('bad input throws ProtocolError', async (t) => {
  const cases: Array<[string, Buffer, Parameters<typeof collect>[0]?]> = [
    ['chunk size 0', setChunkSize(0)],
    ['chunk size 2^31', setChunkSize(0x80000000)],
    ['chunk size 0xFFFFFFFF', setChunkSize(0xffffffff)],
    ['message longer than maxMessageSize', type0(3, 0, 0xffffff, 9, 1), { maxMessageSize: 1000 }],
    ['type 1 header on an unseen chunk stream', type1(9, 0, 4, 9)],
    ['type 3 header on an unseen chunk stream', type3(9)],
    ['new header while a message is incomplete', Buffer.concat([type0(6, 0, 300, 9, 1), payload(128), type1(6, 0, 4, 9)])],
    ['too many chunk streams', Buffer.concat(Array.from({ length: 5 }, (_, i) => Buffer.concat([type0(3 + i, 0, 1, 9, 1), payload(1)]))), { maxChunkStreams: 4 }],
    ['too many buffered bytes', Buffer.concat([type0(3, 0, 900, 9, 1), payload(128), type0(4, 0, 900, 9, 1), payload(128)]), { maxMessageSize: 1000, maxBufferedBytes: 200 }],
  ]
  for (const [name, bytes, opts] of cases) {
    const { reader } = collect(opts)
    t.throws(() => reader.push(bytes), ProtocolError, name)
  }
})

t.test('chunk sizes above 0xFFFFFF are accepted and clamped (spec: equivalent)', async (t) => {
  const { reader, out } = collect()
  reader.push(Buffer.concat([setChunkSize(0x7fffffff), type0(3, 0, 1000, 9, 1), payload(1000)]))
  t.equal(reader.peerChunkSize, 0xffffff)
  t.equal(out[0]?.payload.length, 1000)
})

t.test('stop() ignores every later byte', async (t) => {
  const { reader, out } = collect()
  reader.stop()
  reader.push(Buffer.concat([type0(3, 0, 1, 9, 1), payload(1)]))
  t.equal(out.length, 0)
})

t.test('ChunkWriter output reads back through the reader', async (t) => {
  const w = new ChunkWriter()
  const { reader, out } = collect()
  const big = payload(10000)
  reader.push(w.encode({ csid: 3, typeId: 20, streamId: 0, timestamp: 0, payload: payload(5) }))
  reader.push(w.encode({ csid: 6, typeId: 9, streamId: 1, timestamp: 0x1234567, payload: big }))
  reader.push(w.encode({ csid: 400, typeId: 8, streamId: 1, timestamp: 7, payload: Buffer.alloc(0) }))
  t.same(out.map(brief), [
    { csid: 3, typeId: 20, streamId: 0, timestamp: 0, len: 5 },
    { csid: 6, typeId: 9, streamId: 1, timestamp: 0x1234567, len: 10000 },
    { csid: 400, typeId: 8, streamId: 1, timestamp: 7, len: 0 },
  ])
  t.same(out[1]?.payload, big)
  t.equal(w.encode({ csid: 3, typeId: 1, streamId: 0, timestamp: 0, payload: payload(4) }).toString('hex'),
    '03' + '000000' + '000004' + '01' + '00000000' + payload(4).toString('hex'), 'type 0 header byte-exact')
})

t.test('setLimits raises the message and buffer limits for what follows', async (t) => {
  const { reader, out } = collect({ maxMessageSize: 1000 })
  reader.push(Buffer.concat([setChunkSize(8192), type0(3, 0, 1000, 9, 1), payload(1000)]))
  reader.setLimits(5000)
  reader.push(Buffer.concat([type0(3, 0, 5000, 9, 1), payload(5000)]))
  t.same(out.map((m) => m.payload.length), [1000, 5000], 'a message at each limit is delivered')
  t.throws(() => reader.push(type0(4, 0, 5001, 9, 1)), /exceeds the 5000-byte limit/, 'the new message limit rules')
  const small = collect({ maxMessageSize: 1000 })
  t.throws(() => small.reader.push(type0(3, 0, 0x7fffff, 9, 1)), /exceeds the 1000-byte limit/,
    'an 8 MiB header is refused before any payload under the small limit')
  const buffered = collect({ maxMessageSize: 1000, maxBufferedBytes: 1000 })
  buffered.reader.setLimits(1000, 300)
  t.throws(() => buffered.reader.push(Buffer.concat([type0(3, 0, 900, 9, 1), payload(128), type0(4, 0, 900, 9, 1), payload(128), type0(5, 0, 900, 9, 1), payload(128)])),
    /more than 300 bytes of incomplete messages/, 'the new buffer limit rules')
})
