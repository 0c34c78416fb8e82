/**
 * Attack replay: an authenticated SRT caller trying to make the server buffer
 * half a gigabyte. It asks for 60 s of latency (it gets the 2 s cap), announces
 * MTU 1500, then sends 3,000 datagrams of 60 KB behind a hole that never fills.
 * Every one is dropped as larger than the MTU; RSS stays within its bound, the
 * server stays up and the canary keeps playing.
 */
import t from 'tap'
import { startCanaryServer } from '../helpers/canary.js'
import { SrtCaller } from '../helpers/srt-caller.js'

/** RSS growth allowed: 3,000 × 60 KB (176 MiB) sent, none of it kept (garbage not yet collected and the canary's stores count). */
const RSS_GROWTH_BOUND = 64 * 1024 * 1024

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

t.test('60 s latency is capped and 60 KB datagrams are not buffered', async (t) => {
  const s = await startCanaryServer(t)
  const c = await SrtCaller.open(s.srtPort)
  t.teardown(() => c.close())
  await c.induction()
  const answer = await c.conclude({ streamid: 'publish:big:k', latencyMs: 60_000, mtu: 1500 }, 3000)
  t.ok(answer?.accepted, 'the caller is accepted (publishing is open)')
  t.equal(answer?.hsrsp?.recvDelayMs, 2000, 'the 60 s request is answered with the 2 s cap')
  t.ok(answer!.hs.mtu <= 1500, `MTU ${answer!.hs.mtu}`)
  const dest = answer!.hs.socketId
  const rss0 = s.rss()
  // Sequence 1000 (the ISN) never comes: a receiver that kept these would hold them all.
  const payload = Buffer.alloc(60_000, 0x47)
  for (let i = 1; i <= 3000; i++) {
    await c.data(1000 + i, dest, payload)
    if (i % 5 === 0) await sleep(2) // paced so the kernel buffer does not drop them before the server reads
  }
  await sleep(1000)
  const growth = s.rss() - rss0
  t.ok(growth < RSS_GROWTH_BOUND, `RSS grew ${(growth / 2 ** 20).toFixed(1)} MiB after 176 MiB of oversized datagrams (bound ${RSS_GROWTH_BOUND / 2 ** 20} MiB)`)
  const metrics = await (await fetch(`${s.http}/metrics`)).text()
  const packets = Number(/^streamd_srt_packets_total (\d+)/m.exec(metrics)?.[1] ?? NaN)
  t.equal(packets, 0, 'no oversized datagram entered the receiver')
  t.match(s.logText(), /srt: caller latency capped/, 'the cap is logged')
  await s.assertAdvancing(t)
})
