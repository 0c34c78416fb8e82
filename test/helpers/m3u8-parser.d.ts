// m3u8-parser ships no types; tests use only the Parser class.
declare module 'm3u8-parser' {
  export class Parser {
    manifest: any
    on(event: 'warn' | 'info', fn: (e: { message: string }) => void): void
    push(chunk: string): void
    end(): void
  }
}
