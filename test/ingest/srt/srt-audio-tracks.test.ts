/**
 * Issue 4 / issue 5: one video and several AAC tracks over SRT become one audio
 * rendition per track — EXT-X-MEDIA with LANGUAGE and NAME, one DASH
 * AdaptationSet per track with a Label and a Role — and each rendition plays its own track (told
 * apart by the frequency of its test tone). Ladder off: the video is copied
 * beside the audio renditions; ladder on: the same audio beside the rungs.
 */
import t from 'tap'
import { tempDirSync } from '../../helpers/temp-dir.js'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startOrigin, get, waitFor } from '../../helpers/origin.js'
import { FFMPEG } from '../../helpers/ffmpeg.js'
import { parseM3u8, parseStrict } from '../../helpers/playlists.js'
import { srtUrl } from '../../helpers/srt.js'
import { toneHz } from '../../helpers/tone.js'
import { kid, kids, parseXml } from '../../helpers/dash.js'

/** Per audio AdaptationSet of the stream's MPD: lang, Label, Role and its Representations. */
async function audioSets(base: string): Promise<Array<{ lang: string | null; label: string[]; role: string[]; reps: string[] }>> {
  const period = kid(parseXml((await get(`${base}/manifest.mpd`)).text), 'Period')
  return kids(period, 'AdaptationSet').filter((s) => s.getAttribute('contentType') === 'audio').map((s) => ({
    lang: s.hasAttribute('lang') ? s.getAttribute('lang') : null,
    label: kids(s, 'Label').map((l) => l.textContent ?? ''),
    role: kids(s, 'Role').map((r) => `${r.getAttribute('schemeIdUri')}#${r.getAttribute('value')}`),
    reps: kids(s, 'Representation').map((r) => r.getAttribute('id') ?? ''),
  }))
}

const ROLE = 'urn:mpeg:dash:role:2011'

