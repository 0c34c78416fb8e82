/**
 * SRT encryption, receiver side (draft-sharabayko-srt §3.2.2 Key Material,
 * §6 Encryption): the KM message a caller sends in KMREQ, the key-encrypting
 * key derived from the passphrase (PBKDF2-HMAC-SHA1, 2048 iterations, salt =
 * the KM salt's last 64 bits), the stream keys unwrapped with RFC 3394, and
 * AES-CTR payload decryption with an IV built from the salt and the packet's
 * sequence number. OpenSSL (node:crypto) supplies the primitives.
 */
import { createDecipheriv, pbkdf2Sync } from 'node:crypto'
import { ProtocolError } from '../../errors.js'

/** Stream encrypting keys of one KM message: [even, odd] (either may be absent). */
export interface StreamKeys {
  salt: Buffer
  keyLength: number
  keys: [Buffer | undefined, Buffer | undefined]
}

/** Why a KM message was not accepted (maps to a rejection reason). */
export type KmFailure = 'bad-secret' | 'malformed'

/** RFC 3394 §2.2.3: the default initial value. */
const WRAP_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex')

/** KLen values (bytes) a KM message may carry: AES-128/192/256. */
const KEY_LENGTHS = [16, 24, 32]

/** Decode a KM message and unwrap its keys with `passphrase`. */
export function unwrapKeyMaterial(km: Buffer, passphrase: string): StreamKeys | KmFailure {
  // §3.2.2: S=0, V=1, PT=2 (KMmsg), Sign 0x2029 ("HAI"), cipher 2 (AES-CTR), SE 2.
  if (km.length < 16 || km[0] !== 0x12 || km.readUInt16BE(1) !== 0x2029) return 'malformed'
  const kk = km[3]! & 0x03
  const cipher = km[8]!
  const saltLength = km[14]! * 4
  const keyLength = km[15]! * 4
  if (kk === 0 || cipher !== 2 || !KEY_LENGTHS.includes(keyLength) || saltLength !== 16) return 'malformed'
  const count = kk === 3 ? 2 : 1
  const wrappedLength = 8 + keyLength * count
  if (km.length < 16 + saltLength + wrappedLength) return 'malformed'
  const salt = Buffer.from(km.subarray(16, 16 + saltLength))
  const wrapped = km.subarray(16 + saltLength, 16 + saltLength + wrappedLength)
  // §6.1.4: KEK = PBKDF2(passphrase, LSB(64, salt), 2048, KLen).
  const kek = pbkdf2Sync(passphrase, salt.subarray(saltLength - 8), 2048, keyLength, 'sha1')
  let plain: Buffer
  try {
    const d = createDecipheriv(`id-aes${keyLength * 8}-wrap`, kek, WRAP_IV)
    plain = Buffer.concat([d.update(wrapped), d.final()])
  } catch {
    // RFC 3394 §2.2.3: the integrity check fails when the KEK (the passphrase) differs.
    return 'bad-secret'
  }
  const keys: [Buffer | undefined, Buffer | undefined] = [undefined, undefined]
  let at = 0
  if (kk & 1) { keys[0] = plain.subarray(at, at + keyLength); at += keyLength }
  if (kk & 2) keys[1] = plain.subarray(at, at + keyLength)
  return { salt, keyLength, keys }
}

/** Decrypts data packet payloads with the keys of the current KM message. */
export class PayloadDecryptor {
  constructor(private material: StreamKeys) {}

  /** A refreshed KM message (KMREQ control packet): keep the new keys. */
  update(material: StreamKeys): void {
    this.material = material
  }

  /** Decrypt one payload; `kk` is the packet's key flag (1 even, 2 odd). */
  decrypt(payload: Buffer, seq: number, kk: number): Buffer {
    const key = this.material.keys[kk === 2 ? 1 : 0]
    if (!key) throw new ProtocolError('srt', `data packet encrypted with the ${kk === 2 ? 'odd' : 'even'} key, which was never announced`)
    // §6.2.2: IV = (MSB(112, salt) << 16) XOR (pki << 16), pki the packet index (sequence number).
    const iv = Buffer.alloc(16)
    this.material.salt.copy(iv, 0, 0, 14)
    iv.writeUInt32BE((iv.readUInt32BE(10) ^ seq) >>> 0, 10)
    const d = createDecipheriv(`aes-${this.material.keyLength * 8}-ctr`, key, iv)
    return Buffer.concat([d.update(payload), d.final()])
  }
}
