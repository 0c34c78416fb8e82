/**
 * The SRT limit keys: defaults, bad values refused with the key and what is allowed,
 * and a cap below srt.latencyMs accepted (the operator's own latency always applies;
 * the cap bounds what a caller may add).
 */
import t from 'tap'
import { buildConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'

t.test('srt.maxLatencyMs and srt.maxBufferBytes: defaults and bounds', async (t) => {
  const c = buildConfig({})
  t.equal(c.srt.maxLatencyMs, 2000)
  t.equal(c.srt.maxBufferBytes, 8 * 1024 * 1024)
  t.ok(c.srt.maxBufferBytes >= (20e6 / 8) * 2, 'holds 2 s of a 20 Mbit/s publisher')
  t.throws(() => buildConfig({ srt: { maxLatencyMs: 70_000 } }), /srt\.maxLatencyMs is 70000; expected an integer from 20 to 65535/)
  t.throws(() => buildConfig({ srt: { maxBufferBytes: 1000 } }), /srt\.maxBufferBytes is 1000; expected an integer from 262144 to 1073741824/)
  t.throws(() => buildConfig({ srt: { maxBufferBytes: '8M' } }), ConfigError)
  t.equal(buildConfig({ srt: { latencyMs: 3000, maxLatencyMs: 1000 } }).srt.latencyMs, 3000, 'a cap below srt.latencyMs is allowed')
})
