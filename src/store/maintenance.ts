import { liveStamps } from '../cross-tab.js'
import { VisitStoreError } from '../errors.js'
import { declaredAs, familyPrefix, type HomeTier, type KeySpec } from '../keys.js'
import { newStamp, partsOf, type StoredRecord } from '../records.js'
import { after } from '../tiers/backend.js'
import type { ClientTier } from '../tiers/client.js'
import type { Lifetime } from '../types.js'
import { assertOpen, endedCookie, inTurn, notify, report, type StoreContext } from './context.js'
import { askPage, clientFor, sessionLive } from './marker.js'
import { clearAcrossTiers } from './journal.js'
import { get } from './read.js'

// Work proportional to what it touches: listing, clearing and sweeping go through key ranges and
// the [k, p] and x indexes; deletions run in slices of SLICE records with a pause between, so the
// page never stalls on a big store.

const SLICE = 500
const DECLARATIONS = '$decl'
const pause = () => new Promise((resolve) => setTimeout(resolve, 0))
const declares = (ctx: StoreContext, tier: HomeTier, lifetime?: Lifetime) =>
  ctx.keys.specs.some((s) => s.tier === tier && (lifetime === undefined || s.lifetime === lifetime))

/** `store.keys(prefix)`: the stored keys, sorted; IndexedDB's listed from its key ranges and indexes, without reading values. */
export async function listKeys(ctx: StoreContext, prefix = ''): Promise<string[]> {
  assertOpen(ctx, 'keys()')
  // Not the session cookies a purge under way ended (they read as missing).
  const found = ctx.cookies.keys().filter((k) => declaredAs(ctx.keys, k, 'cookie') && !endedCookie(ctx, k, ctx.keys.resolve(k).lifetime))
  if (declares(ctx, 'sessionStorage')) found.push(...ctx.tab.keys().filter((k) => declaredAs(ctx.keys, k, 'sessionStorage')))
  if (declares(ctx, 'indexeddb', 'persistent')) {
    const keys = (await ctx.client.keys(prefix)).filter((k) => declaredAs(ctx.keys, k, 'indexeddb', 'persistent'))
    const expiring = keys.some((k) => ctx.keys.find(k)?.ttlMs !== undefined)
    const expired = new Set(expiring ? await ctx.client.expired(Date.now()) : [])
    found.push(...keys.filter((k) => !expired.has(k)))
  }
  if (declares(ctx, 'indexeddb', 'session')) {
    const live = await sessionLive(ctx)
    found.push(...(await clientFor(ctx, true).keysOf(live, prefix)).filter((k) => declaredAs(ctx.keys, k, 'indexeddb', 'session')))
  }
  return found.filter((k) => k.startsWith(prefix)).sort()
}

/** The key ranges of the IndexedDB records declared with `lifetime`: each key or family, minus what is declared otherwise inside it. */
function rangesOf(ctx: StoreContext, lifetime: Lifetime): [string, string][] {
  const span = (spec: KeySpec): [string, string] => {
    const prefix = familyPrefix(spec)
    return prefix === undefined ? [spec.declared, `${spec.declared}\0`] : [prefix, after(prefix)]
  }
  const ours = (s: KeySpec) => s.tier === 'indexeddb' && s.lifetime === lifetime
  const holes = ctx.keys.specs.filter((s) => !ours(s)).map(span).sort(([a], [b]) => (a < b ? -1 : 1))
  return ctx.keys.specs.filter(ours).flatMap((spec) => {
    const [from, to] = span(spec)
    const out: [string, string][] = []
    let at = from
    // Only what is declared more specifically inside this key range is left out.
    for (const [a, b] of holes) {
      if (a < from || b > to || (a === from && b === to) || b <= at) continue
      if (a > at) out.push([at, a])
      if (b > at) at = b
    }
    if (at < to) out.push([at, to])
    return out
  })
}

/**
 * `store.clear`: removes the store's data, or one lifetime's; never a cookie it does not declare.
 * In turn (store/context.ts inTurn): after the writes called before it, and before every write
 * and read called after it (a write would otherwise be deleted, in part for a cross-tier batch).
 */
export async function clear(ctx: StoreContext, lifetime?: Lifetime, id?: string): Promise<void> {
  assertOpen(ctx, 'clear()')
  await inTurn(ctx, {}, () => clearNow(ctx, lifetime, id))
}

