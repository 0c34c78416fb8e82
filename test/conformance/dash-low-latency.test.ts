/**
 * Low-latency DASH (DASH-IF IOP v5 "Low-latency Modes for DASH", the LL-DASH CR):
 * a clock to synchronize with (UTCTiming, 23009-1 5.8.4.11), a latency target
 * (ServiceDescription, 23009-1 K / IOP LL 9.X.4.2), a producer reference time
 * (23009-1 5.12), segments announced early (availabilityTimeOffset with
 * availabilityTimeComplete=false) and, when asked for early, streamed chunk by
 * chunk as the packager completes each CMAF chunk.
 */
import t from 'tap'
import { request } from 'node:http'
import { get } from '../helpers/origin.js'
import { DASH_PART, DASH_SEGMENT, fetchMpd, kid, kids, representation, seconds, startDashLive } from '../helpers/dash.js'

t.test('LL-DASH', async (t) => {
  const f = await startDashLive(t, 'dashll')
  const { root: mpd } = await fetchMpd(f.mpdUrl)
  const store = (name: string) => f.o.origin.directory.get(f.name)!.renditions.get(name)!

  t.test('23009-1 5.8.4.11 / IOP 4.7: UTCTiming http-iso names a time endpoint streamd serves', async (t) => {
    const utc = kids(mpd, 'UTCTiming')
    t.equal(utc.length, 1)
    t.equal(utc[0]!.getAttribute('schemeIdUri'), 'urn:mpeg:dash:utc:http-iso:2014')
    const url = new URL(utc[0]!.getAttribute('value')!, f.mpdUrl).href
    t.equal(new URL(url).origin, f.o.http, 'served by this origin')
    const before = Date.now()
    const r = await get(url)
    const after = Date.now()
    t.equal(r.status, 200)
    t.match(r.text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO 8601 with milliseconds')
    const at = Date.parse(r.text)
    t.ok(at >= before - 5 && at <= after + 5, 'the server clock (same machine)')
    t.equal(r.headers.get('cache-control'), 'no-store', 'never cached')
    t.equal(r.headers.get('access-control-allow-origin'), '*', 'CORS: players on other origins read it')
  })

  t.test('IOP LL 9.X.4.2 / 23009-1 K.4: ServiceDescription with Latency target, min, max', async (t) => {
    const sd = kid(mpd, 'ServiceDescription')
    const lat = kid(sd, 'Latency')
    const target = Number(lat.getAttribute('target'))
    t.ok(target >= 3 * DASH_PART * 1000, 'target no closer than three chunks (as LL-HLS PART-HOLD-BACK)')
    t.ok(Number(lat.getAttribute('min')) <= target && target <= Number(lat.getAttribute('max')), 'min <= target <= max')
    t.equal(lat.getAttribute('referenceId'), '0', 'measured against ProducerReferenceTime 0')
    const rate = kid(sd, 'PlaybackRate')
    t.ok(Number(rate.getAttribute('min')) < 1 && Number(rate.getAttribute('max')) > 1, 'catch-up playback rate range')
    t.equal(seconds(mpd.getAttribute('suggestedPresentationDelay')) * 1000, target, 'suggestedPresentationDelay agrees')
  })

  t.test('23009-1 5.12: ProducerReferenceTime maps media time 0 to the session anchor (AST)', async (t) => {
    for (const set of kids(kid(mpd, 'Period'), 'AdaptationSet')) {
      const prt = kid(set, 'ProducerReferenceTime')
      t.equal(prt.getAttribute('id'), '0')
      t.equal(prt.getAttribute('presentationTime'), '0')
      t.equal(prt.getAttribute('wallClockTime'), mpd.getAttribute('availabilityStartTime'), 'first session: Period start 0, PTO 0')
      t.equal(kid(prt, 'UTCTiming').getAttribute('schemeIdUri'), 'urn:mpeg:dash:utc:http-iso:2014')
    }
  })

  t.test('IOP LL 9.X.4.3: availabilityTimeOffset = segment - chunk, availabilityTimeComplete=false', async (t) => {
    for (const id of ['source', 'audio']) {
      const tpl = representation(mpd, id).template
      t.equal(Number(tpl.getAttribute('availabilityTimeOffset')), DASH_SEGMENT - DASH_PART, `${id}: ATO`)
      t.equal(tpl.getAttribute('availabilityTimeComplete'), 'false', `${id}: chunked delivery announced`)
    }
  })

  t.test('IOP LL 9.X.5: a segment in production streams chunk by chunk (chunked transfer), ending complete', async (t) => {
    const s = store('source')
    const msn = s.openSegment()?.msn ?? s.upcomingMsn
    const target = msn + 1 // not begun yet: held until its first chunk, then streamed
    const seen: Array<{ bytes: number; complete: boolean }> = []
    const res = await new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const req = request(`${f.base}/source/${target}.m4s`, (r) => {
        const chunks: Buffer[] = []
        r.on('data', (c: Buffer) => {
          chunks.push(c)
          seen.push({ bytes: c.length, complete: Boolean(s.segment(target)?.complete) })
        })
        r.on('end', () => resolve({ status: r.statusCode!, headers: r.headers, body: Buffer.concat(chunks) }))
        r.on('error', reject)
      })
      req.on('error', reject)
      req.end()
    })
    t.equal(res.status, 200)
    t.equal(res.headers['transfer-encoding'], 'chunked', 'chunked transfer coding')
    t.notOk(res.headers['content-length'], 'no Content-Length: the size is not known yet')
    t.ok(seen.length >= 2, `body arrived in ${seen.length} pieces`)
    t.equal(seen[0]!.complete, false, 'first bytes arrived before the segment was complete')
    const seg = s.segment(target)!
    t.ok(seg.complete && res.body.equals(seg.data!), 'the streamed body is exactly the complete segment')
    const again = await get(`${f.base}/source/${target}.m4s`)
    t.equal(again.headers.get('content-length'), String(seg.data!.length), 'once complete: a known length')
    t.ok(again.body.equals(res.body), 'same bytes either way')
  })
})
