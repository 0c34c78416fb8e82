/**
 * A publisher sending video browsers cannot decode (libx264 High 4:4:4
 * Predictive; 10-bit High 10): the log says so once, `/api/v1/streams` shows it
 * in the stream's `warnings`, and with the ladder on the multivariant playlist
 * offers only the encoded 8-bit 4:2:0 rungs, not the source.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { startOrigin, get, waitFor } from '../helpers/origin.js'
import { FFMPEG } from '../helpers/ffmpeg.js'
import { captureLogger } from '../helpers/recording-handler.js'

/** Publish a 320x180 test pattern with these pixel format and profile; killed at teardown. */
function publish(t: Test, url: string, pixFmt: string, profile: string): void {
  const child = spawn(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', pixFmt, '-profile:v', profile, '-g', '60', '-keyint_min', '60',
    '-c:a', 'aac', '-b:a', '96k', '-f', 'flv', url], { stdio: 'ignore' })
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL')
    await gone
  })
}

async function streamJson(http: string, name: string): Promise<{ warnings: string[]; renditions: Array<{ name: string }> }> {
  return JSON.parse((await get(`${http}/api/v1/streams/${name}`)).text)
}

t.test('ladder on: High 4:4:4 is warned about and only encoded rungs are offered', async (t) => {
  const log = captureLogger()
  const o = await startOrigin(t, { ladder: { enabled: true, maxRungs: 2 } }, { logger: log.logger })
  publish(t, `${o.rtmp}/pro`, 'yuv444p', 'high444')
  const mv = await waitFor(async () => {
    const r = await get(`${o.http}/live/pro/index.m3u8`)
    return r.status === 200 && /#EXT-X-STREAM-INF/.test(r.text) ? r.text : undefined
  }, 40_000, 'the multivariant playlist')
  t.notMatch(mv, /^source\//m, 'the undecodable source is not a variant')
  const codecs = [...mv.matchAll(/CODECS="([^"]+)"/g)].map((m) => m[1]!)
  t.ok(codecs.length > 0, `variants: ${codecs.join(' | ')}`)
  for (const c of codecs) t.match(c, /^avc1\.(42|4d|64)[0-9a-f]{4},/i, `${c}: Baseline, Main or High (8-bit 4:2:0)`)
  const s = await streamJson(o.http, 'pro')
  t.equal(s.warnings.length, 1, 'one warning')
  t.match(s.warnings[0], /High 4:4:4 Predictive.*browsers cannot decode.*encoded H\.264 rungs carry the stream/)
  t.notOk(s.renditions.some((r) => r.name === 'source'), 'no source rendition')
  const warned = log.lines.filter((l) => l.level === 40 && /browsers cannot decode/.test(String(l.msg)))
  t.equal(warned.length, 1, 'logged once per publish')
})

t.test('ladder off: 10-bit High 10 passes through with the warning', async (t) => {
  const o = await startOrigin(t, {})
  publish(t, `${o.rtmp}/ten`, 'yuv420p10le', 'high10')
  const s = await waitFor(async () => {
    const j = await streamJson(o.http, 'ten').catch(() => undefined)
    return j && j.warnings?.length ? j : undefined
  }, 30_000, 'the warning in the API')
  t.match(s.warnings[0], /High 10.*10-bit.*offered as is/)
  t.equal(s.warnings.length, 1)
})

t.test('a decodable source has no warning', async (t) => {
  const o = await startOrigin(t, {})
  publish(t, `${o.rtmp}/plain`, 'yuv420p', 'high')
  await waitFor(async () => (await get(`${o.http}/live/plain/index.m3u8`)).status === 200, 30_000, 'the playlist')
  t.same((await streamJson(o.http, 'plain')).warnings, [])
})
