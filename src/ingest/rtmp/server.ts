/**
 * RTMP listener: accepts TCP connections and runs one RtmpSession per
 * connection. A session's failure closes that session only.
 *
 * Opening a connection needs no key, so connections that have not yet had a
 * publish accepted ("pending") are capped per IP address and in total; one over
 * either cap is closed as it opens, before a byte is read. Refusals are logged
 * once per address per 10 s with a count.
 */
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from 'pino'
import type { IngestHandler } from '../types.js'
import { DEFAULT_RTMP_LIMITS, peerAddress, type RtmpLimits } from './limits.js'
import { RefusalLog } from './refusal-log.js'
import { RtmpSession } from './session.js'

/** Options of an RtmpServer; limits left out take DEFAULT_RTMP_LIMITS. */
export interface RtmpServerOptions extends Partial<RtmpLimits> {
  host: string
  /** TCP port; 0 picks a free one (see `listen`). */
  port: number
  handler: IngestHandler
  logger: Logger
  /** Time allowed for C0..C2 (default 10 s). */
  handshakeTimeoutMs?: number
  /** A connection with no complete message for this long is closed (default 30 s). */
  idleTimeoutMs?: number
  /** Window of the rate-limited refusal log (default 10 s). */
  refusalLogWindowMs?: number
}

/** The RTMP ingest listener. */
export class RtmpServer {
  private readonly server: Server
  private readonly sessions = new Set<RtmpSession>()
  /** Sessions whose publish has not been accepted, and their count per address. */
  private readonly pending = new Set<RtmpSession>()
  private readonly pendingByAddress = new Map<string, number>()
  private readonly log: Logger
  private readonly limits: RtmpLimits
  private readonly refusals: RefusalLog

  constructor(private readonly opts: RtmpServerOptions) {
    this.log = opts.logger.child({ component: 'rtmp' })
    const d = DEFAULT_RTMP_LIMITS
    this.limits = {
      maxCommandBytes: opts.maxCommandBytes ?? d.maxCommandBytes,
      maxMessageBytes: opts.maxMessageBytes ?? d.maxMessageBytes,
      publishTimeoutMs: opts.publishTimeoutMs ?? d.publishTimeoutMs,
      maxPendingConnections: opts.maxPendingConnections ?? d.maxPendingConnections,
      maxPendingPerAddress: opts.maxPendingPerAddress ?? d.maxPendingPerAddress,
    }
    this.refusals = new RefusalLog(this.log, opts.refusalLogWindowMs)
    this.server = createServer((socket) => this.accept(socket))
    // A listener error after listen() (rare: EMFILE on accept) must not crash the process.
    this.server.on('error', (err) => this.log.error({ err: err.message }, 'rtmp: listener error'))
  }

  /** Start listening; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      this.server.once('error', onError)
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', onError)
        const addr = this.server.address()
        const port = typeof addr === 'object' && addr ? addr.port : this.opts.port
        this.log.info({ host: this.opts.host, port }, 'rtmp: listening')
        resolve(port)
      })
    })
  }

  /** Stop listening and destroy every session; resolves once all of them ended their sinks. */
  async close(): Promise<void> {
    const listening = this.server.listening
    const stopped = new Promise<void>((resolve) => (listening ? this.server.close(() => resolve()) : resolve()))
    const sessions = [...this.sessions]
    for (const s of sessions) s.close('server closing')
    await Promise.all([stopped, ...sessions.map((s) => s.whenClosed)])
    this.refusals.close()
  }

  /** Number of open connections. */
  sessionCount(): number {
    return this.sessions.size
  }

  /** Number of open connections whose publish has not been accepted. */
  pendingCount(): number {
    return this.pending.size
  }

  private accept(socket: Socket): void {
    const address = peerAddress(socket.remoteAddress)
    const fromAddress = this.pendingByAddress.get(address) ?? 0
    const full = this.pending.size >= this.limits.maxPendingConnections
      ? `${this.limits.maxPendingConnections} connections already waiting to publish`
      : fromAddress >= this.limits.maxPendingPerAddress
        ? `${this.limits.maxPendingPerAddress} connections from this address already waiting to publish`
        : undefined
    if (full) {
      socket.on('error', () => {})
      socket.destroy()
      this.refusals.note(address, full)
      return
    }
    const session = new RtmpSession(socket, {
      handler: this.opts.handler,
      logger: this.log,
      handshakeTimeoutMs: this.opts.handshakeTimeoutMs ?? 10_000,
      idleTimeoutMs: this.opts.idleTimeoutMs ?? 30_000,
      limits: this.limits,
      onPublished: (s) => this.release(s),
      onRefused: (s, reason) => this.refusals.note(s.address, reason),
      onClosed: (s) => {
        this.release(s)
        this.sessions.delete(s)
      },
    })
    this.sessions.add(session)
    this.pending.add(session)
    this.pendingByAddress.set(address, fromAddress + 1)
    void session.run()
  }

  /** The session no longer counts as pending (it published, or it closed). */
  private release(s: RtmpSession): void {
    if (!this.pending.delete(s)) return
    const n = (this.pendingByAddress.get(s.address) ?? 1) - 1
    if (n > 0) this.pendingByAddress.set(s.address, n)
    else this.pendingByAddress.delete(s.address)
  }
}
