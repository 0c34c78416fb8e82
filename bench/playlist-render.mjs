/**
 * bench/playlist-render: media playlist renders per CPU second, for a
 * full 30-segment LL-HLS window and its delta update (_HLS_skip=YES), the
 * text every blocking reload of a new store version is answered with (before
 * gzip and caching in http/). With --alt-dist it also times another compiled
 * copy of streamd (e.g. the base commit) on an equal store, alternating the
 * two rep by rep, and prints the ratio.
 *
 * usage: USAGE below (printed by --help).
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseCli } from './lib/cli.mjs'

const USAGE = 'usage: npm run build && node bench/playlist-render.mjs [--renders 20000] [--reps 5] [--part 0.2] [--alt-dist DIR]'
const cli = parseCli('bench/playlist-render', USAGE, {
  renders: { type: 'string', default: '20000' },
  reps: { type: 'string', default: '5' },
  part: { type: 'string', default: '0.2' },
  'alt-dist': { type: 'string' },
})
const renders = cli.num('renders', undefined, { min: 1, max: 1_000_000, integer: true })
const reps = cli.num('reps', undefined, { min: 1, max: 50, integer: true })
// The part targets config validation accepts with 2 s segments.
const partTarget = cli.num('part', undefined, { min: 0.1, max: 1 })
const dist = new URL('../dist/', import.meta.url).pathname
const alt = cli.values['alt-dist'] === undefined ? undefined : resolve(cli.values['alt-dist'])
for (const dir of [dist, alt]) {
  if (dir !== undefined && !existsSync(resolve(dir, 'packager/hls-media-playlist.js'))) cli.fail(`no compiled streamd in ${dir} (run npm run build there first)`)
}

/** One compiled copy's store and renderer. */
async function load(label, dir) {
  const url = (p) => pathToFileURL(resolve(dir, p)).href
  /** @type {typeof import('../src/packager/rendition-store.js')} */
  const { RenditionStore } = await import(url('packager/rendition-store.js'))
  /** @type {typeof import('../src/packager/hls-media-playlist.js')} */
  const { renderMediaPlaylist } = await import(url('packager/hls-media-playlist.js'))
  // 60 s of 2 s segments: 30 in the window, then the open one with a few parts.
  const store = new RenditionStore('v', { targetDuration: 2, partTarget, windowSeconds: 60 }, 1000)
  store.beginEpoch({ data: Buffer.from('init'), hash: 'abcdef0123', tracks: [] })
  const perSegment = Math.round(2 / partTarget)
  for (let s = 0; s < 31; s++) {
    store.startSegment(s * 2, 1.7e12 + s * 2000, true)
    const parts = s < 30 ? perSegment : 3
    for (let p = 0; p < parts; p++) store.addPart(2 / perSegment, p === 0, Buffer.alloc(16), 0, s < 30 && p === parts - 1)
  }
  return { label, store, render: renderMediaPlaylist }
}

const copies = [await load('this build', dist)]
if (alt) copies.push(await load(`alt (${cli.values['alt-dist']})`, alt))

/** @type {Array<{ name: string, req: import('../src/packager/hls-media-playlist.js').MediaPlaylistRequest }>} */
const modes = [{ name: 'full window', req: {} }, { name: 'delta (skip=YES)', req: { skip: 'YES', reports: [{ uri: '../a/index.m3u8', lastMsn: 1030, lastPart: 2 }] } }]
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

for (const mode of modes) {
  const texts = copies.map((c) => c.render(c.store, mode.req))
  if (texts.some((x) => x !== texts[0])) console.log(`  note: ${mode.name}: the copies render different texts`)
  /** @type {number[][]} */
  const rates = copies.map(() => [])
  let sink = 0
  for (let rep = 0; rep < reps; rep++) {
    copies.forEach((c, i) => {
      for (let k = 0; k < 1000; k++) sink += c.render(c.store, mode.req).length // warm-up
      // CPU time, not wall time: on a shared machine other processes' turns are not ours.
      const c0 = process.cpuUsage()
      for (let k = 0; k < renders; k++) sink += c.render(c.store, mode.req).length
      const cpu = process.cpuUsage(c0)
      rates[i].push(renders / ((cpu.user + cpu.system) / 1e6))
    })
  }
  console.log(`${mode.name}: ${texts[0].length} bytes, ${texts[0].split('\n').length - 1} lines (checksum ${sink % 997})`)
  copies.forEach((c, i) => {
    const m = median(rates[i])
    const ratio = i > 0 ? `  this build / alt: ${(median(rates[0]) / m).toFixed(3)}x` : ''
    console.log(`  ${c.label}: median ${Math.round(m)} renders per CPU s (min ${Math.round(Math.min(...rates[i]))}, max ${Math.round(Math.max(...rates[i]))}) over ${reps} × ${renders}${ratio}`)
  })
}
