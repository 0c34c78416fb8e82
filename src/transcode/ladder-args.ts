/**
 * FFmpeg commands of a ladder. The source is decoded once: one decoder process
 * scales it for every rung and writes raw frames on one pipe per rung; one
 * encoder process per rung reads its pipe and writes fMP4. Audio and a copied
 * top rung read the normalized input themselves.
 */
import type { VideoRung } from './ladder.js'
import { FMP4_OUTPUT, copyAudioOutput, copyTag, inputArgs, type WorkerInput } from './args.js'

const base = (logLevel = 'warning'): string[] => ['-hide_banner', '-nostdin', '-loglevel', logLevel]

/** Frames per second a rung is encoded at. */
export function rungFps(rung: VideoRung, sourceFps: number): number {
  return Math.min(sourceFps, rung.fpsCap ?? Infinity)
}

/** Bytes of one yuv420p frame of a rung. */
export function frameBytes(rung: VideoRung): number {
  return (rung.width * rung.height * 3) / 2
}

/**
 * The decoder: the worker input (FLV or MPEG-TS) on stdin, one raw yuv420p pipe per rung on fds 3, 4, ...
 * A constant frame rate (fps filter) makes frame index × duration the media
 * time, which is what lets the encoders, fed untimed frames, stay aligned.
 */
export function decoderArgs(rungs: VideoRung[], sourceFps: number, input?: WorkerInput): string[] {
  const labels = rungs.map((_, i) => `s${i}`)
  const chains = rungs.map((r, i) =>
    `[s${i}]scale=${r.width}:${r.height}:flags=bicubic,fps=${rungFps(r, sourceFps)},format=yuv420p[o${i}]`)
  const graph = `[0:v]fps=${sourceFps},split=${rungs.length}${labels.map((l) => `[${l}]`).join('')};${chains.join(';')}`
  const outputs = rungs.flatMap((_, i) => ['-map', `[o${i}]`, '-f', 'rawvideo', `pipe:${3 + i}`])
  return [...base(), ...inputArgs(input), '-an', '-filter_complex', graph, ...outputs]
}

/**
 * Seconds after an encoder's first frame at which it forces its first key frame: the next
 * slot start of the grid (slots begin where media time + `gridOffset` is a multiple of the
 * segment target) after the first frame, less half a frame, the slack the segmenter gives a
 * frame to open a slot. The first frame is a key frame anyway (x264 starts with an IDR).
 */
export function firstForcedKey(startSeconds: number, fps: number, segmentSeconds: number, gridOffset: number): number {
  const half = 0.5 / fps
  const k = Math.ceil((startSeconds + gridOffset + half) / segmentSeconds - 1e-9)
  return Math.max(0, k * segmentSeconds - gridOffset - startSeconds - half)
}

/**
 * One rung's encoder: raw frames on stdin, fMP4 on stdout. Key frames are forced
 * on the segment grid (and nowhere else), so segment N covers the same media
 * time in every rung. `startSeconds` places the first frame on the timeline
 * (`timelineStart` on the segmenters' media time); an epoch-locked grid's phase
 * (`gridOffset`, SegmentGrid.offset) puts the forced key frames where its slots begin.
 */
export function encoderArgs(rung: VideoRung, sourceFps: number, segmentSeconds: number, startSeconds: number, gridOffset?: number, timelineStart = startSeconds): string[] {
  const fps = rungFps(rung, sourceFps)
  const gop = Math.round(fps * segmentSeconds)
  // Without a grid phase the encoder starts on a slot's start (nextGridFrame): its first
  // frame is the first forced one.
  const firstKey = gridOffset === undefined ? segmentSeconds : firstForcedKey(timelineStart, fps, segmentSeconds, gridOffset)
  return [
    ...base(),
    '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${rung.width}x${rung.height}`, '-r', String(fps), '-i', 'pipe:0',
    '-c:v', 'libx264', '-preset', rung.preset, '-tune', 'zerolatency', '-profile:v', rung.profile,
    ...(rung.level ? ['-level:v', rung.level] : []),
    '-b:v', `${rung.bitrate}k`, '-maxrate', `${rung.maxrate}k`, '-bufsize', `${rung.bufsize}k`,
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
    '-force_key_frames', firstKey >= segmentSeconds - 1 / fps ? `expr:gte(t,n_forced*${segmentSeconds})` : `expr:gte(t,${firstKey.toFixed(6)}+n_forced*${segmentSeconds})`,
    '-output_ts_offset', startSeconds.toFixed(6),
    ...FMP4_OUTPUT,
  ]
}

/** An audio rendition: one audio track of the input, copied when it is AAC, else encoded. */
export function audioArgs(opts: { copy: boolean; bitrateKbps: number; track?: number; input?: WorkerInput }): string[] {
  const codec = opts.copy ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', `${opts.bitrateKbps}k`, '-ar', '48000']
  const out = opts.copy ? copyAudioOutput(opts.input) : FMP4_OUTPUT
  return [...base(), ...inputArgs(opts.input), '-vn', '-map', `0:a:${opts.track ?? 0}`, ...codec, ...out]
}

/** The copied top rung: the source's video as is. */
export function copyVideoArgs(input?: WorkerInput): string[] {
  return [...base(), ...inputArgs(input), '-an', '-map', '0:v:0', '-c:v', 'copy', ...copyTag(input), ...FMP4_OUTPUT]
}
