/**
 * Low-latency DASH (DASH-IF IOP v5 "Low-latency Modes for DASH", the LL-DASH CR):
 * a clock to synchronize with (UTCTiming, 23009-1 5.8.4.11), a latency target
 * (ServiceDescription, 23009-1 K / IOP LL 9.X.4.2), a producer reference time
 * (23009-1 5.12, also inband as a `prft` box opening each segment), segments
 * announced early (availabilityTimeOffset with availabilityTimeComplete=false)
 * and, when asked for early, streamed chunk by chunk as the packager completes
 * each CMAF chunk.
 */
import t from 'tap'
import { request } from 'node:http'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { get } from '../helpers/origin.js'
import { rawRequest } from '../helpers/raw-http.js'
import { fetchPlaylist } from '../helpers/conformance.js'
import { createFile, MP4BoxBuffer } from 'mp4box'
import { probeDecode, tempDir } from '../helpers/mp4-fixtures.js'
import { DASH_PART, DASH_SEGMENT, fetchMpd, kid, kids, representation, seconds, startDashLive } from '../helpers/dash.js'

/** mp4box.js's reading of init + segment: top-level boxes in order, and the movie's tracks. */
function mp4boxTopLevel(bytes: Buffer): { boxes: any[]; tracks: Array<{ id: number; video?: unknown }>; errors: string[] } {
  const file = createFile()
  const errors: string[] = []
  let tracks: Array<{ id: number; video?: unknown }> = []
  file.onError = (module: string, message: string) => { errors.push(`${module}: ${message}`) }
  file.onReady = (movie) => { tracks = movie.tracks }
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer, 0))
  file.flush()
  return { boxes: file.boxes, tracks, errors }
}

t.test('LL-DASH', async (t) => {
  const f = await startDashLive(t, 'dashll')
  const { root: mpd } = await fetchMpd(f.mpdUrl)
  const store = (name: string) => f.o.origin.directory.get(f.name)!.renditions.get(name)!

  t.test('23009-1 5.8.4.11 / IOP 4.7: UTCTiming http-iso names a time endpoint streamd serves', async (t) => {
    const utc = kids(mpd, 'UTCTiming')
    t.equal(utc.length, 1)
    t.equal(utc[0]!.getAttribute('schemeIdUri'), 'urn:mpeg:dash:utc:http-iso:2014')
    const value = utc[0]!.getAttribute('value')!
    // Relative, so a shield or CDN in front (which may rewrite Host) serves the clock itself.
    t.equal(value, '../../time', 'relative to the MPD URL, never naming a host')
    const url = new URL(value, f.mpdUrl).href
    t.equal(url, `${f.o.http}/time`, 'resolves to this server\'s /time')
    const other = await rawRequest(f.o.httpPort, `GET /live/${f.name}/manifest.mpd HTTP/1.1\r\nHost: cdn.example:8443\r\n\r\n`)
    t.equal(other.status, 200)
    t.notMatch(other.text, /cdn\.example|127\.0\.0\.1/, 'the Host header never reaches the MPD')
    t.match(other.text, /<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="\.\.\/\.\.\/time"\/>/)
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

  t.test('14496-12 8.16.5: each segment opens with a prft on the MPD and PROGRAM-DATE-TIME mapping', async (t) => {
    const dir = await tempDir(t)
    for (const id of ['source', 'audio']) {
      const { set, template } = representation(mpd, id)
      const prt = kid(set, 'ProducerReferenceTime')
      t.equal(prt.getAttribute('inband'), 'true', `${id}: ProducerReferenceTime says inband`)
      const ts = Number(template.getAttribute('timescale'))
      const firstNumber = Number(template.getAttribute('startNumber'))
      const wall0 = Date.parse(prt.getAttribute('wallClockTime')!) - (Number(prt.getAttribute('presentationTime')) / ts) * 1000
      const { pl } = await fetchPlaylist(`${f.base}/${id}/index.m3u8`)
      const listed = pl.segments.filter((s) => s.uri && s.pdt)
      t.ok(listed.length >= 2, `${id}: ${listed.length} complete segments listed`)
      const init = (await get(`${f.base}/${id}/init.mp4`)).body
      for (const s of listed.slice(-2)) {
        const seg = (await get(`${f.base}/${id}/${s.msn}.m4s`)).body
        t.equal(seg.toString('latin1', 4, 8), 'prft', `${id}/${s.msn}: the first box is the prft`)
        const mp4 = mp4boxTopLevel(Buffer.concat([init, seg]))
        const top = mp4.boxes
        t.same(mp4.errors, [], 'mp4box.js read it without error')
        const prfts = top.filter((b) => b.type === 'prft') as any[]
        t.equal(prfts.length, 1, `${id}/${s.msn}: one prft per segment (not per chunk)`)
        t.equal(top[top.findIndex((b) => b.type === 'prft') + 1]?.type, 'moof', 'right before the first moof')
        const p = prfts[0]
        const lead = mp4.tracks.find((x) => x.video) ?? mp4.tracks[0]!
        t.equal(p.ref_track_id, lead.id, 'reference track: the lead (video, else audio) track')
        t.equal(p.flags, 0, 'flags 0: time of input to the encoder (type="encoder")')
        const ntpMs = (p.ntp_timestamp / 2 ** 32 - 2_208_988_800) * 1000
        const fromMpd = wall0 + (p.media_time / ts) * 1000
        t.ok(Math.abs(ntpMs - fromMpd) < 3, `${id}/${s.msn}: NTP time ${new Date(ntpMs).toISOString()} is the MPD's wall clock of media time ${p.media_time} (off by ${(ntpMs - fromMpd).toFixed(3)} ms)`)
        // Both mark the segment's first frame: PROGRAM-DATE-TIME to the millisecond, the prft finer.
        const offPdt = ntpMs - Date.parse(s.pdt!)
        t.ok(Math.abs(offPdt) < 1.5, `${id}/${s.msn}: and the segment's PROGRAM-DATE-TIME ${s.pdt} (off by ${offPdt.toFixed(3)} ms)`)
        const slot = (s.msn - firstNumber) * DASH_SEGMENT
        t.ok(Math.abs(p.media_time / ts - slot) < 0.05, `${id}/${s.msn}: media_time ${p.media_time} is the first frame of grid slot ${slot} s`)
        const path = join(dir, `${id}-${s.msn}.mp4`)
        await writeFile(path, Buffer.concat([init, seg]))
        const probe = await probeDecode(path)
        t.equal(probe.errors, '', `${id}/${s.msn}: ffprobe decodes it without error`)
        t.ok(probe.video + probe.audio > 0, `ffprobe decoded ${probe.video} video and ${probe.audio} audio frames`)
      }
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
