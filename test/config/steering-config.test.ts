/**
 * The steering.* keys: defaults (off), a valid pathway list, and the errors
 * that name the key for every malformed pathway list.
 */
import t from 'tap'
import { buildConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'

t.test('defaults: no pathways (steering off), 10 s TTL, probes every second', async (t) => {
  t.same(buildConfig({}).steering, { pathways: [], ttlSeconds: 10, probeIntervalMs: 1000, probeTimeoutMs: 2000, recoverMs: 10_000 })
})

t.test('two pathways are taken as given', async (t) => {
  const pathways = [{ id: 'shield-a', url: 'https://a.example/' }, { id: 'cdn_b.2', url: 'http://b.example:8080/edge' }]
  t.same(buildConfig({ steering: { pathways, ttlSeconds: 5 } }).steering.pathways, pathways)
})

const bad: Array<[string, unknown, RegExp]> = [
  ['not a list', { pathways: { id: 'a', url: 'http://a/' } }, /steering\.pathways is .*; expected a list of at most 8/],
  ['a pathway that is not an object', { pathways: ['http://a/'] }, /steering\.pathways .* item 0 is not an object/],
  ['an id with a space', { pathways: [{ id: 'shield a', url: 'http://a/' }] }, /steering\.pathways .* item 0: id must be 1-64 characters of A-Z a-z 0-9 \. - _/],
  ['an id with a comma (it would break PATHWAY-PRIORITY)', { pathways: [{ id: 'a,b', url: 'http://a/' }] }, /steering\.pathways .* item 0: id must be/],
  ['an empty id', { pathways: [{ id: '', url: 'http://a/' }] }, /steering\.pathways .* item 0: id must be/],
  ['a duplicate id', { pathways: [{ id: 'a', url: 'http://a/' }, { id: 'a', url: 'http://b/' }] }, /steering\.pathways .* item 1: id "a" is used twice/],
  ['a relative url', { pathways: [{ id: 'a', url: '/edge/' }] }, /steering\.pathways .* item 0: url must be an absolute http:\/\/ or https:\/\/ URL/],
  ['an ftp url', { pathways: [{ id: 'a', url: 'ftp://a.example/' }] }, /steering\.pathways .* item 0: url must be an absolute http/],
  ['a url with a query', { pathways: [{ id: 'a', url: 'http://a.example/?x=1' }] }, /steering\.pathways .* item 0: url must be .* without query/],
  ['a missing url', { pathways: [{ id: 'a' }] }, /steering\.pathways .* item 0: url must be/],
  ['an unknown key in a pathway', { pathways: [{ id: 'a', url: 'http://a/', weight: 2 }] }, /steering\.pathways .* item 0 has unknown key weight/],
  ['nine pathways', { pathways: Array.from({ length: 9 }, (_, i) => ({ id: `p${i}`, url: 'http://a/' })) }, /steering\.pathways .* at most 8/],
  ['a TTL of zero', { ttlSeconds: 0 }, /steering\.ttlSeconds is 0; expected an integer from 1 to 3600/],
  ['a probe interval as a string', { probeIntervalMs: '1000' }, /steering\.probeIntervalMs is "1000"; expected an integer/],
  ['an unknown key', { ttl: 10 }, /unknown key steering\.ttl; allowed keys here: pathways, ttlSeconds, probeIntervalMs, probeTimeoutMs, recoverMs/],
]
for (const [name, section, message] of bad) {
  t.test(`refuses ${name}`, async (t) => {
    t.throws(() => buildConfig({ steering: section }), message)
    t.throws(() => buildConfig({ steering: section }), ConfigError)
  })
}
