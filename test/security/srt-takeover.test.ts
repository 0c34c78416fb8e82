/**
 * Attack replay: an SRT takeover before authorisation. A real SRT publisher
 * (FFmpeg, libsrt) goes silent for 1.6 s (SIGSTOP: a network blip); 1.2 s into
 * it an unauthorised caller from the same host concludes for the same stream.
 * The caller must be refused (2403) and the publisher must keep its stream,
 * while the canary plays and the server stays up within its memory bound.
 * Authorisation here is the on_publish hook, which refuses the attacker's address
 * exactly as a wrong publish key is refused (the canary needs open publishing).
 */
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startCanaryServer } from '../helpers/canary.js'
import { srtUrl, startSrtPublisher } from '../helpers/srt.js'
import { SrtCaller } from '../helpers/srt-caller.js'
import { Reject } from '../../src/ingest/srt/handshake.js'

/** RSS growth allowed over the replay: the SRT stream's pipeline and stores, not a leak. */
const RSS_GROWTH_BOUND = 120 * 1024 * 1024

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Media sequence plus segment and part count of a playlist; -1 when unavailable; `ended` on ENDLIST. */
async function position(url: string): Promise<{ at: number; ended: boolean }> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) })
    if (r.status !== 200) return { at: -1, ended: false }
    const text = await r.text()
    const msn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? -1)
    const at = msn * 1000 + (text.match(/^#EXTINF/gm)?.length ?? 0) * 100 + (text.match(/^#EXT-X-PART:/gm)?.length ?? 0)
    return { at, ended: text.includes('#EXT-X-ENDLIST') }
  } catch {
    return { at: -1, ended: false }
  }
}

t.test('a wrong-key caller during a 1.6 s blip does not drop the SRT publisher', async (t) => {
  let refuse = ''
  const hookCalls: string[] = []
  const hook = createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => { body += d.toString() })
    req.on('end', () => {
      const ev = JSON.parse(body) as { remote: string; stream: string }
      hookCalls.push(`${ev.stream} ${ev.remote}`)
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(ev.remote === refuse ? { allow: false, reason: 'invalid publish key' } : { allow: true }))
    })
  })
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => hook.close(() => r())))
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/on_publish`

  const s = await startCanaryServer(t, { config: { hooks: { onPublish: hookUrl } } })
  const rss0 = s.rss()
  const pub = startSrtPublisher(srtUrl(s.srtPort, 'publish:srtpub:k'), { width: 320, height: 180 })
  t.teardown(() => { try { process.kill(pub.pid!, 'SIGCONT') } catch { /* gone */ } return pub.stop() })
  const playlist = `${s.http}/live/srtpub/source/index.m3u8`
  const deadline = Date.now() + 30_000
  while ((await position(playlist)).at < 0) {
    if (Date.now() > deadline) throw new Error(`SRT stream never appeared:\n${pub.stderrText()}`)
    await sleep(200)
  }

  const attacker = await SrtCaller.open(s.srtPort)
  t.teardown(() => attacker.close())
  refuse = attacker.remote
  await attacker.induction()
  process.kill(pub.pid!, 'SIGSTOP')
  const stoppedAt = Date.now()
  await sleep(1200)
  const answer = await attacker.conclude({ streamid: 'publish:srtpub:wrong' }, 3000)
  await sleep(Math.max(0, 1600 - (Date.now() - stoppedAt)))
  process.kill(pub.pid!, 'SIGCONT')
  t.equal(answer?.rejection, Reject.forbidden, 'the unauthorised caller is refused with 2403')
  t.ok(hookCalls.some((c) => c.endsWith(attacker.remote)), 'its publish was put to the on_publish hook')

  const before = await position(playlist)
  await sleep(4000)
  const after = await position(playlist)
  t.equal(pub.exitCode, null, 'the publisher is still running (it was never shut down)')
  t.notOk(after.ended, 'the SRT stream did not end')
  t.ok(after.at > before.at, `the SRT stream's playlist advances after the blip (${before.at} -> ${after.at})`)
  t.notMatch(s.logText(), /replaced by a reconnecting caller/, 'no takeover was logged')
  await s.assertAdvancing(t)
  const growth = s.rss() - rss0
  t.ok(growth < RSS_GROWTH_BOUND, `RSS grew ${(growth / 2 ** 20).toFixed(1)} MiB (bound ${RSS_GROWTH_BOUND / 2 ** 20} MiB)`)
})
