/**
 * The disk tier behind a real shield: media pushed out of memory is answered
 * from disk, survives a restart, and a torn or corrupted file is discarded and
 * fetched again — never served.
 */
import t from 'tap'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startStubOrigin } from '../helpers/stub-origin.js'
import { startShield } from '../helpers/shield.js'
import { shieldGet } from '../helpers/shield-client.js'
import { DiskTier } from '../../src/cache/disk-tier.js'
import { CacheEntry } from '../../src/cache/entry.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const SEG = 400 * 1024

t.test('evicted media is served from disk, across a restart; corrupt files are discarded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'streamd-disk-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const o = await startStubOrigin(t, (target, n) => ({ body: Buffer.alloc(SEG, `${target}#${n}`) }))
  const opts = { shield: { memoryBytes: 1024 * 1024, cacheDir: dir, diskBytes: 64 * 1024 * 1024 } }
  const s1 = await startShield(t, [o.url], opts)
  for (let i = 1; i <= 6; i++) t.equal((await shieldGet(`${s1.url}/live/d/v/${i}.m4s`)).body.length, SEG)
  for (let i = 0; i < 50 && (s1.shield.cache.disk?.count ?? 0) < 3; i++) await sleep(20)
  t.ok(s1.shield.cache.disk!.count >= 3, `older segments went to disk (${s1.shield.cache.disk!.count})`)
  const fromDisk = await shieldGet(`${s1.url}/live/d/v/1.m4s`)
  t.equal(fromDisk.headers['x-cache'], 'DISK')
  t.equal(fromDisk.body, Buffer.alloc(SEG, '/live/d/v/1.m4s#1').toString(), 'same bytes as the first fetch')
  t.equal(o.count('/live/d/v/1.m4s'), 1, 'no new upstream request')
  await s1.shield.stop()

  // A torn write left behind, and one file corrupted in place.
  writeFileSync(join(dir, `${'0'.repeat(64)}.tmp-dead`), 'half')
  const files = readdirSync(dir).filter((f) => /^[0-9a-f]{64}$/.test(f))
  const victim = join(dir, files[0]!)
  const bytes = readFileSync(victim)
  bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff
  writeFileSync(victim, bytes)

  const s2 = await startShield(t, [o.url], opts)
  t.notOk(readdirSync(dir).some((f) => f.includes('.tmp-')), 'temp files removed at start')
  t.equal(s2.shield.cache.disk!.count, files.length - 1, 'the corrupted file was discarded at start')
  const before = o.log.length
  const rs = await Promise.all([1, 2, 3].map((i) => shieldGet(`${s2.url}/live/d/v/${i}.m4s`)))
  for (const [i, r] of rs.entries()) t.equal(r.body, Buffer.alloc(SEG, `/live/d/v/${i + 1}.m4s#${r.headers['x-cache'] === 'DISK' ? 1 : 2}`).toString(), `segment ${i + 1} intact (${r.headers['x-cache']})`)
  t.ok(rs.filter((r) => r.headers['x-cache'] === 'DISK').length >= 2, 'the restarted shield answered from disk')
  t.ok(o.log.length - before <= 1, 'at most the discarded one fetched again')
})

t.test('a file torn after start is discarded on read', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'streamd-disk-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const disk = new DiskTier(dir, 1024 * 1024)
  const e = new CacheEntry('/live/c/v/1.m4s')
  e.setHead(200, { 'content-type': 'video/iso.segment' }, 1000)
  e.push(Buffer.alloc(1000, 'x'))
  e.end()
  e.ttlMs = 60_000
  await disk.put(e)
  const back = await disk.get('/live/c/v/1.m4s')
  t.equal(back?.body().toString(), 'x'.repeat(1000), 'round trip')
  t.equal(back?.headers['content-type'], 'video/iso.segment')
  const [name] = readdirSync(dir)
  writeFileSync(join(dir, name!), readFileSync(join(dir, name!)).subarray(0, 100))
  t.equal(await disk.get('/live/c/v/1.m4s'), undefined, 'torn file not served')
  t.equal(disk.count, 0, 'and dropped')
  t.equal(disk.stats.discarded, 1)
})
