/**
 * The config shape and its defaults. Defaults must work out of the box on one
 * machine: every port free on a fresh box. Publishing is closed by default: a
 * server reachable from the internet must not transcode whatever anyone sends it.
 */

import { PATHWAY_ID } from '../formats/steering/manifest.js'
import { PRESETS, rungsProblem, streamLaddersProblem, type RungSpec, type StreamLadders } from './rungs.js'

/** Fully resolved streamd configuration. */
export interface Config {
  http: {
    host: string
    port: number
    /** Answer HTTP/1.0 (e.g. nginx's default proxy_pass) through a front in Node; uWS alone does not. */
    http10: boolean
  }
  rtmp: {
    enabled: boolean
    host: string
    port: number
    /** A connection that sends no complete message for this long is closed. */
    idleTimeoutMs: number
    /** Largest message accepted before a publish is accepted (connect, publish... are ~100 bytes). */
    maxCommandBytes: number
    /** Largest message accepted from a publisher (a key frame). */
    maxMessageBytes: number
    /** A connection that has not sent its publish command this long after it opened is closed. */
    publishTimeoutMs: number
    /** Connections not yet publishing, in total; more are refused as they open. */
    maxPendingConnections: number
    /** Connections not yet publishing from one IPv4 address or IPv6 /64; more are refused as they open. */
    maxPendingPerAddress: number
  }
  srt: {
    enabled: boolean
    host: string
    /** UDP port of the SRT listener. */
    port: number
    /** Receiver latency (TSBPD delay), ms; the larger of this and the caller's (capped) applies. */
    latencyMs: number
    /** Most latency a caller may ask for, ms; a larger request is lowered to it (srt.latencyMs still applies). */
    maxLatencyMs: number
    /** Most payload bytes one connection holds while waiting for lost packets; also caps the flow window. */
    maxBufferBytes: number
    /** Passphrase callers must encrypt with (AES), or null for unencrypted callers only. */
    passphrase: string | null
    /** Smallest AES key length in bytes (16, 24, 32) accepted from an encrypting caller (the caller picks its own). */
    pbkeylen: number
    /** ISO 639-2 code of the audio track kept when a program has several; null: the first. */
    audioLanguage: string | null
  }
  publish: {
    /** false: every publish needs a key; true: anyone may publish; 'loopback': 127.0.0.0/8 and ::1 publish without a key. */
    open: boolean | 'loopback'
  }
  /** A stream's two inputs (primary and backup): which one is on air. */
  redundancy: {
    /** An input that sends no media this long, ms, is lost: the other input (or the slate) goes on air at once. */
    lossMs: number
    /** 'primary': the primary goes back on air once healthy for returnAfterMs; 'sticky': the input on air stays. */
    return: 'primary' | 'sticky'
    /** Media without a loss, ms, before the primary returns (or a flapping input goes on air again). */
    returnAfterMs: number
    /**
     * A ladder's segment boundaries fall where media dates cross multiples of the segment
     * target from the numbering epoch (not relative to the session's first key frame), so
     * origins fed the same feed on synchronised clocks cut and number it alike.
     */
    epochLock: boolean
  }
  /** Webhooks (nginx-rtmp / SRS style); null URLs are off. */
  hooks: {
    /** POSTed before a publish is accepted; a non-2xx answer, a timeout or a refusing body refuses it. */
    onPublish: string | null
    /** POSTed (fire-and-forget) when a publish ends. */
    onPublishDone: string | null
    timeoutMs: number
    /** HMAC-SHA256 key of the X-Streamd-Signature header; null sends no signature. */
    secret: string | null
  }
  api: {
    /** Bearer token the API requires (env STREAMD_API_TOKEN also works); null: loopback clients only. */
    token: string | null
    /** Web origins (`https://admin.example`) allowed to call the API cross-origin; only with a token. */
    corsOrigins: string[]
  }
  ffmpeg: { path: string | null }
  hls: {
    /** Target duration of an LL-HLS part, seconds. */
    partTarget: number
    /** Target duration of a segment, seconds; TARGETDURATION is its ceiling. */
    segmentTarget: number
    /** Seconds of media listed in a media playlist. */
    windowSeconds: number
    /** Seconds a stream that ended stays servable (ENDLIST playlist) before it is dropped. */
    endedRetentionSeconds: number
    /**
     * Renditions are published together, within one part of each other; one more than this
     * many seconds of media behind the rest is no longer waited for. 0: each on its own.
     */
    renditionMaxLagSeconds: number
  }
  ladder: {
    /** Transcode an ABR ladder; off: the source passes through as one muxed rendition. */
    enabled: boolean
    /** The source itself is the top rung (named `source`), not re-encoded. */
    copyTop: boolean
    /** x264 preset of every encoded rung. */
    preset: string
    /** Most video renditions, the copied top included. */
    maxRungs: number
    /** Encoded pixels per second the machine can afford; 0: 40 million per CPU core. */
    pixelBudget: number
    /** kbit/s of audio renditions when the source's audio is not AAC. */
    audioBitrate: number
    /** The rungs of every stream's ladder; null: derived from each source (the seeds). */
    rungs: RungSpec[] | null
    /** Rungs for named streams, over `rungs`. */
    streams: StreamLadders
  }
  worker: {
    /** First restart delay after an FFmpeg worker dies, ms; doubles up to maxBackoffMs. */
    minBackoffMs: number
    maxBackoffMs: number
    /** Bytes of FLV queued in Node for one worker before its video drops to the next key frame. */
    inputQueueBytes: number
    /** Encoded rungs slower than this (× real time) for 4 s: the machine cannot keep up, a rung is shed. */
    shedBelowSpeed: number
  }
  /** What a stream shows while no input is on air. */
  slate: {
    /** Seconds a stream stays live on the slate after its input is lost; 0: no slate, the stream ends. */
    maxSeconds: number
    /** Picture file (PNG, JPEG...) fitted to the stream's size; null: a dark card with the stream name and "back shortly". */
    image: string | null
  }
  shield: {
    /** Upstream origins (http://host:port), in order of preference. */
    upstreams: string[]
    /** Bytes of responses kept in memory. */
    memoryBytes: number
    /**
     * Bytes all upstream fills in flight may hold together; a fill that does not fit is
     * refused with 503 + Retry-After before its head. null: half of memoryBytes.
     */
    inflightBytes: number | null
    /** Bytes the disk tier may hold. */
    diskBytes: number
    /** Disk tier directory; null: no disk tier. */
    cacheDir: string | null
    /** Requests that may wait for one object's response head; more get 503 + Retry-After. */
    maxWaiters: number
    /** First-byte timeout for an object the origin has, ms: silence past it is a stall (held LL-HLS requests wait 3 TD + 1 s). */
    waitTimeoutMs: number
    /** Longest silence mid-body, ms (a segment still being produced: at least one part duration + 1 s). */
    idleTimeoutMs: number
    /** Fetch the part a playlist's EXT-X-PRELOAD-HINT names before any client asks. */
    prefetchHints: boolean
    /** Query parameters kept in cache keys besides `_HLS_*`. */
    keepQuery: string[]
  }
  /** HLS content steering (and DASH's ContentSteering) over redundant delivery pathways. */
  steering: {
    /** Pathways in order of preference, each a base URL under which `live/{stream}/...` is served; []: off. */
    pathways: SteeringPathway[]
    /** TTL of the steering manifest, seconds: how long a player keeps its pathway order. */
    ttlSeconds: number
    /** How often each pathway's copy of a live stream's media playlist is probed, ms. */
    probeIntervalMs: number
    /** A probe not answered within this many ms counts as a failure. */
    probeTimeoutMs: number
    /** A failed pathway must probe healthy this long, ms, before it is preferred again. */
    recoverMs: number
  }
  dataDir: string
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' }
}

