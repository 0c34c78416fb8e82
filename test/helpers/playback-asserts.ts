/**
 * The assertions every real player must pass in the playback tests: playback
 * after the first `playing` kept pace with the wall clock and never stalled
 * (smooth playback), and the player used LL-HLS blocking playlist reload and
 * parts; plus the start-up diagnostics a failing test prints. The page, its
 * sampler and the live source live in playback.ts.
 */
import type { Test } from 'tap'
import type { RecordedRequest, RequestLog } from './browser.js'
import type { FreezeLog } from './loop-freezes.js'
import { fmt, quantile, type PageState, type Sample } from './playback.js'

/**
 * Assert that playback after the first `playing` advanced in step with the wall clock
 * for ≥ `minWallSeconds`, with no waiting/pause/ended/error event and currentTime never
 * stuck for more than `stuckMs`. A `waiting` that this process's own event loop freeze
 * explains (`freezes`: the origin could not answer; see loop-freezes.ts) is reported,
 * not failed. Returns the samples taken after the first `playing`.
 */
export function assertSmoothPlayback(t: Test, s: PageState, firstPlayingAt: number, o: { minWallSeconds: number; stuckMs?: number; freezes?: FreezeLog }): Sample[] {
  const stuckMs = o.stuckMs ?? 1000
  const watched = s.samples.filter((x) => x.at >= firstPlayingAt)
  t.ok(watched.length >= o.minWallSeconds * 2, `enough samples (${watched.length})`)
  const first = watched[0]
  const last = watched.at(-1)
  if (!first || !last) return watched
  const wall = (last.at - first.at) / 1000
  const advanced = last.ct - first.ct
  t.comment(`currentTime advanced ${fmt(advanced)} s over ${fmt(wall)} s of wall time (${watched.length} samples)`)
  t.ok(wall >= o.minWallSeconds, `watched ≥ ${o.minWallSeconds} s of wall time (${fmt(wall)} s)`)
  t.ok(advanced >= o.minWallSeconds - 1 && advanced >= wall - 1.5, `currentTime advanced ${fmt(advanced)} s over ${fmt(wall)} s`)

  const after = s.events.filter((e) => e.at > firstPlayingAt)
  // The stuck-currentTime check below still applies to the whole watch, excused or not.
  const excused = after.filter((e) => e.type === 'waiting' && o.freezes?.explaining(e.at))
  for (const e of excused) {
    const f = o.freezes!.explaining(e.at)!
    t.comment(`waiting at +${e.at - firstPlayingAt} ms (currentTime ${fmt(e.ct)}) not failed: this process's event loop stood still ${f.ms} ms from +${f.from - firstPlayingAt} ms (the origin could not answer)`)
  }
  t.same(after.filter((e) => !excused.includes(e)).filter((e) => e.type === 'waiting' || e.type === 'pause' || e.type === 'ended' || e.type === 'error')
    .map((e) => `${e.type} at +${e.at - firstPlayingAt} ms (currentTime ${fmt(e.ct)})`), [], 'no waiting/pause/ended/error event after the first `playing`')
  const seeks = after.filter((e) => e.type === 'seeking')
  if (seeks.length > 0) t.comment(`seeks after start: ${seeks.map((e) => `+${e.at - firstPlayingAt} ms @${fmt(e.ct)}`).join(', ')}`)
  const stuck: string[] = []
  let since = first
  for (const x of watched) {
    if (x.paused) stuck.push(`paused at +${x.at - firstPlayingAt} ms`)
    if (x.ct !== since.ct || x.paused) since = x
    else if (x.at - since.at > stuckMs) {
      stuck.push(`currentTime stuck at ${fmt(x.ct)} from +${since.at - firstPlayingAt} ms to +${x.at - firstPlayingAt} ms (readyState ${x.readyState}, buffered ${JSON.stringify(x.buffered)})`)
      since = x
    }
  }
  t.same(stuck, [], `currentTime never stuck for > ${stuckMs} ms while playing`)
  return watched
}

const statuses = (rs: RecordedRequest[]): string => {
  const m = new Map<string, number>()
  for (const r of rs) m.set(String(r.status ?? r.failure ?? 'pending'), (m.get(String(r.status ?? r.failure ?? 'pending')) ?? 0) + 1)
  return [...m].map(([k, v]) => `${k}×${v}`).join(' ')
}

/**
 * Assert the player used LL-HLS: ≥ `min` playlist requests with `_HLS_msn`, ≥ `min` with
 * `_HLS_msn` and `_HLS_part`, ≥ `min` part loads, and no request refused (4xx/5xx but 503).
 */
export function assertBlockingReload(t: Test, requests: RequestLog, o: { player: string; min: number }): void {
  const playlists = requests.matching(/\.m3u8(\?|$)/)
  const blocking = requests.withQueryParam('_HLS_msn')
  const blockingPart = blocking.filter((r) => new URL(r.url).searchParams.has('_HLS_part'))
  const skip = requests.withQueryParam('_HLS_skip')
  const parts = requests.matching(/\/\d+\.\d+\.m4s(\?|$)/)
  const segments = requests.matching(/\/\d+\.m4s(\?|$)/)
  const held = blocking.filter((r) => r.respondedAt !== undefined).map((r) => r.respondedAt! - r.startedAt)
  t.comment(`requests: ${requests.requests.length} total; playlists ${playlists.length} [${statuses(playlists)}], ` +
    `with _HLS_msn ${blocking.length}, with _HLS_msn+_HLS_part ${blockingPart.length}, with _HLS_skip ${skip.length}; ` +
    `parts ${parts.length} [${statuses(parts)}], segments ${segments.length} [${statuses(segments)}]`)
  t.comment(`blocking playlist hold: median ${fmt(quantile(held, 0.5))} ms, p95 ${fmt(quantile(held, 0.95))} ms; ` +
    `${held.filter((ms) => ms >= 100).length} of ${held.length} held ≥ 100 ms`)
  t.ok(blocking.length >= o.min, `${o.player} made blocking playlist requests with _HLS_msn (${blocking.length})`)
  t.ok(blockingPart.length >= o.min, `${o.player} made blocking playlist requests with _HLS_part (${blockingPart.length})`)
  t.ok(parts.length >= o.min, `${o.player} loaded LL-HLS parts (${parts.length})`)
  const refused = [...playlists, ...parts, ...segments].filter((r) => r.status !== undefined && r.status >= 400 && r.status !== 503)
  t.same(refused.map((r) => `${r.status} ${r.url}`), [], 'no playlist, part or segment request refused (4xx/5xx other than 503)')
}

/** Failure diagnostics: the start-up requests with timing, the media events, the playlist at the end. */
export function commentStartup(t: Test, requests: RequestLog, s: PageState, playlistAtEnd: string): void {
  const t0 = requests.requests[0]?.startedAt ?? 0
  t.comment(`start-up requests (ms after the page request: issued → headers → done):\n${requests.requests.slice(0, 16)
    .map((r) => `+${r.startedAt - t0} → +${(r.respondedAt ?? NaN) - t0} → +${(r.finishedAt ?? NaN) - t0} ${r.status ?? r.failure} ${r.url}`).join('\n')}`)
  t.comment(`media events: ${s.events.map((e) => `${e.type}@+${e.at - t0}(${fmt(e.ct)})`).join(' ')}`)
  t.comment(`media playlist at the end of the watch:\n${playlistAtEnd}`)
}
