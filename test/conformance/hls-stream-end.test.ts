/**
 * LL-HLS conformance: the end of a stream and a name that comes back
 * (draft-pantos-hls-rfc8216bis 4.4.3.4, 4.4.5.3, 6.2.1, 6.2.2, 6.2.5,
 * Appendix B.1). One origin, one name, three publish sessions.
 */
import t from 'tap'
import {
  startLive, fetchPlaylist, model, assertParses, get, sleep, waitFor, maxAge, allParts, TD, type Playlist,
} from '../helpers/conformance.js'

const RETENTION = 6

t.test('LL-HLS stream end and resumption', async (t) => {
  const f = await startLive(t, 'fin', { windowSeconds: 6, endedRetentionSeconds: RETENTION }, 3)

  // Session 1: record what clients saw, then the publisher goes away.
  const live1 = (await fetchPlaylist(f.url)).pl
  const urls1 = new Map<string, Buffer>()
  for (const uri of [live1.segments.find((s) => s.uri)!.uri!, allParts(live1)[0]!.uri, live1.segments[0]!.map!]) {
    urls1.set(uri, (await get(`${f.base}/source/${uri}`)).body)
  }
  await f.pub.stop()
  const endedRes = await waitFor(async () => {
    const r = await get(f.url)
    return r.status === 200 && r.text.includes('#EXT-X-ENDLIST') ? r : undefined
  }, 10_000, 'EXT-X-ENDLIST')
  const endedAt = Date.now()
  const ended = model(endedRes.text)
  const lastMsn1 = Math.max(...ended.segments.map((s) => s.msn))

  await t.test('rfc8216bis 6.2.1 + 4.4.3.4: the last playlist of a stream carries EXT-X-ENDLIST', async (t) => {
    t.ok(ended.endlist)
    t.equal(ended.lines.at(-1), '#EXT-X-ENDLIST', 'as the final tag')
  })

  await t.test('rfc8216bis 4.4.5.3: a playlist with EXT-X-ENDLIST has no EXT-X-PRELOAD-HINT', async (t) => {
    t.equal(ended.hints.length, 0)
  })

  await t.test('rfc8216bis 6.2.1: the ended playlist ends on a complete segment (its final parts have a parent)', async (t) => {
    const last = ended.segments.at(-1)!
    t.ok(last.uri && last.duration !== undefined, `last segment ${last.msn} has EXTINF and URI`)
    const r = await get(`${f.base}/source/${last.uri}`)
    t.equal(r.status, 200, 'and is served')
  })

  await t.test('rfc8216bis 6.2.1: ending only appends EXT-X-ENDLIST to what was listed (segments unchanged)', async (t) => {
    for (const s of live1.segments.filter((x) => x.uri)) {
      const e = ended.segments.find((x) => x.msn === s.msn)
      if (!e) {
        t.ok(s.msn < ended.mediaSequence, `${s.msn} left from the top`)
        continue
      }
      const strip = (l: string[]): string[] => l.filter((x) => !x.startsWith('#EXT-X-PART:') && !x.startsWith('#EXT-X-MAP:'))
      t.same(strip(e.lines), strip(s.lines), `segment ${s.msn} unchanged`)
    }
    t.equal(ended.version, 6)
    t.equal(ended.targetDuration, TD)
  })

  await t.test('rfc8216bis 6.2.5.2: with EXT-X-ENDLIST, _HLS_msn and _HLS_part are ignored (answered at once, never 400/503)', async (t) => {
    for (const q of [`_HLS_msn=${lastMsn1 + 1}&_HLS_part=0`, `_HLS_msn=${lastMsn1 + 2}`, `_HLS_msn=${lastMsn1 + 100}&_HLS_part=50`, `_HLS_msn=${ended.mediaSequence}`]) {
      const r = await get(`${f.url}?${q}`)
      t.equal(r.status, 200, `${q}: 200`)
      t.ok(r.ms < 200, `${q}: at once (${r.ms.toFixed(0)} ms)`)
      t.equal(r.text, endedRes.text, `${q}: the ENDLIST playlist`)
    }
  })

  await t.test('rfc8216bis 6.2.5.1: with EXT-X-ENDLIST, _HLS_skip is ignored (full playlist, no EXT-X-SKIP, version 6)', async (t) => {
    for (const v of ['YES', 'v2']) {
      const r = await get(`${f.url}?_HLS_skip=${v}`)
      t.equal(r.status, 200)
      t.notMatch(r.text, /#EXT-X-SKIP/, `_HLS_skip=${v}: no EXT-X-SKIP`)
      t.match(r.text, /#EXT-X-VERSION:6\n/, `_HLS_skip=${v}: version 6`)
      t.equal(r.text, endedRes.text, `_HLS_skip=${v}: the full ENDLIST playlist`)
    }
  })

  await t.test('rfc8216bis 4.4 + 8: hls-parser (strict) and m3u8-parser accept the ENDLIST playlist', async (t) => {
    const p = assertParses(t, ended.text, 'ended playlist')
    t.equal(p?.endlist, true, 'hls-parser sees the end')
  })

  await t.test('rfc8216bis B.1: the ENDLIST playlist is cached no longer than a non-blocking playlist (the name may resume)', async (t) => {
    const cc = endedRes.headers.get('cache-control')
    t.ok(/no-store|no-cache/.test(cc ?? '') || (maxAge(cc) ?? Infinity) <= TD / 2, `Cache-Control: ${cc} (a CDN must not keep serving ENDLIST after the publisher returns)`)
  })

  // Session 2: the same name comes back within the retention.
  const pub2 = f.republish()
  const live2 = await waitFor(async () => {
    const r = await get(f.url)
    const p = model(r.text)
    return !p.endlist && p.segments.filter((s) => s.uri && s.msn > lastMsn1).length >= 2 ? p : undefined
  }, 20_000, 'the second session to produce two segments')

  await t.test('rfc8216bis 6.2.2: a stream that resumes under the same name continues the numbering', async (t) => {
    t.ok(live2.mediaSequence >= ended.mediaSequence, `MEDIA-SEQUENCE ${ended.mediaSequence} -> ${live2.mediaSequence}`)
    const fresh = live2.segments.filter((s) => s.msn > lastMsn1)
    t.ok(fresh.length >= 2, 'new segments numbered after the last old one')
    t.equal(new Set(live2.segments.map((s) => s.msn)).size, live2.segments.length, 'no number listed twice')
    t.equal(live2.targetDuration, TD, 'TARGETDURATION unchanged (6.2.1)')
  })

  await t.test('rfc8216bis 4.4.4.3 + 6.2.1: the resumed session starts with EXT-X-DISCONTINUITY, a PROGRAM-DATE-TIME and its map', async (t) => {
    const first = live2.segments.find((s) => s.msn === lastMsn1 + 1)
    t.ok(first, `segment ${lastMsn1 + 1} listed`)
    if (!first) return
    t.ok(first.discontinuity, 'EXT-X-DISCONTINUITY')
    t.match(first.pdt ?? '', /\.\d{3}(Z|[+-]\d\d:\d\d)$/, 'PROGRAM-DATE-TIME with ms and zone (6.2.1: SHOULD at every discontinuity)')
    t.ok(first.map, 'EXT-X-MAP restated after the discontinuity')
    const before = live2.segments.filter((s) => s.msn <= lastMsn1 && s.uri).at(-1)
    if (before) {
      t.ok(Date.parse(first.pdt!) >= Date.parse(before.pdt!) + before.duration! * 1000, 'program date time moves forward across the gap')
    }
  })

  await t.test('rfc8216bis 6.2.2: no URL is reused for different content across sessions', async (t) => {
    for (const [uri, bytes] of urls1) {
      const r = await get(`${f.base}/source/${uri}`)
      t.ok(r.status === 404 || (r.status === 200 && r.body.equals(bytes)), `${uri}: ${r.status}${r.status === 200 ? ', same bytes' : ''}`)
    }
  })

  await t.test('rfc8216bis 6.2.2: DISCONTINUITY-SEQUENCE counts the discontinuity once it leaves the playlist', async (t) => {
    const p = await waitFor(async () => {
      const x = (await fetchPlaylist(f.url)).pl
      return x.mediaSequence > lastMsn1 + 1 ? x : undefined
    }, 20_000, 'the discontinuity to leave the window')
    t.equal(p.discontinuitySequence, 1, 'EXT-X-DISCONTINUITY-SEQUENCE incremented when the tag was removed')
    t.notOk(p.segments.some((s) => s.discontinuity), 'and the tag is gone')
  })

  // Session 2 ends; the stream is dropped after its retention.
  await pub2.stop()
  const ended2 = model((await waitFor(async () => {
    const r = await get(f.url)
    return r.status === 200 && r.text.includes('#EXT-X-ENDLIST') ? r : undefined
  }, 10_000, 'the second ENDLIST')).text)
  const ended2At = Date.now()
  const seg2 = ended2.segments.filter((s) => s.uri)

  await t.test('rfc8216bis 6.2.1: an ended stream stays servable for the configured retention', async (t) => {
    t.ok(Date.now() - endedAt > 0)
    await sleep(Math.max(0, (RETENTION - 1.5) * 1000 - (Date.now() - ended2At)))
    const r = await get(f.url)
    t.equal(r.status, 200, `playlist served ${((Date.now() - ended2At) / 1000).toFixed(1)} s after the end (retention ${RETENTION} s)`)
    t.match(r.text, /#EXT-X-ENDLIST/)
    const s = await get(`${f.base}/source/${seg2.at(-1)!.uri}`)
    t.equal(s.status, 200, 'its segments too')
  })

  const goneAt = await waitFor(async () => {
    const status = (await get(f.url)).status
    return status === 404 || status === 410 ? Date.now() : undefined
  }, 15_000, 'the playlist to be removed')

  await t.test('rfc8216bis 6.2.1: after its retention the playlist answers 404 or 410', async (t) => {
    t.ok(goneAt - ended2At >= RETENTION * 1000 - 500, `removed ${((goneAt - ended2At) / 1000).toFixed(1)} s after the end`)
    const r = await get(f.url)
    t.ok([404, 410].includes(r.status), `status ${r.status}`)
  })

  await t.test('rfc8216bis 6.2.1: segments of a removed presentation stay available for the playlist\'s duration', async (t) => {
    const duration = seg2.reduce((a, s) => a + s.duration!, 0)
    // "MUST ensure that all Media Segments in the Playlist file remain available ... for at least
    // the duration of the Playlist file at the time of removal".
    for (const s of seg2) {
      const r = await get(`${f.base}/source/${s.uri}`)
      t.equal(r.status, 200, `${s.uri} ${((Date.now() - goneAt) / 1000).toFixed(1)} s after the playlist was removed (playlist duration ${duration} s)`)
    }
  })

  // Session 3: after the retention, the name starts over — with numbers never used before.
  const allOld = [...ended.segments, ...live2.segments, ...ended2.segments].map((s) => s.msn)
  f.republish()
  const live3 = await waitFor(async () => {
    const r = await get(f.url)
    if (r.status !== 200) return undefined
    const p = model(r.text)
    // Wait for a complete segment of the new session (old ones may still be listed).
    return p.segments.some((s) => s.uri && !allOld.includes(s.msn)) ? p : undefined
  }, 20_000, 'the third session')

  await t.test('rfc8216bis 6.2.2: a name that returns after its retention never reuses a media sequence number', async (t) => {
    const oldMax = Math.max(...allOld)
    // Old segments may still be listed (same URL, same bytes: checked below); what the
    // new session adds is numbered after every number used before.
    const fresh = live3.segments.filter((s) => s.uri && !allOld.includes(s.msn))
    t.ok(fresh.length > 0, 'the third session added segments')
    t.ok(fresh.every((s) => s.msn > oldMax), `new segments ${fresh.map((s) => s.msn).join(', ')} come after every old number (max ${oldMax})`)
    for (const [uri, bytes] of urls1) {
      const r = await get(`${f.base}/source/${uri}`)
      t.ok(r.status === 404 || r.body.equals(bytes), `${uri}: never different content (${r.status})`)
    }
  })
})
