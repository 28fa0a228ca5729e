import { encodeCookieValue, encodeTabValue } from '../codec.js'
import { storageError, VisitStoreError } from '../errors.js'
import type { KeySpec } from '../keys.js'
import { makeRecord, type StoredRecord } from '../records.js'
import type { CookieWrite } from '../tiers/cookie.js'
import { validate, type Checked } from '../validation.js'
import { assertOpen, inTurn, notify, waits, writeInSection, type StoreContext } from './context.js'
import { commitAcrossTiers } from './journal.js'
import { clientFor, sessionLive } from './marker.js'
import { checkReadNow, decodeSync, rawSync, recordValue } from './read.js'

/** What a write does in each tier, planned (validated, encoded) before any tier is touched. */
interface Plan {
  keys: string[]
  /** The values stored (validators may transform them); undefined for a deletion. */
  values: unknown[]
  cookies: CookieWrite[]
  tab: [key: string, text: string | undefined][]
  puts: StoredRecord[]
  dels: string[]
  /** The session-scoped keys of the IndexedDB part: they live where session records live (store/marker.ts clientFor). Made when there is one. */
  session?: Set<string>
  /** The session purges counted when it was called (StoreContext.purges); undefined for an update, which is never dropped. */
  since: number | undefined
  /** Its session-lifetime keys a purge since its call took back (dropPurged); made when there is one. */
  dropped?: Set<string>
  /** The liveness keys' moves already applied to its records (StoreContext.purges.moves). */
  moved: number
}

function refused(key: string, checked: Checked): VisitStoreError {
  return new VisitStoreError('INVALID_VALUE', `set("${key}"): the value does not pass the key's validator: ${checked.ok ? '' : checked.reason}. The previous value is kept.`)
}

/**
 * Validates values to write; synchronous unless a validator is async. Resolves to the values to
 * store: `values` itself when no key has a validator (a loop of sets allocates little: garbage
 * makes the browser's own work slower too).
 */
function checkWrites(keys: readonly string[], values: unknown[], specs: readonly KeySpec[]): unknown[] | Promise<unknown[]> {
  const at = values.indexOf(undefined)
  if (at >= 0) {
    const key = keys[at] as string
    throw new VisitStoreError('INVALID_VALUE', `set("${key}", undefined): undefined is not a storable value; call store.delete("${key}") to remove it.`)
  }
  if (!specs.some((s) => s.validate)) return values
  const results = values.map((value, i) => validate((specs[i] as KeySpec).validate, value))
  const accepted = (checked: Checked[]) => checked.map((c, i) => {
    if (!c.ok) throw refused(keys[i] as string, c)
    return c.value
  })
  return results.some((r) => r instanceof Promise) ? Promise.all(results).then(accepted) : accepted(results as Checked[])
}

/** Encodes each value for its tier; `values` undefined deletes. `live`: the liveness key for session records. */
function encode(keys: string[], specs: KeySpec[], values: unknown[] | undefined, live: string, since: number | undefined, moved = 0): Plan {
  const plan: Plan = { keys, values: values ?? [], cookies: [], tab: [], puts: [], dels: [], since, moved }
  const now = Date.now()
  keys.forEach((key, i) => {
    const spec = specs[i] as KeySpec
    const value = values?.[i]
    if (spec.tier === 'cookie') plan.cookies.push({ key, encoded: values && encodeCookieValue(value, key, spec.type), spec })
    else if (spec.tier === 'sessionStorage') plan.tab.push([key, values && encodeTabValue(value, key)])
    else {
      if (spec.lifetime === 'session') (plan.session ??= new Set()).add(key)
      if (values) plan.puts.push(makeRecord(key, value, spec, live, now))
      else plan.dels.push(key)
    }
  })
  return plan
}

/**
 * Plans a write (`values`) or a deletion (no `values`) of `keys`; synchronously when nothing
 * needs waiting for (no async validator, no session record), so that the write is queued in the
 * caller's tick: a `get` made right after an un-awaited `set` then reads the new value.
 */
