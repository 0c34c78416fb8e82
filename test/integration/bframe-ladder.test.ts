/**
 * Sources with B-frames (libx264 -bf 3 without zerolatency, as OBS's x264 and the README's
 * SRT example send them) and sources whose GOP is off the segment grid, through a real
 * ladder: a copied top rung, one encoded rung and the audio. Every video segment starts
 * with a key frame, EXTINF is the media's duration, and segment N has the same number,
 * presentation time and PROGRAM-DATE-TIME in every rendition.
 */
import t, { type Test } from 'tap'
import { startOrigin, get, waitFor, type TestOrigin } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'
import { srtUrl, startSrtPublisher } from '../helpers/srt.js'
import { captureLogger } from '../helpers/recording-handler.js'
import { parseInit } from '../../src/formats/mp4/init.js'
import { parseFragment } from '../../src/formats/mp4/fragment.js'
import { BoxSplitter } from '../../src/formats/mp4/box-splitter.js'
import type { Sample } from '../../src/media/types.js'

const RENDITIONS = ['source', 'low', 'audio']

/** One listed segment as the playlist gives it and as its bytes are. */
interface Listed { msn: number; extinf: number; pdt: number; samples: Sample[]; timescale: number }

/** Complete segments of a media playlist with their EXTINF, date and parsed samples. */
async function segmentsOf(base: string, rendition: string): Promise<Listed[]> {
  const text = (await get(`${base}/${rendition}/index.m3u8`)).text
  const info = parseInit((await get(`${base}/${rendition}/init.mp4`)).body)
  const timescale = info.tracks[0]!.timescale
  const out: Listed[] = []
  let pdt = NaN
  let extinf = NaN
  let gap = false
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = Date.parse(line.slice(25))
    else if (line.startsWith('#EXTINF:')) extinf = Number(line.slice(8).split(',')[0])
    else if (line === '#EXT-X-GAP') gap = true
    else if (/^\d+\.m4s$/.test(line)) {
      const samples: Sample[] = []
      if (!gap) {
        const boxes = new BoxSplitter().push((await get(`${base}/${rendition}/${line}`)).body)
        for (let i = 0; i < boxes.length; i++) if (boxes[i]!.type === 'moof') samples.push(...parseFragment(boxes[i]!.data, boxes[i + 1]!.data, info))
      }
      out.push({ msn: Number(line.split('.')[0]), extinf, pdt, samples, timescale })
      pdt += extinf * 1000 // a date is listed only where it is not implied
      gap = false
    }
  }
  return out
}

const earliest = (s: Listed): number => Math.min(...s.samples.map((x) => x.dts + x.cts)) / s.timescale
const mediaSeconds = (s: Listed): number => s.samples.reduce((a, x) => a + x.duration, 0) / s.timescale

