import t from 'tap'
import { parsePlaylistQuery, blockingSatisfied, refuseBlocking } from '../../src/packager/hls-blocking.js'
import { RenditionStore } from '../../src/packager/rendition-store.js'

t.test('parses valid blocking parameters', async (t) => {
  t.same(parsePlaylistQuery(''), { ok: true })
  t.same(parsePlaylistQuery('_HLS_msn=12'), { ok: true, msn: 12 })
  t.same(parsePlaylistQuery('_HLS_msn=12&_HLS_part=3'), { ok: true, msn: 12, part: 3 })
  t.same(parsePlaylistQuery('_HLS_msn=12&_HLS_skip=YES'), { ok: true, msn: 12, skip: 'YES' })
  t.same(parsePlaylistQuery('_HLS_skip=v2&foo=bar'), { ok: true, skip: 'v2' })
})

const refused: Array<[string, RegExp]> = [
  ['_HLS_msn=-1', /decimal integer/],
  ['_HLS_msn=abc', /decimal integer/],
  ['_HLS_msn=99999999999999999999', /decimal integer/],
  ['_HLS_msn=1.5', /decimal integer/],
  ['_HLS_msn=', /decimal integer/],
  ['_HLS_part=2', /requires _HLS_msn/],
  ['_HLS_msn=1&_HLS_msn=2', /duplicate _HLS_msn/],
  ['_HLS_msn=1&_HLS_part=1&_HLS_part=2', /duplicate _HLS_part/],
  ['_HLS_msn=1&_HLS_part=x', /_HLS_part must be/],
  ['_HLS_skip=yes', /YES or v2/],
]
for (const [q, why] of refused) {
  t.test(`400 for ${q}`, async (t) => {
    const r = parsePlaylistQuery(q)
    t.equal(r.ok, false)
    if (!r.ok) {
      t.equal(r.status, 400)
      t.match(r.message, why)
    }
  })
}

function store(): RenditionStore {
  const s = new RenditionStore('v', { targetDuration: 2, partTarget: 0.5, windowSeconds: 30 }, 100)
  s.beginEpoch({ data: Buffer.from('init'), hash: 'h1', tracks: [] })
  return s
}

t.test('blocking is satisfied by the part, or by part 0 of the next segment past the last', async (t) => {
  const s = store()
  s.startSegment(0, 0, true)
  t.notOk(blockingSatisfied(s, 100, 0))
  s.addPart(0.5, true, Buffer.alloc(10))
  t.ok(blockingSatisfied(s, 100, 0))
  t.notOk(blockingSatisfied(s, 100, 1))
  t.notOk(blockingSatisfied(s, 100, undefined), 'segment not complete yet')
  s.addPart(0.5, false, Buffer.alloc(10))
  s.completeSegment()
  t.ok(blockingSatisfied(s, 100, undefined))
  t.notOk(blockingSatisfied(s, 100, 5), 'part beyond the last waits for the next segment')
  s.startSegment(1, 1000, true)
  t.notOk(blockingSatisfied(s, 100, 5))
  s.addPart(0.5, true, Buffer.alloc(10))
  t.ok(blockingSatisfied(s, 100, 5))
  t.ok(blockingSatisfied(s, 99, 0), 'msn before the window is old news')
  t.notOk(blockingSatisfied(s, 101, 1))
  s.end()
  t.ok(blockingSatisfied(s, 150, 0), 'ended: blocking parameters are ignored')
})

t.test('msn beyond last + 2 is refused; last + 2 may wait', async (t) => {
  const s = store()
  s.startSegment(0, 0, true)
  s.addPart(0.5, true, Buffer.alloc(10))
  t.equal(refuseBlocking(s, 102, undefined), undefined)
  t.match(refuseBlocking(s, 103, undefined) ?? '', /beyond the last media sequence number 100 plus two/)
  t.equal(refuseBlocking(s, 101, 0), undefined)
  t.match(refuseBlocking(s, 100, 500) ?? '', /advance part limit/)
  // rfc8216bis 6.2.5.2: with PART-TARGET 0.5 the Advance Part Limit is 3 / 0.5 = 6 parts.
  t.equal(refuseBlocking(s, 100, 6), undefined, 'six parts past the last one may wait')
  t.match(refuseBlocking(s, 100, 7) ?? '', /advance part limit of 6 parts/)
  t.equal(refuseBlocking(s, 101, 5), undefined)
  t.match(refuseBlocking(s, 101, 6) ?? '', /advance part limit/)
})

t.test('waiters fire synchronously when the part lands, and can be cancelled', async (t) => {
  const s = store()
  s.startSegment(0, 0, true)
  const outcomes: string[] = []
  s.waiters.wait(() => blockingSatisfied(s, 100, 0), 5000, (o) => outcomes.push(`a:${o}`))
  const cancel = s.waiters.wait(() => blockingSatisfied(s, 100, 1), 5000, (o) => outcomes.push(`b:${o}`))
  t.equal(s.waiters.size, 2)
  s.addPart(0.5, true, Buffer.alloc(10))
  t.same(outcomes, ['a:ready'], 'answered in the same tick as the part')
  cancel()
  t.same(outcomes, ['a:ready', 'b:cancelled'])
  t.equal(s.waiters.size, 0, 'no waiter left behind')
  s.waiters.wait(() => false, 20, (o) => outcomes.push(`c:${o}`))
  await new Promise((r) => setTimeout(r, 60))
  t.same(outcomes.at(-1), 'c:timeout')
})
