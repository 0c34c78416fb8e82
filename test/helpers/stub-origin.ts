/**
 * A counting stub origin for shield tests (the nginx-tests pattern): every
 * response body says which request it answered ("request N" per path), so a
 * client that sees "request 1" proves it shared the first upstream fetch.
 * Each path's behaviour (status, headers, delay, trickle, lies, hangs) is
 * chosen by a function the test supplies.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

/** How the stub answers one request. */
export interface StubAnswer {
  status?: number
  headers?: Record<string, string>
  /** Body; default `request N` (N counts requests for this path + query). */
  body?: string | Buffer
  /** Wait this long before sending the head, ms. */
  delayMs?: number
  /** Send the body in this many pieces spread over trickleMs. */
  pieces?: number
  trickleMs?: number
  /** Announce this Content-Length whatever the body is. */
  contentLength?: number
  /** Send no Content-Length (chunked transfer coding). */
  chunked?: boolean
  /** Send only this many body bytes, then keep the connection open without ending. */
  hangAfter?: number
  /** Send only this many body bytes, then destroy the socket. */
  cutAfter?: number
}

/** A running stub origin. */
export interface StubOrigin {
  url: string
  port: number
  /** Requests seen per path?query. */
  count(target: string): number
  /** All requests seen, in order. */
  readonly log: string[]
  /** When the last body byte of each target's latest response was written (performance.now()). */
  readonly bodyDoneAt: Map<string, number>
  /** Make the stub refuse service (connections are destroyed at once) or resume. */
  setDown(down: boolean): void
  close(): Promise<void>
}

// Unref'd: a response the test no longer waits for must not keep the test process alive.
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref())

/** Start a stub origin on 127.0.0.1:0; closed at teardown. */
export async function startStubOrigin(t: Test, answer: (target: string, n: number, req: IncomingMessage) => StubAnswer): Promise<StubOrigin> {
  const counts = new Map<string, number>()
  const log: string[] = []
  const bodyDoneAt = new Map<string, number>()
  let down = false
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = req.url ?? '/'
    if (down) {
      req.socket.destroy()
      return
    }
    const n = (counts.get(target) ?? 0) + 1
    counts.set(target, n)
    log.push(target)
    const a = answer(target, n, req)
    const body = Buffer.from(a.body ?? `request ${n}`)
    if (a.delayMs) await sleep(a.delayMs)
    const headers: Record<string, string> = { 'Content-Type': 'text/plain', 'Cache-Control': 'max-age=60', ...a.headers }
    if (!a.chunked) headers['Content-Length'] = String(a.contentLength ?? body.length)
    res.writeHead(a.status ?? 200, headers)
    res.flushHeaders()
    const limit = a.hangAfter ?? a.cutAfter ?? body.length
    const sendable = body.subarray(0, limit)
    const pieces = Math.max(1, a.pieces ?? 1)
    const step = Math.ceil(sendable.length / pieces)
    for (let i = 0; i < sendable.length; i += step) {
      if (i > 0 && a.trickleMs) await sleep(a.trickleMs / pieces)
      if (res.destroyed) return
      res.write(sendable.subarray(i, i + step))
    }
    if (a.hangAfter !== undefined) return // never ends; the client must time out
    if (a.cutAfter !== undefined) {
      await sleep(20)
      res.socket?.destroy()
      return
    }
    // Content-Length lies are written raw: end() would refuse a body shorter than announced.
    if (a.contentLength !== undefined && a.contentLength !== body.length) {
      await sleep(20)
      res.socket?.destroy()
      return
    }
    res.end(() => bodyDoneAt.set(target, performance.now()))
  }
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy())
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const close = (): Promise<void> => new Promise((r) => {
    server.closeAllConnections()
    server.close(() => r())
  })
  t.teardown(close)
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    count: (target) => counts.get(target) ?? 0,
    log,
    bodyDoneAt,
    setDown: (d) => { down = d },
    close,
  }
}
