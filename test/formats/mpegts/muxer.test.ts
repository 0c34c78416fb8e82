/**
 * The MPEG-TS writer byte by byte (CRC_32 against the standard's check value,
 * PAT/PMT read back by streamd's own demuxer, PES headers, stuffing,
 * continuity counters, PCR), and FFmpeg reading what it writes.
 */
import t, { type Test } from 'tap'
import { tempDirSync } from '../../helpers/temp-dir.js'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FFPROBE } from '../../helpers/ffmpeg.js'
import { crc32Mpeg, buildPat, buildPmt } from '../../../src/formats/mpegts/psi-writer.js'
import { TsMuxer, VIDEO_PID, AUDIO_PID_BASE, PMT_PID } from '../../../src/formats/mpegts/muxer.js'
import { parsePat, parsePmt, parsePes } from '../../../src/formats/mpegts/psi.js'
import { TsDemuxer } from '../../../src/formats/mpegts/demuxer.js'
import { adtsFrame, adtsParams } from '../../../src/formats/mpegts/es-from-tags.js'
import { parseAdts } from '../../../src/formats/mpegts/adts.js'

const run = promisify(execFile)

t.test('CRC_32 of Annex A: the check value of "123456789" is 0x0376E6E7', async (t) => {
  t.equal(crc32Mpeg(Buffer.from('123456789')), 0x0376e6e7)
  // A whole section including its CRC leaves a zero remainder.
  const pat = buildPat(1, PMT_PID)
  t.equal(crc32Mpeg(pat), 0)
})

t.test('PAT and PMT read back, languages included', async (t) => {
  t.same([...parsePat(buildPat(1, 0x1000)).entries()], [[1, 0x1000]])
  const pmt = parsePmt(buildPmt(1, 0x100, [
    { pid: 0x100, streamType: 0x24 }, { pid: 0x101, streamType: 0x0f, language: 'eng' }, { pid: 0x102, streamType: 0x0f },
  ], 3))
  t.equal(pmt.version, 3)
  t.same(pmt.streams, [{ pid: 0x100, streamType: 0x24 }, { pid: 0x101, streamType: 0x0f, language: 'eng' }, { pid: 0x102, streamType: 0x0f }])
  const bytes = buildPmt(1, 0x100, [{ pid: 0x101, streamType: 0x0f, language: 'hin' }])
  t.same([...bytes.subarray(17, 23)], [0x0a, 4, 0x68, 0x69, 0x6e, 0], 'ISO_639_language_descriptor: tag, length, "hin", audio_type 0')
})

function packets(t: Test, b: Buffer): Buffer[] {
  t.equal(b.length % 188, 0, 'whole transport packets')
  return Array.from({ length: b.length / 188 }, (_, i) => b.subarray(i * 188, i * 188 + 188))
}

t.test('a video PES: PTS and DTS, PCR and random access on the first packet, stuffing in the last', async (t) => {
  const mux = new TsMuxer({ video: { streamType: 0x1b }, audio: [] })
  const payload = Buffer.alloc(400, 0xab)
  const pts = 2 ** 33 - 10 + 3003 // past the wrap: written modulo 2^33
  const out = packets(t, mux.video(payload, pts, pts - 3003, true))
  t.equal(out.length, 3)
  const p0 = out[0]!
  t.equal(p0[0], 0x47)
  t.equal(p0.readUInt16BE(1), 0x4000 | VIDEO_PID, 'payload_unit_start on the first packet')
  t.equal(p0[3]! >> 4, 3, 'adaptation field and payload')
  t.equal(p0[5]! & 0x50, 0x50, 'random_access_indicator and PCR_flag')
  const pcrBase = p0.readUInt32BE(6) * 2 + (p0[10]! >> 7)
  t.equal(pcrBase, (pts - 3003) % 2 ** 33, 'PCR = DTS')
  t.same(out.map((p) => p[3]! & 0x0f), [0, 1, 2], 'continuity counter counts up')
  t.same(out.slice(1).map((p) => p.readUInt16BE(1)), [VIDEO_PID, VIDEO_PID], 'no unit start after the first')
  // Reassemble and read the PES back.
  const body = Buffer.concat(out.map((p) => p.subarray(p[3]! & 0x20 ? 5 + p[4]! : 4)))
  const pes = parsePes(body)
  t.equal(pes.streamId, 0xe0)
  t.equal(pes.pts, pts % 2 ** 33)
  t.equal(pes.dts, pts - 3003)
  t.same(pes.payload, payload)
  t.equal(body.readUInt16BE(4), 0, 'video PES_packet_length 0 (unbounded)')
})

t.test('audio PES lengths, one-byte stuffing, and PIDs per track', async (t) => {
  const mux = new TsMuxer({ audio: [{ language: 'eng' }, {}] })
  // 184 - 14 (PES header) - 2 (adaptation field: length, flags) = 168 fills one packet exactly; 169 forces a second.
  for (const size of [1, 167, 168, 169, 1000]) {
    const out = packets(t, mux.audio(1, Buffer.alloc(size, 7), 90_000))
    const body = Buffer.concat(out.map((p) => p.subarray(p[3]! & 0x20 ? 5 + p[4]! : 4)))
    t.equal(body.readUInt16BE(4), size + 8, `PES_packet_length for ${size} bytes`)
    t.equal(parsePes(body).payload.length, size)
    t.ok(out.every((p) => (p.readUInt16BE(1) & 0x1fff) === AUDIO_PID_BASE + 1), 'second track on the second audio PID')
  }
})

t.test('ADTS headers rebuilt from the AudioSpecificConfig parse back', async (t) => {
  const p = adtsParams(Buffer.from([0x11, 0x90])) // AAC-LC, 48 kHz, 2 channels
  t.same(p, { objectType: 2, rateIndex: 3, channelConfig: 2 })
  const frames = parseAdts(Buffer.concat([adtsFrame(p, Buffer.alloc(100, 1)), adtsFrame(p, Buffer.alloc(50, 2))]))
  t.same(frames.map((f) => [f.objectType, f.sampleRate, f.channelConfig, f.raw.length]), [[2, 48000, 2, 100], [2, 48000, 2, 50]])
})

t.test("streamd's demuxer and FFmpeg read the program: one HEVC and three AAC tracks with languages", async (t) => {
  const mux = new TsMuxer({ video: { streamType: 0x24 }, audio: [{ language: 'eng' }, { language: 'hin' }, {}] })
  const p = adtsParams(Buffer.from([0x11, 0x90]))
  const parts = [mux.tables()]
  for (let i = 0; i < 20; i++) for (let a = 0; a < 3; a++) parts.push(mux.audio(a, adtsFrame(p, Buffer.alloc(20, 0)), i * 1920))
  const ts = Buffer.concat(parts)
  const seen: number[] = []
  const demux = new TsDemuxer({ onPmt: (pmt) => seen.push(...pmt.streams.map((s) => s.streamType)), onPes: () => {} })
  demux.push(ts)
  t.equal(demux.stats.ccErrors, 0)
  t.same(seen, [0x24, 0x0f, 0x0f, 0x0f])
  const file = join(tempDirSync(t, 'streamd-mux-'), 'x.ts')
  writeFileSync(file, ts)
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-print_format', 'json', '-show_streams', file])
  const streams = JSON.parse(stdout).streams
  t.same(streams.map((s: any) => [s.codec_name, s.tags?.language ?? null]), [['hevc', null], ['aac', 'eng'], ['aac', 'hin'], ['aac', null]])
})
