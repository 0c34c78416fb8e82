/**
 * AMF0 (Adobe Action Message Format 0) encoder and defensive decoder.
 * Pure: buffers in, buffers out. RTMP carries commands and metadata in AMF0, and
 * every byte of it comes from an untrusted peer, so the decoder bounds depth,
 * entries per container and values per call, and checks every length against the
 * bytes that are actually there: its work is linear in a small, fixed budget.
 */
import { MediaFormatError } from '../errors.js'

/** Any value AMF0 can carry. ECMA arrays decode to objects tagged by `ecmaArray`. */
export type Amf0Value = number | boolean | string | null | undefined | Date | Amf0Object | Amf0Value[]

/** An anonymous AMF0 object (or ECMA array): string keys to values. */
export interface Amf0Object {
  [key: string]: Amf0Value
}

/** AMF0 type markers (AMF0 spec §2.1). */
export const Amf0Marker = {
  number: 0x00,
  boolean: 0x01,
  string: 0x02,
  object: 0x03,
  null: 0x05,
  undefined: 0x06,
  reference: 0x07,
  ecmaArray: 0x08,
  objectEnd: 0x09,
  strictArray: 0x0a,
  date: 0x0b,
  longString: 0x0c,
  unsupported: 0x0d,
  xmlDocument: 0x0f,
  typedObject: 0x10,
} as const

/** Nesting deeper than this is refused: no legitimate RTMP command comes close. */
export const AMF0_MAX_DEPTH = 16
/**
 * Most entries one object, ECMA array or strict array may hold. FFmpeg's connect
 * object has 4 properties, OBS's about 10, an onMetaData 15 to 30; an object of a
 * million one-letter keys (a few MB) would otherwise take a second of CPU to build.
 */
export const AMF0_MAX_ENTRIES = 256
/** Most values, at any depth, that one decode call produces. */
export const AMF0_MAX_VALUES = 1024

const limitErrors = new WeakSet<object>()

/** A MediaFormatError for a well-formed value past AMF0_MAX_ENTRIES or AMF0_MAX_VALUES (marked, so callers can tell). */
function limitError(message: string): MediaFormatError {
  const err = new MediaFormatError(message)
  limitErrors.add(err)
  return err
}

/** True when `err` was thrown for a value past AMF0_MAX_ENTRIES or AMF0_MAX_VALUES, not for malformed bytes. */
export function isAmf0LimitError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && limitErrors.has(err)
}

const ECMA = Symbol('amf0.ecmaArray')

/** Mark `props` so it encodes as an ECMA array (marker 0x08) instead of an object. */
export function ecmaArray<T extends Amf0Object>(props: T): T {
  Object.defineProperty(props, ECMA, { value: true, enumerable: false })
  return props
}

/** True when `v` was decoded from, or marked as, an ECMA array. */
export function isEcmaArray(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as { [ECMA]?: boolean })[ECMA] === true
}

// ---------- encoding ----------

function encodeUtf8(s: string, long: boolean): Buffer {
  const bytes = Buffer.from(s, 'utf8')
  const head = Buffer.alloc(long ? 4 : 2)
  if (long) head.writeUInt32BE(bytes.length)
  else head.writeUInt16BE(bytes.length)
  return Buffer.concat([head, bytes])
}

function encodeKey(key: string): Buffer {
  const out = encodeUtf8(key, false)
  if (out.length - 2 > 0xffff) throw new MediaFormatError('amf0: property name longer than 65535 bytes')
  return out
}

function encodeProps(obj: Amf0Object, parts: Buffer[], depth: number): void {
  for (const [k, v] of Object.entries(obj)) {
    parts.push(encodeKey(k))
    encodeInto(v, parts, depth + 1)
  }
  parts.push(Buffer.from([0x00, 0x00, Amf0Marker.objectEnd]))
}

function encodeInto(v: Amf0Value, parts: Buffer[], depth: number): void {
  if (depth > AMF0_MAX_DEPTH) throw new MediaFormatError('amf0: value nested too deeply to encode')
  if (v === null) { parts.push(Buffer.from([Amf0Marker.null])); return }
  if (v === undefined) { parts.push(Buffer.from([Amf0Marker.undefined])); return }
  if (typeof v === 'number') {
    const b = Buffer.alloc(9)
    b[0] = Amf0Marker.number
    b.writeDoubleBE(v, 1)
    parts.push(b)
    return
  }
  if (typeof v === 'boolean') { parts.push(Buffer.from([Amf0Marker.boolean, v ? 1 : 0])); return }
  if (typeof v === 'string') {
    // Strings that do not fit a u16 length must use the long-string marker (§2.14).
    const long = Buffer.byteLength(v, 'utf8') > 0xffff
    parts.push(Buffer.from([long ? Amf0Marker.longString : Amf0Marker.string]), encodeUtf8(v, long))
    return
  }
  if (v instanceof Date) {
    const b = Buffer.alloc(11)
    b[0] = Amf0Marker.date
    b.writeDoubleBE(v.getTime(), 1)
    // §2.13: time-zone is reserved and should be 0x0000.
    b.writeInt16BE(0, 9)
    parts.push(b)
    return
  }
  if (Array.isArray(v)) {
    const head = Buffer.alloc(5)
    head[0] = Amf0Marker.strictArray
    head.writeUInt32BE(v.length, 1)
    parts.push(head)
    for (const item of v) encodeInto(item, parts, depth + 1)
    return
  }
  if (isEcmaArray(v)) {
    const head = Buffer.alloc(5)
    head[0] = Amf0Marker.ecmaArray
    head.writeUInt32BE(Object.keys(v).length, 1)
    parts.push(head)
  } else {
    parts.push(Buffer.from([Amf0Marker.object]))
  }
  encodeProps(v, parts, depth)
}

