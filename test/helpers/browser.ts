/**
 * Debian's Chromium driven by playwright-core for end-to-end playback tests,
 * and a recorder of the requests a page makes. Never downloads a browser.
 */
import type { Test } from 'tap'
import { chromium, type Browser, type Page, type Request } from 'playwright-core'
import { findOnPath, isExecutable } from '../../src/transcode/ffmpeg-path.js'

/** Flags that keep a headless Chromium quiet, deterministic and able to autoplay. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  '--mute-audio',
  // A hidden headless tab must not have its timers or media throttled.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
]

const INSTALL_HINT = 'install Debian\'s Chromium with `apt-get install -y chromium` (or set CHROMIUM_PATH); tests never download a browser'

/** Path of the Chromium binary: CHROMIUM_PATH, /usr/bin/chromium, or `chromium` on PATH; throws with the install hint. */
export function resolveChromium(): string {
  const fromEnv = process.env.CHROMIUM_PATH
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv
    throw new Error(`CHROMIUM_PATH=${fromEnv} is not an executable file; ${INSTALL_HINT}`)
  }
  if (isExecutable('/usr/bin/chromium')) return '/usr/bin/chromium'
  const found = findOnPath('chromium') ?? findOnPath('chromium-browser')
  if (found) return found
  throw new Error(`Chromium not found; ${INSTALL_HINT}`)
}

/** Launch headless Debian Chromium; closed at the test's teardown. */
export async function launchChromium(t: Test): Promise<Browser> {
  const executablePath = resolveChromium()
  let browser: Browser
  try {
    // playwright-core gives every launch a fresh temporary profile and removes it on close.
    browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 })
  } catch (err) {
    throw new Error(`cannot launch Chromium at ${executablePath}: ${(err as Error).message}\n(${INSTALL_HINT})`)
  }
  t.teardown(() => browser.close().catch(() => undefined))
  return browser
}

/** One request the page made, with wall-clock timing (ms since the epoch). */
export interface RecordedRequest {
  url: string
  method: string
  resourceType: string
  /** When the browser issued it. */
  startedAt: number
  /** When the response headers arrived. */
  respondedAt?: number
  /** When the body was fully read (or the request failed). */
  finishedAt?: number
  status?: number
  failure?: string
}

/** The requests a page made, in issue order, with query helpers. */
export class RequestLog {
  readonly requests: RecordedRequest[] = []
  private readonly byRequest = new Map<Request, RecordedRequest>()

  constructor(page: Page) {
    page.on('request', (req) => {
      const rec: RecordedRequest = { url: req.url(), method: req.method(), resourceType: req.resourceType(), startedAt: Date.now() }
      this.requests.push(rec)
      this.byRequest.set(req, rec)
    })
    page.on('response', (res) => {
      const rec = this.byRequest.get(res.request())
      if (rec) {
        rec.respondedAt = Date.now()
        rec.status = res.status()
      }
    })
    page.on('requestfinished', (req) => {
      const rec = this.byRequest.get(req)
      if (rec) rec.finishedAt = Date.now()
      this.byRequest.delete(req)
    })
    page.on('requestfailed', (req) => {
      const rec = this.byRequest.get(req)
      if (rec) {
        rec.finishedAt = Date.now()
        rec.failure = req.failure()?.errorText ?? 'failed'
      }
      this.byRequest.delete(req)
    })
  }

  /** Requests whose URL matches `re` (tested against the full URL, query included). */
  matching(re: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => re.test(r.url))
  }

  /** Requests whose query has parameter `key` (e.g. `_HLS_msn`). */
  withQueryParam(key: string): RecordedRequest[] {
    return this.requests.filter((r) => {
      try {
        return new URL(r.url).searchParams.has(key)
      } catch {
        return false
      }
    })
  }
}

/** Start recording the requests `page` makes from now on. */
export function recordRequests(page: Page): RequestLog {
  return new RequestLog(page)
}
