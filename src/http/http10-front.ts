/**
 * An HTTP/1.0-capable front before a uWebSockets.js app. uWS 20.30 answers only
 * request lines ending exactly in ` HTTP/1.1` with a Host header; anything else
 * (an HTTP/1.0 request, as nginx's default `proxy_pass` sends) waits for its
 * idle timeout and is dropped without a word. This front owns the public port
 * and reads each connection's first request head only: an HTTP/1.1 request with
 * a Host header has its connection relayed byte for byte to uWS on a loopback
 * port (chunked streaming unchanged); any other connection goes to Node's HTTP
 * server, which speaks HTTP/1.0 (RFC 9112 6.3: a body without a known length is
 * delimited by closing the connection; keep-alive only when the client asked)
 * and answers what it cannot parse with a 4xx at once, and which forwards each
 * request to uWS over HTTP/1.1. Every connection to uWS opens with a PROXY
 * protocol v2 header naming the client, so uWS still knows who asked.
 */
import http from 'node:http'
import net from 'node:net'
import type { Logger } from 'pino'
import type { HttpResponse } from 'uWebSockets.js'
import { isLoopback } from '../config/address.js'
import type { RequestContext } from './reply.js'

/** Longest first request head read before deciding (uWS itself refuses longer heads). */
const MAX_HEAD = 16 * 1024
/** A connection that has not sent its first request head in this long is closed (uWS's own idle timeout). */
const HEAD_TIMEOUT_MS = 10_000
/** RFC 9110 7.6.1: hop-by-hop fields, meaningful for one connection only, never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'])
/** PROXY protocol v2 signature (12 bytes). */
const PROXY_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])

/** What the front needs: where uWS listens (loopback) and where to log. */
export interface Http10FrontOptions {
  /** Loopback port uWS listens on. */
  upstreamPort: number
  logger: Logger
}

/** A listening front: its public port and how to stop it. */
export interface Http10Front {
  port: number
  /** Stop accepting and close every connection the front holds. */
  close(): void
}

