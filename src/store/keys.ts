/**
 * Publish keys: one live key per stream name, stored as a SHA-256 hash of a
 * random 32-byte secret. Shared by the CLI (writes) and the server (reads on
 * every publish, so a key added or revoked takes effect at the next publish).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Statement } from 'better-sqlite3'
import { KeyError } from '../errors.js'
import { isValidName, NAME_RULE } from '../media/types.js'
import { asStoreError, openDatabase, type Db } from './database.js'

/** Longest secret ever compared: ours are 43 characters; anything far longer is not one of ours. */
export const MAX_SECRET_LENGTH = 256

/** One key as `keys list` shows it (never the secret, never the hash). */
export interface KeyInfo {
  name: string
  createdAt: Date
  revokedAt: Date | null
}

/** Outcome of checking a presented secret for a stream name. */
export type KeyCheck = 'ok' | 'wrong' | 'revoked' | 'no-key' | 'malformed'

interface Row { hash: Buffer; revoked_at: number | null }

/**
 * SHA-256, unsalted, is the right hash here: the secret is 256 random bits, so no
 * dictionary or precomputed table can cover it and a guess costs 2^255 tries on
 * average. Slow password hashes (bcrypt, scrypt, argon2) exist to stretch low-entropy
 * human passwords; for a random secret they would only add CPU to every publish.
 */
function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest()
}

/** The keys table of an open database. */
export class KeyStore {
  private readonly db: Db
  private readonly byName: Statement<[string], Row>
  private readonly liveByName: Statement<[string], { id: number }>
  private readonly insert: Statement<[string, Buffer, number]>
  private readonly revokeLive: Statement<[number, string]>
  private readonly all: Statement<[], { name: string; created_at: number; revoked_at: number | null }>

  constructor(db: Db) {
    this.db = db
    this.byName = db.prepare('SELECT hash, revoked_at FROM keys WHERE name = ?')
    this.liveByName = db.prepare('SELECT id FROM keys WHERE name = ? AND revoked_at IS NULL')
    this.insert = db.prepare('INSERT INTO keys (name, hash, created_at) VALUES (?, ?, ?)')
    this.revokeLive = db.prepare('UPDATE keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL')
    this.all = db.prepare('SELECT name, created_at, revoked_at FROM keys ORDER BY name, created_at, id')
  }

  /** Open the key store of `dataDir` (creating and migrating the database). */
  static open(dataDir: string): KeyStore {
    return new KeyStore(openDatabase(dataDir))
  }

  /**
   * Create the key of `name` and return its secret (shown once, never stored).
   * `rotate` revokes the current key in the same transaction.
   */
  add(name: string, opts: { rotate?: boolean } = {}): string {
    if (!isValidName(name)) throw new KeyError(`invalid key name ${JSON.stringify(name.slice(0, 80))}: ${NAME_RULE} (the key is for publishing live/NAME)`)
    // base64url: safe as-is in an RTMP query string, an OBS key field and an SRT streamid.
    const secret = randomBytes(32).toString('base64url')
    try {
      this.db.transaction(() => {
        if (this.liveByName.get(name)) {
          if (!opts.rotate) throw new KeyError(`stream ${name} already has a key; revoke it first (streamd keys revoke ${name}) or add it with --rotate`)
          this.revokeLive.run(Date.now(), name)
        }
        this.insert.run(name, hashSecret(secret), Date.now())
      }).immediate()
    } catch (err) {
      throw asStoreError(err, `cannot add the key of ${name} to`, this.db)
    }
    return secret
  }

  /** Revoke the live key of `name`; throws if it has none. */
  revoke(name: string): void {
    if (!isValidName(name)) throw new KeyError(`invalid key name ${JSON.stringify(name.slice(0, 80))}: ${NAME_RULE}`)
    let changes: number
    try {
      changes = this.revokeLive.run(Date.now(), name).changes
    } catch (err) {
      throw asStoreError(err, `cannot revoke the key of ${name} in`, this.db)
    }
    if (changes === 0) throw new KeyError(`stream ${name} has no key to revoke (see streamd keys list)`)
  }

  /** Every key, revoked ones included, by name then age. */
  list(): KeyInfo[] {
    let rows: ReturnType<typeof this.all.all>
    try {
      rows = this.all.all()
    } catch (err) {
      throw asStoreError(err, 'cannot read the keys of', this.db)
    }
    return rows.map((r) => ({
      name: r.name,
      createdAt: new Date(r.created_at),
      revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at),
    }))
  }

  /** Check `secret` for publishing `name`: a fresh read per call, compared in constant time. */
  check(name: string, secret: string): KeyCheck {
    if (secret.length === 0 || secret.length > MAX_SECRET_LENGTH) return 'malformed'
    const presented = hashSecret(secret)
    let revoked = false
    let any = false
    // Compare against every row of the name (one live, a few revoked) without early exit.
    let ok = false
    for (const row of this.byName.all(name)) {
      any = true
      const match = row.hash.length === presented.length && timingSafeEqual(row.hash, presented)
      if (match && row.revoked_at === null) ok = true
      else if (match) revoked = true
    }
    if (ok) return 'ok'
    if (revoked) return 'revoked'
    return any ? 'wrong' : 'no-key'
  }

  /** Close the database. */
  close(): void {
    if (this.db.open) this.db.close()
  }
}
