/**
 * The standing subscribers of every session: metrics, the log lines a session's events
 * deserve, the gap cover, and the stream's view for the API and the HTTP routes. Each
 * reads only events; a new consumer is written the same way, without touching the session.
 */
import type { Logger } from 'pino'
import type { Metrics } from '../log/metrics.js'
import type { InputInfo, LiveStream } from '../packager/live-stream.js'
import type { SessionEvents } from './session-events.js'
import type { StreamSession } from './stream-session.js'
import { GapCover } from './gap-cover.js'

/** Seconds of input the bitrate is averaged over. */
const BITRATE_WINDOW_MS = 5000
/** One lagging line per rendition per this long: a machine at its limit flips rungs often. */
const LAG_LOG_MS = 10_000

/** Wire the standing subscribers of `session`, whose stream is `stream`; an input silent for `lossMs` shows as lost. */
export function observeSession(session: StreamSession, stream: LiveStream, metrics: Metrics, log: Logger, lossMs = 500): void {
  const ev = session.events
  meter(ev, metrics, stream.name)
  logEvents(ev, log)
  coverGaps(ev, log)
  view(ev, stream, (bits) => metrics.ingestBitrate.set({ stream: stream.name }, bits))
  viewInputs(ev, stream, lossMs)
  stream.state = session.state
}

/** Prometheus counters and gauges of the session. */
function meter(ev: SessionEvents, m: Metrics, stream: string): void {
  ev.on('media', ({ tag, source }) => m.ingestBytes.inc({ stream, protocol: source.protocol }, tag.data.length))
  ev.on('media-dropped', () => m.ingestDropped.inc({ stream }))
  ev.on('part-published', ({ rendition, part }) => { if (!part.gap) m.parts.inc({ stream, rendition }) })
  ev.on('segment-completed', ({ rendition, gap }) => { if (!gap) m.segments.inc({ stream, rendition }) })
  ev.on('part-released', ({ heldSeconds }) => m.publishHeld.observe(heldSeconds))
  ev.on('worker-down', ({ wanted }) => { if (wanted) m.workerRestarts.inc({ stream }) })
  ev.on('rung-shed', ({ rendition }) => m.rungsShed.inc({ stream, rendition }))
  ev.on('lagging', ({ rendition, lagging }) => { if (lagging) m.renditionsLagging.inc({ stream, rendition }) })
  ev.on('speed', ({ rendition, speed }) => m.setSpeed(stream, rendition, speed))
  ev.on('input-switched', ({ to, cause }) => {
    // The first input going on air is the start of the stream, not a switch.
    if (cause !== 'start') m.countInputSwitch(stream, cause)
    if (to !== 'none') m.setOnAir(stream, to)
  })
}

/** Log lines for events no other component logs. */
function logEvents(ev: SessionEvents, log: Logger): void {
  const lagLogged = new Map<string, number>()
  ev.on('lagging', ({ rendition, lagging, behindSeconds }) => {
    const now = Date.now()
    if (!lagging || now - (lagLogged.get(rendition) ?? -Infinity) < LAG_LOG_MS) return
    lagLogged.set(rendition, now)
    log.warn({ rendition, behindSeconds: Math.round(behindSeconds * 1000) / 1000 }, 'rendition too far behind the others; publishing the rest without waiting for it until it catches up')
  })
  ev.on('rendition-removed', ({ rendition }) => log.warn({ rendition }, 'copied rendition taken out of the multivariant playlist and the MPD: its key frames miss the segment grid'))
  ev.on('started', ({ renditions, firstMsn }) => log.info({ renditions, firstMsn }, 'renditions opened'))
}

/** A worker down (restarting) or shed: its rendition's time shows as gaps until media is back. */
function coverGaps(ev: SessionEvents, log: Logger): void {
  const gaps = new GapCover([], log)
  ev.on('rendition-added', ({ store }) => gaps.add(store))
  ev.on('worker-up', ({ rendition, fromMsn }) => gaps.up(rendition, fromMsn))
  ev.on('worker-down', ({ rendition, wanted }) => { if (wanted) gaps.down(rendition) })
  ev.on('rung-shed', ({ rendition }) => gaps.down(rendition))
  ev.on('state', ({ state }) => { if (state === 'ended') gaps.stop() })
}

