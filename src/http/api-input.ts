/**
 * `POST /api/v1/streams/{name}/input`: put a stream's primary, backup or slate
 * on air by hand. The body is small JSON, read with a hard limit and checked
 * field by field, so a stranger's bytes get a 400 or 413 naming the problem;
 * whether the switch can happen (is a backup connected?) is the session's
 * answer, passed through as 404 or 409. It takes effect at the target input's
 * next key frame, hence 202 Accepted.
 */
import type { Logger } from 'pino'
import { describeError } from '../errors.js'
import type { OnAirInput } from '../packager/live-stream.js'

/** Outcome of a switch request, as the session decides it. */
export type SwitchResult = { ok: true } | { ok: false; status: 404 | 409 | 400; reason: string }

/** Switch `stream` to `input` at that input's next key frame, or say why not. */
export type SwitchInput = (stream: string, input: OnAirInput) => SwitchResult

/** Largest body accepted: `{"input":"backup"}` is 18 bytes; room for whitespace and later fields. */
export const MAX_INPUT_BODY = 1024

const INPUTS: readonly OnAirInput[] = ['primary', 'backup', 'slate']
const SHAPE = '{"input": "primary" | "backup" | "slate"}'

/** An answer to send: status and JSON body. */
export interface InputAnswer {
  status: number
  body: { ok: true; stream: string; input: OnAirInput } | { error: string; message: string }
}

const fail = (status: number, error: string, message: string): InputAnswer => ({ status, body: { error, message } })

/** The input a request body names, or the 400 that says what is wrong with it. */
export function inputFromBody(body: Buffer): OnAirInput | InputAnswer {
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    return fail(400, 'bad-request', `the body is not JSON; send ${SHAPE}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail(400, 'bad-request', `the body must be a JSON object: ${SHAPE}`)
  const input = (parsed as Record<string, unknown>).input
  if (input === undefined) return fail(400, 'bad-request', `the body has no "input": ${SHAPE}`)
  if (typeof input !== 'string') return fail(400, 'bad-request', `"input" must be a string, not ${input === null ? 'null' : typeof input}: ${SHAPE}`)
  if (!(INPUTS as readonly string[]).includes(input)) {
    return fail(400, 'bad-request', `"input" must be primary, backup or slate, not ${JSON.stringify(input.slice(0, 16))}`)
  }
  return input as OnAirInput
}

/**
 * Decide a switch request of `stream` whose body is `body` (or was too large). Without
 * a switch callback (a server whose streams have no redundant inputs) every switch is
 * impossible: 409.
 */
export function answerSwitch(stream: string, body: Buffer | 'too-large', switchInput: SwitchInput | undefined, log?: Logger, remote = ''): InputAnswer {
  if (body === 'too-large') return fail(413, 'content-too-large', `the body is at most ${MAX_INPUT_BODY} bytes: ${SHAPE}`)
  const input = inputFromBody(body)
  if (typeof input !== 'string') return input
  if (!switchInput) return fail(409, 'conflict', 'this server does not switch inputs')
  let result: SwitchResult
  try {
    result = switchInput(stream, input)
  } catch (err) {
    log?.error({ err: describeError(err), stream, input }, 'api: input switch failed')
    return fail(500, 'internal', 'the switch failed; see the server log')
  }
  if (!result.ok) {
    const code = result.status === 404 ? 'not-found' : result.status === 409 ? 'conflict' : 'bad-request'
    return fail(result.status, code, result.reason)
  }
  log?.info({ stream, input, remote }, 'api: input switch requested')
  return { status: 202, body: { ok: true, stream, input } }
}
