/**
 * A publisher sending a video codec streamd cannot ingest is told why in the
 * log, naming the protocol it actually used (RTMP or SRT).
 */
import t from 'tap'
import pino from 'pino'
import { Writable } from 'node:stream'
import { StreamPipeline } from '../../src/core/stream-pipeline.js'
import { LiveStream } from '../../src/packager/live-stream.js'
import { DEFAULTS } from '../../src/config/schema.js'
import { Metrics } from '../../src/log/metrics.js'

// A VP6 key frame (FLV codec id 4): refused over either protocol (SRT also takes HEVC).
const VP6 = Buffer.concat([Buffer.from([0x14, 0x00]), Buffer.alloc(23, 1)])

for (const protocol of ['rtmp', 'srt']) {
  t.test(`over ${protocol}: the log names ${protocol.toUpperCase()}`, async (t) => {
    const lines: string[] = []
    const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb() } })
    let stopped = false
    const p = new StreamPipeline({
      stream: new LiveStream('cam'), config: DEFAULTS, ffmpeg: 'ffmpeg', logger: pino({ level: 'info' }, sink),
      metrics: new Metrics({ defaultMetrics: false }), protocol,
      storeFor: () => { throw new Error('no store expected') }, onStopped: () => { stopped = true },
    })
    let kicked = false
    p.kick = () => { kicked = true }
    p.write({ kind: 'video', timestamp: 0, data: VP6, arrival: Date.now() })
    await p.stopped
    const line = lines.map((l) => JSON.parse(l) as { msg: string }).find((l) => l.msg.includes('is not supported'))
    t.ok(line, 'the refusal was logged')
    t.match(line?.msg, new RegExp(`over ${protocol.toUpperCase()} \\(send H\\.264${protocol === 'srt' ? ' or HEVC' : ''}\\)`))
    t.notMatch(line?.msg, new RegExp(`over ${protocol === 'srt' ? 'RTMP' : 'SRT'}`), 'not the other protocol')
    t.ok(kicked && stopped, 'the publisher was kicked and the pipeline stopped')
  })
}