/** Bytes of an IPv4 or IPv6 address (IPv4-mapped IPv6 comes back as IPv4), or undefined for anything else. */
export function addressBytes(address: string): Buffer | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  const text = mapped ? mapped[1]! : address
  const kind = net.isIP(text)
  if (kind === 4) return Buffer.from(text.split('.').map(Number))
  if (kind !== 6) return undefined
  let groups = text
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(groups)
  if (v4) {
    const b = v4[1]!.split('.').map(Number)
    groups = groups.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`
  }
  const [head, tail] = groups.split('::') as [string, string | undefined]
  const a = head ? head.split(':') : []
  const z = tail ? tail.split(':') : []
  const all = [...a, ...Array<string>(tail !== undefined ? 8 - a.length - z.length : 0).fill('0'), ...z]
  const out = Buffer.alloc(16)
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2))
  return out
}

/**
 * The PROXY protocol v2 header for a connection from `src` to `dst` (PROXY command,
 * TCP over IPv4 or IPv6); a LOCAL header (no address) when either is unknown or the families differ.
 */
export function proxyHeader(src: { address?: string; port?: number }, dst: { address?: string; port?: number }): Buffer {
  const s = src.address ? addressBytes(src.address) : undefined
  const d = dst.address ? addressBytes(dst.address) : undefined
  if (!s || !d || s.length !== d.length) return Buffer.concat([PROXY_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])])
  const ports = Buffer.alloc(4)
  ports.writeUInt16BE(src.port ?? 0, 0)
  ports.writeUInt16BE(dst.port ?? 0, 2)
  const body = Buffer.concat([s, d, ports])
  // 0x21: version 2, PROXY; 0x11 TCP over IPv4, 0x21 TCP over IPv6.
  return Buffer.concat([PROXY_SIGNATURE, Buffer.from([0x21, s.length === 4 ? 0x11 : 0x21, body.length >> 8, body.length & 0xff]), body])
}

/**
 * True when a first request head (up to its blank line) is one uWS answers: the
 * request line ends in exactly ` HTTP/1.1` and a Host field is present.
 */
export function uwsCanAnswer(head: string): boolean {
  const eol = head.indexOf('\r\n')
  if (eol < 0 || !head.slice(0, eol).endsWith(' HTTP/1.1')) return false
  return /\r\nhost:/i.test(head)
}

/** Index just past the blank line ending the head in `buf`, or -1 while it is incomplete. */
function headEnd(buf: Buffer): number {
  const i = buf.indexOf('\r\n\r\n')
  return i < 0 ? -1 : i + 4
}

/** Relay bytes from `a` to `b` with backpressure; the end or loss of either ends both. */
function relay(a: net.Socket, b: net.Socket): void {
  a.on('data', (d: Buffer) => {
    if (!b.write(d)) {
      a.pause()
      b.once('drain', () => a.resume())
    }
  })
  a.on('end', () => b.end())
  a.on('close', () => b.destroy())
  a.on('error', () => b.destroy())
}

/** Start the front on host:port, relaying to uWS on 127.0.0.1:upstreamPort; resolves once bound. */
export function startHttp10Front(host: string, port: number, opts: Http10FrontOptions): Promise<Http10Front> {
  const sockets = new Set<net.Socket>()
  const connectUpstream = (client: net.Socket): net.Socket => {
    const up = net.connect({ host: '127.0.0.1', port: opts.upstreamPort, noDelay: true })
    sockets.add(up)
    up.on('close', () => { sockets.delete(up) })
    up.write(proxyHeader({ address: client.remoteAddress, port: client.remotePort }, { address: client.localAddress, port: client.localPort }))
    return up
  }
  const legacy = createLegacyServer(connectUpstream, opts.logger)

  const server = net.createServer({ noDelay: true }, (client) => {
    sockets.add(client)
    client.on('close', () => { sockets.delete(client) })
    let buf: Buffer = Buffer.alloc(0)
    const timer = setTimeout(() => client.destroy(), HEAD_TIMEOUT_MS)
    const onError = (): void => { client.destroy() }
    client.on('error', onError)
    const onData = (d: Buffer): void => {
      buf = buf.length ? Buffer.concat([buf, d]) : d
      const end = headEnd(buf)
      if (end < 0 && buf.length < MAX_HEAD) return
      clearTimeout(timer)
      client.off('data', onData)
      client.pause()
      if (end > 0 && uwsCanAnswer(buf.toString('latin1', 0, end))) {
        client.off('error', onError)
        const up = connectUpstream(client)
        up.write(buf)
        relay(client, up)
        relay(up, client)
        client.resume()
        return
      }
      // Node's parser reads what was unshifted first; it answers HTTP/1.0, and refuses
      // with 400/431/505 what it cannot parse.
      client.unshift(buf)
      legacy.emit('connection', client)
      process.nextTick(() => client.resume())
    }
    client.on('data', onData)
    client.on('close', () => clearTimeout(timer))
  })

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      server.on('error', (err) => opts.logger.error({ err }, 'http front failed'))
      const addr = server.address() as net.AddressInfo
      resolve({
        port: addr.port,
        close: () => {
          server.close()
          for (const s of sockets) s.destroy()
          sockets.clear()
        },
      })
    })
  })
}

/**
 * Node's HTTP server for connections uWS would not answer: each request is forwarded
 * to uWS over HTTP/1.1 on one upstream connection per client connection (opened with
 * that client's PROXY header), and the answer is relayed in the client's HTTP version.
 */
function createLegacyServer(connectUpstream: (client: net.Socket) => net.Socket, logger: Logger): http.Server {
  const agents = new WeakMap<net.Socket, http.Agent>()
  const agentFor = (client: net.Socket): http.Agent => {
    let agent = agents.get(client)
    if (!agent) {
      const a = new http.Agent({ keepAlive: true, maxSockets: 1 })
      // One upstream connection at a time per client, carrying that client's address.
      ;(a as unknown as { createConnection: () => net.Socket }).createConnection = () => connectUpstream(client)
      client.once('close', () => a.destroy())
      agents.set(client, a)
      agent = a
    }
    return agent
  }
  const server = http.createServer({ requireHostHeader: true, keepAliveTimeout: HEAD_TIMEOUT_MS, headersTimeout: HEAD_TIMEOUT_MS }, (req, res) => {
    const client = req.socket
    // RFC 9110 15.6.6: 505 for a major version this server does not speak (Node's parser takes "HTTP/2.0").
    if (req.httpVersionMajor !== 1) {
      res.shouldKeepAlive = false
      return void res.writeHead(505, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end('HTTP version not supported\n')
    }
    const headers: Array<[string, string]> = []
    const named = new Set((req.headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim()))
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!
      const lower = name.toLowerCase()
      if (!HOP_BY_HOP.has(lower) && !named.has(lower)) headers.push([name, req.rawHeaders[i + 1]!])
    }
    // RFC 9112 3.2: HTTP/1.0 may omit Host, HTTP/1.1 (our upstream request) may not.
    if (req.headers.host === undefined) headers.push(['Host', `${client.localAddress ?? '127.0.0.1'}:${client.localPort ?? 0}`])
    const upReq = http.request({ agent: agentFor(client), method: req.method, path: req.url, headers: headers.flat() as unknown as http.OutgoingHttpHeaders, setHost: false })
    upReq.on('response', (up) => {
      const out: Array<[string, string]> = []
      const named = new Set((up.headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim()))
      for (let i = 0; i < up.rawHeaders.length; i += 2) {
        const lower = up.rawHeaders[i]!.toLowerCase()
        if (!HOP_BY_HOP.has(lower) && !named.has(lower)) out.push([up.rawHeaders[i]!, up.rawHeaders[i + 1]!])
      }
      // uWS's Date is kept; Node must not add a second one.
      res.sendDate = false
      res.writeHead(up.statusCode ?? 502, out.flat())
      up.pipe(res)
      // A body cut short upstream must not look complete: close the client's connection.
      up.on('aborted', () => client.destroy())
      up.on('error', () => client.destroy())
    })
    upReq.on('error', (err) => {
      if (res.headersSent) return void client.destroy()
      logger.warn({ err: err.message, url: req.url }, 'http front: upstream request failed')
      res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end('bad gateway\n')
    })
    // The client left: stop the upstream request (uWS then drops a held reload or stream).
    res.on('close', () => {
      if (!res.writableFinished) upReq.destroy()
    })
    req.pipe(upReq)
  })
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Node's defaults (400, 431, 505 ...) but never an exception for a peer that is gone.
    if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy()
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'HPE_INVALID_VERSION' ? '505 HTTP Version Not Supported' : '400 Bad Request'
    socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)
  })
  return server
}

/**
 * `ctx` with `remote` read from the PROXY header the front sent. Only a loopback peer
 * (the front itself) is believed: a header from anyone else changes nothing, so a
 * stranger cannot claim to be on this machine.
 */
export function withClientAddress(ctx: RequestContext, res: HttpResponse): RequestContext {
  let remote: string | undefined
  const out = Object.create(ctx) as RequestContext
  Object.defineProperty(out, 'remote', {
    get: () => {
      if (remote !== undefined) return remote
      const own = ctx.remote
      if (!isLoopback(own)) return (remote = own)
      const proxied = Buffer.from(res.getProxiedRemoteAddressAsText()).toString()
      return (remote = proxied || own)
    },
  })
  return out
}
