/**
 * `streamd keys` as a user runs it (bin/streamd in a child process), and the
 * database surviving kill -9 in the middle of `keys add`.
 */
import t from 'tap'
import { spawn, execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { KeyStore } from '../../src/store/keys.js'
import { DB_FILE } from '../../src/store/database.js'
import { tempDirSync } from '../helpers/temp-dir.js'

const run = promisify(execFile)
const BIN = fileURLToPath(new URL('../../bin/streamd', import.meta.url))
const dir = (t: { teardown: (fn: () => void) => void }): string => tempDirSync(t, 'streamd-keys-cli-')

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(BIN, args, { timeout: 30_000 })
    return { code: 0, stdout, stderr }
  } catch (err: any) {
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }
  }
}

const secretOf = (stdout: string): string | undefined => /^key: ([A-Za-z0-9_-]{43})$/m.exec(stdout)?.[1]

t.test('add prints the secret once with publish hints; list never shows it; revoke', async (t) => {
  const d = dir(t)
  const cfg = join(d, 'c.json')
  writeFileSync(cfg, JSON.stringify({ rtmp: { host: '192.0.2.7', port: 1936 }, dataDir: join(d, 'from-config') }))
  const add = await cli(['keys', 'add', 'cam1', '--config', cfg])
  t.equal(add.code, 0, add.stderr)
  const secret = secretOf(add.stdout)!
  t.ok(secret, 'a secret line')
  t.match(add.stdout, `rtmp://192.0.2.7:1936/live/cam1?key=${secret}`)
  t.match(add.stdout, `Server rtmp://192.0.2.7:1936/live   Stream Key cam1?key=${secret}`)
  t.match(add.stdout, `backup:      rtmp://192.0.2.7:1936/live/cam1?key=${secret}&role=backup   (OBS Stream Key cam1?key=${secret}&role=backup)`)
  const list = await cli(['keys', 'list', '--config', cfg])
  t.equal(list.code, 0)
  t.match(list.stdout, /^NAME\s+CREATED\s+REVOKED\ncam1\s+\d{4}-\d\d-\d\dT\S+Z\s+-$/m)
  t.notMatch(list.stdout, secret)
  const store = KeyStore.open(join(d, 'from-config'))
  t.teardown(() => store.close())
  t.equal(store.check('cam1', secret), 'ok', 'the config chose the data dir')
  const dup = await cli(['keys', 'add', 'cam1', '--config', cfg])
  t.equal(dup.code, 2)
  t.match(dup.stderr, /streamd: stream cam1 already has a key; revoke it first/)
  const revoke = await cli(['keys', 'revoke', 'cam1', '--config', cfg])
  t.equal(revoke.code, 0)
  t.equal(store.check('cam1', secret), 'revoked')
  const again = await cli(['keys', 'revoke', 'cam1', '--config', cfg])
  t.equal(again.code, 2)
  t.match(again.stderr, /streamd: stream cam1 has no key to revoke/)
  const listed = await cli(['keys', 'list', '--data-dir', join(d, 'from-config')])
  t.match(listed.stdout, /^cam1\s+\S+Z\s+\d{4}-\S+Z$/m, '--data-dir works too; revoked shown with its time')
})

t.test('SQL-ish and bad names: refused with a clear error, the table intact', async (t) => {
  const d = dir(t)
  t.equal((await cli(['keys', 'add', 'keep', '--data-dir', d])).code, 0)
  for (const name of ["'; drop table keys; --", 'a b', '..', '-rf']) {
    const r = await cli(['keys', 'add', '--data-dir', d, '--', name])
    t.equal(r.code, 2, JSON.stringify(name))
    t.match(r.stderr, /streamd: invalid key name .*1-64 characters/)
  }
  const list = await cli(['keys', 'list', '--data-dir', d])
  t.match(list.stdout, /^keep\s/m)
  t.equal(list.stdout.trim().split('\n').length, 2, 'header and the one key')
  const db = new Database(join(d, DB_FILE), { readonly: true })
  t.teardown(() => db.close())
  t.equal((db.prepare('SELECT count(*) AS n FROM keys').get() as { n: number }).n, 1)
})

t.test('a write the database refuses (disk full): the store\'s error, exit 2, no secret printed', async (t) => {
  const d = dir(t)
  t.equal((await cli(['keys', 'add', 'keep', '--data-dir', d])).code, 0)
  // A trigger makes every insert fail inside SQLite as a full disk would fail it, without a full disk.
  const db = new Database(join(d, DB_FILE))
  db.exec("CREATE TRIGGER full BEFORE INSERT ON keys BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
  db.close()
  const r = await cli(['keys', 'add', 'cam1', '--data-dir', d])
  t.equal(r.code, 2, 'a known error, not an unexpected one')
  t.match(r.stderr, /^streamd: cannot add the key of cam1 to \S+streamd\.db: database or disk is full \(SQLITE_CONSTRAINT_TRIGGER\)\n$/)
  t.notMatch(r.stderr, /unexpected/)
  t.equal(secretOf(r.stdout), undefined, 'no secret printed for a key that was not stored')
})

t.test('kill -9 during keys add: the database opens and holds every key whose secret was printed', async (t) => {
  const d = dir(t)
  // Kill times chase the moment an add completes (later after a kill, sooner after a
  // finished add), so most kills land around the write and the secret's printing.
  let delay = 150
  const printed = new Map<string, string>()
  let killed = 0
  for (let i = 0; i < 80 && (killed < 8 || printed.size < 8); i++) {
    const name = `k${i}`
    const child = spawn(BIN, ['keys', 'add', name, '--data-dir', d], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c) => { out += c })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    let wasKilled = false
    const timer = setTimeout(() => { if (child.exitCode === null) { child.kill('SIGKILL'); wasKilled = true } }, delay)
    await exited
    clearTimeout(timer)
    const secret = secretOf(out)
    if (secret) printed.set(name, secret)
    if (wasKilled) killed++
    delay = Math.max(20, Math.round(delay * (wasKilled ? 1.15 : 0.85)))
  }
  t.ok(killed >= 8, `adds killed: ${killed}`)
  t.ok(printed.size >= 8, `adds that printed their secret: ${printed.size}`)
  // "Restart": a new process opens the database (migrations, WAL recovery) as the server would.
  const raw = new Database(join(d, DB_FILE))
  t.equal(raw.pragma('integrity_check', { simple: true }), 'ok', 'integrity check passes')
  raw.close()
  const store = KeyStore.open(d)
  t.teardown(() => store.close())
  for (const [name, secret] of printed) t.equal(store.check(name, secret), 'ok', `${name}: printed, so stored`)
  const list = await cli(['keys', 'list', '--data-dir', d])
  t.equal(list.code, 0, 'the CLI opens it too')
  t.ok(list.stdout.split('\n').length - 2 >= printed.size, 'list holds at least the printed keys')
})
