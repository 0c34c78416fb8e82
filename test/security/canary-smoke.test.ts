/**
 * The attack-replay harness itself: a real server process with a canary stream whose
 * playlist advances, and whose death the harness notices.
 */
import t from 'tap'
import { startCanaryServer } from '../helpers/canary.js'

t.test('a canary server plays, reports its RSS, and its death is seen', async (t) => {
  const s = await startCanaryServer(t)
  await s.assertAdvancing(t)
  t.ok(s.rss() > 10_000_000, `RSS read from /proc (${Math.round(s.rss() / 1e6)} MB)`)
  process.kill(s.pid, 'SIGKILL')
  await new Promise((r) => s.child.once('exit', r))
  t.notOk(s.alive(), 'a killed server is reported dead')
})
