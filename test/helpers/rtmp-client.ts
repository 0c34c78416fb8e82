/**
 * A tiny raw RTMP client for tests: handshake, connect, createStream, publish and
 * Set Chunk Size written as bytes by hand, so a test can follow them with any
 * crafted (or broken) chunk sequence. Replies are parsed to let tests wait for
 * a given command.
 */
import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { decodeAmf0, encodeAmf0, type Amf0Value } from '../../src/formats/amf0.js'
import { ChunkReader } from '../../src/ingest/rtmp/chunk-reader.js'

/** A decoded command the server sent. */
export interface ReceivedCommand {
  name: string
  streamId: number
  values: Amf0Value[]
}

/** Raw RTMP client over one TCP socket. */
export class RawRtmpClient {
  readonly commands: ReceivedCommand[] = []
  /** Sequence numbers of the Acknowledgement messages (type 3) received. */
  readonly acks: number[] = []
  /** Resolves when the server (or the test) closed the socket. */
  readonly closed: Promise<void>
  isClosed = false
  /** `127.0.0.1:localPort`, i.e. the remote the server logs for this client. */
  readonly remote: string
  private chunkSize = 128
  private handshakeBytes = Buffer.alloc(0)
  private inChunks = false
  private readonly reader = new ChunkReader({
    maxMessageSize: 1 << 20,
    onMessage: (m) => {
      if (m.typeId === 3) this.acks.push(m.payload.readUInt32BE(0))
      if (m.typeId !== 20) return
      const values = decodeAmf0(m.payload)
      this.commands.push({ name: String(values[0]), streamId: m.streamId, values })
    },
  })

  private constructor(readonly socket: Socket) {
    this.remote = `127.0.0.1:${socket.localPort}`
    socket.on('error', () => {})
    this.closed = new Promise((resolve) => socket.once('close', () => { this.isClosed = true; resolve() }))
    socket.on('data', (d: Buffer) => {
      if (this.inChunks) this.reader.push(d)
      else this.handshakeBytes = Buffer.concat([this.handshakeBytes, d])
    })
  }

  /** Open a TCP connection to 127.0.0.1:port. */
  static open(port: number): Promise<RawRtmpClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawRtmpClient(s)))
      s.once('error', reject)
    })
  }

  /** Write raw bytes. */
  send(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes)
  }

  /** Plain handshake: C0+C1, wait for S0+S1+S2, then C2 (an echo of S1). */
  async handshake(version = 3): Promise<void> {
    this.send(Buffer.concat([Buffer.from([version]), Buffer.alloc(8), randomBytes(1528)]))
    await this.until(() => this.handshakeBytes.length >= 3073, 'S0+S1+S2')
    const s1 = this.handshakeBytes.subarray(1, 1537)
    const rest = this.handshakeBytes.subarray(3073)
    this.inChunks = true
    if (rest.length) this.reader.push(rest)
    this.send(Buffer.from(s1))
  }

  /** One message as chunks: a type 0 header, then type 3 continuations, at the current chunk size. */
  chunks(csid: number, typeId: number, streamId: number, timestamp: number, payload: Buffer): Buffer {
    const head = Buffer.alloc(12)
    head[0] = csid
    head.writeUIntBE(timestamp, 1, 3)
    head.writeUIntBE(payload.length, 4, 3)
    head[7] = typeId
    head.writeUInt32LE(streamId, 8)
    const parts: Buffer[] = [head]
    for (let off = 0; off === 0 || off < payload.length; off += this.chunkSize) {
      if (off > 0) parts.push(Buffer.from([0xc0 | csid]))
      parts.push(payload.subarray(off, off + this.chunkSize))
    }
    return Buffer.concat(parts)
  }

  /** Send an AMF0 command (type 20). */
  command(streamId: number, values: Amf0Value[]): void {
    this.send(this.chunks(streamId ? 8 : 3, 20, streamId, 0, encodeAmf0(values)))
  }

  /** Send Set Chunk Size with any 32-bit value; later messages use it when it is sane. */
  setChunkSize(value: number): void {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(value >>> 0)
    this.send(this.chunks(2, 1, 0, 0, b))
    if (value > 0 && value < 0x1000000) this.chunkSize = value
  }

  /** connect + createStream + publish; resolves with the onStatus info object. */
  async publish(app: string, name: string): Promise<Record<string, Amf0Value>> {
    this.command(0, ['connect', 1, { app, type: 'nonprivate', tcUrl: `rtmp://127.0.0.1/${app}` }])
    await this.waitForCommand('_result')
    this.command(0, ['createStream', 2, null])
    await this.until(() => this.commands.filter((c) => c.name === '_result').length >= 2, 'createStream _result')
    this.command(1, ['publish', 3, null, name, 'live'])
    const status = await this.waitForCommand('onStatus')
    return status.values[3] as Record<string, Amf0Value>
  }

  /** Wait for the first command called `name`. */
  async waitForCommand(name: string, timeoutMs = 5000): Promise<ReceivedCommand> {
    await this.until(() => this.commands.some((c) => c.name === name), name, timeoutMs)
    return this.commands.find((c) => c.name === name) as ReceivedCommand
  }

  /** Resolves true if the socket closed within `ms`, false otherwise. */
  async closedWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) })
    const r = await Promise.race([this.closed.then(() => true), timeout])
    clearTimeout(timer)
    return r
  }

  /** Close from the client side. */
  destroy(): void {
    this.socket.destroy()
  }

  private async until(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs
    while (!pred()) {
      if (this.isClosed) throw new Error(`connection closed while waiting for ${what}`)
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 10))
    }
  }
}
