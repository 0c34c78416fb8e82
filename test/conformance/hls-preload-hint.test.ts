/**
 * LL-HLS conformance: EXT-X-PRELOAD-HINT and requests for hinted parts
 * (draft-pantos-hls-rfc8216bis 4.4.5.3, 6.2.6, Appendix B.1), with the HTTP
 * Range behaviour LL-HLS clients rely on (RFC 8673 / RFC 9110 14).
 */
import t from 'tap'
import {
  startLive, fetchPlaylist, model, hintOf, timedGet, get, sleep, waitFor, allParts, type Playlist, type TimedResponse,
} from '../helpers/conformance.js'

const MAX_SAFE = '9007199254740991'

t.test('LL-HLS preload hints', async (t) => {
  const f = await startLive(t, 'hint', { windowSeconds: 10, endedRetentionSeconds: 10 })
  const store = f.store()

  // Follow the live edge the way an LL-HLS client does: from each playlist, ask at once for the
  // hinted part and for the playlist that will list it (blocking), then repeat with the answer.
  const chain: Playlist[] = [(await fetchPlaylist(f.url)).pl]
  const hints: Array<{ msn: number; part: number; uri: string; res: TimedResponse }> = []
  while (chain.length < 14) {
    const h = hintOf(chain.at(-1)!)
    if (!h) break
    const [res, r] = await Promise.all([
      timedGet(f.o.httpPort, `/live/${f.name}/source/${h.uri}`),
      get(`${f.url}?_HLS_msn=${h.msn}&_HLS_part=${h.part}`),
    ])
    hints.push({ ...h, res })
    chain.push(model(r.text))
  }

  t.test('rfc8216bis 4.4.5.3 + 6.2.6 + B.1: every live playlist carries exactly one PRELOAD-HINT, TYPE=PART, for the next part', async (t) => {
    for (const p of chain) {
      t.equal(p.hints.length, 1, 'one EXT-X-PRELOAD-HINT')
      const h = p.hints[0]!
      t.equal(h.TYPE, 'PART')
      t.match(h.URI ?? '', /^\d+\.\d+\.m4s$/, 'a relative part URI')
      t.notOk('BYTERANGE-START' in h || 'BYTERANGE-LENGTH' in h, 'parts are whole resources: no byte range')
      const last = p.segments.at(-1)!
      const lp = last.parts.at(-1)
      const expected = last.uri === undefined && lp ? `${lp.msn}.${lp.index + 1}.m4s` : `${last.msn + 1}.0.m4s`
      t.equal(h.URI, expected, 'the hint names the part after the last listed one')
    }
  })

  t.test('rfc8216bis 4.4.5.3 + B.1: the hinted URI is the part that is added to the playlist next', async (t) => {
    t.ok(hints.length >= 12, `${hints.length} hints followed (3 segments)`)
    for (const h of hints) {
      const listed = chain.some((p) => allParts(p).some((x) => x.uri === h.uri))
      t.ok(listed, `hinted ${h.uri} was later listed as an EXT-X-PART ("MUST match the URI that will be subsequently added")`)
    }
  })

  t.test('rfc8216bis 6.2.6: a request for a hinted part blocks until the part is complete, never 404', async (t) => {
    for (const h of hints) {
      const rec = store.part(h.msn, h.part)
      t.equal(h.res.status, 200, `${h.uri} answered ${h.res.status} (a hinted resource MUST be available for request)`)
      if (rec) t.ok(h.res.body.equals(rec.data), `${h.uri}: the whole part`)
    }
  })

  t.test('rfc8216bis 6.2.6: no byte of a hinted part is sent before all of it can be sent, then at full speed', async (t) => {
    const served = hints.filter((h) => h.res.status === 200)
    t.ok(served.length >= 8, `${served.length} hinted parts served`)
    for (const h of served) {
      const rec = store.part(h.msn, h.part)!
      t.ok(rec, `${h.uri} exists`)
      if (!rec) continue
      t.ok(h.res.sentAt < rec.completedAt, `${h.uri} was asked for before it was complete`)
      t.ok(h.res.firstByteAt >= rec.completedAt, `first byte ${h.res.firstByteAt - rec.completedAt} ms after the part completed (never before)`)
      t.equal(Number(h.res.headers['content-length']), rec.data.length, 'sent with a Content-Length: known size, not chunked while produced')
      t.notOk(h.res.headers['transfer-encoding'], 'no chunked transfer')
      t.ok(h.res.lastByteAt - h.res.firstByteAt < 50, `${rec.data.length} bytes in ${h.res.lastByteAt - h.res.firstByteAt} ms (full link speed)`)
    }
  })

  t.test('rfc8216bis 4.4.5.3 + RFC 8673: an open-ended Range bytes=0-9007199254740991 on a hinted part gets the whole part as 206', async (t) => {
    // A hint inside a segment (not after its last part), so the part surely follows.
    await waitFor(() => (store.openSegment()?.parts.length ?? 0) === 1, 5000, 'a segment with one part')
    const h = hintOf((await fetchPlaylist(f.url)).pl)!
    const r = await timedGet(f.o.httpPort, `/live/${f.name}/source/${h.uri}`, { Range: `bytes=0-${MAX_SAFE}` })
    const rec = store.part(h.msn, h.part)!
    t.equal(r.status, 206)
    t.equal(r.headers['content-range'], `bytes 0-${rec.data.length - 1}/${rec.data.length}`)
    t.ok(r.body.equals(rec.data), 'all bytes of the part')
    t.ok(r.firstByteAt >= rec.completedAt, 'held until complete')
  })

  t.test('RFC 9110 14.1.2 + rfc8216bis 4.4.5.3: bytes=N-9007199254740991 on a complete segment and part returns bytes N to the end', async (t) => {
    const { pl } = await fetchPlaylist(f.url)
    const seg = pl.segments.find((s) => s.uri)!
    const part = allParts(pl)[0]!
    for (const uri of [seg.uri!, part.uri]) {
      const whole = (await get(`${f.base}/source/${uri}`)).body
      const n = Math.floor(whole.length / 3)
      const r = await timedGet(f.o.httpPort, `/live/${f.name}/source/${uri}`, { Range: `bytes=${n}-${MAX_SAFE}` })
      t.equal(r.status, 206, `${uri}: 206`)
      t.equal(r.headers['content-range'], `bytes ${n}-${whole.length - 1}/${whole.length}`, `${uri}: Content-Range`)
      t.ok(r.body.equals(whole.subarray(n)), `${uri}: the requested bytes`)
      t.equal(r.headers['accept-ranges'], 'bytes', `${uri}: Accept-Ranges: bytes`)
    }
  })

  t.test('RFC 9110 15.5.17: a range starting past the end is 416 with Content-Range bytes */length', async (t) => {
    const seg = (await fetchPlaylist(f.url)).pl.segments.find((s) => s.uri)!
    const whole = (await get(`${f.base}/source/${seg.uri}`)).body
    const r = await timedGet(f.o.httpPort, `/live/${f.name}/source/${seg.uri}`, { Range: `bytes=${whole.length + 10}-${MAX_SAFE}` })
    t.equal(r.status, 416)
    t.equal(r.headers['content-range'], `bytes */${whole.length}`)
  })

  t.test('rfc8216bis 6.2.6: a resource that is neither present nor hinted is 404 at once', async (t) => {
    const h = hintOf((await fetchPlaylist(f.url)).pl)!
    const cases = [
      `${h.msn + 3}.0.m4s`, // three segments ahead
      `${h.msn + 2}.m4s`, // a whole segment not in production
      `${h.msn}.${h.part + 2}.m4s`, // two parts past the hint
    ]
    for (const uri of cases) {
      const t0 = Date.now()
      const r = await get(`${f.base}/source/${uri}`)
      t.equal(r.status, 404, `${uri} (hint is ${h.uri}): 404`)
      t.ok(Date.now() - t0 < 200, `${uri}: answered in ${Date.now() - t0} ms, not held`)
    }
  })

  t.test('rfc8216bis 6.2.2: a segment that left the window (and its grace) is 404, not held', async (t) => {
    const { pl } = await fetchPlaylist(f.url)
    const gone = pl.mediaSequence - 50
    const t0 = Date.now()
    const r = await get(`${f.base}/source/${gone}.m4s`)
    t.equal(r.status, 404)
    t.ok(Date.now() - t0 < 200, 'at once')
  })

  t.test('rfc8216bis 6.2.6: a client that cancels a hinted request leaves no waiter behind', async (t) => {
    const h = hintOf((await fetchPlaylist(f.url)).pl)!
    const before = store.waiters.size
    const ac = new AbortController()
    // The hinted URI itself: the only part the server holds a request for (6.2.6).
    const p = fetch(`${f.base}/source/${h.msn}.${h.part}.m4s`, { signal: ac.signal }).catch(() => undefined)
    await sleep(100)
    t.ok(store.waiters.size >= before + 1 || store.part(h.msn, h.part) !== undefined, 'request held')
    ac.abort()
    await p
    await sleep(100)
    t.ok(store.waiters.size <= before, `waiters back to ${store.waiters.size} (was ${before})`)
  })
})
