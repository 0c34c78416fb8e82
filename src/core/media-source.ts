/**
 * The source seam: a session takes its media from inputs it is handed, not from the one
 * connection that created it. Ingest (an RTMP or SRT publisher) and generated media (a
 * slate) are inputs alike: each is attached to a session and gets its own sink to write
 * to; the session's input selector decides which input's tags go on air.
 */
import type { MediaSink } from '../ingest/types.js'

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
 * Decides which attached input is on air. The one session-level policy of this release:
 * the first input attached is on air, and the session ends when it leaves. A redundant
 * stream replaces this with a policy that switches between a primary, a backup and a slate.
 */
export interface InputSelector {
  /** An input attached; false refuses it (with `reason`). */
  attach(source: MediaSource): { ok: true } | { ok: false; reason: string }
  /** Whether this input's tags go on air now. */
  onAir(source: MediaSource): boolean
  /** An input left; true when the session has nothing left to put on air and must end. */
  detach(source: MediaSource): boolean
}

/** The first attached input is on air; the session ends when it leaves. */
export class SingleInput implements InputSelector {
  private current: MediaSource | undefined

  /** InputSelector. */
  attach(source: MediaSource): { ok: true } | { ok: false; reason: string } {
    if (this.current) return { ok: false, reason: `already fed by ${this.current.protocol} ${this.current.remote}` }
    this.current = source
    return { ok: true }
  }

  /** InputSelector. */
  onAir(source: MediaSource): boolean {
    return source === this.current
  }

  /** InputSelector. */
  detach(source: MediaSource): boolean {
    if (source !== this.current) return false
    this.current = undefined
    return true
  }
}

/** A session as an ingest sees it: attach an input, get the sink its media goes to. */
export interface SourceAttach {
  attach(source: MediaSource): MediaSink | { refused: string }
}
