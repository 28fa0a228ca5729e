import type { CookieValueType } from './codec.js'
import { VisitStoreError } from './errors.js'
import { isStandardSchema, type StandardSchemaV1 } from './validation.js'
import type { Lifetime } from './types.js'

/** Where a key's value goes before any fallback: the tier its options ask for. */
export type Home = 'cookie' | 'client' | 'tab'

/** A declared key or family, validated and normalised. */
export interface KeySpec {
  /** As declared: `'theme'` or `'draft:*'`. */
  declared: string
  lifetime: Lifetime
  home: Home
  /** Cookie Max-Age in seconds; undefined for a session cookie. */
  maxAge?: number
  /** IndexedDB time-to-live in milliseconds. */
  ttlMs?: number
  /** How a cookie value is encoded. */
  type?: CookieValueType
  /** Checks values on write and on read. */
  validate?: StandardSchemaV1
}

/** RFC 6265bis §5.5 caps cookie lifetimes at 400 days; browsers clamp longer ones silently. */
export const MAX_COOKIE_AGE = 400 * 24 * 60 * 60

const LIFETIMES: readonly Lifetime[] = ['persistent', 'session', 'tab']
const STORE_NAME = /^[A-Za-z0-9-]{1,64}$/

/**
 * An options object's own properties only, on a null-prototype copy: a polluted Object.prototype
 * (`Object.prototype.serverVisible = true`, `.domain = 'evil'`) must not change a store's behaviour.
 */
export function ownOptions<T extends object>(options: T | undefined): Partial<T> {
  const out = Object.create(null) as Partial<T>
  if (typeof options !== 'object' || options === null) return out
  for (const key of Object.keys(options) as (keyof T)[]) out[key] = options[key]
  return out
}

function invalid(message: string): VisitStoreError {
  return new VisitStoreError('INVALID_OPTIONS', message)
}

/** Store names become cookie prefixes (`shop_theme`), so they may not hold the `_` separator. */
export function checkStoreName(name: unknown): string {
  if (typeof name !== 'string' || !STORE_NAME.test(name)) {
    throw invalid(`createStore: name must be 1-64 letters, digits or "-" (it prefixes cookie names and names the IndexedDB database); got ${JSON.stringify(name)}.`)
  }
  return name
}

function seconds(value: unknown, what: string, key: string): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid(`keys["${key}"].${what} must be a positive, finite number of seconds; got ${String(value)}. ` +
      `Leave it out for ${what === 'maxAge' ? 'the 400-day default' : 'no expiry'}.`)
  }
  return value
}

function compileSpec(declared: string, options: unknown): KeySpec {
  if (typeof options !== 'object' || options === null) throw invalid(`keys["${declared}"] must be an object such as { lifetime: 'session' }.`)
  const { lifetime, serverVisible, maxAge, ttl, type, validate } = ownOptions(options as Record<string, unknown>)
  if (!LIFETIMES.includes(lifetime as Lifetime)) {
    throw invalid(`keys["${declared}"].lifetime must be 'persistent', 'session' or 'tab'; got ${JSON.stringify(lifetime)}.`)
  }
  if (serverVisible !== undefined && typeof serverVisible !== 'boolean') throw invalid(`keys["${declared}"].serverVisible must be true or false.`)
  if (serverVisible && lifetime === 'tab') {
    throw invalid(`keys["${declared}"]: a 'tab' value lives in sessionStorage, which the server never sees; drop serverVisible or choose 'session'.`)
  }
  if (declared.startsWith('$')) throw invalid(`keys["${declared}"]: names starting with "$" are reserved for visitstore's own records.`)
  const home: Home = serverVisible ? 'cookie' : lifetime === 'tab' ? 'tab' : 'client'
  if (maxAge !== undefined && !(home === 'cookie' && lifetime === 'persistent')) {
    throw invalid(`keys["${declared}"].maxAge only applies to persistent server-visible keys (cookies); use ttl for client-only data.`)
  }
  if (ttl !== undefined && !(home === 'client' && lifetime === 'persistent')) {
    throw invalid(`keys["${declared}"].ttl only applies to persistent client-only keys (IndexedDB); use maxAge for cookies.`)
  }
  if (typeof maxAge === 'number' && maxAge > 0 && maxAge < 1) {
    // Max-Age is whole seconds; 0.5 would become Max-Age=0, which deletes the cookie as it is written.
    throw invalid(`keys["${declared}"].maxAge must be at least 1 second; got ${maxAge}.`)
  }
  if (type !== undefined && (home !== 'cookie' || (type !== 'string' && type !== 'json'))) {
    throw invalid(`keys["${declared}"].type is for server-visible keys and must be 'string' or 'json'; got ${JSON.stringify(type)}.`)
  }
  const spec: KeySpec = { declared, lifetime: lifetime as Lifetime, home }
  if (type !== undefined) spec.type = type as CookieValueType
  if (validate !== undefined) {
    if (!isStandardSchema(validate)) throw invalid(`keys["${declared}"].validate must be a Standard Schema (zod, valibot, arktype…): an object with "~standard".validate.`)
    spec.validate = validate
  }
  if (home === 'cookie' && lifetime === 'persistent') {
    const age = seconds(maxAge, 'maxAge', declared) ?? MAX_COOKIE_AGE
    if (age > MAX_COOKIE_AGE) {
      console.warn(`visitstore: keys["${declared}"].maxAge ${age}s is over the 400-day cap of RFC 6265bis; using 400 days.`)
    }
    spec.maxAge = Math.floor(Math.min(age, MAX_COOKIE_AGE))
  }
  const ttlSeconds = seconds(ttl, 'ttl', declared)
  if (ttlSeconds !== undefined) spec.ttlMs = ttlSeconds * 1000
  return spec
}

