import { decodeCookieValue, encodeCookieValue } from '../codec.js'
import { VisitStoreError } from '../errors.js'
import type { KeySpec } from '../keys.js'
import { checkStoreOptions, type StoreConfig } from '../options.js'
import { checkWrites, parseCookies, type CookieWrite, cookieLines } from '../tiers/cookie.js'
import type { CookieKey, KeysFor, SchemaFor, StoreOptions, StrictKeys } from '../types.js'
import { validate } from '../validation.js'

// The server half of the cookie tier: the same options object, codec, attributes, size checks and
// codes as the browser's store, from the same modules (not a copy), so both sides read and write
// exactly the same cookies.

/** What the server reads and writes: the store's cookie-tier keys (every key when only a schema type is known). */
type CookieValues<S, C> = { [K in CookieKey<S, C>]?: S[K] }

const configOf = (options: unknown): StoreConfig => checkStoreOptions(options)
const cookieSpec = (config: StoreConfig, key: string): KeySpec | undefined => {
  const spec = config.keys.find(key)
  return spec?.tier === 'cookie' ? spec : undefined
}

/**
 * The store's cookie values in a request's `Cookie` header, decoded exactly as the browser's
 * `get` decodes them, for the same options object `createStore` takes. A missing, undecodable,
 * or refused (by a synchronous `validate`) value is absent; it never throws for the header.
 * @example const { theme } = readCookies(storeOptions, req.headers.cookie)
 */
export function readCookies<S extends object = never, const C extends KeysFor<S> = KeysFor<S>>(options: StoreOptions<SchemaFor<S, C>, C & StrictKeys<C>>, cookieHeader: string | undefined): CookieValues<SchemaFor<S, C>, C> {
  const config = configOf(options)
  const prefix = config.names.cookie('')
  const parsed = parseCookies((cookieHeader ?? '').split(/;\s*/).join('; '), prefix, (key) => cookieSpec(config, key) !== undefined)
  const out = Object.create(null) as Record<string, unknown>
  for (const [key, raw] of parsed.mine) {
    const spec = cookieSpec(config, key) as KeySpec
    const decoded = decodeCookieValue(raw, spec.type)
    if (!decoded.ok || parsed.twice.has(key)) continue
    const checked = validate(spec.validate, decoded.value)
    if (!(checked instanceof Promise) && checked.ok) out[key] = checked.value
  }
  return out as CookieValues<SchemaFor<S, C>, C>
}

/**
 * `Set-Cookie` header values that store `values` (undefined removes a key) with the attributes,
 * size checks and error codes the browser's store uses, so the browser's store reads them back
 * unchanged. Server-set cookies also outlive Safari's 7-day cap on script-set ones.
 * @example res.append('Set-Cookie', setCookieHeaders(storeOptions, { theme: 'dark' }))
 */
export function setCookieHeaders<S extends object = never, const C extends KeysFor<S> = KeysFor<S>>(options: StoreOptions<SchemaFor<S, C>, C & StrictKeys<C>>, values: CookieValues<SchemaFor<S, C>, C>): string[] {
  const config = configOf(options)
  const prefix = config.names.cookie('')
  const lines = cookieLines({ config: config.cookie }, prefix)
  const writes: CookieWrite[] = Object.entries(values as Record<string, unknown>).map(([key, value]) => {
    const spec = config.keys.resolve(key)
    if (spec.tier !== 'cookie') {
      throw new VisitStoreError('INVALID_VALUE', `setCookieHeaders: "${key}" is not server-visible (it lives in ${spec.tier}); only serverVisible keys are cookies.`)
    }
    if (value === undefined) return { key, encoded: undefined, spec }
    const checked = validate(spec.validate, value)
    if (checked instanceof Promise) throw new VisitStoreError('NOT_SYNC_READABLE', `setCookieHeaders: "${key}" has an asynchronous validator; it must answer synchronously here.`)
    if (!checked.ok) throw new VisitStoreError('INVALID_VALUE', `setCookieHeaders: "${key}": the value does not pass the key's validator: ${checked.reason}.`)
    return { key, encoded: encodeCookieValue(checked.value, key, spec.type), spec }
  })
  checkWrites(writes, new Map(), new Set(), lines.name, config.cookie.budget, true)
  return writes.map(lines.line)
}