/** One delivery pathway of content steering: an id players see and the base URL of its copy of `/live/`. */
export interface SteeringPathway {
  id: string
  url: string
}

/** Defaults used for every key the config file leaves out. */
export const DEFAULTS: Config = {
  http: { host: '0.0.0.0', port: 8080, http10: false },
  rtmp: {
    enabled: true, host: '0.0.0.0', port: 1935, idleTimeoutMs: 30_000,
    maxCommandBytes: 64 * 1024, maxMessageBytes: 8 * 1024 * 1024, publishTimeoutMs: 10_000, maxPendingConnections: 128, maxPendingPerAddress: 16,
  },
  srt: { enabled: true, host: '0.0.0.0', port: 8890, latencyMs: 120, maxLatencyMs: 2000, maxBufferBytes: 8 * 1024 * 1024, passphrase: null, pbkeylen: 16, audioLanguage: null },
  publish: { open: false },
  redundancy: { lossMs: 500, return: 'primary', returnAfterMs: 10_000, epochLock: false },
  hooks: { onPublish: null, onPublishDone: null, timeoutMs: 3000, secret: null },
  api: { token: null, corsOrigins: [] },
  ffmpeg: { path: null },
  hls: { partTarget: 0.5, segmentTarget: 2, windowSeconds: 30, endedRetentionSeconds: 120, renditionMaxLagSeconds: 1 },
  ladder: { enabled: true, copyTop: true, preset: 'veryfast', maxRungs: 4, pixelBudget: 0, audioBitrate: 128, rungs: null, streams: {} },
  worker: { minBackoffMs: 250, maxBackoffMs: 8000, inputQueueBytes: 16 * 1024 * 1024, shedBelowSpeed: 0.85 },
  slate: { maxSeconds: 60, image: null },
  shield: {
    upstreams: [], memoryBytes: 256 * 1024 * 1024, inflightBytes: null, diskBytes: 1024 ** 3, cacheDir: null,
    maxWaiters: 10_000, waitTimeoutMs: 2000, idleTimeoutMs: 2000, prefetchHints: true, keepQuery: ['v'],
  },
  steering: { pathways: [], ttlSeconds: 10, probeIntervalMs: 1000, probeTimeoutMs: 2000, recoverMs: 10_000 },
  dataDir: './data',
  log: { level: 'info' },
}

