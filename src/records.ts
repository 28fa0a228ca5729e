import type { KeySpec } from './keys.js'

/**
 * How a client-only value is kept in IndexedDB (or memory): `p` the key, `v` the value, `k` the
 * liveness key of session data, `x` the expiry (ms since the epoch) of a key with a `ttl`, `j` the
 * journal number of the cross-tier batch that wrote it (see below). The
 * liveness key is the browser session's stamp, followed by `=<tag>` (`=` alone for "no server
 * session") when the store syncs a server session. Indexes on [k, p] and on x find every record
 * of one browser or server session, and every expired one, without reading the others; a plain
 * persistent record has neither field, so it costs no index entry (writes as fast as raw).
 */
export type StoredRecord = {
  p: string
  v: unknown
  k?: string
  x?: number
  /** The journal number of the cross-tier batch that wrote it (store/journal.ts): its undo takes back only its own records. */
  j?: number
}

/** The liveness key session records carry now: the browser session's stamp, and the server session's tag when synced. */
export function livenessKey(stamp: string, tag: string | null | undefined): string {
  return tag === undefined ? stamp : `${stamp}=${tag ?? ''}`
}

/** The browser-session stamp and the server tag part (`undefined` when the store did not sync one) of a liveness key. */
export function partsOf(k: string): [stamp: string, tag: string | undefined] {
  const at = k.indexOf('=')
  return at < 0 ? [k, undefined] : [k.slice(0, at), k.slice(at + 1)]
}

/**
 * What a move of session data does to liveness keys: those of browser session `from` (`part` 0)
 * or of server session `from` (`part` 1, `''` for none) become `to`'s; others stay.
 */
export const mover = (part: 0 | 1, from: string, to: string | null) => (k: string): string => {
  const [stamp, tag] = partsOf(k)
  if ((part ? tag : stamp) !== from) return k
  return part ? livenessKey(stamp, to) : livenessKey(to ?? '', tag)
}

/** A record for writing, stamped by the key's CURRENT declaration. `live`: the current liveness key. */
export function makeRecord(key: string, value: unknown, spec: KeySpec, live: string, now: number): StoredRecord {
  const record: StoredRecord = { p: key, v: value }
  if (spec.lifetime === 'session') record.k = live
  if (spec.ttlMs !== undefined) record.x = now + spec.ttlMs
  return record
}

/**
 * Whether a stored record counts under its key's current declaration: `true` live, `false` absent
 * or dead (expired; a session record of another browser or server session, or one written before
 * the key became session-scoped and so carrying no stamp), or why it is malformed (not written by
 * visitstore, or damaged): a malformed record is never live.
 */
export function judge(raw: unknown, spec: KeySpec, live: string | undefined, now: number): boolean | string {
  if (raw === undefined) return false
  if (typeof raw !== 'object' || raw === null || !('v' in raw)) return 'the IndexedDB record is not a visitstore record'
  // Own fields only: a polluted Object.prototype.x must not expire (or k condemn) every record.
  const own = (field: 'k' | 'x') => (Object.hasOwn(raw, field) ? (raw as Partial<StoredRecord>)[field] : undefined)
  const k = own('k')
  const x = own('x')
  if ((k !== undefined && typeof k !== 'string') || (x !== undefined && (typeof x !== 'number' || Number.isNaN(x)))) return 'the IndexedDB record has a malformed liveness stamp or expiry'
  if (x !== undefined && x <= now) return false
  return spec.lifetime !== 'session' || k === live
}

const STAMP_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz'
/** What a browser-session stamp looks like (the marker cookie's value). */
export const STAMP = /^[0-9a-z]{12}$/

/** A random stamp for a new browser session. */
export function newStamp(): string {
  const bytes = new Uint8Array(12)
  crypto.getRandomValues(bytes)
  let out = ''
  for (const b of bytes) out += STAMP_ALPHABET[b % STAMP_ALPHABET.length]
  return out
}
