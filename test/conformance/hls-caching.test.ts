/**
 * LL-HLS conformance: HTTP caching and encoding (draft-pantos-hls-rfc8216bis
 * Appendix B.1 "Low-Latency Server Configuration Profile", Appendix C tune-in
 * via Age, 6.2.1 gzip, 6.2.2 Expires) plus RFC 9110/9111 details CDNs rely on.
 *
 * Appendix B.1 values, with TARGETDURATION 2: successful blocking playlist
 * responses 6 TD (12 s), their failures (such as 404) 4 TD (8 s); successful
 * non-blocking playlists TD/2 (1 s), their failures 1 TD (2 s); successful
 * blocking media requests 6 TD (12 s), failed media requests 1 TD (2 s).
 */
import t from 'tap'
import { gunzipSync } from 'node:zlib'
import {
  startLive, fetchPlaylist, hintOf, timedGet, bodyText, maxAge, waitFor, allParts, TD, type TimedResponse,
} from '../helpers/conformance.js'

t.test('LL-HLS caching and encoding', async (t) => {
  const f = await startLive(t, 'cache', { windowSeconds: 8, endedRetentionSeconds: 8 }, 3)
  const port = f.o.httpPort
  const dir = `/live/${f.name}/source`
  const req = (path: string, headers: Record<string, string> = {}): Promise<TimedResponse> => timedGet(port, path, headers)
  const store = f.store()
  const { pl } = await fetchPlaylist(f.url)
  const seg = pl.segments.find((s) => s.uri)!
  const part = allParts(pl)[0]!

  // One sample of every kind of response, reused by several rules below.
  const nonBlocking = await req(f.path)
  const h = hintOf(pl)!
  const blocking = await req(`${f.path}?_HLS_msn=${h.msn}&_HLS_part=${h.part}`)
  await waitFor(() => (store.openSegment()?.parts.length ?? 0) === 1, 5000, 'a segment with one part')
  const h2 = hintOf((await fetchPlaylist(f.url)).pl)!
  const heldPart = await req(`${dir}/${h2.uri}`)
  const segmentRes = await req(`${dir}/${seg.uri}`)
  const partRes = await req(`${dir}/${part.uri}`)
  const initRes = await req(`${dir}/${seg.map ?? pl.segments[0]!.map}`)
  const multivariant = await req(`/live/${f.name}/index.m3u8`)
  const missingPlaylist = await req(`/live/${f.name}/nope/index.m3u8`)
  const missingBlocking = await req(`/live/${f.name}/nope/index.m3u8?_HLS_msn=${h.msn}&_HLS_part=0`)
  const missingSegment = await req(`${dir}/${pl.mediaSequence - 40}.m4s`)
  const missingPart = await req(`${dir}/${pl.mediaSequence - 40}.0.m4s`)
  const badRequest = await req(`${f.path}?_HLS_part=1`)

  t.test('rfc8216bis B.1: a successful blocking playlist response is cacheable for six target durations', async (t) => {
    t.equal(blocking.status, 200)
    t.equal(maxAge(blocking.headers['cache-control']), 6 * TD, `Cache-Control: ${blocking.headers['cache-control']}`)
    t.notMatch(blocking.headers['cache-control'] ?? '', /private|no-cache|no-store/, 'shared caches may keep it')
  })

  t.test('rfc8216bis B.1: a successful non-blocking playlist response is cacheable for half a target duration', async (t) => {
    t.equal(nonBlocking.status, 200)
    t.equal(maxAge(nonBlocking.headers['cache-control']), TD / 2, `Cache-Control: ${nonBlocking.headers['cache-control']}`)
  })

  t.test('rfc8216bis B.1: an unsuccessful non-blocking playlist response is cacheable for one target duration', async (t) => {
    t.equal(missingPlaylist.status, 404)
    t.equal(maxAge(missingPlaylist.headers['cache-control']), TD, `404 Cache-Control: ${missingPlaylist.headers['cache-control']}`)
  })

  t.test('rfc8216bis B.1: an unsuccessful blocking playlist response (such as 404) is cacheable for four target durations', async (t) => {
    t.equal(missingBlocking.status, 404)
    t.equal(maxAge(missingBlocking.headers['cache-control']), 4 * TD, `404 Cache-Control: ${missingBlocking.headers['cache-control']}`)
  })

  t.test('rfc8216bis B.1: a successful blocking media request (a held hinted part) is cacheable for at least six target durations', async (t) => {
    t.equal(heldPart.status, 200, `${h2.uri} served`)
    t.ok((maxAge(heldPart.headers['cache-control']) ?? 0) >= 6 * TD, `Cache-Control: ${heldPart.headers['cache-control']}`)
    for (const r of [segmentRes, partRes, initRes]) {
      t.equal(r.status, 200)
      t.ok((maxAge(r.headers['cache-control']) ?? 0) >= 6 * TD, `media Cache-Control: ${r.headers['cache-control']}`)
    }
  })

  t.test('rfc8216bis B.1: an unsuccessful media segment or part response is cacheable for one target duration', async (t) => {
    for (const r of [missingSegment, missingPart]) {
      t.equal(r.status, 404)
      t.equal(maxAge(r.headers['cache-control']), TD, `404 Cache-Control: ${r.headers['cache-control']}`)
    }
  })

  t.test('rfc8216bis B.1 + 6.2.5.2: a 400 carries an explicit Cache-Control no longer than the blocking failure lifetime', async (t) => {
    t.equal(badRequest.status, 400)
    const cc = badRequest.headers['cache-control'] ?? ''
    t.ok(/no-store/.test(cc) || (maxAge(cc) ?? Infinity) <= 4 * TD, `400 Cache-Control: ${cc}`)
  })

  t.test('rfc8216bis B.1 + Appendix C: the origin sends Date, never Age, and max-age so caches can compute Age', async (t) => {
    for (const [name, r] of Object.entries({ nonBlocking, blocking, heldPart, segmentRes, partRes, initRes, multivariant })) {
      t.ok(!Number.isNaN(Date.parse(r.headers.date ?? '')), `${name}: Date header`)
      t.notOk('age' in r.headers, `${name}: no Age from the origin ("No Age header means that the response came directly from the origin")`)
      t.ok(maxAge(r.headers['cache-control']) !== undefined, `${name}: Cache-Control max-age`)
      t.notMatch(r.headers['cache-control'] ?? '', /private|no-cache|no-store/, `${name}: cacheable by shared caches`)
      t.match(r.headers['access-control-expose-headers'] ?? '', /\bAge\b/, `${name}: browsers may read Age (hls.js tune-in)`)
    }
  })

  t.test('rfc8216bis 6.2.1 + B.1: playlists are gzip-encoded for clients that accept gzip', async (t) => {
    const paths = [f.path, `${f.path}?_HLS_msn=${pl.mediaSequence}`, `${f.path}?_HLS_skip=YES`, `/live/${f.name}/index.m3u8`]
    for (const path of paths) {
      // Same ETag means same playlist state; retry across a part boundary.
      const [plain, gz] = await waitFor(async () => {
        const [a, b] = await Promise.all([req(path), req(path, { 'Accept-Encoding': 'gzip, deflate, br' })])
        return a.headers.etag === b.headers.etag ? [a, b] as const : undefined
      }, 5000, `one playlist state for ${path}`)
      t.equal(gz.headers['content-encoding'], 'gzip', `${path}: Content-Encoding: gzip`)
      t.match(gz.headers.vary ?? '', /accept-encoding/i, `${path}: Vary: Accept-Encoding`)
      t.equal(gunzipSync(gz.body).toString(), plain.body.toString(), `${path}: gunzips to the identity body`)
      t.notOk(plain.headers['content-encoding'], `${path}: identity without Accept-Encoding`)
      t.match(plain.headers.vary ?? '', /accept-encoding/i, `${path}: the identity answer varies too`)
    }
  })

  t.test('rfc8216bis 6.2.1 + RFC 9110 12.5.3: gzip only when acceptable (q=0 refuses it, wildcards and q-values allow it)', async (t) => {
    const refused = await req(f.path, { 'Accept-Encoding': 'gzip;q=0, identity' })
    t.not(refused.headers['content-encoding'], 'gzip', `"gzip;q=0" refuses gzip (got ${refused.headers['content-encoding']})`)
    t.match(bodyText(refused), /^#EXTM3U/, 'readable playlist')
    const safari = await req(f.path, { 'Accept-Encoding': 'br;q=1.0, gzip;q=0.8, *;q=0.1' })
    t.equal(safari.headers['content-encoding'], 'gzip', 'gzip;q=0.8 accepted')
    const star = await req(f.path, { 'Accept-Encoding': '*' })
    t.match(bodyText(star), /^#EXTM3U/, 'a wildcard gets a decodable playlist')
  })

  t.test('rfc8216bis 6.2.2: segments and parts carry an Expires header reflecting their planned time-to-live', async (t) => {
    for (const [name, r] of Object.entries({ segmentRes, partRes, heldPart })) {
      const expires = r.headers.expires
      t.ok(expires && !Number.isNaN(Date.parse(expires)), `${name}: Expires is an HTTP-date (got ${expires})`)
      if (expires) t.ok(Date.parse(expires) > Date.parse(r.headers.date ?? ''), `${name}: Expires ${expires} is after Date ${r.headers.date}`)
    }
  })

  t.test('RFC 9110 8.8.3 + 13.1.2: playlists carry an ETag and a matching If-None-Match gets 304', async (t) => {
    t.ok(blocking.headers.etag, `blocking playlist ETag ${blocking.headers.etag}`)
    // Revalidate while the playlist is unchanged (a new part changes it every 0.5 s).
    const [first, again] = await waitFor(async () => {
      const a = await req(f.path)
      const b = await req(f.path, { 'If-None-Match': a.headers.etag ?? '' })
      return b.status === 304 || b.headers.etag === a.headers.etag ? [a, b] as const : undefined
    }, 5000, 'an unchanged playlist to revalidate')
    t.ok(first.headers.etag, `ETag ${first.headers.etag}`)
    t.equal(again.status, 304, 'unchanged playlist: 304 Not Modified')
    t.equal(again.body.length, 0, 'no body')
    t.equal(again.headers.etag, first.headers.etag, '304 repeats the ETag')
    t.ok(again.headers['cache-control'], '304 carries Cache-Control (refreshes the cached copy)')
    const stale = await req(f.path, { 'If-None-Match': 'W/"not-the-current-one"' })
    t.equal(stale.status, 200, 'a stale validator gets the new playlist')
  })

  t.test('RFC 9110 8.8.3 + rfc8216bis B.1: segments and parts carry an ETag and a matching If-None-Match gets 304', async (t) => {
    for (const [path, r] of [[`${dir}/${seg.uri}`, segmentRes], [`${dir}/${part.uri}`, partRes]] as const) {
      const etag = r.headers.etag
      t.ok(etag, `${path}: ETag (got ${etag})`)
      if (!etag) continue
      const again = await req(path, { 'If-None-Match': etag })
      t.equal(again.status, 304, `${path}: 304 for a matching validator`)
    }
  })

  t.test('rfc8216bis 4 + 11.1: playlists are application/vnd.apple.mpegurl; media is MP4', async (t) => {
    for (const r of [nonBlocking, blocking, multivariant]) t.equal(r.headers['content-type'], 'application/vnd.apple.mpegurl')
    t.equal(initRes.headers['content-type'], 'video/mp4')
    for (const r of [segmentRes, partRes, heldPart]) t.match(r.headers['content-type'] ?? '', /^video\/(iso\.segment|mp4)$/)
  })

  t.test('CORS on every playlist and media response, errors and 304 included', async (t) => {
    const n304 = await req(f.path, { 'If-None-Match': nonBlocking.headers.etag ?? '' })
    const all = { nonBlocking, blocking, heldPart, segmentRes, partRes, initRes, multivariant, missingPlaylist, missingBlocking, missingSegment, missingPart, badRequest, n304 }
    for (const [name, r] of Object.entries(all)) t.equal(r.headers['access-control-allow-origin'], '*', `${name} (${r.status})`)
  })
})
