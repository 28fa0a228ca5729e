import { VisitStoreError } from './errors.js'
import { keyTable, type HomeTier, type KeySpec, type KeyTable } from './keys.js'
import { storeNames, type Names } from './names.js'
import type { Backends, CookieOptions, Lifetime, SessionSyncOptions, StoreOptions } from './types.js'
import { isStandardSchema } from './validation.js'

// Every option of every entry is checked here, once, so that mistakes surface at createStore
// (or sessionSync) with INVALID_OPTIONS and a message that says what to write instead.

/** RFC 6265bis §5.5 caps cookie lifetimes at 400 days; browsers clamp longer ones silently. */
export const MAX_COOKIE_AGE = 400 * 24 * 60 * 60
/** The store's cookies together; far below the 8 KB header limit of nginx and Apache. */
export const DEFAULT_COOKIE_BUDGET = 2048

const LIFETIMES: readonly Lifetime[] = ['persistent', 'session', 'tab']
const STORE_NAME = /^[A-Za-z0-9-]{1,64}$/
/** Hosts where browsers keep Secure cookies even on http (secure contexts by definition). */
const LOCAL_HOSTS = ['localhost', '127.0.0.1', '[::1]']

/** The cookie attributes and budget a store writes with, checked. */
export interface CookieConfig {
  budget: number
  path: string
  domain?: string
  sameSite: 'Strict' | 'Lax' | 'None'
  secure: boolean
}

/** A store's options, checked and normalised. */
export interface StoreConfig {
  name: string
  names: Names
  keys: KeyTable
  cookie: CookieConfig
  openTimeout: number
  backends: Backends
  /** What `options.session` was (checked to be a sessionSync result by the store). */
  session: unknown
  /** A request-scoped store for server rendering (`cookieHeader` given): its cookies are the request's, and nothing else exists. */
  request: boolean
}

export const invalid = (message: string) => new VisitStoreError('INVALID_OPTIONS', message)

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

/** A positive, finite number, or undefined when left out; `what` names it in the error. */
function positive(value: unknown, what: string, unit: string, omitted: string): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid(`${what} must be a positive, finite number of ${unit}; got ${String(value)}. Leave it out for ${omitted}.`)
  }
  return value
}

function compileSpec(declared: string, options: unknown): KeySpec {
  const at = `keys["${declared}"]`
  if (typeof options !== 'object' || options === null) throw invalid(`${at} must be an object such as { lifetime: 'session' }.`)
  const { lifetime, serverVisible, maxAge, ttl, type, validate } = ownOptions(options as Record<string, unknown>)
  if (!LIFETIMES.includes(lifetime as Lifetime)) throw invalid(`${at}.lifetime must be 'persistent', 'session' or 'tab'; got ${JSON.stringify(lifetime)}.`)
  if (serverVisible !== undefined && typeof serverVisible !== 'boolean') throw invalid(`${at}.serverVisible must be true or false.`)
  if (serverVisible && lifetime === 'tab') {
    throw invalid(`${at}: a 'tab' value lives in sessionStorage, which the server never sees; drop serverVisible or choose 'session'.`)
  }
  if (declared.startsWith('$')) throw invalid(`${at}: names starting with "$" are reserved for visitstore's own records.`)
  const tier: HomeTier = serverVisible ? 'cookie' : lifetime === 'tab' ? 'sessionStorage' : 'indexeddb'
  const persistentIn = (t: HomeTier) => tier === t && lifetime === 'persistent'
  if (maxAge !== undefined && !persistentIn('cookie')) throw invalid(`${at}.maxAge only applies to persistent server-visible keys (cookies); use ttl for client-only data.`)
  if (ttl !== undefined && !persistentIn('indexeddb')) throw invalid(`${at}.ttl only applies to persistent client-only keys (IndexedDB); use maxAge for cookies.`)
  if (type !== undefined && (tier !== 'cookie' || (type !== 'string' && type !== 'json'))) {
    throw invalid(`${at}.type is for server-visible keys and must be 'string' or 'json'; got ${JSON.stringify(type)}.`)
  }
  // A null prototype: an unset maxAge or ttlMs must not be read from a polluted Object.prototype.
  const spec: KeySpec = Object.assign(Object.create(null) as KeySpec, { declared, lifetime: lifetime as Lifetime, tier })
  if (type !== undefined) spec.type = type as KeySpec['type']
  if (validate !== undefined) {
    if (!isStandardSchema(validate)) throw invalid(`${at}.validate must be a Standard Schema (zod, valibot, arktype…): an object with "~standard".validate.`)
    spec.validate = validate
  }
  if (persistentIn('cookie')) {
    const age = positive(maxAge, `${at}.maxAge`, 'seconds', 'the 400-day default') ?? MAX_COOKIE_AGE
    // Max-Age is whole seconds; 0.5 would become Max-Age=0, which deletes the cookie as it is written.
    if (age < 1) throw invalid(`${at}.maxAge must be at least 1 second; got ${age}.`)
    if (age > MAX_COOKIE_AGE) console.warn(`visitstore: ${at}.maxAge ${age}s is over the 400-day cap of RFC 6265bis; using 400 days.`)
    spec.maxAge = Math.floor(Math.min(age, MAX_COOKIE_AGE))
  }
  const seconds = positive(ttl, `${at}.ttl`, 'seconds', 'no expiry')
  if (seconds !== undefined) spec.ttlMs = seconds * 1000
  return spec
}

