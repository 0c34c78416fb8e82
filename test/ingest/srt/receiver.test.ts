/**
 * The receive side's ARQ bookkeeping, packet by packet: in-order delivery,
 * immediate and periodic NAK ranges, recovery, too-late drop, drop requests,
 * sequence wrap, window overflow; plus the streamid forms and the SID quirk.
 */
import t from 'tap'
import { Receiver } from '../../../src/ingest/srt/receiver.js'
import { nakCif, seqAdd } from '../../../src/ingest/srt/packet.js'
import { decodeStreamIdExt, encodeStreamIdExt, parseStreamId } from '../../../src/ingest/srt/handshake.js'

function make(isn = 100, capacity = 64, latencyUs = 120_000) {
  const out: number[] = []
  const r = new Receiver({ isn, capacity, latencyUs, deliver: (seq) => out.push(seq) })
  const data = (seq: number, ts: number, now: number, rexmit = false) => r.onData(seq, ts, Buffer.from([seq & 0xff]), 0, rexmit, now)
  return { r, out, data }
}

t.test('in order, loss reported at once, recovered by retransmission', async (t) => {
  const { r, out, data } = make()
  t.same(data(100, 0, 1000), [])
  t.same(data(101, 10, 1010), [])
  t.same(data(104, 40, 1040), [[102, 103]], 'the gap is one NAK range')
  t.same(out, [100, 101])
  t.equal(r.ackSeq, 102)
  t.same(r.periodicNak(1050, 20_000), [], 'not due yet')
  t.same(r.periodicNak(30_000, 20_000), [[102, 103]], 'reported again once due')
  data(103, 30, 31_000, true)
  t.same(out, [100, 101], 'still waiting for 102')
  data(102, 20, 32_000, true)
  t.same(out, [100, 101, 102, 103, 104])
  t.equal(r.stats.recovered, 2)
  t.equal(r.stats.retransmitted, 2)
  data(102, 20, 33_000, true)
  t.equal(r.stats.duplicates, 1)
})

t.test('a hole is given up at the following packet\'s TSBPD deadline', async (t) => {
  const { r, out, data } = make(100, 64, 120_000)
  data(100, 0, 0)
  data(102, 20_000, 20_000)
  r.expire(100_000)
  t.same(out, [100], 'before the deadline: wait')
  r.expire(140_001)
  t.same(out, [100, 102], '102 due at 20 ms + 120 ms: 101 dropped')
  t.equal(r.stats.lateDropped, 1)
  t.same(r.periodicNak(1e9, 1), [], 'nothing left to report')
})

t.test('a sender drop request releases the hole at once', async (t) => {
  const { r, out, data } = make()
  data(100, 0, 0)
  data(103, 30, 30)
  r.dropRange(101, 102)
  t.same(out, [100, 103])
  t.equal(r.stats.lateDropped, 2)
})

t.test('sequence numbers wrap at 2^31', async (t) => {
  const top = 0x7fffffff
  const { out, data } = make(top - 1)
  data(top - 1, 0, 0)
  t.same(data(0, 20, 20), [[top, top]], 'the missing number across the wrap')
  data(top, 10, 30)
  t.same(out, [top - 1, top, 0])
  t.equal(seqAdd(top, 1), 0)
})

t.test('packets beyond the window are dropped and counted, the window shrinks as holes wait', async (t) => {
  const { r, data } = make(0, 16)
  data(0, 0, 0)
  t.equal(r.available, 16, "delivered packets free their slots")
  data(10, 0, 0)
  t.equal(r.available, 6, "slots up to the highest packet stay taken while 1..9 are missing")
  t.same(data(17, 0, 0), [])
  t.equal(r.stats.overflow, 1)
  t.equal(r.held, 1)
})

t.test('NAK loss list encoding', async (t) => {
  t.same([...nakCif([[5, 5], [7, 9]])], [0, 0, 0, 5, 0x80, 0, 0, 7, 0, 0, 0, 9])
})

t.test('stream id: the word-reversed wire form and both conventions', async (t) => {
  // libsrt byte-swaps every 32-bit word of the text.
  const wire = encodeStreamIdExt('publish:t1:KEY')
  t.same([...wire.subarray(0, 4)], [0x6c, 0x62, 0x75, 0x70], '"publ" arrives as "lbup"')
  t.equal(decodeStreamIdExt(wire), 'publish:t1:KEY')
  t.same(parseStreamId('publish:t1:KEY'), { ok: true, stream: 't1', key: 'KEY', role: 'primary' })
  t.same(parseStreamId('publish:t1'), { ok: true, stream: 't1', role: 'primary' })
  t.same(parseStreamId('#!::r=cam,m=publish,s=secret'), { ok: true, stream: 'cam', key: 'secret', role: 'primary' })
  t.match(parseStreamId('#!::r=cam,m=request'), { ok: false, mode: 'request' })
  t.match(parseStreamId('read:cam'), { ok: false, mode: 'read' })
  t.match(parseStreamId(''), { ok: false })
  t.match(parseStreamId('#!::m=publish'), { ok: false, reason: /resource/ })
})

t.test('payloads over the MTU are dropped; the byte bound holds packets behind a hole but never the one filling it', async (t) => {
  const out: number[] = []
  const r = new Receiver({ isn: 0, capacity: 64, latencyUs: 120_000, maxPayload: 1456, maxBytes: 4000, deliver: (seq) => out.push(seq) })
  t.same(r.onData(1, 0, Buffer.alloc(60_000), 0, false, 0), [], 'an oversized packet reports no loss')
  t.equal(r.stats.oversized, 1)
  t.equal(r.held, 0, 'and is not held')
  for (let s = 1; s <= 5; s++) r.onData(s, 0, Buffer.alloc(1000), 0, false, 0)
  t.equal(r.held, 4, 'four 1000-byte packets fit 4000 bytes')
  t.equal(r.heldBytes, 4000)
  t.equal(r.stats.overflow, 1, 'the fifth is dropped')
  r.onData(0, 0, Buffer.alloc(1000), 0, true, 0)
  t.same(out, [0, 1, 2, 3, 4], 'the retransmission filling the hole goes in and drains the buffer')
  t.equal(r.heldBytes, 0)
})
