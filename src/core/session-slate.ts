/**
 * The slates of an origin's sessions: each session's slate is rendered once its plan is
 * known (its picture size, rate and audio format), so it can go on air at once when every
 * input is lost; until it is ready there is no slate to show. Rendering is FFmpeg's
 * (src/transcode/slate-clip.ts), shared between sessions of one format.
 */
import type { Logger } from 'pino'
import { describeError } from '../errors.js'
import { SlateClip } from '../transcode/slate-clip.js'
import { SlatePlayer } from '../transcode/slate-player.js'
import type { SlateFeed } from './input-switcher.js'
import type { StreamSession } from './stream-session.js'

/** The `slate` config keys. */
export interface SlateConfig {
  maxSeconds: number
  image: string | null
}

/** Renders and plays the slates of an origin's sessions. */
export class SessionSlates {
  private readonly clips = new WeakMap<StreamSession, SlateClip>()

  constructor(private readonly ffmpeg: string, private readonly config: SlateConfig, private readonly log: Logger) {}

  /** Render `session`'s slate (once its plan is known); failures are logged, the stream goes on without one. */
  prepare(session: StreamSession, streamName: string): void {
    if (this.config.maxSeconds <= 0) return
    const format = session.slateFormat()
    if (!format) {
      this.log.info('no slate for this stream: it has no video to stand in for')
      return
    }
    SlateClip.render(this.ffmpeg, { ...format, streamName, image: this.config.image }, this.log)
      .then((clip) => {
        this.clips.set(session, clip)
        this.log.info({ picture: clip.picture, width: format.width, height: format.height }, 'slate ready')
      })
      .catch((err: unknown) => this.log.error({ err: describeError(err) }, 'slate could not be rendered; with every input lost, players will wait for media'))
  }

  /** A feed of `session`'s slate, when it is rendered. */
  feed(session: StreamSession): SlateFeed | undefined {
    const clip = this.clips.get(session)
    if (!clip) return undefined
    let player: SlatePlayer | undefined
    return {
      start: (onTag) => {
        player = new SlatePlayer(clip, { emit: onTag, onError: (err) => this.log.error({ err: describeError(err) }, 'slate stopped') })
        player.start(0)
      },
      stop: () => player?.stop(),
    }
  }
}
