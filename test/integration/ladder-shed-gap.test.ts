/**
 * Issue 4, "degrade, never stall": a rung shed for lack of CPU keeps a live
 * playlist that advances in step with the others as EXT-X-GAP segments of
 * GAP=YES parts (rfc8216bis 4.4.4.7, 4.4.4.9), parses strictly, and leaves
 * new multivariant playlists; the other renditions never notice. The shed is
 * forced with a speed threshold no encoder can reach (worker.shedBelowSpeed).
 */
import t from 'tap'
import { get, waitFor } from '../helpers/origin.js'
import { startLadderPublish } from '../helpers/ladder-publish.js'
import { parseStrict } from '../helpers/playlists.js'

const msnsOf = (text: string): number[] => [...text.matchAll(/^(\d+)\.m4s$/gm)].map((m) => Number(m[1]))
/** Segment numbers listed after an EXT-X-GAP tag. */
const gapMsnsOf = (text: string): number[] => [...text.matchAll(/^#EXT-X-GAP\n(?:#EXT-X-PART:[^\n]*\n)*#EXTINF:[^\n]*\n(\d+)\.m4s$/gm)].map((m) => Number(m[1]))

t.test('a shed rung shows gaps in step with the others instead of ending', async (t) => {
  const { o, base } = await startLadderPublish(t, 'shed', { shedBelowSpeed: 50 })
  const stream = await waitFor(() => o.origin.directory.get('shed'), 30_000, 'the stream')
  const shedStore = await waitFor(() => [...stream.renditions.values()].find((r) => r.shed), 45_000, 'a rung to be shed')
  const name = shedStore.name
  t.match(shedStore.shed, /real time/, `${name} shed, with the reason recorded`)
  const api = JSON.parse((await get(`${o.http}/api/v1/streams`)).text)
  t.match(JSON.stringify(api), new RegExp(`"name":"${name}"[^}]*"shed":"shed: `), 'the API says so')

  // The others: one encoded rung that is not shed (later sheds happen 10 s apart) and the top.
  const others = [...stream.renditions.values()].filter((r) => r.name !== name && r.name !== 'audio' && !r.shed).map((r) => r.name).sort((a, b) => Number(b === 'source') - Number(a === 'source'))
  t.ok(others.length >= 1, `others: ${others.join(', ')}`)
  const before = (await get(`${base}/${name}/index.m3u8`)).text
  const lastMediaMsn = Math.max(...msnsOf(before).filter((m) => !gapMsnsOf(before).includes(m)))

  // Three more segments everywhere else, then look at the shed rendition again.
  const otherStart = Object.fromEntries(others.map((n) => [n, stream.renditions.get(n)!.upcomingMsn]))
  await waitFor(() => others.every((n) => stream.renditions.get(n)!.upcomingMsn >= otherStart[n]! + 3), 20_000, 'three more segments in the other renditions')
  // Its own gaps: three complete ones (waited for, as the others' numbers were).
  const text = await waitFor(async () => {
    const x = (await get(`${base}/${name}/index.m3u8`)).text
    return gapMsnsOf(x).length >= 3 ? x : undefined
  }, 10_000, 'three gap segments in the shed rendition')
  parseStrict(text)
  t.notMatch(text, /#EXT-X-ENDLIST/, 'its playlist does not end')
  const msns = msnsOf(text)
  t.same(msns, msns.map((_, i) => msns[0]! + i), 'its media sequence stays contiguous')
  const gaps = gapMsnsOf(text)
  t.ok(gaps.length >= 3, `${gaps.length} gap segments after the shed (${gaps.join(', ')})`)
  t.ok(gaps.every((m) => m > lastMediaMsn), 'every segment after its last media is a gap')
  t.match(text, /^#EXT-X-PART:DURATION=[\d.]+,URI="\d+\.\d+\.m4s",GAP=YES$/m, 'its parts are GAP=YES')
  t.match(text, /^#EXT-X-VERSION:8$/m)

  // In step: the shed rendition's newest segment is the others' (within one that is opening).
  // The first of the others is the copied top rung, never shed (only encoded rungs are).
  const other = others[0]!
  const otherText = (await get(`${base}/${other}/index.m3u8`)).text
  const lastOther = Math.max(...msnsOf(otherText))
  t.ok(Math.abs(Math.max(...msns) - lastOther) <= 1, `newest segment ${Math.max(...msns)} vs ${other}'s ${lastOther}`)
  const report = new RegExp(`#EXT-X-RENDITION-REPORT:URI="\\.\\./${name}/index\\.m3u8",LAST-MSN=(\\d+)`).exec(otherText)
  t.ok(report && Math.abs(Number(report[1]) - lastOther) <= 1, `${other}'s rendition report for ${name} is current (LAST-MSN ${report?.[1]})`)

  // Gap media answers 404; the others' do not have gaps and keep serving.
  t.equal((await get(`${base}/${name}/${gaps[0]}.m4s`)).status, 404, 'a gap segment is 404')
  t.equal((await get(`${base}/${name}/${gaps[0]}.0.m4s`)).status, 404, 'a gap part is 404')
  // A second rung may have been shed meanwhile (10 s after the first): check those still on.
  for (const n of others.filter((x) => !stream.renditions.get(x)!.shed)) {
    const x = (await get(`${base}/${n}/index.m3u8`)).text
    parseStrict(x)
    t.notMatch(x, /#EXT-X-GAP/, `${n} has no gaps`)
    t.equal((await get(`${base}/${n}/${Math.max(...msnsOf(x))}.m4s`)).status, 200, `${n} serves its newest segment`)
  }

  const mv = (await get(`${base}/index.m3u8`)).text
  t.notMatch(mv, new RegExp(`^${name}/index\\.m3u8$`, 'm'), 'a new multivariant playlist no longer offers it')
  t.match(mv, new RegExp(`^${other}/index\\.m3u8$`, 'm'))
  // DASH as well: a dash.js that switches to a Representation whose segments stopped would stall.
  const mpd = await get(`${base}/manifest.mpd`)
  t.equal(mpd.status, 200)
  t.notMatch(mpd.text, new RegExp(`<Representation id="${name}"`), 'a new MPD no longer offers it')
  t.match(mpd.text, new RegExp(`<Representation id="${other}"`), `the MPD still offers ${other}`)
})
