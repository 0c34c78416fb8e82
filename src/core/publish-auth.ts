/**
 * Who may publish: open publishing, loopback-only openness, publish keys, then
 * the on_publish hook. Protocol-neutral: RTMP passes `?key=`, SRT the key of its
 * streamid, and both get the same answer for the same request.
 */
import type { Logger } from 'pino'
import { isLoopback } from '../config/address.js'
import type { Config } from '../config/schema.js'
import type { PublishRequest } from '../ingest/types.js'
import type { KeyStore } from '../store/keys.js'
import { callHook, type HookEvent } from './hooks.js'

/** Outcome of authorization: who authorized it, or why not. */
export type AuthResult =
  | { ok: true; /** name of the key used; null when publishing was open to this peer */ keyName: string | null }
  | { ok: false; reason: string }

/** What to say to the publisher for each failed key check (all the same: no probing which names have keys). */
const KEY_REFUSAL = 'invalid publish key'

/** Publish authorization of one origin. */
export class PublishAuth {
  private readonly config: Config
  private keys: KeyStore | undefined

  constructor(config: Config) {
    this.config = config
  }

  /** True when some publisher needs a key, i.e. the key store must be open. */
  get needsKeys(): boolean {
    return this.config.publish.open !== true
  }

  /** Use `keys` for key checks (opened by the origin at start). */
  useKeys(keys: KeyStore): void {
    this.keys = keys
  }

  /** Decide a publish; logs the cause of a refusal on `log` (never the secret). */
  async authorize(req: PublishRequest, log: Logger): Promise<AuthResult> {
    const key = this.checkKey(req, log)
    if (!key.ok) return key
    const hook = this.config.hooks.onPublish
    if (!hook) return key
    const result = await callHook(hook, this.event('on_publish', req, key.keyName), this.config.hooks)
    if (!result.ok) {
      log.warn({ hook: 'on_publish', reason: result.reason }, 'publish refused by on_publish hook')
      return { ok: false, reason: `refused by on_publish hook: ${result.reason}` }
    }
    return key
  }

  /** Tell on_publish_done (if configured) that a publish ended; failures are logged, never awaited by callers. */
  publishDone(req: PublishRequest, keyName: string | null, log: Logger): void {
    const hook = this.config.hooks.onPublishDone
    if (!hook) return
    void callHook(hook, this.event('on_publish_done', req, keyName), this.config.hooks).then((r) => {
      if (!r.ok) log.warn({ hook: 'on_publish_done', reason: r.reason }, 'on_publish_done hook failed')
    })
  }

  private checkKey(req: PublishRequest, log: Logger): AuthResult {
    const open = this.config.publish.open
    if (open === true) return { ok: true, keyName: null }
    if (open === 'loopback' && isLoopback(req.remote)) return { ok: true, keyName: null }
    if (req.key === undefined || req.key === '') {
      log.warn('publish refused: no publish key')
      return { ok: false, reason: 'a publish key is required: publish to live/NAME?key=SECRET' }
    }
    if (!this.keys) {
      log.error('publish refused: the key store is not open')
      return { ok: false, reason: KEY_REFUSAL }
    }
    // A key authorizes exactly one stream name: the NAME of `streamd keys add NAME`.
    const check = this.keys.check(req.stream, req.key)
    if (check === 'ok') return { ok: true, keyName: req.stream }
    const cause = { wrong: 'wrong key', revoked: 'revoked key', 'no-key': 'no key exists for this stream', malformed: 'malformed key' }[check]
    log.warn({ cause, keyLength: req.key.length }, `publish refused: ${cause}`)
    return { ok: false, reason: KEY_REFUSAL }
  }

  private event(action: HookEvent['action'], req: PublishRequest, keyName: string | null): HookEvent {
    return { action, app: req.app, stream: req.stream, protocol: req.protocol, role: req.role, remote: req.remote, key: keyName, time: new Date().toISOString() }
  }
}
