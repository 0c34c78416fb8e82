import t, { type Test } from 'tap'
import { Segmenter } from '../../src/packager/segmenter.js'
import { RenditionStore } from '../../src/packager/rendition-store.js'
import { PublishGate, type PublishGateOptions } from '../../src/packager/publish-gate.js'
import { blockingSatisfied } from '../../src/packager/hls-blocking.js'
import { renderMediaPlaylist } from '../../src/packager/hls-media-playlist.js'
import { silentLogger } from '../../src/log/logger.js'
import type { Sample, TrackInfo } from '../../src/media/types.js'
import type { InitRecord } from '../../src/packager/types.js'
import { parseStrict } from '../helpers/playlists.js'

const PART = 0.2
const WALL = 1_700_000_000_000
const video: TrackInfo = { id: 1, kind: 'video', timescale: 15360, codec: 'avc1.64001f', width: 640, height: 360, language: 'und' }
const audio: TrackInfo = { id: 1, kind: 'audio', timescale: 48000, codec: 'mp4a.40.2', sampleRate: 48000, channels: 2, language: 'und' }

/** Frames of [from, to) seconds: 30 fps video with a key frame every 2 s, or 48 kHz AAC. */
function frames(kind: 'video' | 'audio', from: number, to: number): Sample[] {
  const out: Sample[] = []
  const step = kind === 'video' ? 512 : 1024
  const ts = kind === 'video' ? 15360 : 48000
  for (let i = Math.ceil((from * ts) / step); i * step < to * ts - 1e-9; i++) {
    out.push({ trackId: 1, dts: i * step, duration: step, cts: 0, sync: kind === 'audio' || i % 60 === 0, data: Buffer.alloc(16) })
  }
  return out
}

/** Three renditions of one ladder session (two video rungs and audio), all through one gate. */
function session(opts: Partial<PublishGateOptions> = {}) {
  const held: number[] = []
  const lagging: Array<[string, boolean]> = []
  const gate = new PublishGate({
    // Segment-end pacing off unless a test asks for it: these tests feed faster than real time.
    partTarget: PART, maxLagSeconds: 0.8, segmentEndGapMs: 0, ...opts,
    onPart: (_r, s) => held.push(s),
    onLagging: (r, l) => lagging.push([r, l]),
  })
  const make = (name: string, track: TrackInfo) => {
    const store = new RenditionStore(name, { targetDuration: 2, partTarget: PART, windowSeconds: 30 }, 1)
    const lane = gate.lane(store)
    const init: InitRecord = { data: Buffer.from(name), hash: name, tracks: [track] }
    const seg = new Segmenter(store, init, { segmentTarget: 2, grid: { msnBase: 1 }, keyframesOnGrid: true, wallClockAt: (s) => WALL + s * 1000, logger: silentLogger(), publish: lane.publish })
    let fed = 0
    return {
      store, lane, seg,
      /** Push this rendition's frames up to `to` seconds. */
      feed(to: number) {
        seg.push(frames(track.kind, fed, to))
        fed = to
      },
      fed: () => fed,
    }
  }
  return { gate, held, lagging, hi: make('hi', video), lo: make('lo', video), aud: make('audio', audio) }
}

type Rendition = ReturnType<typeof session>['hi']

/** Feed renditions side by side up to `to` seconds, a tenth of a second at a time (as workers write). */
function together(to: number, ...rs: Rendition[]): void {
  const from = Math.min(...rs.map((r) => r.fed()))
  for (let at = from + 0.1; at < to + 0.05; at += 0.1) for (const r of rs) if (r.fed() < at) r.feed(Math.min(to, Math.round(at * 10) / 10))
  for (const r of rs) if (r.fed() < to) r.feed(to)
}

/** Equal up to float rounding of summed part durations. */
function near(t: Test, actual: number, wanted: number, msg: string): void {
  t.ok(Math.abs(actual - wanted) < 1e-6, `${msg} (${actual} s)`)
}

