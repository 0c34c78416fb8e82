/**
 * Kernel pipes for raw frames: real FIFOs (not socket pairs) at both ends,
 * bytes pass through a child unchanged, and no path is left on disk.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { closeSync, fstatSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { pipeFromChild, pipeToChild } from '../../src/transcode/os-pipe.js'

t.test('a child reads from one kernel pipe and writes to another', async (t) => {
  const before = readdirSync(tmpdir()).filter((n) => n.startsWith('streamd-pipe-')).length
  const input = pipeToChild()!
  const output = pipeFromChild()!
  t.ok(input && output, 'mkfifo is available here')
  t.ok(fstatSync(input.child).isFIFO() && fstatSync(output.child).isFIFO(), 'both are FIFOs')
  const cat = spawn('cat', [], { stdio: [input.child, output.child, 'ignore'] })
  closeSync(input.child)
  closeSync(output.child)
  const got: Buffer[] = []
  output.node.on('data', (d: Buffer) => got.push(d))
  const ended = new Promise((r) => output.node.once('end', r))
  const data = Buffer.alloc(3 * 1024 * 1024).map((_, i) => i % 251)
  input.node.end(data)
  await ended
  await new Promise((r) => cat.once('close', r))
  t.ok(Buffer.concat(got).equals(data), `${data.length} bytes through unchanged`)
  t.equal(readdirSync(tmpdir()).filter((n) => n.startsWith('streamd-pipe-')).length, before, 'no FIFO path left behind')
})

t.test('writing to a pipe whose reader died is an error event, not a crash', async (t) => {
  const input = pipeToChild()!
  const child = spawn('true', [], { stdio: [input.child, 'ignore', 'ignore'] })
  closeSync(input.child)
  await new Promise((r) => child.once('close', r))
  const err = await new Promise<Error>((resolve) => {
    input.node.once('error', resolve)
    input.node.write(Buffer.alloc(1024 * 1024))
  })
  t.match(err.message, /EPIPE/)
})
