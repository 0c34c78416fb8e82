/**
 * The frequency of a decoded test tone: zero crossings per second of one audio
 * stream, decoded by FFmpeg to mono PCM. Tells `sine=frequency=N` sources apart.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { FFMPEG } from './ffmpeg.js'

const run = promisify(execFile)

/** Dominant frequency (Hz) of audio stream `index` of `file`. */
export async function toneHz(file: string, index = 0): Promise<number> {
  const { stdout } = await run(FFMPEG, ['-v', 'error', '-i', file, '-map', `0:a:${index}`, '-ac', '1', '-ar', '48000', '-f', 's16le', '-'], { encoding: 'buffer', maxBuffer: 64 << 20 })
  const n = stdout.length / 2
  let crossings = 0
  for (let i = 1; i < n; i++) if ((stdout.readInt16LE(i * 2 - 2) < 0) !== (stdout.readInt16LE(i * 2) < 0)) crossings++
  return crossings / 2 / (n / 48000)
}
