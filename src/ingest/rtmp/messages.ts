/**
 * RTMP message shapes, type ids and builders for the messages the server sends
 * (Adobe RTMP 1.0 §5.4 protocol control, §6.2 user control, §7.1 message types).
 */
import { encodeAmf0, type Amf0Value } from '../../formats/amf0.js'

/** RTMP message type ids. */
export const MessageType = {
  setChunkSize: 1,
  abort: 2,
  acknowledgement: 3,
  userControl: 4,
  windowAckSize: 5,
  setPeerBandwidth: 6,
  audio: 8,
  video: 9,
  dataAmf3: 15,
  sharedObjectAmf3: 16,
  commandAmf3: 17,
  dataAmf0: 18,
  sharedObjectAmf0: 19,
  commandAmf0: 20,
  aggregate: 22,
} as const

/** User control event types (§6.2). */
export const UserControl = {
  streamBegin: 0,
  streamEof: 1,
  streamDry: 2,
  setBufferLength: 3,
  streamIsRecorded: 4,
  pingRequest: 6,
  pingResponse: 7,
} as const

/** One complete RTMP message, as reassembled from (or split into) chunks. */
export interface RtmpMessage {
  /** Chunk stream id it travelled on. */
  csid: number
  typeId: number
  /** Message stream id (0 for the NetConnection, createStream ids for NetStreams). */
  streamId: number
  /** Absolute timestamp in ms, 32-bit. */
  timestamp: number
  payload: Buffer
}

/** Chunk stream for protocol control messages (§5.4: csid 2, stream 0). */
export const CONTROL_CSID = 2
/** Chunk stream the server uses for command responses. */
export const COMMAND_CSID = 3

function u32Message(typeId: number, value: number): RtmpMessage {
  const payload = Buffer.alloc(4)
  payload.writeUInt32BE(value >>> 0)
  return { csid: CONTROL_CSID, typeId, streamId: 0, timestamp: 0, payload }
}

/** Set Chunk Size (§5.4.1); bit 31 must be zero. */
export function setChunkSizeMessage(size: number): RtmpMessage {
  return u32Message(MessageType.setChunkSize, size & 0x7fffffff)
}

/** Acknowledgement carrying the number of bytes received so far (§5.4.3). */
export function acknowledgementMessage(sequence: number): RtmpMessage {
  return u32Message(MessageType.acknowledgement, sequence)
}

/** Window Acknowledgement Size (§5.4.4). */
export function windowAckSizeMessage(size: number): RtmpMessage {
  return u32Message(MessageType.windowAckSize, size)
}

/** Set Peer Bandwidth (§5.4.5); limit type 2 = dynamic. */
export function setPeerBandwidthMessage(size: number, limitType = 2): RtmpMessage {
  const payload = Buffer.alloc(5)
  payload.writeUInt32BE(size >>> 0)
  payload[4] = limitType
  return { csid: CONTROL_CSID, typeId: MessageType.setPeerBandwidth, streamId: 0, timestamp: 0, payload }
}

/** User control message with a 4-byte event argument (StreamBegin, PingResponse...). */
export function userControlMessage(event: number, arg: number): RtmpMessage {
  const payload = Buffer.alloc(6)
  payload.writeUInt16BE(event)
  payload.writeUInt32BE(arg >>> 0, 2)
  return { csid: CONTROL_CSID, typeId: MessageType.userControl, streamId: 0, timestamp: 0, payload }
}

/** AMF0 command message (type 20) on the given message stream. */
export function commandMessage(streamId: number, values: readonly Amf0Value[]): RtmpMessage {
  return { csid: COMMAND_CSID, typeId: MessageType.commandAmf0, streamId, timestamp: 0, payload: encodeAmf0(values) }
}

/** onStatus command (§7.2.2) with an info object, as NetStream replies use. */
export function onStatusMessage(streamId: number, level: 'status' | 'error', code: string, description: string): RtmpMessage {
  return commandMessage(streamId, ['onStatus', 0, null, { level, code, description }])
}
