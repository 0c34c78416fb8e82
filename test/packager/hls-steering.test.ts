/**
 * The multivariant playlist with content steering over two pathways, read by
 * hls-parser (strict) and m3u8-parser: one variant set per pathway, PATHWAY-ID
 * on each, absolute URIs on its pathway, an audio group per pathway; and the
 * playlist without steering unchanged.
 */
import t from 'tap'
import { renderMultivariant } from '../../src/packager/hls-multivariant.js'
import { multivariantStates } from '../helpers/playlist-states.js'
import { parseM3u8, parseStrict } from '../helpers/playlists.js'

const steering = { serverUri: 'steering.json', pathways: [{ id: 'shield-a', url: 'https://a.example/' }, { id: 'cdn-b', url: 'https://b.example/edge' }] }
const ladder = (): ReturnType<typeof multivariantStates>[number]['stream'] => multivariantStates()[0]!.stream

t.test('hls-parser (strict): valid, a variant set per pathway with absolute URIs', async (t) => {
  const text = renderMultivariant(ladder(), steering)!
  // hls-parser 0.16 reads neither EXT-X-CONTENT-STEERING nor PATHWAY-ID (m3u8-parser does, below).
  const p = parseStrict(text)
  const byHost = (host: string): any[] => p.variants.filter((v: any) => new URL(v.uri).hostname === host)
  const a = byHost('a.example')
  const b = byHost('b.example')
  t.equal(a.length + b.length, p.variants.length, 'every variant is on one of the pathways')
  t.equal(a.length, 3, 'three video variants (the shed and the silent rung are left out) on A')
  t.same(b.map((v: any) => v.bandwidth), a.map((v: any) => v.bandwidth), 'B offers the same variants')
  t.ok(a.every((v: any) => v.uri.startsWith('https://a.example/live/s/')), 'A\'s URIs on A')
  t.ok(b.every((v: any) => v.uri.startsWith('https://b.example/edge/live/s/')), 'B\'s URIs under B\'s path')
  t.ok(a.every((v: any) => v.audio.every((r: any) => r.groupId === 'audio-shield-a' && r.uri.startsWith('https://a.example/live/s/'))), 'A\'s variants play A\'s audio')
  t.ok(b.every((v: any) => v.audio.every((r: any) => r.groupId === 'audio-cdn-b' && r.uri.startsWith('https://b.example/edge/live/s/'))), 'B\'s variants play B\'s audio')
  t.same(a.map((v: any) => v.stableVariantId), b.map((v: any) => v.stableVariantId), 'the same STABLE-VARIANT-ID on both pathways')
})

t.test('m3u8-parser reads the steering tag and PATHWAY-ID on every variant', async (t) => {
  const { manifest } = parseM3u8(renderMultivariant(ladder(), steering)!)
  t.same(manifest.contentSteering, { serverUri: 'steering.json', pathwayId: 'shield-a' }, 'EXT-X-CONTENT-STEERING names the manifest and the first pathway')
  for (const v of manifest.playlists) {
    const host = new URL(v.uri).hostname
    t.equal(v.attributes['PATHWAY-ID'], host === 'a.example' ? 'shield-a' : 'cdn-b', `${v.uri}: its pathway`)
  }
})

t.test('m3u8-parser: the first pathway given comes first, without warnings', async (t) => {
  const { manifest, warnings } = parseM3u8(renderMultivariant(ladder(), { ...steering, pathways: [...steering.pathways].reverse() })!)
  t.same(warnings, [])
  t.same(manifest.contentSteering, { serverUri: 'steering.json', pathwayId: 'cdn-b' }, 'the first pathway given is the one to start on')
  t.same([...new Set(manifest.playlists.map((p: any) => p.attributes['PATHWAY-ID']))], ['cdn-b', 'shield-a'], 'the first pathway\'s variants come first')
  t.same(Object.keys(manifest.mediaGroups.AUDIO).sort(), ['audio-cdn-b', 'audio-shield-a'])
})

t.test('without steering (or with no pathway) the playlist is unchanged', async (t) => {
  const plain = renderMultivariant(ladder())!
  t.equal(renderMultivariant(ladder(), { serverUri: 'steering.json', pathways: [] }), plain)
  t.notMatch(plain, /PATHWAY-ID|CONTENT-STEERING|STABLE-/)
})
