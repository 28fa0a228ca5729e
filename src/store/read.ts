import { decodeCookieValue, decodeTabValue, type Decoded } from '../codec.js'
import { VisitStoreError } from '../errors.js'
import type { KeySpec } from '../keys.js'
import { judge, type StoredRecord } from '../records.js'
import { validate, type Checked } from '../validation.js'
import { assertOpen, endedCookie, type StoreContext } from './context.js'
import { clientFor, sessionLive } from './marker.js'

/**
 * The raw text of a cookie or tab key now (cookies: still encoded; one a purge ended reads as
 * missing). `cookie`: how the jar is read (in a section, its view: `ctx.cookies.current`).
 */
export const rawSync = (ctx: StoreContext, key: string, spec: KeySpec, cookie = (k: string) => ctx.cookies.read(k)): string | undefined =>
  (spec.tier !== 'cookie' ? ctx.tab.read(key) : endedCookie(ctx, key, spec.lifetime) ? undefined : cookie(key))

/** Decodes a cookie or tab value; an undecodable one (edited by hand) reads as missing and fires `invalid`. */
export function decodeSync(ctx: StoreContext, key: string, spec: KeySpec, raw: string | undefined): unknown {
  if (raw === undefined) return undefined
  return accepted(ctx, key, spec.tier === 'cookie' ? decodeCookieValue(raw, spec.type) : decodeTabValue(raw))
}

function accepted(ctx: StoreContext, key: string, decoded: Decoded): unknown {
  if (decoded.ok) return decoded.value
  ctx.events.emit('invalid', { key, reason: decoded.reason })
  return undefined
}

/** A stored value the key's validator refuses reads as missing, and `invalid` says why. */
function validated(ctx: StoreContext, key: string, checked: Checked): unknown {
  if (checked.ok) return checked.value
  ctx.events.emit('invalid', { key, reason: `the stored value does not pass the key's validator: ${checked.reason}` })
  return undefined
}

/** Validates a value read from storage; synchronous when the validator is. */
export function checkRead(ctx: StoreContext, key: string, spec: KeySpec, value: unknown): unknown {
  if (value === undefined || !spec.validate) return value
  const checked = validate(spec.validate, value)
  return checked instanceof Promise ? checked.then((c) => validated(ctx, key, c)) : validated(ctx, key, checked)
}

/** Validates a read that cannot wait (`peek`, `update`'s transaction). */
export function checkReadNow(ctx: StoreContext, key: string, spec: KeySpec, value: unknown, what: string): unknown {
  const result = checkRead(ctx, key, spec, value)
  if (result instanceof Promise) {
    void result.catch(() => {})
    throw new VisitStoreError('NOT_SYNC_READABLE', `${what}("${key}"): the key's validator is asynchronous, so it cannot check a value synchronously. Use a synchronous schema, or await store.get("${key}").`)
  }
  return result
}

/** The value of a stored record if it is live under its key's current declaration; a malformed one fires `invalid`. */
export function recordValue(ctx: StoreContext, key: string, spec: KeySpec, raw: unknown, live: string | undefined): unknown {
  const verdict = judge(raw, spec, live, Date.now())
  if (typeof verdict === 'string') ctx.events.emit('invalid', { key, reason: verdict })
  return verdict === true ? (raw as StoredRecord).v : undefined
}

/** Reads IndexedDB keys (all of one kind: session-scoped or not). */
async function readRecords(ctx: StoreContext, keys: readonly string[], specs: readonly KeySpec[]): Promise<unknown[]> {
  const session = specs.some((spec) => spec.lifetime === 'session')
  const live = session ? await sessionLive(ctx) : undefined
  const raws = await clientFor(ctx, session).read(keys)
  return raws.map((raw, i) => recordValue(ctx, keys[i] as string, specs[i] as KeySpec, raw, live))
}

/** `store.get`. A persistent key never waits for the network; a session key waits for the session's first answer (bounded). */
export async function get(ctx: StoreContext, key: string): Promise<unknown> {
  assertOpen(ctx, `get("${key}")`)
  const spec = ctx.keys.resolve(key)
  if (spec.tier !== 'indexeddb') return checkRead(ctx, key, spec, decodeSync(ctx, key, spec, rawSync(ctx, key, spec)))
  const [value] = await readRecords(ctx, [key], [spec])
  return checkRead(ctx, key, spec, value)
}

/** `store.getMany`: the IndexedDB keys in one transaction (session-scoped and persistent ones in one each). */
export async function getMany(ctx: StoreContext, keys: readonly string[]): Promise<Record<string, unknown>> {
  assertOpen(ctx, 'getMany()')
  const specs = keys.map((key) => ctx.keys.resolve(key))
  const values = new Array<unknown>(keys.length)
  const groups = [true, false].map((session) => keys.flatMap((_, i) =>
    (specs[i]?.tier === 'indexeddb' && (specs[i]?.lifetime === 'session') === session ? [i] : [])))
  // A read of cookies and IndexedDB together waits for the start-up journal replay: a cross-tier
  // batch interrupted by a crash is then whole again (or wholly absent) in what it returns.
  if (groups.some((g) => g.length) && specs.some((spec) => spec.tier === 'cookie')) await ctx.recovered
  await Promise.all(groups.map(async (group) => {
    if (!group.length) return
    const found = await readRecords(ctx, group.map((i) => keys[i] as string), group.map((i) => specs[i] as KeySpec))
    group.forEach((i, n) => { values[i] = found[n] })
  }))
  keys.forEach((key, i) => {
    const spec = specs[i] as KeySpec
    values[i] = checkRead(ctx, key, spec, spec.tier === 'indexeddb' ? values[i] : decodeSync(ctx, key, spec, rawSync(ctx, key, spec)))
  })
  // Only an asynchronous validator makes a promise; without one there is nothing to wait for.
  const settled = values.some((v) => v instanceof Promise) ? await Promise.all(values) : values
  // fromEntries defines own properties: a key "__proto__" cannot reach the prototype.
  return Object.fromEntries(keys.map((key, i) => [key, settled[i]]))
}

/**
 * `store.peek`: a synchronous read of a cookie or tab key. An unchanged stored value gives the
 * same object every time (React's useSyncExternalStore loops forever otherwise).
 */
export function peek(ctx: StoreContext, key: string, cache: Map<string, { raw: string | undefined, value: unknown }>): unknown {
  assertOpen(ctx, `peek("${key}")`)
  const spec = ctx.keys.resolve(key)
  if (spec.tier === 'indexeddb') {
    throw new VisitStoreError('NOT_SYNC_READABLE', `peek("${key}"): "${key}" lives in IndexedDB, which has no synchronous read. Use await store.get("${key}").`)
  }
  const raw = rawSync(ctx, key, spec)
  const known = cache.get(key)
  if (known && known.raw === raw) return known.value
  const value = checkReadNow(ctx, key, spec, decodeSync(ctx, key, spec, raw), 'peek')
  cache.set(key, { raw, value })
  return value
}
