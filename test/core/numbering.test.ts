/**
 * The numbering rule: a number is the start date's slot on the segment grid from
 * 2020-01-01, and stays below 2^31 for every segment target the config allows
 * (1 to 10 s) until 2088 at the earliest.
 */
import t from 'tap'
import { MAX_SAFE_NUMBER, NUMBERING_EPOCH_MS, RESERVE_AHEAD, gridNumber, numberingHorizon } from '../../src/core/numbering.js'

t.test('gridNumber is the slot of the date on the grid from the epoch', async (t) => {
  t.equal(NUMBERING_EPOCH_MS, Date.parse('2020-01-01T00:00:00Z'))
  t.equal(gridNumber(NUMBERING_EPOCH_MS, 2), 0)
  t.equal(gridNumber(NUMBERING_EPOCH_MS + 1999, 2), 0, 'a slot is the whole segment target')
  t.equal(gridNumber(NUMBERING_EPOCH_MS + 2000, 2), 1)
  t.equal(gridNumber(Date.parse('2026-12-07T09:00:00Z'), 2), 109_398_600)
  t.equal(gridNumber(Date.parse('2026-12-07T09:00:00Z'), 0.5 * 4), gridNumber(Date.parse('2026-12-07T09:00:00Z'), 2))
  t.equal(gridNumber(NUMBERING_EPOCH_MS - 10_000, 2), 0, 'a clock before 2020 gives 0, never a negative number')
})

t.test('numbers stay below 2^31 until 2088 with 1 s segments, 2156 with the default 2 s', async (t) => {
  t.equal(new Date(numberingHorizon(1)).toISOString(), '2088-01-19T03:14:08.000Z')
  t.equal(new Date(numberingHorizon(2)).toISOString(), '2156-02-07T06:28:16.000Z')
  t.equal(gridNumber(numberingHorizon(1) - 1, 1), MAX_SAFE_NUMBER, 'the last second before the horizon is still below 2^31')
  t.ok(gridNumber(Date.parse('2087-12-31T23:59:59Z'), 1) <= MAX_SAFE_NUMBER)
  // Old scheme: tenths of a second since 1970 (1.8e10 in 2026): every one above 2^31.
  t.ok(Math.floor(Date.parse('2021-01-01T00:00:00Z') / 100) > MAX_SAFE_NUMBER, 'no old number was ever below 2^31, so none can be reused')
})

t.test('the next segment number is reserved before it opens', async (t) => {
  t.ok(RESERVE_AHEAD >= 2, 'the open segment and the one its preload hint names')
})
