/**
 * The input role a publish names: primary when absent, one agreed value, and a
 * clear refusal for anything else (unknown, empty, or two that disagree).
 */
import t from 'tap'
import { roleFrom } from '../../src/ingest/role.js'

t.test('no role is the primary; primary and backup are taken as named', async (t) => {
  t.same(roleFrom([]), { ok: true, role: 'primary' })
  t.same(roleFrom(['primary']), { ok: true, role: 'primary' })
  t.same(roleFrom(['backup']), { ok: true, role: 'backup' })
  t.same(roleFrom(['backup', 'backup']), { ok: true, role: 'backup' }, 'the same value twice agrees')
})

t.test('unknown, empty, differently cased or disagreeing roles are refused with the reason', async (t) => {
  t.same(roleFrom(['bkp']), { ok: false, reason: 'role must be primary or backup, not "bkp"' })
  t.same(roleFrom(['']), { ok: false, reason: 'role must be primary or backup, not ""' })
  t.match(roleFrom(['Backup']), { ok: false, reason: /not "Backup"/ }, 'roles are lower case, as documented')
  t.same(roleFrom(['backup', 'primary']), { ok: false, reason: 'role given twice with different values ("backup", "primary")' })
  t.match(roleFrom(['primary', 'bkp']), { ok: false, reason: /different values/ })
})

t.test('a stranger\'s value is shortened and escaped in the reason', async (t) => {
  const r = roleFrom([`x${'y'.repeat(500)}\n\u0000`])
  t.equal(r.ok, false)
  const reason = r.ok ? '' : r.reason
  t.ok(reason.length < 80, `short reason (${reason.length} characters)`)
  t.notMatch(reason, /[\n\u0000]/, 'no control characters')
})
