/**
 * The steering manifest document and the query players append when they
 * reload it (hls.js: `_HLS_pathway`, `_HLS_throughput`; dash.js: `_DASH_...`).
 */
import t from 'tap'
import { parseSteeringQuery, steeringManifest } from '../../../src/formats/steering/manifest.js'

t.test('the manifest: VERSION 1, TTL, RELOAD-URI and the order under both HLS and DASH names', async (t) => {
  const m = JSON.parse(JSON.stringify(steeringManifest(['b', 'a'], 10, 'steering.json')))
  t.same(m, { VERSION: 1, TTL: 10, 'RELOAD-URI': 'steering.json', 'PATHWAY-PRIORITY': ['b', 'a'], 'SERVICE-LOCATION-PRIORITY': ['b', 'a'] })
})

t.test('what hls.js and dash.js send is accepted', async (t) => {
  t.same(parseSteeringQuery('_HLS_pathway=.&_HLS_throughput=500000'), { ok: true, pathway: '.', throughput: 500000 }, 'hls.js before it knows a pathway')
  t.same(parseSteeringQuery('_HLS_pathway=shield-a&_HLS_throughput=12345678'), { ok: true, pathway: 'shield-a', throughput: 12345678 })
  t.same(parseSteeringQuery('_DASH_pathway=cdn_b&_DASH_throughput=1'), { ok: true, pathway: 'cdn_b', throughput: 1 })
  t.same(parseSteeringQuery(''), { ok: true, pathway: undefined, throughput: undefined }, 'no query at all')
  t.same(parseSteeringQuery('session=abc&_HLS_pathway=unknown-one'), { ok: true, pathway: 'unknown-one', throughput: undefined }, 'other parameters and unknown pathways pass')
})

const bad: Array<[string, string, RegExp]> = [
  ['a throughput that is not a number', '_HLS_throughput=fast', /_HLS_throughput must be a whole number/],
  ['a negative throughput', '_HLS_throughput=-5', /_HLS_throughput must be/],
  ['an empty throughput', '_HLS_throughput=', /_HLS_throughput must be/],
  ['a pathway with a comma', '_HLS_pathway=a,b', /_HLS_pathway must be 1-64 characters/],
  ['an empty pathway', '_HLS_pathway=', /_HLS_pathway must be/],
  ['a pathway with bad percent-encoding', '_HLS_pathway=%zz', /_HLS_pathway is not valid percent-encoding/],
  ['two different pathways', '_HLS_pathway=a&_HLS_pathway=b', /two different pathways/],
  ['a DASH pathway with a slash', '_DASH_pathway=a%2Fb', /_DASH_pathway must be/],
]
for (const [name, query, message] of bad) {
  t.test(`refuses ${name}`, async (t) => {
    const q = parseSteeringQuery(query)
    t.equal(q.ok, false)
    if (!q.ok) t.match(q.message, message)
  })
}