/** Checks the `keys` option: every key (or family ending in `*`) with valid options. */
export function compileKeys(keys: unknown): KeyTable {
  if (typeof keys !== 'object' || keys === null) throw invalid('createStore: keys must be an object mapping each key (or family ending in "*") to its options.')
  return keyTable(Object.keys(keys).map((declared) => {
    if (declared === '' || declared === '*') throw invalid(`keys: "${declared}" is not a key name; a family needs a prefix, such as "draft:*".`)
    return compileSpec(declared, (keys as Record<string, unknown>)[declared])
  }))
}

/** Store names become cookie prefixes (`shop_theme`), so they may not hold the `_` separator. */
function checkStoreName(name: unknown): string {
  if (typeof name !== 'string' || !STORE_NAME.test(name)) {
    throw invalid(`createStore: name must be 1-64 letters, digits or "-" (it prefixes cookie names and names the IndexedDB database); got ${JSON.stringify(name)}.`)
  }
  return name
}

/**
 * Checks `cookie` options against the page they will be written on (`href`, when known): a
 * cookie the browser would drop on arrival is refused here instead of failing on every write.
 */
export function checkCookieOptions(cookie: CookieOptions | undefined, href?: string): CookieConfig {
  const o = ownOptions(cookie)
  const budget = o.budget ?? DEFAULT_COOKIE_BUDGET
  if (!Number.isInteger(budget) || budget <= 0) throw invalid(`cookie.budget must be a positive whole number of bytes; got ${String(o.budget)}.`)
  const page = href === undefined ? undefined : new URL(href)
  const secure = o.secure ?? page?.protocol === 'https:'
  const sameSite = o.sameSite ?? 'Lax'
  if (!['Strict', 'Lax', 'None'].includes(sameSite)) throw invalid(`cookie.sameSite must be 'Strict', 'Lax' or 'None'; got ${JSON.stringify(sameSite)}.`)
  if (o.secure === true && page?.protocol === 'http:' && !LOCAL_HOSTS.includes(page.hostname)) {
    throw invalid('cookie.secure: true on a plain http page: browsers drop Secure cookies there. Serve the page over https, or leave secure unset (it defaults to true on https).')
  }
  if (sameSite === 'None' && !secure) throw invalid("cookie.sameSite 'None' requires secure: true (browsers drop such cookies otherwise); serve the page over https.")
  const config: CookieConfig = Object.assign(Object.create(null) as CookieConfig, { budget, path: o.path ?? '/', sameSite, secure })
  if (o.domain) {
    const domain = o.domain.replace(/^\./, '').toLowerCase()
    const host = page?.hostname.toLowerCase()
    if (host && host !== domain && !host.endsWith(`.${domain}`)) {
      throw invalid(`cookie.domain "${o.domain}" does not match this page's host ${host}: the browser would drop every cookie. Use the host or a parent domain of it, or leave domain unset.`)
    }
    config.domain = o.domain
  }
  return config
}

