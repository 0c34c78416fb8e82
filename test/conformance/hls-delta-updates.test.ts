/**
 * LL-HLS conformance: Playlist Delta Updates (draft-pantos-hls-rfc8216bis
 * 4.4.3.8 CAN-SKIP-UNTIL, 4.4.5.2 EXT-X-SKIP, 6.2.5.1, 8) on a live stream
 * long enough for segments to lie beyond the Skip Boundary.
 */
import t from 'tap'
import { startLive, fetchPlaylist, model, hintOf, get, waitFor, assertParses, type Playlist } from '../helpers/conformance.js'

t.test('LL-HLS playlist delta updates', async (t) => {
  // 20 s window, CAN-SKIP-UNTIL 12 s: once 8 segments exist, the oldest lie past the boundary.
  const f = await startLive(t, 'delta', { windowSeconds: 20, endedRetentionSeconds: 20 }, 8)

  /** Full, YES and v2 answers for the same playlist state: three blocking requests for one part. */
  const sameState = async (): Promise<{ full: Playlist; yes: Playlist; v2: Playlist }> => {
    const h = hintOf((await fetchPlaylist(f.url)).pl)!
    const q = `_HLS_msn=${h.msn}&_HLS_part=${h.part}`
    const [full, yes, v2] = await Promise.all([
      get(`${f.url}?${q}`), get(`${f.url}?${q}&_HLS_skip=YES`), get(`${f.url}?_HLS_skip=v2&${q}`),
    ])
    return { full: model(full.text), yes: model(yes.text), v2: model(v2.text) }
  }
  const pairs = [await sameState(), await sameState(), await sameState()]
  const { full, yes, v2 } = pairs.at(-1)!
  const boundary = Number(full.serverControl['CAN-SKIP-UNTIL'])

  t.test('rfc8216bis 4.4.3.8: CAN-SKIP-UNTIL (the Skip Boundary) is at least six target durations', async (t) => {
    t.ok(boundary >= 6 * full.targetDuration, `CAN-SKIP-UNTIL=${boundary} >= ${6 * full.targetDuration}`)
    t.ok(full.totalDuration > boundary + full.targetDuration, `the playlist (${full.totalDuration} s) reaches past the boundary`)
  })

  t.test('rfc8216bis 6.2.5.1: _HLS_skip=YES and _HLS_skip=v2 are answered with a Delta Update carrying EXT-X-SKIP', async (t) => {
    for (const { yes, v2 } of pairs) {
      for (const [name, d] of [['YES', yes], ['v2', v2]] as const) {
        t.ok(d.skipAttrs, `${name}: EXT-X-SKIP present`)
        t.ok(d.skipped > 0, `${name}: SKIPPED-SEGMENTS=${d.skipped} > 0`)
        t.equal(d.lines.filter((l) => l.startsWith('#EXT-X-SKIP')).length, 1, `${name}: exactly one EXT-X-SKIP (4.4.5)`)
      }
    }
  })

  t.test('rfc8216bis 8 + 6.2.1: a YES delta update declares EXT-X-VERSION 9, no more', async (t) => {
    for (const { yes } of pairs) t.equal(yes.version, 9)
  })

  t.test('rfc8216bis 8 + 4.4.5.2: a v2 delta update declares EXT-X-VERSION 10 and EXT-X-SKIP carries RECENTLY-REMOVED-DATERANGES', async (t) => {
    for (const { v2 } of pairs) {
      t.equal(v2.version, 10, 'EXT-X-VERSION:10 for a skip that replaces date ranges')
      // 4.4.5.2: "REQUIRED if the Client requested an update that skips EXT-X-DATERANGE tags. The quoted-string MAY be empty."
      t.ok(v2.skipAttrs && 'RECENTLY-REMOVED-DATERANGES' in v2.skipAttrs, `EXT-X-SKIP has RECENTLY-REMOVED-DATERANGES (got ${v2.lines.find((l) => l.startsWith('#EXT-X-SKIP'))})`)
    }
  })

  t.test('rfc8216bis 6.2.5.1 + 4.4.5.2: a delta update keeps the full playlist\'s MEDIA-SEQUENCE and DISCONTINUITY-SEQUENCE', async (t) => {
    for (const { full, yes, v2 } of pairs) {
      for (const d of [yes, v2]) {
        t.equal(d.mediaSequence, full.mediaSequence, 'EXT-X-MEDIA-SEQUENCE')
        t.equal(d.discontinuitySequence, full.discontinuitySequence, 'EXT-X-DISCONTINUITY-SEQUENCE')
        t.equal(d.segments[0]!.msn, full.mediaSequence + d.skipped, 'the first listed segment follows the skipped ones')
      }
    }
  })

  t.test('rfc8216bis 6.2.5.1: every tag that was not skipped remains, unchanged', async (t) => {
    for (const { full, yes, v2 } of pairs) {
      for (const d of [yes, v2]) {
        // Header: identical apart from EXT-X-VERSION and the EXT-X-SKIP line itself.
        const head = (p: Playlist): string[] => p.headerLines.filter((l) => !l.startsWith('#EXT-X-VERSION') && !l.startsWith('#EXT-X-SKIP'))
        t.same(head(d), head(full), 'header tags')
        const kept = full.segments.slice(d.skipped)
        t.equal(d.segments.length, kept.length, 'one listed segment per unskipped segment')
        d.segments.forEach((s, i) => {
          const ref = kept[i]!
          // The map may be restated on the first segment after EXT-X-SKIP (its declaring segment was skipped).
          const lines = i === 0 ? s.lines.filter((l) => !l.startsWith('#EXT-X-MAP:') || ref.lines.includes(l)) : s.lines
          t.same(lines, ref.lines, `segment ${ref.msn} as in the full playlist`)
          t.equal(s.effectiveMap, ref.effectiveMap, `segment ${ref.msn} has the same map in force`)
        })
        t.same(d.hints, full.hints, 'the same preload hint')
        t.same(d.reports, full.reports, 'the same rendition reports')
      }
    }
  })

  t.test('rfc8216bis 6.2.5.1: exactly the segments further from the end than the Skip Boundary are skipped', async (t) => {
    for (const { full, yes, v2 } of pairs) {
      // Distance from each segment's end to the end of the last parent segment.
      let elapsed = 0
      const endDistance = full.segments.map((s) => {
        elapsed += s.duration ?? s.parts.reduce((a, p) => a + p.duration, 0)
        return full.totalDuration - elapsed
      })
      for (const d of [yes, v2]) {
        for (let i = 0; i < d.skipped; i++) {
          t.ok(endDistance[i]! >= boundary - 1e-6, `skipped ${full.segments[i]!.msn} ends ${endDistance[i]!.toFixed(3)} s from the end (>= ${boundary})`)
        }
        const firstKept = endDistance[d.skipped]
        t.ok(firstKept !== undefined && firstKept < boundary, `first kept segment ends ${firstKept?.toFixed(3)} s from the end (< ${boundary}): nothing skippable was left`)
        const keptDuration = d.skipped > 0 ? endDistance[d.skipped - 1]! : full.totalDuration
        t.ok(keptDuration >= boundary - 1e-6, `the delta still lists ${keptDuration.toFixed(3)} s (>= the Skip Boundary)`)
      }
    }
  })

  t.test('rfc8216bis 6.2.5.1: a non-blocking _HLS_skip request is a delta update too', async (t) => {
    for (const v of ['YES', 'v2']) {
      const r = await get(`${f.url}?_HLS_skip=${v}`)
      t.equal(r.status, 200)
      const d = model(r.text)
      t.ok(d.skipped > 0, `_HLS_skip=${v} without _HLS_msn: SKIPPED-SEGMENTS=${d.skipped}`)
    }
  })

  t.test('rfc8216bis 6.2.5.1 + 6.2.5.2: _HLS_skip with _HLS_msn/_HLS_part is held, then answered with a delta update', async (t) => {
    const h = hintOf((await fetchPlaylist(f.url)).pl)!
    const r = await get(`${f.url}?_HLS_msn=${h.msn}&_HLS_part=${h.part}&_HLS_skip=YES`)
    t.equal(r.status, 200)
    const d = model(r.text)
    t.ok(d.skipped > 0, 'a delta update')
    t.ok(d.segments.flatMap((s) => s.parts).some((p) => p.uri === h.uri || p.uri === `${h.msn + 1}.0.m4s`), `listing the awaited ${h.uri}`)
  })

  t.test('rfc8216bis 4.4.5.2 + 8: hls-parser (strict) and m3u8-parser accept YES and v2 delta updates', async (t) => {
    const py = assertParses(t, yes.text, 'delta update (YES)')
    assertParses(t, v2.text, 'delta update (v2)')
    t.equal(py?.skip, yes.skipped, 'hls-parser reads SKIPPED-SEGMENTS')
    t.equal(py?.segments?.[0]?.mediaSequenceNumber, full.mediaSequence + yes.skipped, 'hls-parser numbers the first listed segment after the skipped ones')
  })

  t.test('rfc8216bis 4 + 8: hls-parser (strict) and m3u8-parser accept every playlist variant the server emits', async (t) => {
    const h = hintOf((await fetchPlaylist(f.url)).pl)!
    const variants: Array<[string, string, number]> = [
      ['multivariant', `${f.base}/index.m3u8`, 6],
      ['full', f.url, 6],
      ['blocking', `${f.url}?_HLS_msn=${h.msn}&_HLS_part=${h.part}`, 6],
      ['blocking, msn only', `${f.url}?_HLS_msn=${h.msn - 1}`, 6],
      ['delta YES', `${f.url}?_HLS_skip=YES`, 9],
      ['delta v2', `${f.url}?_HLS_skip=v2`, 10],
      ['blocking delta', `${f.url}?_HLS_msn=${h.msn}&_HLS_part=${h.part}&_HLS_skip=YES`, 9],
    ]
    const check = async (list: typeof variants): Promise<void> => {
      for (const [name, url, version] of list) {
        const r = await get(url)
        t.equal(r.status, 200, `${name}: 200`)
        t.match(r.text, new RegExp(`#EXT-X-VERSION:${version}\\n`), `${name}: EXT-X-VERSION ${version}`)
        assertParses(t, r.text, name)
      }
    }
    await check(variants)
    // And once the stream has ended.
    await f.pub.stop()
    await waitFor(async () => (await get(f.url)).text.includes('#EXT-X-ENDLIST'), 10_000, 'EXT-X-ENDLIST')
    await check([
      ['ended', f.url, 6],
      ['ended, blocking parameters ignored', `${f.url}?_HLS_msn=${h.msn + 50}&_HLS_part=3`, 6],
      ['ended, skip ignored', `${f.url}?_HLS_skip=v2`, 6],
      ['ended multivariant', `${f.base}/index.m3u8`, 6],
    ])
  })
})
