/**
 * `serve --demo`: a built-in FFmpeg test source published through the server's
 * own RTMP ingest, so a newcomer sees a live stream at once.
 */
import type { Logger } from 'pino'
import { SupervisedWorker } from '../transcode/worker.js'
import { demoSourceArgs } from '../transcode/args.js'

/** Name the demo publishes under. */
export const DEMO_STREAM = 'demo'

/** Start the demo publisher against rtmp://127.0.0.1:{rtmpPort}; returns it for stop(). */
export function startDemo(ffmpeg: string, rtmpPort: number, logger: Logger): SupervisedWorker {
  const worker = new SupervisedWorker({
    ffmpeg,
    args: demoSourceArgs({ width: 1280, height: 720, fps: 30, url: `rtmp://127.0.0.1:${rtmpPort}/live/${DEMO_STREAM}` }),
    logger: logger.child({ component: 'demo' }),
    minBackoffMs: 500,
    maxBackoffMs: 10_000,
    onSpawn: (io) => {
      io.stdin.end()
      io.stdout.resume()
    },
  })
  worker.start()
  return worker
}
