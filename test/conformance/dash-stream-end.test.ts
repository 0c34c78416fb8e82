/**
 * End and restart (23009-1 5.4: an MPD may turn from dynamic to static; IOP 4.5
 * multi-Period): when the publisher leaves, the MPD becomes static and lists only
 * what is still retained; a republish under the same name is a new Period whose
 * numbers continue past every number used before, on the same
 * availabilityStartTime. Passthrough (keyframe-cut) segments use a SegmentTimeline.
 */
import t from 'tap'
import { get, waitFor } from '../helpers/origin.js'
import { DASH_SEGMENT, fetchMpd, kid, kids, representation, seconds, startDashLive, waitForMpd } from '../helpers/dash.js'

t.test('DASH stream end and restart', async (t) => {
  const f = await startDashLive(t, 'dashend')
  const live = await fetchMpd(f.mpdUrl)
  const stream = f.o.origin.directory.get(f.name)!
  await f.pub.stop()
  await waitFor(() => stream.state === 'ended', 20_000, 'stream ended')

  await t.test('23009-1 5.4 / IOP 4.6: at the end the MPD is static and lists only retained segments', async (t) => {
    const end = await fetchMpd(f.mpdUrl)
    t.equal(end.root.getAttribute('type'), 'static')
    t.notOk(end.root.hasAttribute('minimumUpdatePeriod'), 'no more updates')
    t.ok(Date.parse(end.root.getAttribute('publishTime')!) > Date.parse(live.root.getAttribute('publishTime')!), 'publishTime moved with the change')
    const total = seconds(end.root.getAttribute('mediaPresentationDuration'))
    t.ok(total >= DASH_SEGMENT, `mediaPresentationDuration ${total} s`)
    const { template, period } = representation(end.root, 'source')
    const ts = Number(template.getAttribute('timescale'))
    const count = Math.round(seconds(period.getAttribute('duration')) / (Number(template.getAttribute('duration')) / ts))
    const start = Number(template.getAttribute('startNumber'))
    for (let n = start; n < start + count; n++) {
      t.equal((await get(`${f.base}/source/${n}.m4s`)).status, 200, `segment ${n} the static MPD lists is served`)
    }
    t.equal(end.player.playlists[0].endList, true, 'mpd-parser sees a finished presentation')
  })

  await t.test('IOP 4.5 / HLS parity: a republish is a new Period; no number reused, AST unchanged', async (t) => {
    const usedMax = Math.max(...[...stream.renditions.values()].flatMap((r) => r.segments.map((s) => s.msn)))
    f.republish()
    const again = await waitFor(async () => {
      const m = await fetchMpd(f.mpdUrl).catch(() => undefined)
      return m && m.root.getAttribute('type') === 'dynamic' && kids(m.root, 'Period').length === 2 ? m : undefined
    }, 40_000, 'a dynamic MPD with two Periods')
    t.equal(again.root.getAttribute('availabilityStartTime'), live.root.getAttribute('availabilityStartTime'), 'AST unchanged')
    const [p1, p2] = kids(again.root, 'Period')
    t.not(p1!.getAttribute('id'), p2!.getAttribute('id'), 'distinct Period ids')
    t.ok(seconds(p2!.getAttribute('start')) > seconds(p1!.getAttribute('start')), 'the new Period starts later')
    const tpl = kids(kid(p2!, 'AdaptationSet'), 'Representation')[0]!.getElementsByTagName('SegmentTemplate')[0]!
    t.ok(Number(tpl.getAttribute('startNumber')) > usedMax, `new numbers start past ${usedMax}`)
  })
})

t.test('passthrough (keyframe-cut segments): SegmentTimeline listing the retained segments', async (t) => {
  const f = await startDashLive(t, 'dashpass', { ladder: false, segments: 3 })
  const m = await waitForMpd(f.mpdUrl)
  const { rep, template } = representation(m.root, 'source')
  t.match(rep.getAttribute('codecs'), /^avc1\.[0-9a-f]{6},mp4a\.40\.\d$/, 'one muxed Representation')
  const timeline = kid(template, 'SegmentTimeline')
  const ss = kids(timeline, 'S')
  t.ok(ss.length >= 1, 'S entries')
  t.ok(ss[0]!.hasAttribute('t'), 'first S has its time')
  const ts = Number(template.getAttribute('timescale'))
  const store = f.o.origin.directory.get(f.name)!.renditions.get('source')!
  const listed = ss.reduce((a, s) => a + 1 + Number(s.getAttribute('r') || 0), 0)
  const start = Number(template.getAttribute('startNumber'))
  const seg = store.segment(start)!
  t.ok(seg?.complete, 'startNumber is a retained complete segment')
  let secs = 0
  for (const s of ss) secs += (Number(s.getAttribute('d')) * (1 + Number(s.getAttribute('r') || 0))) / ts
  const stored = store.segments.filter((s) => s.complete && s.msn >= start && s.msn < start + listed).reduce((a, s) => a + s.duration, 0)
  t.ok(Math.abs(secs - stored) < 0.1, `timeline ${secs.toFixed(3)} s vs stored ${stored.toFixed(3)} s`)
  t.equal((await get(`${f.base}/source/${start + listed - 1}.m4s`)).status, 200, 'last listed segment serves')
  t.equal(m.player.playlists[0].segments.length, listed, 'mpd-parser sees every listed segment')
})
