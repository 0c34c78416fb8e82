/**
 * A publisher sending a video codec streamd cannot ingest is told why in the
 * log, naming the protocol it actually used (RTMP or SRT).
 */
import t from 'tap'
import pino from 'pino'
import { Writable } from 'node:stream'
import { StreamSession } from '../../src/core/stream-session.js'
import { newSource } from '../../src/core/media-source.js'
import { LiveStream } from '../../src/packager/live-stream.js'
import { DEFAULTS } from '../../src/config/schema.js'

// A VP6 key frame (FLV codec id 4): refused over either protocol (SRT also takes HEVC).
const VP6 = Buffer.concat([Buffer.from([0x14, 0x00]), Buffer.alloc(23, 1)])

for (const protocol of ['rtmp', 'srt'] as const) {
  t.test(`over ${protocol}: the log names ${protocol.toUpperCase()}`, async (t) => {
    const lines: string[] = []
    const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb() } })
    let stopped = false
    const p = new StreamSession({
      stream: new LiveStream('cam'), config: DEFAULTS, logger: pino({ level: 'info' }, sink),
      workers: () => { throw new Error('no workers expected') },
      storeFor: () => { throw new Error('no store expected') },
    })
    p.events.on('ended', () => { stopped = true })
    let kicked = false
    const source = newSource(protocol, 'primary', '127.0.0.1:1')
    source.close = () => { kicked = true }
    const input = p.attach(source)
    if ('refused' in input) throw new Error(input.refused)
    input.write({ kind: 'video', timestamp: 0, data: VP6, arrival: Date.now() })
    await p.stopped
    const line = lines.map((l) => JSON.parse(l) as { msg: string }).find((l) => l.msg.includes('is not supported'))
    t.ok(line, 'the refusal was logged')
    t.match(line?.msg, new RegExp(`over ${protocol.toUpperCase()} \\(send H\\.264${protocol === 'srt' ? ' or HEVC' : ''}\\)`))
    t.notMatch(line?.msg, new RegExp(`over ${protocol === 'srt' ? 'RTMP' : 'SRT'}`), 'not the other protocol')
    t.ok(kicked && stopped, 'the publisher was kicked and the session stopped')
  })
}
