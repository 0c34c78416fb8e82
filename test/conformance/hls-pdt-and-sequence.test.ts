/**
 * LL-HLS conformance: EXT-X-PROGRAM-DATE-TIME and the media / discontinuity
 * sequence over a sliding window (draft-pantos-hls-rfc8216bis 4.4.4.6, 6.2.1,
 * 6.2.2), observed by polling a live stream with a short window.
 */
import t from 'tap'
import { startLive, fetchPlaylist, get, sleep, type Playlist } from '../helpers/conformance.js'

const PDT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,}(Z|[+-]\d\d:\d\d)$/

t.test('LL-HLS program date time and sequence numbers', async (t) => {
  const f = await startLive(t, 'seq', { windowSeconds: 6, endedRetentionSeconds: 6 }, 2)

  // Watch one newly completed segment from the moment it appears until past its Availability Duration.
  const samples: Playlist[] = []
  const at: number[] = []
  const poll = async (): Promise<Playlist> => {
    const { pl } = await fetchPlaylist(f.url)
    samples.push(pl)
    at.push(Date.now())
    return pl
  }
  const start = await poll()
  const lastComplete = (p: Playlist): number => Math.max(...p.segments.filter((s) => s.uri).map((s) => s.msn))
  let watched: { msn: number; firstSeen: number; duration: number } | undefined
  while (!watched) {
    const p = await poll()
    if (lastComplete(p) > lastComplete(start)) {
      const s = p.segments.find((x) => x.msn === lastComplete(p))!
      watched = { msn: s.msn, firstSeen: Date.now(), duration: s.duration! }
    } else await sleep(100)
  }
  const watchedBytes = (await get(`${f.base}/source/${watched.msn}.m4s`)).body
  let longestPlaylist = 0
  let leftAt: number | undefined
  const availability: Array<{ t: number; status: number; same: boolean }> = []
  for (;;) {
    const p = await poll()
    longestPlaylist = Math.max(longestPlaylist, p.segments.reduce((a, s) => a + (s.duration ?? 0), 0))
    if (leftAt === undefined && !p.segments.some((s) => s.msn === watched!.msn)) leftAt = Date.now()
    const r = await get(`${f.base}/source/${watched.msn}.m4s`)
    availability.push({ t: Date.now(), status: r.status, same: r.body.equals(watchedBytes) })
    // 6.2.2: Availability Duration = segment duration + longest playlist containing it.
    if (Date.now() > watched.firstSeen + (watched.duration + longestPlaylist) * 1000 + 500 && leftAt !== undefined) break
    await sleep(250)
  }

  t.test('rfc8216bis 4.4.4.6 + B.1: every segment carries PROGRAM-DATE-TIME with milliseconds and a time zone', async (t) => {
    for (const p of samples) for (const s of p.segments) {
      t.match(s.pdt ?? '', PDT, `segment ${s.msn}${s.uri ? '' : ' (parts only)'}: ${s.pdt}`)
    }
  })

  t.test('rfc8216bis 6.2.1: PROGRAM-DATE-TIME never makes the date-to-media mapping ambiguous', async (t) => {
    for (const p of samples) {
      for (let i = 1; i < p.segments.length; i++) {
        const a = p.segments[i - 1]!
        const b = p.segments[i]!
        const gap = Date.parse(b.pdt!) - (Date.parse(a.pdt!) + a.duration! * 1000)
        t.ok(Date.parse(b.pdt!) > Date.parse(a.pdt!), `${b.msn} starts after ${a.msn}`)
        // "small (sub-second) overlaps" are the only ambiguity allowed.
        t.ok(gap > -1000, `${b.msn} overlaps ${a.msn} by less than a second (${gap} ms)`)
        if (!b.discontinuity) t.ok(Math.abs(gap) <= 5, `${b.msn} starts where ${a.msn} ends in date (${gap} ms), the mapping is one line`)
      }
    }
  })

  t.test('rfc8216bis 6.2.1: a segment\'s PROGRAM-DATE-TIME, EXTINF and URI never change across reloads', async (t) => {
    const seen = new Map<number, string>()
    for (const p of samples) for (const s of p.segments) {
      if (!s.uri) continue
      const key = `${s.pdt} ${s.duration} ${s.uri} ${s.discontinuity}`
      const prev = seen.get(s.msn)
      if (prev !== undefined) t.equal(key, prev, `segment ${s.msn} unchanged`)
      seen.set(s.msn, key)
    }
    t.ok(seen.size >= 5, `${seen.size} segments followed`)
  })

  t.test('rfc8216bis 6.2.2: EXT-X-MEDIA-SEQUENCE never decreases and grows by the number of segments removed', async (t) => {
    let slid = 0
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1]!
      const b = samples[i]!
      t.ok(b.mediaSequence >= a.mediaSequence, `${a.mediaSequence} -> ${b.mediaSequence}`)
      const removed = a.segments.filter((s) => s.msn < b.mediaSequence).length
      t.equal(b.mediaSequence - a.mediaSequence, removed, 'increment = segments removed from the top')
      if (removed > 0) slid++
    }
    t.ok(slid >= 2, `the window slid ${slid} times`)
  })

  t.test('rfc8216bis 6.2.2: EXT-X-DISCONTINUITY-SEQUENCE never decreases', async (t) => {
    for (let i = 1; i < samples.length; i++) t.ok(samples[i]!.discontinuitySequence >= samples[i - 1]!.discontinuitySequence)
    t.equal(samples.at(-1)!.discontinuitySequence, 0, 'no discontinuity yet in this stream')
  })

  t.test('rfc8216bis 6.2.2: a removed segment stays downloadable until it first appeared plus its Availability Duration', async (t) => {
    t.ok(leftAt !== undefined, `segment ${watched!.msn} left the playlist ${((leftAt! - watched!.firstSeen) / 1000).toFixed(1)} s after it appeared`)
    const until = watched!.firstSeen + (watched!.duration + longestPlaylist) * 1000
    const due = availability.filter((a) => a.t <= until)
    t.ok(due.some((a) => a.t > leftAt!), 'checked after its removal too')
    for (const a of due) {
      t.equal(a.status, 200, `${((a.t - watched!.firstSeen) / 1000).toFixed(1)} s after it appeared (availability ${((until - watched!.firstSeen) / 1000).toFixed(1)} s)`)
      t.ok(a.same, 'same bytes')
    }
  })

  t.test('rfc8216bis 6.2.2: a live playlist is at least three target durations long', async (t) => {
    for (const p of samples.slice(-10)) {
      const complete = p.segments.reduce((a, s) => a + (s.duration ?? 0), 0)
      t.ok(complete >= 3 * p.targetDuration, `${complete} s listed`)
    }
  })
})
