/**
 * LL-HLS conformance with two renditions (draft-pantos-hls-rfc8216bis 4.4.5.4
 * EXT-X-RENDITION-REPORT, 6.2.4, Appendix B.1). The origin has one rendition
 * per stream for now, so this builds the stream by hand: two RenditionStores
 * in one LiveStream, fed by Segmenters from synthetic samples (30 and 15 fps,
 * 2 s GOP, one shared clock), served by the real HttpServer.
 */
import t from 'tap'
import { HttpServer } from '../../src/http/server.js'
import { Metrics } from '../../src/log/metrics.js'
import { silentLogger } from '../../src/log/logger.js'
import { LiveStream, StreamDirectory } from '../../src/packager/live-stream.js'
import { RenditionStore } from '../../src/packager/rendition-store.js'
import { Segmenter } from '../../src/packager/segmenter.js'
import type { Sample, TrackInfo } from '../../src/media/types.js'
import type { InitRecord } from '../../src/packager/types.js'
import { model, assertParses, get, sleep, hintOf, type Playlist } from '../helpers/conformance.js'

const CLOCK0 = 1_800_000_000_000
const timing = { targetDuration: 2, partTarget: 0.5, windowSeconds: 30 }

function initFor(name: string, width: number, height: number, hash: string): InitRecord {
  const video: TrackInfo = { id: 1, kind: 'video', timescale: 1000, codec: 'avc1.64001f', width, height, language: 'und' }
  return { data: Buffer.from(`init-${name}-${hash}`), hash, tracks: [video] }
}

/** One rendition: its store, its segmenter, and a frame clock at `fps` with a 2 s GOP. */
class Rendition {
  readonly store: RenditionStore
  private seg: Segmenter
  private frame = 0
  private readonly fps: number
  private readonly size: number
  private readonly name: string
  private readonly dims: [number, number]

  constructor(name: string, fps: number, dims: [number, number], size: number) {
    this.name = name
    this.fps = fps
    this.size = size
    this.dims = dims
    this.store = new RenditionStore(name, timing, 1000)
    this.seg = this.segmenter(initFor(name, dims[0], dims[1], `${name}1`), CLOCK0)
  }

  private segmenter(init: InitRecord, clock0: number): Segmenter {
    return new Segmenter(this.store, init, { segmentTarget: 2, wallClockAt: (s) => clock0 + s * 1000, logger: silentLogger() })
  }

  /** Push frames up to media time `seconds` (exclusive) of the current epoch. */
  until(seconds: number): void {
    const out: Sample[] = []
    while (this.frame / this.fps < seconds - 1e-9) {
      const i = this.frame++
      const dts = Math.round((i * 1000) / this.fps)
      const next = Math.round(((i + 1) * 1000) / this.fps)
      out.push({ trackId: 1, dts, duration: next - dts, cts: 0, sync: i % (this.fps * 2) === 0, data: Buffer.alloc(this.size, i % 256) })
    }
    this.seg.push(out)
  }

  /** End this epoch and start a new one (encoder restart) whose media time 0 is `clock0`. */
  restart(clock0: number): void {
    this.seg.flush()
    this.frame = 0
    this.seg = this.segmenter(initFor(this.name, this.dims[0], this.dims[1], `${this.name}2`), clock0)
  }
}

