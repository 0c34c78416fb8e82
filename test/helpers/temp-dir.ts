/**
 * A temporary directory removed when the test (or, given the file's root `t`, the
 * whole file) ends, passed or failed: test runs must not leave /tmp filling up.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Create `$TMPDIR/{prefix}XXXXXX` now; removed with everything in it at `t`'s teardown. */
export function tempDirSync(t: { teardown: (fn: () => void) => void }, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