function plan(ctx: StoreContext, keys: string[], values?: unknown[]): Plan | Promise<Plan> {
  const specs = keys.map((key) => ctx.keys.resolve(key))
  const checked = values && checkWrites(keys, values, specs)
  const session = specs.some((s) => s.tier === 'indexeddb' && s.lifetime === 'session')
  const since = ctx.purges.count
  const moved = ctx.purges.moves.length
  if (!session && !(checked instanceof Promise)) return encode(keys, specs, checked, '', since, moved)
  return (async () => encode(keys, specs, await checked, session ? await sessionLive(ctx) : '', since, moved))()
}

/**
 * Takes the session-lifetime part out of a plan when a session purge was applied after its call:
 * called before the purge, it must not outlive it (as if written, then purged). Its session
 * records follow a move of their liveness key since (a login with keepOnLogin): they land where
 * the data went. Called right before each part is handed to its tier, in the same step.
 */
function dropPurged(ctx: StoreContext, p: Plan): Plan {
  // Rare (a login with keepOnLogin, a new stamp): every write comes here, most with nothing to follow.
  if (p.moved < ctx.purges.moves.length) {
    for (const move of ctx.purges.moves.slice(p.moved)) for (const r of p.puts) if (r.k !== undefined) r.k = move(r.k)
    p.moved = ctx.purges.moves.length
  }
  if (p.since !== undefined && p.since < ctx.purges.count) {
    // Session-lifetime keys only (sessionStorage keys are not purged): noted as dropped, filtered out.
    const keep = (key: string) => ctx.keys.resolve(key).lifetime !== 'session' || !(p.dropped ??= new Set()).add(key)
    p.cookies = p.cookies.filter((w) => keep(w.key))
    p.puts = p.puts.filter((r) => keep(r.p))
    p.dels = p.dels.filter(keep)
  }
  return p
}

/** Writes sessionStorage items; returns what puts them back. Fails all or nothing (tiers/tab.ts). */
function writeTab(ctx: StoreContext, items: Plan['tab']): () => void {
  if (!items.length) return () => {}
  const before = items.map(([key]) => [key, ctx.tab.read(key)] as const)
  const apply = (list: readonly (readonly [string, string | undefined])[]) => {
    const removed = list.flatMap(([key, text]) => (text === undefined ? [key] : []))
    ctx.tab.write(list.filter((e): e is readonly [string, string] => e[1] !== undefined))
    ctx.tab.remove(removed)
  }
  apply(items)
  return () => apply(before)
}

/**
 * Carries out a plan, all or nothing: the tab part first (undone if the rest fails), then cookies
 * and IndexedDB: across both through the journal (store/journal.ts), else the one tier alone.
 */
async function commit(ctx: StoreContext, p: Plan): Promise<void> {
  // Cookies wait for the start-up journal replay, which must not overwrite what this tab writes.
  if (p.cookies.length) await ctx.recovered
  dropPurged(ctx, p)
  const undoTab = writeTab(ctx, p.tab)
  try {
    const what = () => `${p.values.length ? 'set' : 'delete'}("${p.keys.join('", "')}")`
    // A context that cannot see the browser session keeps session records in its own memory.
    const apart = clientFor(ctx, true) !== ctx.client
    const part = (session: boolean) => ({ put: p.puts.filter((r) => !!p.session?.has(r.p) === session), del: p.dels.filter((k) => !!p.session?.has(k) === session), what })
    const records = p.puts.length + p.dels.length > 0
    if (p.cookies.length && records && !apart) await commitAcrossTiers(ctx, p, () => dropPurged(ctx, p))
    else {
      if (records) await Promise.all(apart ? [ctx.pageClient.write(part(true)), ctx.client.write(part(false))] : [ctx.client.write({ put: p.puts, del: p.dels, what })])
      if (p.cookies.length) {
        await ctx.cookies.section(() => {
          dropPurged(ctx, p)
          writeInSection(ctx, p.cookies)
        })
      }
    }
  } catch (err) {
    undoTab()
    throw err
  }
  announce(ctx, p)
}

