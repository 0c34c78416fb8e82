/**
 * Content steering with a real origin and two real shield processes as its
 * pathways: the multivariant playlist and the MPD name both, the steering
 * manifest orders them, passes through a shield, refuses malformed queries
 * with 400 and ignores an unknown pathway; when shield A's process is killed,
 * the origin's probes put A last while B keeps serving the stream.
 */
import t from 'tap'
import { get, startOrigin, waitFor } from '../helpers/origin.js'
import { startPublisher } from '../helpers/ffmpeg.js'
import { startShieldProcess } from '../helpers/shield-process.js'
import { freePort } from '../helpers/ports.js'
import { parseM3u8, parseStrict } from '../helpers/playlists.js'

t.test('two shields as pathways: playlists, manifest, bad queries, and a killed pathway going last', async (t) => {
  const port = await freePort()
  const upstream = `http://127.0.0.1:${port}`
  const [a, b] = await Promise.all([startShieldProcess(t, [upstream]), startShieldProcess(t, [upstream])])
  const origin = await startOrigin(t, {
    http: { host: '127.0.0.1', port },
    steering: { pathways: [{ id: 'shield-a', url: `${a.url}/` }, { id: 'shield-b', url: b.url }], ttlSeconds: 2, probeIntervalMs: 300, probeTimeoutMs: 500, recoverMs: 1000 },
  })
  const publisher = startPublisher(`${origin.rtmp}/cs`, { width: 320, height: 180, fps: 30, gop: 30 })
  t.teardown(() => publisher.stop())
  const mv = await waitFor(async () => {
    const r = await get(`${origin.http}/live/cs/index.m3u8`).catch(() => undefined)
    return r?.status === 200 ? r.text : undefined
  }, 30_000, 'the multivariant playlist')

  parseStrict(mv)
  const { manifest } = parseM3u8(mv)
  t.same(manifest.contentSteering, { serverUri: 'steering.json', pathwayId: 'shield-a' })
  const variants = manifest.playlists.map((p: any) => [p.attributes['PATHWAY-ID'], p.uri])
  t.same(variants, [['shield-a', `${a.url}/live/cs/source/index.m3u8`], ['shield-b', `${b.url}/live/cs/source/index.m3u8`]], 'one variant per pathway, on that pathway')

  // Each pathway serves the stream: its copy of the media playlist is there.
  for (const [, uri] of variants) {
    await waitFor(async () => (await get(uri).catch(() => undefined))?.status === 200, 20_000, `${uri}`)
  }

  // The shields started before the origin: a probe that met one still finding its upstream
  // down counts as a failure, so wait until both have probed healthy (recoverMs) to begin.
  const metric = async (pathway: string): Promise<string | undefined> =>
    new RegExp(`^streamd_steering_pathway_healthy\\{stream="cs",pathway="${pathway}"\\} (\\d)$`, 'm').exec((await get(`${origin.http}/metrics`)).text)?.[1]
  await waitFor(async () => (await metric('shield-a')) === '1' && (await metric('shield-b')) === '1', 10_000, '/metrics: both pathways healthy')
  const steering = `${origin.http}/live/cs/steering.json`
  const first = await get(`${steering}?_HLS_pathway=shield-a&_HLS_throughput=1000000`)
  t.equal(first.status, 200)
  t.match(first.headers.get('content-type'), /application\/json/)
  t.equal(first.headers.get('cache-control'), 'public, max-age=2', 'cached for its TTL')
  t.same(JSON.parse(first.text), { VERSION: 1, TTL: 2, 'RELOAD-URI': 'steering.json', 'PATHWAY-PRIORITY': ['shield-a', 'shield-b'], 'SERVICE-LOCATION-PRIORITY': ['shield-a', 'shield-b'] })
  const head = await get(`${steering}?_HLS_pathway=shield-a&_HLS_throughput=1000000`, { method: 'HEAD' })
  t.equal(head.status, 200, 'HEAD answers too')
  t.ok(Number(first.headers.get('content-length')) > 0, 'GET has a length')
  t.equal(head.headers.get('content-length'), first.headers.get('content-length'), 'with GET\'s length')
  const unknown = await get(`${steering}?_HLS_pathway=nowhere&_HLS_throughput=5`)
  t.equal(unknown.status, 200, 'an unknown pathway id is ignored')
  t.same(JSON.parse(unknown.text)['PATHWAY-PRIORITY'], ['shield-a', 'shield-b'])
  for (const q of ['_HLS_throughput=fast', '_HLS_pathway=a%2Cb', '_HLS_pathway=', '_HLS_pathway=a&_HLS_pathway=b']) {
    const r = await get(`${steering}?${q}`)
    t.equal(r.status, 400, `${q}: 400`)
    t.equal(r.headers.get('cache-control'), 'no-store', `${q}: not cached`)
  }
  t.equal((await get(`${origin.http}/live/nope/steering.json`)).status, 404, 'unknown stream: 404')
  const viaB = await get(`${b.url}/live/cs/steering.json?_HLS_pathway=shield-b&_HLS_throughput=7`)
  t.equal(viaB.status, 200, 'the shield passes the manifest through')
  t.same(JSON.parse(viaB.text)['PATHWAY-PRIORITY'], ['shield-a', 'shield-b'])
  t.equal((await get(`${b.url}/live/cs/steering.json?_HLS_throughput=x`)).status, 400, 'and the origin\'s 400 for a bad query')
  const again = await get(`${b.url}/live/cs/steering.json?_HLS_pathway=shield-b&_HLS_throughput=9999`)
  t.equal(again.headers.get('x-cache'), 'HIT', 'another player\'s throughput shares the shield\'s copy (one upstream request)')

  const mpd = await get(`${origin.http}/live/cs/manifest.mpd`)
  t.match(mpd.text, new RegExp(`<BaseURL serviceLocation="shield-a">${a.url}/live/cs/</BaseURL>\\s*<BaseURL serviceLocation="shield-b">${b.url}/live/cs/</BaseURL>`))
  t.match(mpd.text, /<ContentSteering defaultServiceLocation="shield-a" queryBeforeStart="false">steering\.json<\/ContentSteering>/)

  process.kill(a.pid, 'SIGKILL')
  await waitFor(() => !a.alive(), 5000, 'shield A to exit')
  const killedAt = Date.now()
  const order = await waitFor(async () => {
    const r = await get(`${steering}?_HLS_pathway=shield-a&_HLS_throughput=1`)
    const o = JSON.parse(r.text)['PATHWAY-PRIORITY'] as string[]
    return o[0] === 'shield-b' ? o : undefined
  }, 5000, 'shield B first in the steering manifest')
  t.same(order, ['shield-b', 'shield-a'], 'the dead pathway goes last')
  t.same([await metric('shield-a'), await metric('shield-b')], ['0', '1'], '/metrics: A unhealthy, B healthy')
  t.comment(`steering moved off the killed pathway ${Date.now() - killedAt} ms after its death`)
  const after = parseM3u8((await get(`${origin.http}/live/cs/index.m3u8`)).text).manifest
  t.equal(after.contentSteering.pathwayId, 'shield-b', 'new players start on B')
  t.equal(after.playlists[0].attributes['PATHWAY-ID'], 'shield-b', 'and a player that ignores steering gets B first')
  t.match((await get(`${origin.http}/live/cs/manifest.mpd`)).text, /<BaseURL serviceLocation="shield-b">[^<]*<\/BaseURL>\s*<BaseURL serviceLocation="shield-a">/, 'the MPD lists B first')
  const media = await get(`${b.url}/live/cs/source/index.m3u8`)
  t.equal(media.status, 200, 'B still serves the stream')
})
