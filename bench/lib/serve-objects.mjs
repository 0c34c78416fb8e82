/**
 * The benchmark's objects: random bytes laid out as streamd would serve them
 * (one small segment of one 2 KiB part; one ~1 MB segment of ten 100 KiB parts),
 * written as files under a tmpfs document root with the contract's URL paths so
 * nginx serves the same bytes at the same URLs, and the streamd and bare uWS
 * children load them from there.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const STREAM = 'bench'
export const RENDITION = 'source'
const PART_2K = 2048
const PART_100K = 102_400
const PARTS_PER_BIG_SEGMENT = 10

/** The three measured sizes: key, label, byte size, and which contract URL serves it. */
export function benchObjects(firstMsn) {
  const base = `/live/${STREAM}/${RENDITION}`
  return [
    { key: '2k', label: '2 KB', bytes: PART_2K, kind: 'part', path: `${base}/${firstMsn}.0.m4s` },
    { key: '100k', label: '100 KB', bytes: PART_100K, kind: 'part', path: `${base}/${firstMsn + 1}.0.m4s` },
    { key: '1m', label: '1 MB', bytes: PART_100K * PARTS_PER_BIG_SEGMENT, kind: 'segment', path: `${base}/${firstMsn + 1}.m4s` },
  ]
}

/**
 * Write every part and segment file under `root` and a `store.json` manifest
 * describing the segments (msn → part file paths) for the streamd child.
 * Returns { manifestPath, objects, sha } where sha maps URL path → sha256 hex.
 */
export function writeObjects(root, firstMsn) {
  const dir = join(root, 'live', STREAM, RENDITION)
  mkdirSync(dir, { recursive: true })
  const segments = [
    { msn: firstMsn, parts: [randomBytes(PART_2K)] },
    { msn: firstMsn + 1, parts: Array.from({ length: PARTS_PER_BIG_SEGMENT }, () => randomBytes(PART_100K)) },
  ]
  const sha = {}
  const put = (name, data) => {
    const file = join(dir, name)
    writeFileSync(file, data, { mode: 0o644 })
    sha[`/live/${STREAM}/${RENDITION}/${name}`] = createHash('sha256').update(data).digest('hex')
    return file
  }
  const manifest = { stream: STREAM, rendition: RENDITION, firstMsn, segments: /** @type {{ msn: number, parts: string[] }[]} */ ([]) }
  for (const s of segments) {
    const partFiles = s.parts.map((p, i) => put(`${s.msn}.${i}.m4s`, p))
    put(`${s.msn}.m4s`, Buffer.concat(s.parts))
    manifest.segments.push({ msn: s.msn, parts: partFiles })
  }
  const manifestPath = join(root, 'store.json')
  writeFileSync(manifestPath, JSON.stringify(manifest))
  return { manifestPath, objects: benchObjects(firstMsn), sha }
}
