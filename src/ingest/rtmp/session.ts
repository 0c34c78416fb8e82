/**
 * One RTMP connection: handshake, chunk stream, commands, media to the sink.
 * Every failure funnels into `fail`, which keeps the first error and destroys
 * the socket; the close handler logs that error once and ends the sink once.
 * Nothing thrown here escapes a socket callback.
 *
 * Until its publish is accepted a connection is a stranger's: it gets the small
 * limits of RtmpLimits (message size, buffered bytes, message count) and a
 * deadline, and only complete messages count as activity, so half-sent messages
 * cannot keep it open.
 */
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import { describeError, ProtocolError } from '../../errors.js'
import type { IngestHandler, MediaSink, TagKind } from '../types.js'
import { ChunkReader } from './chunk-reader.js'
import { isLimitError, limitError, MAX_MESSAGES_BEFORE_PUBLISH, peerAddress, type RtmpLimits } from './limits.js'
import { ChunkWriter } from './chunk-writer.js'
import { ServerHandshake } from './handshake.js'
import { MessageType, UserControl, acknowledgementMessage, userControlMessage, type RtmpMessage } from './messages.js'
import { dataTagBody } from './commands.js'
import { handleCommand } from './session-commands.js'

/** Settings a session gets from its server. */
export interface SessionOptions {
  handler: IngestHandler
  logger: Logger
  handshakeTimeoutMs: number
  /** A connection with no complete message for this long is closed. */
  idleTimeoutMs: number
  limits: RtmpLimits
  /** Called once, when a publish is accepted: the connection is no longer a stranger's. */
  onPublished: (s: RtmpSession) => void
  /** Called instead of a warn line when a connection that never published broke a limit. */
  onRefused: (s: RtmpSession, reason: string) => void
  /** Called once the socket is closed and the session fully cleaned up. */
  onClosed: (s: RtmpSession) => void
}

/** How long a refused peer gets to read the refusal before the socket is destroyed. */
const LINGER_MS = 2000
/** Unsent bytes allowed to pile up: a peer that provokes replies but never reads them is dropped. */
const MAX_PENDING_WRITE = 1024 * 1024

/** Publishing state of a connection; only one publish per connection. */
export type PublishState = 'none' | 'pending' | 'live' | 'ended'

/** One publisher (or refused client) on one TCP connection. */
export class RtmpSession {
  /** Remote `ip:port`, for logs and the publish request. */
  readonly remote: string
  /** Remote IPv4 address or IPv6 /64, which per-address limits count (see peerAddress). */
  readonly address: string
  readonly log: Logger
  readonly handler: IngestHandler
  /** `app` from connect, without a query string; undefined before connect. */
  app: string | undefined
  /** A `?key=` found on the connect app, used when the publish name has none. */
  appKey: string | undefined
  /** `role` values found on the connect app; they must agree with the publish name's. */
  appRoles: string[] = []
  publishState: PublishState = 'none'
  nextStreamId = 1
  private sink: MediaSink | undefined
  private sinkEnded = false
  private readonly handshake = new ServerHandshake()
  private handshaken = false
  private readonly reader: ChunkReader
  private readonly writer = new ChunkWriter()
  private error: unknown
  private closing = false
  private closed = false
  private closeReason = 'disconnected'
  private handshakeTimer: NodeJS.Timeout | undefined
  private publishTimer: NodeJS.Timeout | undefined
  private idleTimer: NodeJS.Timeout | undefined
  /** When the last complete message arrived (or the connection opened). */
  private lastMessageAt = Date.now()
  private messagesBeforePublish = 0
  private published = false
  private markClosed: () => void = () => {}
  /** Resolves once the socket closed and the sink was ended. */
  readonly whenClosed = new Promise<void>((resolve) => { this.markClosed = resolve })
  private bytesIn = 0
  private lastAck = 0
  private ackWindow = 0

  constructor(private readonly socket: Socket, private readonly opts: SessionOptions) {
    const addr = socket.remoteAddress ?? 'unknown'
    this.remote = `${addr.includes(':') ? `[${addr}]` : addr}:${socket.remotePort ?? 0}`
    this.address = peerAddress(socket.remoteAddress)
    this.log = opts.logger.child({ remote: this.remote })
    this.handler = opts.handler
    const max = opts.limits.maxCommandBytes
    this.reader = new ChunkReader({ maxMessageSize: max, maxBufferedBytes: 2 * max, onMessage: (m) => this.onMessage(m) })
  }

  /** Serve the connection; resolves once it closed (its error, if any, already logged once). */
  run(): Promise<void> {
    this.attach()
    return this.whenClosed
  }

  private attach(): void {
    const s = this.socket
    s.setNoDelay(true)
    s.on('data', (d: Buffer) => this.guard(() => this.onData(d)))
    s.on('error', (err) => this.fail(err))
    s.on('close', () => this.onClose())
    this.armIdle(this.opts.idleTimeoutMs)
    this.handshakeTimer = setTimeout(() => {
      this.fail(new ProtocolError('rtmp', `handshake not completed within ${this.opts.handshakeTimeoutMs} ms`))
    }, this.opts.handshakeTimeoutMs)
    const deadline = this.opts.limits.publishTimeoutMs
    this.publishTimer = setTimeout(() => {
      // A publish being decided (key check, on_publish hook) ends either way on its own.
      if (this.publishState === 'none') this.fail(limitError(`no publish within ${deadline} ms`))
    }, deadline)
  }

