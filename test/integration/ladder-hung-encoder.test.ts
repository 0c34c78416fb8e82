/**
 * A hung encoder (alive, reading nothing) in a ladder: it holds the shared
 * decoder back for at most its stall limit, is restarted alone, and its hole
 * shows honestly (gaps while the others went on, a discontinuity dated on the
 * grid); the other encoders are never taken for hung themselves
 * (they only waited) and keep their processes.
 */
import t from 'tap'
import { get, waitFor } from '../helpers/origin.js'
import { startLadderPublish } from '../helpers/ladder-publish.js'
import { parseStrict } from '../helpers/playlists.js'

t.test('a frozen encoder is replaced alone; its hole shows honestly', async (t) => {
  const { o, base } = await startLadderPublish(t, 'hung')
  const pipeline = await waitFor(() => o.origin.sessions.get('hung'), 30_000, 'the pipeline')
  const encoded = await waitFor(() => {
    const names = pipeline.currentPlan?.mode === 'ladder' ? pipeline.currentPlan.encoded.map((r) => r.name) : []
    const stream = o.origin.directory.get('hung')
    return names.length >= 2 && names.every((n) => (stream?.renditions.get(n)?.segments.filter((s) => s.complete).length ?? 0) >= 2) ? names : undefined
  }, 40_000, 'two segments in every encoded rung')
  const [victim, ...others] = encoded as [string, ...string[]]
  const pids = pipeline.workerPids()
  const pid = pids[victim]!
  process.kill(pid, 'SIGSTOP')
  t.teardown(() => { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } })
  const stoppedAt = Date.now()
  const replaced = await waitFor(() => {
    const now = pipeline.workerPids()[victim]
    return now && now !== pid ? now : undefined
  }, 10_000, 'a replacement encoder')
  t.pass(`${victim}: ${pid} replaced by ${replaced} after ${Date.now() - stoppedAt} ms`)
  const store = o.origin.directory.get('hung')!.renditions.get(victim)!
  // Back: media again after a discontinuity; then every other rendition three segments on.
  await waitFor(() => [...store.segments].some((s) => s.discontinuity && s.parts.length > 0 && !s.gap), 15_000, `${victim} to produce again`)
  const text = (await get(`${base}/${victim}/index.m3u8`)).text
  parseStrict(text)
  // The hole, honestly: gaps where the others went on before the restart (when it lasted past
  // a part), then a discontinuity whose segment is dated on the grid, as the others' is.
  t.match(text, /^#EXT-X-DISCONTINUITY$/m, 'media resumes after a discontinuity')
  const after = /^#EXT-X-DISCONTINUITY\n(?:#EXT-X-MAP:[^\n]*\n)?#EXT-X-PROGRAM-DATE-TIME:([^\n]+)\n(?:#EXT-X-PART:[^\n]*\n)*(?:#EXTINF:[^\n]*\n(\d+)\.m4s)?/m.exec(text)
  const resumedMsn = after?.[2] ? Number(after[2]) : store.upcomingMsn
  const otherSeg = o.origin.directory.get('hung')!.renditions.get(others[0]!)!.segment(resumedMsn)
  t.ok(after && otherSeg && Math.abs(Date.parse(after[1]!) - otherSeg.pdt) <= 34, `resumed segment ${resumedMsn} dated ${after?.[1]}, as ${others[0]}'s (${otherSeg ? new Date(otherSeg.pdt).toISOString() : '?'})`)
  const msns = [...text.matchAll(/^(\d+)\.m4s$/gm)].map((m) => Number(m[1]))
  t.same(msns, msns.map((_, i) => msns[0]! + i), 'numbers stay contiguous')
  const now = pipeline.workerPids()
  for (const n of others) {
    t.equal(now[n], pids[n], `${n} kept its encoder process (it waited, it was not hung)`)
    const x = (await get(`${base}/${n}/index.m3u8`)).text
    parseStrict(x)
    t.notMatch(x, /^#EXT-X-DISCONTINUITY$|#EXT-X-GAP|GAP=YES/m, `${n} shows no hole`)
  }
})
