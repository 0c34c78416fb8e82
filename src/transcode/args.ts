/**
 * FFmpeg argument building. Pure: options in, argv out, so every command streamd
 * runs can be read and tested without starting a process.
 */

/** Output flags shared by every worker: one fMP4 fragment per frame on stdout. */
export const FMP4_OUTPUT = [
  '-f', 'mp4',
  // A fragment per packet (at most one sample per track): the packager decides part and
  // segment boundaries. (frag_every_frame mis-times interleaved audio in FFmpeg 5.1.)
  '-movflags', '+empty_moov+default_base_moof', '-frag_duration', '1',
  // Write each fragment as soon as it exists; the pipe is the latency path.
  '-flush_packets', '1',
  'pipe:1',
]

/** What a worker reads on stdin: FLV (H.264 + one AAC track) or MPEG-TS (also HEVC, several audio tracks). */
export interface WorkerInput {
  format?: 'flv' | 'mpegts'
  /** The video is HEVC: a copy is tagged `hvc1` (parameter sets in the sample entry, as Apple players need). */
  hevc?: boolean
}

/** The stdin input arguments of a worker. */
export function inputArgs(input: WorkerInput = {}): string[] {
  return [
    // Small probe: the feeder sends the sequence headers (or PAT/PMT and parameter sets) first.
    '-probesize', '65536', '-analyzeduration', '500000',
    // Keep the input timestamps: a restarted worker continues the stream's timeline.
    '-copyts',
    '-f', input.format ?? 'flv', '-i', 'pipe:0',
  ]
}

/** Output tag of copied video: `hvc1` for HEVC (RFC 8216bis and CMAF want parameter sets out of band). */
export function copyTag(input: WorkerInput = {}): string[] {
  return input.hevc ? ['-tag:v', 'hvc1'] : []
}

/**
 * Copied AAC from MPEG-TS is ADTS-framed; MP4 stores raw frames (FFmpeg 5.1's mp4 muxer refuses
 * ADTS). The filter learns the AudioSpecificConfig from the first frame only, so the moov waits
 * for it (delay_moov: written with the first fragment) or its esds would lack the config.
 */
export function copyAudioOutput(input: WorkerInput = {}): string[] {
  if (input.format !== 'mpegts') return FMP4_OUTPUT
  const out = [...FMP4_OUTPUT]
  out[out.indexOf('-movflags') + 1] += '+delay_moov'
  return ['-bsf:a', 'aac_adtstoasc', ...out]
}

/** Remux the worker input on stdin to fragmented MP4 on stdout without re-encoding. */
export function passthroughArgs(opts: { logLevel?: string; input?: WorkerInput } = {}): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', opts.logLevel ?? 'warning',
    ...inputArgs(opts.input),
    '-map', '0:v?', '-map', '0:a?',
    '-c', 'copy', ...copyTag(opts.input),
    ...copyAudioOutput(opts.input),
  ]
}

/** Options of the built-in demo source. */
export interface DemoSourceOptions {
  width: number
  height: number
  fps: number
  /** Where to publish, e.g. rtmp://127.0.0.1:1935/live/demo. */
  url: string
}

/**
 * The demo publisher: test pattern with the UTC wall clock and a frame counter
 * burnt in, and a tone, encoded for low latency.
 */
export function demoSourceArgs(o: DemoSourceOptions): string[] {
  const box = 'fontcolor=white:box=1:boxcolor=black@0.6'
  const clock = `drawtext=text='%{gmtime} UTC':x=(w-tw)/2:y=h-th-40:fontsize=h/12:${box}:boxborderw=12`
  const frame = `drawtext=text='frame %{frame_num}':x=w-tw-24:y=24:fontsize=h/24:${box}:boxborderw=6`
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', `testsrc2=size=${o.width}x${o.height}:rate=${o.fps}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:beep_factor=4:sample_rate=48000',
    '-vf', `${clock},${frame}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    '-profile:v', 'high', '-b:v', '2000k', '-maxrate', '2500k', '-bufsize', '2000k',
    '-g', String(o.fps * 2), '-keyint_min', String(o.fps * 2), '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '128k', '-ar', '48000', '-ac', '2',
    '-f', 'flv', o.url,
  ]
}
