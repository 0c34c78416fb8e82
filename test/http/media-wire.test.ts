/**
 * mediaHeaders: a segment's or part's headers are built once per record per
 * wall-clock second, carry every line a player and a cache need, and follow the
 * clock (Expires, lifetime) from one second to the next.
 */
import t from 'tap'
import { mediaHeaders } from '../../src/http/media-wire.js'

/** The header lines a block writes, as `name: value` strings. */
const lines = (b: { lines: readonly Buffer[] }): string[] => `${b.lines[0]!.toString()}: ${b.lines[1]!.toString()}`.split('\r\n')

/** Run `fn` with Date.now() reading `ms`. */
function at<T>(ms: number, fn: () => T): T {
  const real = Date.now
  Date.now = () => ms
  try {
    return fn()
  } finally {
    Date.now = real
  }
}

t.test('every line a player and a cache need, Expires from the lifetime', async (t) => {
  const now = Date.UTC(2026, 10, 21, 12, 0, 0, 400)
  const block = at(now, () => mediaHeaders({}, 'video/iso.segment', () => '"abc-7.2"', () => 24.9))
  t.same(lines(block), [
    'Access-Control-Allow-Origin: *',
    'Access-Control-Expose-Headers: Age, Content-Length, Content-Range, Date, ETag',
    'Content-Type: video/iso.segment',
    'Accept-Ranges: bytes',
    'Cache-Control: public, max-age=24, immutable',
    `Expires: ${new Date(Date.UTC(2026, 10, 21, 12, 0, 24)).toUTCString()}`,
    'ETag: "abc-7.2"',
  ])
})

t.test('built once per record within a second, rebuilt when the second changes', async (t) => {
  const record = {}
  let built = 0
  const ttl = (): number => { built++; return 60 }
  const s0 = Date.UTC(2026, 10, 21, 12, 0, 0)
  const a = at(s0 + 10, () => mediaHeaders(record, 'video/iso.segment', () => '"e"', ttl))
  const b = at(s0 + 990, () => mediaHeaders(record, 'video/iso.segment', () => '"e"', ttl))
  t.equal(b, a, 'the same block within the second')
  t.equal(built, 1, 'lifetime computed once')
  const other = at(s0 + 990, () => mediaHeaders({}, 'video/iso.segment', () => '"f"', ttl))
  t.not(other, a, 'another record has its own headers')
  t.match(lines(other).join('\n'), /ETag: "f"/)
  const c = at(s0 + 1000, () => mediaHeaders(record, 'video/iso.segment', () => '"e"', ttl))
  t.not(c, a, 'a new second builds anew')
  t.match(lines(c).join('\n'), new RegExp(`Expires: ${new Date(s0 + 61_000).toUTCString()}`), 'Expires moves with the clock')
})

t.test('a lifetime under one second still says one second (never max-age=0 for media)', async (t) => {
  const block = mediaHeaders({}, 'video/mp4', () => '"x"', () => 0.2)
  t.match(lines(block).join('\n'), /Cache-Control: public, max-age=1\b/)
})
