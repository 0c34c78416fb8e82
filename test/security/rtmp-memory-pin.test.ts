// Attack replay: RTMP memory pinned without a key. After the handshake, Set Chunk
// Size 8 MiB - 2, then two messages on chunk streams 4 and 5 announcing 8 MiB - 1
// bytes, each sent as one full chunk, kept alive by 16-byte Acknowledgements. The
// attack run buffered 16 MiB per connection: 100 connections took RSS from 150 MB to
// 1.72 GB. Against a real server process with the default config (64 KiB messages and
// 10 s before publish, 16 pending connections per address, 128 in total) while a
// canary stream plays.
import t from 'tap'
import { startCanaryServer, type CanaryServer } from '../helpers/canary.js'
import { Attacker, acknowledgement, chunkHeader, connectCommand, setChunkSize } from './rtmp-attacker.js'

/** RSS growth allowed while 100 (then 160) connections try to pin memory. */
const RSS_BOUND = 100 * 1024 * 1024
const MIB8 = 8 * 1024 * 1024

/** Attackers past their handshake and first messages: Acknowledgements may go between their chunks now. */
const prepared = new WeakSet<Attacker>()

/** Acknowledgements every second to every prepared attacker still open (the attack run sent one per 10 s). */
function keepAcking(attackers: Attacker[]): () => void {
  const timer = setInterval(() => { for (const a of attackers) if (!a.isClosed && prepared.has(a)) a.send(acknowledgement()) }, 1000)
  return () => clearInterval(timer)
}

/** Handshake + connect + Set Chunk Size + the pinning messages; false when the server closed the connection first. */
async function prepare(a: Attacker, chunkSize: number, pin: () => void): Promise<boolean> {
  if (!(await a.handshake())) return false
  a.send(Buffer.concat([connectCommand(), setChunkSize(chunkSize)]))
  pin()
  prepared.add(a)
  return !a.isClosed
}

async function settle(s: CanaryServer): Promise<number> {
  await new Promise((r) => setTimeout(r, 1000))
  return s.rss()
}

t.test('100 connections each announcing 2 x (8 MiB - 1) in full chunks, kept alive by Acknowledgements', async (t) => {
  const s = await startCanaryServer(t)
  await s.assertAdvancing(t, 5000, 'canary before the attack')
  const rssBefore = await settle(s)
  // One full chunk (8 MiB - 2) of each 8 MiB - 1 message: one byte short, so it stays buffered.
  // One payload shared by every write: the attacker's own memory stays flat.
  const payload = Buffer.alloc(MIB8 - 2, 0x41)
  const attackers = await Promise.all(Array.from({ length: 100 }, () => Attacker.open(s.rtmpPort)))
  t.teardown(() => { for (const a of attackers) a.destroy() })
  const stopAcks = keepAcking(attackers)
  t.teardown(stopAcks)
  let peak = 0
  await Promise.all(attackers.map(async (a) => {
    await prepare(a, MIB8 - 2, () => {
      for (const csid of [4, 5]) {
        a.send(chunkHeader(csid, 9, MIB8 - 1, 1))
        a.send(payload)
      }
    })
  }))
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 500))
    peak = Math.max(peak, s.rss())
  }
  await s.assertAdvancing(t, 5000, 'canary during the attack')
  peak = Math.max(peak, s.rss())
  const closed = await Promise.all(attackers.map((a) => a.closedWithin(5000)))
  stopAcks()
  t.ok(s.alive(), 'server still running')
  t.equal(closed.filter((c) => !c).length, 0, 'every attacking connection was closed, Acknowledgements notwithstanding')
  // 16 pass the per-address cap and are refused on their first 8 MiB header; the rest on opening.
  const refusedAtOnce = attackers.filter((a) => a.closedAt! - a.openedAt < 5000).length
  t.equal(refusedAtOnce, 100, `${refusedAtOnce} of 100 closed within 5 s of opening`)
  t.comment(`RSS ${Math.round(rssBefore / 1e6)} MB before, ${Math.round(peak / 1e6)} MB peak (the attack run: 150 MB -> 1.72 GB)`)
  t.ok(peak - rssBefore < RSS_BOUND, `RSS grew less than 100 MB (${Math.round((peak - rssBefore) / 1e6)} MB)`)
  const lines = s.logText().split('\n').filter((l) => l.includes('rtmp: connection refused'))
  t.ok(lines.length >= 1 && lines.length <= 3, `refusals logged rate-limited: ${lines.length} line(s) for 100 connections`)
  await s.assertAdvancing(t, 5000, 'canary after the attack')
})

t.test('the same within the limits: 160 connections from 10 addresses pin 2 x (64 KiB - 1) each, until the publish deadline', async (t) => {
  const s = await startCanaryServer(t)
  await s.assertAdvancing(t, 5000, 'canary before the attack')
  const rssBefore = await settle(s)
  const size = 64 * 1024 - 1
  // One full chunk of each message (chunk size = size - 1): one byte short, so it stays buffered.
  const payload = Buffer.alloc(size - 1, 0x41)
  // 16 from each of 10 loopback addresses: within the per-address cap, 32 over the total cap.
  const attackers: Attacker[] = []
  for (let i = 0; i < 160; i++) attackers.push(await Attacker.open(s.rtmpPort, `127.0.0.${10 + (i % 10)}`))
  t.teardown(() => { for (const a of attackers) a.destroy() })
  const stopAcks = keepAcking(attackers)
  t.teardown(stopAcks)
  const started = Date.now()
  await Promise.all(attackers.map(async (a) => {
    await prepare(a, size - 1, () => {
      for (const csid of [4, 5]) a.send(Buffer.concat([chunkHeader(csid, 9, size, 1), payload]))
    })
  }))
  await s.assertAdvancing(t, 5000, 'canary during the attack')
  const rssDuring = s.rss()
  // Closed within 5 s of opening (the pinning ones live until the 10 s deadline).
  const refused = attackers.filter((a) => a.isClosed && a.closedAt! - a.openedAt < 5000).length
  if (refused !== 32) t.comment(s.logText().split('\n').filter((l) => l.includes('"level":40') && !l.includes('already waiting')).slice(0, 12).join('\n'))
  t.equal(refused, 32, `32 connections over the total cap of 128 closed as they opened (${refused})`)
  const closed = await Promise.all(attackers.map((a) => a.closedWithin(15_000)))
  stopAcks()
  t.equal(closed.filter((c) => !c).length, 0, 'every pinning connection closed at the 10 s publish deadline')
  const lived = Math.max(...attackers.map((a) => a.closedAt! - started))
  t.ok(lived < 14_000, `the last one closed ${lived} ms after the attack began`)
  t.comment(`RSS ${Math.round(rssBefore / 1e6)} MB before, ${Math.round(rssDuring / 1e6)} MB with 128 connections pinning`)
  t.ok(rssDuring - rssBefore < RSS_BOUND, `RSS grew less than 100 MB (${Math.round((rssDuring - rssBefore) / 1e6)} MB)`)
  t.ok(s.alive(), 'server still running')
  await s.assertAdvancing(t, 5000, 'canary after the attack')
})
