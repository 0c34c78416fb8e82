/**
 * Test doubles for ingest: an IngestHandler that records every publish request
 * and every tag its sinks receive, and a pino logger whose lines tests can count.
 */
import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'
import type { IngestHandler, MediaTag, PublishDecision, PublishRequest } from '../../src/ingest/types.js'

/** Everything one accepted publisher delivered. */
export interface RecordedSink {
  req: PublishRequest
  tags: MediaTag[]
  endReasons: string[]
  kick?: () => void
}

/** Decision hook: return a refusal, or undefined to accept. */
export type Decide = (req: PublishRequest, live: RecordedSink[]) =>
  Exclude<PublishDecision, { ok: true }> | undefined | Promise<Exclude<PublishDecision, { ok: true }> | undefined>

/** A recording IngestHandler; by default it accepts and refuses a live name's live role (primary, backup) with `busy`. */
export function recordingHandler(decide?: Decide) {
  const requests: PublishRequest[] = []
  const sinks: RecordedSink[] = []
  const live = (): RecordedSink[] => sinks.filter((s) => s.endReasons.length === 0)
  const handler: IngestHandler = {
    async publish(req) {
      requests.push(req)
      const refusal = decide
        ? await decide(req, live())
        : live().some((s) => s.req.stream === req.stream && s.req.role === req.role)
          ? { ok: false as const, code: 'busy' as const, reason: `stream ${req.stream} is already being published` }
          : undefined
      if (refusal) return refusal
      const rec: RecordedSink = { req, tags: [], endReasons: [] }
      sinks.push(rec)
      return {
        ok: true,
        sink: { write: (tag) => rec.tags.push(tag), end: (reason) => rec.endReasons.push(reason) },
        onKick: (kick) => { rec.kick = kick },
      }
    },
  }
  const byStream = (name: string): RecordedSink | undefined => sinks.find((s) => s.req.stream === name)
  return { handler, requests, sinks, byStream }
}

/** One parsed log line. */
export interface LogLine {
  level: number
  msg: string
  remote?: string
  [k: string]: unknown
}

/** A debug-level pino logger collecting its JSON lines. */
export function captureLogger(): { logger: Logger; lines: LogLine[]; warns: (remote?: string) => LogLine[] } {
  const lines: LogLine[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as LogLine)
      cb()
    },
  })
  const logger = pino({ level: 'debug' }, stream)
  const warns = (remote?: string): LogLine[] =>
    lines.filter((l) => l.level === 40 && (remote === undefined || l.remote === remote))
  return { logger, lines, warns }
}

/** Poll `pred` every 20 ms; rejects with `what` after `timeoutMs`. */
export async function waitFor(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Video tags of a recorded sink. */
export function videoTags(s: RecordedSink | undefined): MediaTag[] {
  return s ? s.tags.filter((t) => t.kind === 'video') : []
}
