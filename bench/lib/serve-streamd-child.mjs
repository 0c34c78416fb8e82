/**
 * Child process: streamd's real HttpServer over a StreamDirectory holding one
 * LiveStream `bench` with a RenditionStore `source` filled from the manifest
 * written by objects.mjs. Requests go through the real route → store lookup →
 * Reply path. Prints one JSON line {port} when listening; exits when stdin closes.
 *
 * usage: [BENCH_STREAMD_DIST=/path/to/dist] [BENCH_STREAMD_HTTP10=1] node serve-streamd-child.mjs MANIFEST_JSON
 */
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

// BENCH_STREAMD_DIST points at another compiled tree (e.g. a patched copy) to compare changes.
const dist = process.env.BENCH_STREAMD_DIST ? pathToFileURL(process.env.BENCH_STREAMD_DIST + '/').href : new URL('../../dist/', import.meta.url).href
/** @type {typeof import('../../src/http/server.js')} */
const { HttpServer } = await import(new URL('http/server.js', dist).href)
/** @type {typeof import('../../src/log/metrics.js')} */
const { Metrics } = await import(new URL('log/metrics.js', dist).href)
/** @type {typeof import('../../src/log/logger.js')} */
const { silentLogger } = await import(new URL('log/logger.js', dist).href)
/** @type {typeof import('../../src/packager/live-stream.js')} */
const { LiveStream, StreamDirectory } = await import(new URL('packager/live-stream.js', dist).href)
/** @type {typeof import('../../src/packager/rendition-store.js')} */
const { RenditionStore } = await import(new URL('packager/rendition-store.js', dist).href)

const manifest = JSON.parse(readFileSync(process.argv[2], 'utf8'))

// A window far longer than the content so nothing is ever evicted.
const timing = { targetDuration: 4, partTarget: 1, windowSeconds: 86_400 }
const store = new RenditionStore(manifest.rendition, timing, manifest.firstMsn)
store.beginEpoch({ data: Buffer.from('bench-init-segment'), hash: 'benchinit', tracks: [] })
let t = 0
for (const seg of manifest.segments) {
  const opened = store.startSegment(t, Date.now(), true)
  if (opened.msn !== seg.msn) throw new Error(`msn mismatch: store ${opened.msn}, manifest ${seg.msn}`)
  for (const file of seg.parts) {
    store.addPart(1, true, readFileSync(file))
    t += 1
  }
  store.completeSegment()
}

const stream = new LiveStream(manifest.stream)
stream.addRendition(store)
stream.state = 'live'
const directory = new StreamDirectory()
directory.add(stream)

// The same Metrics as production (default process metrics on), a silent logger.
// BENCH_STREAMD_HTTP10=1: listen behind the HTTP/1.0 front (http.http10), to measure its cost.
const http10 = process.env.BENCH_STREAMD_HTTP10 === '1'
const server = new HttpServer({ directory, metrics: new Metrics(), logger: silentLogger(), targetDuration: timing.targetDuration, http10 })
const port = await server.listen('127.0.0.1', 0)
process.stdout.write(JSON.stringify({ port }) + '\n')

const stop = () => {
  server.close()
  process.exit(0)
}
process.stdin.on('end', stop)
process.stdin.on('error', stop)
process.stdin.resume()
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
