/**
 * A lossy UDP relay for one caller: datagrams from the caller go to `target`,
 * datagrams from `target` go back to the caller, and each direction drops a
 * fraction `loss` of them (seeded, so a run can be repeated). Bounded: it
 * closes itself after `maxMs`. Used by bench/srt-loss.mjs and the SRT loss test.
 */
import { createSocket } from 'node:dgram'

/** Seeded PRNG (mulberry32): the same seed drops the same datagrams. */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Start a relay on 127.0.0.1 port 0; resolves with { port, stats, close }. */
export function startLossyRelay({ target, loss = 0.01, seed = 1, maxMs = 120_000 }) {
  const sock = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024, sendBufferSize: 8 * 1024 * 1024 })
  const random = prng(seed)
  const stats = { up: 0, down: 0, droppedUp: 0, droppedDown: 0 }
  let caller
  sock.on('message', (msg, rinfo) => {
    const fromTarget = rinfo.port === target.port && rinfo.address === target.host
    if (!fromTarget) caller = { host: rinfo.address, port: rinfo.port }
    const drop = random() < loss
    if (fromTarget) {
      if (drop) return void stats.droppedDown++
      stats.down++
      if (caller) sock.send(msg, caller.port, caller.host)
    } else {
      if (drop) return void stats.droppedUp++
      stats.up++
      sock.send(msg, target.port, target.host)
    }
  })
  let closed = false
  const close = () => new Promise((resolve) => {
    if (closed) return resolve()
    closed = true
    clearTimeout(timer)
    sock.close(() => resolve())
  })
  const timer = setTimeout(close, maxMs)
  timer.unref()
  return new Promise((resolve, reject) => {
    sock.once('error', reject)
    sock.bind(0, '127.0.0.1', () => resolve({ port: sock.address().port, stats, close }))
  })
}
