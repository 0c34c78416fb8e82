import t from 'tap'
import { isLimitError, limitError, peerAddress } from '../../../src/ingest/rtmp/limits.js'
import { ProtocolError } from '../../../src/errors.js'

t.test('peers are counted per IPv4 address and per IPv6 /64', async (t) => {
  t.equal(peerAddress('203.0.113.5'), '203.0.113.5')
  t.equal(peerAddress('::ffff:203.0.113.5'), '203.0.113.5', 'IPv4-mapped IPv6 is the IPv4 address')
  t.equal(peerAddress('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64')
  t.equal(peerAddress('2001:db8:1:2::1'), '2001:db8:1:2::/64', 'same /64, compressed')
  t.equal(peerAddress('2001:0db8:0001:0002:0:0:0:ffff'), '2001:db8:1:2::/64', 'leading zeros do not make another address')
  t.equal(peerAddress('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(peerAddress('::1'), '0:0:0:0::/64')
  t.equal(peerAddress('fe80::1%eth0'), 'fe80:0:0:0::/64', 'zone id dropped')
  t.equal(peerAddress(undefined), 'unknown')
})

t.test('limit errors are ProtocolErrors carrying a mark', async (t) => {
  const e = limitError('too much')
  t.ok(e instanceof ProtocolError)
  t.equal(e.message, 'rtmp: too much')
  t.ok(isLimitError(e))
  t.notOk(isLimitError(new ProtocolError('rtmp', 'too much')), 'a plain protocol error is not one')
  t.notOk(isLimitError('too much'))
})
