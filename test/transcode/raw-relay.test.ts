import t from 'tap'
import { PassThrough } from 'node:stream'
import { RawRelay } from '../../src/transcode/raw-relay.js'

/** Frames of 10 bytes whose every byte is the frame's index. */
const frames = (n: number): Buffer => Buffer.concat(Array.from({ length: n }, (_, i) => Buffer.alloc(10, i)))

t.test('feeds whole frames from the requested index, whatever the chunking', async (t) => {
  for (const chunk of [1, 3, 7, 10, 25, 1000]) {
    const relay = new RawRelay(10, 1 << 20, () => t.fail('no overrun'))
    const out = new PassThrough()
    const got: Buffer[] = []
    out.on('data', (d: Buffer) => got.push(d))
    relay.connect(out, 4)
    const all = frames(9)
    for (let i = 0; i < all.length; i += chunk) relay.push(all.subarray(i, i + chunk))
    t.same([...Buffer.concat(got)], [...frames(9).subarray(40)], `chunks of ${chunk}: frames 4..8 exactly`)
    t.equal(relay.nextFrame, 9)
  }
})

t.test('counts a partial frame as begun; resets with the source', async (t) => {
  const relay = new RawRelay(10, 1 << 20, () => {})
  relay.push(Buffer.alloc(25))
  t.equal(relay.nextFrame, 3, 'frame 2 is half received, so the next to begin is 3')
  relay.resetSource()
  t.equal(relay.nextFrame, 0)
})

t.test('an encoder that stops reading triggers an overrun instead of unbounded memory', async (t) => {
  let overruns = 0
  const relay = new RawRelay(10, 50, () => overruns++)
  const stuck = new PassThrough({ highWaterMark: 1 })
  stuck.pause()
  relay.connect(stuck, 0)
  relay.push(frames(20))
  t.ok(overruns > 0)
  relay.disconnect()
  relay.push(frames(5))
  t.equal(relay.nextFrame, 25, 'still counting while disconnected')
})

t.test('an armed encoder that reads slowly holds the source back until it drains', async (t) => {
  const relay = new RawRelay(10, 1 << 20, () => t.fail('no overrun'))
  relay.highWater = 20
  const seen: boolean[] = []
  relay.onPressure = (held) => seen.push(held)
  const slow = new PassThrough({ highWaterMark: 1 })
  slow.pause()
  relay.connect(slow, 0)
  relay.push(frames(5))
  t.same(seen, [], 'not armed yet (the encoder has not shown it works): buffered, no pressure')
  relay.arm()
  relay.push(frames(1))
  t.same(seen, [true], 'armed and over the high water mark: the source is paused')
  t.ok(relay.holding)
  relay.push(frames(1))
  t.same(seen, [true], 'one pause per episode')
  const got: Buffer[] = []
  slow.on('data', (d: Buffer) => got.push(d))
  slow.resume()
  await new Promise((r) => setImmediate(r))
  t.same(seen, [true, false], 'drained: the source resumes')
  t.equal(Buffer.concat(got).length, 70, 'every frame reached the encoder')
})

t.test('disconnecting a held encoder releases the source', async (t) => {
  const relay = new RawRelay(10, 1 << 20, () => {})
  relay.highWater = 5
  const seen: boolean[] = []
  relay.onPressure = (held) => seen.push(held)
  const stuck = new PassThrough({ highWaterMark: 1 })
  stuck.pause()
  relay.connect(stuck, 0)
  relay.arm()
  relay.push(frames(2))
  relay.disconnect()
  t.same(seen, [true, false])
  t.notOk(relay.holding)
})
