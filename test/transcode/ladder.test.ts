/**
 * planLadder, seedRung, rungCost and SEEDS: table tests over common, odd and
 * vertical source sizes, the 2G rung, and the pixel-budget and rung-count caps.
 */
import t from 'tap'
import { rungsFromSpecs } from '../../src/transcode/ladder-spec.js'
import {
  planLadder, rungCost, rungName, seedRung, SEEDS, type LadderOptions, type Rung, type SourceVideo, type VideoRung,
} from '../../src/transcode/ladder.js'

const FPS = 30
const src = (width: number, height: number, fps = FPS): SourceVideo => ({ width, height, fps })
const opts = (copyTop: boolean, o: Partial<LadderOptions> = {}): LadderOptions =>
  ({ preset: 'veryfast', copyTop, pixelBudget: 1e12, maxRungs: 8, ...o })
/** A ladder as `copy NAME` / `NAME WxH` strings, top first. */
const show = (rungs: Rung[]): string[] => rungs.map((r) => (r.kind === 'copy' ? `copy ${r.name}` : `${r.name} ${r.width}x${r.height}`))
const videoOf = (rungs: Rung[]): VideoRung[] => rungs.filter((r): r is VideoRung => r.kind === 'video')
const costOf = (rungs: VideoRung[], s: SourceVideo): number => rungs.reduce((a, r) => a + rungCost(r, s), 0)
const is2G = (r: VideoRung): boolean => r.bitrate === 200 && r.fpsCap === 15 && r.profile === 'baseline'

const LANDSCAPE_BELOW_1080 = ['720p 1280x720', '480p 854x480', '360p 640x360', '240p 426x240']

/**
 * The correct ladder of each source, encoded top (copyTop false) and copied top.
 * The top rung is the source at its own size, as planLadder's doc comment says;
 * vertical video is laddered on its short side, as landscape video is.
 */
const TABLE: Array<{ name: string; source: SourceVideo; encoded: string[]; copied: string[] }> = [
  { name: '2160p', source: src(3840, 2160), encoded: ['2160p 3840x2160', '1080p 1920x1080', ...LANDSCAPE_BELOW_1080],
    copied: ['copy 2160p', '1080p 1920x1080', ...LANDSCAPE_BELOW_1080] },
  { name: '1080p', source: src(1920, 1080), encoded: ['1080p 1920x1080', ...LANDSCAPE_BELOW_1080], copied: ['copy 1080p', ...LANDSCAPE_BELOW_1080] },
  { name: '720p', source: src(1280, 720), encoded: LANDSCAPE_BELOW_1080, copied: ['copy 720p', ...LANDSCAPE_BELOW_1080.slice(1)] },
  { name: '960x540 (not a seed height)', source: src(960, 540), encoded: ['540p 960x540', ...LANDSCAPE_BELOW_1080.slice(1)],
    copied: ['copy 540p', ...LANDSCAPE_BELOW_1080.slice(1)] },
  { name: '360p', source: src(640, 360), encoded: LANDSCAPE_BELOW_1080.slice(2), copied: ['copy 360p', '240p 426x240'] },
  // A copied 240p source can be any bitrate and frame rate: 2G viewers still need the 200 kbit/s rung.
  { name: '426x240', source: src(426, 240), encoded: ['240p 426x240'], copied: ['copy 240p', '240p 426x240'] },
  { name: '320x180 (smaller than every seed)', source: src(320, 180), encoded: ['180p 320x180'], copied: ['copy 180p'] },
  { name: 'vertical 720x1280', source: src(720, 1280), encoded: ['720p 720x1280', '480p 480x854', '360p 360x640', '240p 240x426'],
    copied: ['copy 720p', '480p 480x854', '360p 360x640', '240p 240x426'] },
  { name: '1366x768', source: src(1366, 768), encoded: ['768p 1366x768', ...LANDSCAPE_BELOW_1080], copied: ['copy 768p', ...LANDSCAPE_BELOW_1080] },
  // Odd height below every seed: rounding to even must go down, never up.
  { name: '321x181 (odd, smaller than every seed)', source: src(321, 181), encoded: ['180p 320x180'], copied: ['copy 180p'] },
]

