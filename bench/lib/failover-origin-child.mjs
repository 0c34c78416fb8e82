// @ts-check
/**
 * Child process for bench/failover: one real streamd Origin (compiled dist/) on
 * 127.0.0.1 port 0 (HTTP, RTMP, SRT), config overrides from argv[2] (JSON). It
 * watches its one stream's session events and times every switch of the on-air
 * input in-process, on one clock (Date.now(), the clock of a tag's `arrival` and a
 * part's `completedAt`):
 *
 * - every tag of every input (`input-media`): the first and last arrival per input;
 * - `input-switched`: a switch starts; the lost input's last tag is its start point;
 * - every tag put on air (the session's selector hook, the one place slate tags are
 *   seen too): the first tag of the new on-air source is the spliced key frame; its
 *   timestamp on the session's timeline, less the timeline's base, is the media time
 *   where the new source begins;
 * - `part-published`: per rendition, the first non-gap part whose media ends after
 *   that media time by more than half a frame is the new source's first part (gap parts in
 *   between are counted).
 *
 * stdout, one JSON line each:
 *   {type:'ready', http, rtmp, srt, hls, redundancy, slate, ladder}   ports, and the settings in force
 *   {type:'on-air', at, from, to, cause}          a switch happened (progress)
 *   {type:'silence', role, at, gapMs}               an input's tag came after more than lossMs without one
 *   {type:'pids', at, pids}                         the session's worker pids by role changed (polled every 100 ms)
 *   {type:'switch', ...}                            its timings, once every rendition has a part of
 *                                                   the new source or 10 s passed (see SwitchRecord)
 * Logs (pino, warn and up) go to stderr. Stops on SIGTERM/SIGINT or stdin end.
 *
 * usage: [BENCH_STREAMD_DIST=/path/to/dist] node failover-origin-child.mjs '{"hls":{...}}' STREAM
 */
import { pathToFileURL } from 'node:url'
import pino from 'pino'

const dist = process.env.BENCH_STREAMD_DIST ? pathToFileURL(process.env.BENCH_STREAMD_DIST + '/').href : new URL('../../dist/', import.meta.url).href
/** @type {typeof import('../../src/core/origin.js')} */
const { Origin } = await import(new URL('core/origin.js', dist).href)
/** @type {typeof import('../../src/config/load.js')} */
const { buildConfig } = await import(new URL('config/load.js', dist).href)

/** @typedef {import('../../src/core/stream-session.js').StreamSession} StreamSession */
/** @typedef {import('../../src/core/input-switch.js').OnAir} OnAir */

/**
 * @typedef {object} SwitchRecord
 * @property {number} n switch number in this session (from 1)
 * @property {number} at Date.now() of `input-switched`
 * @property {OnAir} from
 * @property {OnAir} to
 * @property {string} cause
 * @property {number | null} lostLastTag arrival of the last tag of the input that was on air (null: it was the slate or nothing)
 * @property {number | null} toFirstTag arrival of the first tag of the new input since it connected (null: the slate)
 * @property {number | null} spliceArrival arrival of the new source's first tag on air (its key frame; the slate's: when it was generated)
 * @property {number | null} spliceMediaS media time (s) where the new source begins on the session's timeline
 * @property {Record<string, { at: number, msn: number, index: number, startS: number }>} parts first part of the new source per rendition
 * @property {Record<string, number>} firstAfter Date.now() of the first part (any) published per rendition after the switch
 * @property {Record<string, number>} gaps gap parts published per rendition between the switch and the new source's first part
 * @property {string[]} renditions the stream's renditions at the switch
 * @property {boolean} complete every rendition had a part of the new source within 10 s
 */

const overrides = JSON.parse(process.argv[2] ?? '{}')
const name = process.argv[3] ?? 'bench'
// Publishing open: the bench publishes from this machine without keys.
const base = { http: { host: '127.0.0.1', port: 0 }, rtmp: { host: '127.0.0.1', port: 0 }, srt: { host: '127.0.0.1', port: 0 }, log: { level: 'warn' }, publish: { open: true } }
const config = buildConfig(base, [overrides])
const logger = pino({ level: config.log.level, name: 'streamd' }, pino.destination({ fd: 2, sync: true }))
const origin = new Origin(config, logger, { defaultMetrics: false })
const lossMs = config.redundancy.lossMs
/** @param {object} o */
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n')
/** How long a switch waits for every rendition's first part of the new source, ms. */
const RECORD_TIMEOUT_MS = 10_000

/**
 * Observe a session from the moment it exists: the origin registers a new session in
 * `sessions` before any input is attached, so wrapping `set` sees every tag and switch.
 */
const sessions = origin.sessions
const set = sessions.set.bind(sessions)
sessions.set = (key, session) => {
  set(key, session)
  if (key === name) observe(session)
  return sessions
}

