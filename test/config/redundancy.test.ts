/**
 * The redundancy.* keys: defaults, the errors that name a bad value, and that
 * the resolved section is what the input switch policy takes.
 */
import t from 'tap'
import { buildConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'
import { InputSwitch } from '../../src/core/input-switch.js'

t.test('defaults: 500 ms loss, back to the primary after 10 s', async (t) => {
  t.same(buildConfig({}).redundancy, { lossMs: 500, return: 'primary', returnAfterMs: 10_000, epochLock: false })
  t.same(buildConfig({ redundancy: { return: 'sticky' } }).redundancy, { lossMs: 500, return: 'sticky', returnAfterMs: 10_000, epochLock: false })
})

const bad: Array<[string, unknown, RegExp]> = [
  ['loss too short to tell from a gap between tags', { lossMs: 50 }, /redundancy\.lossMs is 50; expected an integer from 100 to 30000/],
  ['loss as a string', { lossMs: '500' }, /redundancy\.lossMs is "500"; expected an integer from 100 to 30000/],
  ['loss not an integer', { lossMs: 500.5 }, /redundancy\.lossMs is 500\.5; expected an integer/],
  ['an unknown return policy', { return: 'backup' }, /redundancy\.return is "backup"; expected one of primary, sticky/],
  ['a return with no hold', { returnAfterMs: 0 }, /redundancy\.returnAfterMs is 0; expected an integer from 1000 to 3600000/],
  ['an epoch lock that is not a boolean', { epochLock: 'yes' }, /redundancy\.epochLock is "yes"; expected true or false/],
  ['an unknown key', { lossMS: 500 }, /unknown key redundancy\.lossMS; allowed keys here: lossMs, return, returnAfterMs/],
]
for (const [name, section, message] of bad) {
  t.test(`refuses ${name}`, async (t) => {
    t.throws(() => buildConfig({ redundancy: section }), message)
    t.throws(() => buildConfig({ redundancy: section }), ConfigError)
  })
}

t.test('the section is the input switch options', async (t) => {
  const config = buildConfig({ redundancy: { lossMs: 300, return: 'sticky' } })
  let clock = 0
  const sw = new InputSwitch({ ...config.redundancy, slateMaxSeconds: 0, now: () => clock })
  sw.connect('primary')
  sw.connect('backup')
  sw.media('primary', { keyframe: true })
  sw.media('backup', { keyframe: true })
  clock = 290
  sw.media('backup', { keyframe: false })
  t.equal(sw.tick(), null, 'within lossMs 300')
  clock = 301
  t.match(sw.tick(), { from: 'primary', to: 'backup', cause: 'loss' }, 'past lossMs 300')
})
