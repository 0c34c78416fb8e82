/**
 * Backpressure (issue 5 item 5): a publisher far faster than its worker. The
 * worker here is a real child process that never reads its stdin; the
 * normalizer is fed 150 MB of tags. The worker's stdin queue must stay within
 * its bound (plus one tag), the rest dropped to key frames and counted.
 */
import t from 'tap'
import { pino } from 'pino'
import { FlvNormalizer } from '../../src/ingest/flv-normalizer.js'
import { FlvWorker, STDIN_BOUND } from '../../src/transcode/flv-worker.js'
import { avcDecoderConfig } from '../../src/formats/mpegts/h264-annexb.js'
import type { Writable } from 'node:stream'

const KEY_BYTES = 400_000
const INTER_BYTES = 100_000

t.test('a stalled worker holds at most its bound; the rest is dropped and counted', async (t) => {
  const norm = new FlvNormalizer(pino({ level: 'silent' }))
  let drops = 0
  norm.onDrop = () => { drops++ }
  let stdin: Writable | undefined
  const worker = new FlvWorker({
    ffmpeg: '/bin/sh', args: ['-c', 'exec sleep 120'], rendition: 'stalled', logger: pino({ level: 'silent' }), minBackoffMs: 1000, maxBackoffMs: 1000,
    attach: (write, opts) => norm.attach(write, opts),
    onOutput: () => {},
  })
  worker.start()
  t.teardown(() => worker.stop())
  const sps = Buffer.from([0x67, 0x42, 0xc0, 0x1e, 0x95, 0xa0, 0x50, 0x7f])
  const pps = Buffer.from([0x68, 0xce, 0x3c, 0x80])
  const now = Date.now()
  norm.push({ kind: 'video', timestamp: 0, data: Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0]), avcDecoderConfig(sps, pps)]), arrival: now })
  let maxQueued = 0
  let fedBytes = 0
  for (let i = 0; i < 900; i++) {
    const key = i % 30 === 0
    const body = Buffer.alloc(key ? KEY_BYTES : INTER_BYTES, i & 0xff)
    body[0] = key ? 0x17 : 0x27
    body[1] = 1
    norm.push({ kind: 'video', timestamp: i * 33, data: body, arrival: now + i * 33 })
    fedBytes += body.length
    stdin ??= (worker as unknown as { worker: { child?: { stdin: Writable } } }).worker.child?.stdin
    if (stdin) maxQueued = Math.max(maxQueued, stdin.writableLength)
    if (i % 50 === 0) await new Promise((r) => setImmediate(r))
  }
  t.ok(stdin, 'the worker process was fed')
  t.ok(fedBytes > 5 * STDIN_BOUND, `fed ${Math.round(fedBytes / 1e6)} MB`)
  t.ok(maxQueued >= STDIN_BOUND - KEY_BYTES, `the queue reached its bound (${Math.round(maxQueued / 1e6)} MB)`)
  t.ok(maxQueued <= STDIN_BOUND + KEY_BYTES + 64, `the queue never exceeded bound + one tag: ${maxQueued} <= ${STDIN_BOUND + KEY_BYTES}`)
  t.ok(norm.dropped > 600, `tags dropped: ${norm.dropped}`)
  t.equal(drops, norm.dropped, 'every drop reported to the metric hook')
})
