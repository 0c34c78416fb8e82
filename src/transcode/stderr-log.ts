/**
 * An FFmpeg worker's stderr as log lines, within a budget. Logging is synchronous
 * JSON on the event loop that also answers blocking requests; an FFmpeg fed a
 * damaged stream can print a warning for every frame of every worker, and each line
 * would then delay every part behind it. At most `perWindow` lines per window are
 * logged; the rest are counted and summed up in one line when the window turns.
 */
import type { Logger } from 'pino'

/** Lines logged per worker per window, and the window. */
const PER_WINDOW = 20
const WINDOW_MS = 10_000

/** Splits a worker's stderr into lines and logs them within the budget. */
export class StderrLog {
  private readonly log: Logger
  private readonly now: () => number
  private readonly perWindow: number
  private partial = ''
  private windowStart = -Infinity
  private logged = 0
  private suppressed = 0
  private lastSuppressed = ''

  constructor(log: Logger, opts: { now?: () => number; perWindow?: number } = {}) {
    this.log = log
    this.now = opts.now ?? Date.now
    this.perWindow = opts.perWindow ?? PER_WINDOW
  }

  /** Text as it arrives from the pipe. */
  push(text: string): void {
    const lines = (this.partial + text).split('\n')
    this.partial = lines.pop() ?? ''
    // An unterminated flood is still a line: bound what is kept.
    if (this.partial.length > 4096) this.partial = this.partial.slice(-4096)
    for (const raw of lines) {
      const line = raw.trim()
      if (line) this.line(line.slice(0, 500))
    }
  }

  /** Say how many lines were left out, if any (the process ended). */
  flush(): void {
    if (this.suppressed === 0) return
    this.log.warn({ suppressed: this.suppressed, last: this.lastSuppressed }, 'ffmpeg said more (lines left out to keep logging off the latency path)')
    this.suppressed = 0
  }

  private line(line: string): void {
    const now = this.now()
    if (now - this.windowStart >= WINDOW_MS) {
      this.flush()
      this.windowStart = now
      this.logged = 0
    }
    if (this.logged < this.perWindow) {
      this.logged++
      this.log.warn({ ffmpeg: line }, 'ffmpeg says')
      return
    }
    this.suppressed++
    this.lastSuppressed = line
  }
}
