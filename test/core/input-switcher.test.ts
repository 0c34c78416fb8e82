/**
 * The switcher carries out the policy's decisions on real tag streams: the other input's
 * held GOP goes on air at a loss, its sequence headers first, its timestamps rebased to
 * follow what was on air; the primary returns at its key frame; the slate fills a hole
 * with no input; a clean unpublish with nothing else connected ends the stream.
 */
import t from 'tap'
import { InputSwitch } from '../../src/core/input-switch.js'
import { InputSwitcher, type SlateFeed } from '../../src/core/input-switcher.js'
import { newSource, type MediaSource } from '../../src/core/media-source.js'
import type { MediaTag } from '../../src/ingest/types.js'
import { silentLogger } from '../../src/log/logger.js'

const seqV = (id: number): Buffer => Buffer.from([0x17, 0x00, 0, 0, 0, 1, 0x42, 0xc0, id, 0xff])
const frame = (key: boolean, id: number): Buffer => Buffer.from([key ? 0x17 : 0x27, 0x01, 0, 0, 0, 0, 0, 0, 1, id])
const seqA = Buffer.from([0xaf, 0x00, 0x11, 0x90])
const aac = (id: number): Buffer => Buffer.from([0xaf, 0x01, id])

function rig(slateMaxSeconds = 60) {
  let clock = 0
  const policy = new InputSwitch({ now: () => clock, lossMs: 500, return: 'primary', returnAfterMs: 10_000, slateMaxSeconds })
  const out: Array<{ tag: MediaTag; from: string }> = []
  const switches: string[] = []
  let ended: string | undefined
  let slateFeed: { onTag: (t: MediaTag) => void; stopped: boolean } | undefined
  const slate = (): SlateFeed => {
    const f = { onTag: (_t: MediaTag) => {}, stopped: false }
    slateFeed = f
    return { start: (onTag) => { f.onTag = onTag }, stop: () => { f.stopped = true } }
  }
  const sw = new InputSwitcher({ policy, log: silentLogger(), tickMs: 0, slate, onSwitch: (s) => switches.push(`${s.from}>${s.to}:${s.cause}`) })
  sw.onAirTag = (tag, source) => out.push({ tag, from: source?.role ?? 'slate' })
  sw.onEnd = (r) => { ended = r }
  /** An encoder: 25 fps video, a key frame every `gop` frames, an audio frame per video frame; its own clock starts at `ts0`. */
  const encoder = (src: MediaSource, id: number, ts0: number, gop = 25) => {
    let n = 0
    sw.write(src, { kind: 'video', timestamp: ts0, data: seqV(id), arrival: clock })
    sw.write(src, { kind: 'audio', timestamp: ts0, data: seqA, arrival: clock })
    return () => {
      const ts = ts0 + n * 40
      sw.write(src, { kind: 'video', timestamp: ts, data: frame(n % gop === 0, id), arrival: clock })
      sw.write(src, { kind: 'audio', timestamp: ts + 5, data: aac(id), arrival: clock })
      n++
    }
  }
  const run = (ms: number, ...senders: Array<() => void>) => {
    for (let i = 0; i < ms / 40; i++) {
      clock += 40
      for (const s of senders) s()
      if (i % 2 === 0) sw.tick()
    }
  }
  return { sw, out, switches, run, encoder, ended: () => ended, slate: () => slateFeed, advance: (ms: number) => { clock += ms }, now: () => clock }
}

const videoTs = (out: Array<{ tag: MediaTag }>): number[] => out.filter((o) => o.tag.kind === 'video' && o.tag.data[1] === 1).map((o) => o.tag.timestamp)
const monotonic = (xs: number[]): boolean => xs.every((x, i) => i === 0 || x > xs[i - 1]!)

t.test('loss of the primary: the backup\'s held GOP goes on air, headers first, on the same timeline', async (t) => {
  const r = rig()
  const p = newSource('rtmp', 'primary', 'p')
  const b = newSource('srt', 'backup', 'b')
  t.same(r.sw.attach(p), { ok: true })
  t.same(r.sw.attach(b), { ok: true })
  t.match(r.sw.attach(newSource('rtmp', 'backup', 'b2')), { ok: false, reason: /backup input is already connected/ }, 'a second backup is refused')
  const sendP = r.encoder(p, 1, 0)
  const sendB = r.encoder(b, 2, 900_000) // an unrelated clock
  r.run(2000, sendP, sendB)
  t.same(r.switches, ['none>primary:start'])
  t.ok(r.out.every((o) => o.from === 'primary'), 'only the primary on air')
  t.equal(r.out[0]!.tag.data[1], 0, 'its sequence header first')
  const before = r.out.length
  const lastTs = Math.max(...videoTs(r.out))
  r.run(800, sendB) // the primary goes silent
  t.same(r.switches, ['none>primary:start', 'primary>backup:loss'])
  const spliced = r.out.slice(before)
  t.ok(spliced.every((o) => o.from === 'backup'))
  t.same(spliced.slice(0, 2).map((o) => [o.tag.kind, o.tag.data[1]]), [['video', 0], ['audio', 0]], 'the backup\'s video and audio headers lead')
  t.equal(spliced[0]!.tag.data[8], 2, 'its own SPS')
  t.equal(spliced[2]!.tag.data[0], 0x17, 'then its held key frame')
  const ts = videoTs(r.out)
  t.ok(monotonic(ts), 'video timestamps keep increasing across the splice')
  t.ok(spliced[2]!.tag.timestamp > lastTs && spliced[2]!.tag.timestamp < lastTs + 2000, `rebased to follow the primary (${lastTs} → ${spliced[2]!.tag.timestamp}), not the backup's clock`)
  t.equal(r.ended(), undefined)
})

