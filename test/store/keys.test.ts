/**
 * The key store on a real SQLite file: add, check, revoke, rotate, migrations,
 * names that look like SQL, and a second connection seeing writes at once.
 */
import t from 'tap'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { KeyStore } from '../../src/store/keys.js'
import { StoreError } from '../../src/errors.js'
import { openDatabase, SCHEMA_VERSION, DB_FILE } from '../../src/store/database.js'
import { tempDirSync } from '../helpers/temp-dir.js'

const dir = (t: { teardown: (fn: () => void) => void }): string => tempDirSync(t, 'streamd-keys-')

t.test('add returns a 256-bit secret that checks ok only for its name', async (t) => {
  const store = KeyStore.open(dir(t))
  t.teardown(() => store.close())
  const secret = store.add('cam1')
  t.match(secret, /^[A-Za-z0-9_-]{43}$/, 'base64url of 32 bytes')
  t.not(store.add('cam2'), secret, 'secrets differ')
  t.equal(store.check('cam1', secret), 'ok')
  t.equal(store.check('cam2', secret), 'wrong', 'a key is bound to its stream name')
  t.equal(store.check('cam1', secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A')), 'wrong')
  t.equal(store.check('nobody', secret), 'no-key')
  t.equal(store.check('cam1', ''), 'malformed')
  t.equal(store.check('cam1', 'x'.repeat(10 * 1024 * 1024)), 'malformed', 'a 10 MB key is refused without hashing it')
})

t.test('the secret itself is never stored, only its hash', async (t) => {
  const d = dir(t)
  const store = KeyStore.open(d)
  const secret = store.add('cam1')
  store.close()
  const raw = new Database(join(d, DB_FILE), { readonly: true })
  t.teardown(() => raw.close())
  const row = raw.prepare('SELECT * FROM keys').get() as Record<string, unknown>
  t.notOk(Object.values(row).some((v) => String(v).includes(secret) || (Buffer.isBuffer(v) && v.toString().includes(secret))))
  t.equal((row.hash as Buffer).length, 32, 'a SHA-256 digest')
})

t.test('revoke stops a key; duplicates need revoke or rotate', async (t) => {
  const store = KeyStore.open(dir(t))
  t.teardown(() => store.close())
  const first = store.add('cam1')
  t.throws(() => store.add('cam1'), { code: 'ERR_KEY', message: /already has a key; revoke it first .* or add it with --rotate/ })
  store.revoke('cam1')
  t.equal(store.check('cam1', first), 'revoked')
  t.throws(() => store.revoke('cam1'), { code: 'ERR_KEY', message: /has no key to revoke/ })
  const second = store.add('cam1')
  t.equal(store.check('cam1', second), 'ok')
  const third = store.add('cam1', { rotate: true })
  t.equal(store.check('cam1', second), 'revoked', 'rotate revokes the previous key')
  t.equal(store.check('cam1', third), 'ok')
  const list = store.list()
  t.same(list.map((k) => [k.name, k.revokedAt === null]), [['cam1', false], ['cam1', false], ['cam1', true]], 'oldest first; only the newest is live')
  t.notOk(JSON.stringify(list).includes(third), 'list carries no secret')
})

t.test('SQL-looking names are refused by name validation and the table is intact', async (t) => {
  const store = KeyStore.open(dir(t))
  t.teardown(() => store.close())
  store.add('keep')
  for (const name of ["'; drop table keys; --", 'a"; DELETE FROM keys; --', 'x OR 1=1', '../etc', '', 'a'.repeat(65)]) {
    t.throws(() => store.add(name), { code: 'ERR_KEY', message: /invalid key name/ }, JSON.stringify(name.slice(0, 30)))
    t.throws(() => store.revoke(name), { code: 'ERR_KEY' })
    t.equal(store.check(name, 'whatever'), 'no-key', 'a check with such a name finds nothing and breaks nothing')
  }
  t.same(store.list().map((k) => k.name), ['keep'], 'the keys table is intact')
})

t.test('migrations: a fresh database reaches the current version; reopening changes nothing; a newer one is refused', async (t) => {
  const d = dir(t)
  const db = openDatabase(d)
  t.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION)
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  db.close()
  const again = openDatabase(d)
  t.equal(again.pragma('user_version', { simple: true }), SCHEMA_VERSION)
  again.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
  again.close()
  t.throws(() => openDatabase(d), { code: 'ERR_STORE', message: /newer than this streamd/ })
  t.ok(readdirSync(d).includes(DB_FILE))
})

t.test('an unusable data dir is a clear error', async (t) => {
  const file = join(dir(t), 'plain-file')
  writeFileSync(file, 'not a directory')
  t.throws(() => KeyStore.open(join(file, 'data')), { code: 'ERR_STORE', message: /cannot create data dir .*ENOTDIR/ })
})

t.test('a second connection (the server) sees keys added and revoked by another at once', async (t) => {
  const d = dir(t)
  const server = KeyStore.open(d)
  const cli = KeyStore.open(d)
  t.teardown(() => { server.close(); cli.close() })
  t.equal(server.check('live1', 'nope'), 'no-key')
  const secret = cli.add('live1')
  t.equal(server.check('live1', secret), 'ok')
  cli.revoke('live1')
  t.equal(server.check('live1', secret), 'revoked')
})

t.test('a full database is a StoreError naming the file and SQLite\'s reason, not a raw driver error', async (t) => {
  const db = openDatabase(dir(t))
  const store = new KeyStore(db)
  t.teardown(() => store.close())
  store.add('first')
  // max_page_count caps the file where it is: the next page SQLite needs fails as a full disk does (SQLITE_FULL).
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`)
  let err: unknown
  try {
    for (let i = 0; i < 1000; i++) store.add(`cam${i}`)
  } catch (e) {
    err = e
  }
  t.ok(err instanceof StoreError, `a StoreError (got ${String(err)})`)
  t.match((err as Error).message, /^cannot add the key of cam\d+ to .*streamd\.db: database or disk is full \(SQLITE_FULL\)$/)
  t.equal((err as StoreError).code, 'ERR_STORE')
})
