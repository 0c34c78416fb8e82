/**
 * Attack replay: an upstream playlist announcing an absurd EXT-X-TARGETDURATION.
 * Every hold the shield grants is 3 target durations; 800,000 s × 3 in ms is past
 * setTimeout's 2^31 ms, so the timers fired after 1 ms and held requests failed at
 * once (at 700,000 s they would instead wait for days). A real shield process, with a
 * canary rendition played through it meanwhile.
 */
import t from 'tap'
import { startStubOrigin, type StubAnswer } from '../helpers/stub-origin.js'
import { startShieldProcess } from '../helpers/shield-process.js'

const M3U8 = { 'Content-Type': 'application/vnd.apple.mpegurl' }

/** A live canary rendition: one new 1 s segment a second. */
function canary(t0: number): StubAnswer {
  const last = 100 + Math.floor((Date.now() - t0) / 1000)
  const lines = ['#EXTM3U', '#EXT-X-VERSION:9', '#EXT-X-TARGETDURATION:1', `#EXT-X-MEDIA-SEQUENCE:${last - 2}`]
  for (let m = last - 2; m <= last; m++) lines.push('#EXTINF:1.0,', `${m}.m4s`)
  return { headers: { ...M3U8, 'Cache-Control': 'max-age=1' }, body: lines.join('\n') + '\n' }
}

/** The hostile rendition: TARGETDURATION 800,000 s, PART-TARGET 200,000 s, segment 10 complete, part 11.0 out, 11.1 hinted. */
function evil(withPart11_1: boolean): string {
  return [
    '#EXTM3U', '#EXT-X-VERSION:9', '#EXT-X-TARGETDURATION:800000', '#EXT-X-PART-INF:PART-TARGET=200000',
    '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=600000', '#EXT-X-MEDIA-SEQUENCE:10',
    '#EXTINF:4.0,', '10.m4s', '#EXT-X-PART:DURATION=1.0,URI="11.0.m4s"',
    ...(withPart11_1 ? ['#EXT-X-PART:DURATION=1.0,URI="11.1.m4s"', '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="11.2.m4s"'] : ['#EXT-X-PRELOAD-HINT:TYPE=PART,URI="11.1.m4s"']),
    '',
  ].join('\n')
}

/** Position (last msn) of the canary playlist through the shield; -1 on any failure. */
async function canaryPosition(url: string): Promise<number> {
  try {
    const r = await fetch(`${url}/canary/v/index.m3u8`, { signal: AbortSignal.timeout(3000) })
    const m = /#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(await r.text())
    return r.status === 200 && m ? Number(m[1]) + 2 : -1
  } catch {
    return -1
  }
}

t.test('a 800,000 s TARGETDURATION is clamped and logged; held requests are held, then answered', async (t) => {
  const t0 = Date.now()
  const HOLD = 3000
  const stub = await startStubOrigin(t, (target) => {
    if (target.startsWith('/canary/v/index.m3u8')) return canary(t0)
    if (target === '/evil/v/index.m3u8') return { headers: M3U8, body: evil(false) }
    // The origin holds the blocking reload and the hinted part until they exist (rfc8216bis 6.2.5.2).
    if (target.startsWith('/evil/v/index.m3u8?')) return { headers: M3U8, body: evil(true), delayMs: HOLD }
    if (target === '/evil/v/11.1.m4s') return { headers: { 'Content-Type': 'video/iso.segment' }, body: 'part 11.1', delayMs: HOLD }
    if (target === '/healthz') return { body: 'ok' }
    return { status: 404, body: 'no' }
  })
  const s = await startShieldProcess(t, [stub.url])
  const before = await canaryPosition(s.url)
  t.ok(before > 0, 'the canary plays through the shield')

  t.equal((await fetch(`${s.url}/evil/v/index.m3u8`)).status, 200, 'the hostile playlist passes through')
  const started = Date.now()
  const [blocking, part] = await Promise.all([
    fetch(`${s.url}/evil/v/index.m3u8?_HLS_msn=11&_HLS_part=1`, { signal: AbortSignal.timeout(30_000) }),
    fetch(`${s.url}/evil/v/11.1.m4s`, { signal: AbortSignal.timeout(30_000) }),
  ])
  const waited = Date.now() - started
  t.equal(blocking.status, 200, 'the blocking reload is held and answered, not refused at once')
  t.match(await blocking.text(), /11\.1\.m4s/, 'with the playlist that answers it')
  t.equal(part.status, 200, 'the hinted part is held and answered')
  t.equal(await part.text(), 'part 11.1')
  t.ok(waited >= HOLD - 200, `both waited for the origin's hold (${waited} ms)`)

  t.match(s.logText(), /announces EXT-X-TARGETDURATION 800000 s; using 30 s/, 'the clamp is logged')
  t.match(s.logText(), /announces PART-TARGET 200000 s; using 5 s/)
  t.equal(s.logText().match(/announces EXT-X-TARGETDURATION/g)?.length, 1, 'once, however often the playlist is reloaded')
  t.notMatch(s.logText(), /TimeoutOverflowWarning/, 'no timer overflowed')

  let after = before
  for (let i = 0; i < 30 && after <= before; i++) {
    await new Promise((r) => setTimeout(r, 200))
    after = await canaryPosition(s.url)
  }
  t.ok(after > before, `the canary still advances (${before} -> ${after})`)
  t.ok(s.alive(), 'the shield process is still running')
  t.ok(s.rss() < 300e6, `RSS ${Math.round(s.rss() / 1e6)} MB stays under 300 MB`)
})