type Check = (value: unknown) => string | undefined

const int = (min: number, max: number): Check => (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? undefined : `an integer from ${min} to ${max}`
const num = (min: number, max: number): Check => (v) =>
  typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? undefined : `a number from ${min} to ${max}`
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'true or false')
const str: Check = (v) => (typeof v === 'string' && v.length > 0 && v.length < 4096 ? undefined : 'a non-empty string')
const strOrNull: Check = (v) => (v === null ? undefined : str(v) && 'a non-empty string or null')
const openness: Check = (v) => (v === true || v === false || v === 'loopback' ? undefined : 'true, false or "loopback"')
const urlOrNull: Check = (v) => (v === null || (typeof v === 'string' && v.length < 2048 && /^https?:\/\/[^\s]+$/.test(v)) ? undefined : 'an http:// or https:// URL, or null')
const oneOf = (...allowed: string[]): Check => (v) =>
  typeof v === 'string' && allowed.includes(v) ? undefined : `one of ${allowed.join(', ')}`

const list = (item: Check, max: number): Check => (v) => {
  if (!Array.isArray(v) || v.length > max) return `a list of at most ${max} items`
  for (const x of v) {
    const bad = item(x)
    if (bad) return `a list whose items are each ${bad}`
  }
  return undefined
}
const httpUrl: Check = (v) => {
  if (typeof v !== 'string') return 'an http:// URL'
  try {
    const u = new URL(v)
    return u.protocol === 'http:' && u.search === '' && u.hash === '' ? undefined : 'an http:// URL without query'
  } catch {
    return 'an http:// URL'
  }
}
/** A web origin as browsers serialise it in the Origin header: scheme, host, port if not the default; no path. */
const webOrigin: Check = (v) => {
  const want = 'an origin like "https://admin.example" or "http://localhost:3000" (scheme, host, port; no path or trailing slash)'
  if (typeof v !== 'string' || v.length > 512) return want
  try {
    const u = new URL(v)
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === v ? undefined : want
  } catch {
    return want
  }
}
// `steering.pathways`: at most 8 `{ id, url }`, ids unique and legal Pathway IDs, urls absolute http(s) without query.
const pathwaysProblem: Check = (v) => {
  const want = 'a list of at most 8 { "id", "url" } objects'
  if (!Array.isArray(v) || v.length > 8) return want
  const seen = new Set<string>()
  for (const [i, p] of v.entries()) {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) return `${want}; item ${i} is not an object`
    const extra = Object.keys(p).filter((k) => k !== 'id' && k !== 'url')
    if (extra.length > 0) return `${want}; item ${i} has unknown key ${extra[0]}`
    const { id, url } = p as { id?: unknown; url?: unknown }
    if (typeof id !== 'string' || !PATHWAY_ID.test(id)) return `${want}; item ${i}: id must be 1-64 characters of A-Z a-z 0-9 . - _`
    if (seen.has(id)) return `${want}; item ${i}: id "${id}" is used twice`
    seen.add(id)
    let u: URL
    try {
      u = new URL(String(url))
    } catch {
      return `${want}; item ${i}: url must be an absolute http:// or https:// URL`
    }
    if (typeof url !== 'string' || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.search !== '' || u.hash !== '' || url.length > 1024) {
      return `${want}; item ${i}: url must be an absolute http:// or https:// URL without query or fragment`
    }
  }
  return undefined
}

