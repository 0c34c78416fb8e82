/**
 * The source seam: a session takes its media from inputs it is handed, not from the one
 * connection that created it. Ingest (an RTMP or SRT publisher) and generated media (a
 * slate) are inputs alike: each is attached to a session and gets its own sink to write
 * to; the session's input selector decides which input's tags go on air.
 */
import type { MediaSink, MediaTag } from '../ingest/types.js'

/** What kind of input it is, and how it arrived. */
export type SourceProtocol = 'rtmp' | 'srt' | 'demo' | 'generated'

/** The part an input plays in its session. */
export type SourceRole = 'primary' | 'backup' | 'slate'

/** An input as the session, its events and the API see it. */
export interface SourceInfo {
  /** Unique within the process, for logs and to tell two connections of one role apart. */
  readonly id: number
  readonly protocol: SourceProtocol
  readonly role: SourceRole
  /** Remote `ip:port` of a publisher; a description for a generated input. */
  readonly remote: string
  /** Date.now() when it attached. */
  readonly since: number
  /** Name of the publish key that authorized it; null when publishing was open; absent for generated media. */
  readonly key?: string | null
}

/** An input of a session: what it is, and how to make it stop. */
export interface MediaSource extends SourceInfo {
  /** Close the input (a publisher's connection); set once the ingest can do so. */
  close?: () => void
}

let nextId = 1

/** A new input description (ids increase for the life of the process). */
export function newSource(protocol: SourceProtocol, role: SourceRole, remote: string, key?: string | null): MediaSource {
  return { id: nextId++, protocol, role, remote, since: Date.now(), key }
}

/**
 * Decides which attached input is on air and hands the session its tags. The simplest
 * (SingleInput) puts the first input on air and ends the session when it leaves; a
 * redundant stream's (input-switcher.ts) switches between a primary, a backup and a slate.
 */
export interface InputSelector {
  /** Set by the session: where on-air tags go (`source` undefined for generated media). */
  onAirTag: ((tag: MediaTag, source: MediaSource | undefined) => void) | undefined
  /** Set by the session: nothing is left to put on air; the session ends. */
  onEnd: ((reason: string) => void) | undefined
  /** An input attached; refused with a reason the publisher is told. */
  attach(source: MediaSource): { ok: true } | { ok: false; reason: string }
  /** A tag of an attached input, on air or not. */
  write(source: MediaSource, tag: MediaTag): void
  /** An input left; `clean` when its publisher ended the publish itself. */
  detach(source: MediaSource, reason: string, clean?: boolean): void
  /** The session is over: no timers left. */
  stop(): void
}

/** The first attached input is on air; the session ends when it leaves. */
export class SingleInput implements InputSelector {
  onAirTag: ((tag: MediaTag, source: MediaSource | undefined) => void) | undefined
  onEnd: ((reason: string) => void) | undefined
  private current: MediaSource | undefined

  /** InputSelector. */
  attach(source: MediaSource): { ok: true } | { ok: false; reason: string } {
    if (this.current) return { ok: false, reason: `already fed by ${this.current.protocol} ${this.current.remote}` }
    this.current = source
    return { ok: true }
  }

  /** InputSelector. */
  write(source: MediaSource, tag: MediaTag): void {
    if (source === this.current) this.onAirTag?.(tag, source)
  }

  /** InputSelector. */
  detach(source: MediaSource, reason: string): void {
    if (source !== this.current) return
    this.current = undefined
    this.onEnd?.(reason)
  }

  /** InputSelector. */
  stop(): void {}
}

/** A session as an ingest sees it: attach an input, get the sink its media goes to. */
export interface SourceAttach {
  attach(source: MediaSource): MediaSink | { refused: string }
}
