/**
 * Listening and closing for the uWebSockets.js apps streamd runs (origin and
 * shield), in one place so both report a busy port the same way.
 */
import uws from 'uWebSockets.js'

/** A listening app: its bound port and how to stop accepting. */
export interface Listening {
  port: number
  close(): void
}

/** Listen on host:port (0 = any free port); resolves once bound. */
export function listenApp(app: uws.TemplatedApp, host: string, port: number): Promise<Listening> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (token) => {
      if (!token) return reject(new Error(`cannot listen for HTTP on ${host}:${port} (in use or not permitted)`))
      let open = true
      resolve({
        port: uws.us_socket_local_port(token),
        close: () => {
          if (open) uws.us_listen_socket_close(token)
          open = false
        },
      })
    })
  })
}
