import t from 'tap'
import { BoxSplitter, type Box } from '../../../src/formats/mp4/box-splitter.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

/** A box of `type` with `n` payload bytes (byte i = i & 0xff), optionally with a 64-bit largesize. */
function box(type: string, n: number, large = false): Buffer {
  const header = Buffer.alloc(large ? 16 : 8)
  if (large) {
    header.writeUInt32BE(1, 0)
    header.writeBigUInt64BE(BigInt(n + 16), 8)
  } else {
    header.writeUInt32BE(n + 8, 0)
  }
  header.write(type, 4, 'latin1')
  const body = Buffer.alloc(n)
  for (let i = 0; i < n; i++) body[i] = i & 0xff
  return Buffer.concat([header, body])
}

/** Push `stream` in chunks cut at `cuts`; returns the boxes with the push index that completed each. */
function feed(stream: Buffer, cuts: number[], splitter = new BoxSplitter()): { boxes: Box[]; at: number[] } {
  const boxes: Box[] = []
  const at: number[] = []
  const bounds = [0, ...cuts, stream.length]
  for (let i = 0; i + 1 < bounds.length; i++) {
    for (const b of splitter.push(stream.subarray(bounds[i], bounds[i + 1]))) {
      boxes.push(b)
      at.push(i)
    }
  }
  return { boxes, at }
}

const ftyp = box('ftyp', 16)
const moov = box('moov', 100)
const moof = box('moof', 60)
const mdat = box('mdat', 5000)
const bigMdat = box('mdat', 300, true)
const stream = Buffer.concat([ftyp, moov, moof, mdat, moof, bigMdat])
const expected = [ftyp, moov, moof, mdat, moof, bigMdat]

t.test('splits a stream however it is chunked', async (t) => {
  const cases: { name: string; cuts: number[] }[] = [
    { name: 'one chunk', cuts: [] },
    { name: 'at box boundaries', cuts: [24, 132, 200, 5208, 5276] },
    { name: 'inside headers', cuts: [3, 27, 135, 205, 5210, 5280, 5285] },
    { name: 'mdat in 3 parts', cuts: [200, 1000, 3000] },
    { name: 'largesize header split', cuts: [5276 + 4, 5276 + 9, 5276 + 15] },
  ]
  for (const c of cases) {
    const { boxes } = feed(stream, c.cuts)
    t.same(boxes.map((b) => b.type), ['ftyp', 'moov', 'moof', 'mdat', 'moof', 'mdat'], c.name)
    t.ok(boxes.every((b, i) => b.data.equals(expected[i] as Buffer)), `${c.name}: bytes intact`)
    t.same(boxes.map((b) => b.offset), [0, 24, 132, 200, 5208, 5276], `${c.name}: stream offsets`)
  }
})

t.test('one byte at a time; each box returned on its last byte', async (t) => {
  const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1)
  const splitter = new BoxSplitter()
  const { boxes, at } = feed(stream, cuts, splitter)
  t.equal(boxes.length, 6)
  let end = 0
  expected.forEach((b, i) => {
    end += b.length
    t.equal(at[i], end - 1, `box ${i} completed by byte ${end - 1}`)
  })
  t.equal(splitter.bufferedBytes, 0)
  t.same(splitter.end(), [])
})

t.test('a 3-part mdat is returned once, after the last part', async (t) => {
  const s = new BoxSplitter()
  t.same(s.push(mdat.subarray(0, 10)), [])
  t.same(s.push(mdat.subarray(10, 4000)), [])
  t.equal(s.bufferedBytes, 4000)
  const [out] = s.push(Buffer.concat([mdat.subarray(4000), moof.subarray(0, 5)]))
  t.ok(out?.data.equals(mdat))
  t.equal(s.bufferedBytes, 5, 'start of the next box stays buffered')
})

t.test('size 0 box completes at end of stream', async (t) => {
  const s = new BoxSplitter()
  t.same(s.push(Buffer.concat([ftyp, hex('00000000 6d646174 0102')])).map((b) => b.type), ['ftyp'])
  t.same(s.push(hex('0304')), [])
  const [last] = s.end()
  t.equal(last?.data.toString('hex'), '000000006d6461740102' + '0304')
  t.equal(last?.offset, ftyp.length)
})

t.test('refuses oversize, malformed and garbage input', async (t) => {
  const cases: { name: string; bytes: Buffer; max?: number; error: RegExp }[] = [
    { name: 'declared size above maxBoxSize', bytes: box('mdat', 2000).subarray(0, 8), max: 1024, error: /exceeds maxBoxSize 1024/ },
    { name: 'largesize above default 64 MiB', bytes: hex('00000001 6d646174 0000000008000000'), error: /exceeds maxBoxSize/ },
    { name: 'size < 8', bytes: hex('00000004 6d6f6f66'), error: /smaller than its header/ },
    { name: 'largesize < 16', bytes: hex('00000001 6d646174 0000000000000008'), error: /smaller than its header/ },
    { name: 'uuid shorter than its usertype', bytes: hex('00000010 75756964 00112233445566778899aabbccddeeff'), error: /smaller than its header/ },
    { name: 'text garbage', bytes: Buffer.from('GET / HTTP/1.1\r\n'), error: /exceeds maxBoxSize/ },
    { name: 'binary type', bytes: hex('00000010 00ff1020 0000000000000000'), error: /not an ISO BMFF box.*\\x00\\xff/ },
  ]
  for (const c of cases) {
    const s = new BoxSplitter(c.max ? { maxBoxSize: c.max } : {})
    t.throws(() => s.push(c.bytes), { name: 'MediaFormatError', code: 'ERR_MEDIA_FORMAT', message: c.error }, c.name)
  }
  const s = new BoxSplitter({ maxBoxSize: 16 })
  s.push(hex('00000000 6d646174'))
  t.throws(() => s.push(Buffer.alloc(16)), /exceeds maxBoxSize/, 'size-0 box cannot grow past the limit either')
  const cut = new BoxSplitter()
  cut.push(moof.subarray(0, 20))
  t.throws(() => cut.end(), /stream ended inside a box 'moof'/)
})

t.test('after an error the splitter stays failed', async (t) => {
  const s = new BoxSplitter()
  t.throws(() => s.push(hex('00000004 6d6f6f66')), /smaller than its header/)
  t.throws(() => s.push(ftyp), /smaller than its header/, 'a later good box does not resync a broken stream')
  t.throws(() => s.end(), /smaller than its header/)
})
