/**
 * A Reply that streams a cache entry while it is still being filled, under the
 * uWebSockets.js rules (DESIGN.md): with a known length, pieces go through
 * `tryEnd(piece, total)` and resume from `getWriteOffset()` on `onWritable` (5);
 * without one, chunked `write`s of at most 256 KiB pause when `write` returns
 * false (6); every write is corked (4); a client that leaves only unsubscribes
 * from the entry, the fill goes on (8).
 */
import type { CacheEntry } from '../cache/entry.js'
import { Reply, STATUS_TEXT, type Headers } from './reply.js'

const PIECE = 256 * 1024

/** Reply that can stream a growing CacheEntry. */
export class StreamReply extends Reply {
  /**
   * Send `entry`'s body with `status` and `headers`, following the fill as it grows.
   * If the fill fails mid-body the connection is closed, so the client sees a
   * truncated response and never mistakes it for a complete one.
   */
  streamEntry(status: number, headers: Headers, entry: CacheEntry, head: boolean): void {
    if (!this.open) return
    const res = this.res
    this.status = status
    const total = entry.done && !entry.error ? entry.size : entry.expectedLength
    res.cork(() => {
      res.writeStatus(STATUS_TEXT[status] ?? `${status} Status`)
      for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v)
      if (head || this.head) {
        // Length as GET would send it when known; never endWithoutBody(length), which waits for a body.
        if (total !== undefined) res.writeHeader('Content-Length', String(total))
        res.endWithoutBody()
        this.finish()
      }
    })
    if (!this.open) return
    let pos = 0 // body bytes handed to uWS
    let blocked = false
    const start = res.getWriteOffset()
    const pump = (): void => {
      if (!this.open || blocked) return
      let cut = false
      res.cork(() => {
        while (this.open && !blocked) {
          const piece = entry.sliceFrom(pos, PIECE)
          if (!piece) break
          if (total !== undefined) {
            const [ok, done] = res.tryEnd(piece, total)
            // After the last byte the response is gone: touch nothing more.
            if (done) return this.finish()
            pos = res.getWriteOffset() - start
            if (!ok) blocked = true
          } else {
            const ok = res.write(piece)
            pos += piece.length // write() buffers what it cannot send
            if (!ok) blocked = true
          }
        }
        if (!this.open || blocked) return
        if (entry.error) cut = true
        else if (entry.done && total === undefined) {
          res.end()
          this.finish()
        } else if (entry.done && total !== undefined && pos >= total) {
          // Zero-length bodies never pass through tryEnd above.
          res.end()
          this.finish()
        }
      })
      if (cut) {
        // Closing (not ending) the connection: a truncated body must not look complete.
        this.finish()
        res.close()
      }
    }
    res.onWritable(() => {
      blocked = false
      pump()
      return !blocked
    })
    this.onDone(entry.subscribe(pump))
    pump()
  }
}
