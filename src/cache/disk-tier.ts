/**
 * The disk tier: complete responses that age out of memory but stay requestable
 * (a DVR window, init segments). Each file is written under a temporary name and
 * renamed into place, so a crash leaves either a whole file or a temp file that
 * start-up deletes; each carries a header with its key and a SHA-256 of the body,
 * checked on every read, so a torn or corrupted file is discarded, never served.
 * Total bytes are bounded; the least recently used files go first.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs'
import { readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CacheEntry, type EntryHeaders } from './entry.js'

const MAGIC = Buffer.from('SDC1')
const TMP = '.tmp-'

interface DiskHeader {
  key: string
  status: number
  headers: EntryHeaders
  receivedAt: number
  upstreamAge: number
  ttlMs: number
  size: number
  sha256: string
}

interface Slot { bytes: number; expiresAt: number }

const fileName = (key: string): string => createHash('sha256').update(key).digest('hex')

/** Encode an entry as one file: magic, header length, JSON header, body. */
export function encodeEntry(e: CacheEntry): Buffer {
  const body = e.body()
  const header: DiskHeader = {
    key: e.key, status: e.status, headers: e.headers, receivedAt: e.receivedAt, upstreamAge: e.upstreamAge,
    ttlMs: e.ttlMs, size: body.length, sha256: createHash('sha256').update(body).digest('hex'),
  }
  const json = Buffer.from(JSON.stringify(header))
  const len = Buffer.alloc(4)
  len.writeUInt32BE(json.length)
  return Buffer.concat([MAGIC, len, json, body])
}

/** Decode a file; undefined when torn, corrupted or not ours. */
export function decodeEntry(file: Buffer, key?: string): CacheEntry | undefined {
  if (file.length < 8 || !file.subarray(0, 4).equals(MAGIC)) return undefined
  const len = file.readUInt32BE(4)
  if (8 + len > file.length) return undefined
  let h: DiskHeader
  try {
    h = JSON.parse(file.subarray(8, 8 + len).toString('utf8')) as DiskHeader
  } catch {
    return undefined
  }
  const body = file.subarray(8 + len)
  if ((key !== undefined && h.key !== key) || body.length !== h.size) return undefined
  if (createHash('sha256').update(body).digest('hex') !== h.sha256) return undefined
  const e = new CacheEntry(h.key)
  e.status = h.status
  e.headers = h.headers
  e.receivedAt = h.receivedAt
  e.upstreamAge = h.upstreamAge
  e.ttlMs = h.ttlMs
  e.push(Buffer.from(body))
  e.done = true
  return e
}

/** Size-bounded directory of cache files. */
export class DiskTier {
  readonly dir: string
  private readonly maxBytes: number
  /** Least recently used first (Map order; re-inserted on use). */
  private readonly slots = new Map<string, Slot>()
  private total = 0
  readonly stats = { writes: 0, hits: 0, discarded: 0 }

  constructor(dir: string, maxBytes: number) {
    this.dir = dir
    this.maxBytes = maxBytes
    mkdirSync(dir, { recursive: true })
    this.load()
  }

  /** Bytes on disk. */
  get bytes(): number {
    return this.total
  }

  /** Files held. */
  get count(): number {
    return this.slots.size
  }

  /** A fresh entry for `key`, read and verified; a bad file is deleted. */
  async get(key: string): Promise<CacheEntry | undefined> {
    const name = fileName(key)
    const slot = this.slots.get(name)
    if (!slot) return undefined
    if (slot.expiresAt <= Date.now()) {
      this.drop(name)
      return undefined
    }
    const file = await readFile(join(this.dir, name)).catch(() => undefined)
    const e = file && decodeEntry(file, key)
    if (!e) {
      this.stats.discarded++
      this.drop(name)
      return undefined
    }
    this.slots.delete(name)
    this.slots.set(name, slot)
    this.stats.hits++
    return e
  }

  /** Keep a complete, fresh entry (temp file, then rename). */
  async put(e: CacheEntry): Promise<void> {
    const expiresAt = e.receivedAt + e.ttlMs - e.upstreamAge * 1000
    if (expiresAt <= Date.now() || e.error || !e.done) return
    const data = encodeEntry(e)
    if (data.length > this.maxBytes) return
    const name = fileName(e.key)
    const tmp = join(this.dir, `${name}${TMP}${randomBytes(4).toString('hex')}`)
    try {
      await writeFile(tmp, data)
      await rename(tmp, join(this.dir, name))
    } catch {
      await unlink(tmp).catch(() => {})
      return
    }
    const old = this.slots.get(name)
    if (old) this.total -= old.bytes
    this.slots.delete(name)
    this.slots.set(name, { bytes: data.length, expiresAt })
    this.total += data.length
    this.stats.writes++
    while (this.total > this.maxBytes) {
      const oldest = this.slots.keys().next().value
      if (oldest === undefined) break
      this.drop(oldest)
    }
  }

  private drop(name: string): void {
    const slot = this.slots.get(name)
    if (!slot) return
    this.slots.delete(name)
    this.total -= slot.bytes
    void unlink(join(this.dir, name)).catch(() => {})
  }

  /** Rebuild the index from the directory: temp files and unreadable files are deleted. */
  private load(): void {
    const found: Array<{ name: string; mtime: number; slot: Slot }> = []
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name)
      if (name.includes(TMP)) {
        unlinkSync(path)
        continue
      }
      if (!/^[0-9a-f]{64}$/.test(name)) continue
      const e = decodeEntry(readFileSync(path))
      const expiresAt = e ? e.receivedAt + e.ttlMs - e.upstreamAge * 1000 : 0
      if (!e || fileName(e.key) !== name || expiresAt <= Date.now()) {
        if (e) this.stats.discarded++
        unlinkSync(path)
        continue
      }
      found.push({ name, mtime: statSync(path).mtimeMs, slot: { bytes: statSync(path).size, expiresAt } })
    }
    for (const f of found.sort((a, b) => a.mtime - b.mtime)) {
      this.slots.set(f.name, f.slot)
      this.total += f.slot.bytes
    }
    while (this.total > this.maxBytes) {
      const oldest = this.slots.keys().next().value
      if (oldest === undefined) break
      this.drop(oldest)
    }
  }
}