/** The stream as the API and the HTTP routes show it: state, input, bitrate, warnings. */
function view(ev: SessionEvents, stream: LiveStream, onBitrate: (bits: number) => void): void {
  stream.endedAt = undefined
  stream.viewers.reset()
  let window: Array<{ at: number; bytes: number }> = []
  ev.on('source-attached', ({ source }) => {
    if (source.protocol === 'generated') return
    stream.ingest = { protocol: source.protocol, remote: source.remote, since: source.since, key: source.key }
  })
  ev.on('started', ({ warnings }) => {
    if (stream.ingest && warnings.length > 0) stream.ingest.warnings = [...(stream.ingest.warnings ?? []), ...warnings]
  })
  ev.on('state', ({ state }) => { if (state === 'live') stream.state = 'live' })
  ev.on('media', ({ tag }) => {
    const now = tag.arrival
    window.push({ at: now, bytes: tag.data.length })
    while (window.length > 0 && now - window[0]!.at > BITRATE_WINDOW_MS) window.shift()
    const first = window[0]!
    if (now - first.at < 1000) return
    stream.inputBitrate = window.reduce((a, b) => a + b.bytes, 0) * 8 / ((now - first.at) / 1000)
    onBitrate(stream.inputBitrate)
  })
  // Only once the stores have ended: until then the stream still serves as live.
  ev.on('ended', () => {
    window = []
    stream.state = 'ended'
    stream.endedAt = Date.now()
    stream.inputBitrate = 0
    stream.changed()
  })
}

/** Seconds of an input's media its bitrate is averaged over. */
const INPUT_WINDOW_MS = 5000

/** Every input of the stream for the API: its state, bitrate and last media, and what is on air. */
function viewInputs(ev: SessionEvents, stream: LiveStream, lossMs: number): void {
  stream.inputs = []
  stream.onAir = undefined
  const windows = new Map<number, { info: InputInfo; bytes: Array<{ at: number; n: number }> }>()
  const states = (): void => {
    const now = Date.now()
    for (const { info } of windows.values()) {
      // Connected but silent is lost too: its encoder died and the connection has not timed out yet.
      const silent = info.lastMediaAt !== undefined && now - info.lastMediaAt > lossMs
      info.state = info.role === stream.onAir ? 'on-air' : info.lastMediaAt === undefined ? 'connecting' : silent ? 'lost' : 'standby'
      if (silent) info.bitrate = 0
    }
  }
  const timer = setInterval(states, Math.max(100, lossMs / 2))
  timer.unref()
  ev.on('source-attached', ({ source }) => {
    if (source.role === 'slate' || source.protocol === 'generated') return
    const info: InputInfo = { role: source.role, state: 'connecting', remote: source.remote, protocol: source.protocol, bitrate: 0, since: source.since, lastMediaAt: undefined }
    // A role that reconnects replaces its lost entry: one line per role.
    stream.inputs = [...stream.inputs.filter((i) => i.role !== source.role), info].sort((a, b) => a.role.localeCompare(b.role) * -1)
    windows.set(source.id, { info, bytes: [] })
    states()
  })
  ev.on('source-detached', ({ source }) => {
    const w = windows.get(source.id)
    if (!w) return
    w.info.state = 'lost'
    w.info.bitrate = 0
    windows.delete(source.id)
  })
  ev.on('input-media', ({ tag, source }) => {
    const w = windows.get(source.id)
    if (!w) return
    const first = w.info.lastMediaAt === undefined || w.info.state === 'lost'
    w.info.lastMediaAt = tag.arrival
    w.bytes.push({ at: tag.arrival, n: tag.data.length })
    while (w.bytes.length > 0 && tag.arrival - w.bytes[0]!.at > INPUT_WINDOW_MS) w.bytes.shift()
    const span = tag.arrival - w.bytes[0]!.at
    if (span >= 1000) w.info.bitrate = Math.round(w.bytes.reduce((a, b) => a + b.n, 0) * 8 / (span / 1000))
    if (first) states()
  })
  ev.on('input-problem', ({ source, problem }) => {
    const w = windows.get(source.id)
    if (w) w.info.problem = problem
  })
  ev.on('input-switched', ({ to }) => {
    stream.onAir = to === 'none' ? undefined : to
    states()
    // The API's `ingest` describes the input on air.
    const on = [...windows.values()].find((w) => w.info.role === to)?.info
    if (on && stream.ingest?.remote !== on.remote) stream.ingest = { ...stream.ingest, protocol: on.protocol, remote: on.remote, since: on.since, key: stream.ingest?.key }
  })
  ev.on('ended', () => {
    clearInterval(timer)
    stream.onAir = undefined
    for (const i of stream.inputs) { i.state = 'lost'; i.bitrate = 0 }
  })
}