/** After a plan was carried out: watchers of this tab, then other tabs, hear of it. */
function announce(ctx: StoreContext, p: Plan): void {
  p.keys.forEach((key, i) => {
    // A part a purge took back is not news either: the purge told watchers.
    if (p.dropped?.has(key)) return
    // A cookie the browser did not keep is not news; the check that found the drop told watchers the real value.
    const w = p.cookies.find((c) => c.key === key)
    if (!w || (ctx.watchers.has(key) && safeRead(ctx, key) === w.encoded)) notify(ctx, key, p.values[i])
  })
  for (const w of p.cookies) tellOtherTabs(ctx, w.key, true)
  for (const r of p.puts) tellOtherTabs(ctx, r.p)
  for (const key of p.dels) tellOtherTabs(ctx, key)
}

function safeRead(ctx: StoreContext, key: string): string | undefined {
  try {
    return ctx.cookies.read(key)
  } catch {
    return undefined
  }
}

/**
 * Other tabs hear of IndexedDB writes by message; of cookie writes too where the Cookie Store API
 * is missing (where it exists, every tab gets a change event, and a message would only cost time).
 */
function tellOtherTabs(ctx: StoreContext, key: string, cookie?: boolean): void {
  if (!cookie || !ctx.env.cookieStore()) ctx.outbox.add(key)
}

/** `store.set` / `store.setMany`: all or nothing across tiers. */
export function set(ctx: StoreContext, keys: string[], values: unknown[], what: string): Promise<void> {
  return write(ctx, what, keys, () => plan(ctx, keys, values))
}

/** `store.delete`. */
export function remove(ctx: StoreContext, key: string): Promise<void> {
  return write(ctx, `delete("${key}")`, [key], () => plan(ctx, [key]))
}

/**
 * A set or delete, in call order with the tab's calls that touch its keys (store/context.ts
 * inTurn). One that touches cookies holds its turn until it is done: a cross-tier batch writes its
 * cookies only after its IndexedDB part, and a later set of the same key must not land before it.
 * One of IndexedDB or sessionStorage keys alone lets later calls start once it is handed to the
 * tiers, which is in the caller's tick when nothing it crosses is ahead and its plan is synchronous
 * (see plan()). The short path: a write of cookies alone, made while a burst holds the cookie
 * section, after the start-up replay and with nothing ahead of it, is written at once (a loop of
 * awaited sets then costs what its writes do, not a chain of awaits per set).
 */
function write(ctx: StoreContext, what: string, keys: string[], make: () => Plan | Promise<Plan>): Promise<void> {
  try {
    assertOpen(ctx, what)
    const p = make()
    const scope = { keys, cookies: p instanceof Promise ? keys.some((key) => ctx.keys.resolve(key).tier === 'cookie') : p.cookies.length > 0 }
    if (!(p instanceof Promise) && !waits(ctx, scope)) {
      if (!scope.cookies) return commit(ctx, p)
      if (!p.tab.length && !p.puts.length && !p.dels.length && ctx.turns.recovered && ctx.cookies.now(() => writeInSection(ctx, p.cookies))) {
        // Watchers hear of it after the call, as they do of any write. With none to hear it and no
        // message for other tabs (they get a change event), there is nothing to wait for.
        return p.keys.some((key) => ctx.watchers.has(key)) || !ctx.env.cookieStore() ? Promise.resolve().then(() => announce(ctx, p)) : Promise.resolve()
      }
    }
    // A plan that fails (a validator's refusal) is answered when its turn comes.
    if (p instanceof Promise) p.catch(() => {})
    return inTurn(ctx, scope, async (release) => {
      const planned = await p
      const committed = commit(ctx, planned)
      if (!planned.cookies.length) release()
      return committed
    })
  } catch (err) {
    return Promise.reject(err)
  }
}