const param: Check = (v) => (typeof v === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(v) ? undefined : 'a query parameter name')

/** Validator per leaf key, mirroring Config; a key absent here is unknown. */
export const CHECKS = {
  http: { host: str, port: int(0, 65535), http10: bool },
  rtmp: {
    enabled: bool, host: str, port: int(0, 65535), idleTimeoutMs: int(1000, 3_600_000),
    // RTMP message lengths are 24-bit: 16 MiB - 1 is the largest there is.
    maxCommandBytes: int(4096, 0xffffff), maxMessageBytes: int(64 * 1024, 0xffffff),
    publishTimeoutMs: int(1000, 600_000), maxPendingConnections: int(1, 1_000_000), maxPendingPerAddress: int(1, 1_000_000),
  },
  srt: {
    enabled: bool, host: str, port: int(0, 65535), latencyMs: int(20, 8000),
    // HSREQ carries latency in 16 bits of milliseconds.
    maxLatencyMs: int(20, 65535),
    // At least 180 full-MTU packets; at most 1 GiB.
    maxBufferBytes: int(262_144, 1_073_741_824),
    // libsrt accepts passphrases of 10 to 79 characters.
    passphrase: (v: unknown) => (v === null || (typeof v === 'string' && v.length >= 10 && v.length <= 79) ? undefined : 'null or a string of 10 to 79 characters'),
    pbkeylen: (v: unknown) => ([16, 24, 32].includes(v as number) ? undefined : 'one of 16, 24, 32'),
    audioLanguage: (v: unknown) => (v === null || (typeof v === 'string' && /^[a-z]{3}$/.test(v)) ? undefined : 'null or a 3-letter ISO 639-2 code'),
  },
  publish: { open: openness },
  // Under 100 ms, the gaps of a healthy RTMP feed (TCP bursts, 10 fps video) would read as losses.
  redundancy: { lossMs: int(100, 30_000), return: oneOf('primary', 'sticky'), returnAfterMs: int(1000, 3_600_000), epochLock: bool },
  hooks: { onPublish: urlOrNull, onPublishDone: urlOrNull, timeoutMs: int(100, 60_000), secret: strOrNull },
  api: { token: strOrNull, corsOrigins: list(webOrigin, 64) },
  ffmpeg: { path: strOrNull },
  hls: {
    partTarget: num(0.1, 2),
    segmentTarget: num(1, 10),
    windowSeconds: num(6, 3600),
    endedRetentionSeconds: num(6, 86400),
    renditionMaxLagSeconds: num(0, 10),
  },
  ladder: {
    enabled: bool,
    copyTop: bool,
    preset: oneOf(...PRESETS),
    maxRungs: int(1, 8),
    pixelBudget: int(0, 10_000_000_000),
    audioBitrate: int(32, 512),
    rungs: (v: unknown) => (v === null ? undefined : rungsProblem(v)),
    streams: streamLaddersProblem,
  },
  worker: { minBackoffMs: int(10, 60000), maxBackoffMs: int(10, 600000), inputQueueBytes: int(1024 * 1024, 1024 ** 3), shedBelowSpeed: num(0.1, 1000) },
  // The image is read when a slate is first needed, not here: `streamd keys` loads this
  // config too and must not fail on a picture it never shows.
  slate: { maxSeconds: int(0, 86_400), image: strOrNull },
  shield: {
    upstreams: list(httpUrl, 16),
    memoryBytes: int(1024 * 1024, 64 * 1024 ** 3),
    inflightBytes: (v: unknown) => (v === null ? undefined : int(1024 * 1024, 64 * 1024 ** 3)(v) && 'null (half of shield.memoryBytes) or an integer from 1048576 to 68719476736'),
    diskBytes: int(0, 16 * 1024 ** 4),
    cacheDir: strOrNull,
    maxWaiters: int(1, 1_000_000),
    waitTimeoutMs: int(100, 120_000),
    idleTimeoutMs: int(100, 120_000),
    prefetchHints: bool,
    keepQuery: list(param, 32),
  },
  steering: {
    pathways: pathwaysProblem,
    // Below a second players would reload the manifest as often as a playlist.
    ttlSeconds: int(1, 3600),
    probeIntervalMs: int(100, 60_000),
    probeTimeoutMs: int(100, 60_000),
    recoverMs: int(0, 3_600_000),
  },
  dataDir: str,
  log: { level: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent') },
} as const
