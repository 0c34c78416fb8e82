/**
 * joinHeaders: several header lines handed to uWS as one name/value pair must be
 * byte for byte the lines one call per header would write, and never carry a
 * line break smuggled in a value.
 */
import t from 'tap'
import { HeaderBlock, joinHeaders } from '../../src/http/reply.js'

t.test('joined lines are exactly the separate lines', async (t) => {
  const pairs: Array<[string, string]> = [['Access-Control-Allow-Origin', '*'], ['Content-Type', 'video/iso.segment'], ['Accept-Ranges', 'bytes']]
  const [name, value] = joinHeaders(pairs)!
  const wire = `${name}: ${value}\r\n`
  t.equal(wire, pairs.map(([k, v]) => `${k}: ${v}\r\n`).join(''))
  t.equal(joinHeaders([]), undefined, 'nothing to join')
  t.same(joinHeaders([['ETag', '"x"']]), ['ETag', '"x"'], 'one header stays as it is')
})

t.test('a line break in a name or value is refused', async (t) => {
  t.throws(() => joinHeaders([['A', 'ok'], ['B', 'bad\r\nSet-Cookie: x=1']]), /holds a line break/)
  t.throws(() => joinHeaders([['A\n', 'ok']]), /holds a line break/)
  t.throws(() => new HeaderBlock({ X: 'a\nb' }), /holds a line break/)
})

t.test('a header block is one encoded pair', async (t) => {
  const b = new HeaderBlock({ A: '1', B: '2' })
  t.equal(b.lines.length, 2)
  t.equal(`${b.lines[0]!.toString()}: ${b.lines[1]!.toString()}`, 'A: 1\r\nB: 2')
  t.same(new HeaderBlock({}).lines, [])
})
