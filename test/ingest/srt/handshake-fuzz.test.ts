/**
 * Fuzz of the SRT handshake decoders, driven by a seeded generator (fixed seed,
 * bounded iterations): random datagrams and mutations of real handshakes
 * (induction, conclusion with HSREQ, Stream ID and key material) either decode
 * or throw a ProtocolError, each within a time bound; and every mutated
 * conclusion that carries a valid cookie gets an answer from a live listener.
 */
import t from 'tap'
import { createCipheriv, pbkdf2Sync } from 'node:crypto'
import { ProtocolError } from '../../../src/errors.js'
import { Ext, parseHandshake, parseHsReq, decodeStreamIdExt, parseStreamId } from '../../../src/ingest/srt/handshake.js'
import { unwrapKeyMaterial } from '../../../src/ingest/srt/crypto.js'
import { Ctrl, HEADER_SIZE, parsePacket } from '../../../src/ingest/srt/packet.js'
import { SrtServer } from '../../../src/ingest/srt/server.js'
import { captureLogger, recordingHandler } from '../../helpers/recording-handler.js'
import { SrtCaller } from '../../helpers/srt-caller.js'
import { prng } from '../../helpers/prng.js'

const PASSPHRASE = 'fuzzing passphrase'
const SEED = 0x5eed5eed
/** A hang guard per input, not a speed goal: one PBKDF2 (2048 rounds) takes a few ms. */
const PER_INPUT_MS = 1000


/** `n` bytes from the seeded generator. */
function bytes(rnd: () => number, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)))
}

/** A KM message (§3.2.2) for AES-128 wrapping an even key with `passphrase`, as libsrt sends it. */
function keyMaterial(passphrase: string, rnd: () => number): Buffer {
  const salt = bytes(rnd, 16)
  const kek = pbkdf2Sync(passphrase, salt.subarray(8), 2048, 16, 'sha1')
  const c = createCipheriv('id-aes128-wrap', kek, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'))
  const wrapped = Buffer.concat([c.update(bytes(rnd, 16)), c.final()])
  const head = Buffer.from([0x12, 0x20, 0x29, 0x01, 0, 0, 0, 0, 2, 0, 2, 0, 0, 0, 4, 4])
  return Buffer.concat([head, salt, wrapped])
}

/** Decode a datagram the way the listener does; returns normally or throws. */
function decodeAll(b: Buffer): void {
  const p = parsePacket(b)
  if (!p || !p.control || p.type !== Ctrl.handshake) return
  const hs = parseHandshake(p.cif)
  const hsreq = hs.ext.get(Ext.hsreq)
  if (hsreq) parseHsReq(hsreq)
  const sid = hs.ext.get(Ext.sid)
  if (sid) parseStreamId(decodeStreamIdExt(sid))
  const km = hs.ext.get(Ext.kmreq)
  if (km) unwrapKeyMaterial(km, PASSPHRASE)
}

function mutate(seed: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(seed)
  const pick = (n: number): number => Math.floor(rnd() * n)
  switch (pick(6)) {
    case 0: { // flip a few bits
      for (let i = 0, n = 1 + pick(8); i < n; i++) b[pick(b.length)]! ^= 1 << pick(8)
      return b
    }
    case 1: { // extreme bytes
      for (let i = 0, n = 1 + pick(4); i < n; i++) b[pick(b.length)] = [0, 0xff, 0x7f, 0x80][pick(4)]!
      return b
    }
    case 2: return b.subarray(0, pick(b.length)) // truncated
    case 3: { // an extension length field (16 bits at a word boundary past the fixed part) set at random
      const at = HEADER_SIZE + 48 + 4 * pick(Math.max(1, (b.length - HEADER_SIZE - 48) / 4))
      if (at + 4 <= b.length) b.writeUInt16BE(pick(65536), at + 2)
      return b
    }
    case 4: return Buffer.concat([b, bytes(rnd, pick(64))]) // trailing bytes
    default: { // a random run overwritten
      const at = pick(b.length)
      for (let i = at; i < Math.min(b.length, at + 1 + pick(32)); i++) b[i] = pick(256)
      return b
    }
  }
}

async function seeds(rnd: () => number): Promise<Buffer[]> {
  const c = await SrtCaller.open(9) // never sends: only builds packets
  try {
    return [
      c.conclusionPacket({ streamid: 'publish:cam:secret', socketId: 1 }).packet,
      c.conclusionPacket({ streamid: '#!::r=cam,m=publish,s=secret', km: keyMaterial(PASSPHRASE, rnd), latencyMs: 500, socketId: 2 }).packet,
      c.conclusionPacket({ streamid: 'publish:x', hsreq: null, socketId: 3 }).packet,
    ]
  } finally {
    c.close()
  }
}

t.test('random and mutated handshakes decode or throw ProtocolError, each within a bound', async (t) => {
  const rnd = prng(SEED)
  const base = await seeds(rnd)
  t.doesNotThrow(() => base.forEach(decodeAll), 'the unmutated seeds decode')
  const iterations = 4000
  let decoded = 0
  let refused = 0
  let slowest = 0
  for (let i = 0; i < iterations; i++) {
    const input = i % 4 === 0
      ? bytes(rnd, Math.floor(rnd() * 400))
      : mutate(base[i % base.length]!, rnd)
    if (i % 8 === 1 && input.length >= 1) input[0] = 0x80 // keep many random inputs on the handshake path
    const start = performance.now()
    try {
      decodeAll(input)
      decoded++
    } catch (err) {
      if (!(err instanceof ProtocolError)) {
        t.fail(`input ${i} (${input.toString('hex').slice(0, 200)}) threw ${String(err)}`)
        return
      }
      refused++
    }
    slowest = Math.max(slowest, performance.now() - start)
  }
  t.equal(decoded + refused, iterations)
  t.ok(refused > 100 && decoded > 100, `${decoded} decoded, ${refused} refused with ProtocolError`)
  t.ok(slowest < PER_INPUT_MS, `slowest input took ${slowest.toFixed(1)} ms`)
})

t.test('a listener answers every mutated conclusion that carries its cookie', async (t) => {
  const rec = recordingHandler()
  const log = captureLogger()
  const srv = new SrtServer({ host: '127.0.0.1', port: 0, handler: rec.handler, logger: log.logger, latencyMs: 120, passphrase: PASSPHRASE })
  const port = await srv.listen()
  t.teardown(() => srv.close())
  const c = await SrtCaller.open(port)
  t.teardown(() => c.close())
  await c.induction()
  const rnd = prng(SEED + 1)
  const n = 300
  let answered = 0
  for (let i = 0; i < n; i++) {
    const { packet, socketId } = c.conclusionPacket({ streamid: `publish:f${i}:k`, km: keyMaterial(PASSPHRASE, rnd), socketId: 1000 + i })
    // Mutate only the extensions: the fixed part (type, socket id, cookie) stays valid.
    const fixed = HEADER_SIZE + 48
    const tail = mutate(packet.subarray(fixed), rnd)
    const input = Buffer.concat([packet.subarray(0, fixed), tail])
    const got = c.next((p) => p.dest === socketId, 3000)
    await c.send(input)
    if (!(await got)) {
      t.fail(`conclusion ${i} got no answer within 3 s: ${input.subarray(fixed).toString('hex').slice(0, 200)}`)
      break
    }
    answered++
  }
  t.equal(answered, n, 'every conclusion was answered')
  t.equal(log.lines.filter((l) => l.level >= 50).length, 0, 'no error-level line')
})
