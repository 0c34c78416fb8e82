import t, { type Test } from 'tap'
import {
  AMF0_MAX_DEPTH, AMF0_MAX_ENTRIES, AMF0_MAX_VALUES, decodeAmf0, decodeAmf0Value, ecmaArray, encodeAmf0, encodeAmf0Value,
  isAmf0LimitError, isEcmaArray, type Amf0Value,
} from '../../src/formats/amf0.js'
import { MediaFormatError } from '../../src/errors.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

// Expected bytes written out by hand from the AMF0 spec, not produced by the encoder.
const table: Array<[string, Amf0Value, string]> = [
  ['number 0', 0, '00 0000000000000000'],
  ['number 1.5', 1.5, '00 3ff8000000000000'],
  ['number -2', -2, '00 c000000000000000'],
  ['boolean true', true, '01 01'],
  ['boolean false', false, '01 00'],
  ['string', 'abc', '02 0003 616263'],
  ['empty string', '', '02 0000'],
  ['utf8 string', 'é', '02 0002 c3a9'],
  ['null', null, '05'],
  ['undefined', undefined, '06'],
  ['object', { a: 1 }, '03 0001 61 00 3ff0000000000000 000009'],
  ['empty object', {}, '03 000009'],
  ['nested object', { o: { b: true } }, '03 0001 6f 03 0001 62 0101 000009 000009'],
  ['ecma array', ecmaArray({ w: null }), '08 00000001 0001 77 05 000009'],
  ['strict array', [1, 'x'], '0a 00000002 00 3ff0000000000000 02 0001 78'],
  ['empty strict array', [], '0a 00000000'],
  ['date', new Date(1000), '0b 408f400000000000 0000'],
]

t.test('byte-exact encoding of each type', async (t) => {
  for (const [name, value, bytes] of table) {
    t.same(encodeAmf0Value(value).toString('hex'), hex(bytes).toString('hex'), name)
  }
})

t.test('decoding the same bytes gives the value back', async (t) => {
  for (const [name, value, bytes] of table) {
    const out = decodeAmf0(hex(bytes))
    t.equal(out.length, 1, `${name}: one value`)
    t.same(out[0], value, name)
  }
  t.ok(isEcmaArray(decodeAmf0(hex('08 00000000 000009'))[0]), 'ecma array keeps its kind')
  t.notOk(isEcmaArray(decodeAmf0(hex('03 000009'))[0]), 'object is not an ecma array')
})

t.test('long strings use the 0x0c marker and round-trip', async (t) => {
  const s = 'x'.repeat(70000)
  const b = encodeAmf0Value(s)
  t.equal(b[0], 0x0c)
  t.equal(b.readUInt32BE(1), 70000)
  t.equal(b.length, 5 + 70000)
  t.equal(decodeAmf0(b)[0], s)
  t.equal(decodeAmf0(hex('0c 00000002 6869'))[0], 'hi')
})

t.test('command sequences round-trip', async (t) => {
  const cmd: Amf0Value[] = ['connect', 1, { app: 'live', tcUrl: 'rtmp://h/live', fpad: false, audioCodecs: 3575 }, null]
  const b = encodeAmf0(cmd)
  t.same(decodeAmf0(b), cmd)
  const first = decodeAmf0Value(b, 0)
  t.equal(first.value, 'connect')
  t.equal(first.offset, 10)
  t.same(decodeAmf0(encodeAmf0([ecmaArray({ duration: 0, width: 640, encoder: 'Lavf' }), [true, [null]]])),
    [{ duration: 0, width: 640, encoder: 'Lavf' }, [true, [null]]])
})

t.test('a property named __proto__ stays data', async (t) => {
  const b = hex('03 0009 5f5f70726f746f5f5f 03 0001 78 0101 000009 000009')
  const v = decodeAmf0(b)[0] as Record<string, unknown>
  t.equal(Object.getPrototypeOf(v), Object.prototype)
  t.same(Object.keys(v), ['__proto__'])
  t.equal(({} as Record<string, unknown>).x, undefined, 'no prototype pollution')
})

t.test('malformed input throws MediaFormatError', async (t) => {
  // Nested strict arrays of one element: 0a 00000001 repeated.
  const nested = Buffer.concat(Array.from({ length: AMF0_MAX_DEPTH + 2 }, () => hex('0a 00000001')).concat([hex('05')]))
  const bad: Array<[string, Buffer]> = [
    ['empty number', hex('00 3ff0')],
    ['truncated string length', hex('02 00')],
    ['string longer than the buffer', hex('02 0010 6162')],
    ['absurd long string length', hex('0c ffffffff 61')],
    ['absurd strict array count', hex('0a ffffffff 05')],
    ['object without end marker', hex('03 0001 61 05')],
    ['truncated property name', hex('03 0005 6162')],
    ['truncated date', hex('0b 0000000000000000')],
    ['unknown marker', hex('42')],
    ['reference (unsupported)', hex('07 0000')],
    ['AMF3 switch (unsupported)', hex('11 01')],
    ['deep nesting', nested],
    ['deep objects', Buffer.concat([...Array.from({ length: AMF0_MAX_DEPTH + 2 }, () => hex('03 0001 61')), hex('05')])],
  ]
  for (const [name, b] of bad) t.throws(() => decodeAmf0(b), MediaFormatError, name)
  const ok = Buffer.concat(Array.from({ length: AMF0_MAX_DEPTH }, () => hex('0a 00000001')).concat([hex('05')]))
  t.doesNotThrow(() => decodeAmf0(ok), 'nesting up to the limit is fine')
})