/** @param {StreamSession} session */
function observe(session) {
  /** Per input role: the connection's id, and the arrival of its first and last tag. */
  /** @type {Map<string, { id: number, firstTag: number, lastTag: number }>} */
  const inputs = new Map()
  /** @type {SwitchRecord | undefined} */
  let pending
  /** @type {NodeJS.Timeout | undefined} */
  let timer
  let n = 0
  const ev = session.events

  const finish = () => {
    if (!pending) return
    clearTimeout(timer)
    pending.complete = pending.renditions.every((r) => pending?.parts[r])
    say({ type: 'switch', ...pending })
    pending = undefined
  }

  ev.on('source-attached', ({ source }) => {
    if (source.role !== 'slate') inputs.set(source.role, { id: source.id, firstTag: NaN, lastTag: NaN })
  })
  ev.on('input-media', ({ tag, source }) => {
    const s = inputs.get(source.role)
    if (!s || s.id !== source.id) return
    if (Number.isNaN(s.firstTag)) s.firstTag = tag.arrival
    // An input silent longer than lossMs is lost even while connected: a publisher starved
    // of CPU does that without being killed, and the policy then counts a loss.
    else if (tag.arrival - s.lastTag > lossMs) say({ type: 'silence', role: source.role, at: tag.arrival, gapMs: tag.arrival - s.lastTag })
    s.lastTag = tag.arrival
  })
  ev.on('input-switched', ({ from, to, cause }) => {
    finish() // a switch that follows another before its parts came closes the first one
    const at = Date.now()
    say({ type: 'on-air', at, from, to, cause })
    const lost = from === 'primary' || from === 'backup' ? inputs.get(from) : undefined
    const next = to === 'primary' || to === 'backup' ? inputs.get(to) : undefined
    pending = {
      n: ++n, at, from, to, cause,
      lostLastTag: lost && Number.isFinite(lost.lastTag) ? lost.lastTag : null,
      toFirstTag: next && Number.isFinite(next.firstTag) ? next.firstTag : null,
      spliceArrival: null, spliceMediaS: null, parts: {}, firstAfter: {}, gaps: {},
      renditions: [...(origin.directory.get(name)?.renditions.keys() ?? [])],
      complete: false,
    }
    timer = setTimeout(finish, RECORD_TIMEOUT_MS)
  })

  // Every tag that goes on air passes the selector's hook; slate tags (no source) too.
  const selector = session.selector
  const onAir = selector.onAirTag
  selector.onAirTag = (tag, source) => {
    const p = pending
    if (p && p.spliceMediaS === null && (source ? source.role : 'slate') === p.to) {
      // The session's timeline counts from its epoch's base (the normalizer's, which has no
      // public accessor: a bench reading an internal, as ladder-origin-child reads `dropped`).
      const epoch = /** @type {any} */ (session).input?.currentEpoch
      if (epoch) {
        p.spliceArrival = tag.arrival
        p.spliceMediaS = (tag.timestamp - epoch.base) / 1000
      }
    }
    onAir?.(tag, source)
  }

  ev.on('part-published', ({ rendition, part, segment }) => {
    const p = pending
    if (!p) return
    p.firstAfter[rendition] ??= Date.now()
    if (p.parts[rendition]) return
    if (part.gap) {
      p.gaps[rendition] = (p.gaps[rendition] ?? 0) + 1
      return
    }
    if (p.spliceMediaS === null) return
    let startS = segment.startTime
    for (const x of segment.parts) {
      if (x === part) break
      startS += x.duration
    }
    // A part of the old source alone ends one frame after its last frame, and the new
    // source begins at least 20 ms after that frame (the splice step): at 25 fps or more
    // such a part ends less than half a frame past the splice point, while a part with the
    // new source's first frame ends a whole frame past it. (A rung at a lower rate may be
    // taken one of its frames early; that frame is published after the new source came.)
    if (startS + part.duration <= p.spliceMediaS + frameSeconds(part) / 2) return
    p.parts[rendition] = { at: Date.now(), msn: part.msn, index: part.index, startS }
    if (p.renditions.every((r) => p.parts[r])) finish()
  })
  // Worker restarts (a copied rendition restarts when the video configuration on air
  // changes): polled, as bench/ladder does, since pids change only on a restart.
  let lastPids = ''
  const poll = setInterval(() => {
    const pids = JSON.stringify(session.workerPids())
    if (pids !== lastPids) say({ type: 'pids', at: Date.now(), pids: JSON.parse(lastPids = pids) })
  }, 100)
  poll.unref()
  ev.on('ended', () => { clearInterval(poll); finish() })
}

/**
 * Mean frame (sample) duration of a part, s: its duration over the sample count of its
 * first `trun` box (ISO/IEC 14496-12 8.8.8: size, type, version and flags, sample_count).
 * @param {{ data: Buffer, duration: number }} part
 */
function frameSeconds(part) {
  const i = part.data.indexOf('trun')
  const count = i >= 4 && i + 12 <= part.data.length ? part.data.readUInt32BE(i + 8) : 0
  return count > 0 ? part.duration / count : 0
}

const ports = await origin.start()
say({ type: 'ready', http: ports.http, rtmp: ports.rtmp, srt: ports.srt, hls: config.hls, redundancy: config.redundancy, slate: config.slate, ladder: config.ladder })

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  const t = setTimeout(() => process.exit(1), 8000)
  try {
    await origin.stop()
  } finally {
    clearTimeout(t)
    process.exit(0)
  }
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop)
process.stdin.on('error', stop)
process.stdin.resume()
