/// <reference lib="dom" />
/**
 * End to end with a source that has B-frames (libx264 -bf 3 without zerolatency, as
 * OBS's x264 and FFmpeg's defaults send it): one ladder origin (the source copied on top,
 * one encoded rung, audio), and in one Chromium hls.js and then dash.js, each held on the
 * copied `source` rendition (where the reordered frames are), each playing 20 s without
 * a stall. Before the segmenter cut at arriving key frames only, hls.js stalled here with
 * bufferStalledError and dash.js met 404s.
 */
import t from 'tap'
import { startOrigin, waitFor, get } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'
import { launchChromium } from '../helpers/browser.js'
import { openPlayerPage, servePage, watchPlayback } from '../helpers/playback.js'
import { assertBlockingReload, assertSmoothPlayback } from '../helpers/playback-asserts.js'
import { hlsjsPageEnd, hlsjsPageStart } from '../helpers/hlsjs-pages.js'
import { DASHJS_JS, dashjsPage } from '../helpers/dash-pages.js'
import { watchLoopFreezes } from '../helpers/loop-freezes.js'
import { takeBrowserTurn } from '../helpers/browser-turn.js'

// Browser tests take turns (test/helpers/browser-turn.ts).
await takeBrowserTurn(t)

const STREAM = 'bf'
const WATCH_SECONDS = 21

/** hls.js with the `/` page's settings, held on the `source` level once the manifest is parsed. */
function hlsPage(origin: string, src: string): string {
  return `${hlsjsPageStart('streamd e2e (hls.js, B-frames)', origin)}
hls.on(Hls.Events.MANIFEST_PARSED, () => {
  hls.currentLevel = hls.levels.findIndex((l) => /(^|\\/)source\\//.test(String(l.url)))
  video.play().catch(() => {})
})
window.__e2eStart(video, () => ({ latency: Number.isFinite(hls.latency) && hls.latency > 0 ? hls.latency : null }))
${hlsjsPageEnd(src)}`
}

/** dash.js as the DASH tests run it, with ABR off so it starts and stays on the highest (the copied) rendition. */
function dashPage(mpd: string): string {
  const page = dashjsPage(mpd)
  const pin = `player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: false }, initialBitrate: { video: 100000 } } } })\n`
  if (!page.includes('player.initialize(')) throw new Error('dashjsPage changed: no player.initialize( to pin the rendition before')
  return page.replace('player.initialize(', `${pin}player.initialize(`)
}

t.test('hls.js and dash.js play a B-frame source\'s copied rendition without stalls', async (t) => {
  const freezes = watchLoopFreezes(t)
  const o = await startOrigin(t, {
    ladder: { enabled: true, rungs: [{ name: 'source', copy: true }, { name: 'low', height: 180, bitrate: 250, preset: 'ultrafast' }] },
  })
  const pub = startPublisher(`${o.rtmp}/${STREAM}`, { width: 640, height: 360, fps: 30, gop: 60, bframes: 3 })
  t.teardown(() => pub.stop())
  const base = `${o.http}/live/${STREAM}`
  const [browser] = await Promise.all([
    launchChromium(t),
    waitFor(async () => {
      for (const r of ['source', 'low', 'audio']) {
        const res = await get(`${base}/${r}/index.m3u8`).catch(() => undefined)
        if (res?.status !== 200 || (res.text.match(/^#EXTINF/gm)?.length ?? 0) < 2) return false
      }
      return true
    }, 40_000, 'two segments in every rendition').catch((err: Error) => { throw new Error(`${err.message}\n${pub.stderrText()}`) }),
  ])
  /** Encoders below real time make any player stall: say so next to a failure. */
  const workerSpeeds = (): string => [...o.origin.directory.get(STREAM)!.renditions.values()]
    .map((r) => `${r.name} ${r.speed === undefined ? '?' : r.speed.toFixed(2)}×`).join(', ')

  await t.test('hls.js (low-latency mode) on the source level', async (t) => {
    const page = await servePage(t, hlsPage(o.http, `${base}/index.m3u8`))
    const session = await openPlayerPage(browser, page.url)
    const { s, firstPlayingAt } = await watchPlayback(session, WATCH_SECONDS)
    await session.page.close()
    t.comment(`hls.js ${s.playerVersion}; worker speeds ${workerSpeeds()}`)
    for (const e of s.errors) t.comment(`hls.js ERROR ${e.fatal ? 'FATAL ' : ''}${e.type}/${e.details} at +${e.at - firstPlayingAt} ms ${e.info}`)
    for (const w of s.warnings) t.comment(`hls.js ${w.level} at +${w.at - firstPlayingAt} ms: ${w.text}`)
    t.same(s.errors.filter((e) => e.fatal).map((e) => `${e.type}/${e.details}`), [], 'no fatal hls.js error')
    t.same(s.errors.filter((e) => e.at >= firstPlayingAt && /stall|NoProgress/i.test(e.details)).map((e) => `${e.details} ${e.info}`), [],
      'no bufferStalledError / bufferAppendNoProgress after playback started')
    assertSmoothPlayback(t, s, firstPlayingAt, { minWallSeconds: 20, freezes })
    assertBlockingReload(t, session.requests, { player: 'hls.js', min: 20 })
    const video = session.requests.matching(/\/(source|low)\/\d+(\.\d+)?\.m4s$/)
    t.ok(video.length >= 8 && video.every((r) => r.url.includes('/source/')), `video loaded from the copied rendition only (${video.length} requests)`)
  })

  await t.test('dash.js (low latency) on the source representation', async (t) => {
    const page = await servePage(t, dashPage(`${base}/manifest.mpd`), { '/dash.all.min.js': DASHJS_JS })
    const session = await openPlayerPage(browser, page.url)
    const { s, firstPlayingAt } = await watchPlayback(session, WATCH_SECONDS)
    const x = await session.page.evaluate(() => (window as unknown as { __dash: { stalls: number; lowLatency: boolean | null } }).__dash)
    await session.page.close()
    t.comment(`dash.js ${s.playerVersion}; low-latency mode ${x.lowLatency}; worker speeds ${workerSpeeds()}`)
    for (const e of s.errors) t.comment(`dash.js ERROR ${e.details} ${e.info}`)
    t.same(s.errors.map((e) => `${e.details} ${e.info}`), [], 'no dash.js error event')
    t.equal(x.stalls, 0, 'dash.js reported no playback stall')
    assertSmoothPlayback(t, s, firstPlayingAt, { minWallSeconds: 20, freezes })
    const video = session.requests.matching(/\/(source|low)\/\d+\.m4s$/)
    t.ok(video.length >= 8 && video.every((r) => r.url.includes('/source/')), `video loaded from the copied rendition only (${video.length} requests)`)
    const refused = video.filter((r) => r.status !== undefined && r.status >= 400)
    t.same(refused.map((r) => `${r.status} ${r.url}`), [], 'no video segment request refused')
  })
})
