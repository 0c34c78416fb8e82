/// <reference lib="dom" />
/**
 * End to end content steering: an origin steers hls.js (in Chromium, the `/`
 * page's settings) across two shield processes, its pathways. The player plays
 * via shield A; A's process is killed by pid; hls.js moves to shield B (the
 * steering manifest puts the dead pathway last, and hls.js's own pathway
 * penalty does the same on errors) and keeps playing without a stall. Which
 * pathway served the media before and after is read from the page's requests.
 */
import t from 'tap'
import { get, startOrigin, waitFor } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'
import { startShieldProcess } from '../helpers/shield-process.js'
import { freePort } from '../helpers/ports.js'
import { launchChromium } from '../helpers/browser.js'
import { openPlayerPage, servePage, watchPlayback } from '../helpers/playback.js'
import { assertSmoothPlayback } from '../helpers/playback-asserts.js'
import { hlsjsPageEnd, hlsjsPageStart } from '../helpers/hlsjs-pages.js'
import { watchLoopFreezes } from '../helpers/loop-freezes.js'
import { takeBrowserTurn } from '../helpers/browser-turn.js'

// Browser tests take turns (test/helpers/browser-turn.ts).
await takeBrowserTurn(t)

const WATCH_SECONDS = 24
/** Seconds of playback on A before A is killed. */
const KILL_AFTER_S = 8
/** After the kill, requests to A may still start for this long (a TTL, a probe, hls.js's retry). */
const GRACE_MS = 5000

function playerPage(origin: string, src: string): string {
  return `${hlsjsPageStart('streamd steering e2e', origin)}
hls.on(Hls.Events.MANIFEST_PARSED, () => { video.play().catch(() => {}) })
window.__e2eStart(video, () => ({ latency: Number.isFinite(hls.latency) && hls.latency > 0 ? hls.latency : null, pdtLatency: null, targetLatency: hls.targetLatency }))
${hlsjsPageEnd(src)}`
}

t.test('hls.js moves from a killed pathway to the other one without a stall', async (t) => {
  const freezes = watchLoopFreezes(t)
  const port = await freePort()
  const upstream = `http://127.0.0.1:${port}`
  const [a, b] = await Promise.all([startShieldProcess(t, [upstream]), startShieldProcess(t, [upstream])])
  const origin = await startOrigin(t, {
    http: { host: '127.0.0.1', port },
    steering: { pathways: [{ id: 'shield-a', url: a.url }, { id: 'shield-b', url: b.url }], ttlSeconds: 1, probeIntervalMs: 300, probeTimeoutMs: 500, recoverMs: 1000 },
  })
  const publisher = startPublisher(`${origin.rtmp}/st`, { width: 640, height: 360, fps: 30, gop: 30 })
  t.teardown(() => publisher.stop())
  const src = `${origin.http}/live/st/index.m3u8`
  const [browser] = await Promise.all([
    launchChromium(t),
    waitFor(async () => {
      const r = await get(`${b.url}/live/st/source/index.m3u8`).catch(() => undefined)
      return r?.status === 200 && (r.text.match(/^#EXTINF/gm)?.length ?? 0) >= 2
    }, 30_000, 'two segments through the shields'),
  ])
  // The shields started before the origin: wait until both pathways have probed healthy, so the player starts on A.
  await waitFor(async () => /^\{"VERSION":1,.*"PATHWAY-PRIORITY":\["shield-a","shield-b"\]/.test((await get(`${origin.http}/live/st/steering.json`)).text) &&
    /pathway="shield-a"\} 1$/m.test((await get(`${origin.http}/metrics`)).text) && /pathway="shield-b"\} 1$/m.test((await get(`${origin.http}/metrics`)).text), 10_000, 'both pathways healthy')
  const site = await servePage(t, playerPage(origin.http, src))
  const session = await openPlayerPage(browser, site.url)
  const watching = watchPlayback(session, WATCH_SECONDS)
  const firstPlayingAt = await waitFor(() => session.page.evaluate(() => (window as unknown as { __e2e: { firstPlayingAt?: number } }).__e2e.firstPlayingAt ?? undefined), 30_000, 'playing')
  await new Promise((r) => setTimeout(r, Math.max(0, firstPlayingAt + KILL_AFTER_S * 1000 - Date.now())))
  const killedAt = Date.now()
  process.kill(a.pid, 'SIGKILL')
  const { s } = await watching
  const manifest = JSON.parse((await get(`${origin.http}/live/st/steering.json`)).text)
  t.same(manifest['PATHWAY-PRIORITY'], ['shield-b', 'shield-a'], 'the steering manifest puts the killed pathway last')
  await session.page.close()

  for (const e of s.errors) t.comment(`hls.js ERROR ${e.fatal ? 'FATAL ' : ''}${e.type}/${e.details} at +${e.at - killedAt} ms from the kill ${e.info}`)
  t.same(s.errors.filter((e) => e.fatal).map((e) => `${e.type}/${e.details}`), [], 'no fatal hls.js error')
  assertSmoothPlayback(t, s, firstPlayingAt, { minWallSeconds: WATCH_SECONDS - 2, freezes })

  const media = session.requests.requests.filter((r) => /\/live\/st\/[^/]+\/[^/]+\.(m4s|m3u8|mp4)/.test(r.url))
  const on = (base: string) => (r: { url: string }) => r.url.startsWith(`${base}/`)
  const before = media.filter((r) => r.startedAt < killedAt)
  const after = media.filter((r) => r.startedAt >= killedAt + GRACE_MS)
  t.comment(`before the kill: ${before.filter(on(a.url)).length} requests to A, ${before.filter(on(b.url)).length} to B; from ${GRACE_MS} ms after: ${after.filter(on(a.url)).length} to A, ${after.filter(on(b.url)).length} to B`)
  const lastToA = media.filter(on(a.url)).at(-1)
  if (lastToA) t.comment(`last request to A started ${lastToA.startedAt - killedAt} ms after the kill`)
  const firstToB = media.find(on(b.url))
  if (firstToB) t.comment(`first request to B started ${firstToB.startedAt - killedAt} ms after the kill`)
  t.ok(before.filter(on(a.url)).length >= 10, 'before the kill, A served the media')
  t.same(before.filter(on(b.url)).map((r) => r.url), [], 'and B none')
  t.ok(after.filter(on(b.url)).length >= 10, 'after the kill, B serves the media')
  t.same(after.filter(on(a.url)).map((r) => r.url), [], 'and nothing goes to A')
  t.ok(after.filter(on(b.url)).every((r) => r.status === undefined || r.status === 200), 'B answers 200')
  const steering = session.requests.matching(/\/live\/st\/steering\.json\?/)
  t.ok(steering.length >= 3, `hls.js reloaded the steering manifest (${steering.length} times)`)
  t.ok(steering.every((r) => r.url.startsWith(`${origin.http}/`)), 'from the origin')
})
