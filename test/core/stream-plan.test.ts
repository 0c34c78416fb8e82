import t from 'tap'
import { metadataVideoKbps, renditionNames, wholeFrameFps, planStream, sourceFromMetadata } from '../../src/core/stream-plan.js'
import { buildConfig } from '../../src/config/load.js'
import { encodeAmf0, ecmaArray } from '../../src/formats/amf0.js'

t.test('the 2G rung runs at a whole division of the source rate where parts and segments are whole frames', async (t) => {
  const frames = (fps: number, seconds: number): number => Math.abs(fps * seconds - Math.round(fps * seconds))
  for (const [source, part, seg, want] of [
    [30, 0.5, 2, 10], [60, 0.5, 2, 12], [50, 0.5, 2, 10], [24, 0.5, 2, 12], [48, 0.5, 2, 12], [29.97, 0.5, 2, 9.99],
    [30, 0.2, 2, 15], [30, 0.334, 2, 15], [60, 0.5, 4, 12], [10, 0.5, 2, 10],
  ] as const) {
    const fps = wholeFrameFps(15, source, part, seg)
    t.equal(fps, want, `${source} fps source, ${part} s parts: ${fps} fps`)
    t.ok(Math.abs(source / fps - Math.round(source / fps)) < 0.001, `${source} / ${fps} is a whole number: one frame in ${Math.round(source / fps)} is kept`)
    t.ok(frames(fps, part) < 0.02 && frames(fps, seg) < 0.02, `${part} s parts hold ${(fps * part).toFixed(2)} frames`)
    t.ok(fps <= 15, 'never above the cap')
  }
  // No whole division fits (nor does the source's own rate): the highest one under the cap.
  t.equal(wholeFrameFps(15, 25, 0.5, 2), 12.5, '25 fps, 0.5 s parts: every other frame')
  t.equal(wholeFrameFps(15, 30, 0.25, 2), 15, '30 fps, 0.25 s parts: every other frame')
  t.equal(wholeFrameFps(15, 15, 0.5, 2), 15, 'a 15 fps source keeps every frame')
  const plan = planStream(buildConfig({ hls: { partTarget: 0.5 } }), { width: 1280, height: 720, fps: 30 }, true)
  t.equal(plan.mode === 'ladder' && plan.encoded.find((r) => r.height === 240)?.fpsCap, 10, 'the derived 240p rung of a 30 fps source runs at 10 fps')
})

t.test('source size and rate come from onMetaData when it has them', async (t) => {
  const body = encodeAmf0(['onMetaData', ecmaArray({ width: 1280, height: 720, framerate: 29.97 })])
  t.same(sourceFromMetadata(body), { width: 1280, height: 720, fps: 29.97 })
  t.same(sourceFromMetadata(encodeAmf0(['onMetaData', ecmaArray({ width: -1 })])), { width: undefined, height: undefined, fps: undefined })
  t.same(sourceFromMetadata(Buffer.from([0xff, 0x00])), {}, 'garbage is not an error')
})

t.test('a stream gets its own configured ladder, others the common one; all-too-large falls back to the derived ladder', async (t) => {
  const config = buildConfig({
    ladder: {
      rungs: [{ name: 'top', copy: true }, { name: 'mid', height: 480, bitrate: 1000 }],
      streams: { final: { rungs: [{ name: 'only', height: 360, bitrate: 600 }] }, tiny: { rungs: [{ name: 'big', height: 1080, bitrate: 5000 }] } },
    },
  })
  const source = { width: 1280, height: 720, fps: 30 }
  const names = (stream: string): string[] => renditionNames(planStream(config, source, true, { stream }))
  t.same(names('final'), ['only', 'audio'])
  t.same(names('other'), ['top', 'mid', 'audio'], 'the copy rung keeps its configured name')
  const tiny = planStream(config, source, true, { stream: 'tiny' })
  t.same(renditionNames(tiny), renditionNames(planStream(buildConfig({}), source, true)), 'nothing fits: the derived ladder')
  t.same(tiny.mode === 'ladder' && tiny.dropped?.map((d) => d.name), ['big'], 'and the plan says what was left out')
})

t.test('onMetaData videodatarate caps the derived rungs', async (t) => {
  t.equal(metadataVideoKbps(encodeAmf0(['onMetaData', ecmaArray({ videodatarate: 900 })])), 900)
  t.equal(metadataVideoKbps(encodeAmf0(['onMetaData', ecmaArray({ videodatarate: 'fast' })])), undefined)
  t.equal(metadataVideoKbps(undefined), undefined)
  const plan = planStream(buildConfig({ ladder: { copyTop: false } }), { width: 1280, height: 720, fps: 30 }, true, { sourceKbps: 900 })
  t.ok(plan.mode === 'ladder' && plan.encoded.every((r) => r.bitrate <= 900), 'no rung above the source rate')
})
