/**
 * RTMP listener: accepts TCP connections and runs one RtmpSession per
 * connection. A session's failure closes that session only.
 */
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from 'pino'
import type { IngestHandler } from '../types.js'
import { RtmpSession } from './session.js'

/** Options of an RtmpServer. */
export interface RtmpServerOptions {
  host: string
  /** TCP port; 0 picks a free one (see `listen`). */
  port: number
  handler: IngestHandler
  logger: Logger
  /** Time allowed for C0..C2 (default 10 s). */
  handshakeTimeoutMs?: number
  /** A connection with no bytes for this long is closed (default 30 s). */
  idleTimeoutMs?: number
  /** Largest RTMP message accepted (default 8 MiB; a 4K keyframe fits easily). */
  maxMessageSize?: number
}

/** Default limit on one RTMP message. */
export const DEFAULT_MAX_MESSAGE_SIZE = 8 * 1024 * 1024

/** The RTMP ingest listener. */
export class RtmpServer {
  private readonly server: Server
  private readonly sessions = new Set<RtmpSession>()
  private readonly log: Logger

  constructor(private readonly opts: RtmpServerOptions) {
    this.log = opts.logger.child({ component: 'rtmp' })
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
  }

  /** Number of open connections. */
  sessionCount(): number {
    return this.sessions.size
  }

  private accept(socket: Socket): void {
    const session = new RtmpSession(socket, {
      handler: this.opts.handler,
      logger: this.log,
      handshakeTimeoutMs: this.opts.handshakeTimeoutMs ?? 10_000,
      idleTimeoutMs: this.opts.idleTimeoutMs ?? 30_000,
      maxMessageSize: this.opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      onClosed: (s) => this.sessions.delete(s),
    })
    this.sessions.add(session)
    void session.run()
  }
}
