import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildConfig, loadConfig } from '../../src/config/load.js'
import { DEFAULTS } from '../../src/config/schema.js'
import { ConfigError } from '../../src/errors.js'
import { tempDirSync } from '../helpers/temp-dir.js'

t.test('defaults apply for an empty config and the shipped file', async (t) => {
  t.same(buildConfig({}), DEFAULTS)
  t.same(loadConfig(new URL('../../config/streamd.json', import.meta.url).pathname), DEFAULTS)
})

t.test('overrides merge per key', async (t) => {
  const c = buildConfig({ http: { port: 9000 } }, [{ hls: { partTarget: 0.25 } }])
  t.equal(c.http.port, 9000)
  t.equal(c.http.host, DEFAULTS.http.host)
  t.equal(c.hls.partTarget, 0.25)
  t.equal(c.hls.segmentTarget, DEFAULTS.hls.segmentTarget)
})

const bad: Array<[string, unknown, RegExp]> = [
  ['port as string', { http: { port: 'abc' } }, /http\.port is "abc"; expected an integer from 0 to 65535/],
  ['port out of range', { rtmp: { port: 70000 } }, /rtmp\.port is 70000; expected an integer from 0 to 65535/],
  ['rtmp idle timeout too short', { rtmp: { idleTimeoutMs: 10 } }, /rtmp\.idleTimeoutMs is 10; expected an integer from 1000 to 3600000/],
  ['worker input queue too small', { worker: { inputQueueBytes: 1000 } }, /worker\.inputQueueBytes is 1000; expected an integer from 1048576/],
  ['shed speed not a number', { worker: { shedBelowSpeed: 'slow' } }, /worker\.shedBelowSpeed is "slow"; expected a number from 0\.1 to 1000/],
  ['unknown key', { http: { prot: 1 } }, /unknown key http\.prot; allowed keys here: host, port/],
  ['unknown section', { htp: {} }, /unknown key htp/],
  ['section not an object', { hls: 3 }, /hls is 3; expected an object/],
  ['part target too small', { hls: { partTarget: 0.01 } }, /hls\.partTarget is 0\.01; expected a number from 0\.1 to 2/],
  ['part target vs segment', { hls: { partTarget: 1.5, segmentTarget: 2 } }, /more than half of hls\.segmentTarget/],
  ['window under three target durations', { hls: { windowSeconds: 8, segmentTarget: 4 } }, /hls\.windowSeconds 8 is less than three target durations \(12 s\)/],
  ['retention under the window', { hls: { windowSeconds: 30, endedRetentionSeconds: 10 } }, /hls\.endedRetentionSeconds 10 is less than hls\.windowSeconds 30/],
  ['log level', { log: { level: 'loud' } }, /log\.level is "loud"; expected one of fatal, error/],
  ['top level array', [1, 2], /top level is \[1,2\]; expected a JSON object/],
  ['empty rung list', { ladder: { rungs: [] } }, /ladder\.rungs is \[\]; expected a list of 1 to 8 rungs/],
  ['odd rung height', { ladder: { rungs: [{ name: 'x', height: 721, bitrate: 900 }] } }, /ladder\.rungs .*rung 0 \(x\): height must be an even integer/],
  ['rung without bitrate', { ladder: { rungs: [{ name: 'x', height: 720 }] } }, /rung 0 \(x\): bitrate must be an integer kbit\/s/],
  ['maxrate under bitrate', { ladder: { rungs: [{ name: 'x', height: 720, bitrate: 900, maxrate: 500 }] } }, /maxrate must be an integer kbit\/s, at least the bitrate/],
  ['unknown rung field', { ladder: { rungs: [{ name: 'x', height: 720, bitrate: 900, crf: 23 }] } }, /unknown field crf/],
  ['rung name with a slash', { ladder: { rungs: [{ name: '../x', height: 720, bitrate: 900 }] } }, /rung 0 \(\.\.\/x\): name must be 1-64 characters/],
  ['duplicate rung names', { ladder: { rungs: [{ name: 'a', height: 720, bitrate: 900 }, { name: 'a', height: 360, bitrate: 500 }] } }, /rung 1 \(a\): the name a is used twice/],
  ['rung named audio', { ladder: { rungs: [{ name: 'audio', height: 360, bitrate: 500 }] } }, /the name audio is the audio rendition's/],
  ['two copy rungs', { ladder: { rungs: [{ name: 'a', copy: true }, { name: 'b', copy: true }] } }, /only one copy rung/],
  ['unknown preset', { ladder: { rungs: [{ name: 'a', height: 360, bitrate: 500, preset: 'placebo' }] } }, /preset must be one of ultrafast/],
  ['bad level', { ladder: { rungs: [{ name: 'a', height: 360, bitrate: 500, level: '9' }] } }, /level must be an H\.264 level/],
  ['per-stream ladder with a bad name', { ladder: { streams: { 'a b': { rungs: [{ name: 'a', copy: true }] } } } }, /ladder\.streams .*"a b" is not one/],
  ['per-stream ladder without rungs', { ladder: { streams: { main: { ladder: [] } } } }, /for stream main: exactly \{ "rungs": \[\.\.\.\] \}/],
  ['short SRT passphrase', { srt: { passphrase: 'short' } }, /srt\.passphrase is "short"; expected null or a string of 10 to 79 characters/],
  ['SRT key length', { srt: { pbkeylen: 20 } }, /srt\.pbkeylen is 20; expected one of 16, 24, 32/],
  ['SRT audio language', { srt: { audioLanguage: 'English' } }, /srt\.audioLanguage is "English"; expected null or a 3-letter ISO 639-2 code/],
]
for (const [name, input, message] of bad) {
  t.test(`refuses ${name} with key, value and what is allowed`, async (t) => {
    t.throws(() => buildConfig(input), message)
    t.throws(() => buildConfig(input), ConfigError)
  })
}

t.test('file errors name the file', async (t) => {
  const dir = tempDirSync(t, 'streamd-config-')
  const broken = join(dir, 'broken.json')
  writeFileSync(broken, '{ "http": ')
  t.throws(() => loadConfig(broken), /broken\.json is not valid JSON/)
  t.throws(() => loadConfig(join(dir, 'missing.json')), /cannot read .*missing\.json: ENOENT/)
})

t.test('a configured ladder and per-stream ladders are accepted as written', async (t) => {
  const rungs = [{ name: 'src', copy: true }, { name: 'hd', height: 720, bitrate: 2500, profile: 'high', level: '4.0', preset: 'superfast' }, { name: 'lo', height: 240, bitrate: 200, fpsCap: 15 }]
  const c = buildConfig({ ladder: { rungs, streams: { final: { rungs: [{ name: 'only', height: 360, bitrate: 600 }] } } } })
  t.same(c.ladder.rungs, rungs)
  t.same(c.ladder.streams.final?.rungs, [{ name: 'only', height: 360, bitrate: 600 }])
  t.equal(buildConfig({ ladder: { rungs: null } }).ladder.rungs, null, 'null: derived from the source')
})