/** Checks `createStore`'s options (not the session sync's: sessionSync checked those). */
export function checkStoreOptions(options: unknown, href?: string): StoreConfig {
  if (typeof options !== 'object' || options === null) throw invalid('createStore needs an options object: createStore({ name, keys }).')
  const o = ownOptions(options as StoreOptions<unknown>)
  const name = checkStoreName(o.name)
  const openTimeout = positive(o.openTimeout, 'openTimeout', 'milliseconds', 'the 5000 ms default') ?? 5000
  const request = 'cookieHeader' in o
  if (request && o.cookieHeader !== undefined && typeof o.cookieHeader !== 'string') throw invalid('cookieHeader must be the request\'s Cookie header (a string), or undefined when it has none.')
  const header = o.cookieHeader ?? ''
  return {
    name,
    names: storeNames(name),
    keys: compileKeys(o.keys),
    cookie: checkCookieOptions(o.cookie, request ? undefined : href),
    openTimeout,
    // A request's store sees the request's cookies and nothing of the browser.
    backends: request ? { indexedDB: null, sessionStorage: null, cookies: { read: () => header, write: readOnly } } : ownOptions(o.backends),
    session: o.session,
    request,
  }
}

function readOnly(): never {
  throw new VisitStoreError('STORAGE_UNAVAILABLE', 'this store reads one request\'s cookies (cookieHeader) and cannot write them: use setCookieHeaders from visitstore/server.')
}

/** Cookie names servers make HttpOnly by default: scripts cannot read them, so they cannot be a source. */
const HTTP_ONLY_BY_DEFAULT = /^(jsessionid|connect\.sid|asp\.net_sessionid|\.aspnetcore\.session|laravel_session|_session_id)$/i

/** Checks `sessionSync`'s options. */
export function checkSessionOptions(options: unknown): SessionSyncOptions {
  const bad = (why: string) => invalid(`sessionSync: ${why}`)
  if (typeof options !== 'object' || options === null) throw bad("give an options object: sessionSync({ endpoint: '/session' }).")
  const o = ownOptions(options as Record<string, unknown>)
  const sources = ['endpoint', 'cookie', 'header', 'read'].filter((k) => o[k] !== undefined)
  const source = sources[0]
  if (sources.length !== 1 || source === undefined) throw bad('give exactly one source: { endpoint }, { cookie }, { header } or { read }.')
  const value = o[source]
  if (source === 'read' ? typeof value !== 'function' : typeof value !== 'string' || value === '') {
    throw bad(`${source} must be ${source === 'read' ? 'a function' : 'a non-empty string'}.`)
  }
  if (source === 'cookie' && HTTP_ONLY_BY_DEFAULT.test(value as string)) {
    throw bad(`the ${String(value)} cookie is HttpOnly by default on its server, so scripts cannot read it. ` +
      "Serve the session tag from an endpoint (sessionSync({ endpoint: '/session' })) or a response header (sessionSync({ header: 'X-Session-Tag' })); see the README's Server sessions section.")
  }
  for (const k of ['interval', 'expiringBefore', 'timeout']) {
    const v = o[k]
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (k === 'timeout' && v === 0))) {
      throw bad(`${k} must be a number of milliseconds${k === 'timeout' ? ' above 0' : ' ≥ 0'}.`)
    }
  }
  return o as SessionSyncOptions
}
