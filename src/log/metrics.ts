/**
 * Prometheus metrics. One registry per server instance (not prom-client's
 * global one) so several servers can run in one process, as tests do.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { OnAirInput } from '../packager/live-stream.js'

/**
 * Why a stream's on-air input changed: `loss` (the on-air input stopped delivering),
 * `return` (the primary came back and took over again), `manual` (the admin API),
 * `slate` (no input left: the slate went on air), `recovered` (an input came back
 * while the slate was on air).
 */
export type InputSwitchCause = 'loss' | 'return' | 'manual' | 'slate' | 'recovered'


/** Every value of OnAirInput, the label values of streamd_input_on_air. */
const ON_AIR_INPUTS: readonly OnAirInput[] = ['primary', 'backup', 'slate']

/** Every metric streamd exports, created once per server. */
export class Metrics {
  readonly registry = new Registry()
  readonly ingestBytes: Counter<'stream' | 'protocol'>
  readonly ingestBitrate: Gauge<'stream'>
  readonly streamsLive: Gauge
  readonly parts: Counter<'stream' | 'rendition'>
  readonly segments: Counter<'stream' | 'rendition'>
  readonly workerRestarts: Counter<'stream'>
  readonly httpRequests: Counter<'route' | 'status'>
  readonly blockingWaiters: Gauge
  readonly publishRefused: Counter<'protocol' | 'code'>
  readonly blockingAnswerDelay: Histogram<'kind'>
  readonly renditionSpeed: Gauge<'stream' | 'rendition'>
  readonly rungsShed: Counter<'stream' | 'rendition'>
  readonly ingestDropped: Counter<'stream'>
  readonly publishHeld: Histogram
  readonly renditionsLagging: Counter<'stream' | 'rendition'>
  readonly inputSwitches: Counter<'stream' | 'cause'>
  readonly inputOnAir: Gauge<'stream' | 'input'>
  private readonly speedLabels = new Map<string, Set<string>>()
  // Requests are tallied in plain numbers and handed to prom-client when scraped:
  // a labelled inc() per request costs more than serving a small part does.
  private readonly requestTally = new Map<string, Map<number, number>>()

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry]
    this.ingestBytes = new Counter({ name: 'streamd_ingest_bytes_total', help: 'Media bytes received from publishers', labelNames: ['stream', 'protocol'], registers })
    this.ingestBitrate = new Gauge({ name: 'streamd_ingest_bitrate_bits', help: 'Ingest bitrate over the last few seconds, bit/s', labelNames: ['stream'], registers })
    this.streamsLive = new Gauge({ name: 'streamd_streams_live', help: 'Streams with a live publisher', registers })
    this.parts = new Counter({ name: 'streamd_parts_total', help: 'LL-HLS parts produced', labelNames: ['stream', 'rendition'], registers })
    this.segments = new Counter({ name: 'streamd_segments_total', help: 'Media segments produced', labelNames: ['stream', 'rendition'], registers })
    this.workerRestarts = new Counter({ name: 'streamd_worker_restarts_total', help: 'FFmpeg worker restarts after an exit', labelNames: ['stream'], registers })
    const tally = this.requestTally
    this.httpRequests = new Counter({
      name: 'streamd_http_requests_total',
      help: 'HTTP requests by route and status (aborted: the response did not complete, e.g. the client left first)',
      labelNames: ['route', 'status'],
      registers,
      collect() {
        for (const [route, byStatus] of tally) {
          for (const [status, n] of byStatus) this.inc({ route, status: status === 0 ? 'aborted' : String(status) }, n)
        }
        tally.clear()
      },
    })
    this.blockingWaiters = new Gauge({ name: 'streamd_blocking_waiters', help: 'Requests held open waiting for a part, segment or playlist', registers })
    this.publishRefused = new Counter({ name: 'streamd_publish_refused_total', help: 'Publish attempts refused', labelNames: ['protocol', 'code'], registers })
    this.blockingAnswerDelay = new Histogram({
      name: 'streamd_blocking_answer_delay_seconds',
      help: 'From a part\'s last frame arriving from the worker (or its release by the publish gate, when held there) to a held request for it being answered',
      labelNames: ['kind'],
      buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25],
      registers,
    })
    this.renditionSpeed = new Gauge({ name: 'streamd_rendition_speed_ratio', help: 'Media seconds produced per wall second, per rendition (1 = keeping up)', labelNames: ['stream', 'rendition'], registers })
    this.rungsShed = new Counter({ name: 'streamd_rungs_shed_total', help: 'Ladder rungs stopped because the machine could not keep up', labelNames: ['stream', 'rendition'], registers })
    this.ingestDropped = new Counter({ name: 'streamd_ingest_dropped_tags_total', help: 'Media messages dropped because a worker could not keep up with the publisher', labelNames: ['stream'], registers })
    this.publishHeld = new Histogram({
      name: 'streamd_publish_held_seconds',
      help: 'How long each part was held before publication so a stream\'s renditions advance together (0: not held)',
      buckets: [0.0005, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    })
    this.renditionsLagging = new Counter({ name: 'streamd_renditions_lagging_total', help: 'Times a rendition fell too far behind the others to be waited for', labelNames: ['stream', 'rendition'], registers })
    this.inputSwitches = new Counter({ name: 'streamd_input_switches_total', help: 'Changes of a stream\'s on-air input, by cause (loss, return, manual, slate, recovered)', labelNames: ['stream', 'cause'], registers })
    this.inputOnAir = new Gauge({ name: 'streamd_input_on_air', help: 'Which input of a stream is on air: 1 for it (primary, backup or slate), 0 for the others', labelNames: ['stream', 'input'], registers })
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'streamd_' })
  }

  /** Count one finished HTTP request; status 0 means it did not complete (the client went away first). */
  countRequest(route: string, status: number): void {
    let byStatus = this.requestTally.get(route)
    if (!byStatus) this.requestTally.set(route, (byStatus = new Map()))
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1)
  }

  /** Export SRT receive counters (summed over connections) read from `totals` at scrape time. */
  srtSource(totals: () => Record<string, number>): void {
    const names: Record<string, string> = {
      packets: 'data packets received', retransmitted: 'retransmitted data packets received', lossDetected: 'sequence numbers found missing',
      recovered: 'missing packets filled by a retransmission', lateDropped: 'missing packets given up at the latency deadline',
      naks: 'loss reports sent', ccErrors: 'MPEG-TS continuity errors after SRT recovery', badDatagrams: 'datagrams on the SRT port that fit no connection',
      rejected: 'SRT connections refused', connections: 'SRT connections accepted',
    }
    for (const [key, help] of Object.entries(names)) {
      const name = `streamd_srt_${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`
      new Counter({ name, help: `SRT: ${help}`, registers: [this.registry], collect() { this.reset(); this.inc(totals()[key] ?? 0) } })
    }
  }

  /**
   * Export the health of content-steering pathways, read from `snapshot` at scrape time: 1 for a
   * pathway a stream's players are steered to in its configured place, 0 for one moved last.
   * Only probed (live) streams appear, so ended streams leave no series behind.
   */
  steeringSource(snapshot: () => Array<{ stream: string; pathway: string; healthy: boolean }>): void {
    new Gauge({
      name: 'streamd_steering_pathway_healthy', help: 'Content steering: 1 when a pathway probes healthy for a stream, 0 when it is moved last', labelNames: ['stream', 'pathway'], registers: [this.registry],
      collect() {
        this.reset()
        for (const s of snapshot()) this.set({ stream: s.stream, pathway: s.pathway }, s.healthy ? 1 : 0)
      },
    })
  }

  /** Record a rendition's speed (media seconds per wall second). */
  setSpeed(stream: string, rendition: string, speed: number): void {
    this.renditionSpeed.set({ stream, rendition }, speed)
    const set = this.speedLabels.get(stream) ?? new Set<string>()
    set.add(rendition)
    this.speedLabels.set(stream, set)
  }

  /** Count one change of `stream`'s on-air input, for `cause`. */
  countInputSwitch(stream: string, cause: InputSwitchCause): void {
    this.inputSwitches.inc({ stream, cause })
  }

  /** Mark `input` on air for `stream` (1) and every other input off (0), so a dashboard can stack them. */
  setOnAir(stream: string, input: OnAirInput): void {
    for (const i of ON_AIR_INPUTS) this.inputOnAir.set({ stream, input: i }, i === input ? 1 : 0)
  }

  /**
   * Forget every label set naming `stream` once it is gone, counters included: stream
   * names are chosen by publishers, so series kept for ended streams would grow without
   * bound. (A name that returns starts its counters again, which Prometheus reads as a reset.)
   */
  dropStream(stream: string): void {
    this.ingestBitrate.remove({ stream })
    for (const rendition of this.speedLabels.get(stream) ?? []) this.renditionSpeed.remove({ stream, rendition })
    this.speedLabels.delete(stream)
    dropLabelled(this.ingestBytes, stream)
    dropLabelled(this.parts, stream)
    dropLabelled(this.segments, stream)
    dropLabelled(this.workerRestarts, stream)
    dropLabelled(this.rungsShed, stream)
    dropLabelled(this.ingestDropped, stream)
    dropLabelled(this.inputSwitches, stream)
    for (const input of ON_AIR_INPUTS) this.inputOnAir.remove({ stream, input })
  }
}

/**
 * Remove every series of `counter` whose `stream` label is `stream`. prom-client lists
 * series only through get(), which settles within microtasks (these counters have no
 * collect), so no tag of a new publish under the same name can land in between.
 */
function dropLabelled<T extends string>(counter: Counter<T | 'stream'>, stream: string): void {
  void counter.get().then((m) => {
    for (const v of m.values) if (v.labels.stream === stream) counter.remove(v.labels)
  })
}