/** Wait for `count` complete segments in every rendition; returns them by rendition. */
async function waitForAll(base: string, count: number): Promise<Map<string, Listed[]>> {
  await waitFor(async () => {
    for (const r of RENDITIONS) {
      const res = await get(`${base}/${r}/index.m3u8`).catch(() => undefined)
      if (res?.status !== 200 || (res.text.match(/^#EXTINF/gm)?.length ?? 0) < count) return false
    }
    return true
  }, 60_000, `${count} segments in every rendition`)
  return new Map(await Promise.all(RENDITIONS.map(async (r) => [r, await segmentsOf(base, r)] as const)))
}

function checkVideo(t: Test, name: string, segs: Listed[]): void {
  for (const s of segs) {
    const keys = s.samples.filter((x) => x.sync).length
    t.ok(s.samples[0]!.sync, `${name} ${s.msn}: starts with a key frame (${s.samples.length} frames, ${keys} key)`)
    t.ok(Math.abs(s.extinf - mediaSeconds(s)) < 0.0015, `${name} ${s.msn}: EXTINF ${s.extinf} is the media's ${mediaSeconds(s).toFixed(4)} s`)
  }
}

async function checkAligned(t: Test, base: string, o: TestOrigin, stream: string): Promise<void> {
  const all = await waitForAll(base, 5)
  const source = all.get('source')!
  const low = all.get('low')!
  const audio = all.get('audio')!
  t.ok(source.some((s) => s.samples.some((x) => x.cts !== source[0]!.samples[0]!.cts)), 'the source has reordered frames (B-frames)')
  checkVideo(t, 'source', source)
  checkVideo(t, 'low', low)
  for (const s of [...source, ...low]) t.ok(s.extinf <= 2.5, `segment ${s.msn} EXTINF ${s.extinf} rounds to TARGETDURATION or less`)
  for (const s of source) {
    const l = low.find((x) => x.msn === s.msn)
    const a = audio.find((x) => x.msn === s.msn)
    if (!l || !a) continue
    t.ok(Math.abs(earliest(s) - earliest(l)) < 0.002, `segment ${s.msn}: source and low presented from the same time (${earliest(s).toFixed(3)}, ${earliest(l).toFixed(3)})`)
    t.ok(Math.abs(s.pdt - l.pdt) <= 2, `segment ${s.msn}: same PROGRAM-DATE-TIME in source and low (${s.pdt - l.pdt} ms apart)`)
    t.ok(Math.abs(s.pdt - a.pdt) <= 1000 * (1024 / 48000) + 2, `segment ${s.msn}: audio dated within a frame (${s.pdt - a.pdt} ms)`)
    t.ok(Math.abs(s.extinf - l.extinf) < 0.04, `segment ${s.msn}: EXTINF ${s.extinf} and ${l.extinf} within a frame`)
  }
  // Numbers advance together: each rendition's newest segment is at most one apart.
  const stores = RENDITIONS.map((r) => o.origin.directory.get(stream)!.renditions.get(r)!)
  const edges = stores.map((s) => s.upcomingMsn)
  t.ok(Math.max(...edges) - Math.min(...edges) <= 1, `renditions' newest numbers ${edges.join(', ')} within one`)
}

t.test('B-frame sources through a ladder', async (t) => {
  const log = captureLogger()
  const o = await startOrigin(t, {
    log: { level: 'info' },
    ladder: { enabled: true, rungs: [{ name: 'source', copy: true }, { name: 'low', height: 180, bitrate: 250, preset: 'ultrafast' }] },
  }, { logger: log.logger })
  const src = { width: 640, height: 360, fps: 30, gop: 60, bframes: 3 }

  t.test('RTMP, -bf 3, key frame every 2 s', async (t) => {
    const pub = startPublisher(`${o.rtmp}/bfr`, src)
    t.teardown(() => pub.stop())
    await checkAligned(t, `${o.http}/live/bfr`, o, 'bfr')
    await pub.stop()
  })

  t.test('SRT (MPEG-TS), -bf 3, key frame every 2 s', async (t) => {
    const pub = startSrtPublisher(srtUrl(o.srtPort, 'publish:bfs:k'), src)
    t.teardown(() => pub.stop())
    await checkAligned(t, `${o.http}/live/bfs`, o, 'bfs')
    await pub.stop()
  })

  t.test('a GOP off the grid (80 frames at 30 fps, 2 s segments): segments still start at key frames; logged once', async (t) => {
    const pub = startPublisher(`${o.rtmp}/offg`, { ...src, gop: 80 })
    t.teardown(() => pub.stop())
    const all = await waitForAll(`${o.http}/live/offg`, 6)
    for (const r of ['source', 'low']) {
      const media = all.get(r)!.filter((s) => s.samples.length > 0)
      t.ok(media.length >= 4, `${r}: ${media.length} segments with media`)
      t.comment(`${r}: ${all.get(r)!.map((s) => `${s.msn}:${s.samples.length ? s.extinf : 'GAP'}`).join(' ')}`)
      for (const s of media) t.ok(s.samples[0]!.sync, `${r} ${s.msn}: starts with a key frame`)
    }
    const warned = log.lines.filter((l) => /GOP does not fit/.test(String(l.msg)))
    t.equal(warned.length, 1, 'one line for the stream')
    t.match(warned[0], { rendition: 'source', gopSeconds: 2.667, segmentTarget: 2 }, 'naming the rendition, the GOP and the target')
    t.notOk(log.lines.some((l) => /GOP does not fit/.test(String(l.msg)) && l.rendition !== 'source'), 'encoded rungs are on the grid')
    // Its segments no longer cover what the encoded rungs' do: ABR players must not switch to it.
    const multivariant = (await get(`${o.http}/live/offg/index.m3u8`)).text
    t.notMatch(multivariant, /^source\/index\.m3u8$/m, 'the copied rung left the multivariant playlist')
    t.match(multivariant, /^low\/index\.m3u8$/m, 'the encoded rung carries the stream')
    const mpd = (await get(`${o.http}/live/offg/manifest.mpd`)).text
    t.notMatch(mpd, /id="source"/, 'and the MPD')
    t.match(mpd, /id="low"/, 'the MPD keeps the encoded rung')
    const api = JSON.parse((await get(`${o.http}/api/v1/streams`)).text)
    const shed = JSON.stringify(api).match(/not offered: [^"]*/)?.[0]
    t.ok(shed, `the API says why (${shed})`)
    t.equal((await get(`${o.http}/live/offg/source/index.m3u8`)).status, 200, 'its own playlist stays up')
    await pub.stop()
  })
})
