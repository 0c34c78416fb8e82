/**
 * The command line of every bench script, in one place: strict node:util parseArgs;
 * --help / -h prints the script's USAGE and exits 0; an unknown option or a malformed
 * value is one line on stderr and exit 2. Both happen before the script does any work
 * (no build, no copies, no children, no files). And the stop path: SIGINT / SIGTERM
 * run the script's synchronous cleanup (its tracked children, by pid) and exit non-zero.
 */
import { parseArgs } from 'node:util'
import { treePids } from './procs.mjs'

/** Exit status of a command-line mistake (the getopt convention). */
export const USAGE_EXIT = 2

/**
 * Print `SCRIPT: message (see --help)` on stderr and exit 2.
 * @param {string} script
 * @param {string} message
 * @returns {never}
 */
export function usageError(script, message) {
  process.stderr.write(`${script}: ${message} (see --help)\n`)
  return process.exit(USAGE_EXIT)
}

/** parseArgs' error as one line naming the option and what is allowed. */
function describe(err, options) {
  const quoted = /'([^']*)'/.exec(err.message)?.[1] ?? ''
  // '-h, --help' and '--seconds <value>' name one option.
  const name = /--[\w-]+/.exec(quoted)?.[0] ?? quoted.split(' ')[0]
  const allowed = Object.entries(options).map(([k, o]) => `--${k}${o.type === 'string' ? ' V' : ''}`).join(', ')
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': return `unknown option ${name}; allowed: ${allowed}`
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': return `unexpected argument '${quoted}'; options only: ${allowed}`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(err.message)) return `${name} takes no value`
      return `${name} needs a value`
    default: return err.message.split('\n')[0]
  }
}

/**
 * @typedef {object} NumRange
 * @property {number} [min]
 * @property {number} [max]
 * @property {number} [gt] exclusive lower bound
 * @property {boolean} [integer]
 */

/**
 * @typedef {object} Cli
 * @property {Record<string, any>} values the parsed options (strings, booleans, lists)
 * @property {(message: string) => never} fail print the message as a usage error and exit 2
 * @property {(name: string, fallback?: number | string, range?: NumRange) => number} num
 *   the option as a number in range (exit 2 otherwise); undefined only when it has neither a value, a default nor a fallback
 * @property {(name: string, allowed?: string[] | ((x: string) => boolean), what?: string) => string[]} list
 * @property {(name: string, allowed: string[]) => string | undefined} choice
 */

/**
 * Parse `args` strictly against `options` (parseArgs' shape; help/-h is added).
 * Returns { values, fail(message), num(name, fallback, range), list(name, allowed), choice(name, allowed) }.
 * @param {string} script
 * @param {string} usage
 * @param {import('node:util').ParseArgsConfig['options']} options
 * @param {string[]} [args]
 * @returns {Cli}
 */
export function parseCli(script, usage, options, args = process.argv.slice(2)) {
  /** @type {import('node:util').ParseArgsConfig['options']} */
  const all = { ...options, help: { type: 'boolean', short: 'h', default: false } }
  /** @type {Record<string, any>} */
  let values = {}
  try {
    ({ values } = parseArgs({ args, options: all, strict: true, allowPositionals: false }))
  } catch (err) {
    usageError(script, describe(err, all))
  }
  if (values.help) {
    process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`)
    process.exit(0)
  }
  const fail = (message) => usageError(script, message)
  /**
   * --name as a number (`fallback` when not given; undefined stays undefined) in
   * [min, max], above `gt` when given, an integer when `integer`.
   */
  /** @type {Cli['num']} */
  const num = (name, fallback, { min = -Infinity, max = Infinity, gt, integer = false } = {}) => {
    const raw = values[name] ?? fallback
    if (raw === undefined) return /** @type {number} */ (/** @type {unknown} */ (undefined))
    const v = typeof raw === 'number' ? raw : String(raw).trim() === '' ? NaN : Number(raw)
    const ok = Number.isFinite(v) && v >= min && v <= max && (gt === undefined || v > gt) && (!integer || Number.isInteger(v))
    if (!ok) {
      const lo = gt !== undefined ? `(${gt}` : `[${min}`
      fail(`--${name} must be ${integer ? 'an integer' : 'a number'} in ${lo}, ${max}]; got '${raw}'`)
    }
    return v
  }
  /**
   * --name as a comma-separated list; every item must pass `allowed` when given: a
   * list of names, or a predicate with `what` saying what an item must be.
   */
  const list = (name, allowed, what) => {
    const items = String(values[name]).split(',').map((s) => s.trim()).filter(Boolean)
    if (items.length === 0) fail(`--${name} is empty`)
    for (const x of items) {
      if (Array.isArray(allowed) && !allowed.includes(x)) fail(`--${name}: unknown '${x}' (allowed: ${allowed.join(', ')})`)
      if (typeof allowed === 'function' && !allowed(x)) fail(`--${name}: '${x}' is not ${what ?? 'allowed'}`)
    }
    return items
  }
  /** --name as one of `allowed` (undefined when not given and without a default). */
  const choice = (name, allowed) => {
    const v = values[name]
    if (v !== undefined && !allowed.includes(v)) fail(`--${name} must be one of ${allowed.join(', ')}; got '${v}'`)
    return v
  }
  return { values, fail, num, list, choice }
}

/**
 * SIGINT (exit 130) / SIGTERM (exit 143), and any exit: run `cleanupSync` (which
 * signals the script's tracked children by pid), then SIGTERM every descendant of
 * this process still there, found in /proc before anything was signalled:
 * grandchildren (wrk under its sh wrapper) and children that in-process code (an
 * Origin's FFmpeg workers) started without a bench tracker.
 */
export function stopOnSignals(script, cleanupSync) {
  const stopAll = () => {
    const tree = treePids(process.pid).slice(1)
    cleanupSync()
    for (const pid of tree) try { process.kill(pid, 'SIGTERM') } catch { /* gone */ }
  }
  // process.exit() runs the 'exit' handler, which does the stopping once.
  const on = (signal, code) => process.once(signal, () => {
    process.stderr.write(`\n${script}: ${signal}: stopping children\n`)
    process.exit(code)
  })
  on('SIGINT', 130)
  on('SIGTERM', 143)
  process.on('exit', stopAll)
}
