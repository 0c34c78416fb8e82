/**
 * LL-HLS conformance: Partial Segments (draft-pantos-hls-rfc8216bis 3.2, 4.4.4.9,
 * 6.2.1, 6.2.2, Appendix B.1) on a live stream.
 */
import t from 'tap'
import {
  startLive, fetchPlaylist, allParts, get, sleep, waitFor, PART_TARGET, TD, type Playlist,
} from '../helpers/conformance.js'
import { mp4boxParse } from '../helpers/mp4-fixtures.js'

t.test('LL-HLS partial segments', async (t) => {
  const f = await startLive(t, 'parts', { windowSeconds: 10, endedRetentionSeconds: 10 }, 4)
  const samples: Playlist[] = []
  for (let i = 0; i < 12; i++) {
    samples.push((await fetchPlaylist(f.url)).pl)
    await sleep(250)
  }
  const live = samples.at(-1)!
  const init = (await get(`${f.base}/source/${live.segments[0]!.map!}`)).body

  t.test('rfc8216bis 4.4.4.9: every part DURATION <= PART-TARGET', async (t) => {
    for (const p of samples) for (const part of allParts(p)) {
      t.ok(part.duration <= PART_TARGET, `${part.uri} ${part.duration} <= ${PART_TARGET}`)
    }
  })

  t.test('rfc8216bis 4.4.4.9: parts are >= 85% of PART-TARGET unless INDEPENDENT=YES or last of their parent', async (t) => {
    let checked = 0
    for (const p of samples) for (const s of p.segments) {
      s.parts.forEach((part, i) => {
        const lastOfParent = s.uri !== undefined && i === s.parts.length - 1
        if (lastOfParent || part.independent) return
        // The newest part of the open segment may turn out to be its last; it still has to be >= 85% now.
        t.ok(part.duration >= 0.85 * PART_TARGET, `${part.uri} ${part.duration} >= ${0.85 * PART_TARGET}`)
        checked++
      })
    }
    t.ok(checked > 20, `${checked} parts checked`)
  })

  t.test('rfc8216bis 4.4.4.9: INDEPENDENT=YES exactly on the parts that contain an independent frame', async (t) => {
    const parts = allParts(live)
    t.ok(parts.length >= 8)
    for (const part of parts) {
      const r = await get(`${f.base}/source/${part.uri}`)
      t.equal(r.status, 200, `${part.uri} served`)
      const mp4 = mp4boxParse(Buffer.concat([init, r.body]))
      const video = mp4.info.tracks.find((x: any) => x.type === 'video' || x.video)
      const sync = mp4.samples.get(video!.id)?.sync ?? 0
      t.equal(part.independent, sync > 0, `${part.uri}: INDEPENDENT=${part.independent ? 'YES' : 'absent'}, ${sync} sync samples`)
    }
  })

  t.test('rfc8216bis B.1: every Media Segment contains an independent frame and its first part says so', async (t) => {
    for (const s of live.segments) {
      if (s.parts.length > 0 && s.parts[0]!.index === 0) t.ok(s.parts[0]!.independent, `${s.msn}.0 is INDEPENDENT=YES`)
      if (!s.uri) continue
      const r = await get(`${f.base}/source/${s.uri}`)
      const mp4 = mp4boxParse(Buffer.concat([init, r.body]))
      const video = mp4.info.tracks.find((x: any) => x.type === 'video' || x.video)
      t.ok((mp4.samples.get(video!.id)?.sync ?? 0) >= 1, `${s.uri} has a sync sample`)
    }
  })

  t.test('rfc8216bis 3.2: a parent segment and its parts hold the same samples', async (t) => {
    const whole = live.segments.filter((s) => s.uri && s.parts.length > 0 && s.parts[0]!.index === 0)
    t.ok(whole.length >= 1, 'a complete segment with all its parts listed')
    for (const s of whole) {
      const seg = (await get(`${f.base}/source/${s.uri}`)).body
      const parts = await Promise.all(s.parts.map(async (p) => (await get(`${f.base}/source/${p.uri}`)).body))
      const a = mp4boxParse(Buffer.concat([init, seg]))
      const b = mp4boxParse(Buffer.concat([init, ...parts]))
      t.same([...b.samples.entries()], [...a.samples.entries()], `${s.uri}: same sample count, bytes and sync per track`)
      t.ok(Math.abs(s.parts.reduce((x, p) => x + p.duration, 0) - s.duration!) < 0.002, 'part durations add up to EXTINF')
    }
  })

  t.test('rfc8216bis 3.2: part index starts at zero and parts carry their parent\'s msn', async (t) => {
    for (const s of live.segments) {
      if (s.parts.length === 0) continue
      for (const p of s.parts) t.equal(p.msn, s.msn)
      // Parts are dropped oldest-first, so a segment whose tags are all listed starts at 0.
      if (s !== live.segments.find((x) => x.parts.length > 0)) t.equal(s.parts[0]!.index, 0, `${s.msn} lists parts from index 0`)
    }
  })

  t.test('rfc8216bis 6.2.2: EXT-X-PART tags are removed beyond three target durations from the end', async (t) => {
    for (const p of samples) {
      let start = 0
      for (const s of p.segments) {
        let partStart = start
        for (const part of s.parts) {
          const distance = p.totalDuration - partStart
          t.ok(distance <= 3 * TD + 1e-6, `${part.uri} starts ${distance.toFixed(3)} s from the end (<= ${3 * TD})`)
          partStart += part.duration
        }
        start += s.duration ?? s.parts.reduce((a, x) => a + x.duration, 0)
      }
      const withParts = p.segments.filter((s) => s.parts.length > 0)
      t.ok(withParts.length <= 3, `parts on ${withParts.length} segments (the last three at most)`)
      t.ok(p.segments.some((s) => s.uri === undefined || s.parts.length > 0), 'parts are listed at the live edge')
    }
  })

  t.test('rfc8216bis 6.2.2: a part stays downloadable for 3 target durations after its tag is removed', async (t) => {
    const target = allParts(live)[0]!
    const before = await get(`${f.base}/source/${target.uri}`)
    t.equal(before.status, 200)
    // Wait until the tag is gone, then keep asking for three target durations.
    await waitFor(async () => !(await get(f.url)).text.includes(`URI="${target.uri}"`), 10_000, `${target.uri} to leave the playlist`)
    const removedAt = Date.now()
    let last = 0
    for (;;) {
      const r = await get(`${f.base}/source/${target.uri}`)
      t.equal(r.status, 200, `${target.uri} served ${((Date.now() - removedAt) / 1000).toFixed(1)} s after removal`)
      t.ok(r.body.equals(before.body), 'same bytes')
      if (last >= 3 * TD * 1000) break
      await sleep(1000)
      last = Date.now() - removedAt
    }
  })

  t.test('rfc8216bis 6.2.1: every part and segment is available at once when it appears in the playlist', async (t) => {
    const { pl } = await fetchPlaylist(f.url)
    const urls = [...allParts(pl).map((p) => p.uri), ...pl.segments.filter((s) => s.uri).map((s) => s.uri!)]
    for (const u of urls) {
      const r = await get(`${f.base}/source/${u}`)
      t.equal(r.status, 200, `${u} is 200`)
      t.ok(r.ms < 250, `${u} answered in ${r.ms.toFixed(1)} ms (not held)`)
      t.equal(Number(r.headers.get('content-length')), r.body.length, `${u} has a Content-Length (known size, full speed)`)
    }
  })

  t.test('rfc8216bis 3.2 + 6.2.2: a part URL names the same bytes for as long as it is served', async (t) => {
    const p = allParts(live).at(-1)!
    const a = await get(`${f.base}/source/${p.uri}`)
    await sleep(2500)
    const b = await get(`${f.base}/source/${p.uri}`)
    t.equal(b.status, 200)
    t.ok(a.body.equals(b.body), 'identical bytes after the parent segment completed')
  })
})
