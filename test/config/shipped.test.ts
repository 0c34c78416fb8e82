/**
 * The shipped `config/streamd.json` is the reference an operator edits: it must
 * hold every key of the schema with its default, and nothing else. Loading it
 * cannot tell (missing keys take their defaults), so the keys are compared here,
 * derived from DEFAULTS so a key added to the schema alone fails this test.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { DEFAULTS } from '../../src/config/schema.js'

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** Leaf key paths → values; an empty object (e.g. `ladder.streams`) is a leaf value. */
function leaves(tree: Record<string, unknown>, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [k, v] of Object.entries(tree)) {
    const path = prefix + k
    if (isPlainObject(v) && Object.keys(v).length > 0) leaves(v, path + '.', out)
    else out.set(path, v)
  }
  return out
}

const root = new URL('../../', import.meta.url)
const shipped = JSON.parse(readFileSync(new URL('config/streamd.json', root), 'utf8')) as Record<string, unknown>
const schemaKeys = leaves(DEFAULTS as unknown as Record<string, unknown>)
const fileKeys = leaves(shipped)

t.test('the shipped config holds every schema key', async (t) => {
  const missing = [...schemaKeys.keys()].filter((k) => !fileKeys.has(k))
  t.same(missing, [], 'keys of the schema missing from config/streamd.json')
})

t.test('the shipped config holds no key the schema lacks', async (t) => {
  const extra = [...fileKeys.keys()].filter((k) => !schemaKeys.has(k))
  t.same(extra, [], 'keys of config/streamd.json unknown to the schema')
})

t.test('every shipped value is the default', async (t) => {
  for (const [k, v] of schemaKeys) {
    if (fileKeys.has(k)) t.same(fileKeys.get(k), v, `${k} is the default`)
  }
})

t.test('the README Configuration section names every key', async (t) => {
  const readme = readFileSync(new URL('README.md', root), 'utf8')
  const start = readme.indexOf('\n## Configuration')
  t.ok(start >= 0, 'README has a Configuration section')
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  const undocumented = [...schemaKeys.keys()].filter((k) => !section.includes('`' + k + '`'))
  t.same(undocumented, [], 'keys without a line in README Configuration')
})
