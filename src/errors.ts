/**
 * Error classes with stable `code`s. Callers branch on `code`, never on message
 * text, so messages can be improved without breaking anyone.
 */

/** Base class of every error streamd raises on purpose. */
export class StreamdError extends Error {
  /** Stable machine-readable code, e.g. `ERR_CONFIG`. */
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** A config file or CLI flag holds a value that is not allowed. */
export class ConfigError extends StreamdError {
  constructor(message: string) {
    super('ERR_CONFIG', message)
  }
}

/** FFmpeg could not be found or lacks something streamd needs. */
export class FfmpegError extends StreamdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FFMPEG', message, options)
  }
}

/** A peer sent bytes that break its protocol; the connection is closed. */
export class ProtocolError extends StreamdError {
  constructor(protocol: string, message: string) {
    super('ERR_PROTOCOL', `${protocol}: ${message}`)
  }
}

/** Media that cannot be parsed (bad box, unsupported codec). */
export class MediaFormatError extends StreamdError {
  constructor(message: string) {
    super('ERR_MEDIA_FORMAT', message)
  }
}

/** Short description of any thrown value, for logs. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}

/** The embedded database cannot be opened, migrated or written. */
export class StoreError extends StreamdError {
  constructor(message: string) {
    super('ERR_STORE', message)
  }
}

/** A publish key command was given a bad name or names a key that does not fit. */
export class KeyError extends StreamdError {
  constructor(message: string) {
    super('ERR_KEY', message)
  }
}
