/**
 * SRT loss recovery at contribution rate: FFmpeg (libsrt caller) sends a
 * 25 Mbit/s constant-rate MPEG-TS (a pre-encoded 720p clip copied, padded to
 * 25 Mbit/s with null packets by the muxer's muxrate, so no encoding CPU) through
 * a relay dropping 1% of datagrams both ways into streamd's SRT listener. The
 * tee muxer writes the same TS to a file; the run checks every transport packet
 * arrived (count and continuity) and reports retransmits, NAKs and late drops,
 * next to a loss-free run of the same feed.
 *
 * usage: USAGE below (printed by --help).
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { parseCli, stopOnSignals } from './lib/cli.mjs'
import { exitOf, killAllSync, spawnTracked } from './lib/procs.mjs'
import { startLossyRelay } from './lib/lossy-relay.mjs'

const USAGE = 'usage: npm run build && node bench/srt-loss.mjs [--seconds 15] [--loss 0.01] [--latency 200] [--runs 2]'
const cli = parseCli('bench/srt-loss', USAGE, {
  seconds: { type: 'string', default: '15' },
  loss: { type: 'string', default: '0.01' },
  latency: { type: 'string', default: '200' },
  runs: { type: 'string', default: '2' },
})
const SECONDS = cli.num('seconds', undefined, { gt: 0, max: 120 })
const LOSS = cli.num('loss', undefined, { min: 0, max: 0.5 })
const LATENCY = cli.num('latency', undefined, { min: 1, max: 10_000, integer: true })
const RUNS = cli.num('runs', undefined, { min: 1, max: 10, integer: true })
const MUXRATE = 25_000_000

const dist = new URL('../dist/', import.meta.url)
/** @type {typeof import('../src/ingest/srt/server.js')} */
const { SrtServer } = await import(new URL('ingest/srt/server.js', dist).href)
const dir = mkdtempSync(join(tmpdir(), 'streamd-srt-bench-'))
const clip = join(dir, 'clip.ts')
// The sent TS files are 25 Mbit/s each: remove them however the run ends.
stopOnSignals('bench/srt-loss', () => { killAllSync(); rmSync(dir, { recursive: true, force: true }) })

/** Run FFmpeg as a tracked child (SIGINT/SIGTERM stop it by pid), SIGKILL after `maxMs`; resolves with its exit code or signal. */
async function ffmpeg(args, stdio, maxMs) {
  const ff = spawnTracked('ffmpeg', args, { stdio })
  const killer = setTimeout(() => { try { process.kill(ff.pid, 'SIGKILL') } catch { /* gone */ } }, maxMs)
  const { code, signal } = await exitOf(ff)
  clearTimeout(killer)
  return code ?? signal
}

async function makeClip() {
  const code = await ffmpeg(['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '10', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-b:v', '8M', '-maxrate', '8M', '-bufsize', '4M', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mpegts', '-y', clip],
  ['ignore', 'inherit', 'inherit'], 120_000)
  if (code !== 0) throw new Error(`bench/srt-loss: making the clip failed (ffmpeg ${code})`)
}

/** One bounded run; resolves with the receiver's counters and what FFmpeg sent. */
async function run(loss, seed) {
  const counts = { tags: 0, ended: '' }
  /** @type {import('../src/ingest/types.js').IngestHandler} */
  const handler = { publish: async () => ({ ok: true, sink: { write: () => { counts.tags++ }, end: (r) => { counts.ended = r } } }) }
  const srv = new SrtServer({ host: '127.0.0.1', port: 0, handler, logger: pino({ level: 'warn' }), latencyMs: LATENCY })
  const port = await srv.listen()
  const relay = await startLossyRelay({ target: { host: '127.0.0.1', port }, loss, seed, maxMs: (SECONDS + 30) * 1000 })
  const sent = join(dir, `sent-${loss}-${seed}.ts`)
  const srt = `srt://127.0.0.1:${relay.port}?streamid=publish:bench:k&latency=${LATENCY * 1000}&linger=5`
  const code = await ffmpeg(['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip, '-t', String(SECONDS), '-map', '0', '-c', 'copy',
    '-f', 'tee', `[f=mpegts:muxrate=${MUXRATE}]${sent}|[f=mpegts:muxrate=${MUXRATE}]${srt}`], ['ignore', 'ignore', 'inherit'], (SECONDS + 30) * 1000)
  await new Promise((r) => setTimeout(r, 1500))
  const t = srv.totals()
  await srv.close()
  await relay.close()
  const sentPackets = existsSync(sent) ? statSync(sent).size / 188 : 0
  return { loss, code, sentPackets, ...t, relay: relay.stats, tags: counts.tags }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

await makeClip()
const results = []
for (let i = 0; i < RUNS; i++) {
  for (const loss of [0, LOSS]) {
    const r = await run(loss, i + 1)
    results.push(r)
    console.log(JSON.stringify({ loss: r.loss, ffmpegExit: r.code, sentTs: r.sentPackets, receivedTs: r.tsPackets, ccErrors: r.ccErrors, srtPackets: r.packets,
      lossDetected: r.lossDetected, retransmitted: r.retransmitted, recovered: r.recovered, lateDropped: r.lateDropped, naks: r.naks, nakedSeqs: r.nakedSeqs,
      duplicates: r.duplicates, overflow: r.overflow, relayDropped: r.relay.droppedUp + r.relay.droppedDown }))
  }
}
const lossy = results.filter((r) => r.loss > 0)
const clean = results.filter((r) => r.loss === 0)
const whole = (r) => r.tsPackets === r.sentPackets && r.ccErrors === 0
console.log(`\nSRT ${MUXRATE / 1e6} Mbit/s for ${SECONDS} s, latency ${LATENCY} ms, ${RUNS} run(s) per setting`)
console.log(`  loss ${LOSS * 100}% both ways: whole ${lossy.filter(whole).length}/${lossy.length}; median lost ${median(lossy.map((r) => r.lossDetected))}, retransmitted ${median(lossy.map((r) => r.retransmitted))}, late drops ${median(lossy.map((r) => r.lateDropped))}, NAK reports ${median(lossy.map((r) => r.naks))}`)
console.log(`  no loss: whole ${clean.filter(whole).length}/${clean.length}; median retransmitted ${median(clean.map((r) => r.retransmitted))}`)
console.log(`  retransmissions per lost packet (median): ${median(lossy.map((r) => r.retransmitted / Math.max(1, r.lossDetected))).toFixed(2)}`)
