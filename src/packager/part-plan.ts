/**
 * How many frames the next part of a segment gets when the segment's end is known in
 * advance (an audio rendition on the shared grid). Pure arithmetic, so every
 * combination of part target, frame length and segment length can be tested.
 *
 * The grid's 2 s is no whole number of AAC frames (93.75 at 48 kHz), so parts of a fixed
 * size leave a last part of one to four frames, and hls.js was seen to skip such a part
 * and stall on the hole. The plan never leaves a sliver:
 * - as few parts as fit within PART-TARGET (`maxFrames` each);
 * - spread evenly when even parts reach 85% of PART-TARGET (`minFrames`);
 * - otherwise every part but the last at the 85% floor (RFC 8216bis 4.4.4.9 exempts
 *   only the last part of a segment; it exempts INDEPENDENT parts too, but strict
 *   parsers apply the floor to them), the last taking the rest;
 * - and if that rest would be under half the floor, evenly after all (independent parts
 *   may be short; a sliver is what players stumble on).
 */

/** Frames in the next part, given the frames left in the segment and the part bounds. */
export function nextPartFrames(framesLeft: number, minFrames: number, maxFrames: number): number {
  const max = Math.max(1, maxFrames)
  const min = Math.min(Math.max(1, minFrames), max)
  if (framesLeft <= max) return Math.max(1, framesLeft)
  const parts = Math.ceil(framesLeft / max)
  const even = Math.floor(framesLeft / parts)
  // Larger parts first: the plan for what is left after this part stays the same.
  const evenFirst = framesLeft % parts === 0 ? even : even + 1
  if (even >= min) return evenFirst
  const rest = framesLeft - (parts - 1) * min
  return rest >= min / 2 ? min : evenFirst
}

/**
 * Frames of length `frameTicks` still to come in a segment from `startTicks` up to
 * `endTicks`, where a frame belongs to the segment that its start plus `slackTicks` (the
 * grid's half frame) falls in.
 */
export function framesBefore(startTicks: number, endTicks: number, frameTicks: number, slackTicks: number): number {
  if (frameTicks <= 0) return 0
  return Math.max(0, Math.ceil((endTicks - startTicks - slackTicks) / frameTicks - 1e-9))
}