t.test('SEEDS: 2160p down to a ~200 kbit/s, 15 fps 2G rung', async (t) => {
  t.same(SEEDS.map((s) => s.height), [2160, 1080, 720, 480, 360, 240])
  for (let i = 1; i < SEEDS.length; i++) t.ok(SEEDS[i]!.bitrate < SEEDS[i - 1]!.bitrate, `${SEEDS[i]!.height}p costs fewer bits than the one above`)
  const last = SEEDS[SEEDS.length - 1]!
  t.same({ bitrate: last.bitrate, fpsCap: last.fpsCap, profile: last.profile }, { bitrate: 200, fpsCap: 15, profile: 'baseline' })
  t.equal(SEEDS.filter((s) => s.fpsCap !== undefined).length, 1, 'only the 2G rung caps the frame rate')
})

t.test('rungName', async (t) => {
  t.equal(rungName(480), '480p')
  t.equal(rungName(2160), '2160p')
})

t.test('seedRung: aspect ratio, even sizes, bitrate, maxrate, bufsize', async (t) => {
  const seed720 = SEEDS.find((s) => s.height === 720)!
  t.same(seedRung(seed720, src(1920, 1080), 'fast'), {
    kind: 'video', name: '720p', width: 1280, height: 720, bitrate: 2800, maxrate: 3080, bufsize: 5600, profile: 'high', fpsCap: undefined, preset: 'fast',
  })
  const seed240 = SEEDS[SEEDS.length - 1]!
  t.same(seedRung(seed240, src(1366, 768), 'veryfast'), {
    kind: 'video', name: '240p', width: 426, height: 240, bitrate: 200, maxrate: 220, bufsize: 400, profile: 'baseline', fpsCap: 15, preset: 'veryfast',
  }, '240 × 1366 / 768 = 426.9: even, within a pixel or two')
  const seed480 = SEEDS.find((s) => s.height === 480)!
  const r = seedRung(seed480, src(1920, 800), 'veryfast')
  t.same([r.width, r.height], [1152, 480], '2.4:1 scope source')
  t.same([seedRung(seed480, src(640, 360), 'x').width, seedRung(seed480, src(640, 360), 'x').height], [640, 360],
    'a seed taller than the source is clamped to the source height')
})

t.test('rungCost: pixels per second at the rung frame rate', async (t) => {
  const seed720 = SEEDS.find((s) => s.height === 720)!
  const seed240 = SEEDS[SEEDS.length - 1]!
  const s = src(1920, 1080, 30)
  t.equal(rungCost(seedRung(seed720, s, 'x'), s), 1280 * 720 * 30)
  t.equal(rungCost(seedRung(seed240, s, 'x'), s), 426 * 240 * 15, 'the 2G rung is paid at 15 fps')
  const slow = src(1920, 1080, 10)
  t.equal(rungCost(seedRung(seed240, slow, 'x'), slow), 426 * 240 * 10, 'a 10 fps source is not raised to the cap')
  t.equal(rungCost(seedRung(seed720, slow, 'x'), slow), 1280 * 720 * 10)
})

t.test('planLadder table', async (t) => {
  for (const c of TABLE) {
    t.same(show(planLadder(c.source, opts(false))), c.encoded, `${c.name}, copyTop false`)
    t.same(show(planLadder(c.source, opts(true))), c.copied, `${c.name}, copyTop true`)
  }
})

t.test('planLadder: with copyTop false the top rung is the source at its own size', async (t) => {
  for (const c of TABLE) {
    const top = planLadder(c.source, opts(false))[0]
    const want = [c.source.width - (c.source.width % 2), c.source.height - (c.source.height % 2)]
    t.same(top && top.kind === 'video' ? [top.width, top.height] : top, want, `${c.name}: ${show(planLadder(c.source, opts(false)))[0]}`)
  }
})

