/**
 * Shared pieces of the DASH conformance suite (test/conformance/dash-*): an
 * origin publishing a ladder (separate video and audio, segments on the grid),
 * and every MPD read through two real parsers: a strict XML parse (xmldom,
 * any warning fails) for structure, and mpd-parser for what a player derives.
 */
import type { Test } from 'tap'
import { DOMParser } from '@xmldom/xmldom'
import { parse as parseMpdPlayer } from 'mpd-parser'
import { startOrigin, get, waitFor, type TestOrigin } from './origin.js'

/** An element of the parsed MPD (xmldom implements the DOM interfaces). */
export type XmlEl = Element
import { startPublisher } from './ffmpeg.js'

/** Targets every DASH conformance file configures (seconds). */
export const DASH_PART = 0.5
export const DASH_SEGMENT = 2
export const DASH_WINDOW = 12

/** One origin with a live publisher, and its MPD URL. */
export interface DashFixture {
  o: TestOrigin
  name: string
  mpdUrl: string
  base: string
  pub: ReturnType<typeof startPublisher>
  republish: () => ReturnType<typeof startPublisher>
}

/** Start an origin (ladder unless `ladder: false`) and publish a 320x180 30 fps source with audio. */
export async function startDashLive(t: Test, name: string, o: { ladder?: boolean; segments?: number } = {}): Promise<DashFixture> {
  const origin = await startOrigin(t, {
    hls: { partTarget: DASH_PART, segmentTarget: DASH_SEGMENT, windowSeconds: DASH_WINDOW },
    ladder: { enabled: o.ladder !== false, maxRungs: 1 },
  })
  const pubs: Array<ReturnType<typeof startPublisher>> = []
  const publish = (): ReturnType<typeof startPublisher> => {
    const p = startPublisher(`${origin.rtmp}/${name}`, { width: 320, height: 180, fps: 30, gop: 60 })
    pubs.push(p)
    return p
  }
  t.teardown(async () => { for (const p of pubs) await p.stop() })
  const pub = publish()
  const base = `${origin.http}/live/${name}`
  const mpdUrl = `${base}/manifest.mpd`
  const want = o.segments ?? 2
  await waitFor(() => {
    const s = origin.origin.directory.get(name)
    return [...(s?.renditions.values() ?? [])].length > 0 && [...s!.renditions.values()].every((r) => r.segments.filter((x) => x.complete).length >= want)
  }, 40_000, `${want} segments of ${name}`)
  return { o: origin, name, mpdUrl, base, pub, republish: publish }
}

/** A fetched MPD: its text, the strict XML document, and mpd-parser's reading. */
export interface FetchedMpd {
  status: number
  headers: Headers
  text: string
  root: XmlEl
  player: any
}

/** Parse strictly: any XML warning or error throws. */
export function parseXml(text: string): XmlEl {
  const fail = (level: string) => (msg: string): void => { throw new Error(`MPD XML ${level}: ${msg}`) }
  const doc = new DOMParser({ errorHandler: { warning: fail('warning'), error: fail('error'), fatalError: fail('fatal error') } }).parseFromString(text, 'application/xml')
  const root = doc.documentElement
  if (!root || root.tagName !== 'MPD') throw new Error('no MPD root element')
  return root
}

/** GET and parse an MPD with both parsers (throws if either rejects it). */
export async function fetchMpd(url: string): Promise<FetchedMpd> {
  const r = await get(url)
  if (r.status !== 200) throw new Error(`MPD ${url}: HTTP ${r.status} ${r.text}`)
  const root = parseXml(r.text)
  const problems: string[] = []
  const player = parseMpdPlayer(r.text, { manifestUri: url, eventHandler: (e) => { if (e.type === 'error') problems.push(e.message) } })
  if (problems.length > 0) throw new Error(`mpd-parser: ${problems.join('; ')}`)
  return { status: r.status, headers: r.headers, text: r.text, root, player }
}

/** Child elements named `name` (direct children only). */
export function kids(e: XmlEl, name: string): XmlEl[] {
  const out: XmlEl[] = []
  for (let n = e.firstChild; n; n = n.nextSibling) if (n.nodeType === 1 && (n as XmlEl).tagName === name) out.push(n as XmlEl)
  return out
}

/** The single child named `name`; throws when absent. */
export function kid(e: XmlEl, name: string): XmlEl {
  const k = kids(e, name)[0]
  if (!k) throw new Error(`<${e.tagName}> has no <${name}>`)
  return k
}

/** All descendants named `name`. */
export function all(e: XmlEl, name: string): XmlEl[] {
  return Array.from(e.getElementsByTagName(name)) as XmlEl[]
}

/** xs:duration (PTnHnMn.nS subset) to seconds. */
export function seconds(d: string | null): number {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?$/.exec(d ?? '')
  if (!m) throw new Error(`not an xs:duration: ${d}`)
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)
}

/** The Representation with id `id` and its SegmentTemplate (own or inherited from the set). */
export function representation(root: XmlEl, id: string): { rep: XmlEl; set: XmlEl; template: XmlEl; period: XmlEl } {
  for (const period of kids(root, 'Period')) for (const set of kids(period, 'AdaptationSet')) for (const rep of kids(set, 'Representation')) {
    if (rep.getAttribute('id') === id) return { rep, set, period, template: kids(rep, 'SegmentTemplate')[0] ?? kid(set, 'SegmentTemplate') }
  }
  throw new Error(`no Representation ${id}`)
}

/** Wait until the MPD answers 200. */
export async function waitForMpd(url: string, timeoutMs = 30_000): Promise<FetchedMpd> {
  return waitFor(async () => (await get(url).catch(() => undefined))?.status === 200 ? fetchMpd(url) : undefined, timeoutMs, `MPD ${url}`)
}

/** Base media decode time (tfdt) of the first traf of a segment, read independently of src/. */
export function firstTfdt(seg: Buffer): number {
  const box = (buf: Buffer, from: number, to: number, type: string): { start: number; end: number } | undefined => {
    for (let o = from; o + 8 <= to;) {
      const size = buf.readUInt32BE(o)
      const t = buf.toString('latin1', o + 4, o + 8)
      if (size < 8) return undefined
      if (t === type) return { start: o + 8, end: o + size }
      o += size
    }
    return undefined
  }
  const moof = box(seg, 0, seg.length, 'moof')
  const traf = moof && box(seg, moof.start, moof.end, 'traf')
  const tfdt = traf && box(seg, traf.start, traf.end, 'tfdt')
  if (!tfdt) throw new Error('segment has no moof/traf/tfdt')
  const version = seg[tfdt.start]!
  return version === 1 ? Number(seg.readBigUInt64BE(tfdt.start + 4)) : seg.readUInt32BE(tfdt.start + 4)
}