/** `id`: a Worker's clear() carried out here (clearAsked). */
async function clearNow(ctx: StoreContext, lifetime?: Lifetime, id?: string): Promise<void> {
  if (!ctx.cookies.available && declares(ctx, 'cookie', lifetime)) {
    await ctx.marker.settled
    if (ctx.marker.scope === 'shared') return clearByPage(ctx, lifetime)
  }
  const matches = (key: string, tier: HomeTier) => declaredAs(ctx.keys, key, tier, lifetime)
  const watched = ctx.watchers.listened().filter((key) => matches(key, 'indexeddb'))
  const existed = await Promise.all(watched.map((key) => get(ctx, key).then((v) => v !== undefined, () => false)))
  const tabKeys = declares(ctx, 'sessionStorage', lifetime) ? ctx.tab.keys().filter((k) => matches(k, 'sessionStorage')) : []
  ctx.tab.remove(tabKeys)
  // Internal records ($session, $seq, the journal) have keys starting with "$": they stay.
  const ranges: [string, string | undefined][] = lifetime === undefined ? [['', '$'], ['%', undefined]] : rangesOf(ctx, lifetime)
  if (ctx.cookies.available) await ctx.recovered
  let cookieKeys: string[]
  // Where cross-tier batches can be, both tiers in commit order with theirs (store/journal.ts), so
  // that none ends half cleared.
  if (ctx.cookies.available && ctx.client.mode === 'indexeddb' && declares(ctx, 'cookie', lifetime) && declares(ctx, 'indexeddb')) {
    cookieKeys = await clearAcrossTiers(ctx, lifetime ?? '', ranges)
  } else {
    cookieKeys = ctx.cookies.available ? ctx.cookies.keys().filter((k) => matches(k, 'cookie')) : []
    if (cookieKeys.length) await ctx.cookies.section(() => ctx.cookies.write(cookieKeys.map((key) => ({ key, encoded: undefined }))))
    for (const [from, to] of ranges) await ctx.client.deleteRange(from, to)
  }
  for (const [from, to] of ranges) await ctx.pageClient.deleteRange(from, to)
  for (const key of [...cookieKeys, ...tabKeys, ...watched.filter((_, i) => existed[i])]) notify(ctx, key, undefined)
  ctx.outbox.flush()
  ctx.channel.post({ t: 'c', lifetime, id })
}

/**
 * clear() in a context that shares a page's browser session but cannot remove cookies (a Worker):
 * a page of the session carries out the whole of it, cookies included (clearAsked). The request is
 * a record `$clear:<id>` as well as a message: the page that takes the record (read and deleted in
 * one transaction) is the one that clears, so a page that hears the message late clears nothing
 * again. With no page telling within 10 s, the record is taken back: if it was still there,
 * nothing was cleared.
 */
async function clearByPage(ctx: StoreContext, lifetime?: Lifetime): Promise<void> {
  const id = newStamp()
  await ctx.client.write({ put: [{ p: `$clear:${id}` }], what: () => 'asking a page to clear()' })
  await askPage<true>(ctx, 'clear()', { t: 'x', id, lifetime }, (reply) => (reply.t === 'c' && reply.id === id ? true : undefined),
    async () => ((await takeRequest(ctx, id)) ? '; nothing was removed' : ''))
}

/** Whether the request `$clear:<id>` was still there; it is not any more. */
const takeRequest = (ctx: StoreContext, id: string): Promise<boolean> =>
  ctx.client.run('readwrite', (tx, done) => tx.get(`$clear:${id}`, (raw) => {
    if (raw !== undefined) tx.delete(`$clear:${id}`)
    done(raw !== undefined)
  }))

/** A Worker asked for a clear() (clearByPage): the page that takes its request carries it out. */
export function clearAsked(ctx: StoreContext, id: string, lifetime?: Lifetime): void {
  if (ctx.closed || !ctx.cookies.available) return
  takeRequest(ctx, id).then((mine) => (mine ? clear(ctx, lifetime, id) : undefined))
    .catch((err: unknown) => report(ctx, err, 'A Worker\'s clear() failed.'))
}

/** Deletes those of `keys` that `dead` still says are dead when read again in the deleting transaction. */
function deleteIf(client: ClientTier, keys: readonly string[], dead: (raw: Partial<StoredRecord>) => boolean): Promise<void> {
  return client.run('readwrite', (tx, done) => {
    for (const key of keys) tx.get(key, (raw) => { if (raw !== undefined && dead(raw as Partial<StoredRecord>)) tx.delete(key) })
    done(undefined)
  })
}

/**
 * Deletes (or, with `to`, moves to liveness key `to`) every record of liveness key `k`, a slice
 * at a time; resolves to the keys. Deletes only records of keys declared session-scoped today: a
 * key re-declared persistent keeps its data whatever session it was written in.
 */
export async function dropLivenessKey(ctx: StoreContext, client: ClientTier, k: string, to?: string): Promise<string[]> {
  const touched: string[] = []
  const session = (key: string) => ctx.keys.find(key)?.lifetime === 'session'
  for (let from = ''; ;) {
    const found = await client.keysOf(k, undefined, SLICE, from)
    // A move takes every record; a deletion leaves those of keys declared persistent now.
    const keys = to === undefined ? found.filter(session) : found
    if (!found.length) return touched
    touched.push(...keys)
    from = `${found.at(-1) as string}\0`
    if (to === undefined) await deleteIf(client, keys, (raw) => raw.k === k)
    else {
      await client.run('readwrite', (tx, done) => {
        for (const key of keys) tx.get(key, (raw) => { if ((raw as StoredRecord | undefined)?.k === k) tx.put({ ...(raw as StoredRecord), k: to }) })
        done(undefined)
      })
    }
  }
}