t.test('planLadder invariants over every source', async (t) => {
  for (const c of TABLE) {
    for (const copyTop of [false, true]) {
      const rungs = planLadder(c.source, opts(copyTop))
      const label = `${c.name}, copyTop ${copyTop}`
      t.equal(rungs.filter((r) => r.kind === 'copy').length, copyTop ? 1 : 0, `${label}: ${copyTop ? 'one copy rung, on top' : 'no copy rung'}`)
      if (copyTop) t.equal(rungs[0]?.kind, 'copy', `${label}: the copy is first`)
      const video = videoOf(rungs)
      t.equal(new Set(video.map((r) => r.name)).size, video.length, `${label}: encoded rung names are unique`)
      t.ok(copyTop || video.length > 0, `${label}: something to play`)
      for (const r of video) {
        const at = `${label}, ${r.name} ${r.width}x${r.height}`
        t.ok(r.width <= c.source.width && r.height <= c.source.height, `${at}: never upscales`)
        t.ok(r.width % 2 === 0 && r.height % 2 === 0 && r.width > 0 && r.height > 0, `${at}: even sizes`)
        t.ok(Math.abs(r.width - (r.height * c.source.width) / c.source.height) <= 2, `${at}: aspect ratio kept within 2 px`)
        t.match(r.name, /^\d+p$/, `${at}: named like 480p`)
        t.equal(r.maxrate, Math.round(r.bitrate * 1.1), `${at}: maxrate`)
        t.equal(r.bufsize, r.bitrate * 2, `${at}: bufsize`)
        t.equal(r.preset, 'veryfast', `${at}: preset`)
      }
      for (let i = 1; i < video.length; i++) {
        t.ok(video[i]!.height < video[i - 1]!.height && video[i]!.bitrate <= video[i - 1]!.bitrate,
          `${label}: ${video[i]!.name} is below ${video[i - 1]!.name}`)
      }
    }
  }
})

t.test('planLadder: the 2G rung (~200 kbit/s, 15 fps) is there for every source at least 240 on its short side', async (t) => {
  for (const c of TABLE) {
    for (const copyTop of [false, true]) {
      const video = videoOf(planLadder(c.source, opts(copyTop)))
      const g = video.filter(is2G)
      const label = `${c.name}, copyTop ${copyTop}`
      if (Math.min(c.source.width, c.source.height) >= 240) {
        t.equal(g.length, 1, `${label}: one 2G rung`)
        t.equal(video[video.length - 1], g[0], `${label}: the 2G rung is the bottom`)
        t.equal(Math.min(g[0]?.width ?? 0, g[0]?.height ?? 0), 240, `${label}: 240 on its short side`)
      } else {
        t.ok(video.every((r) => r.width <= c.source.width && r.height <= c.source.height), `${label}: nothing made up above the source`)
      }
    }
  }
})

t.test('planLadder: vertical video gets the ladder of its landscape twin, turned', async (t) => {
  for (const copyTop of [false, true]) {
    const land = planLadder(src(1280, 720), opts(copyTop))
    const vert = planLadder(src(720, 1280), opts(copyTop))
    t.equal(vert.length, land.length, `copyTop ${copyTop}: as many rungs`)
    t.same(show(vert).map((s) => s.replace(/(\d+)x(\d+)$/, '$2x$1')), show(land), `copyTop ${copyTop}: same names, sizes swapped`)
    t.same(videoOf(vert).map((r) => r.bitrate), videoOf(land).map((r) => r.bitrate), `copyTop ${copyTop}: same bitrates`)
  }
})

t.test('planLadder: the pixel budget drops the most expensive rungs first and keeps the smallest', async (t) => {
  for (const source of [src(1920, 1080), src(3840, 2160), src(1366, 768)]) {
    for (const copyTop of [false, true]) {
      const full = planLadder(source, opts(copyTop))
      const fullVideo = videoOf(full)
      const costs = fullVideo.map((r) => rungCost(r, source))
      // Every budget at, and one pixel/s under, each suffix's total cost; and zero.
      const budgets = [0, ...fullVideo.map((_, i) => costOf(fullVideo.slice(i), source)).flatMap((c) => [c - 1, c])]
      for (const budget of budgets) {
        const got = planLadder(source, opts(copyTop, { pixelBudget: budget }))
        const video = videoOf(got)
        const label = `${source.width}x${source.height}, copyTop ${copyTop}, budget ${budget}`
        t.same(show(video), show(fullVideo.slice(fullVideo.length - video.length)), `${label}: the cheapest rungs are kept`)
        t.ok(video.length >= 1, `${label}: the smallest rung always stays`)
        t.ok(video.length === 1 || costOf(video, source) <= budget, `${label}: within budget`)
        const next = costs[fullVideo.length - video.length - 1]
        t.ok(next === undefined || costOf(video, source) + next > budget, `${label}: the next rung up would not fit`)
        t.equal(got[0]?.kind === 'copy', copyTop, `${label}: the copy rung costs nothing and stays`)
      }
    }
  }
  const floor = planLadder(src(1920, 1080), opts(false, { pixelBudget: 0 }))
  t.same(show(floor), ['240p 426x240'], 'budget 0: only the 2G rung')
})