/** Media time (s) at the end of a store's newest published part. */
function edge(store: RenditionStore): number {
  const seg = [...store.segments].reverse().find((s) => s.parts.length > 0)
  return seg ? seg.startTime + seg.parts.reduce((a, p) => a + p.duration, 0) : 0
}

t.test('a rendition ahead is published only up to one part past the slowest', async (t) => {
  const { hi, lo, aud, held } = session()
  together(2.0, hi, lo, aud)
  together(2.6, hi, aud)
  lo.feed(2.2) // two parts behind: within the bound, so waited for
  t.notOk(lo.store.lagging)
  t.ok(edge(hi.store) <= 2.2 + PART + 1e-6, `hi published to ${edge(hi.store)} s, lo has produced 2.2 s`)
  t.ok(edge(aud.store) <= 2.2 + PART + 1e-6, `audio published to ${edge(aud.store)} s`)
  t.ok(edge(hi.store) >= 2.2 - 1e-6, 'but everything within a part of the slowest is out')
  near(t, edge(lo.store), 2.2, 'the slowest is never held')
  lo.feed(2.6)
  for (const r of [hi, lo]) near(t, edge(r.store), 2.6, `${r.store.name} published to 2.6 s once lo caught up`)
  t.ok(edge(aud.store) > 2.6 - PART, `audio too (${edge(aud.store)}: its parts end elsewhere)`)
  t.ok(held.some((s) => s > 0) && held.some((s) => s === 0), 'some parts held, others published at once')
  for (const r of [hi, lo, aud]) parseStrict(renderMediaPlaylist(r.store))
})

t.test('a blocking request on a held part is answered in the same turn as the gate opens', async (t) => {
  const { hi, lo, aud } = session()
  together(2.0, hi, lo, aud)
  hi.feed(2.4) // hi's parts 2.0–2.2 and 2.2–2.4 wait for lo
  const msn = hi.store.edge()!.msn
  const part = hi.store.edge()!.part + 1
  let answered = false
  hi.store.waiters.wait(() => blockingSatisfied(hi.store, msn, part), 10_000, (o) => { answered = o === 'ready' })
  t.notOk(answered, `part ${msn}.${part} is held`)
  aud.feed(2.4)
  lo.feed(2.2)
  t.ok(answered, 'released and answered synchronously, no timer or tick in between')
})

t.test('a rendition too far behind is no longer waited for, is marked, and rejoins once caught up', async (t) => {
  const { hi, lo, aud, lagging } = session()
  together(1.0, hi, lo, aud)
  together(2.0, hi, aud) // lo hangs: 1 s behind, over the bound of 0.8 s
  t.ok(lo.store.lagging, 'lo is marked lagging')
  t.same(lagging, [['lo', true]])
  t.ok(edge(hi.store) >= 2.0 - 1e-6 && edge(aud.store) >= 2.0 - 0.03, `the others are published (${edge(hi.store)}, ${edge(aud.store)})`)
  lo.feed(1.6)
  t.ok(lo.store.lagging, 'still behind')
  near(t, edge(lo.store), 1.6, 'its own parts go out as they come')
  lo.feed(2.0)
  t.notOk(lo.store.lagging, 'caught up: waited for again')
  t.same(lagging, [['lo', true], ['lo', false]])
  hi.feed(2.6)
  t.ok(edge(hi.store) <= 2.0 + PART + 1e-6, 'and the others are held for it again')
})

t.test('a rendition that never starts holds the others only up to the bound', async (t) => {
  const { hi, aud, lo } = session()
  together(0.4, hi, aud)
  near(t, edge(hi.store), 0.2, 'held within one part of where lo is deemed to start')
  together(1.0, hi, aud)
  t.ok(lo.store.lagging, 'lo never produced: no longer waited for')
  t.equal(edge(hi.store), 1.0)
})

