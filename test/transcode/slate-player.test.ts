/**
 * The slate player's timing, without FFmpeg or waiting: a stand-in clip whose frames
 * are numbered, and a fake clock and timers that run ten minutes of slate at once.
 */
import t from 'tap'
import type { MediaTag } from '../../src/ingest/types.js'
import type { SlateClip } from '../../src/transcode/slate-clip.js'
import { SlatePlayer, SlateTimeline, type SlateTimers } from '../../src/transcode/slate-player.js'

/** A clip of `fps` frames (1 s) whose bodies say their index; audio at `rate` unless 0. */
function fakeClip(fps: number, rate: number): SlateClip {
  const frames = Array.from({ length: Math.round(fps) }, (_, i) => Buffer.from([i === 0 ? 0x17 : 0x27, 1, 0, 0, 0, i]))
  return {
    spec: { fps, frames: frames.length },
    videoSeq: Buffer.from('17000000000164', 'hex'),
    frames,
    audio: rate ? { seq: Buffer.from('af001210', 'hex'), silence: Buffer.from('af01aa', 'hex'), sampleRate: rate, channels: 2 } : undefined,
  } as unknown as SlateClip
}

/** A clock and timers that only move when told to. */
function fakeTime(start: number) {
  let now = start
  let id = 0
  const pending = new Map<number, { at: number; fn: () => void }>()
  const timers: SlateTimers = {
    set: (fn, ms) => { pending.set(++id, { at: now + ms, fn }); return id },
    clear: (h) => { pending.delete(h as number) },
  }
  /** Fire timers in order until the clock reaches `until`. */
  const runUntil = (until: number): void => {
    for (;;) {
      const next = [...pending.entries()].sort((a, b) => a[1].at - b[1].at)[0]
      if (!next || next[1].at > until) break
      pending.delete(next[0])
      now = next[1].at
      next[1].fn()
    }
    now = until
  }
  return { now: () => now, timers, pending, runUntil }
}

const TEN_MINUTES = 600_000

for (const [fps, rate] of [[30, 48000], [25, 44100], [29.97, 44100], [60, 48000], [24, 22050]] as const) {
  t.test(`timeline ${fps} fps, ${rate} Hz: ten minutes without drift`, async (t) => {
    const start = 123_456
    const tl = new SlateTimeline(fakeClip(fps, rate), start)
    const video: number[] = []
    const audio: number[] = []
    let worst = 0
    // Take in uneven steps, as timers fire; after each the two tracks' last tags are within a frame.
    for (let media = start; media <= start + TEN_MINUTES; media += 7 + (media % 11)) {
      for (const tag of tl.take(media, 0)) (tag.kind === 'video' ? video : audio).push(tag.timestamp)
      if (video.length && audio.length) worst = Math.max(worst, Math.abs(video.at(-1)! - audio.at(-1)!))
    }
    const frame = Math.max(1000 / fps, (1024 * 1000) / rate)
    t.ok(worst <= frame, `the tracks' newest timestamps never more than one frame apart (worst ${worst} ms, a frame ${frame.toFixed(1)} ms)`)
    const videoOff = Math.max(...video.map((ts, k) => Math.abs(ts - start - (k * 1000) / fps)))
    const audioOff = Math.max(...audio.map((ts, j) => Math.abs(ts - start - (j * 1024 * 1000) / rate)))
    t.ok(videoOff <= 0.5, `every video timestamp within 0.5 ms of k × 1000 / fps (worst ${videoOff.toFixed(3)})`)
    t.ok(audioOff <= 0.5, `every audio timestamp within 0.5 ms of j × 1024 / rate (worst ${audioOff.toFixed(3)})`)
    t.ok(video.length >= Math.floor((TEN_MINUTES / 1000) * fps) - 1 && video.length <= Math.ceil((TEN_MINUTES / 1000) * fps) + 1, `${video.length} video frames in 10 min`)
    t.ok(Math.abs(audio.length - (TEN_MINUTES / 1000) * rate / 1024) <= 2, `${audio.length} audio frames in 10 min`)
    t.ok(video.every((x, i) => i === 0 || x > video[i - 1]!), 'video timestamps increase')
    t.ok(audio.every((x, i) => i === 0 || x > audio[i - 1]!), 'audio timestamps increase')
  })
}

