/**
 * Issue 3, latency problem 4: a publisher that bursts its first seconds after connecting
 * (as FFmpeg -re does after its start-up, or any encoder with a queue) must not date its
 * media ahead of real time. The first 2 s of an FLV file are sent at once, the rest at
 * real-time pace; no part may be dated (PROGRAM-DATE-TIME of its end) later than the
 * moment it was published, and a date once served never changes.
 */
import t from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startOrigin, get, waitFor } from '../helpers/origin.js'
import { makeTestFile } from '../helpers/ffmpeg.js'
import { RawRtmpClient } from '../helpers/rtmp-client.js'
import { readFlv, publishTags } from '../helpers/flv-file.js'
import { parseStrict } from '../helpers/playlists.js'

const BURST_MS = 2000

t.test('a burst at the start: every part is dated no later than its publication', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'streamd-anchor-')), 'a.flv')
  await makeTestFile(file, 'flv', { width: 320, height: 180, duration: 8, gop: 30 })
  const o = await startOrigin(t, { hls: { partTarget: 0.5, segmentTarget: 1 } })
  const client = await RawRtmpClient.open(o.rtmpPort)
  t.teardown(() => client.destroy())
  await client.handshake()
  client.setChunkSize(65536)
  const status = await client.publish('live', 'burst')
  t.equal(status.code, 'NetStream.Publish.Start')
  const seen: Array<{ msn: number; index: number; endPdt: number; listedAt: number }> = []
  let unsubscribe: (() => void) | undefined
  const watch = (): void => {
    const store = o.origin.directory.get('burst')?.renditions.get('source')
    if (!store || unsubscribe) return
    unsubscribe = store.onChange(() => {
      const now = Date.now()
      for (const seg of store.segments) {
        let end = seg.pdt
        for (const p of seg.parts) {
          end += p.duration * 1000
          if (!seen.some((x) => x.msn === p.msn && x.index === p.index)) seen.push({ msn: p.msn, index: p.index, endPdt: end, listedAt: now })
        }
      }
    })
  }
  const poll = setInterval(watch, 5)
  t.teardown(() => { clearInterval(poll); unsubscribe?.() })
  // The first BURST_MS of media at once, then real time: tag ts is due at started + ts.
  const sending = publishTags(client, readFlv(file), 0, Date.now() - BURST_MS)
  const url = `${o.http}/live/burst/source/index.m3u8`
  await waitFor(async () => (await get(url).catch(() => undefined))?.status === 200, 20_000, 'the media playlist')
  const first = parseStrict((await get(url)).text)
  await sending
  await waitFor(() => seen.length >= 10, 10_000, 'ten parts')
  const last = parseStrict((await get(url)).text)
  // Dates are never revised: a segment in both playlists has the same PROGRAM-DATE-TIME.
  const dates = (p: any): Map<number, number> => new Map(p.segments.filter((s: any) => s.programDateTime).map((s: any) => [s.mediaSequenceNumber, s.programDateTime.getTime()]))
  const before = dates(first)
  const after = dates(last)
  const common = [...before.keys()].filter((k) => after.has(k))
  t.ok(common.length >= 1, `segments in both reloads: ${common.join(', ')}`)
  for (const msn of common) t.equal(after.get(msn), before.get(msn), `segment ${msn}: the same date on reload`)
  // A part's end is dated at most one frame after its last frame arrived, which was before
  // it was published. Dated from the first key frame's arrival alone, parts after the
  // burst would be dated about 2 s after their publication.
  const ahead = seen.map((x) => x.endPdt - x.listedAt)
  t.ok(ahead.length >= 10, `${ahead.length} parts watched`)
  t.ok(Math.max(...ahead) <= 40, `no part dated after its publication (largest end date − publication: ${Math.max(...ahead).toFixed(0)} ms)`)
  const late = seen.filter((x) => x.listedAt > seen[0]!.listedAt + 3000).map((x) => x.endPdt - x.listedAt)
  t.ok(late.length > 0 && Math.min(...late) > -3000, `after the start, parts are dated within 3 s of their publication (earliest ${Math.min(...late).toFixed(0)} ms)`)
})
