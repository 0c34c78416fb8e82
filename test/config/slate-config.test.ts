import t from 'tap'
import { buildConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'

t.test('slate: 60 s on a plain card by default; 0 turns it off; an image path is taken as is', async (t) => {
  t.same(buildConfig({}).slate, { maxSeconds: 60, image: null })
  t.equal(buildConfig({ slate: { maxSeconds: 0 } }).slate.maxSeconds, 0)
  // Not read at load time: `streamd keys` loads the same config and never shows a slate.
  t.equal(buildConfig({ slate: { image: '/does/not/exist.png' } }).slate.image, '/does/not/exist.png')
})

t.test('slate: a bad value names the key and what is allowed', async (t) => {
  const bad: Array<[unknown, RegExp]> = [
    [{ maxSeconds: -1 }, /slate\.maxSeconds is -1; expected an integer from 0 to 86400/],
    [{ maxSeconds: 1.5 }, /slate\.maxSeconds is 1\.5; expected an integer/],
    [{ maxSeconds: '60' }, /slate\.maxSeconds is "60"/],
    [{ image: '' }, /slate\.image is ""; expected a non-empty string or null/],
    [{ image: 5 }, /slate\.image is 5/],
    [{ picture: 'x' }, /unknown key slate\.picture; allowed keys here: maxSeconds, image/],
  ]
  for (const [slate, want] of bad) t.throws(() => buildConfig({ slate }), { constructor: ConfigError, message: want }, JSON.stringify(slate))
})
