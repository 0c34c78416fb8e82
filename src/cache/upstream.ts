/**
 * The upstream client: one GET streamed into a CacheEntry with node:http over a
 * keep-alive Agent. Three timeouts (connect, first byte, idle between body bytes)
 * and a Content-Length check turn a stalled or lying origin into a FillError, so
 * the entry is never stored half-written.
 */
import http from 'node:http'
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'
import type { Readable } from 'node:stream'
import { FillError, type CacheEntry, type EntryHeaders } from './entry.js'
import type { ByteBudget } from './budget.js'

/** Timeouts of one upstream request, ms. */
export interface UpstreamTimeouts {
  connectMs: number
  /** Until response headers: blocking requests are held by the origin, so this covers the hold. */
  firstByteMs: number
  /** Longest silence between body bytes. */
  idleMs: number
  /** Largest body kept: a fill growing past it fails (memory stays bounded whatever upstream sends). */
  maxBodyBytes: number
}

/** Headers worth keeping from upstream; hop-by-hop and connection headers are not. */
const KEEP = ['content-type', 'cache-control', 'etag', 'last-modified', 'expires', 'age', 'content-encoding', 'vary', 'retry-after', 'content-range', 'accept-ranges']

/**
 * A decoder for a body the upstream encoded although asked for identity: the
 * cache holds one plain form (and makes gzip itself for clients that take it),
 * so a client that does not accept an encoding is never sent it. Null: unknown coding.
 */
function decoder(coding: string): Readable & NodeJS.WritableStream | null | undefined {
  const c = coding.trim().toLowerCase()
  if (c === '' || c === 'identity') return undefined
  if (c === 'gzip' || c === 'x-gzip') return createGunzip()
  if (c === 'deflate') return createInflate()
  if (c === 'br') return createBrotliDecompress()
  return null
}

