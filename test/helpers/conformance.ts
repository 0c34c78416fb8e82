/**
 * Shared pieces of the LL-HLS conformance suite (test/conformance/): one origin
 * with one live publisher per file, a line-level model of a media playlist (so
 * rules are checked on the exact text the server sent), raw HTTP with byte
 * timing, and Prometheus text parsing.
 */
import type { Test } from 'tap'
import type { RenditionStore } from '../../src/packager/rendition-store.js'
import { startOrigin, get, waitFor, waitForSegments, type TestOrigin } from './origin.js'
import { startPublisher } from './ffmpeg.js'
import { parseStrict, parseM3u8 } from './playlists.js'

/** Part and segment targets every conformance file configures (seconds). */
export const PART_TARGET = 0.5
export const SEGMENT_TARGET = 2
/** EXT-X-TARGETDURATION that follows from SEGMENT_TARGET. */
export const TD = 2

/** One origin and one live publisher; everything a conformance file needs. */
export interface LiveFixture {
  o: TestOrigin
  name: string
  /** `http://host:port/live/{name}` */
  base: string
  /** Media playlist URL of the source rendition. */
  url: string
  /** Path (no host) of the media playlist, for raw requests. */
  path: string
  pub: ReturnType<typeof startPublisher>
  /** The source rendition's store (same process). */
  store: () => RenditionStore
  /** Start another publisher under the same name (after the first stopped). */
  republish: () => ReturnType<typeof startPublisher>
}

/** Start an origin (partTarget 0.5, segmentTarget 2 unless overridden) and publish a 320x180 30 fps, 2 s GOP source. */
export async function startLive(t: Test, name: string, hls: Record<string, unknown> = {}, segments = 2): Promise<LiveFixture> {
  const o = await startOrigin(t, { hls: { partTarget: PART_TARGET, segmentTarget: SEGMENT_TARGET, ...hls } })
  const opts = { width: 320, height: 180, fps: 30, gop: 60 }
  const pubs: Array<ReturnType<typeof startPublisher>> = []
  const publish = (): ReturnType<typeof startPublisher> => {
    const p = startPublisher(`${o.rtmp}/${name}`, opts)
    pubs.push(p)
    return p
  }
  t.teardown(async () => { for (const p of pubs) await p.stop() })
  const pub = publish()
  const base = `${o.http}/live/${name}`
  const url = `${base}/source/index.m3u8`
  await waitForSegments(url, segments, 40_000)
  return {
    o, name, base, url, pub,
    path: `/live/${name}/source/index.m3u8`,
    store: () => {
      const s = o.origin.directory.get(name)?.renditions.get('source')
      if (!s) throw new Error(`no store for ${name}`)
      return s
    },
    republish: publish,
  }
}

/** A part line of a media playlist. */
export interface PlPart {
  duration: number
  uri: string
  msn: number
  index: number
  independent: boolean
  line: string
}

/** One Media Segment of a playlist, as the lines the server wrote for it. */
export interface PlSegment {
  /** Every line that belongs to the segment, in order (tags, parts, EXTINF, URI). */
  lines: string[]
  msn: number
  /** EXTINF duration; undefined for the trailing parts-only segment. */
  duration?: number
  uri?: string
  pdt?: string
  discontinuity: boolean
  map?: string
  /** The EXT-X-MAP in force for this segment (its own or inherited). */
  effectiveMap?: string
  parts: PlPart[]
}

/** A media playlist split into header tags, segments and trailing tags. */
export interface Playlist {
  text: string
  lines: string[]
  /** Tag name -> raw value for tags before the first segment (EXT-X-VERSION, ...). */
  header: Map<string, string>
  headerLines: string[]
  version: number
  targetDuration: number
  mediaSequence: number
  discontinuitySequence: number
  serverControl: Record<string, string>
  partTarget?: number
  skipped: number
  skipAttrs?: Record<string, string>
  segments: PlSegment[]
  hints: Array<Record<string, string>>
  reports: Array<Record<string, string>>
  endlist: boolean
  /** Sum of EXTINF durations plus the parts of the trailing parts-only segment. */
  totalDuration: number
}