t.test('player: headers first, frames in real time, the clip looped with a key frame at each loop start', async (t) => {
  const clip = fakeClip(30, 48000)
  const time = fakeTime(1_700_000_000_000)
  const tags: MediaTag[] = []
  const player = new SlatePlayer(clip, { emit: (tag) => tags.push(tag), now: time.now, timers: time.timers })
  const t0 = time.now()
  const from = 90_000
  player.start(from)
  t.same(tags.map((x) => [x.kind, x.timestamp, x.data.toString('hex')]), [
    ['video', from, clip.videoSeq.toString('hex')],
    ['audio', from, clip.audio!.seq.toString('hex')],
    ['video', from, clip.frames[0]!.toString('hex')],
    ['audio', from, clip.audio!.silence.toString('hex')],
  ], 'sequence headers, then the first frame of each track at once')
  let maxPending = 0
  for (let s = 1; s <= TEN_MINUTES / 1000; s++) {
    time.runUntil(t0 + s * 1000)
    maxPending = Math.max(maxPending, time.pending.size)
  }
  t.equal(maxPending, 1, 'one timer at a time')
  const media = tags.slice(2)
  t.ok(media.every((x) => x.timestamp - from <= x.arrival - t0), 'never ahead of the wall clock')
  t.ok(media.every((x) => x.arrival - t0 - (x.timestamp - from) <= 1), 'at most 1 ms behind it (the timer is set for the next tag)')
  const video = media.filter((x) => x.kind === 'video')
  t.equal(video.length, 30 * 600 + 1)
  t.ok(video.every((x, k) => x.data === clip.frames[k % 30]), 'frame k of the slate is frame k mod 30 of the clip')
  t.same(video.filter((x) => x.data[0] === 0x17).map((x) => x.timestamp), Array.from({ length: 601 }, (_, s) => from + s * 1000), 'a key frame every loop start')
  const audio = media.filter((x) => x.kind === 'audio')
  t.ok(Math.abs(video.at(-1)!.timestamp - audio.at(-1)!.timestamp) <= 1000 / 30, 'after 10 minutes the tracks are within a frame')
  t.equal(player.lastTimestamp, from + TEN_MINUTES)
  player.stop()
  t.equal(time.pending.size, 0, 'stop leaves no timer')
  const n = tags.length
  time.runUntil(time.now() + 5000)
  t.equal(tags.length, n, 'nothing after stop')
  t.equal(player.lastTimestamp, from + TEN_MINUTES, 'where the slate ended stays known after stop')

  player.start(700_000)
  t.same(tags.slice(n, n + 2).map((x) => [x.kind, x.timestamp]), [['video', 700_000], ['audio', 700_000]], 'a restart sends the headers again, from its own start')
  t.throws(() => player.start(800_000), /already playing/)
  player.stop()
  t.throws(() => player.start(-1), /start timestamp -1/)
  t.throws(() => player.start(1.5), /start timestamp 1.5/)
})

t.test('player: video only when the clip has no audio', async (t) => {
  const time = fakeTime(0)
  const tags: MediaTag[] = []
  const player = new SlatePlayer(fakeClip(25, 0), { emit: (tag) => tags.push(tag), now: time.now, timers: time.timers })
  player.start(0)
  time.runUntil(2000)
  player.stop()
  t.ok(tags.every((x) => x.kind === 'video'))
  t.equal(tags.length, 1 + 51)
})

t.test('player: a consumer that stops it from emit, or throws, leaves no timer', async (t) => {
  const time = fakeTime(0)
  let got = 0
  const stopping: SlatePlayer = new SlatePlayer(fakeClip(30, 48000), {
    emit: () => { if (++got === 10) stopping.stop() }, now: time.now, timers: time.timers,
  })
  stopping.start(0)
  time.runUntil(1000)
  t.equal(got, 10, 'nothing after the stop, not even the rest of a catch-up batch')
  t.equal(time.pending.size, 0)
  t.equal(stopping.playing, false)

  const errors: unknown[] = []
  let calls = 0
  const throwing = new SlatePlayer(fakeClip(30, 48000), {
    emit: () => { if (++calls === 5) throw new Error('sink gone') }, onError: (e) => errors.push(e), now: time.now, timers: time.timers,
  })
  throwing.start(0)
  time.runUntil(2000)
  t.equal(calls, 5)
  t.match(errors, [{ message: 'sink gone' }])
  t.equal(time.pending.size, 0)
  t.equal(throwing.playing, false)
})

t.test('player on real timers: paced by the clock, silent after stop', async (t) => {
  const tags: MediaTag[] = []
  const player = new SlatePlayer(fakeClip(30, 48000), { emit: (tag) => tags.push(tag) })
  const t0 = Date.now()
  player.start(1000)
  await new Promise((r) => setTimeout(r, 300))
  player.stop()
  const n = tags.length
  t.ok(tags.slice(2).every((x) => x.timestamp - 1000 <= x.arrival - t0), 'no tag before its time')
  t.ok(tags.some((x) => x.kind === 'video' && x.timestamp > 1000), 'frames after the first came from the timer')
  await new Promise((r) => setTimeout(r, 100))
  t.equal(tags.length, n, 'nothing after stop')
})
