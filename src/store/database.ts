/**
 * The embedded SQLite database in the data dir: opening, pragmas and ordered
 * schema migrations. The only place (with keys.ts and segment-numbers.ts) that
 * imports better-sqlite3.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { StoreError } from '../errors.js'

/** An open database handle. */
export type Db = Database.Database

/** File name of the default database inside `dataDir`. */
export const DB_FILE = 'streamd.db'

/**
 * Migration steps, in order: step i brings the schema from version i to i + 1
 * (`PRAGMA user_version`). Never edit a released step; append a new one.
 */
const MIGRATIONS: readonly string[] = [
  // 1: publish keys. A key belongs to one stream name; revoked rows are kept for the
  // record (list shows them), and the partial unique index allows one live key per name.
  `CREATE TABLE keys (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL,
     hash BLOB NOT NULL,
     created_at INTEGER NOT NULL,
     revoked_at INTEGER
   );
   CREATE UNIQUE INDEX keys_live_name ON keys(name) WHERE revoked_at IS NULL;`,
  // 2: segment numbers. The first number a stream name may use next, kept so that a
  // restart never hands out a segment URL that a player or cache saw before.
  `CREATE TABLE segment_numbers (
     name TEXT PRIMARY KEY,
     next INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );`,
]

/** Schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length

/**
 * `err` as a StoreError when SQLite raised it (disk full, I/O error, a locked or
 * corrupt file): the user sees what failed, on which file, and SQLite's reason and
 * code. Errors of ours pass through unchanged, and so do programming errors.
 */
export function asStoreError(err: unknown, what: string, db: Db): unknown {
  if (!(err instanceof Database.SqliteError)) return err
  return new StoreError(`${what} ${db.name}: ${err.message} (${err.code})`)
}

/** Open (creating if needed) the database of `dataDir` and bring its schema up to date. */
export function openDatabase(dataDir: string): Db {
  try {
    mkdirSync(dataDir, { recursive: true })
  } catch (err) {
    throw new StoreError(`cannot create data dir ${dataDir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  const file = join(dataDir, DB_FILE)
  let db: Db
  try {
    db = new Database(file, { timeout: 5000 })
  } catch (err) {
    throw new StoreError(`cannot open ${file}: ${(err as Error).message}`)
  }
  try {
    // WAL: the server reads keys per publish while `streamd keys` writes from another
    // process; readers never block the writer and always see the last commit.
    db.pragma('journal_mode = WAL')
    // FULL: a key whose secret was printed must survive a crash or power cut; the CLI
    // writes a handful of rows, so the extra fsync costs nothing that matters.
    db.pragma('synchronous = FULL')
    db.pragma('foreign_keys = ON')
    migrate(db)
  } catch (err) {
    db.close()
    if (err instanceof StoreError) throw err
    throw new StoreError(`cannot use ${file}: ${(err as Error).message}`)
  }
  return db
}

/** Apply every migration past the database's user_version, each in its own transaction. */
export function migrate(db: Db): void {
  for (;;) {
    // BEGIN IMMEDIATE takes the write lock before reading the version, so two processes
    // opening a fresh database at once never run the same step twice.
    const done = db.transaction(() => {
      const version = db.pragma('user_version', { simple: true }) as number
      if (version > MIGRATIONS.length) {
        throw new StoreError(`database schema version ${version} is newer than this streamd (${MIGRATIONS.length}); upgrade streamd`)
      }
      if (version === MIGRATIONS.length) return true
      db.exec(MIGRATIONS[version]!)
      db.pragma(`user_version = ${version + 1}`)
      return false
    }).immediate()
    if (done) return
  }
}
