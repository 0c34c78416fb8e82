/**
 * What a session does with each NetConnection/NetStream command (Adobe RTMP 1.0
 * §7.2). The publish decision is asked of the handler before anything that could
 * read as an acceptance is sent.
 */
import { describeError, ProtocolError } from '../../errors.js'
import { isValidName, NAME_RULE } from '../../media/types.js'
import { roleFrom } from '../role.js'
import type { PublishDecision, PublishRequest } from '../types.js'
import {
  appFromConnect, connectResult, createStreamResult, onFCPublish, parseCommand, simpleResult, splitNameAndKey,
  type RtmpCommand,
} from './commands.js'
import {
  UserControl, onStatusMessage, setChunkSizeMessage, setPeerBandwidthMessage, userControlMessage,
  windowAckSizeMessage, type RtmpMessage,
} from './messages.js'
import type { RtmpSession } from './session.js'

/** Chunk size the server announces after connect; large chunks cut header overhead. */
export const SERVER_CHUNK_SIZE = 4096
/** Window the server asks the client to acknowledge, and the bandwidth it offers. */
const SERVER_WINDOW = 2_500_000

/**
 * A refused publish gets an onStatus of level "error": FFmpeg fails on any such
 * status and prints its description; librtmp (OBS's copy included) closes on
 * NetStream.Publish.BadName, .Denied and .Rejected alike, and OBS then shows its
 * "could not access the specified channel or stream key" dialog. The code tells a
 * human reading client logs what kind of refusal it was: BadName for a name that
 * is malformed or already live (as FMS and nginx-rtmp use it) or that asks for an
 * input role streamd does not have, Denied for a
 * missing, wrong or revoked key or a refusing hook ("not allowed", which BadName
 * would misstate). nginx-rtmp and SRS drop the connection without a status on an
 * auth failure; a status plus description is the clearer answer.
 */
const REFUSED_CODE = 'NetStream.Publish.BadName'
const DENIED_CODE = 'NetStream.Publish.Denied'

/** Dispatch one command message; throws ProtocolError on malformed ones. */
export function handleCommand(s: RtmpSession, msg: RtmpMessage): void {
  const cmd = parseCommand(msg)
  if (cmd.name !== 'connect' && s.app === undefined) {
    throw new ProtocolError('rtmp', `command ${JSON.stringify(cmd.name.slice(0, 32))} before connect`)
  }
  switch (cmd.name) {
    case 'connect': return onConnect(s, cmd)
    case 'createStream': return s.send(createStreamResult(cmd.transactionId, s.nextStreamId++))
    case 'releaseStream': return
    case 'FCPublish': return s.send(onFCPublish(splitNameAndKey(String(cmd.args[0] ?? '')).stream))
    case 'publish':
      // The handler is async; its outcome (or failure) lands back on the session.
      void onPublish(s, cmd, msg.streamId).catch((err) => s.fail(err))
      return
    case 'FCUnpublish':
    case 'deleteStream':
    case 'closeStream':
      if (s.publishState === 'live') s.log.info('rtmp: unpublished')
      s.endPublishing('unpublished', true)
      return
    case 'play':
      s.log.info('rtmp: play refused')
      s.send(onStatusMessage(msg.streamId, 'error', 'NetStream.Play.Failed', 'streamd does not serve RTMP playback'))
      s.closeAfterFlush('play refused')
      return
    case '_checkbw': return s.send(simpleResult(cmd.transactionId))
    case 'getStreamLength': return s.send(simpleResult(cmd.transactionId, 0))
    default:
      s.log.debug({ command: cmd.name.slice(0, 64) }, 'rtmp: ignoring command')
  }
}

function onConnect(s: RtmpSession, cmd: RtmpCommand): void {
  if (s.app !== undefined) throw new ProtocolError('rtmp', 'second connect on one connection')
  const { app, key, roles } = appFromConnect(cmd.object)
  s.app = app
  s.appKey = key
  s.appRoles = roles
  s.send(windowAckSizeMessage(SERVER_WINDOW))
  s.send(setPeerBandwidthMessage(SERVER_WINDOW, 2))
  s.setOutgoingChunkSize(SERVER_CHUNK_SIZE, setChunkSizeMessage(SERVER_CHUNK_SIZE))
  s.send(connectResult(cmd.transactionId))
  s.log.debug({ app }, 'rtmp: connected')
}

function refuse(s: RtmpSession, streamId: number, description: string, err?: unknown, code = REFUSED_CODE): void {
  s.send(onStatusMessage(streamId, 'error', code, description))
  s.closeAfterFlush(`publish refused: ${description}`, err)
}

async function onPublish(s: RtmpSession, cmd: RtmpCommand, streamId: number): Promise<void> {
  if (s.publishState !== 'none') {
    refuse(s, streamId, 'already publishing on this connection', new ProtocolError('rtmp', 'second publish on one connection'))
    return
  }
  s.publishState = 'pending'
  // Never log the raw name: it may hold the key.
  const { stream, key = s.appKey, roles } = splitNameAndKey(typeof cmd.args[0] === 'string' ? cmd.args[0] : '')
  if (!isValidName(stream)) {
    s.log.info('rtmp: publish refused: invalid stream name')
    refuse(s, streamId, `invalid stream name: ${NAME_RULE}`)
    return
  }
  // A role on the server URL (connect app) and one on the stream key must agree.
  const role = roleFrom([...roles, ...s.appRoles])
  if (!role.ok) {
    s.log.info({ stream, reason: role.reason }, 'rtmp: publish refused: invalid role')
    refuse(s, streamId, role.reason)
    return
  }
  const req: PublishRequest = { protocol: 'rtmp', app: s.app ?? '', stream, remote: s.remote, role: role.role }
  if (key !== undefined) req.key = key
  let decision: PublishDecision
  try {
    decision = await s.handler.publish(req)
  } catch (err) {
    refuse(s, streamId, 'internal error', new Error(`publish handler failed: ${describeError(err)}`))
    return
  }
  if (s.isClosing || s.publishState !== 'pending') {
    // The publisher left (or unpublished) while the handler decided: release what it reserved.
    if (decision.ok) decision.sink.end('publisher left before publish started')
    return
  }
  if (!decision.ok) {
    s.log.info({ stream, code: decision.code }, 'rtmp: publish refused')
    refuse(s, streamId, decision.reason, undefined, decision.code === 'unauthorized' ? DENIED_CODE : REFUSED_CODE)
    return
  }
  s.startPublishing(decision.sink)
  s.send(userControlMessage(UserControl.streamBegin, streamId))
  s.send(onStatusMessage(streamId, 'status', 'NetStream.Publish.Start', `${stream} is now published`))
  s.log.info({ app: s.app, stream, role: req.role }, 'rtmp: publishing')
  decision.onKick?.(() => s.close('kicked'))
}
