// @ts-check
/**
 * One bench/failover run: the origin child, the primary and then the backup
 * publishing, hls.js playing the stream in headless Chromium, then the schedule of
 * kills and returns (failover-plan.mjs), each action at its time; at the end the
 * switch records of the origin and the page's record of playback.
 */
import { loadavg } from './procs.mjs'
import { startFailoverOrigin, startPublisher } from './failover-services.mjs'
import { schedule } from './failover-plan.mjs'
import { launchBrowser } from './latency-services.mjs'
import { playerPage, servePage } from './latency-page.mjs'
import { STREAMD_HLS_CONFIG } from './latency-config.mjs'
import { getText } from './latency-watch.mjs'
import { waitFor } from './latency-run.mjs'

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms))

/**
 * @typedef {object} RunSettings
 * @property {string} ffmpeg
 * @property {number} durationS
 * @property {number} everyS
 * @property {number} warmupS
 * @property {'rtmp' | 'srt'} backupProtocol
 * @property {import('./failover-services.mjs').SourceSettings} source
 * @property {object} overrides streamd config overrides
 * @property {(line: string) => void} log
 */

/**
 * "source 640x360, 240p 426x240, audio" from the API's view of the stream.
 * @param {any} view
 */
const describeRenditions = (view) => (view.renditions ?? []).map((/** @type {any} */ r) => (r.width ? `${r.name} ${r.width}x${r.height}` : r.name)).join(', ')

/** The stream's name. */
const NAME = 'failover'

/**
 * Run the whole schedule; resolves with everything the report needs.
 * @param {RunSettings} s
 */
