/**
 * Reading FLV files into tags, and publishing them over a raw RTMP client at
 * real-time pace: lets tests send streams FFmpeg cannot (a resolution or codec
 * change mid-stream).
 */
import { readFileSync } from 'node:fs'
import type { RawRtmpClient } from './rtmp-client.js'

/** One FLV tag. */
export interface FlvFileTag {
  type: 8 | 9 | 18
  timestamp: number
  body: Buffer
}

/** Parse an FLV file's tags (header and PreviousTagSize fields skipped). */
export function readFlv(path: string): FlvFileTag[] {
  const buf = readFileSync(path)
  if (buf.toString('latin1', 0, 3) !== 'FLV') throw new Error(`${path} is not FLV`)
  const tags: FlvFileTag[] = []
  let off = buf.readUInt32BE(5) + 4
  while (off + 11 <= buf.length) {
    const type = buf[off]! & 0x1f
    const size = buf.readUIntBE(off + 1, 3)
    const timestamp = buf.readUIntBE(off + 4, 3) | (buf[off + 7]! << 24)
    const body = buf.subarray(off + 11, off + 11 + size)
    if (type === 8 || type === 9 || type === 18) tags.push({ type, timestamp, body })
    off += 11 + size + 4
  }
  return tags
}

/** Send tags on stream 1 with timestamps shifted by `offsetMs`, paced to real time. */
export async function publishTags(client: RawRtmpClient, tags: FlvFileTag[], offsetMs: number, startedAt: number): Promise<void> {
  for (const tag of tags) {
    const ts = tag.timestamp + offsetMs
    const wait = startedAt + ts - Date.now()
    if (wait > 5) await new Promise((r) => setTimeout(r, wait))
    if (client.isClosed) return
    const csid = tag.type === 9 ? 6 : tag.type === 8 ? 4 : 5
    client.send(client.chunks(csid, tag.type, 1, ts, tag.body))
  }
}

/** Incremental FLV parser: calls `onTag` for each complete tag of a live byte stream (FFmpeg's stdout). */
export class FlvTagStream {
  private buf: Buffer = Buffer.alloc(0)
  private headerDone = false

  constructor(private readonly onTag: (tag: FlvFileTag) => void) {}

  /** Feed the next bytes. */
  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    if (!this.headerDone) {
      if (this.buf.length < 9) return
      const skip = this.buf.readUInt32BE(5) + 4
      if (this.buf.length < skip) return
      this.buf = this.buf.subarray(skip)
      this.headerDone = true
    }
    while (this.buf.length >= 11) {
      const size = this.buf.readUIntBE(1, 3)
      if (this.buf.length < 11 + size + 4) return
      const type = this.buf[0]! & 0x1f
      const timestamp = this.buf.readUIntBE(4, 3) | (this.buf[7]! << 24)
      const body = Buffer.from(this.buf.subarray(11, 11 + size))
      this.buf = this.buf.subarray(11 + size + 4)
      if (type === 8 || type === 9 || type === 18) this.onTag({ type, timestamp, body })
    }
  }
}
