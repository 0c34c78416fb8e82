/**
 * gzip through the shield: the cache holds one plain form of each text and
 * serves a gzip-accepting client the compressed form, a client that does not
 * accept gzip the plain one, both with `Vary: Accept-Encoding`, in whichever
 * order they come; an upstream that encodes anyway is decoded, never passed on
 * to a client that did not ask. Through a real origin with a live publisher.
 */
import t from 'tap'
import { gunzipSync, gzipSync } from 'node:zlib'
import { startLive, fetchPlaylist } from '../helpers/conformance.js'
import { startShield } from '../helpers/shield.js'
import { shieldGet, type ClientResult } from '../helpers/shield-client.js'
import { startStubOrigin, type StubAnswer } from '../helpers/stub-origin.js'

const GZ = { 'Accept-Encoding': 'gzip, deflate, br' }

/** The body as text, decoded per the response's own Content-Encoding. */
function text(r: ClientResult): string {
  const ce = r.headers['content-encoding']
  if (ce === undefined) return r.bytes.toString('utf8')
  if (ce === 'gzip') return gunzipSync(r.bytes).toString('utf8')
  throw new Error(`unexpected Content-Encoding ${ce}`)
}

const varies = (r: ClientResult): boolean => /accept-encoding/i.test(String(r.headers.vary ?? ''))

t.test('through a real origin', async (t) => {
  const live = await startLive(t, 'gz')
  const s = await startShield(t, [live.o.http])
  for (const [what, path, start] of [
    ['media playlist', '/live/gz/source/index.m3u8', '#EXTM3U'],
    ['multivariant playlist', '/live/gz/index.m3u8', '#EXTM3U'],
    ['MPD', '/live/gz/manifest.mpd', '<?xml'],
  ] as const) {
    await t.test(`${what}: gzip first, then plain from the same cached entry, then gzip again`, async (t) => {
      const gz = await shieldGet(`${s.url}${path}`, { headers: GZ })
      const plain = await shieldGet(`${s.url}${path}`)
      const gz2 = await shieldGet(`${s.url}${path}`, { headers: GZ })
      for (const r of [gz, plain, gz2]) {
        t.equal(r.status, 200)
        t.ok(varies(r), 'Vary: Accept-Encoding')
        t.ok(text(r).startsWith(start), 'the body decodes to the document')
      }
      t.equal(plain.headers['content-encoding'], undefined, 'a client without Accept-Encoding gets plain text')
      t.equal(plain.bytes.toString('utf8', 0, start.length), start, 'plain bytes on the wire')
      t.equal(gz2.headers['content-encoding'], 'gzip', 'a gzip client gets gzip from the cache')
      t.equal(gz2.headers['x-cache'], 'HIT')
      t.equal(plain.headers['x-cache'], 'HIT', 'the plain client was answered from the entry the gzip client filled')
    })
  }

  await t.test('mixed clients collapsed on one blocking reload each get their own form', async (t) => {
    const { pl } = await fetchPlaylist(live.url)
    const next = pl.mediaSequence + pl.segments.length
    const url = `${s.url}/live/gz/source/index.m3u8?_HLS_msn=${next}&_HLS_part=0`
    const rs = await Promise.all(Array.from({ length: 6 }, (_, i) => shieldGet(url, i % 2 === 0 ? { headers: GZ } : {})))
    rs.forEach((r, i) => {
      t.equal(r.status, 200)
      if (i % 2 === 1) t.equal(r.headers['content-encoding'], undefined, `non-gzip client ${i} got no encoding`)
      t.ok(text(r).startsWith('#EXTM3U'), `client ${i} decodes a playlist`)
      t.ok(varies(r), `client ${i}: Vary`)
    })
  })

  await t.test('media is never compressed; an If-None-Match with the gzip form\'s ETag is a 304', async (t) => {
    const m = await shieldGet(`${s.url}/live/gz/source/index.m3u8`, { headers: GZ })
    const seg = /^(\d+)\.m4s$/m.exec(text(m))![1]
    const r = await shieldGet(`${s.url}/live/gz/source/${seg}.m4s`, { headers: GZ })
    t.equal(r.status, 200)
    t.equal(r.headers['content-encoding'], undefined)
    const etag = m.headers.etag
    t.ok(etag, 'the gzip form has an ETag')
    const again = await shieldGet(`${s.url}/live/gz/source/index.m3u8`, { headers: { ...GZ, 'If-None-Match': String(etag) } })
    t.ok(again.status === 304 || again.headers.etag !== etag, 'same validator: 304; a newer playlist: another validator')
  })
})

t.test('an upstream that gzips although asked for identity is decoded; an unknown coding is refused', async (t) => {
  const PL = '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:3,\n7.m4s\n'
  const o = await startStubOrigin(t, (target): StubAnswer => {
    if (target.startsWith('/z/')) return { headers: { 'Content-Encoding': 'zstd', 'Content-Type': 'application/vnd.apple.mpegurl' }, body: 'whatever' }
    return { headers: { 'Content-Encoding': 'gzip', 'Content-Type': 'application/vnd.apple.mpegurl', ETag: '"pl7"' }, body: gzipSync(PL) }
  })
  const s = await startShield(t, [o.url])
  const plain = await shieldGet(`${s.url}/live/x/v/index.m3u8`)
  t.equal(plain.headers['content-encoding'], undefined, 'decoded for a client that did not accept gzip')
  t.equal(plain.body, PL)
  t.ok(varies(plain))
  const gz = await shieldGet(`${s.url}/live/x/v/index.m3u8`, { headers: GZ })
  t.equal(gz.headers['content-encoding'], 'gzip')
  t.equal(gunzipSync(gz.bytes).toString(), PL)
  t.equal(gz.headers.etag, 'W/"pl7"', 'the gzip form has its own (weak) validator')
  t.equal(plain.headers.etag, '"pl7"')
  t.equal(s.shield.cache.knowledge.targetDuration('/live/x/v/'), 3, 'the shield read the decoded playlist')
  const z = await shieldGet(`${s.url}/z/a/index.m3u8`)
  t.equal(z.status, 502, 'an encoding the shield cannot decode is a 502, not passed on')
})
