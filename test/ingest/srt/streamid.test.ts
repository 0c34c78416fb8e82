/**
 * SRT streamids naming an input role: the fourth field of `publish:` and
 * `role=` in the access-control form; an unknown or disagreeing role is
 * refused as a bad request.
 */
import t from 'tap'
import { parseStreamId } from '../../../src/ingest/srt/handshake.js'

t.test('publish:NAME:SECRET[:ROLE]', async (t) => {
  t.same(parseStreamId('publish:cam:S'), { ok: true, stream: 'cam', key: 'S', role: 'primary' })
  t.same(parseStreamId('publish:cam:S:backup'), { ok: true, stream: 'cam', key: 'S', role: 'backup' })
  t.same(parseStreamId('publish:cam:S:primary'), { ok: true, stream: 'cam', key: 'S', role: 'primary' })
  t.same(parseStreamId('publish:cam::backup'), { ok: true, stream: 'cam', role: 'backup' }, 'no key, a role')
  t.same(parseStreamId('publish:cam:S:bkp'), { ok: false, reason: 'role must be primary or backup, not "bkp"' })
  t.same(parseStreamId('publish:cam:S:'), { ok: false, reason: 'role must be primary or backup, not ""' })
  t.match(parseStreamId('publish:cam:S:backup:x'), { ok: false, reason: /publish:\{stream\}:\{key\}\[:\{role\}\]/ }, 'five fields are not a streamid')
})

t.test('#!::r=NAME,m=publish,s=SECRET[,role=ROLE]', async (t) => {
  t.same(parseStreamId('#!::r=cam,m=publish,s=S'), { ok: true, stream: 'cam', key: 'S', role: 'primary' })
  t.same(parseStreamId('#!::r=cam,m=publish,s=S,role=backup'), { ok: true, stream: 'cam', key: 'S', role: 'backup' })
  t.same(parseStreamId('#!::role=backup,r=cam,m=publish'), { ok: true, stream: 'cam', role: 'backup' }, 'any position')
  t.same(parseStreamId('#!::r=cam,m=publish,s=S,role=bkp'), { ok: false, reason: 'role must be primary or backup, not "bkp"' })
  t.same(parseStreamId('#!::r=cam,m=publish,s=S,role='), { ok: false, reason: 'role must be primary or backup, not ""' })
  t.match(parseStreamId('#!::r=cam,m=publish,role=backup,role=primary'), { ok: false, reason: /different values/ })
  t.match(parseStreamId('#!::r=cam,m=request,role=backup'), { ok: false, mode: 'request' }, 'the mode is still checked first')
})
