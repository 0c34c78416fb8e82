/**
 * Publish names and connect apps: stream, key and the `role` values a
 * publisher can put on the stream key or the server URL (OBS puts either).
 */
import t from 'tap'
import { appFromConnect, splitNameAndKey } from '../../../src/ingest/rtmp/commands.js'

t.test('publish name: stream, key and every role value', async (t) => {
  t.same(splitNameAndKey('cam'), { stream: 'cam', roles: [] })
  t.same(splitNameAndKey('cam?key=S'), { stream: 'cam', key: 'S', roles: [] })
  t.same(splitNameAndKey('cam?key=S&role=backup'), { stream: 'cam', key: 'S', roles: ['backup'] })
  t.same(splitNameAndKey('cam?role=primary&key=S'), { stream: 'cam', key: 'S', roles: ['primary'] })
  t.same(splitNameAndKey('cam?key=S&role='), { stream: 'cam', key: 'S', roles: [''] }, 'an empty role is kept, to be refused')
  t.same(splitNameAndKey('cam?role=backup&role=primary'), { stream: 'cam', roles: ['backup', 'primary'] }, 'repeated roles are all kept')
  t.same(splitNameAndKey('cam?key=S&role=back%75p'), { stream: 'cam', key: 'S', roles: ['backup'] }, 'percent-decoded like key')
})

t.test('connect app: OBS users may put the query on the server URL', async (t) => {
  t.same(appFromConnect({ app: 'live' }), { app: 'live', roles: [] })
  t.same(appFromConnect({ app: 'live?key=S&role=backup' }), { app: 'live', key: 'S', roles: ['backup'] })
  t.same(appFromConnect({ app: 'live?role=backup/' }), { app: 'live', roles: ['backup'] }, 'a trailing slash is dropped first')
  t.same(appFromConnect(null), { app: '', roles: [] })
})