/** Keep-alive HTTP client for one or more upstream origins. */
export class UpstreamClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' })

  /**
   * GET `base + pathAndQuery` into `entry`. Resolves once the entry is done or the request
   * failed, with the failure as a value (never rejects). A failure before the head leaves
   * the entry untouched (the caller may try another upstream); after it, the entry fails.
   * `beforeBody` may veto a response by status (failover on 5xx) before it touches the entry.
   * With a `budget`, every body byte is taken from it before the entry holds it (a known
   * length at once, when the head arrives; an unknown one chunk by chunk) and given back
   * once the entry is done and no response reads it (CacheEntry.charge). A known length that
   * does not fit fails before the head with ERR_SHIELD_BUSY;
   * an unknown one that stops fitting pauses the upstream until room is given back, and fails
   * (ERR_SHIELD_BUSY, the entry cut) if none comes within the idle timeout.
   */
  fetch(base: string, pathAndQuery: string, entry: CacheEntry, t: UpstreamTimeouts, beforeBody?: (status: number) => boolean, signal?: AbortSignal, budget?: ByteBudget): Promise<FillError | undefined> {
    return new Promise((resolve) => {
      let settled = false
      let timer: NodeJS.Timeout | undefined
      /** Chunks received while waiting for budget room (the body is paused meanwhile). */
      const pending: Buffer[] = []
      let stopWaiting: (() => void) | undefined
      const arm = (ms: number, code: string, what: string): void => {
        clearTimeout(timer)
        timer = setTimeout(() => fail(new FillError(code, `upstream ${what} after ${ms} ms`)), ms)
      }
      const settle = (err?: FillError): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        stopWaiting?.()
        resolve(err)
      }
      // Before the head is in, a failure is the caller's to handle (it may try another
      // upstream); after it, readers are streaming and the entry itself fails.
      const fail = (err: FillError): void => {
        if (settled) return
        req.destroy()
        if (entry.hasHead) entry.fail(err)
        settle(err)
      }
      let url: URL
      try {
        url = new URL(pathAndQuery, base)
      } catch {
        return resolve(new FillError('ERR_UPSTREAM_CONNECT', `bad upstream URL ${base}`))
      }
      const req = http.get(url, { agent: this.agent, headers: { 'accept-encoding': 'identity', 'user-agent': 'streamd-shield' } })
      const onAbort = (): void => fail(new FillError('ERR_UPSTREAM_TIMEOUT', `upstream ${url.host} left rotation (health check failed)`))
      if (signal?.aborted) onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
      arm(t.connectMs, 'ERR_UPSTREAM_TIMEOUT', 'connect timeout')
      req.on('socket', (sock) => {
        // A reused keep-alive socket is already connected.
        if (!sock.connecting) arm(t.firstByteMs, 'ERR_UPSTREAM_TIMEOUT', 'first byte timeout')
        else sock.once('connect', () => { if (!settled) arm(t.firstByteMs, 'ERR_UPSTREAM_TIMEOUT', 'first byte timeout') })
      })
      req.on('error', (e) => fail(new FillError('ERR_UPSTREAM_CONNECT', `upstream ${url.host}: ${e.message}`)))
      req.on('response', (res) => {
        const status = res.statusCode ?? 502
        if (beforeBody && !beforeBody(status)) {
          res.resume()
          return fail(new FillError('ERR_UPSTREAM_STATUS', `upstream ${url.host} answered ${status}`))
        }
        const headers: EntryHeaders = {}
        for (const name of KEEP) {
          const v = res.headers[name]
          if (typeof v === 'string') headers[name] = v
        }
        const decode = decoder(headers['content-encoding'] ?? '')
        if (decode === null) {
          res.resume()
          return fail(new FillError('ERR_UPSTREAM_ENCODING', `upstream ${url.host} sent Content-Encoding ${headers['content-encoding']}, asked for identity`))
        }
        const cl = res.headers['content-length']
        // A decoded body's length is not the announced (encoded) one.
        const expected = !decode && cl !== undefined && /^\d{1,15}$/.test(cl) ? Number(cl) : undefined
        if (expected !== undefined && expected > t.maxBodyBytes) {
          res.resume()
          return fail(new FillError('ERR_UPSTREAM_TOO_LARGE', `upstream announced ${expected} bytes, more than ${t.maxBodyBytes}`))
        }
        if (budget && !budget.tryTake(expected ?? 0)) {
          // Refused before any client saw a head: they get 503 + Retry-After, never a cut body.
          res.resume()
          return fail(new FillError('ERR_SHIELD_BUSY', `in-flight byte budget full (${budget.used} of ${budget.limit} bytes taken${expected === undefined ? '' : `, ${expected} more asked`})`))
        }
        if (budget && expected !== undefined) entry.charge(budget, expected)
        const coding = headers['content-encoding'] ?? ''
        if (decode) {
          delete headers['content-encoding']
          delete headers['content-range']
        }
        entry.setHead(status, headers, expected)
        arm(t.idleMs, 'ERR_UPSTREAM_TIMEOUT', 'idle timeout mid-body')
        const body: Readable = decode ? res.pipe(decode) : res
        if (decode) res.on('data', () => { if (!settled && !stopWaiting) arm(t.idleMs, 'ERR_UPSTREAM_TIMEOUT', 'idle timeout mid-body') })
        // An unknown length takes its bytes chunk by chunk; when they do not fit, the upstream
        // is paused (TCP pushes back) until another fill gives bytes back.
        const room = (): boolean => {
          while (pending.length > 0) {
            const next = pending[0]!
            if (!budget!.tryTake(next.length)) return false
            entry.charge(budget!, next.length)
            pending.shift()
            entry.push(next)
          }
          return true
        }
        const waitForRoom = (): void => {
          body.pause()
          clearTimeout(timer)
          timer = setTimeout(() => fail(new FillError('ERR_SHIELD_BUSY', `in-flight byte budget stayed full for ${t.idleMs} ms`)), t.idleMs)
          stopWaiting = budget!.onRoom(() => {
            if (settled || !room()) return
            stopWaiting?.()
            stopWaiting = undefined
            arm(t.idleMs, 'ERR_UPSTREAM_TIMEOUT', 'idle timeout mid-body')
            if (ended) finish()
            else body.resume()
          })
        }
        let ended = false
        const finish = (): void => {
          if (expected !== undefined && entry.size !== expected) {
            return fail(new FillError('ERR_UPSTREAM_LENGTH', `upstream body ${entry.size} bytes, Content-Length said ${expected}`))
          }
          entry.end()
          settle()
        }
        body.on('data', (chunk: Buffer) => {
          if (settled) return
          if (expected !== undefined && entry.size + chunk.length > expected) {
            return fail(new FillError('ERR_UPSTREAM_LENGTH', `upstream sent more than its Content-Length ${expected}`))
          }
          // Decoded bytes count here: a small compressed body cannot inflate past the bound.
          const queued = pending.reduce((n, c) => n + c.length, 0)
          if (entry.size + queued + chunk.length > t.maxBodyBytes) {
            return fail(new FillError('ERR_UPSTREAM_TOO_LARGE', `upstream body exceeds ${t.maxBodyBytes} bytes`))
          }
          if (budget && expected === undefined) {
            pending.push(chunk)
            if (stopWaiting) return
            if (!room()) return waitForRoom()
          } else {
            entry.push(chunk)
          }
          arm(t.idleMs, 'ERR_UPSTREAM_TIMEOUT', 'idle timeout mid-body')
        })
        body.on('end', () => {
          if (settled) return
          ended = true
          // The last chunks may still wait for room; the fill ends once they are in.
          if (!stopWaiting) finish()
        })
        if (decode) decode.on('error', (e: Error) => fail(new FillError('ERR_UPSTREAM_ENCODING', `upstream ${url.host}: bad ${coding} body: ${e.message}`)))
        res.on('aborted', () => fail(new FillError('ERR_UPSTREAM_ABORTED', `upstream ${url.host} closed mid-body`)))
        res.on('error', (e) => fail(new FillError('ERR_UPSTREAM_ABORTED', `upstream ${url.host}: ${e.message}`)))
        res.on('close', () => {
          if (!settled && !res.complete) fail(new FillError('ERR_UPSTREAM_ABORTED', `upstream ${url.host} closed mid-body`))
        })
      })
    })
  }

  /** Close idle keep-alive sockets. */
  close(): void {
    this.agent.destroy()
  }
}
