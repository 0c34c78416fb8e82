/**
 * The redundant-input metrics: switches counted by cause, the on-air gauge one
 * for the on-air input and zero for the others, and both dropped with their stream.
 */
import t from 'tap'
import { Metrics } from '../../src/log/metrics.js'

t.test('switch causes and the on-air gauge, then dropStream removes both', async (t) => {
  const m = new Metrics({ defaultMetrics: false })
  m.countInputSwitch('cam', 'loss')
  m.countInputSwitch('cam', 'loss')
  m.countInputSwitch('cam', 'manual')
  m.countInputSwitch('other', 'slate')
  m.setOnAir('cam', 'primary')
  m.setOnAir('cam', 'backup')
  m.setOnAir('other', 'slate')
  const text = await m.registry.metrics()
  t.match(text, /^streamd_input_switches_total\{stream="cam",cause="loss"\} 2$/m)
  t.match(text, /^streamd_input_switches_total\{stream="cam",cause="manual"\} 1$/m)
  t.match(text, /^streamd_input_on_air\{stream="cam",input="backup"\} 1$/m, 'the last input set is on air')
  t.match(text, /^streamd_input_on_air\{stream="cam",input="primary"\} 0$/m, 'the one before is off')
  t.match(text, /^streamd_input_on_air\{stream="cam",input="slate"\} 0$/m)
  t.match(text, /^# TYPE streamd_input_switches_total counter$/m)
  t.match(text, /^# TYPE streamd_input_on_air gauge$/m)

  m.dropStream('cam')
  await new Promise((r) => setImmediate(r)) // counters are dropped once their series are listed
  const after = await m.registry.metrics()
  t.notMatch(after, /stream="cam"/, 'no series of the ended stream is left')
  t.match(after, /^streamd_input_switches_total\{stream="other",cause="slate"\} 1$/m, 'other streams keep theirs')
  t.match(after, /^streamd_input_on_air\{stream="other",input="slate"\} 1$/m)
})
