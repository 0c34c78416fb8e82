/**
 * Issue 4 acceptance: a 1280x720 publish becomes a ladder (copied top rung,
 * encoded rungs, one audio rendition); every multivariant attribute matches
 * the media, segment N starts at the same media time in every rendition, and
 * an encoder killed by pid is back on the grid while the others never stop.
 */
import t from 'tap'
import { get, waitFor } from '../helpers/origin.js'
import { startLadderPublish } from '../helpers/ladder-publish.js'
import { parseStrict, parseM3u8 } from '../helpers/playlists.js'
import { firstSampleTime, mp4boxParse } from '../helpers/mp4-fixtures.js'

t.test('a 720p publish becomes an aligned ladder', async (t) => {
  const { o, base } = await startLadderPublish(t, 'lad')
  await waitFor(async () => {
    const r = await get(`${base}/index.m3u8`).catch(() => undefined)
    return r?.status === 200 && (r.text.match(/EXT-X-STREAM-INF/g)?.length ?? 0) >= 3
  }, 40_000, 'a multivariant playlist with the ladder')
  // BANDWIDTH is measured over complete segments: wait until every rendition has two.
  await waitFor(() => [...o.origin.directory.get('lad')!.renditions.values()]
    .every((r) => r.segments.filter((s) => s.complete).length >= 2), 20_000, 'two segments everywhere')
  const mv = (await get(`${base}/index.m3u8`)).text
  const p = parseStrict(mv)
  t.same(parseM3u8(mv).warnings, [])
  const inits = new Map<string, Buffer>()
  const initOf = async (rendition: string): Promise<Buffer> => {
    if (!inits.has(rendition)) inits.set(rendition, (await get(`${base}/${rendition}/init.mp4`)).body)
    return inits.get(rendition)!
  }

  t.test('rfc8216bis 4.4.6: variants and the audio group carry attributes true to the media', async (t) => {
    t.ok(p.variants.length >= 3, `${p.variants.length} video variants`)
    const audioMedia = /#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",[^\n]*URI="audio\/index\.m3u8"/.exec(mv)
    t.ok(audioMedia, 'one audio rendition in the "audio" group')
    const audioInit = mp4boxParse(await initOf('audio'))
    const audioCodec = audioInit.info.tracks[0]!.codec
    t.equal(audioCodec, 'mp4a.40.2')
    const heights: number[] = []
    for (const v of p.variants) {
      const name = v.uri.split('/')[0]
      const box = mp4boxParse(await initOf(name))
      const track = box.info.tracks.find((x: any) => x.video)!
      t.equal(v.codecs, `${track.codec},${audioCodec}`, `${name}: CODECS from its init segment and the audio's`)
      t.same(v.resolution, { width: track.video!.width, height: track.video!.height }, `${name}: RESOLUTION`)
      const inf = new RegExp(`#EXT-X-STREAM-INF:([^\\n]*)\\n${v.uri.replace('/', '\\/').replace('.', '\\.')}\\n`).exec(mv)?.[1] ?? ''
      t.match(inf, /(^|,)AUDIO="audio"(,|$)/, `${name}: in the audio group`)
      t.match(inf, /(^|,)CLOSED-CAPTIONS=NONE(,|$)/, `${name}: says it has no captions`)
      t.ok(v.averageBandwidth > 0 && v.averageBandwidth <= v.bandwidth, `${name}: AVERAGE-BANDWIDTH ${v.averageBandwidth} <= BANDWIDTH ${v.bandwidth}`)
      // 30 fps rungs, and the 2G rung at a third of it: whole frames in each 0.5 s part.
      t.match(String(v.frameRate), /^(30|10)(\.0+)?$/, `${name}: FRAME-RATE ${v.frameRate}`)
      t.match(inf, /(^|,)FRAME-RATE=\d+\.\d{3}(,|$)/, 'FRAME-RATE with three decimals')
      heights.push(v.resolution.height)
    }
    t.equal(heights[0], 720, 'the source on top, not upscaled')
    t.same([...heights].sort((a, b) => b - a), heights, 'largest first')
    const low = p.variants.find((v: any) => v.resolution.height === 240)
    t.ok(low && low.bandwidth < 450_000, `a low rung for 2G (${low?.bandwidth} bit/s with audio)`)
  })

  t.test('segment N starts at the same media time in every rendition', async (t) => {
    const names = [...p.variants.map((v: any) => v.uri.split('/')[0]), 'audio']
    const lists = await waitFor(async () => {
      const texts = await Promise.all(names.map(async (n) => (await get(`${base}/${n}/index.m3u8`)).text))
      const sets = texts.map((x) => new Set([...x.matchAll(/^(\d+)\.m4s$/gm)].map((m) => Number(m[1]))))
      const common = [...sets[0]!].filter((msn) => sets.every((s) => s.has(msn)))
      return common.length >= 3 ? common : undefined
    }, 20_000, 'three segments common to every rendition')
    for (const msn of lists.slice(-3)) {
      const times = await Promise.all(names.map(async (n) => firstSampleTime(await initOf(n), (await get(`${base}/${n}/${msn}.m4s`)).body).seconds))
      const video = times.slice(0, -1)
      const spread = Math.max(...video) - Math.min(...video)
      t.ok(spread <= 1 / 30 + 1e-6, `segment ${msn}: video renditions start within one frame (${times.map((x) => x.toFixed(3)).join(', ')})`)
      t.ok(Math.abs(times.at(-1)! - video[0]!) <= 1024 / 48000 + 1 / 30, `segment ${msn}: audio starts within a frame of the video`)
    }
  })

  t.test('the renditions\' published edges stay within one part of each other (publish gate)', async (t) => {
    const stores = [...o.origin.directory.get('lad')!.renditions.values()]
    const edgeOf = (s: (typeof stores)[number]): number => {
      const seg = [...s.segments].reverse().find((x) => x.parts.length > 0)!
      return seg.startTime + seg.parts.reduce((a, p) => a + p.duration, 0)
    }
    const partTarget = stores[0]!.timing.partTarget
    let samples = 0
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 97))
      // A rendition marked lagging is no longer waited for: it may trail by design.
      const waited = stores.filter((s) => !s.lagging)
      const edges = waited.map(edgeOf)
      const spread = Math.max(...edges) - Math.min(...edges)
      // One part, plus the audio's own start offset of up to a frame.
      if (spread > partTarget + 0.05) t.fail(`sample ${i}: edges ${waited.map((s, k) => `${s.name} ${edges[k]!.toFixed(3)}`).join(', ')}`)
      samples++
    }
    t.equal(samples, 20, 'twenty samples of every rendition\'s edge, none more than a part apart')
  })

  t.test('an encoder killed by pid: the others keep going, it is back within 3 s', async (t) => {
    const pipeline = o.origin.sessions.get('lad')!
    const victim = p.variants.map((v: any) => v.uri.split('/')[0]).find((n: string) => n !== 'source' && pipeline.workerPids()[n])!
    const other = p.variants.map((v: any) => v.uri.split('/')[0]).find((n: string) => n !== 'source' && n !== victim)!
    const stream = o.origin.directory.get('lad')!
    const otherStore = stream.renditions.get(other)!
    const victimStore = stream.renditions.get(victim)!
    const pid = pipeline.workerPids()[victim]!
    const otherParts: number[] = []
    const unsubscribe = otherStore.onChange(() => { otherParts.push(Date.now()) })
    const killedAt = Date.now()
    process.kill(pid, 'SIGKILL')
    // Back means: a new process, and a part in the segment that begins its new epoch.
    const back = await waitFor(() => {
      const newPid = pipeline.workerPids()[victim]
      const seg = [...victimStore.segments].reverse().find((s) => s.discontinuity && s.parts.length > 0)
      return newPid && newPid !== pid && seg && seg.parts[0]!.completedAt > killedAt ? seg.parts[0]!.completedAt : undefined
    }, 8000, `${victim} to produce again`)
    // Watch the other rendition for a while longer than the outage.
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + 3000 - Date.now())))
    unsubscribe()
    t.ok(back - killedAt <= 3000, `${victim} produced a new part ${back - killedAt} ms after the kill`)
    const gaps = otherParts.slice(1).map((x, i) => x - otherParts[i]!)
    t.ok(otherParts.length >= 4, `${other} kept producing (${otherParts.length} changes in 3 s)`)
    t.ok(Math.max(...gaps) < 1000, `${other} never paused (longest pause ${Math.max(...gaps)} ms)`)
    const text = (await get(`${base}/${victim}/index.m3u8`)).text
    t.match(text, /^#EXT-X-DISCONTINUITY$/m, 'the restart is a discontinuity in its playlist')
    // On the grid: the restarted encoder's first segment starts (tfdt) where the others' does.
    const resumed = [...victimStore.segments].find((s) => s.discontinuity && !s.gap && s.parts.length > 0 && s.parts[0]!.completedAt > killedAt)!
    await waitFor(() => resumed.complete && otherStore.segment(resumed.msn)?.complete, 8000, 'the resumed segment, complete in both')
    const victimInit = (await get(`${base}/${victim}/init.mp4?v=${resumed.init.hash}`)).body
    const tv = firstSampleTime(victimInit, (await get(`${base}/${victim}/${resumed.msn}.m4s`)).body).seconds
    const to = firstSampleTime(await initOf(other), (await get(`${base}/${other}/${resumed.msn}.m4s`)).body).seconds
    t.ok(Math.abs(tv - to) <= 1 / 30 + 1e-6, `segment ${resumed.msn}: restarted ${victim} starts at ${tv.toFixed(3)} s, ${other} at ${to.toFixed(3)} s`)
    parseStrict(text)
    const msns = [...text.matchAll(/^(\d+)\.m4s$/gm)].map((m) => Number(m[1]))
    t.same(msns, msns.map((_, i) => msns[0]! + i), 'its media sequence stays contiguous (holes are GAP segments)')
  })
})
