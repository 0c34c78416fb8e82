/**
 * FFmpeg resolution, in the order the README promises: config/env, PATH, ffmpeg-static.
 */
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { createRequire } from 'node:module'
import { FfmpegError } from '../errors.js'

/** Where an FFmpeg binary was found, and by which rule. */
export interface FfmpegLocation {
  path: string
  source: 'config' | 'env' | 'path' | 'ffmpeg-static'
}

/** True when `path` is a file this process may execute. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Look `name` up on PATH like a shell would; undefined when absent. */
export function findOnPath(name: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, name)
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}

function fromFfmpegStatic(): string | undefined {
  try {
    // Optional dependency: absent when its binary download was unreachable.
    const req = createRequire(import.meta.url)
    const p = req('ffmpeg-static') as unknown
    return typeof p === 'string' && isExecutable(p) ? p : undefined
  } catch {
    return undefined
  }
}

/** Resolve FFmpeg or throw an FfmpegError that says how to install it. */
export function resolveFfmpeg(configured?: string): FfmpegLocation {
  if (configured) {
    if (!isExecutable(configured)) throw new FfmpegError(`ffmpeg.path ${configured} is not an executable file`)
    return { path: configured, source: 'config' }
  }
  const env = process.env.STREAMD_FFMPEG
  if (env) {
    if (!isExecutable(env)) throw new FfmpegError(`STREAMD_FFMPEG=${env} is not an executable file`)
    return { path: env, source: 'env' }
  }
  const onPath = findOnPath('ffmpeg')
  if (onPath) return { path: onPath, source: 'path' }
  const bundled = fromFfmpegStatic()
  if (bundled) return { path: bundled, source: 'ffmpeg-static' }
  throw new FfmpegError('FFmpeg not found: install it with `apt-get install -y ffmpeg`, or set ffmpeg.path in the config or STREAMD_FFMPEG')
}

/** ffprobe beside the resolved ffmpeg, else on PATH. */
export function resolveFfprobe(ffmpeg: FfmpegLocation): string | undefined {
  const sibling = ffmpeg.path.replace(/ffmpeg([^/]*)$/, 'ffprobe$1')
  if (sibling !== ffmpeg.path && isExecutable(sibling)) return sibling
  return findOnPath('ffprobe')
}