/** Looks up the spec of a concrete key: an exact declaration first, then the longest matching family. */
export interface KeyTable {
  resolve(key: string): KeySpec
  has(key: string): boolean
  specs: readonly KeySpec[]
}

/** Validates the `keys` option once, at `createStore`, so mistakes surface before any data is written. */
export function compileKeys(keys: unknown): KeyTable {
  if (typeof keys !== 'object' || keys === null) throw invalid('createStore: keys must be an object mapping each key (or family ending in "*") to its options.')
  const exact = new Map<string, KeySpec>()
  const families: { prefix: string, spec: KeySpec }[] = []
  for (const declared of Object.keys(keys)) {
    if (declared === '' || declared === '*') throw invalid(`keys: "${declared}" is not a key name; a family needs a prefix, such as "draft:*".`)
    const spec = compileSpec(declared, (keys as Record<string, unknown>)[declared])
    if (declared.endsWith('*')) families.push({ prefix: declared.slice(0, -1), spec })
    else exact.set(declared, spec)
  }
  families.sort((a, b) => b.prefix.length - a.prefix.length)
  const find = (key: string): KeySpec | undefined => {
    if (typeof key !== 'string') return undefined
    return exact.get(key) ?? families.find((f) => key.startsWith(f.prefix) && key.length > f.prefix.length)?.spec
  }
  return {
    has: (key) => find(key) !== undefined,
    resolve(key) {
      const spec = find(key)
      if (spec) return spec
      throw new VisitStoreError('UNKNOWN_KEY', `${JSON.stringify(key)} is not declared in this store's keys. ` +
        `Add it (or a family such as "${String(key).split(':')[0]}:*") to createStore({ keys }).`)
    },
    specs: [...exact.values(), ...families.map((f) => f.spec)],
  }
}

/** Human-readable why for `placement(key).reason`; `bound`: the store syncs a server session. */
export function placementReason(spec: KeySpec, degraded: boolean, bound = false): string {
  if (spec.home === 'cookie') {
    return spec.lifetime === 'session'
      ? `serverVisible: the server reads it from the Cookie header; session lifetime: a session cookie (no Expires)${bound ? ', removed when the server session changes' : ''}`
      : `serverVisible: the server reads it from the Cookie header; persistent: Max-Age ${spec.maxAge ?? MAX_COOKIE_AGE}s`
  }
  if (spec.home === 'tab') {
    return degraded ? "lifetime 'tab': sessionStorage is unavailable, kept in memory for this page" : "lifetime 'tab': per-tab sessionStorage"
  }
  const why = spec.lifetime === 'session'
    ? `client-only, stamped with the browser session${bound ? ' and the server session' : ''} and swept when ${bound ? 'either' : 'it'} ends`
    : spec.ttlMs === undefined ? 'client-only, persistent' : `client-only, expires ${spec.ttlMs / 1000}s after each write`
  return degraded ? `${why}; IndexedDB is unavailable, kept in memory for this page` : `${why}; in IndexedDB (never sent to the server)`
}
