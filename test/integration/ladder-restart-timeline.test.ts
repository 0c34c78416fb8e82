/**
 * A ladder's audio worker, its copied top rung and its decoder, each killed by pid,
 * come back on the session's timeline: the first segment after the restart starts (tfdt) where
 * the encoded rungs' segment of the same number starts, so a player switching
 * renditions, or DASH's shared timeline, never sees the restarted one jump.
 * (A single encoder's restart is checked in ladder.test.ts.)
 */
import t from 'tap'
import { get, waitFor } from '../helpers/origin.js'
import { startLadderPublish } from '../helpers/ladder-publish.js'
import { parseStrict } from '../helpers/playlists.js'
import { model } from '../helpers/conformance.js'
import { firstSampleTime } from '../helpers/mp4-fixtures.js'

t.test('restarted audio, copy and decoder processes resume on the session timeline', async (t) => {
  const { o, base } = await startLadderPublish(t, 'rst')
  const stream = await waitFor(() => o.origin.directory.get('rst'), 30_000, 'the stream')
  await waitFor(() => stream.renditions.size >= 3 && [...stream.renditions.values()]
    .every((r) => r.segments.filter((s) => s.complete).length >= 2), 40_000, 'two segments in every rendition')
  const pipeline = o.origin.sessions.get('rst')!
  const encoded = [...stream.renditions.keys()].find((n) => n !== 'source' && n !== 'audio')!
  t.ok(encoded, `an encoded rung: ${encoded}`)
  // Each kill is checked on a rendition it stops, against one it does not: the decoder
  // feeds every encoded rung, so those are checked against the copied one.
  const cases = [
    { kill: 'audio', victim: 'audio', reference: encoded },
    { kill: 'source', victim: 'source', reference: encoded },
    { kill: 'decoder', victim: encoded, reference: 'source' },
  ]
  for (const { kill, victim, reference } of cases) {
    const store = stream.renditions.get(victim)!
    const refStore = stream.renditions.get(reference)!
    const pid = pipeline.workerPids()[kill]
    t.ok(pid, `${kill} has a process (${pid})`)
    const killedAt = Date.now()
    process.kill(pid!, 'SIGKILL')
    const resumed = await waitFor(() => {
      const now = pipeline.workerPids()[kill]
      const seg = [...store.segments].reverse().find((s) => s.discontinuity && !s.gap && s.parts.length > 0)
      return now && now !== pid && seg && seg.parts[0]!.completedAt > killedAt ? seg : undefined
    }, 10_000, `${victim} to produce again after ${kill} was killed`)
    t.ok(resumed.parts[0]!.completedAt - killedAt <= 6000, `${kill} killed: ${victim} has media again ${resumed.parts[0]!.completedAt - killedAt} ms later`)
    await waitFor(() => resumed.complete && refStore.segment(resumed.msn)?.complete, 10_000, `segment ${resumed.msn} complete in both`)
    const refInit = (await get(`${base}/${reference}/init.mp4`)).body
    const init = (await get(`${base}/${victim}/init.mp4?v=${resumed.init.hash}`)).body
    const got = firstSampleTime(init, (await get(`${base}/${victim}/${resumed.msn}.m4s`)).body)
    const want = firstSampleTime(refInit, (await get(`${base}/${reference}/${resumed.msn}.m4s`)).body)
    // A video frame; audio may begin up to one AAC frame (1024 samples) either side of it.
    const slack = 1 / 30 + (victim === 'audio' ? 1024 / got.timescale : 0) + 1e-6
    t.ok(Math.abs(got.seconds - want.seconds) <= slack,
      `segment ${resumed.msn}: restarted ${victim} starts at ${got.seconds.toFixed(3)} s, ${reference} at ${want.seconds.toFixed(3)} s`)
    const text = (await get(`${base}/${victim}/index.m3u8`)).text
    parseStrict(text)
    t.match(text, /^#EXT-X-DISCONTINUITY$/m, `${victim}: the restart is a discontinuity`)
    const msns = [...text.matchAll(/^(\d+)\.m4s$/gm)].map((m) => Number(m[1]))
    t.same(msns, msns.map((_, i) => msns[0]! + i), `${victim}: its media sequence stays contiguous`)
    // Dated on the session's clock: the same PROGRAM-DATE-TIME as the reference's segment.
    const pdtOf = async (name: string): Promise<number> =>
      Date.parse(model((await get(`${base}/${name}/index.m3u8`)).text).segments.find((s) => s.msn === resumed.msn)!.pdt!)
    const [vp, rp] = [await pdtOf(victim), await pdtOf(reference)]
    t.ok(Math.abs(vp - rp) <= slack * 1000, `segment ${resumed.msn}: dated ${new Date(vp).toISOString()} in ${victim}, ${new Date(rp).toISOString()} in ${reference}`)
  }
})