t.test('LL-HLS with two renditions', async (t) => {
  const hi = new Rendition('hi', 30, [640, 360], 2000)
  const lo = new Rendition('lo', 15, [320, 180], 600)
  const stream = new LiveStream('multi')
  stream.addRendition(hi.store)
  stream.addRendition(lo.store)
  stream.state = 'live'
  const directory = new StreamDirectory()
  directory.add(stream)
  const server = new HttpServer({ directory, metrics: new Metrics({ defaultMetrics: false }), logger: silentLogger(), targetDuration: 2 })
  const port = await server.listen('127.0.0.1', 0)
  t.teardown(() => server.close())
  const base = `http://127.0.0.1:${port}/live/multi`
  const both = (s: number): void => { hi.until(s); lo.until(s) }
  const playlist = async (name: string, query = ''): Promise<Playlist> => model((await get(`${base}/${name}/index.m3u8${query}`)).text)

  both(9.25) // four complete segments and one part of the fifth in each rendition

  t.test('rfc8216bis B.1 + 4.4.5.4: one EXT-X-RENDITION-REPORT per other rendition, with a relative URI that resolves', async (t) => {
    for (const [self, other] of [['hi', 'lo'], ['lo', 'hi']]) {
      const p = await playlist(self!)
      t.equal(p.reports.length, 1, `${self}: one report (for ${other}; none for itself)`)
      const r = p.reports[0]!
      t.equal(r.URI, `../${other}/index.m3u8`, `${self}: URI relative to the media playlist`)
      const resolved = new URL(r.URI!, `${base}/${self}/index.m3u8`).href
      t.equal((await get(resolved)).status, 200, `${self}: the report URI resolves to ${other}'s playlist`)
    }
  })

  t.test('rfc8216bis 4.4.5.4: LAST-MSN and LAST-PART name the other rendition\'s last segment and part', async (t) => {
    for (const [self, other] of [['hi', lo], ['lo', hi]] as const) {
      const p = await playlist(self)
      const e = other.store.edge()!
      t.equal(Number(p.reports[0]!['LAST-MSN']), e.msn, `${self}: LAST-MSN`)
      t.equal(Number(p.reports[0]!['LAST-PART']), e.part, `${self}: LAST-PART`)
      const own = await playlist(other.store.name)
      const lastListed = own.segments.at(-1)!.parts.at(-1)!
      t.equal(`${p.reports[0]!['LAST-MSN']}.${p.reports[0]!['LAST-PART']}.m4s`, lastListed.uri, `${self}: matches the last part ${other.store.name}'s own playlist lists`)
    }
  })

  t.test('rfc8216bis 4.4.5.4: a report is as up to date as the playlist that carries it', async (t) => {
    lo.until(9.75) // lo gains a part; hi does not
    const p = await playlist('hi')
    t.equal(`${p.reports[0]!['LAST-MSN']}.${p.reports[0]!['LAST-PART']}`, `${lo.store.edge()!.msn}.${lo.store.edge()!.part}`, 'hi reports lo\'s newest part')
    hi.until(9.75)
  })

  t.test('rfc8216bis 4.4.5.4 + 6.2.5.2: blocking responses carry current reports', async (t) => {
    const h = hintOf(await playlist('hi'))!
    const pending = get(`${base}/hi/index.m3u8?_HLS_msn=${h.msn}&_HLS_part=${h.part}`)
    await sleep(50)
    lo.until(10.25) // lo first, so hi's answer must already see lo's new part
    hi.until(10.25)
    const r = await pending
    t.equal(r.status, 200)
    const p = model(r.text)
    t.ok(p.segments.flatMap((s) => s.parts).some((x) => x.uri === h.uri), `answer lists ${h.uri}`)
    const e = lo.store.edge()!
    t.equal(`${p.reports[0]!['LAST-MSN']}.${p.reports[0]!['LAST-PART']}`, `${e.msn}.${e.part}`, 'report of lo at answer time')
  })

  t.test('rfc8216bis 6.2.4: every media playlist has the same TARGETDURATION and the same SERVER-CONTROL', async (t) => {
    const a = await playlist('hi')
    const b = await playlist('lo')
    t.equal(a.targetDuration, b.targetDuration)
    t.equal(a.header.get('EXT-X-SERVER-CONTROL'), b.header.get('EXT-X-SERVER-CONTROL'))
    t.equal(a.header.get('EXT-X-PART-INF'), b.header.get('EXT-X-PART-INF'))
  })

  t.test('rfc8216bis 6.2.4 + B.1: matching segments have the same number, duration and PROGRAM-DATE-TIME in every rendition', async (t) => {
    const a = await playlist('hi')
    const b = await playlist('lo')
    const complete = a.segments.filter((s) => s.uri)
    t.ok(complete.length >= 4)
    for (const s of complete) {
      const o = b.segments.find((x) => x.msn === s.msn)
      t.ok(o, `segment ${s.msn} in both`)
      if (!o) continue
      t.equal(o.pdt, s.pdt, `segment ${s.msn}: same PROGRAM-DATE-TIME`)
      t.ok(Math.abs(o.duration! - s.duration!) < 0.001, `segment ${s.msn}: same EXTINF (${s.duration} / ${o.duration})`)
    }
  })

  t.test('rfc8216bis 6.2.4: an encoder restart puts the discontinuity at the same segment in every rendition', async (t) => {
    both(12)
    hi.restart(CLOCK0 + 20_000)
    lo.restart(CLOCK0 + 20_000)
    both(8.25)
    const a = await playlist('hi')
    const b = await playlist('lo')
    const da = a.segments.filter((s) => s.discontinuity).map((s) => s.msn)
    const db = b.segments.filter((s) => s.discontinuity).map((s) => s.msn)
    t.equal(da.length, 1, 'one discontinuity')
    t.same(da, db, 'at the same msn')
    t.equal(a.discontinuitySequence, b.discontinuitySequence, 'same DISCONTINUITY-SEQUENCE')
    const first = a.segments.find((s) => s.discontinuity)!
    t.equal(first.pdt, b.segments.find((s) => s.discontinuity)!.pdt, 'same PROGRAM-DATE-TIME after it')
  })

  t.test('rfc8216bis 4.4.5.2: a delta update that skips past a discontinuity keeps DISCONTINUITY-SEQUENCE and carries the reports', async (t) => {
    both(16.25) // the discontinuity is now more than 12 s (CAN-SKIP-UNTIL) from the end
    const full = await playlist('hi')
    const delta = await playlist('hi', '?_HLS_skip=YES')
    t.ok(delta.skipped > 0, `SKIPPED-SEGMENTS=${delta.skipped}`)
    const disc = full.segments.find((s) => s.discontinuity)!
    t.ok(disc && disc.msn < full.mediaSequence + delta.skipped, `the discontinuity (${disc?.msn}) lies past the Skip Boundary and is skipped`)
    t.equal(delta.discontinuitySequence, full.discontinuitySequence, '"Replacing segments with the EXT-X-SKIP tag does not change the value of EXT-X-DISCONTINUITY-SEQUENCE"')
    t.same(delta.reports, full.reports, 'the same rendition reports')
    assertParses(t, delta.text, 'delta update with a rendition report')
  })

  t.test('rfc8216bis 4.4.6.2 + 6.2.4: the multivariant playlist lists both renditions with BANDWIDTH, CODECS, RESOLUTION and FRAME-RATE', async (t) => {
    const r = await get(`${base}/index.m3u8`)
    t.equal(r.status, 200)
    const p = assertParses(t, r.text, 'multivariant playlist')
    t.equal(p?.variants?.length, 2)
    const byUri = new Map<string, any>(p.variants.map((v: any) => [v.uri, v]))
    t.same(byUri.get('hi/index.m3u8')?.resolution, { width: 640, height: 360 })
    t.same(byUri.get('lo/index.m3u8')?.resolution, { width: 320, height: 180 })
    t.ok(Math.abs(byUri.get('hi/index.m3u8')?.frameRate - 30) < 0.1, 'hi FRAME-RATE 30')
    t.ok(Math.abs(byUri.get('lo/index.m3u8')?.frameRate - 15) < 0.1, 'lo FRAME-RATE 15')
    t.ok(byUri.get('hi/index.m3u8')?.bandwidth > byUri.get('lo/index.m3u8')?.bandwidth, 'BANDWIDTH orders the ladder')
    for (const v of p.variants) t.match(v.codecs, /avc1/, `${v.uri}: CODECS`)
  })

  t.test('rfc8216bis 4.4 + 8: hls-parser (strict) and m3u8-parser accept both media playlists with their reports', async (t) => {
    for (const name of ['hi', 'lo']) {
      const text = (await get(`${base}/${name}/index.m3u8`)).text
      const p = assertParses(t, text, `${name} media playlist`)
      t.equal(p?.renditionReports?.length, 1, `${name}: hls-parser reads one rendition report`)
    }
  })
})
