/**
 * No segment URL is reused across a crash: a real streamd is killed (SIGKILL,
 * no clean shutdown) while a stream is live, another starts at once on the same
 * data dir, and the same name numbers its segments past every number the first
 * one listed or hinted, also when the restart lands in the grid slot the killed
 * server was numbering (10 s segments leave time for that); and a locked data dir
 * never stops a stream.
 */
import t from 'tap'
import { join } from 'node:path'
import { startCanaryServer } from '../helpers/canary.js'
import { tempDirSync } from '../helpers/temp-dir.js'
import { SegmentNumberStore } from '../../src/store/segment-numbers.js'
import { MAX_SAFE_NUMBER, NUMBERING_EPOCH_MS, gridNumber } from '../../src/core/numbering.js'
import { startPublisher } from '../helpers/ffmpeg.js'
import { startOrigin, waitFor, waitForSegments } from '../helpers/origin.js'
import { captureLogger } from '../helpers/recording-handler.js'
import Database from 'better-sqlite3'
import { DB_FILE } from '../../src/store/database.js'

/** Every segment number a media playlist names: listed segments and parts, and the preload hint. */
function numbersIn(text: string): number[] {
  const out = [...text.matchAll(/#EXT-X-MEDIA-SEQUENCE:(\d+)/g)].map((m) => Number(m[1]))
  for (const m of text.matchAll(/(?:^|")(\d+)(?:\.\d+)?\.m4s/gm)) out.push(Number(m[1]))
  return out
}

t.test('a restart after SIGKILL numbers past everything the killed server named', async (t) => {
  const dataDir = join(tempDirSync(t, 'streamd-restart-'), 'data')
  const config = { dataDir, hls: { segmentTarget: 10 } }
  // The second server is started first and left idle: it reads the floor only when the
  // stream starts, so this is a restart as far as numbering goes, and the publish reaches it
  // within a second or two of the kill however slowly a loaded machine starts a process.
  const second = await startCanaryServer(t, { config, noCanary: true, stream: 'cam' })
  const first = await startCanaryServer(t, { config, noCanary: true, stream: 'cam' })
  // Publish just after a grid slot begins and kill a second or two later: the open segment
  // then has that slot's number, and the restart (a few seconds) lands in the same slot,
  // the case that numbering by the clock alone gets wrong.
  const within = (): number => (Date.now() - NUMBERING_EPOCH_MS) % 10_000
  while (within() > 200) await new Promise((r) => setTimeout(r, 20))
  const pub = startPublisher(`rtmp://127.0.0.1:${first.rtmpPort}/live/cam`, { width: 320, height: 180, fps: 25, gop: 50 })
  t.teardown(() => pub.stop())
  const text = await waitFor(async () => {
    const r = await fetch(first.canaryPlaylist).catch(() => undefined)
    const body = r?.status === 200 ? await r.text() : ''
    return /#EXT-X-PART:/.test(body) ? body : undefined
  }, 20_000, 'the first part')
  const seen = numbersIn(text)
  const before = Math.max(...seen)
  t.ok(seen.length > 0 && before <= MAX_SAFE_NUMBER, `first server's numbers are below 2^31 (up to ${before})`)
  const killedAt = Date.now()
  process.kill(first.pid, 'SIGKILL')
  await new Promise<void>((resolve) => { if (!first.alive()) resolve(); else first.child.once('exit', () => resolve()) })
  const floor = SegmentNumberStore.open(dataDir)
  const kept = floor.floor('cam')
  floor.close()
  t.ok(kept > before, `the data dir keeps ${kept}, past the ${before} a player may have asked for`)

  const pub2 = startPublisher(`rtmp://127.0.0.1:${second.rtmpPort}/live/cam`, { width: 320, height: 180, fps: 25, gop: 50 })
  t.teardown(() => pub2.stop())
  const again = await waitFor(async () => {
    const r = await fetch(second.canaryPlaylist).catch(() => undefined)
    return r?.status === 200 ? await r.text() : undefined
  }, 20_000, 'the restarted stream')
  const firstNumber = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(again)?.[1])
  t.comment(`killed in grid slot ${gridNumber(killedAt, 10)}; restarted stream listed in slot ${gridNumber(Date.now(), 10)}`)
  t.ok(firstNumber > before, `the restarted stream starts at ${firstNumber}, past ${before}`)
  t.ok(firstNumber <= MAX_SAFE_NUMBER, 'and below 2^31')
})

t.test('a data dir locked by another process: the stream plays and the failed write is logged, not thrown', async (t) => {
  const dataDir = tempDirSync(t, 'streamd-locked-')
  const log = captureLogger()
  const o = await startOrigin(t, { dataDir }, { logger: log.logger })
  const other = new Database(join(dataDir, DB_FILE))
  other.exec('BEGIN IMMEDIATE')
  t.teardown(() => { if (other.inTransaction) other.exec('ROLLBACK'); other.close() })
  const pub = startPublisher(`${o.rtmp}/locked`, { width: 320, height: 180, fps: 25, gop: 50 })
  t.teardown(() => pub.stop())
  const text = await waitForSegments(`${o.http}/live/locked/source/index.m3u8`, 2, 30_000)
  t.ok(Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1]) <= MAX_SAFE_NUMBER, 'numbered as usual')
  const errors = log.lines.filter((l) => l.level === 50 && /cannot save the segment number floor/.test(String(l.msg)))
  t.equal(errors.length, 1, 'logged once (at most once per 10 s), with the reason')
})
