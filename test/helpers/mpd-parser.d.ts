// mpd-parser ships no types; tests use parse() and read its output loosely.
declare module 'mpd-parser' {
  export function parse(manifest: string, options?: { manifestUri?: string; NOW?: number; clientOffset?: number; eventHandler?: (e: { type: string; message: string }) => void }): any
}
