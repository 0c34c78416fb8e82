/**
 * A minimal XML writer for MPDs: elements with attributes in the order given
 * (the MPD schema fixes child order, so callers list children in schema order),
 * values escaped, undefined attributes and children left out. Pure.
 */

/** An attribute value; undefined leaves the attribute out. */
export type XmlValue = string | number | boolean | undefined

/** One element: name, attributes, children. */
export interface XmlElement {
  name: string
  attrs: Record<string, XmlValue>
  children: XmlElement[]
  /** Character content (an element with text has no child elements here). */
  text?: string
}

/** Build an element; falsy children (conditional parts) are dropped. */
export function el(name: string, attrs: Record<string, XmlValue> = {}, children: Array<XmlElement | undefined | false> = []): XmlElement {
  return { name, attrs, children: children.filter((c): c is XmlElement => Boolean(c)) }
}

/** An element whose content is text, such as `<Label>eng</Label>`. */
export function textEl(name: string, attrs: Record<string, XmlValue>, text: string): XmlElement {
  return { name, attrs, children: [], text }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }

/** Escape a value for a double-quoted attribute (XML 1.0 section 2.4 and 3.3.3). */
export function escapeAttr(v: string): string {
  // Control characters other than tab/newline are not allowed in XML 1.0 at all.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(v)) throw new RangeError('control character in XML attribute')
  return v.replace(/[&<>"']/g, (c) => ESCAPES[c]!).replace(/[\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`)
}

function attrText(v: string | number | boolean): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError(`not a finite number: ${v}`)
    return String(v)
  }
  return typeof v === 'boolean' ? String(v) : escapeAttr(v)
}

/** Serialize with two-space indentation and an XML declaration. */
export function serialize(root: XmlElement): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>']
  const walk = (e: XmlElement, depth: number): void => {
    if (!/^[A-Za-z_][A-Za-z0-9_.:-]*$/.test(e.name)) throw new RangeError(`bad element name ${e.name}`)
    const pad = '  '.repeat(depth)
    const attrs = Object.entries(e.attrs).filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}="${attrText(v!)}"`).join('')
    if (e.text !== undefined) {
      out.push(`${pad}<${e.name}${attrs}>${escapeAttr(e.text)}</${e.name}>`)
      return
    }
    if (e.children.length === 0) {
      out.push(`${pad}<${e.name}${attrs}/>`)
      return
    }
    out.push(`${pad}<${e.name}${attrs}>`)
    for (const c of e.children) walk(c, depth + 1)
    out.push(`${pad}</${e.name}>`)
  }
  walk(root, 0)
  return out.join('\n') + '\n'
}

/** xs:duration in seconds with millisecond precision, e.g. `PT1.5S` (ISO 8601, as the MPD schema uses it). */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`not a valid duration: ${seconds}`)
  const ms = Math.round(seconds * 1000)
  const whole = Math.floor(ms / 1000)
  const frac = ms % 1000
  return `PT${whole}${frac ? `.${String(frac).padStart(3, '0').replace(/0+$/, '')}` : ''}S`
}

/** xs:dateTime in UTC with milliseconds. */
export function dateTime(ms: number): string {
  return new Date(ms).toISOString()
}
