/**
 * LL-HLS conformance: Blocking Playlist Reload (draft-pantos-hls-rfc8216bis
 * 6.2.5.2) against a live stream: what is held, for how long, what is refused.
 */
import t from 'tap'
import {
  startLive, fetchPlaylist, model, hintOf, get, sleep, waitFor, median, metricsText, allParts,
  PART_TARGET, TD,
} from '../helpers/conformance.js'

/** Count of observations at or below `le` for one kind of the answer-delay histogram. */
function bucket(text: string, kind: string, le: string): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith('streamd_blocking_answer_delay_seconds_bucket{')) continue
    if (line.includes(`kind="${kind}"`) && line.includes(`le="${le}"`)) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return NaN
}

t.test('LL-HLS blocking playlist reload', async (t) => {
  const f = await startLive(t, 'block', { windowSeconds: 10, endedRetentionSeconds: 10 })
  const store = f.store()
  const advanceLimit = PART_TARGET < 1 ? 3 / PART_TARGET : 3

  /** Wait until the open segment is young (its part index 0 or 1), so a segment boundary is >= 1 s away. */
  const earlyInSegment = async (): Promise<{ msn: number; part: number }> =>
    waitFor(() => {
      const e = store.edge()
      const open = store.openSegment()
      return e && open && e.msn === open.msn && e.part <= 1 ? e : undefined
    }, 5000, 'the start of a segment')

  t.test('rfc8216bis 6.2.5.2: _HLS_msn=M alone is held until segment M is complete in the playlist', async (t) => {
    const e = await earlyInSegment()
    t.notOk(store.segment(e.msn)!.complete, `segment ${e.msn} is still in production`)
    const r = await get(`${f.url}?_HLS_msn=${e.msn}`)
    t.equal(r.status, 200)
    t.ok(store.segment(e.msn)!.complete, `segment ${e.msn} complete when answered`)
    const pl = model(r.text)
    t.ok(pl.segments.some((s) => s.uri === `${e.msn}.m4s`), `the answer lists ${e.msn}.m4s`)
    t.ok(r.ms > 500, `it waited (${r.ms.toFixed(0)} ms)`)
  })

  t.test('rfc8216bis 6.2.5.2: _HLS_msn=M&_HLS_part=N is held until part N of M is in the playlist', async (t) => {
    for (let i = 0; i < 4; i++) {
      const h = hintOf((await fetchPlaylist(f.url)).pl)!
      t.equal(store.part(h.msn, h.part), undefined, `${h.uri} not there yet`)
      const r = await get(`${f.url}?_HLS_msn=${h.msn}&_HLS_part=${h.part}`)
      const at = Date.now()
      t.equal(r.status, 200)
      const pl = model(r.text)
      const listed = allParts(pl).some((p) => p.uri === h.uri) || allParts(pl).some((p) => p.uri === `${h.msn + 1}.0.m4s`)
      t.ok(listed, `answer lists ${h.uri} (or the next segment's part 0 if ${h.msn} ended first)`)
      const rec = store.part(h.msn, h.part) ?? store.part(h.msn + 1, 0)
      t.ok(rec && at >= rec.completedAt, 'answered after the part completed')
    }
  })

  t.test('rfc8216bis 6.2.5.2: held requests are answered within milliseconds of the part completing', async (t) => {
    const delays: number[] = []
    for (let i = 0; i < 10; i++) {
      const h = hintOf((await fetchPlaylist(f.url)).pl)!
      const r = await get(`${f.url}?_HLS_msn=${h.msn}&_HLS_part=${h.part}`)
      const at = Date.now()
      const rec = store.part(h.msn, h.part) ?? store.part(h.msn + 1, 0)
      t.equal(r.status, 200)
      if (rec) delays.push(at - rec.completedAt)
    }
    // Measured at the client (fetch overhead included); the <= 5 ms p99 goal is a benchmark's job.
    t.ok(median(delays) <= 20, `median ${median(delays)} ms after completion (${delays.join(', ')})`)
    t.ok(Math.max(...delays) <= 150, `slowest ${Math.max(...delays)} ms`)
    const m = await metricsText(f.o)
    const count = bucket(m, 'playlist', '+Inf')
    t.ok(count >= 10, `server observed ${count} held playlist answers`)
    t.ok(bucket(m, 'playlist', '0.02') / count >= 0.9, `>= 90% answered within 20 ms of the part's last frame (${bucket(m, 'playlist', '0.02')}/${count})`)
    t.equal(bucket(m, 'playlist', '0.25'), count, 'every one within 250 ms')
    // A request for a part that already exists is answered at once and is not a held one:
    // how late a client asks says nothing of the server's answer delay.
    await sleep(600)
    const e = store.edge()!
    const before = bucket(await metricsText(f.o), 'playlist', '+Inf')
    const late = await get(`${f.url}?_HLS_msn=${e.msn}&_HLS_part=${e.part}`)
    t.equal(late.status, 200)
    t.equal(bucket(await metricsText(f.o), 'playlist', '+Inf'), before, 'a request for an existing part is not counted as held')
  })

  t.test('rfc8216bis 6.2.5.2: a part index past the last part of its parent means part 0 of the next segment', async (t) => {
    const e = await waitFor(() => {
      const x = store.edge()
      const open = store.openSegment()
      return x && open && x.msn === open.msn && x.part >= 1 && x.part <= 2 ? x : undefined
    }, 5000, 'the middle of a segment')
    const perSegment = Math.round(TD / PART_TARGET)
    const n = e.part + advanceLimit - 1 // within the Advance Part Limit, past the segment's last part
    t.ok(n >= perSegment, `part ${n} is past the last index (${perSegment - 1}) of a ${TD} s segment`)
    const r = await get(`${f.url}?_HLS_msn=${e.msn}&_HLS_part=${n}`)
    const at = Date.now()
    t.equal(r.status, 200)
    const next = store.part(e.msn + 1, 0)
    t.ok(next, `${e.msn + 1}.0 exists when answered`)
    t.ok(next && at >= next.completedAt, 'answered only once part 0 of the next segment was complete')
    t.ok(allParts(model(r.text)).some((p) => p.uri === `${e.msn + 1}.0.m4s`), `answer lists ${e.msn + 1}.0.m4s`)
  })

  t.test('rfc8216bis 6.2.5.2: the entire playlist is delivered even if the requested segment has left it', async (t) => {
    const { pl } = await fetchPlaylist(f.url)
    for (const msn of [pl.mediaSequence, pl.mediaSequence - 1, 1]) {
      const r = await get(`${f.url}?_HLS_msn=${msn}`)
      t.equal(r.status, 200, `_HLS_msn=${msn}: 200`)
      t.ok(r.ms < 200, `_HLS_msn=${msn}: at once (${r.ms.toFixed(0)} ms)`)
      const b = model(r.text)
      t.ok(b.mediaSequence >= pl.mediaSequence, 'a current playlist')
      t.ok(b.segments.length >= pl.segments.length - 1, 'the entire playlist, not a fragment')
      t.equal(b.hints.length, 1, 'with its preload hint')
    }
  })

  t.test('rfc8216bis 6.2.5.2: _HLS_part without _HLS_msn is 400', async (t) => {
    const r = await get(`${f.url}?_HLS_part=1`)
    t.equal(r.status, 400)
  })

  t.test('rfc8216bis 6.2.5.2: _HLS_msn beyond the last segment plus two is 400 at once; plus two is held', async (t) => {
    const e = await earlyInSegment()
    const bad = await get(`${f.url}?_HLS_msn=${e.msn + 3}`)
    t.equal(bad.status, 400, `_HLS_msn=${e.msn + 3} with last ${e.msn}: 400`)
    t.ok(bad.ms < 100, `answered immediately (${bad.ms.toFixed(0)} ms)`)
    const ac = new AbortController()
    let settled = false
    const held = fetch(`${f.url}?_HLS_msn=${e.msn + 2}`, { signal: ac.signal }).then(() => { settled = true }, () => undefined)
    await sleep(400)
    t.notOk(settled, `_HLS_msn=${e.msn + 2} is held, not refused`)
    ac.abort()
    await held
  })

  t.test('rfc8216bis 6.2.5.2: _HLS_part past the Advance Part Limit (3 / PART-TARGET parts) is 400 at once', async (t) => {
    const e = await earlyInSegment()
    // Two past the limit: still past it if a part lands while the request travels.
    const cases: Array<[number, number]> = [[e.msn, e.part + advanceLimit + 2], [e.msn + 1, advanceLimit + 1]]
    for (const [msn, part] of cases) {
      const r = await get(`${f.url}?_HLS_msn=${msn}&_HLS_part=${part}`)
      t.equal(r.status, 400, `_HLS_msn=${msn}&_HLS_part=${part} with last part ${e.msn}.${e.part} and a limit of ${advanceLimit} parts: 400`)
      t.ok(r.ms < 100, `at once (${r.ms.toFixed(0)} ms)`)
    }
  })

  t.test('rfc8216bis 6.2.5.2: a part within the Advance Part Limit is held, not refused', async (t) => {
    const e = await earlyInSegment()
    const ac = new AbortController()
    const outcomes: number[] = []
    const reqs = [[e.msn, e.part + advanceLimit - 1], [e.msn + 1, 0]].map(([msn, part]) =>
      fetch(`${f.url}?_HLS_msn=${msn}&_HLS_part=${part}`, { signal: ac.signal }).then((r) => outcomes.push(r.status), () => undefined))
    await sleep(300)
    t.same(outcomes, [], 'both held (a 400 would have arrived at once)')
    ac.abort()
    await Promise.all(reqs)
  })

  t.test('rfc8216bis 6.2.5.2: a request that cannot be satisfied within 3 target durations gets 503', async (t) => {
    const h = hintOf((await fetchPlaylist(f.url)).pl)!
    // Freeze the publisher: nothing new reaches the origin.
    process.kill(f.pub.pid!, 'SIGSTOP')
    t.teardown(() => { try { process.kill(f.pub.pid!, 'SIGCONT') } catch { /* gone */ } })
    await sleep(200)
    const e = store.edge()!
    const t0 = Date.now()
    const r = await get(`${f.url}?_HLS_msn=${e.msn}&_HLS_part=${e.part + 1}`)
    const waited = Date.now() - t0
    process.kill(f.pub.pid!, 'SIGCONT')
    t.equal(r.status, 503, `503 for ${e.msn}.${e.part + 1} (hint was ${h.uri})`)
    t.ok(waited >= 3 * TD * 1000 - 100, `held ${waited} ms: the full three target durations`)
    t.ok(waited <= 3 * TD * 1000 + 1000, `then answered (${waited} ms)`)
    t.equal(r.headers.get('access-control-allow-origin'), '*', 'with CORS')
    t.ok(r.headers.get('cache-control'), 'with an explicit Cache-Control')
    // The stream recovers.
    const after = await waitFor(async () => {
      const x = await get(`${f.url}?_HLS_msn=${e.msn}&_HLS_part=${e.part + 1}`)
      return x.status === 200 ? x : undefined
    }, 10_000, 'the stream to resume')
    t.equal(after.status, 200, 'served again once media flows')
  })
})
