/**
 * DASH MPD structure (ISO/IEC 23009-1 4th ed., DASH-IF IOP v5 part 5 "live"):
 * a dynamic MPD whose timeline anchors never move, one AdaptationSet per media
 * type, Representations described from what was produced, and segment numbers
 * that address the same {msn}.m4s URLs HLS lists. Every MPD is read by a strict
 * XML parser and by mpd-parser.
 */
import t from 'tap'
import { processUriTemplate } from '@svta/cml-dash'
import { get } from '../helpers/origin.js'
import { attrs } from '../helpers/conformance.js'
import { DASH_SEGMENT, DASH_WINDOW, all, fetchMpd, firstTfdt, kid, kids, representation, seconds, startDashLive } from '../helpers/dash.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

t.test('DASH MPD structure', async (t) => {
  const f = await startDashLive(t, 'dashmpd')
  const first = await fetchMpd(f.mpdUrl)
  await sleep(2500)
  const second = await fetchMpd(f.mpdUrl)
  const mpd = second.root

  t.test('23009-1 5.3.1.2: type dynamic, availabilityStartTime fixed, publishTime moves with content', async (t) => {
    t.equal(mpd.getAttribute('type'), 'dynamic')
    t.equal(second.root.getAttribute('availabilityStartTime'), first.root.getAttribute('availabilityStartTime'), 'AST unchanged across refreshes')
    const p1 = Date.parse(first.root.getAttribute('publishTime')!)
    const p2 = Date.parse(second.root.getAttribute('publishTime')!)
    t.ok(p2 >= p1, 'publishTime never goes back')
    t.ok(p2 <= Date.now(), 'publishTime is not in the future')
    // A @duration template needs no edits as segments come: re-renders must not move publishTime
    // (a change of content moving it is checked in dash-stream-end, where the MPD turns static).
    const strip = (x: string): string => x.replace(/publishTime="[^"]+"/, '')
    if (strip(first.text) === strip(second.text)) t.equal(p2, p1, 'same content, same publishTime')
    else t.ok(p2 > p1, 'changed content, later publishTime')
  })

  t.test('23009-1 5.3.1.2: minimumUpdatePeriod, timeShiftBufferDepth = window, suggestedPresentationDelay', async (t) => {
    t.ok(seconds(mpd.getAttribute('minimumUpdatePeriod')) > 0, 'minimumUpdatePeriod set')
    t.ok(seconds(mpd.getAttribute('minimumUpdatePeriod')) <= DASH_SEGMENT, 'refreshed at least once a segment')
    t.equal(seconds(mpd.getAttribute('timeShiftBufferDepth')), DASH_WINDOW, 'timeShiftBufferDepth is the window')
    t.ok(seconds(mpd.getAttribute('suggestedPresentationDelay')) > 0, 'suggestedPresentationDelay set')
    t.ok(mpd.getAttribute('minBufferTime'), 'minBufferTime (required) set')
  })

  t.test('23009-1 5.3.3 / IOP 5: one AdaptationSet per media type, ladder rungs as Representations', async (t) => {
    const sets = kids(kid(mpd, 'Period'), 'AdaptationSet')
    const video = sets.filter((s) => s.getAttribute('contentType') === 'video')
    const audio = sets.filter((s) => s.getAttribute('contentType') === 'audio')
    t.equal(video.length, 1, 'one video AdaptationSet')
    t.equal(audio.length, 1, 'one audio AdaptationSet (one language)')
    t.equal(new Set(sets.map((s) => s.getAttribute('id'))).size, sets.length, 'AdaptationSet ids unique')
    // The HLS multivariant playlist is an independent description of the same renditions.
    const hls = (await get(`${f.base}/index.m3u8`)).text
    const inf = hls.split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF:')).map((l) => attrs(l.slice(18)))
    const reps = kids(video[0]!, 'Representation')
    t.equal(reps.length, inf.length, 'as many video Representations as HLS variants')
    for (const rep of reps) {
      const id = rep.getAttribute('id')!
      t.ok(Number(rep.getAttribute('bandwidth')) > 0, `${id}: bandwidth`)
      t.match(rep.getAttribute('codecs'), /^avc1\.[0-9a-f]{6}$/, `${id}: codecs`)
      t.equal(`${rep.getAttribute('width')}x${rep.getAttribute('height')}`, '320x180', `${id}: width and height`)
      t.equal(rep.getAttribute('frameRate'), '30', `${id}: frameRate`)
      t.ok(inf.some((a) => a.CODECS!.split(',').includes(rep.getAttribute('codecs')!)), `${id}: codecs match HLS`)
    }
    const arep = kid(audio[0]!, 'Representation')
    t.match(arep.getAttribute('codecs'), /^mp4a\.40\.\d$/, 'audio codecs')
    t.equal(arep.getAttribute('audioSamplingRate'), '48000', 'audio sampling rate')
    t.equal(kid(arep, 'AudioChannelConfiguration').getAttribute('value'), '2', 'channels')
    t.notOk(audio[0]!.hasAttribute('lang'), 'no lang claimed for an undetermined (und) language')
  })

  t.test('23009-1 5.3.9.4: SegmentTemplate $Number$ over the HLS segment URLs; startNumber and PTO never change', async (t) => {
    for (const id of ['source', 'audio']) {
      const a = representation(first.root, id).template
      const b = representation(second.root, id).template
      t.equal(b.getAttribute('startNumber'), a.getAttribute('startNumber'), `${id}: startNumber fixed`)
      t.equal(b.getAttribute('presentationTimeOffset'), a.getAttribute('presentationTimeOffset'), `${id}: PTO fixed`)
      t.equal(kids(b, 'SegmentTimeline').length, 0, `${id}: grid segments use @duration, not a timeline`)
      const ts = Number(b.getAttribute('timescale'))
      t.equal(Number(b.getAttribute('duration')) / ts, DASH_SEGMENT, `${id}: @duration is the grid slot`)
      // A complete segment by the template's own URL is the very object HLS lists.
      const store = f.o.origin.directory.get(f.name)!.renditions.get(id)!
      const seg = store.segments.filter((s) => s.complete && !s.gap).at(-1)!
      const url = new URL(processUriTemplate(b.getAttribute('media')!, id, seg.msn, null, null, null), f.mpdUrl).href
      t.equal(url, `${f.base}/${id}/${seg.msn}.m4s`, `${id}: $Number$ expands to the HLS segment URL`)
      const r = await get(url)
      t.equal(r.status, 200)
      t.ok(r.body.equals(seg.data!), `${id}: same bytes as the store's segment`)
      const init = await get(new URL(b.getAttribute('initialization')!, f.mpdUrl).href)
      t.equal(init.status, 200, `${id}: initialization URL serves`)
    }
  })

  t.test('23009-1 5.3.9.5.3 + IOP 5 timing: MPD time of segment N = its tfdt, and its wall clock = its HLS PROGRAM-DATE-TIME', async (t) => {
    const ast = Date.parse(mpd.getAttribute('availabilityStartTime')!)
    const { template, period } = representation(mpd, 'source')
    const ts = Number(template.getAttribute('timescale'))
    const d = Number(template.getAttribute('duration'))
    const start = Number(template.getAttribute('startNumber'))
    const pto = Number(template.getAttribute('presentationTimeOffset'))
    const pl = (await get(`${f.base}/source/index.m3u8`)).text.split('\n')
    let checked = 0
    for (let i = 0; i < pl.length; i++) {
      const m = /^(\d+)\.m4s$/.exec(pl[i]!)
      if (!m) continue
      const n = Number(m[1])
      const pdtLine = pl.slice(0, i).reverse().find((l) => l.startsWith('#EXT-X-PROGRAM-DATE-TIME:'))!
      const seg = await get(`${f.base}/source/${n}.m4s`)
      if (seg.status !== 200) continue
      const mediaTime = firstTfdt(seg.body) / ts
      const mpdTime = ((n - start) * d + pto) / ts
      // tfdt is the decode time; with B-frames the first frame presents a few frames later.
      t.ok(Math.abs(mediaTime - mpdTime) < 0.25, `segment ${n}: tfdt ${mediaTime.toFixed(3)} s vs MPD time ${mpdTime.toFixed(3)} s`)
      const wall = ast + (seconds(period.getAttribute('start')) + (n - start) * d / ts) * 1000
      const pdt = Date.parse(pdtLine.slice(25))
      t.ok(Math.abs(wall - pdt) < 250, `segment ${n}: MPD wall clock vs PDT differ by ${(wall - pdt).toFixed(0)} ms`)
      checked++
    }
    t.ok(checked >= 2, `checked ${checked} segments`)
  })

  t.test('mpd-parser reads the live MPD: segment URIs and init map per Representation', async (t) => {
    const pls = second.player.playlists as any[]
    t.ok(pls.length >= 1, 'video playlists')
    const src = pls.find((p) => p.attributes.NAME === 'source')
    t.ok(src, 'source playlist')
    t.match(src.segments.at(-1)?.uri ?? '', /^source\/\d+\.m4s$/, 'segment uri from the template')
    t.match(src.segments.at(-1)?.map?.uri ?? '', /^source\/init\.mp4\?v=[0-9a-f]+$/, 'init map')
    const audioGroups = Object.values(second.player.mediaGroups.AUDIO) as any[]
    t.equal(audioGroups.length, 1, 'one audio group')
    t.ok(all(mpd, 'Representation').length >= 2, 'strict XML parse sees every Representation')
  })
})
