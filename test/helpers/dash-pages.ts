/**
 * Player pages for DASH end-to-end tests and the latency bench: dash.js and
 * shaka-player, each from node_modules (never a CDN), reporting through the
 * shared sampler (playback.ts SAMPLER_SCRIPT) with the player's own latency.
 */
import { createRequire } from 'node:module'
import { SAMPLER_SCRIPT, playerPageStart } from './playback.js'

const req = createRequire(import.meta.url)
/** dash.js's modern UMD build (what the package's `require` condition resolves to). */
export const DASHJS_JS = req.resolve('dashjs')
/** shaka's compiled build without UI. */
export const SHAKA_JS = req.resolve('shaka-player/dist/shaka-player.compiled.js')

/**
 * dash.js in low-latency mode: dash.js 5 switches to chunked (fetch) loading and the
 * low-latency rules when the MPD says availabilityTimeComplete="false", and takes its
 * target latency from ServiceDescription; live catch-up is turned on explicitly.
 */
export function dashjsPage(mpdUrl: string): string {
  return `${playerPageStart('streamd e2e (dash.js)', `/dash.all.min.js`)}
const video = document.getElementById('v')
const player = dashjs.MediaPlayer().create()
window.player = player
S.playerVersion = player.getVersion()
window.__dash = { stalls: 0, lowLatency: null, target: null }
player.updateSettings({ streaming: { liveCatchup: { enabled: true }, buffer: { syntheticStallEvents: { enabled: true } } } })
player.on(dashjs.MediaPlayer.events.ERROR, (e) => {
  const err = e.error || {}
  S.errors.push({ at: Date.now(), type: 'error', details: 'code ' + err.code, fatal: true, info: String(err.message || '').slice(0, 400) })
})
player.on(dashjs.MediaPlayer.events.PLAYBACK_STALLED, () => { window.__dash.stalls++ })
window.__e2eStart(video, () => {
  const latency = player.getCurrentLiveLatency()
  return { latency: latency, targetLatency: player.getTargetLiveDelay ? player.getTargetLiveDelay() : null, edge: player.getDVRWindowSize ? null : null }
})
player.initialize(video, ${JSON.stringify(mpdUrl)}, true)
player.on(dashjs.MediaPlayer.events.STREAM_INITIALIZED, () => {
  window.__dash.lowLatency = player.getLowLatencyModeEnabled ? player.getLowLatencyModeEnabled() : null
})
</script>
</body></html>
`
}

/** shaka-player in lowLatencyMode on the MPD. */
export function shakaDashPage(mpdUrl: string): string {
  return `${playerPageStart('streamd e2e (shaka DASH)', `/shaka-player.compiled.js`)}
S.playerVersion = shaka.Player.version
shaka.polyfill.installAll()
const video = document.getElementById('v')
const player = new shaka.Player()
window.player = player
player.addEventListener('error', (ev) => {
  const e = ev.detail || {}
  S.errors.push({ at: Date.now(), type: 'category ' + e.category, details: 'code ' + e.code, fatal: e.severity === 2, info: JSON.stringify(e.data || []).slice(0, 400) })
})
window.__e2eStart(video, () => {
  if (!player.isLive() || !video.currentTime) return {}
  const date = player.getPlayheadTimeAsDate()
  return { latency: player.getStats().liveLatency, pdtLatency: date ? (Date.now() - date.getTime()) / 1000 : null }
})
;(async () => {
  await player.attach(video)
  player.configure({ streaming: { lowLatencyMode: true, stallEnabled: true } })
  await player.load(${JSON.stringify(mpdUrl)})
  await video.play().catch(() => {})
})().catch((e) => {
  S.errors.push({ at: Date.now(), type: 'load', details: 'code ' + (e && e.code), fatal: true, info: String((e && e.stack) || e).slice(0, 1500) })
})
</script>
</body></html>
`
}