/** Encode one value. */
export function encodeAmf0Value(v: Amf0Value): Buffer {
  const parts: Buffer[] = []
  encodeInto(v, parts, 0)
  return Buffer.concat(parts)
}

/** Encode a sequence of values back to back, as RTMP command messages carry them. */
export function encodeAmf0(values: readonly Amf0Value[]): Buffer {
  const parts: Buffer[] = []
  for (const v of values) encodeInto(v, parts, 0)
  return Buffer.concat(parts)
}

// ---------- decoding ----------

class Reader {
  /** Values decoded so far by this call, against AMF0_MAX_VALUES. */
  values = 0
  constructor(readonly buf: Buffer, public pos: number) {}

  need(n: number, what: string): void {
    if (n > this.buf.length - this.pos) {
      throw new MediaFormatError(`amf0: truncated ${what} (need ${n} bytes, have ${this.buf.length - this.pos})`)
    }
  }

  u8(what: string): number { this.need(1, what); return this.buf[this.pos++] as number }
  u16(what: string): number { this.need(2, what); const v = this.buf.readUInt16BE(this.pos); this.pos += 2; return v }
  u32(what: string): number { this.need(4, what); const v = this.buf.readUInt32BE(this.pos); this.pos += 4; return v }
  f64(what: string): number { this.need(8, what); const v = this.buf.readDoubleBE(this.pos); this.pos += 8; return v }

  utf8(len: number, what: string): string {
    // Checked before any allocation: the length comes from the peer.
    this.need(len, what)
    const s = this.buf.toString('utf8', this.pos, this.pos + len)
    this.pos += len
    return s
  }
}

function readProps(r: Reader, depth: number): Amf0Object {
  const entries: Array<[string, Amf0Value]> = []
  // Each pass consumes at least 3 bytes, so this loop ends with the buffer.
  for (;;) {
    const key = r.utf8(r.u16('property name length'), 'property name')
    if (key === '' && r.buf[r.pos] === Amf0Marker.objectEnd) {
      r.pos++
      // fromEntries defines data properties, so a key named "__proto__" stays data
      // (no prototype swap), and it builds the object in one step: adding keys one
      // by one costs a hidden-class transition each, superlinear in their number.
      return Object.fromEntries(entries) as Amf0Object
    }
    if (entries.length === AMF0_MAX_ENTRIES) throw limitError(`amf0: object with more than ${AMF0_MAX_ENTRIES} properties`)
    entries.push([key, readValue(r, depth + 1)])
  }
}

function readValue(r: Reader, depth: number): Amf0Value {
  if (depth > AMF0_MAX_DEPTH) throw new MediaFormatError(`amf0: nesting deeper than ${AMF0_MAX_DEPTH}`)
  if (++r.values > AMF0_MAX_VALUES) throw limitError(`amf0: more than ${AMF0_MAX_VALUES} values in one message`)
  const marker = r.u8('type marker')
  switch (marker) {
    case Amf0Marker.number: return r.f64('number')
    case Amf0Marker.boolean: return r.u8('boolean') !== 0
    case Amf0Marker.string: return r.utf8(r.u16('string length'), 'string')
    case Amf0Marker.longString:
    case Amf0Marker.xmlDocument: return r.utf8(r.u32('long string length'), 'long string')
    case Amf0Marker.null: return null
    case Amf0Marker.undefined:
    case Amf0Marker.unsupported: return undefined
    case Amf0Marker.object: return readProps(r, depth)
    case Amf0Marker.typedObject:
      // The class name carries nothing RTMP ingest needs; keep the properties.
      r.utf8(r.u16('class name length'), 'class name')
      return readProps(r, depth)
    case Amf0Marker.ecmaArray:
      // §2.10: the count is only a hint; the object-end marker terminates the array.
      r.u32('ecma array count')
      return ecmaArray(readProps(r, depth))
    case Amf0Marker.strictArray: {
      const count = r.u32('strict array count')
      // Every element takes at least one byte, so a larger count is a lie.
      r.need(count, 'strict array elements')
      if (count > AMF0_MAX_ENTRIES) throw limitError(`amf0: strict array of ${count} elements (limit ${AMF0_MAX_ENTRIES})`)
      const out: Amf0Value[] = []
      for (let i = 0; i < count; i++) out.push(readValue(r, depth + 1))
      return out
    }
    case Amf0Marker.date: {
      const ms = r.f64('date')
      r.u16('date time-zone')
      return new Date(ms)
    }
    default:
      throw new MediaFormatError(`amf0: unsupported type marker 0x${marker.toString(16).padStart(2, '0')}`)
  }
}

/** Decode one value at `offset`; returns it and the offset just past it. Throws MediaFormatError (marked by isAmf0LimitError past the limits). */
export function decodeAmf0Value(buf: Buffer, offset = 0): { value: Amf0Value; offset: number } {
  const r = new Reader(buf, offset)
  const value = readValue(r, 0)
  return { value, offset: r.pos }
}

/** Decode every value in `buf` (an RTMP command or data message body); the value budget covers the whole buffer. */
export function decodeAmf0(buf: Buffer): Amf0Value[] {
  const r = new Reader(buf, 0)
  const out: Amf0Value[] = []
  while (r.pos < buf.length) out.push(readValue(r, 0))
  return out
}
