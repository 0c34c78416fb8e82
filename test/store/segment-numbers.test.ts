/**
 * Segment-number floors on a real SQLite file: unknown names, raising only
 * upward, surviving a reopen, and the migration of a database written by a
 * build that had only publish keys (schema version 1).
 */
import t from 'tap'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { BUSY_TIMEOUT_MS, SegmentNumberStore } from '../../src/store/segment-numbers.js'
import { KeyStore } from '../../src/store/keys.js'
import { DB_FILE, SCHEMA_VERSION } from '../../src/store/database.js'
import { tempDirSync } from '../helpers/temp-dir.js'

t.test('a floor is 0 until raised, only goes up, and survives a reopen', async (t) => {
  const dir = tempDirSync(t, 'streamd-numbers-')
  const store = SegmentNumberStore.open(dir)
  t.equal(store.floor('cam1'), 0, 'a name never numbered')
  store.raise('cam1', 109_000_002)
  store.raise('cam1', 109_000_001)
  t.equal(store.floor('cam1'), 109_000_002, 'a smaller number does not lower the floor')
  store.raise('cam1', 109_000_005)
  t.equal(store.floor('cam1'), 109_000_005)
  t.equal(store.floor('cam2'), 0, 'floors are per name')
  store.raise("x'); DROP TABLE segment_numbers; --", 7)
  t.equal(store.floor("x'); DROP TABLE segment_numbers; --"), 7, 'a name is data, never SQL')
  store.close()
  const again = SegmentNumberStore.open(dir)
  t.teardown(() => again.close())
  t.equal(again.floor('cam1'), 109_000_005, 'kept on disk')
  t.throws(() => again.raise('cam1', -1), RangeError)
  t.throws(() => again.raise('cam1', 1.5), RangeError)
  t.throws(() => again.raise('cam1', 2 ** 60), RangeError, 'beyond what SQLite and JS both hold exactly')
})

t.test('a version-1 database (keys only) is migrated; its keys still work', async (t) => {
  const dir = tempDirSync(t, 'streamd-numbers-v1-')
  const raw = new Database(join(dir, DB_FILE))
  raw.exec(`CREATE TABLE keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL, hash BLOB NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER);
    CREATE UNIQUE INDEX keys_live_name ON keys(name) WHERE revoked_at IS NULL;`)
  raw.pragma('user_version = 1')
  raw.close()
  const keys = KeyStore.open(dir)
  const secret = keys.add('cam1')
  keys.close()
  const numbers = SegmentNumberStore.open(dir)
  t.teardown(() => numbers.close())
  t.equal(numbers.floor('cam1'), 0, 'no floor: the old build kept its numbers in memory only')
  numbers.raise('cam1', 42)
  t.equal(numbers.floor('cam1'), 42)
  const check = new Database(join(dir, DB_FILE), { readonly: true })
  t.teardown(() => check.close())
  t.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION, 'schema at the current version')
  t.ok(SCHEMA_VERSION >= 2)
  const keys2 = KeyStore.open(dir)
  t.teardown(() => keys2.close())
  t.equal(keys2.check('cam1', secret), 'ok', 'keys survive the migration')
})

t.test('a second connection sees a raised floor at once (a restarted server reads what the last one wrote)', async (t) => {
  const dir = tempDirSync(t, 'streamd-numbers-2c-')
  const a = SegmentNumberStore.open(dir)
  const b = SegmentNumberStore.open(dir)
  t.teardown(() => { a.close(); b.close() })
  a.raise('cam', 1000)
  t.equal(b.floor('cam'), 1000)
})

t.test('a database locked by another process fails a write quickly instead of freezing the server', async (t) => {
  const dir = tempDirSync(t, 'streamd-numbers-lock-')
  const store = SegmentNumberStore.open(dir)
  t.teardown(() => store.close())
  store.raise('cam', 10)
  const other = new Database(join(dir, DB_FILE))
  t.teardown(() => { if (other.inTransaction) other.exec('ROLLBACK'); other.close() })
  other.exec('BEGIN IMMEDIATE')
  const t0 = performance.now()
  t.throws(() => store.raise('cam', 20), /locked|busy/i, 'the write fails while the lock is held')
  const waited = performance.now() - t0
  t.ok(waited < BUSY_TIMEOUT_MS + 1000, `gave up after ${waited.toFixed(0)} ms, not the 5 s the key store waits`)
  other.exec('ROLLBACK')
  store.raise('cam', 20)
  t.equal(store.floor('cam'), 20, 'the next write goes through')
})
