import t from 'tap'
import { parseRange } from '../../src/http/range.js'

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
