/**
 * Kernel pipes for the raw-frame paths of a ladder. Node's child stdio "pipes"
 * are Unix socket pairs; moving ~70 MB/s of raw 720p/480p/360p frames through
 * sockets cost the workers ~10% more CPU than through pipes (bench/RESULTS.md,
 * bench:ladder). Node has no pipe(2), so a FIFO is made with mkfifo(1), opened
 * once at each end, and unlinked at once: only the two descriptors remain.
 *
 * Each open(2) of a FIFO is its own open file description, so the child's end
 * stays blocking (what FFmpeg's pipe protocol expects) while Node's end is
 * non-blocking (libuv needs that).
 */
import { spawnSync } from 'node:child_process'
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** One kernel pipe: `child` goes to the child's stdio, `node` is Node's end as a stream. */
export interface OsPipe {
  /** Descriptor handed to the child (close it in the parent once spawned). */
  child: number
  /** Node's end. */
  node: Socket
}

let available: boolean | undefined

/** A FIFO's two ends; undefined where mkfifo is missing (callers fall back to socket pairs). */
function fifoPair(childReads: boolean): { child: number; node: number } | undefined {
  if (available === false) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'streamd-pipe-'))
  try {
    const path = join(dir, 'p')
    const made = spawnSync('mkfifo', ['-m', '600', path], { stdio: 'ignore' })
    available = made.status === 0
    if (!available) return undefined
    const { O_RDONLY, O_WRONLY, O_NONBLOCK } = constants
    if (childReads) {
      // A non-blocking reader first, so the writer's open cannot block; then the child's
      // blocking reader (a writer exists now), and the first reader is no longer needed.
      const first = openSync(path, O_RDONLY | O_NONBLOCK)
      const node = openSync(path, O_WRONLY | O_NONBLOCK)
      const child = openSync(path, O_RDONLY)
      closeSync(first)
      return { child, node }
    }
    const node = openSync(path, O_RDONLY | O_NONBLOCK)
    const child = openSync(path, O_WRONLY)
    return { child, node }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A pipe the child writes to and Node reads from; undefined without mkfifo. */
export function pipeFromChild(): OsPipe | undefined {
  const p = fifoPair(false)
  return p && { child: p.child, node: new Socket({ fd: p.node, readable: true, writable: false }) }
}

/** A pipe Node writes to and the child reads from; undefined without mkfifo. */
export function pipeToChild(): OsPipe | undefined {
  const p = fifoPair(true)
  return p && { child: p.child, node: new Socket({ fd: p.node, readable: false, writable: true }) }
}
