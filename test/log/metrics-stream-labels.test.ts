/**
 * Per-stream metric labels are dropped when the stream ends: publishers choose
 * stream names, so series kept for ended streams would grow without bound.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startOrigin, get, waitFor } from '../helpers/origin.js'
import { makeTestFile } from '../helpers/ffmpeg.js'
import { RawRtmpClient } from '../helpers/rtmp-client.js'
import { readFlv } from '../helpers/flv-file.js'

const NAMES = Array.from({ length: 20 }, (_, i) => `label-leak-${i}`)

t.test('20 streams published and ended leave no series in /metrics', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'streamd-metrics-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const flv = join(dir, 'a.flv')
  await makeTestFile(flv, 'flv', { width: 160, height: 90, duration: 1, realtime: false })
  const tags = readFlv(flv)
  const o = await startOrigin(t)
  const metrics = async (): Promise<string> => (await get(`${o.http}/metrics`)).text
  const publishAndEnd = async (name: string): Promise<void> => {
    const c = await RawRtmpClient.open(o.rtmpPort)
    t.teardown(() => c.destroy())
    await c.handshake()
    c.setChunkSize(65536)
    const status = await c.publish('live', name)
    if (status.code !== 'NetStream.Publish.Start') throw new Error(`publish refused: ${String(status.code)}`)
    // The whole second at once: ingest counters, the pipeline and its worker all start.
    for (const tag of tags) c.send(c.chunks(tag.type === 9 ? 6 : tag.type === 8 ? 4 : 5, tag.type, 1, tag.timestamp, tag.body))
    await waitFor(async () => (await metrics()).includes(`stream="${name}"`), 15_000, `${name} in /metrics`)
    c.destroy()
  }
  // Five at a time: 20 FFmpeg workers at once would only load the box.
  for (let i = 0; i < NAMES.length; i += 5) await Promise.all(NAMES.slice(i, i + 5).map(publishAndEnd))
  await waitFor(() => o.origin.sessions.size === 0, 20_000, 'every pipeline to stop')
  const text = await waitFor(async () => {
    const m = await metrics()
    return NAMES.some((n) => m.includes(`stream="${n}"`)) ? undefined : m
  }, 5000, 'the per-stream series to go').catch(() => '')
  const left = NAMES.filter((n) => text === '' || text.includes(`stream="${n}"`))
  t.same(left, [], 'no ended stream keeps a series')
  t.match(text, /^streamd_streams_live 0$/m, 'the exposition still works')
})
