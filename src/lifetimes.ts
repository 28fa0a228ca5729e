import type { KeySpec } from './placement.js'

/**
 * How a client-only value is kept in IndexedDB (or memory): the value plus what decides whether
 * it is still alive. `x`: expiry time (ms since epoch) from `ttl`; `s`: the browser-session stamp
 * of a session-lifetime value; `t`: the server session's tag it was written under (when the store
 * syncs a server session).
 */
export interface Envelope {
  v: unknown
  x?: number
  s?: string
  t?: string | null
}

/**
 * Wraps a value for writing, stamping it with the key's lifetime rules. `tag` is the server
 * session's tag, or undefined when the store does not sync a server session.
 */
export function wrapEntry(value: unknown, spec: KeySpec, stamp: string, now: number, tag?: string | null): Envelope {
  const entry: Envelope = { v: value }
  if (spec.ttlMs !== undefined) entry.x = now + spec.ttlMs
  if (spec.lifetime === 'session') {
    entry.s = stamp
    if (tag !== undefined) entry.t = tag
  }
  return entry
}

function isEnvelope(raw: unknown): raw is Envelope {
  return typeof raw === 'object' && raw !== null && 'v' in raw
}

/**
 * Whether a stored record still counts: not expired, and (for session data) written in this
 * browser session and, when `tag` is given, in the current server session. Anything else reads
 * as missing and is swept.
 */
export function isLive(raw: unknown, stamp: string, now: number, tag?: string | null): raw is Envelope {
  if (!isEnvelope(raw)) return false
  if (raw.x !== undefined && raw.x <= now) return false
  if (raw.s === undefined) return true
  return raw.s === stamp && (tag === undefined || raw.t === tag)
}

const MARKER_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz'

/** A random id for a new browser session (the marker cookie's value). */
export function newSessionStamp(): string {
  const bytes = new Uint8Array(12)
  if (typeof crypto !== 'undefined' && typeof crypto.getRandomValues === 'function') crypto.getRandomValues(bytes)
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256)
  let out = ''
  for (const b of bytes) out += MARKER_ALPHABET[b % MARKER_ALPHABET.length]
  return out
}