t.test('a stopped lane (worker gone) is not waited for; its held changes go out', async (t) => {
  const { hi, lo, aud } = session()
  together(1.0, hi, lo, aud)
  lo.feed(1.4)
  t.ok(edge(lo.store) <= 1.2 + 1e-6, 'lo a part ahead is held')
  lo.seg.flush()
  lo.lane.stop()
  near(t, edge(lo.store), 1.4, 'its last part is out when its worker is gone')
  together(1.8, hi, aud)
  near(t, edge(hi.store), 1.8, 'the others no longer wait for it')
  t.notOk(lo.store.lagging, 'a stopped rendition is not marked lagging')
})

t.test('a closed gate publishes nothing until opened; drain publishes all; 0 disables alignment', async (t) => {
  const a = session({ closed: true })
  a.hi.feed(1.0)
  a.lo.feed(1.0)
  a.aud.feed(1.0)
  t.equal(a.hi.store.segments.length, 0, 'nothing published while closed')
  t.ok(a.gate.isClosed)
  a.gate.open()
  t.equal(edge(a.hi.store), 1.0, 'everything produced is out once open')
  const b = session()
  b.hi.feed(1.4)
  b.lo.feed(1.0)
  b.gate.drain()
  t.equal(edge(b.hi.store), 1.4, 'drain publishes what was held')
  const c = session({ maxLagSeconds: 0 })
  c.hi.feed(1.4)
  c.lo.feed(0.2)
  t.equal(edge(c.hi.store), 1.4, 'with maxLagSeconds 0 nobody waits')
  t.notOk(c.lo.store.lagging)
})

t.test('a segment\'s end is never published in the same burst as the part before it (hls.js bufferPadding)', async (t) => {
  const { hi, aud } = session({ segmentEndGapMs: 60 })
  const segEndPublished = (): boolean => aud.store.segment(1)?.complete === true
  together(1.8, hi, aud)
  // The rest of segment 1 at once, as a worker writing several parts in one chunk. The
  // clock starts before the feed that publishes the part before the end: the gap runs from
  // that part, and the feeds themselves can take several ms on a loaded box.
  const heldAt = performance.now()
  aud.feed(2.05)
  hi.feed(2.05)
  const parts = aud.store.segment(1)!.parts.length
  t.notOk(segEndPublished(), `audio segment 1 not yet complete (${parts} parts out, the last held back)`)
  await new Promise((r) => setTimeout(r, 30))
  t.notOk(segEndPublished(), 'still held 30 ms later')
  await waitUntil(segEndPublished, 1000)
  const after = performance.now() - heldAt
  t.ok(after >= 55, `published ${after.toFixed(0)} ms after the part before it`)
  t.equal(aud.store.segment(1)!.parts.length, parts + 1, 'with its last part')
  t.ok(hi.store.segment(1)?.complete, 'video too')
  // At real-time pace nothing waits: parts are a part target apart.
  const b = session({ segmentEndGapMs: 60 })
  together(1.8, b.hi, b.lo)
  together(1.84, b.aud) // audio's part before the last ends at 1.835 s
  await new Promise((r) => setTimeout(r, 80))
  together(2.05, b.hi, b.lo, b.aud)
  t.ok(b.aud.store.segment(1)?.complete, 'a segment end long after the part before it goes out at once')
  t.ok(b.hi.store.segment(1)?.complete)
})

async function waitUntil(ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 5))
  }
}

t.test('a change that throws is reported and dropped; the other renditions\' changes still go out', async (t) => {
  const errors: string[] = []
  const { gate, hi, lo } = session({ onError: (r) => errors.push(r) })
  together(1.0, hi, lo)
  const bad = gate.lane(new RenditionStore('bad', { targetDuration: 2, partTarget: PART, windowSeconds: 30 }, 1))
  bad.publish(1.2, true, () => { throw new Error('broken') })
  t.same(errors, ['bad'], 'reported under its rendition')
  together(1.4, hi, lo)
  near(t, edge(hi.store), 1.4, 'the others go on')
  near(t, edge(lo.store), 1.4, 'all of them')
})
