import Cookies from 'js-cookie'
import { cookieBytes, encodeCookieName } from '../codec.js'
import { VisitStoreError } from '../errors.js'
import { ownOptions, type KeySpec } from '../placement.js'
import type { CookieOptions } from '../types.js'

/** RFC 6265bis §5.6: user agents must accept name+value of at least 4096 bytes, and most accept no more. */
export const COOKIE_LIMIT = 4096
/** The store's cookies together; far below the 8 KB header limit of nginx and Apache. */
export const DEFAULT_COOKIE_BUDGET = 2048

/** One cookie to write: the store key, its already-encoded value, and its key's rules. */
export interface CookieWrite {
  key: string
  encoded: string
  spec: KeySpec
}

/** The cookie tier: synchronous reads and writes of the store's own cookies through js-cookie. */
export interface CookieTier {
  /** Whether this page can hold cookies at all (a document, cookies not disabled). */
  readonly available: boolean
  /** The raw (still encoded) value of a store key, or undefined. */
  read(key: string): string | undefined
  /** The raw value of a cookie the store does not own (the server's script-readable session cookie). */
  readForeign(name: string): string | undefined
  /** Checks size and budget for all writes first, then writes them; all or nothing. Returns the raw values they replaced. */
  write(writes: readonly CookieWrite[]): Map<string, string | undefined>
  remove(keys: readonly string[]): void
  /** The store keys that have a cookie now. */
  keys(): string[]
}

function unavailable(what: string): VisitStoreError {
  return new VisitStoreError('STORAGE_UNAVAILABLE',
    `${what}: cookies are not available here (no document, or cookies are disabled). Server-visible values need cookies; ` +
    'check store.status.cookies before writing them.')
}

/**
 * `document.cookie` as js-cookie's `get()` reads it (names URL-decoded, the first of two equal
 * names wins, undecodable names skipped), from a string already read.
 */
export function parseCookieString(source: string): Map<string, string> {
  const cookies = new Map<string, string>()
  for (const pair of source ? source.split('; ') : []) {
    const at = pair.indexOf('=')
    let name: string
    try {
      name = decodeURIComponent(at < 0 ? pair : pair.slice(0, at))
    } catch {
      continue
    }
    if (!cookies.has(name)) cookies.set(name, at < 0 ? '' : pair.slice(at + 1))
  }
  return cookies
}

/**
 * js-cookie copies and writes attributes with `for…in`, which also walks Object.prototype: a
 * polluted prototype (`Object.prototype.domain = 'evil'`) would become a cookie attribute. Own
 * properties set to undefined shadow every inherited one, and js-cookie skips falsy attributes.
 */
function shielded(attributes: Record<string, string | boolean | Date>): Record<string, string | boolean | Date | undefined> {
  const out: Record<string, string | boolean | Date | undefined> = { ...attributes }
  for (const name in out) if (!Object.prototype.hasOwnProperty.call(out, name)) out[name] = undefined
  return out
}

