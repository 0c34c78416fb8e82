/**
 * RenditionKnowledge: which requests the origin may hold (they keep the
 * 3-target-duration hold) and which it must answer at once (short first-byte wait).
 */
import t from 'tap'
import { MAX_PART_TARGET, MAX_TARGET_DURATION, RenditionKnowledge } from '../../src/cache/availability.js'
import { playlistInfo } from '../../src/cache/playlist-info.js'

const pl = (seq: number, parts: number, o: { ll?: boolean; ended?: boolean } = {}): string => [
  '#EXTM3U', '#EXT-X-TARGETDURATION:2', ...(o.ll === false ? [] : ['#EXT-X-PART-INF:PART-TARGET=0.5']), `#EXT-X-MEDIA-SEQUENCE:${seq}`,
  '#EXTINF:2,', `${seq}.m4s`, '#EXTINF:2,', `${seq + 1}.m4s`,
  ...Array.from({ length: parts }, (_, i) => `#EXT-X-PART:DURATION=0.5,URI="${seq + 2}.${i}.m4s"`),
  ...(o.ll === false ? [] : [`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${seq + 2}.${parts}.m4s"`]),
  ...(o.ended ? ['#EXT-X-ENDLIST'] : []), '',
].join('\n')
const S = { firstByteMs: 2000, idleMs: 2000, defaultTargetDuration: 6 }
const D = '/live/s/v/'

t.test('listed objects are available; the hinted part and later ones are held', async (t) => {
  const k = new RenditionKnowledge()
  k.learn(D, playlistInfo(pl(100, 2)))
  t.equal(k.targetDuration(D), 2)
  t.ok(k.available(D, 'segment', 101, undefined), 'complete segment')
  t.ok(k.available(D, 'part', 102, 1), 'listed part')
  t.ok(k.available(D, 'segment', 102, undefined), 'segment in production (streams at once)')
  t.notOk(k.available(D, 'part', 102, 2), 'hinted part')
  t.notOk(k.available(D, 'segment', 103, undefined), 'next segment')
  t.ok(k.available(D, 'playlist', 102, 1), 'blocking reload already answerable')
  t.notOk(k.available(D, 'playlist', 102, 2), 'blocking reload for the hint')
  t.notOk(k.available('/live/other/v/', 'part', 1, 0), 'unknown rendition')
  t.same(k.timeouts(D, 'part', 102, 1, false, S), { firstByteMs: 2000, idleMs: 2000 })
  t.same(k.timeouts(D, 'part', 102, 2, false, S), { firstByteMs: 7000, idleMs: 2000 }, 'held: 3 TD + 1 s')
  t.same(k.timeouts(D, 'playlist', 102, 2, true, S), { firstByteMs: 7000, idleMs: 2000 })
  t.same(k.timeouts(D, 'playlist', undefined, undefined, false, S), { firstByteMs: 2000, idleMs: 2000 }, 'plain reload: not held')
  t.same(k.timeouts(D, 'segment', 102, undefined, false, S).idleMs, 2000, 'streamed segment: at least a part + 1 s')
  t.same(k.timeouts('/x/', 'part', 5, 0, false, S), { firstByteMs: 19_000, idleMs: 2000 }, 'unknown: the default TD hold')
  t.same(k.timeouts('/x/', 'segment', 5, undefined, false, S).idleMs, 7000, 'unknown segment may stream: one TD + 1 s idle')
})

t.test('a late older playlist does not step back; a restart far below does; non-LL origins hold nothing', async (t) => {
  const k = new RenditionKnowledge()
  k.learn(D, playlistInfo(pl(100, 3)))
  k.learn(D, playlistInfo(pl(100, 1)))
  t.ok(k.available(D, 'part', 102, 2), 'still listed after a late, older answer')
  k.learn(D, playlistInfo(pl(5, 0)))
  t.notOk(k.available(D, 'part', 50, 0), 'an origin that restarted at 5 is followed')
  k.learn('/plain/', playlistInfo(pl(10, 0, { ll: false })))
  t.same(k.timeouts('/plain/', 'segment', 12, undefined, false, S).firstByteMs, 2000, 'a segment of a non-LL origin is not held')
  k.learn('/done/', playlistInfo(pl(10, 0, { ended: true })))
  t.ok(k.available('/done/', 'playlist', 99, undefined), 'an ended playlist answers every reload')
})

t.test('an implausible TARGETDURATION or PART-TARGET is clamped, so holds stay bounded', async (t) => {
  const k = new RenditionKnowledge()
  const huge = pl(100, 1).replace('#EXT-X-TARGETDURATION:2', '#EXT-X-TARGETDURATION:700000').replace('PART-TARGET=0.5', 'PART-TARGET=50')
  const clamped = k.learn(D, playlistInfo(huge))
  t.same(clamped, [
    { tag: 'EXT-X-TARGETDURATION', announced: 700000, used: MAX_TARGET_DURATION },
    { tag: 'PART-TARGET', announced: 50, used: MAX_PART_TARGET },
  ], 'both reported as clamped')
  t.equal(k.targetDuration(D), 30)
  // The hinted part and a blocking reload for it: 3 TD + 1 s of a 30 s TD, not 3 × 700,000 s.
  t.equal(k.timeouts(D, 'part', 102, 1, false, S).firstByteMs, 91_000)
  t.equal(k.timeouts(D, 'playlist', 102, 1, true, S).firstByteMs, 91_000)
  t.equal(k.timeouts(D, 'segment', 102, undefined, false, S).idleMs, 6000, 'a streamed segment waits one 5 s part + 1 s')
  t.same(k.learn(D, playlistInfo(pl(101, 0))), [], 'plausible durations are taken as they are')
  t.equal(k.targetDuration(D), 2)
})