const SEGMENT_TAGS = /^#(EXTINF|EXT-X-PART:|EXT-X-PROGRAM-DATE-TIME|EXT-X-DISCONTINUITY$|EXT-X-MAP|EXT-X-GAP|EXT-X-BITRATE|EXT-X-KEY|EXT-X-BYTERANGE|EXT-X-DATERANGE)/

/** Parse an attribute list into raw strings (quotes removed). */
export function attrs(list: string): Record<string, string> {
  const out: Record<string, string> = {}
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g
  let m: RegExpExecArray | null
  while ((m = re.exec(list))) out[m[1]!] = m[2]!.startsWith('"') ? m[2]!.slice(1, -1) : m[2]!
  return out
}

const PART_URI = /^(\d+)\.(\d+)\.m4s$/

/** Split a media playlist's text into the model above; throws on lines it cannot place. */
export function model(text: string): Playlist {
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  const header = new Map<string, string>()
  const headerLines: string[] = []
  const segments: PlSegment[] = []
  const hints: Array<Record<string, string>> = []
  const reports: Array<Record<string, string>> = []
  let endlist = false
  let cur: PlSegment | undefined
  let inSegments = false
  let skipped = 0
  let skipAttrs: Record<string, string> | undefined
  let msn = 0
  const fresh = (): PlSegment => ({ lines: [], msn, discontinuity: false, parts: [] })
  for (const line of lines) {
    if (line === '#EXTM3U') continue
    const colon = line.indexOf(':')
    const name = line.startsWith('#') ? line.slice(1, colon < 0 ? undefined : colon) : ''
    const value = colon < 0 ? '' : line.slice(colon + 1)
    if (name === 'EXT-X-PRELOAD-HINT') { hints.push(attrs(value)); continue }
    if (name === 'EXT-X-RENDITION-REPORT') { reports.push(attrs(value)); continue }
    if (name === 'EXT-X-ENDLIST') { endlist = true; continue }
    if (name === 'EXT-X-SKIP') {
      skipAttrs = attrs(value)
      skipped = Number(skipAttrs['SKIPPED-SEGMENTS'])
      msn = Number(header.get('EXT-X-MEDIA-SEQUENCE') ?? 0) + skipped
      headerLines.push(line)
      continue
    }
    if (!inSegments && !SEGMENT_TAGS.test(line) && line.startsWith('#')) {
      header.set(name, value)
      headerLines.push(line)
      if (name === 'EXT-X-MEDIA-SEQUENCE') msn = Number(value) + skipped
      continue
    }
    inSegments = true
    cur ??= fresh()
    cur.lines.push(line)
    if (name === 'EXT-X-PROGRAM-DATE-TIME') cur.pdt = value
    else if (name === 'EXT-X-DISCONTINUITY') cur.discontinuity = true
    else if (name === 'EXT-X-MAP') cur.map = attrs(value).URI
    else if (name === 'EXT-X-PART') {
      const a = attrs(value)
      const m = PART_URI.exec(a.URI ?? '')
      cur.parts.push({
        duration: Number(a.DURATION), uri: a.URI ?? '', msn: m ? Number(m[1]) : NaN, index: m ? Number(m[2]) : NaN,
        independent: a.INDEPENDENT === 'YES', line,
      })
    } else if (name === 'EXTINF') cur.duration = Number(value.split(',')[0])
    else if (!line.startsWith('#') && line.length > 0) {
      cur.uri = line
      segments.push(cur)
      msn++
      cur = undefined
    }
  }
  if (cur) segments.push(cur)
  let inForce: string | undefined
  for (const s of segments) inForce = s.effectiveMap = s.map ?? inForce
  const sc = attrs(header.get('EXT-X-SERVER-CONTROL') ?? '')
  const partInf = header.get('EXT-X-PART-INF')
  let totalDuration = 0
  for (const s of segments) totalDuration += s.duration ?? s.parts.reduce((a, p) => a + p.duration, 0)
  return {
    text, lines, header, headerLines,
    version: Number(header.get('EXT-X-VERSION')),
    targetDuration: Number(header.get('EXT-X-TARGETDURATION')),
    mediaSequence: Number(header.get('EXT-X-MEDIA-SEQUENCE') ?? 0),
    discontinuitySequence: Number(header.get('EXT-X-DISCONTINUITY-SEQUENCE') ?? 0),
    serverControl: sc,
    partTarget: partInf ? Number(attrs(partInf)['PART-TARGET']) : undefined,
    skipped, skipAttrs, segments, hints, reports, endlist, totalDuration,
  }
}