/** Hosts where browsers keep Secure cookies even on http (secure contexts by definition). */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Creates the cookie tier for a store whose cookie names all start with `prefix`. */
export function createCookieTier(prefix: string, cookieOptions: CookieOptions = {}): CookieTier {
  const options = ownOptions(cookieOptions)
  const budget = options.budget ?? DEFAULT_COOKIE_BUDGET
  if (!Number.isInteger(budget) || budget <= 0) {
    throw new VisitStoreError('INVALID_OPTIONS', `cookie.budget must be a positive whole number of bytes; got ${String(options.budget)}.`)
  }
  const available = typeof document !== 'undefined' && (typeof navigator === 'undefined' || navigator.cookieEnabled !== false)
  const secure = options.secure ?? (typeof location !== 'undefined' && location.protocol === 'https:')
  const sameSite = options.sameSite ?? 'Lax'
  if (options.secure === true && typeof location !== 'undefined' && location.protocol === 'http:' && !LOCAL_HOSTS.has(location.hostname)) {
    throw new VisitStoreError('INVALID_OPTIONS', 'cookie.secure: true on a plain http page: browsers drop Secure cookies there. Serve the page over https, or leave secure unset (it defaults to true on https).')
  }
  if (sameSite === 'None' && !secure) {
    throw new VisitStoreError('INVALID_OPTIONS', "cookie.sameSite 'None' requires secure: true (browsers drop such cookies otherwise); serve the page over https.")
  }
  const base: Record<string, string | boolean> = { path: options.path ?? '/', SameSite: sameSite }
  if (options.domain) base.domain = options.domain
  if (secure) base.Secure = true
  // Identity converter: values arrive encoded by codec.ts, so that byte counts are exact and a
  // hand-edited cookie is detected on decode rather than mangled silently.
  const jar = Cookies.withConverter<string>({ read: (v) => v, write: (v) => v })

  const cookieName = (key: string) => prefix + key
  // Parsing document.cookie on every read is most of a cookie read's cost; parse once per distinct
  // cookie string instead. Reading the string is still needed to see changes made elsewhere.
  let parsedFrom: string | undefined
  let parsed = new Map<string, string>()
  let mine: Map<string, string> | undefined
  const cookieJar = (): Map<string, string> => {
    const source = document.cookie
    if (source !== parsedFrom) {
      parsedFrom = source
      parsed = parseCookieString(source)
      mine = undefined
    }
    return parsed
  }
  const owned = (): Map<string, string> => {
    const all = cookieJar()
    if (!mine) {
      mine = new Map()
      for (const [name, raw] of all) {
        if (name.startsWith(prefix)) mine.set(name.slice(prefix.length), raw)
      }
    }
    return mine
  }
  const attributesFor = (spec: KeySpec | undefined) =>
    shielded(spec?.maxAge === undefined ? base : { ...base, 'Max-Age': String(spec.maxAge) })
  // Not jar.remove(): it merges in an attributes literal of its own, which a polluted prototype reaches.
  const removeCookie = (key: string) => jar.set(cookieName(key), '', shielded({ ...base, expires: new Date(0) }))
  const encodedNames = new Map<string, string>()
  const encodedName = (key: string): string => {
    const known = encodedNames.get(key)
    if (known !== undefined) return known
    try {
      const encoded = encodeCookieName(cookieName(key))
      encodedNames.set(key, encoded)
      return encoded
    } catch (err) {
      throw new VisitStoreError('NOT_SERIALIZABLE', `set("${key}"): the key cannot be a cookie name (it holds a lone surrogate, which has no UTF-8 form). Use another key.`, { cause: err })
    }
  }

  function checkSizes(writes: readonly CookieWrite[], current: Map<string, string>): void {
    const usage = new Map<string, number>()
    for (const [key, raw] of current) usage.set(key, cookieBytes(encodedName(key), raw))
    for (const { key, encoded } of writes) {
      const bytes = cookieBytes(encodedName(key), encoded)
      if (bytes > COOKIE_LIMIT) {
        throw new VisitStoreError('COOKIE_TOO_LARGE',
          `set("${key}"): the cookie would take ${bytes} bytes of name+value; browsers keep at most ${COOKIE_LIMIT}. ` +
          'Store less, or make the key client-only (drop serverVisible) to keep it in IndexedDB.')
      }
      usage.set(key, bytes)
    }
    let total = 0
    for (const bytes of usage.values()) total += bytes
    if (total > budget) {
      throw new VisitStoreError('COOKIE_BUDGET_EXCEEDED',
        `set("${writes.map((w) => w.key).join('", "')}"): the store's cookies would take ${total} bytes, over its budget of ${budget}. ` +
        'Every cookie travels with every request; delete some, store less, or raise cookie.budget.')
    }
  }

  function restore(previous: Map<string, string | undefined>, specs: Map<string, KeySpec>): void {
    for (const [key, raw] of previous) {
      if (raw === undefined) removeCookie(key)
      else jar.set(cookieName(key), raw, attributesFor(specs.get(key)))
    }
  }

  return {
    available,
    read(key) {
      return available ? cookieJar().get(cookieName(key)) : undefined
    },
    readForeign(name) {
      return available ? cookieJar().get(name) : undefined
    },
    write(writes) {
      if (!available) throw unavailable(`set("${writes[0]?.key ?? ''}")`)
      const current = owned()
      checkSizes(writes, current)
      const previous = new Map(writes.map((w) => [w.key, current.get(w.key)]))
      const specs = new Map(writes.map((w) => [w.key, w.spec]))
      for (const { key, encoded, spec } of writes) jar.set(cookieName(key), encoded, attributesFor(spec))
      // Browsers drop cookies silently (Secure on http in WebKit, blocked third-party frames):
      // read back, and undo the batch rather than report a write that did not happen.
      const now = owned()
      const dropped = writes.find((w) => now.get(w.key) !== w.encoded)
      if (dropped) {
        restore(previous, specs)
        throw new VisitStoreError('STORAGE_UNAVAILABLE',
          `set("${dropped.key}"): the browser did not keep the cookie (blocked cookies, or a Secure cookie on http). The previous value is kept.`)
      }
      return previous
    },
    remove(keys) {
      if (!available) return
      for (const key of keys) removeCookie(key)
    },
    keys() {
      return available ? [...owned().keys()] : []
    },
  }
}
