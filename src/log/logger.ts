/**
 * The pino root logger: JSON lines for machines, pretty text on a terminal.
 */
import pino, { type Logger } from 'pino'
import pretty from 'pino-pretty'

/** pino's logger type, re-exported so callers need not import pino. */
export type { Logger }

/** Create the root logger; `pretty` defaults to whether stdout is a TTY. */
export function createLogger(level: string, opts: { pretty?: boolean; name?: string } = {}): Logger {
  const usePretty = opts.pretty ?? process.stdout.isTTY === true
  const base = { level, name: opts.name ?? 'streamd' }
  if (!usePretty) return pino(base)
  // A synchronous pretty stream: no worker thread to outlive the process.
  return pino(base, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name', sync: true }))
}

/** A logger that discards everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
