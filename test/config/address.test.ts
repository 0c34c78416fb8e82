/**
 * Loopback detection for the forms Node (RTMP sockets) and uWS (HTTP) print.
 */
import t from 'tap'
import { hostOf, isLoopback } from '../../src/config/address.js'

t.test('hostOf strips ports and brackets', async (t) => {
  t.equal(hostOf('127.0.0.1:5000'), '127.0.0.1')
  t.equal(hostOf('[::1]:80'), '::1')
  t.equal(hostOf('::1'), '::1')
  t.equal(hostOf('10.1.2.3'), '10.1.2.3')
})

t.test('loopback in every spelling; nothing else', async (t) => {
  for (const a of ['127.0.0.1:5000', '127.9.9.9', '[::1]:80', '::1', '0000:0000:0000:0000:0000:0000:0000:0001',
    '::ffff:127.0.0.1', '0000:0000:0000:0000:0000:ffff:7f00:0001', '[::ffff:127.0.0.1]:9']) t.ok(isLoopback(a), a)
  for (const a of ['10.0.0.1:1', '::2', '::ffff:10.0.0.1', '0000:0000:0000:0000:0000:ffff:0a00:0001', 'fe80::1', '1::1',
    'garbage', '192.168.1.1', '', '128.0.0.1', '::', 'localhost']) t.notOk(isLoopback(a), a || '(empty)')
})
