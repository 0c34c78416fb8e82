/**
 * Child process: the practical ceiling — a bare uWebSockets.js app serving a
 * Buffer from memory, one exact route per object (uWS's native router, no JS
 * routing). Mode `tryend` (default) uses tryEnd + onWritable like streamd's Reply,
 * mode `end` a plain res.end(buf), mode `headers` tryEnd after streamd's status line and
 * four media headers (the floor for any handler that sends them). Prints {port} when listening; exits when stdin closes.
 *
 * usage: node serve-uws-child.mjs ROOT_DIR MODE URL_PATH...
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import uws from 'uWebSockets.js'

const [root, mode = 'tryend', ...paths] = process.argv.slice(2)
const app = uws.App()

function sendTryEnd(res, buf) {
  const total = buf.length
  const start = res.getWriteOffset()
  const [ok, done] = res.tryEnd(buf, total)
  if (done || ok) return
  let aborted = false
  res.onAborted(() => { aborted = true })
  res.onWritable((offset) => {
    if (aborted) return true
    const [ok2] = res.tryEnd(buf.subarray(offset - start), total)
    return ok2
  })
}

// The headers streamd sends with every segment and part, for mode `headers`.
const MEDIA_HEADERS = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Expose-Headers', 'Age, Content-Length, Content-Range, Date, ETag'],
  ['Content-Type', 'video/iso.segment'],
  ['Cache-Control', 'public, max-age=86400, immutable'],
]

for (const p of paths) {
  const buf = readFileSync(join(root, p))
  if (mode === 'end') app.get(p, (res) => { res.end(buf) })
  else if (mode === 'headers') {
    app.get(p, (res) => {
      res.writeStatus('200 OK')
      for (const [k, v] of MEDIA_HEADERS) res.writeHeader(k, v)
      sendTryEnd(res, buf)
    })
  }
  else app.get(p, (res) => sendTryEnd(res, buf))
}
app.any('/*', (res) => { res.writeStatus('404 Not Found').end('not found') })

app.listen('127.0.0.1', 0, (token) => {
  if (!token) {
    process.stderr.write('uws-child: cannot listen\n')
    process.exit(1)
  }
  process.stdout.write(JSON.stringify({ port: uws.us_socket_local_port(token) }) + '\n')
  const stop = () => {
    uws.us_listen_socket_close(token)
    process.exit(0)
  }
  process.stdin.on('end', stop)
  process.stdin.on('error', stop)
  process.stdin.resume()
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
})