/** Every part listed, in order. */
export const allParts = (p: Playlist): PlPart[] => p.segments.flatMap((s) => s.parts)

/** The PRELOAD-HINT TYPE=PART as msn/part; undefined if absent. */
export function hintOf(p: Playlist): { msn: number; part: number; uri: string } | undefined {
  const h = p.hints.find((x) => x.TYPE === 'PART')
  const m = h && PART_URI.exec(h.URI ?? '')
  return m ? { msn: Number(m[1]), part: Number(m[2]), uri: h!.URI! } : undefined
}

/** The newest listed part, if any. */
export function lastPart(p: Playlist): PlPart | undefined {
  return allParts(p).at(-1)
}

/** Assert both parsers accept `text`: hls-parser strict throws nothing, m3u8-parser warns nothing. */
export function assertParses(t: Test, text: string, what: string): any {
  let parsed: any
  try {
    parsed = parseStrict(text)
    t.pass(`${what}: hls-parser strict mode accepts it`)
  } catch (err) {
    t.fail(`${what}: hls-parser strict mode rejects it: ${(err as Error).message}`, { text })
  }
  const { warnings } = parseM3u8(text)
  t.same(warnings, [], `${what}: m3u8-parser raises no warnings`)
  return parsed
}

/** max-age of a Cache-Control value; undefined without one. */
export function maxAge(cc: string | null | undefined): number | undefined {
  const m = /(?:^|[,\s])max-age=(\d+)/.exec(cc ?? '')
  return m ? Number(m[1]) : undefined
}

/** A Prometheus sample value: `name{labels}` exactly as written, or the sum over all label sets when `labels` is omitted. */
export function metric(text: string, name: string, labels?: string): number {
  let sum = 0
  let found = false
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const sp = line.lastIndexOf(' ')
    const key = line.slice(0, sp)
    const bare = key.replace(/\{.*\}$/, '')
    if (bare !== name) continue
    if (labels !== undefined && key !== `${name}{${labels}}`) continue
    sum += Number(line.slice(sp + 1))
    found = true
  }
  return found ? sum : NaN
}

/** Fetch /metrics text. */
export async function metricsText(o: TestOrigin): Promise<string> {
  return (await get(`${o.http}/metrics`)).text
}

/** Fetch and model the playlist at `url` (non-blocking unless the query says so). */
export async function fetchPlaylist(url: string): Promise<{ status: number; pl: Playlist; headers: Headers; text: string }> {
  const r = await get(url)
  return { status: r.status, pl: model(r.text), headers: r.headers, text: r.text }
}

/** Wait until the store's edge moves past (msn, part) — i.e. a newer part exists. */
export async function waitForNextPart(store: RenditionStore, timeoutMs = 5000): Promise<void> {
  const e0 = store.edge()
  await waitFor(() => {
    const e = store.edge()
    return e !== undefined && (e0 === undefined || e.msn !== e0.msn || e.part !== e0.part)
  }, timeoutMs, 'a new part')
}

/** Resolve after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!
}

export { get, waitFor }
export { timedGet, bodyText, type TimedResponse } from './timed-http.js'
