/**
 * rfc8216bis 4.2 value types as the attribute-list writer spells them.
 */
import t from 'tap'
import { attributes, decimal, enumValue, hexSequence, signedDecimal, startTag } from '../../../src/formats/hls/tags.js'

t.test('decimal-floating-point: up to five places, trailing zeros trimmed, never negative', async (t) => {
  t.equal(decimal(2), '2.0')
  t.equal(decimal(1 / 3), '0.33333')
  t.equal(decimal(0.1 + 0.2), '0.3')
  t.throws(() => decimal(-1))
  t.throws(() => decimal(Number.NaN))
  t.equal(signedDecimal(-2.5), '-2.5')
  t.equal(signedDecimal(4), '4.0')
})

t.test('hexadecimal-sequence: 0x and upper-case digits', async (t) => {
  t.equal(hexSequence(Uint8Array.of(0, 0xab, 0x1f)), '0x00AB1F')
  t.equal(hexSequence(Buffer.from('ff00', 'hex').subarray(1)), '0x00', 'a view writes its own bytes only')
  t.throws(() => hexSequence(new Uint8Array(0)))
})

t.test('enumerated-string: no quote, comma or whitespace', async (t) => {
  t.same(enumValue('SAMPLE-AES'), { enum: 'SAMPLE-AES' })
  for (const bad of ['A,B', 'A B', 'say"', '', 'A\tB']) t.throws(() => enumValue(bad), `refused: ${JSON.stringify(bad)}`)
})

t.test('attribute list: each type spelled as 4.2 says, unset attributes left out, order kept', async (t) => {
  t.equal(attributes({ A: 'q', B: 3, C: 0.5, D: true, E: false, F: enumValue('PQ'), G: Uint8Array.of(1), H: undefined, I: 1 / 3 }),
    'A="q",B=3,C=0.5,D=YES,E=NO,F=PQ,G=0x01,I=0.33333')
  t.equal(attributes({}), '')
  t.throws(() => attributes({ A: 'x"y' }), /quoted-string/)
  t.throws(() => attributes({ A: 'x\ry' }), /quoted-string/)
  t.throws(() => attributes({ N: -3 }), /not a valid HLS decimal/)
})

t.test('EXT-X-START takes a signed offset', async (t) => {
  t.equal(startTag({ timeOffset: -6 }), '#EXT-X-START:TIME-OFFSET=-6.0')
  t.equal(startTag({ timeOffset: 12.25, precise: true }), '#EXT-X-START:TIME-OFFSET=12.25,PRECISE=YES')
})
