/**
 * Pure cache rules: key normalisation, lifetimes from Cache-Control with the
 * LL-HLS Appendix B bounds, and reading a playlist's blocking answer.
 */
import t from 'tap'
import { cacheKey, objectKind } from '../../src/cache/key.js'
import { cacheControlTtl, ttlMs } from '../../src/cache/policy.js'
import { playlistInfo, satisfies } from '../../src/cache/playlist-info.js'

t.test('cache keys keep _HLS_* and configured parameters, sorted', async (t) => {
  t.equal(cacheKey('/p.m3u8', '').key, '/p.m3u8')
  t.equal(cacheKey('/p.m3u8', 'b=1&_HLS_part=2&_HLS_msn=9').key, '/p.m3u8?_HLS_msn=9&_HLS_part=2')
  t.equal(cacheKey('/init.mp4', 'x=1&v=abc', new Set(['v'])).key, '/init.mp4?v=abc')
  t.equal(cacheKey('/p.m3u8', '&&_HLS_skip=YES&').key, '/p.m3u8?_HLS_skip=YES')
  t.equal(objectKind('/live/a/v/12.3.m4s'), 'part')
  t.equal(objectKind('/live/a/v/12.m4s'), 'segment')
  t.equal(objectKind('/live/a/v/init.mp4'), 'init')
  t.equal(objectKind('/live/a/index.m3u8'), 'playlist')
})

t.test('steering manifests: one key whatever throughput players report; a malformed one kept for the origin to refuse', async (t) => {
  const a = cacheKey('/live/s/steering.json', '_HLS_pathway=shield-a&_HLS_throughput=5123456')
  const b = cacheKey('/live/s/steering.json', '_HLS_throughput=812&_HLS_pathway=shield-a')
  t.equal(a.key, '/live/s/steering.json?_HLS_pathway=shield-a')
  t.equal(b.key, a.key, 'another throughput: the same object')
  t.equal(cacheKey('/live/s/steering.json', '_HLS_pathway=shield-b&_HLS_throughput=1').key, '/live/s/steering.json?_HLS_pathway=shield-b', 'the pathway stays in the key')
  t.equal(cacheKey('/live/s/steering.json', '_HLS_throughput=fast').key, '/live/s/steering.json?_HLS_throughput=fast', 'a malformed throughput goes upstream')
  t.equal(cacheKey('/live/s/v/index.m3u8', '_HLS_throughput=5').key, '/live/s/v/index.m3u8?_HLS_throughput=5', 'other paths keep every _HLS_ parameter')
})

t.test('Cache-Control lifetimes', async (t) => {
  t.equal(cacheControlTtl('public, max-age=10'), 10)
  t.equal(cacheControlTtl('max-age=10, s-maxage=3'), 3, 's-maxage wins for a shared cache')
  t.equal(cacheControlTtl('no-store'), 0)
  t.equal(cacheControlTtl('private, max-age=9'), 0)
  t.equal(cacheControlTtl(undefined), undefined)
})

t.test('LL-HLS bounds from Appendix B', async (t) => {
  const base = { cacheControl: 'max-age=600', targetDuration: 2, defaultMediaTtl: 60 }
  t.equal(ttlMs({ ...base, status: 200, kind: 'playlist', blocking: false }), 1000, 'non-blocking playlist at most TD/2')
  t.equal(ttlMs({ ...base, status: 200, kind: 'playlist', blocking: true }), 12000, 'blocking playlist at most 6 TD')
  t.equal(ttlMs({ ...base, status: 404, kind: 'part', blocking: false }), 2000, '404 at most 1 TD')
  t.equal(ttlMs({ ...base, status: 404, kind: 'playlist', blocking: true }), 8000, 'blocking 404 at most 4 TD')
  t.equal(ttlMs({ ...base, status: 200, kind: 'segment', blocking: false }), 600000, 'media as the origin says')
  t.equal(ttlMs({ ...base, status: 503, kind: 'segment', blocking: false }), 0, '5xx never stored')
  t.equal(ttlMs({ ...base, cacheControl: undefined, status: 200, kind: 'playlist', blocking: false }), 0, 'a playlist without Cache-Control is not stored')
})

const PLAYLIST = `#EXTM3U
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:100
#EXTINF:2.0,
100.m4s
#EXTINF:2.0,
101.m4s
#EXT-X-PART:DURATION=0.5,URI="102.0.m4s"
#EXT-X-PART:DURATION=0.5,URI="102.1.m4s"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="102.2.m4s"
`

t.test('playlist facts and blocking answers (6.2.5.2)', async (t) => {
  const i = playlistInfo(PLAYLIST)
  t.same(i, { targetDuration: 2, lastMsn: 101, trailingParts: 2, ended: false, preloadHint: '102.2.m4s', newest: ['100.m4s', '101.m4s', '102.0.m4s', '102.1.m4s'] })
  t.ok(satisfies(i, 101, undefined))
  t.notOk(satisfies(i, 102, undefined), 'segment 102 is not complete')
  t.ok(satisfies(i, 102, 1))
  t.notOk(satisfies(i, 102, 2), 'part 2 is only hinted')
  t.ok(satisfies(i, 101, 9), 'a later segment answers an earlier part')
  t.ok(satisfies(playlistInfo(`${PLAYLIST}#EXT-X-ENDLIST\n`), 200, 0), 'an ended playlist answers everything')
})