/** `fn` applied to the current value, validated synchronously (an update cannot wait in its transaction). */
function nextValue(ctx: StoreContext, key: string, spec: KeySpec, current: unknown, fn: (current: unknown) => unknown): unknown {
  const value = fn(checkReadNow(ctx, key, spec, current, 'update'))
  if (value instanceof Promise) {
    void value.catch(() => {})
    throw new VisitStoreError('NOT_SERIALIZABLE', `update("${key}"): the function returned a Promise; update reads and writes in one step, so its function must be synchronous. Nothing was written.`)
  }
  const checked = checkWrites([key], [value], [spec])
  if (checked instanceof Promise) {
    void checked.catch(() => {})
    throw new VisitStoreError('NOT_SYNC_READABLE', `update("${key}"): the key's validator is asynchronous; update reads and writes in one step and needs a synchronous one.`)
  }
  return checked[0]
}

/**
 * `update` of an IndexedDB key: read, `fn` and write in one readwrite transaction. `handed` hears
 * when the transaction is asked for (later writes may then start: the tier keeps their order).
 */
async function updateRecord(ctx: StoreContext, key: string, spec: KeySpec, fn: (current: unknown) => unknown, handed: () => void): Promise<unknown> {
  // A move of the liveness key (keepOnLogin) learnt after this runs after it too: the transactions
  // of this tab's client run in the order they are asked for.
  const live = spec.lifetime === 'session' ? await sessionLive(ctx) : ''
  let next: unknown
  let thrown: { error: unknown } | undefined
  const run = clientFor(ctx, spec.lifetime === 'session').run('readwrite', (tx, done) => tx.get(key, (raw) => {
    try {
      next = nextValue(ctx, key, spec, recordValue(ctx, key, spec, raw, live), fn)
    } catch (error) {
      throw (thrown = { error }).error
    }
    tx.put(makeRecord(key, next, spec, live, Date.now()))
    done(undefined)
  }))
  handed()
  await run.catch((err: unknown) => {
    // The app's own fn (or its validator) answers for itself; the storage's errors come coded.
    throw thrown ? thrown.error : storageError(err, `update("${key}") in IndexedDB`)
  })
  notify(ctx, key, next)
  tellOtherTabs(ctx, key)
  return next
}

/**
 * `store.update`: read, `fn`, write with nothing else in between, in this tab and across tabs:
 * an IndexedDB readwrite transaction, or the cookie section (a cross-tab lock). Where no lock
 * can exclude other tabs, updating a cookie key is refused rather than risking lost updates.
 */
export async function update(ctx: StoreContext, key: string, fn: (current: unknown) => unknown): Promise<unknown> {
  assertOpen(ctx, `update("${key}")`)
  const spec = ctx.keys.resolve(key)
  let next: unknown
  if (spec.tier === 'indexeddb') {
    // In turn: its transaction is asked for after those of the earlier calls of its key (in this tick when none is ahead).
    return inTurn(ctx, { keys: [key] }, (release) => updateRecord(ctx, key, spec, fn, release))
  }
  if (spec.tier === 'cookie' && ctx.cookies.available && ctx.cookies.locks === 'none') {
    throw new VisitStoreError('STORAGE_UNAVAILABLE', `update("${key}"): neither Web Locks nor IndexedDB can keep other tabs out here, so an update could lose another tab's write. Use set, or make the key client-only.`)
  }
  const write = () => {
    const cookie = spec.tier === 'cookie'
    next = nextValue(ctx, key, spec, decodeSync(ctx, key, spec, rawSync(ctx, key, spec, (k) => ctx.cookies.current(k))), fn)
    const p = encode([key], [spec], [next], '', undefined)
    if (cookie) writeInSection(ctx, p.cookies)
    else writeTab(ctx, p.tab)
  }
  // The tab tier has no other tabs to keep out; the cookie section reads the jar fresh at its start.
  if (spec.tier === 'cookie') {
    await inTurn(ctx, { keys: [key], cookies: true }, async () => {
      await ctx.recovered
      await ctx.cookies.section(write)
    })
    // An update resolves once its write reached the browser's cookie store: a read in another tab
    // then sees it (a set resolves sooner, and its burst goes on).
    await ctx.cookies.settled()
  } else await inTurn(ctx, { keys: [key] }, write)
  notify(ctx, key, next)
  if (spec.tier === 'cookie') tellOtherTabs(ctx, key, true)
  return next
}