  /**
   * One timer per connection, re-armed for the time left instead of reset per
   * message. Only complete messages count (see onMessage): socket bytes would let
   * a peer hold a connection and its buffers with a trickle of a message it never ends.
   */
  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(() => {
      const quiet = Date.now() - this.lastMessageAt
      const limit = this.opts.idleTimeoutMs
      if (quiet >= limit) this.fail(new ProtocolError('rtmp', `idle for ${limit} ms`))
      else this.armIdle(limit - quiet)
    }, ms)
  }

  /** Close the connection now (server shutdown, kick). */
  close(reason: string): void {
    this.closeReason = reason
    this.reader.stop()
    this.socket.destroy()
  }

  /** Record the first error and drop the connection. */
  fail(err: unknown): void {
    if (this.error === undefined) this.error = err
    this.reader.stop()
    this.socket.destroy()
  }

  /** Flush what was written, then close; used after a refusal so the client reads why. */
  closeAfterFlush(reason: string, err?: unknown): void {
    if (err !== undefined && this.error === undefined) this.error = err
    this.closeReason = reason
    this.closing = true
    this.reader.stop()
    this.socket.end()
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref()
  }

  /** Chunk and send one message; a no-op once closing. */
  send(msg: RtmpMessage): void {
    if (this.closed || this.socket.destroyed || this.socket.writableEnded) return
    if (this.socket.writableLength > MAX_PENDING_WRITE) {
      this.fail(new ProtocolError('rtmp', 'peer does not read what the server sends'))
      return
    }
    this.socket.write(this.writer.encode(msg))
  }

  /** Announce and switch the outgoing chunk size. */
  setOutgoingChunkSize(size: number, msg: RtmpMessage): void {
    this.send(msg)
    this.writer.setChunkSize(size)
  }

  /** True when the connection is gone or going; async work checks this after awaiting. */
  get isClosing(): boolean {
    return this.closed || this.closing || this.socket.destroyed
  }

  /** Accept a publish: from now on media goes to `sink`, under the publisher's larger limits. */
  startPublishing(sink: MediaSink): void {
    this.sink = sink
    this.publishState = 'live'
    this.published = true
    clearTimeout(this.publishTimer)
    this.reader.setLimits(this.opts.limits.maxMessageBytes)
    this.opts.onPublished(this)
  }

  /** End the sink exactly once, whatever path gets here first; `clean` when the publisher unpublished. */
  endPublishing(reason: string, clean = false): void {
    if (this.publishState === 'live' || this.publishState === 'pending') this.publishState = 'ended'
    if (!this.sink || this.sinkEnded) return
    this.sinkEnded = true
    try {
      this.sink.end(reason, clean)
    } catch (err) {
      this.log.error({ err: describeError(err) }, 'rtmp: sink.end threw')
    }
  }

  private guard(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.fail(err)
    }
  }

  private onData(data: Buffer): void {
    if (this.closing || this.closed) return
    this.bytesIn += data.length
    if (!this.handshaken) {
      const step = this.handshake.push(data)
      if (step.reply) this.socket.write(step.reply)
      if (!step.done) return
      this.handshaken = true
      clearTimeout(this.handshakeTimer)
      this.lastMessageAt = Date.now()
      if (step.rest && step.rest.length) this.reader.push(step.rest)
    } else {
      this.reader.push(data)
    }
    // §5.4.3: acknowledge once per window the peer asked for.
    if (this.ackWindow > 0 && this.bytesIn - this.lastAck >= this.ackWindow) {
      this.lastAck = this.bytesIn
      this.send(acknowledgementMessage(this.bytesIn))
    }
  }

  private onMessage(msg: RtmpMessage): void {
    this.lastMessageAt = Date.now()
    if (this.publishState === 'none' && ++this.messagesBeforePublish > MAX_MESSAGES_BEFORE_PUBLISH) {
      throw limitError(`more than ${MAX_MESSAGES_BEFORE_PUBLISH} messages before publish`)
    }
    switch (msg.typeId) {
      case MessageType.audio: return this.onMedia('audio', msg)
      case MessageType.video: return this.onMedia('video', msg)
      case MessageType.dataAmf0:
      case MessageType.dataAmf3: return this.onMedia('data', msg)
      case MessageType.commandAmf0:
      case MessageType.commandAmf3: return handleCommand(this, msg)
      case MessageType.windowAckSize:
        if (msg.payload.length >= 4) this.ackWindow = msg.payload.readUInt32BE(0)
        return
      case MessageType.userControl:
        // Answer pings so clients that probe liveness keep the connection.
        if (msg.payload.length >= 6 && msg.payload.readUInt16BE(0) === UserControl.pingRequest) {
          this.send(userControlMessage(UserControl.pingResponse, msg.payload.readUInt32BE(2)))
        }
        return
      case MessageType.acknowledgement:
      case MessageType.setPeerBandwidth:
        return
      default:
        this.log.debug({ typeId: msg.typeId }, 'rtmp: ignoring message type')
    }
  }

  private onMedia(kind: TagKind, msg: RtmpMessage): void {
    // Media before the publish is accepted (or after it ended) is dropped.
    if (this.publishState !== 'live' || !this.sink) return
    const data = kind === 'data' ? dataTagBody(msg) : msg.payload
    if (data.length === 0) return
    this.sink.write({ kind, timestamp: msg.timestamp, data, arrival: Date.now() })
  }

  private onClose(): void {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.handshakeTimer)
    clearTimeout(this.publishTimer)
    clearTimeout(this.idleTimer)
    this.reader.stop()
    const reason = this.error !== undefined ? describeError(this.error) : this.closeReason
    this.endPublishing(reason)
    // A stranger can provoke limit refusals as fast as it opens connections: the server logs those rate-limited.
    if (isLimitError(this.error) && !this.published) this.opts.onRefused(this, reason)
    else if (this.error !== undefined) this.log.warn({ err: reason }, 'rtmp: connection closed on error')
    else this.log.debug({ reason }, 'rtmp: connection closed')
    this.opts.onClosed(this)
    this.markClosed()
  }
}
