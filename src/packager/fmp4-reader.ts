/**
 * Reads a worker's fMP4 byte stream incrementally: ftyp+moov become the init
 * segment, every moof+mdat becomes samples. Anything else is skipped.
 */
import { createHash } from 'node:crypto'
import { BoxSplitter } from '../formats/mp4/box-splitter.js'
import { parseInit, type InitInfo } from '../formats/mp4/init.js'
import { parseFragment } from '../formats/mp4/fragment.js'
import type { Sample } from '../media/types.js'
import { MediaFormatError } from '../errors.js'
import type { InitRecord } from './types.js'

/** Callbacks of an Fmp4Reader. */
export interface Fmp4Handlers {
  onInit(init: InitRecord, info: InitInfo): void
  onSamples(samples: Sample[]): void
}

/** Content hash naming an init segment in URLs. */
export function initHash(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 12)
}

/** Incremental reader of one worker process's stdout. */
export class Fmp4Reader {
  private readonly splitter = new BoxSplitter()
  private readonly handlers: Fmp4Handlers
  private ftyp: Buffer | undefined
  private info: InitInfo | undefined
  private moof: Buffer | undefined

  constructor(handlers: Fmp4Handlers) {
    this.handlers = handlers
  }

  /** Feed bytes as they arrive; throws MediaFormatError on a broken stream. */
  push(chunk: Buffer): void {
    for (const box of this.splitter.push(chunk)) {
      switch (box.type) {
        case 'ftyp':
          this.ftyp = box.data
          break
        case 'moov': {
          if (!this.ftyp) throw new MediaFormatError('moov before ftyp')
          const data = Buffer.concat([this.ftyp, box.data])
          this.info = parseInit(data)
          this.handlers.onInit({ data, hash: initHash(data), tracks: this.info.tracks }, this.info)
          break
        }
        case 'moof':
          this.moof = box.data
          break
        case 'mdat': {
          if (!this.moof || !this.info) throw new MediaFormatError('mdat without a preceding moof and moov')
          const samples = parseFragment(this.moof, box.data, this.info)
          this.moof = undefined
          if (samples.length > 0) this.handlers.onSamples(samples)
          break
        }
        default:
          break // styp, sidx, free, prft: nothing the packager needs
      }
    }
  }
}
