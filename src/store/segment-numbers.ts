/**
 * The segment-number floor of each stream name: the first number a new segment
 * of that name may take. Raised as segments open, read when a stream starts, so
 * numbers never go back across restarts of the server.
 */
import type { Statement } from 'better-sqlite3'
import { openDatabase, type Db } from './database.js'

/** Longest wait (ms) for another connection's write lock before a floor write gives up. */
export const BUSY_TIMEOUT_MS = 100

/** The segment_numbers table of an open database. */
export class SegmentNumberStore {
  private readonly db: Db
  private readonly read: Statement<[string], { next: number }>
  private readonly upsert: Statement<[string, number, number]>

  constructor(db: Db) {
    this.db = db
    this.read = db.prepare('SELECT next FROM segment_numbers WHERE name = ?')
    // Only ever raised: a late or repeated write with a smaller number changes nothing.
    this.upsert = db.prepare(`INSERT INTO segment_numbers (name, next, updated_at) VALUES (?, ?, ?)
      ON CONFLICT(name) DO UPDATE SET next = excluded.next, updated_at = excluded.updated_at WHERE excluded.next > segment_numbers.next`)
  }

  /** Open the store of `dataDir` (creating and migrating the database) on a connection of its own. */
  static open(dataDir: string): SegmentNumberStore {
    const db = openDatabase(dataDir)
    // NORMAL in WAL mode: a commit survives the process being killed (the case that
    // matters: a quick restart); only a power cut may lose the last few, and a machine
    // that reboots is down far longer than the numbers reserved ahead cover.
    db.pragma('synchronous = NORMAL')
    // Writes run on the event loop: waiting seconds for a lock another process holds would
    // freeze every stream. A key write (`streamd keys`) takes milliseconds; past this the
    // write fails, the origin logs it and tries again with the next segment.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
    return new SegmentNumberStore(db)
  }

  /** First number `name` may use next; 0 for a name never numbered here. */
  floor(name: string): number {
    return this.read.get(name)?.next ?? 0
  }

  /** Raise the floor of `name` to `next` (a smaller value is ignored). */
  raise(name: string, next: number): void {
    if (!Number.isSafeInteger(next) || next < 0) throw new RangeError(`segment number floor must be a non-negative integer: ${next}`)
    this.upsert.run(name, next, Date.now())
  }

  /** Close the database. */
  close(): void {
    if (this.db.open) this.db.close()
  }
}