export async function runFailover(s) {
  const { ffmpeg, log } = s
  const origin = await startFailoverOrigin(s.overrides, NAME)
  const base = `http://127.0.0.1:${origin.http}`
  const api = async () => JSON.parse((await getText(`${base}/api/v1/streams/${NAME}`)).text)
  /** @type {Record<'primary' | 'backup', import('./failover-services.mjs').Publisher | undefined>} */
  const pubs = { primary: undefined, backup: undefined }
  const publish = (/** @type {'primary' | 'backup'} */ role) => {
    pubs[role] = startPublisher(ffmpeg, role, { name: NAME, rtmp: origin.rtmp, srt: origin.srt, backupProtocol: s.backupProtocol, source: s.source })
  }
  /** @type {Awaited<ReturnType<typeof launchBrowser>> | undefined} */
  let chrome
  /** @type {{ url: string, close: () => Promise<unknown> } | undefined} */
  let pageServer
  /** @type {import('playwright-core').Page | undefined} */
  let page
  const diag = () => `origin stderr: ${origin.stderr().slice(-3000)}\nprimary: ${pubs.primary?.stderr().slice(-500) ?? ''}\nbackup: ${pubs.backup?.stderr().slice(-500) ?? ''}`
  try {
    publish('primary')
    const variant = await waitFor(async () => {
      const mv = await getText(`${base}/live/${NAME}/index.m3u8`)
      const uri = mv.status === 200 ? mv.text.split('\n').find((l) => l && !l.startsWith('#')) : undefined
      if (!uri) return undefined
      const media = await getText(new URL(uri, `${base}/live/${NAME}/index.m3u8`).href)
      return (media.text.match(/^#EXTINF/gm) ?? []).length >= 3 && uri
    }, 60_000, 'three segments of the primary').catch((err) => { throw new Error(`${err.message}\n${diag()}`) })
    publish('backup')
    await waitFor(async () => (await api()).inputs?.find((/** @type {any} */ i) => i.role === 'backup')?.state === 'standby', 30_000, 'the backup standing by')
      .catch((err) => { throw new Error(`${err.message}\n${diag()}`) })
    const view = await api()
    if (view.onAir !== 'primary') throw new Error(`the primary should be on air before the schedule; on air: ${view.onAir}`)
    log(`  both inputs up (primary rtmp, backup ${s.backupProtocol}); renditions: ${describeRenditions(view)} (first variant ${variant})`)

    chrome = await launchBrowser()
    const served = pageServer = await servePage(playerPage({ hlsJsUrl: `${base}/static/hls.min.js`, src: `${base}/live/${NAME}/index.m3u8`, hlsConfig: STREAMD_HLS_CONFIG }))
    page = await chrome.browser.newPage({ viewport: { width: 640, height: 360 } })
    /** @type {string[]} */
    const pageErrors = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(served.url, { waitUntil: 'load', timeout: 20_000 })
    const p = page
    const firstPlayingAt = await waitFor(() => p.evaluate(() => /** @type {any} */ (window).__lat.firstPlayingAt), 30_000, 'the first `playing` event')
    log(`  playing; ${s.warmupS} s of warm-up before the schedule`)
    await sleep(s.warmupS * 1000)
    // The schedule starts from the primary on air and the backup standing by: on a loaded
    // machine a starved encoder can be lost (and the backup take over) before any action.
    const settleFrom = Date.now()
    const settled = await waitFor(async () => {
      const v = await api()
      return v.onAir === 'primary' && v.inputs?.find((/** @type {any} */ i) => i.role === 'backup')?.state === 'standby'
    }, 60_000, 'the primary on air and the backup standing by').then(() => true, () => false)
    if (Date.now() - settleFrom > 1000 || !settled) log(`  ${settled ? 'settled' : 'still not settled'} after ${((Date.now() - settleFrom) / 1000).toFixed(1)} s of waiting for the primary on air and the backup standing by`)

    const t0 = Date.now()
    const plan = schedule(s.durationS, s.everyS)
    /** @type {{ k: number, at: number, act: string, role: string, expect: string, note: string }[]} */
    const actions = []
    /** @type {{ at: number, load: string }[]} */
    const loads = [{ at: t0, load: loadavg() }]
    const loadTimer = setInterval(() => loads.push({ at: Date.now(), load: loadavg() }), 10_000)
    try {
      for (const a of plan) {
        await sleep(Math.max(0, t0 + a.atS * 1000 - Date.now()))
        const pub = pubs[a.role]
        let note = ''
        const at = Date.now()
        if (a.act === 'kill') {
          if (pub && pub.exited() === undefined) await pub.kill()
          else note = `the ${a.role} was not running`
          pubs[a.role] = undefined
        } else {
          if (pub && pub.exited() === undefined) note = `the ${a.role} was still running`
          else publish(a.role)
        }
        actions.push({ k: a.k, at, act: a.act, role: a.role, expect: a.expect, note })
        log(`  +${((at - t0) / 1000).toFixed(1)} s: ${a.act} ${a.role}${note ? ` (${note})` : ''}; expect ${a.expect}`)
        for (const role of /** @type {const} */ (['primary', 'backup'])) {
          const x = pubs[role]
          if (x && x.exited() !== undefined) log(`  warning: the ${role} publisher exited by itself (${x.exited()}): ${x.stderr().slice(-300)}`)
        }
      }
      await sleep(Math.max(0, t0 + s.durationS * 1000 - Date.now()))
    } finally {
      clearInterval(loadTimer)
    }
    const end = Date.now()
    // Every switch's record closes within 10 s of it (the child's bound).
    const switched = () => origin.lines.filter((l) => l.type === 'on-air' && l.at >= t0).length
    const recorded = () => origin.lines.filter((l) => l.type === 'switch' && l.at >= t0).length
    await waitFor(async () => recorded() >= switched(), 12_000, 'the last switch records').catch(() => undefined)
    const state = await p.evaluate(() => /** @type {any} */ (window).__lat)
    const view2 = await api().catch(() => undefined)
    return {
      t0, end, firstPlayingAt, actions, loads, config: origin.config,
      switches: origin.lines.filter((l) => l.type === 'switch' && l.at >= t0),
      startSwitches: origin.lines.filter((l) => l.type === 'on-air' && l.at < t0),
      silences: origin.lines.filter((l) => l.type === 'silence'),
      pids: origin.lines.filter((l) => l.type === 'pids'),
      state, pageErrors,
      chromium: chrome.version,
      renditions: describeRenditions(view),
      finalView: view2,
      originErrors: origin.stderr().split('\n').filter((l) => /"level":(50|60)/.test(l)).slice(-10),
    }
  } finally {
    await page?.close().catch(() => undefined)
    await chrome?.close()
    await pageServer?.close()
    for (const x of Object.values(pubs)) await x?.kill()
    await origin.stop()
  }
}