t.test('planLadder: maxRungs, counting the copy rung', async (t) => {
  for (const source of [src(3840, 2160), src(1920, 1080), src(640, 360)]) {
    for (const copyTop of [false, true]) {
      const full = planLadder(source, opts(copyTop))
      for (let maxRungs = 1; maxRungs <= 8; maxRungs++) {
        const got = planLadder(source, opts(copyTop, { maxRungs }))
        const label = `${source.width}x${source.height}, copyTop ${copyTop}, maxRungs ${maxRungs}: ${show(got).join(', ')}`
        t.equal(got.length, Math.min(maxRungs, full.length), label)
        const video = videoOf(got)
        const fullVideo = videoOf(full)
        t.same(show(video), show(fullVideo.slice(fullVideo.length - video.length)), `${label}: the top encoded rungs go first`)
      }
    }
  }
})

t.test('a stated source bitrate caps the encoded rungs, scaling maxrate and bufsize with it', async (t) => {
  const source = { width: 1920, height: 1080, fps: 30 }
  const o = { preset: 'veryfast', copyTop: false, pixelBudget: 1e12, maxRungs: 8 }
  const free = planLadder(source, o)
  const capped = planLadder(source, { ...o, sourceKbps: 1500 })
  t.equal(capped.length, free.length, 'same rungs')
  for (const [i, r] of capped.entries()) {
    const f = free[i]!
    if (r.kind !== 'video' || f.kind !== 'video') continue
    t.ok(r.bitrate <= 1500, `${r.name}: ${r.bitrate} kbit/s <= the source's 1500`)
    if (f.bitrate <= 1500) t.same(r, f, `${r.name} under the source rate is untouched`)
    else t.equal(r.maxrate / r.bitrate, f.maxrate / f.bitrate, `${r.name}: maxrate keeps its ratio`)
  }
  t.same(planLadder(source, { ...o, sourceKbps: undefined }), free, 'no stated rate: no cap')
})

t.test('configured rungs: sizes from the source aspect, never upscaled, defaults filled in', async (t) => {
  const specs = [
    { name: 'src', copy: true as const },
    { name: 'uhd', height: 2160, bitrate: 14000 },
    { name: 'hd', height: 720, bitrate: 2500, profile: 'high' as const, level: '4.0', preset: 'superfast' },
    { name: 'wide', height: 360, width: 800, bitrate: 600 },
    { name: 'lo', height: 240, bitrate: 200, fpsCap: 15 },
  ]
  const { rungs, dropped } = rungsFromSpecs(specs, { width: 1920, height: 1080, fps: 30 }, 'veryfast')
  t.same(rungs.map((r) => r.name), ['src', 'hd', 'wide', 'lo'])
  t.same(dropped.map((d) => d.name), ['uhd'])
  t.match(dropped[0]!.why, /larger than the source 1920x1080/)
  const hd = rungs[1]!
  t.ok(hd.kind === 'video' && hd.width === 1280 && hd.height === 720 && hd.preset === 'superfast' && hd.level === '4.0' && hd.profile === 'high')
  t.ok(hd.kind === 'video' && hd.maxrate === 2750 && hd.bufsize === 5000, 'maxrate 1.1x, bufsize 2x by default')
  const wide = rungs[2]!
  t.ok(wide.kind === 'video' && wide.width === 800 && wide.height === 360 && wide.preset === 'veryfast', 'explicit width kept, default preset')
  const portrait = rungsFromSpecs(specs, { width: 1080, height: 1920, fps: 30 }, 'veryfast').rungs[1]!
  t.ok(portrait.kind === 'video' && portrait.width === 720 && portrait.height === 1280, 'portrait: height names the short side')
})
