/**
 * What bench/latency watches besides the player: when each segment (FFmpeg's
 * HLS) or part (streamd) really became available, against its program date
 * time (see estimatePdtOffset in latency-stats.mjs); and the small HTTP GET
 * both the bench and these watchers use.
 */
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** GET a URL's text with a timeout: { status, text }. */
export async function getText(url, timeoutMs = 3000) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  return { status: res.status, text: await res.text() }
}


/**
 * Poll FFmpeg's output directory: for each segment once listed, its program date time,
 * duration and file mtime (see estimatePdtOffset). stop() returns the records.
 */
export function watchSegments(root) {
  const seen = new Map()
  const poll = () => {
    let text
    try { text = readFileSync(join(root, 'index.m3u8'), 'utf8') } catch { return }
    let pdt
    let dur
    for (const line of text.split('\n')) {
      if (line.startsWith('#EXTINF:')) dur = Number(line.slice(8).split(',')[0])
      else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = Date.parse(line.slice(25).replace(/([+-]\d\d)(\d\d)$/, '$1:$2'))
      else if (line && !line.startsWith('#')) {
        if (!seen.has(line) && Number.isFinite(pdt) && Number.isFinite(dur)) {
          try {
            const mtimeMs = Number(statSync(join(root, line), { bigint: true }).mtimeNs) / 1e6
            seen.set(line, { pdtMs: pdt, durationS: dur, mtimeMs })
          } catch { /* deleted meanwhile */ }
        }
        pdt = undefined
        dur = undefined
      }
    }
  }
  const timer = setInterval(poll, 100)
  return { stop: () => { clearInterval(timer); poll(); return [...seen.values()] } }
}

/**
 * Poll streamd's media playlist every 50 ms (plain GETs, not blocking, so the
 * blocking-delay histogram only sees the player) and note, for each new part,
 * when it was first listed and the program date time of its end. stop()
 * returns [{ pdtMs, durationS, mtimeMs }] in the shape estimatePdtOffset takes
 * (mtimeMs = first seen), to check streamd's dates against when media really arrived.
 */
export function watchParts(url, keepTexts) {
  const seen = new Map()
  let last = ''
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      const t0 = Date.now()
      try {
        const { status, text } = await getText(url, 2000)
        const at = Date.now()
        if (keepTexts && text !== last) { keepTexts.push([at, url, text]); last = text }
        if (status === 200) {
          let pdt
          let offset = 0
          for (const line of text.split('\n')) {
            if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) { pdt = Date.parse(line.slice(25)); offset = 0 }
            else if (line.startsWith('#EXT-X-PART:') && pdt !== undefined && Number.isFinite(pdt)) {
              const d = Number(/DURATION=([\d.]+)/.exec(line)?.[1])
              const uri = /URI="([^"]+)"/.exec(line)?.[1]
              offset += d
              if (uri && !seen.has(uri)) seen.set(uri, { pdtMs: pdt + (offset - d) * 1000, durationS: d, mtimeMs: at })
            } else if (line && !line.startsWith('#')) pdt = undefined
          }
        }
      } catch { /* next poll */ }
      await sleep(Math.max(0, 50 - (Date.now() - t0)))
    }
  })()
  // The first listing of an already-running playlist shows old parts late: skip the first second.
  const since = Date.now() + 1000
  return { stop: async () => { stopped = true; await loop; return [...seen.values()].filter((r) => r.mtimeMs >= since) } }
}
