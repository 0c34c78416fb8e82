/**
 * Source size and frame rate from a video sequence header, for publishers
 * that send no onMetaData (or an incomplete one).
 */
import { sourceVideoInfo } from '../formats/h264-sps.js'
import type { SourceVideo } from '../transcode/ladder.js'

/** Width, height and frame rate from an FLV AVC sequence header body; {} when unreadable. */
export function probeSps(videoConfig: Buffer): Partial<SourceVideo> {
  try {
    const info = sourceVideoInfo(videoConfig)
    return { width: info.width, height: info.height, fps: info.frameRate }
  } catch {
    // Not AVC (HEVC, AV1) or a broken SPS: the caller falls back to passthrough.
    return {}
  }
}