t.test('random bytes never hang or throw anything but MediaFormatError', async (t) => {
  let seed = 12345
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed >>> 24 }
  let threw = 0
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(Array.from({ length: 1 + (rnd() % 64) }, rnd))
    try {
      decodeAmf0(b)
    } catch (err) {
      if (!(err instanceof MediaFormatError)) throw err
      threw++
    }
  }
  t.ok(threw > 1000, `most random inputs are rejected (${threw}/2000)`)
})

/** An AMF0 object (or ECMA array) of `n` distinct `keyLen`-byte keys, each with a null value, written byte by byte. */
function manyKeys(n: number, keyLen: number, marker = 0x03): Buffer {
  const head = marker === 0x08 ? Buffer.from([0x08, 0, 0, 0, 0]) : Buffer.from([marker])
  const body = Buffer.alloc(n * (keyLen + 3))
  for (let i = 0; i < n; i++) {
    const at = i * (keyLen + 3)
    body.writeUInt16BE(keyLen, at)
    body.write(i.toString(36).padStart(keyLen, '0'), at + 2, 'latin1')
    body[at + 2 + keyLen] = 0x05
  }
  return Buffer.concat([head, body, hex('000009')])
}

function limitRefusal(t: Test, b: Buffer, what: string): void {
  try {
    decodeAmf0(b)
    t.fail(`${what}: decoded, should be refused`)
  } catch (err) {
    t.ok(err instanceof MediaFormatError && isAmf0LimitError(err), `${what}: refused as a limit (${(err as Error).message})`)
  }
}

t.test('the connect bomb of the attack run (830,584 three-byte keys, 4.98 MB) is refused', async (t) => {
  const bomb = Buffer.concat([encodeAmf0(['connect', 1]), manyKeys(830_584, 3)])
  t.equal((bomb.length / 1e6).toFixed(2), '4.98', `the 4.98 MB message of the report (${bomb.length} bytes)`)
  limitRefusal(t, bomb, 'connect bomb')
})

t.test('entries per object, ECMA array and strict array are bounded; the limit itself decodes', async (t) => {
  const atLimit = decodeAmf0(manyKeys(AMF0_MAX_ENTRIES, 3))[0] as Record<string, unknown>
  t.equal(Object.keys(atLimit).length, AMF0_MAX_ENTRIES, `${AMF0_MAX_ENTRIES} properties decode`)
  limitRefusal(t, manyKeys(AMF0_MAX_ENTRIES + 1, 3), 'object one past the limit')
  limitRefusal(t, manyKeys(AMF0_MAX_ENTRIES + 1, 3, 0x08), 'ECMA array one past the limit')
  // Typed object: marker, class name (u16 length + bytes), then the properties.
  const typed = Buffer.concat([hex('10 0001 43'), manyKeys(AMF0_MAX_ENTRIES + 1, 3).subarray(1)])
  limitRefusal(t, typed, 'typed object one past the limit')
  const strict = (n: number): Buffer => Buffer.concat([Buffer.from([0x0a, 0, 0, n >> 8, n & 0xff]), Buffer.alloc(n, 0x05)])
  t.equal((decodeAmf0(strict(AMF0_MAX_ENTRIES))[0] as unknown[]).length, AMF0_MAX_ENTRIES, 'strict array at the limit decodes')
  limitRefusal(t, strict(AMF0_MAX_ENTRIES + 1), 'strict array one past the limit')
})

t.test('values per decode are bounded across containers and top-level values', async (t) => {
  // Objects each under the entry limit, together past the value limit.
  const per = AMF0_MAX_ENTRIES - 1
  const objects = Math.ceil(AMF0_MAX_VALUES / (per + 1)) + 1
  limitRefusal(t, Buffer.concat(Array.from({ length: objects }, () => manyKeys(per, 3))), `${objects} objects of ${per} keys`)
  limitRefusal(t, Buffer.alloc(AMF0_MAX_VALUES + 1, 0x05), `${AMF0_MAX_VALUES + 1} top-level nulls`)
  t.equal(decodeAmf0(Buffer.alloc(AMF0_MAX_VALUES, 0x05)).length, AMF0_MAX_VALUES, `${AMF0_MAX_VALUES} values decode`)
  t.equal(decodeAmf0Value(Buffer.alloc(AMF0_MAX_VALUES + 1, 0x05), 0).value, null, 'one value at an offset has its own budget')
})

t.test('an FFmpeg connect and an OBS-sized onMetaData are far inside the limits', async (t) => {
  const connect: Amf0Value[] = ['connect', 1, { app: 'live', type: 'nonprivate', flashVer: 'FMLE/3.0 (compatible; Lavf59.27.100)', tcUrl: 'rtmp://h/live' }]
  t.same(decodeAmf0(encodeAmf0(connect)), connect)
  const meta = ecmaArray(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])))
  t.same(decodeAmf0(encodeAmf0(['@setDataFrame', 'onMetaData', meta])), ['@setDataFrame', 'onMetaData', meta])
})