t.test('the primary returns at its key frame after returnAfterMs; then a both-down slate and recovery', async (t) => {
  const r = rig()
  const p = newSource('rtmp', 'primary', 'p')
  const b = newSource('rtmp', 'backup', 'b')
  r.sw.attach(p)
  r.sw.attach(b)
  const sendB = r.encoder(b, 2, 5000)
  r.run(1000, sendB)
  t.same(r.switches, ['none>backup:start'], 'a backup that comes first goes on air')
  const sendP = r.encoder(p, 1, 0)
  r.run(9000, sendP, sendB)
  t.equal(r.sw.onAir, 'backup', 'not before the primary was healthy for 10 s')
  r.run(2000, sendP, sendB)
  t.same(r.switches.at(-1), 'backup>primary:return')
  const firstP = r.out.findIndex((o) => o.from === 'primary')
  t.equal(r.out[firstP + 2]!.tag.data[0], 0x17, 'at a key frame of the primary')
  t.ok(monotonic(videoTs(r.out)), 'monotonic through the return')

  r.run(1000) // both silent
  t.same(r.switches.at(-1), 'primary>slate:loss')
  const slate = r.slate()!
  let n = 0
  const sendSlate = () => {
    if (n === 0) slate.onTag({ kind: 'video', timestamp: 0, data: seqV(9), arrival: 0 })
    slate.onTag({ kind: 'video', timestamp: n * 40, data: frame(n % 25 === 0, 9), arrival: 0 })
    n++
  }
  r.run(2000, sendSlate)
  t.ok(r.out.some((o) => o.from === 'slate' && o.tag.data[1] === 1), 'slate frames on air')
  r.run(1200, sendSlate, sendP)
  t.same(r.switches.at(-1), 'slate>primary:recovered')
  t.ok(slate.stopped, 'the slate stopped once an input was back')
  t.ok(monotonic(videoTs(r.out)), 'monotonic through slate entry and exit')
})

t.test('a clean unpublish with nothing else connected ends the stream at once; a lost one goes to the slate', async (t) => {
  const a = rig()
  const p = newSource('rtmp', 'primary', 'p')
  a.sw.attach(p)
  a.run(1000, a.encoder(p, 1, 0))
  a.sw.detach(p, 'unpublished', true)
  t.match(a.ended(), /unpublished/, 'ended')

  const b = rig()
  const q = newSource('rtmp', 'primary', 'p')
  b.sw.attach(q)
  b.run(1000, b.encoder(q, 1, 0))
  b.sw.detach(q, 'connection reset')
  t.equal(b.ended(), undefined, 'not ended')
  t.equal(b.sw.onAir, 'slate')

  const c = rig(0)
  const s = newSource('rtmp', 'primary', 'p')
  c.sw.attach(s)
  c.run(1000, c.encoder(s, 1, 0))
  c.sw.detach(s, 'connection reset')
  t.match(c.ended(), /every input is gone/, 'without a slate, a lost last input ends the stream')
})

t.test('without a slate, a silent but connected input keeps the air and the stream waits for it', async (t) => {
  const r = rig(0)
  const p = newSource('rtmp', 'primary', 'p')
  r.sw.attach(p)
  const send = r.encoder(p, 1, 0)
  r.run(1000, send)
  r.run(3000) // three seconds of silence: a frozen encoder, a network hiccup
  t.equal(r.ended(), undefined, 'not ended')
  t.equal(r.sw.onAir, 'primary', 'still on air')
  const before = r.out.length
  r.run(500, send)
  t.ok(r.out.length > before, 'its media goes on air again when it resumes')
  r.sw.detach(p, 'connection reset')
  t.match(r.ended(), /every input is gone/, 'its connection closing ends the stream')
})

t.test('dates stay true: a held GOP runs the timeline ahead by its age, a fresh key frame after a hole takes it back', async (t) => {
  const r = rig()
  const p = newSource('rtmp', 'primary', 'p')
  const b = newSource('rtmp', 'backup', 'b')
  r.sw.attach(p)
  r.sw.attach(b)
  const sendP = r.encoder(p, 1, 0)
  const sendB = r.encoder(b, 2, 50_000, 50) // a 2 s GOP
  r.run(3000, sendP, sendB)
  // The timeline's clock: arrival − timestamp of what is on air (the rig's tags arrive at `clock`).
  const ahead = (): number => { const v = r.out.filter((o) => o.tag.kind === 'video' && o.tag.data[1] === 1).at(-1)!.tag; return v.timestamp - v.arrival }
  const at0 = ahead()
  r.run(1400, sendB) // the primary goes silent; the backup's held GOP is ~1 s old at the switch
  t.same(r.switches.at(-1), 'primary>backup:loss')
  const gained = ahead() - at0
  t.ok(gained > 300 && gained < 2100, `after the held GOP the timeline runs ahead by its age (${gained} ms)`)
  r.run(1200) // both silent: the slate comes
  const slate = r.slate()!
  let n = 0
  r.run(200, () => {
    if (n === 0) slate.onTag({ kind: 'video', timestamp: 0, data: seqV(9), arrival: r.now() })
    slate.onTag({ kind: 'video', timestamp: n * 40, data: frame(n % 25 === 0, 9), arrival: r.now() })
    n++
  })
  t.same(r.switches.at(-1), 'backup>slate:loss')
  // The slate's key frame arrived in real time after a hole longer than the lead: it goes where its arrival puts it.
  const first = r.out.find((o) => o.from === 'slate' && o.tag.data[1] === 1)!
  t.ok(Math.abs(first.tag.timestamp - (first.tag.arrival + (r.out[0]!.tag.timestamp - r.out[0]!.tag.arrival))) <= 40, 'the slate\'s key frame is back on the wall clock (the lead taken back)')
})
