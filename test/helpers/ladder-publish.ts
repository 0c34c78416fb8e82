/**
 * The common start of the ladder integration tests: an origin with the default
 * ladder and quick worker restarts (they kill, freeze or shed workers and want them
 * back within a second), and a 1280x720 30 fps publish with a key frame every 2 s
 * (on the segment grid), stopped when the test ends.
 */
import type { Test } from 'tap'
import { startOrigin, type TestOrigin } from './origin.js'
import { startPublisher } from './ffmpeg.js'

/** A started ladder origin and where its stream is served. */
export interface LadderPublish {
  o: TestOrigin
  /** `http://…/live/{name}` */
  base: string
}

/** Start an origin with the ladder on (worker settings merged over quick restarts) and publish `name` to it. */
export async function startLadderPublish(t: Test, name: string, worker: Record<string, unknown> = {}): Promise<LadderPublish> {
  const o = await startOrigin(t, { ladder: { enabled: true }, worker: { minBackoffMs: 100, maxBackoffMs: 1000, ...worker } })
  const pub = startPublisher(`${o.rtmp}/${name}`, { width: 1280, height: 720, fps: 30, gop: 60 })
  t.teardown(() => pub.stop())
  return { o, base: `${o.http}/live/${name}` }
}
