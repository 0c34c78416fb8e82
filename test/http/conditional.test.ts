import t from 'tap'
import { noneMatch, parseRange } from '../../src/http/conditional.js'

const cases: Array<[string, number, ReturnType<typeof parseRange>]> = [
  ['', 100, { kind: 'full' }],
  ['bytes=0-', 100, { kind: 'partial', start: 0, end: 99 }],
  ['bytes=10-19', 100, { kind: 'partial', start: 10, end: 19 }],
  ['bytes=10-9007199254740991', 100, { kind: 'partial', start: 10, end: 99 }],
  ['bytes=-10', 100, { kind: 'partial', start: 90, end: 99 }],
  ['bytes=-1000', 100, { kind: 'partial', start: 0, end: 99 }],
  ['bytes=100-', 100, { kind: 'unsatisfiable' }],
  ['bytes=-0', 100, { kind: 'unsatisfiable' }],
  ['bytes=20-10', 100, { kind: 'full' }],
  ['bytes=0-1,5-6', 100, { kind: 'full' }],
  ['items=0-1', 100, { kind: 'full' }],
  ['bytes=99999999999999999999-', 100, { kind: 'full' }],
  ['bytes=abc', 100, { kind: 'full' }],
]
for (const [header, size, want] of cases) {
  t.same(parseRange(header, size), want, `${JSON.stringify(header)} of ${size}`)
}

t.test('If-None-Match uses the weak comparison (RFC 9110 13.1.2)', async (t) => {
  t.ok(noneMatch('"a"', '"a"'), 'strong equals strong')
  t.ok(noneMatch('W/"a"', '"a"'), 'weak names the strong tag')
  t.ok(noneMatch('"a"', 'W/"a"'), 'strong names the weak tag')
  t.ok(noneMatch('"x", W/"a"', 'W/"a"'), 'one of a list')
  t.ok(noneMatch('*', '"a"'), 'any')
  t.notOk(noneMatch('"b"', '"a"'), 'another tag')
  t.notOk(noneMatch('', '"a"'), 'no header')
  t.notOk(noneMatch('"a"', undefined), 'no validator')
  t.notOk(noneMatch('"ab"', '"a"'), 'no prefix match')
})