/** FFmpeg publishing 320x240 H.264 and one AAC track per entry (its tone and language) over SRT. */
function publish(url: string, tracks: Array<{ hz: number; language?: string }>): { stop: () => Promise<void> } {
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30',
    ...tracks.flatMap((x) => ['-f', 'lavfi', '-i', `sine=frequency=${x.hz}:sample_rate=48000`]),
    '-map', '0:v', ...tracks.flatMap((_, i) => ['-map', `${i + 1}:a`]),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-b:v', '400k',
    '-c:a', 'aac', '-b:a', '64k', '-ac', '2',
    ...tracks.flatMap((x, i) => (x.language ? [`-metadata:s:a:${i}`, `language=${x.language}`] : [])),
    '-f', 'mpegts', url]
  const child = spawn(FFMPEG, args, { stdio: ['ignore', 'ignore', 'ignore'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return { stop: async () => { if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL'); await exited } }
}

/** Frequency heard in a rendition's second segment (init + segment decoded). */
async function heard(base: string, rendition: string): Promise<number> {
  const { manifest } = parseM3u8((await get(`${base}/${rendition}/index.m3u8`)).text)
  const seg = manifest.segments.filter((s: any) => s.uri)[1]
  const bytes = Buffer.concat([(await get(`${base}/${rendition}/${seg.map.uri}`)).body, (await get(`${base}/${rendition}/${seg.uri}`)).body])
  const file = join(tempDirSync(t, 'streamd-tracks-'), `${rendition}.mp4`)
  writeFileSync(file, bytes)
  return toneHz(file)
}

async function live(o: Awaited<ReturnType<typeof startOrigin>>, name: string, renditions: number): Promise<void> {
  const stream = await waitFor(() => o.origin.directory.get(name), 30_000, 'the stream')
  await waitFor(() => stream.renditions.size >= renditions && [...stream.renditions.values()].every((r) => r.segments.filter((s) => s.complete).length >= 2),
    60_000, `two segments in ${renditions} renditions`)
}

t.test('ladder off: three languages, three audio renditions beside the copied video', async (t) => {
  const o = await startOrigin(t)
  const tracks = [{ hz: 300, language: 'eng' }, { hz: 1200, language: 'hin' }, { hz: 3000, language: 'tam' }]
  const pub = publish(srtUrl(o.srtPort, 'publish:cric:KEY'), tracks)
  t.teardown(() => pub.stop())
  await live(o, 'cric', 4)
  const base = `${o.http}/live/cric`
  t.same([...o.origin.directory.get('cric')!.renditions.keys()], ['source', 'audio-eng', 'audio-hin', 'audio-tam'])
  const mv = (await get(`${base}/index.m3u8`)).text
  const p = parseStrict(mv)
  const media = p.variants[0].audio.map((m: any) => [m.name, m.language, m.isDefault, m.autoselect, m.uri, m.groupId])
  t.same(media, [
    ['eng', 'en', true, true, 'audio-eng/index.m3u8', 'audio'],
    ['hin', 'hi', false, true, 'audio-hin/index.m3u8', 'audio'],
    ['tam', 'ta', false, true, 'audio-tam/index.m3u8', 'audio'],
  ])
  t.match(mv, /CHANNELS="2"/)
  t.equal(p.variants.length, 1, 'one video variant')
  t.match(p.variants[0].codecs, /^avc1\.[0-9a-f]+,mp4a\.40\.2$/, 'the variant names the audio codec of its group')
  for (const [i, x] of tracks.entries()) {
    const hz = await heard(base, ['audio-eng', 'audio-hin', 'audio-tam'][i]!)
    t.ok(Math.abs(hz - x.hz) < x.hz * 0.05, `${x.language}: heard ${hz.toFixed(0)} Hz, sent ${x.hz} Hz`)
  }
  t.same(await audioSets(base), [
    { lang: 'en', label: ['eng'], role: [`${ROLE}#main`], reps: ['audio-eng'] },
    { lang: 'hi', label: ['hin'], role: [`${ROLE}#alternate`], reps: ['audio-hin'] },
    { lang: 'ta', label: ['tam'], role: [`${ROLE}#alternate`], reps: ['audio-tam'] },
  ], 'one audio AdaptationSet per track: lang, Label, main then alternate')
})

t.test('ladder on: a shared language and a track without one still get unique renditions', async (t) => {
  const o = await startOrigin(t, { ladder: { enabled: true } })
  const tracks = [{ hz: 500, language: 'eng' }, { hz: 2000, language: 'eng' }, { hz: 4000 }]
  const pub = publish(srtUrl(o.srtPort, 'publish:dup:KEY'), tracks)
  t.teardown(() => pub.stop())
  const stream = await waitFor(() => o.origin.directory.get('dup'), 30_000, 'the stream')
  await waitFor(() => stream.renditions.has('audio-und'), 30_000, 'audio renditions')
  await live(o, 'dup', stream.renditions.size)
  const names = [...stream.renditions.keys()]
  t.same(names.filter((n) => n.startsWith('audio')), ['audio-eng', 'audio-eng-2', 'audio-und'])
  t.ok(names.some((n) => /^\d+p$/.test(n)), `an encoded rung beside them: ${names.join(', ')}`)
  const base = `${o.http}/live/dup`
  const p = parseStrict((await get(`${base}/index.m3u8`)).text)
  const media = p.variants[0].audio.map((m: any) => [m.name, m.language ?? null])
  t.same(media, [['eng', 'en'], ['audio-eng-2', 'en'], ['audio-und', null]], 'NAME unique within the group; no LANGUAGE for the unnamed track')
  t.ok(p.variants.every((v: any) => v.audio.length === 3), 'every video variant shares the group')
  t.same(await audioSets(base), [
    { lang: 'en', label: ['eng'], role: [`${ROLE}#main`], reps: ['audio-eng'] },
    { lang: 'en', label: ['audio-eng-2'], role: [`${ROLE}#alternate`], reps: ['audio-eng-2'] },
    { lang: null, label: ['audio-und'], role: [`${ROLE}#alternate`], reps: ['audio-und'] },
  ], 'DASH: two English tracks are two AdaptationSets (not bitrate alternatives), told apart by Label')
  // Audio parts on the 2 s grid are ~0.4 s and INDEPENDENT=YES: valid per rfc8216bis 4.4.4.9 (helpers/part-floor.ts).
  for (const n of ['audio-eng', 'audio-eng-2', 'audio-und']) {
    const text = (await get(`${base}/${n}/index.m3u8`)).text
    t.doesNotThrow(() => parseStrict(text), `${n}: the media playlist passes the strict parser`)
  }
  const hz = await heard(base, 'audio-und')
  t.ok(Math.abs(hz - 4000) < 200, `the unnamed track plays its own tone: ${hz.toFixed(0)} Hz`)
})
