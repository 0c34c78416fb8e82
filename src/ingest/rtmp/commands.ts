/**
 * NetConnection/NetStream command parsing and the replies the server builds
 * (Adobe RTMP 1.0 §7.2). Kept apart from the session so the AMF shapes clients
 * expect are in one place.
 */
import { decodeAmf0, isAmf0LimitError, decodeAmf0Value, type Amf0Object, type Amf0Value } from '../../formats/amf0.js'
import { describeError, ProtocolError } from '../../errors.js'
import { limitError } from './limits.js'
import { commandMessage, MessageType, type RtmpMessage } from './messages.js'

/** A decoded command message: name, transaction id, command object, arguments. */
export interface RtmpCommand {
  name: string
  transactionId: number
  /** Command object (connect) or null. */
  object: Amf0Value
  args: Amf0Value[]
}

/** Strip the one-byte format marker of an AMF3 (type 15/17) message, which FMS-style clients send as 0. */
function amf0Body(msg: RtmpMessage): Buffer {
  if (msg.typeId !== MessageType.commandAmf3 && msg.typeId !== MessageType.dataAmf3) return msg.payload
  if (msg.payload[0] !== 0) throw new ProtocolError('rtmp', 'AMF3 message without the AMF0 switch byte')
  return msg.payload.subarray(1)
}

/** Decode a command message (type 20, or 17 with its leading 0 byte); a limit error (limits.ts) for an oversized AMF0 value. */
export function parseCommand(msg: RtmpMessage): RtmpCommand {
  let values: Amf0Value[]
  try {
    values = decodeAmf0(amf0Body(msg))
  } catch (err) {
    if (err instanceof ProtocolError) throw err
    if (isAmf0LimitError(err)) throw limitError(`command too large: ${describeError(err)}`)
    throw new ProtocolError('rtmp', `malformed command: ${describeError(err)}`)
  }
  const [name, tx, object, ...args] = values
  if (typeof name !== 'string') throw new ProtocolError('rtmp', 'command message without a command name')
  return { name, transactionId: typeof tx === 'number' ? tx : 0, object: object ?? null, args }
}

/**
 * Body of a data message as an FLV script tag wants it: `@setDataFrame` (what
 * encoders wrap onMetaData in, §7.1.2) is removed so the body starts with
 * `onMetaData`. Undecodable bodies pass through untouched: they are the
 * consumer's business, not a reason to drop the publisher.
 */
export function dataTagBody(msg: RtmpMessage): Buffer {
  let body: Buffer
  try {
    body = amf0Body(msg)
  } catch {
    return msg.payload
  }
  try {
    const first = decodeAmf0Value(body, 0)
    if (first.value === '@setDataFrame') return body.subarray(first.offset)
  } catch {
    // fall through
  }
  return body
}

/** Stream name, key and role values from a publish name such as `t1?key=SECRET&role=backup`. */
export interface PublishTarget {
  stream: string
  key?: string
  /** Every `role` value of the query, in order (none: the name asked for no role). */
  roles: string[]
}

/** Split `name?query` and read `key` and `role` from the query; the name is returned undecoded. */
export function splitNameAndKey(raw: string): PublishTarget {
  const q = raw.indexOf('?')
  if (q < 0) return { stream: raw, roles: [] }
  const query = new URLSearchParams(raw.slice(q + 1))
  const key = query.get('key')
  const roles = query.getAll('role')
  return key === null || key === '' ? { stream: raw.slice(0, q), roles } : { stream: raw.slice(0, q), key, roles }
}

/**
 * Application name, key and role values from the connect command object; OBS users
 * sometimes put `?key=` (and so `&role=`) on the server URL.
 */
export function appFromConnect(obj: Amf0Value): { app: string; key?: string; roles: string[] } {
  const app = typeof obj === 'object' && obj !== null && !Array.isArray(obj) && !(obj instanceof Date)
    ? (obj as Amf0Object).app
    : undefined
  const raw = typeof app === 'string' ? app.replace(/\/+$/, '') : ''
  const { stream, key, roles } = splitNameAndKey(raw)
  return key === undefined ? { app: stream, roles } : { app: stream, key, roles }
}

/** `_result` of connect (§7.2.1.1): properties, then the NetConnection.Connect.Success info object. */
export function connectResult(transactionId: number): RtmpMessage {
  return commandMessage(0, [
    '_result',
    transactionId,
    { fmsVer: 'FMS/3,0,1,123', capabilities: 31 },
    { level: 'status', code: 'NetConnection.Connect.Success', description: 'Connection succeeded.', objectEncoding: 0 },
  ])
}

/** `_result` of createStream carrying the new message stream id (§7.2.1.3). */
export function createStreamResult(transactionId: number, streamId: number): RtmpMessage {
  return commandMessage(0, ['_result', transactionId, null, streamId])
}

/** A plain `_result` with a null object and the given values. */
export function simpleResult(transactionId: number, ...values: Amf0Value[]): RtmpMessage {
  return commandMessage(0, ['_result', transactionId, null, ...values])
}

/**
 * onFCPublish reply. It deliberately carries no NetStream.Publish.Start code: it
 * arrives before `publish`, so before streamd has decided anything, and no
 * client may read it as an acceptance.
 */
export function onFCPublish(name: string): RtmpMessage {
  return commandMessage(0, ['onFCPublish', 0, null, { level: 'status', code: 'NetStream.FCPublish.Received', description: name }])
}
