// Seeded fuzz of the RTMP chunk reader + command parsing + AMF0 decoder, as a
// connection that has not published sees them: random bytes and mutations of the
// bytes FFmpeg and GStreamer really send after the handshake. Every input must
// decode or throw a protocol error (the connection closes), within a time bound.
// Run again with FUZZ_SEED=<seed> to replay a failure.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { MediaFormatError, ProtocolError } from '../../../src/errors.js'
import { decodeAmf0 } from '../../../src/formats/amf0.js'
import { ChunkReader } from '../../../src/ingest/rtmp/chunk-reader.js'
import { dataTagBody, parseCommand } from '../../../src/ingest/rtmp/commands.js'
import { DEFAULT_RTMP_LIMITS } from '../../../src/ingest/rtmp/limits.js'
import { MessageType, type RtmpMessage } from '../../../src/ingest/rtmp/messages.js'
import { prng } from '../../helpers/prng.js'

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_2026) >>> 0
/** Inputs per fuzz target: a few seconds of CPU in all. */
const ITERATIONS = 1500
/**
 * Most CPU time any one input may take. CPU time, not wall time: on a shared
 * machine a preempted input would otherwise look slow. The decoders' worst case
 * is well under a millisecond; this leaves room for a garbage collection.
 */
const PER_INPUT_MS = 50

const corpus = ['ffmpeg-publish.bin', 'gstreamer-publish.bin'].map((f) => readFileSync(join(import.meta.dirname, 'fixtures', f)))


function mutate(src: Buffer, others: Buffer[], rand: () => number): Buffer {
  const int = (n: number): number => Math.floor(rand() * n)
  let b = Buffer.from(src)
  const ops = 1 + int(8)
  for (let i = 0; i < ops && b.length > 0; i++) {
    const at = int(b.length)
    switch (int(8)) {
      case 0: b[at] = (b[at] as number) ^ (1 << int(8)); break
      case 1: b[at] = int(256); break
      case 2: b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256))), b.subarray(at)]); break
      case 3: b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(64))]); break
      case 4: { // repeat a slice many times: grows objects and arrays toward the limits
        const piece = b.subarray(at, at + 1 + int(12))
        b = Buffer.concat([b.subarray(0, at), ...Array.from({ length: 1 + int(4000) }, () => piece), b.subarray(at)]).subarray(0, 200_000)
        break
      }
      case 5: { // splice from another capture
        const o = others[int(others.length)]!
        const from = int(o.length)
        b = Buffer.concat([b.subarray(0, at), o.subarray(from, from + 1 + int(512)), b.subarray(at)])
        break
      }
      case 6: { // a length-like 24- or 32-bit field set to an extreme
        const v = [0, 1, 0xff, 0xffff, 0x10000, 0xffffff, 0x7fffff][int(7)]!
        if (at + 3 <= b.length) b.writeUIntBE(v, at, 3)
        break
      }
      default: b = b.subarray(0, at)
    }
  }
  return b
}

/** What a session does with the bytes of a connection before publish, minus the socket. */
function feed(input: Buffer, rand: () => number): number {
  const max = DEFAULT_RTMP_LIMITS.maxCommandBytes
  let messages = 0
  const reader = new ChunkReader({
    maxMessageSize: max,
    maxBufferedBytes: 2 * max,
    onMessage: (m: RtmpMessage) => {
      messages++
      if (m.typeId === MessageType.commandAmf0 || m.typeId === MessageType.commandAmf3) parseCommand(m)
      else if (m.typeId === MessageType.dataAmf0 || m.typeId === MessageType.dataAmf3) dataTagBody(m)
    },
  })
  // Socket reads split anywhere, headers included.
  for (let off = 0; off < input.length;) {
    const n = 1 + Math.floor(rand() * 3000)
    reader.push(input.subarray(off, off + n))
    off += n
  }
  return messages
}

function run(t: Test, name: string, gen: (rand: () => number) => Buffer, check: (b: Buffer, rand: () => number) => void, isExpected: (err: unknown) => boolean): void {
  const rand = prng(SEED)
  let ok = 0
  let refused = 0
  let slowest = 0
  for (let i = 0; i < ITERATIONS; i++) {
    const input = gen(rand)
    const started = process.cpuUsage()
    try {
      check(input, rand)
      ok++
    } catch (err) {
      if (!isExpected(err)) {
        t.fail(`${name} #${i} (seed ${SEED}) threw ${String(err)}; input ${input.subarray(0, 64).toString('hex')}...`)
        return
      }
      refused++
    }
    const used = process.cpuUsage(started)
    const ms = (used.user + used.system) / 1000
    slowest = Math.max(slowest, ms)
    if (ms > PER_INPUT_MS) {
      t.fail(`${name} #${i} (seed ${SEED}) took ${ms.toFixed(1)} ms of CPU (${input.length} bytes)`)
      return
    }
  }
  t.comment(`${name}: ${ok} decoded, ${refused} refused; slowest input ${slowest.toFixed(2)} ms of CPU`)
  t.ok(ok > 0 && refused > 0, `${name}: both outcomes occur (${ok} decoded, ${refused} refused)`)
  t.ok(slowest <= PER_INPUT_MS, `${name}: every input done within ${PER_INPUT_MS} ms of CPU`)
}

t.comment(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} replays it)`)

t.test('chunk reader + command parsing: random and mutated captures', async (t) => {
  run(t, 'chunk stream', (rand) => {
    if (rand() < 0.2) return Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 4096) }, () => Math.floor(rand() * 256)))
    const i = Math.floor(rand() * corpus.length)
    return mutate(corpus[i]!, corpus, rand)
  }, (b, rand) => { feed(b, rand) }, (err) => err instanceof ProtocolError)
  // The unmutated captures go through whole: connect ... publish, metadata and media.
  t.ok(corpus.every((c) => feed(c, prng(1)) >= 6), 'the captures themselves parse')
})

t.test('AMF0 decoder: mutated command and metadata bodies from the captures', async (t) => {
  const bodies: Buffer[] = []
  for (const c of corpus) {
    const reader = new ChunkReader({
      maxMessageSize: 1 << 20,
      onMessage: (m) => { if (m.typeId === MessageType.commandAmf0 || m.typeId === MessageType.dataAmf0) bodies.push(m.payload) },
    })
    reader.push(c)
  }
  t.ok(bodies.length >= 10, `${bodies.length} AMF0 bodies captured`)
  run(t, 'amf0', (rand) => mutate(bodies[Math.floor(rand() * bodies.length)]!, bodies, rand),
    (b) => { decodeAmf0(b) }, (err) => err instanceof MediaFormatError)
})
