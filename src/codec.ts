import { VisitStoreError } from './errors.js'
import type { CookieValueType } from './types.js'

function notSerializable(key: string, why: string, cause?: unknown): VisitStoreError {
  return new VisitStoreError('NOT_SERIALIZABLE',
    `set("${key}"): ${why}. Cookie and tab values are stored as JSON: use strings, finite numbers, booleans, null, arrays and plain objects.`,
    cause === undefined ? undefined : { cause })
}

/**
 * Rejects values that JSON would drop or change (undefined members, NaN, Dates, Maps, class
 * instances, cycles, BigInt), so what `get` returns is exactly what `set` was given.
 */
export function assertJsonSafe(value: unknown, key: string, seen: Set<object> = new Set()): void {
  switch (typeof value) {
    case 'string': case 'boolean': return
    case 'number':
      if (!Number.isFinite(value)) throw notSerializable(key, `${value} has no JSON form`)
      return
    case 'object': {
      if (value === null) return
      if (seen.has(value)) throw notSerializable(key, 'the value contains a cycle')
      const proto = Object.getPrototypeOf(value) as unknown
      if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) {
        throw notSerializable(key, `a ${value.constructor?.name ?? 'non-plain'} object would not come back as itself`)
      }
      // Object.values skips array holes, which JSON would turn into null.
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!(i in value)) throw notSerializable(key, `the array has a hole at index ${i}`)
      }
      seen.add(value)
      for (const member of Object.values(value)) {
        if (member === undefined) throw notSerializable(key, 'an undefined member would be dropped')
        assertJsonSafe(member, key, seen)
      }
      seen.delete(value)
      return
    }
    default:
      throw notSerializable(key, `a ${typeof value} has no JSON form`)
  }
}

function looksLikeJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/**
 * Cookie values as a server reads them: URL-encoded, so `decodeURIComponent` gives back the
 * string, or the JSON text, exactly. `type` undefined: a string as itself unless it would parse
 * as JSON (`"42"`, `"true"`), then JSON-quoted so it reads back as a string; other values as JSON.
 */
export function encodeCookieValue(value: unknown, key: string, type?: CookieValueType): string {
  if (type === 'string' && typeof value !== 'string') {
    throw new VisitStoreError('INVALID_VALUE', `set("${key}"): the key is declared type: 'string', so its value must be a string; got ${typeof value}.`)
  }
  assertJsonSafe(value, key)
  const plain = typeof value === 'string' && (type === 'string' || (!type && !looksLikeJson(value)))
  const text = plain ? value : JSON.stringify(value)
  try {
    return encodeURIComponent(text)
  } catch (err) {
    // encodeURIComponent throws URIError on lone surrogates: they have no UTF-8 form.
    throw notSerializable(key, 'the string holds a lone surrogate (half of an emoji?), which has no UTF-8 form', err)
  }
}

/** A decoded stored value, or why it could not be decoded. */
export type Decoded = { ok: true, value: unknown } | { ok: false, reason: string }

/** Reverses {@link encodeCookieValue}; `ok: false` for a value that was not written by us (edited by hand, truncated). */
export function decodeCookieValue(raw: string, type?: CookieValueType): Decoded {
  let text: string
  try {
    text = decodeURIComponent(raw)
  } catch {
    return { ok: false, reason: 'the cookie value is not valid URL encoding' }
  }
  if (type === 'string') return { ok: true, value: text }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return type === 'json' ? { ok: false, reason: 'the cookie value is not JSON' } : { ok: true, value: text }
  }
}

/**
 * The cookie name exactly as js-cookie writes it (its `set` encodes names this way), so that
 * byte counts match what the browser stores.
 */
export function encodeCookieName(name: string): string {
  return encodeURIComponent(name)
    .replace(/%(2[346B]|5E|60|7C)/g, decodeURIComponent)
    .replace(/[()]/g, escape)
}

/** sessionStorage holds strings: values go through JSON, checked first so they come back unchanged. */
export function encodeTabValue(value: unknown, key: string): string {
  assertJsonSafe(value, key)
  return JSON.stringify(value)
}

/** Reverses {@link encodeTabValue}; an item that is not JSON (edited by hand) is not ours to read. */
export function decodeTabValue(text: string): Decoded {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    return { ok: false, reason: 'the sessionStorage item is not JSON' }
  }
}

/** Bytes as base64url without padding (RFC 4648 §5): session tags, on both sides. */
export function base64url(bytes: ArrayBuffer): string {
  let binary = ''
  for (const b of new Uint8Array(bytes)) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
