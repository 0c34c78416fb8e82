/**
 * Holds a stream's planning until every audio track its source announced (an
 * MPEG-TS PMT) has sent its first frame, or a bound passes: the plan fixes the
 * audio renditions for the session, and a track that joins late would be missed.
 */

/** How long planning waits for announced audio tracks after the stream could start (ms). */
export const AUDIO_WAIT_MS = 2000

/** The wait of one session. */
export class AudioWait {
  private announced: number[] | undefined
  private since: number | undefined

  /** The tracks the source announced (the latest announcement counts). */
  announce(tracks: number[]): void {
    this.announced = tracks
  }

  /** True when planning may go ahead, given the tracks with a sequence header so far, at `now` (ms). */
  ready(present: number[], now: number): boolean {
    if (!this.announced || this.announced.every((t) => present.includes(t))) return true
    this.since ??= now
    return now - this.since >= AUDIO_WAIT_MS
  }
}
