/**
 * Segment numbers stay within 32 bits: every number a playlist or the MPD names
 * (media sequence, segment and part URIs, preload hints, rendition reports,
 * startNumber) is below 2^31 and is the segment's grid slot counted from
 * 2020-01-01; and FFmpeg, which keeps such numbers in 32-bit integers, plays the
 * stream as a DASH and as an HLS client without one 404 reaching the origin.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { get } from '../helpers/origin.js'
import { FFMPEG } from '../helpers/ffmpeg.js'
import { metricsText } from '../helpers/conformance.js'
import { DASH_SEGMENT, all, fetchMpd, startDashLive } from '../helpers/dash.js'
import { MAX_SAFE_NUMBER, gridNumber } from '../../src/core/numbering.js'

/** Requests the origin answered 404, over all routes. */
function notFound(metrics: string): number {
  return metrics.split('\n').filter((l) => l.startsWith('streamd_http_requests_total{') && l.includes('status="404"'))
    .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
}

/** Every integer a media playlist uses as a segment number. */
function playlistNumbers(text: string): number[] {
  const out: number[] = []
  for (const m of text.matchAll(/#EXT-X-MEDIA-SEQUENCE:(\d+)/g)) out.push(Number(m[1]))
  for (const m of text.matchAll(/LAST-MSN=(\d+)/g)) out.push(Number(m[1]))
  for (const m of text.matchAll(/(?:^|\/|")(\d+)(?:\.\d+)?\.m4s/gm)) out.push(Number(m[1]))
  return out
}

/** Run FFmpeg as a client of `url` for `seconds` of media; its exit code, media time reached and stderr. */
function play(url: string, seconds: number): Promise<{ code: number | null; reached: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(FFMPEG, ['-hide_banner', '-nostdin', '-loglevel', 'warning', '-i', url, '-t', String(seconds), '-f', 'null', '-progress', 'pipe:1', '-'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-4000) })
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-8000) })
    // Bounded: ten seconds of media come in well under a minute, or the test fails.
    const timer = setTimeout(() => { if (child.pid) process.kill(child.pid, 'SIGKILL') }, 60_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      const us = [...out.matchAll(/out_time_us=(\d+)/g)].at(-1)?.[1]
      resolve({ code, reached: us === undefined ? 0 : Number(us) / 1e6, stderr })
    })
  })
}

t.test('numbers below 2^31 on the 2020 grid; FFmpeg plays DASH and HLS without a 404', async (t) => {
  const f = await startDashLive(t, 'numbers', { segments: 3 })

  const mpd = await fetchMpd(f.mpdUrl)
  const starts = all(mpd.root, 'SegmentTemplate').map((e) => Number(e.getAttribute('startNumber')))
  t.ok(starts.length > 0, 'the MPD has SegmentTemplates')
  for (const n of starts) t.ok(Number.isInteger(n) && n >= 0 && n <= MAX_SAFE_NUMBER, `startNumber ${n} is an xs:unsignedInt below 2^31`)

  for (const rendition of ['source', 'audio']) {
    const text = (await get(`${f.base}/${rendition}/index.m3u8`)).text
    const numbers = playlistNumbers(text)
    t.ok(numbers.length > 3, `${rendition}: numbers found`)
    t.ok(numbers.every((n) => n <= MAX_SAFE_NUMBER), `${rendition}: all ${numbers.length} numbers below 2^31 (max ${Math.max(...numbers)})`)
    // A segment's number is its start date's slot on the grid (the date of media time zero
    // settles within the first second, so a segment may sit one slot off).
    const lines = text.split('\n')
    let checked = 0
    for (let i = 0; i < lines.length; i++) {
      const m = /^(\d+)\.m4s$/.exec(lines[i]!)
      if (!m) continue
      const pdt = lines.slice(0, i).reverse().find((l) => l.startsWith('#EXT-X-PROGRAM-DATE-TIME:'))!
      const slot = gridNumber(Date.parse(pdt.slice(25)), DASH_SEGMENT)
      t.ok(Math.abs(Number(m[1]) - slot) <= 1, `${rendition}: segment ${m[1]} dated ${pdt.slice(25)} is in grid slot ${slot} ±1`)
      checked++
    }
    t.ok(checked >= 2, `${rendition}: ${checked} segments checked against their dates`)
  }

  const before = notFound(await metricsText(f.o))
  const dash = await play(f.mpdUrl, 10)
  t.equal(dash.code, 0, `FFmpeg (DASH) exits 0${dash.code === 0 ? '' : `: ${dash.stderr.slice(-300)}`}`)
  t.ok(dash.reached >= 9.5, `FFmpeg (DASH) decoded ${dash.reached.toFixed(1)} s`)
  const afterDash = notFound(await metricsText(f.o))
  t.equal(afterDash - before, 0, `no 404 reached the origin while FFmpeg played the MPD (${afterDash - before})`)

  const hls = await play(`${f.base}/index.m3u8`, 10)
  t.equal(hls.code, 0, `FFmpeg (HLS) exits 0${hls.code === 0 ? '' : `: ${hls.stderr.slice(-300)}`}`)
  t.ok(hls.reached >= 9.5, `FFmpeg (HLS) decoded ${hls.reached.toFixed(1)} s`)
  t.equal(notFound(await metricsText(f.o)) - afterDash, 0, 'no 404 reached the origin while FFmpeg played the HLS playlist')
})
