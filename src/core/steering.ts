/**
 * Content steering of an origin: the configured pathways, probed by a
 * PathwayHealth over each live stream's media playlist, as the live routes
 * read them (multivariant playlist, MPD, steering manifest).
 */
import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import type { StreamDirectory } from '../packager/live-stream.js'
import type { SteeringSource } from '../http/live-common.js'
import { STEERING_FILE } from '../http/router.js'
import { PathwayHealth, type ProbeFetch, type ProbeTarget } from './pathway-health.js'

/** Largest probe answer read: a media playlist of a long window is well below it. */
const MAX_PROBE_BYTES = 1024 * 1024

/** Probe over HTTP with the platform's fetch; a body over MAX_PROBE_BYTES is a failure. */
export const httpProbe: ProbeFetch = async (url, signal) => {
  const res = await fetch(url, { signal, headers: { 'User-Agent': 'streamd-steering-probe' } })
  // Read no more than the cap: a pathway that answers with an endless body fails the probe.
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of res.body ?? []) {
    size += (chunk as Uint8Array).byteLength
    // Leaving the loop by throwing cancels the body.
    if (size > MAX_PROBE_BYTES) throw new Error('probe answer too large')
    chunks.push(Buffer.from(chunk as Uint8Array))
  }
  return { status: res.status, text: Buffer.concat(chunks).toString('utf8') }
}

/** For each live stream, one rendition that has media: the playlist every pathway is probed for. */
export function probeTargets(directory: StreamDirectory): ProbeTarget[] {
  const out: ProbeTarget[] = []
  for (const s of directory.list()) {
    if (s.state !== 'live' || s.removed) continue
    const r = [...s.renditions.values()].find((x) => !x.shed && x.edge() !== undefined)
    if (r) out.push({ stream: s.name, rendition: r.name })
  }
  return out
}

/** The steering source and its health probe; undefined when no pathway is configured. */
export function steeringSource(config: Config, directory: StreamDirectory, log: Logger, fetch: ProbeFetch = httpProbe): (SteeringSource & { health: PathwayHealth }) | undefined {
  const c = config.steering
  if (c.pathways.length === 0) return undefined
  const health = new PathwayHealth({
    pathways: c.pathways, intervalMs: c.probeIntervalMs, timeoutMs: c.probeTimeoutMs, recoverMs: c.recoverMs,
    // A live playlist gains a segment every segment target: three without one is a stall.
    stallMs: Math.max(3 * config.hls.segmentTarget * 1000, 2 * c.probeIntervalMs),
    targets: () => probeTargets(directory), fetch, now: () => performance.now(),
    onChange: (pathway, stream, change) => {
      if (change === 'recovered') log.info({ pathway, stream }, 'steering: pathway healthy again, back in its place')
      else log.warn({ pathway, stream, why: change }, `steering: pathway ${change === 'stalled' ? 'playlist stopped advancing' : 'probe failed'}, moved last`)
    },
  })
  const byId = new Map(c.pathways.map((p) => [p.id, p]))
  return {
    health,
    ttlSeconds: c.ttlSeconds,
    view: (stream) => ({ serverUri: STEERING_FILE, pathways: health.order(stream).map((id) => byId.get(id)!) }),
  }
}