/**
 * The background sweep after start-up: expired records, then session records whose own stamps
 * prove their session ended. A context that cannot see the browser session (a Worker, blocked
 * cookies) sweeps no session data; an ended browser session is proven only by Web Locks (no
 * page holds its stamp), so without them such records only read as missing.
 */
export async function sweep(ctx: StoreContext): Promise<void> {
  while (!ctx.closed && (await ctx.client.deleteExpired(Date.now(), SLICE))) await pause()
  if (ctx.marker.scope === 'page' || !ctx.cookies.available || ctx.client.mode !== 'indexeddb') return
  const live = await liveStamps(ctx.env, ctx.names)
  const tag = ctx.session.tag()
  const tagKnown = tag !== undefined && ctx.session.session.state !== 'unknown'
  for (const k of await ctx.client.livenessKeys()) {
    const [stamp, part] = partsOf(k)
    // Only records of other browser sessions, not even by their tag: another tab of this one may
    // have moved to a session this tab has not heard of yet, and written in it (or be moving data
    // there, keepOnLogin). This session's records of an ended server session read as missing; its
    // purges delete them.
    if (stamp === ctx.marker.stamp || ctx.closed) continue
    const browserEnded = live !== undefined && !live.has(stamp)
    if (browserEnded || (tagKnown && part !== (tag ?? ''))) await dropLivenessKey(ctx, ctx.client, k)
  }
}

/**
 * Data written under an older declaration is judged by today's (reads already do that): when a
 * key became session-scoped, its IndexedDB records without a session stamp are deleted and its
 * persistent cookie is written again as a session cookie, so it ends with this browser session.
 * Runs once per change of the declarations (their fingerprint is kept in the database).
 */
export async function applyDeclarations(ctx: StoreContext): Promise<void> {
  if (ctx.client.mode !== 'indexeddb') return
  const now = JSON.stringify(ctx.keys.specs.map((s) => [s.declared, s.lifetime, s.tier]))
  const [saved] = await ctx.client.read([DECLARATIONS])
  const before = (saved as { v?: string } | undefined)?.v
  if (before === now) return
  const was = new Map((before ? JSON.parse(before) as [string, Lifetime][] : []).map(([d, l]) => [d, l]))
  const became = ctx.keys.specs.filter((s) => s.lifetime === 'session' && was.get(s.declared) !== 'session')
  const cookies = ctx.cookies.available ? ctx.cookies.keys().filter((k) => became.includes(ctx.keys.find(k) as KeySpec) && ctx.keys.find(k)?.tier === 'cookie') : []
  if (cookies.length) {
    await ctx.cookies.section(() => ctx.cookies.write(cookies.flatMap((key) => {
      const encoded = ctx.cookies.current(key)
      return encoded === undefined ? [] : [{ key, encoded, spec: ctx.keys.find(key) }]
    })))
  }
  for (const [from, to] of rangesOf(ctx, 'session')) {
    for (let at = from; ;) {
      const records = (await ctx.client.range(at, to, SLICE)) as Partial<StoredRecord>[]
      // Only the store's own records: a foreign one (no `v`) is reported on read and left in place.
      const stale = records.filter((r) => r.k === undefined && 'v' in r && became.includes(ctx.keys.find(r.p as string) as KeySpec)).map((r) => r.p as string)
      if (stale.length) await deleteIf(ctx.client, stale, (raw) => raw.k === undefined && 'v' in raw)
      if (records.length < SLICE) break
      at = `${(records.at(-1) as StoredRecord).p}\0`
    }
  }
  await ctx.client.write({ put: [{ p: DECLARATIONS, v: now }], what: () => 'saving the key declarations' })
}

const persisted = new WeakMap<StoreContext, Promise<boolean>>()

/** `store.persist()`: asks the browser once (per store) not to evict this site's storage. */
export function persist(ctx: StoreContext): Promise<boolean> {
  let asked = persisted.get(ctx)
  if (!asked) {
    persisted.set(ctx, (asked = (async () => {
      const storage = typeof navigator === 'undefined' ? undefined : navigator.storage
      if (typeof storage?.persist !== 'function') return false
      try {
        return await storage.persist()
      } catch (err) {
        report(ctx, new VisitStoreError('STORAGE_UNAVAILABLE', 'navigator.storage.persist() failed; the browser may evict this site\'s data under storage pressure.', { cause: err }), '')
        return false
      }
    })()))
  }
  return asked
}

/** `store.estimate()`: bytes used and available, where the browser can say. */
export async function estimate(ctx: StoreContext): Promise<{ usage?: number, quota?: number } | undefined> {
  const storage = typeof navigator === 'undefined' ? undefined : navigator.storage
  if (typeof storage?.estimate !== 'function') return undefined
  try {
    const { usage, quota } = await storage.estimate()
    return { usage, quota }
  } catch (err) {
    report(ctx, new VisitStoreError('STORAGE_UNAVAILABLE', 'navigator.storage.estimate() failed.', { cause: err }), '')
    return undefined
  }
}
