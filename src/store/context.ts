import { createBatch, type Batch } from '../batch.js'
import { openChannel, type Channel } from '../cross-tab.js'
import { createEmitter, type Emitter } from '../emitter.js'
import { createEnv, unref, type Env } from '../env.js'
import { VisitStoreError } from '../errors.js'
import type { KeyTable } from '../keys.js'
import type { Names } from '../names.js'
import type { StoreConfig } from '../options.js'
import type { SessionController, SessionMessage } from '../session-host.js'
import { createClientTier, type ClientTier } from '../tiers/client.js'
import { createCookieTier, type CookieTier, type CookieWrite } from '../tiers/cookie.js'
import { openIndexedDbBackend } from '../tiers/idb.js'
import { createMemoryBackend } from '../tiers/memory.js'
import { createTabTier, type TabTier } from '../tiers/tab.js'
import type { Lifetime, StoreEvents, StoreStatus, WatchInfo } from '../types.js'

/** A value change for `watch` callbacks. */
export interface Change {
  value: unknown
  info: WatchInfo
}

/** What a store's tabs tell each other. */
export type Message =
  /** These keys' values changed. */
  | { t: 'k', keys: string[] }
  /** Everything (or everything of one lifetime) was cleared; `id`: for a Worker, which asked for it. */
  | { t: 'c', lifetime?: string, id?: string }
  /** A context without the cookie (a Worker) asks a page to clear() for it (store/maintenance.ts clearByPage). */
  | { t: 'x', id: string, lifetime?: Lifetime }
  /** A context without the cookie (a Worker) asks a page to end() the browser session's stamp `stamp` for it. */
  | { t: 'e', stamp: string }
  | SessionMessage

/** How long writes gather before other tabs are told of them in one message. */
const TELL_DELAY = 10

/**
 * Everything a store knows, declared in one place: the modules of store/ are functions of it.
 * Mutable state is the `marker`, `status` and `closed` fields and the tiers' own.
 */
export interface StoreContext {
  readonly config: StoreConfig
  readonly keys: KeyTable
  readonly names: Names
  readonly env: Env
  readonly events: Emitter<StoreEvents>
  /** Watch callbacks, by key. */
  readonly watchers: Emitter<Record<string, Change>>
  readonly cookies: CookieTier
  readonly tab: TabTier
  /** IndexedDB (or memory, when it cannot be used). */
  readonly client: ClientTier
  /** Session records of a context that cannot see the browser session: memory, this page only. */
  readonly pageClient: ClientTier
  readonly channel: Channel<Message>
  /** Keys whose change other tabs have not heard of yet (sent in one message per TELL_DELAY). */
  readonly outbox: Batch<string>
  /** The browser session: its stamp once known, and whether this context shares it. */
  readonly marker: { stamp?: string, scope: 'shared' | 'page', settled: Promise<void>, fresh: boolean, release?: () => void }
  /** The server session sync (or the local stand-in); set by createStore right after the context. */
  session: SessionController
  /** Resolves once the start-up journal replay is done (cross-tier batches whole again). */
  recovered: Promise<void>
  /**
   * A tab's calls take effect in call order (inTurn): the calls that have not yet let those after
   * them start, and whether `recovered` has resolved (store/write.ts's short path waits for the replay).
   */
  readonly turns: { recovered: boolean, ahead: Set<Turn> }
  /**
   * Session purges this tab applied (a new tag, `end()`, another tab's news). A set or delete
   * called before a purge that reaches storage after it loses its session-lifetime part, as if
   * written and then purged (store/write.ts): otherwise it would outlive the session it was called
   * in. Until the session's first answer is in (`started`), only `end()` counts: a write made
   * before that answer is meant for the session it finds (a session key's write waits for it; a
   * cookie's does not, so that answer's purge leaves the cookie keys written meanwhile). `written`:
   * the count when this tab last wrote each cookie key; a purge leaves the session cookies written
   * since it was counted (called after it), and the first answer's those written before it.
   * `cleared`: the count whose session cookies are removed; until then the others read as missing.
   * `moves`: the liveness keys' moves this tab learnt of (a login with keepOnLogin, a new browser-
   * session stamp), each as the function that maps an old liveness key to its new one: a session
   * record planned before one and written after it lands where the data went, not behind it.
   * `applying`: resolves once the moves of session records under way here, and the purges of
   * `end()`, are done (sessionLive waits for it: a read during a move would find the data gone, a
   * write would overwrite it; one during an end() would read what it purges, or be purged by it).
   */
  readonly purges: { count: number, cleared: number, started: boolean, written: Map<string, number>, moves: ((k: string) => string)[], applying: Promise<unknown> }
  /** Status fields the tiers do not tell by themselves. */
  readonly flags: { indexeddb: StoreStatus['indexeddb'], browserSession: StoreStatus['browserSession'], session: StoreStatus['session'] }
  /** Clean-up for close(). */
  readonly stops: (() => void)[]
  /** The raw value last seen of each watched cookie key, to tell other writers' changes from this tab's. */
  readonly cookieSeen: Map<string, string | undefined>
  /** Looks for cookie changes made outside this tab's writes (store/watch.ts sets it). */
  recheckCookies: () => void
  closed: boolean
}

/**
 * Creates a store's context: its tiers, channel and emitters. Of the browser's APIs it touches only
 * IndexedDB, which it starts opening first: a cold start's first read waits on nothing else.
 */
export function createContext(config: StoreConfig): StoreContext {
  const env = createEnv(config.backends)
  const events = createEmitter<StoreEvents>()
  const factory = env.indexedDB()
  // Without IndexedDB at all (server rendering, Node) the status says so from the start, and no
  // error is raised for what is simply not there.
  // Server rendering (a request's store, or Node): there is no browser session to see.
  const server = config.request || typeof self === 'undefined'
  const flags: StoreContext['flags'] = { indexeddb: factory ? 'ok' : 'memory', browserSession: server ? 'page' : 'shared', session: 'off' }
  const client = createClientTier(async () => openIndexedDbBackend(factory as IDBFactory, config.names.db, config.openTimeout), (error) => {
    if (!factory) return
    flags.indexeddb = 'memory'
    events.emit('status', statusOf(ctx))
    events.emit('error', error)
  })
  void client.open()
  const channel = openChannel<Message>(env, config.names.channel)
  const ctx: StoreContext = {
    config,
    keys: config.keys,
    names: config.names,
    env,
    events,
    watchers: createEmitter(),
    cookies: createCookieTier({
      jar: env.cookies,
      names: config.names,
      keys: config.keys,
      config: config.cookie,
      locks: () => env.locks(),
      locksRefused: () => env.locksRefused(),
      cookieStore: () => env.cookieStore(),
      exclusive: () => (client.mode === 'indexeddb' && factory ? client.exclusive : undefined),
      dropped: (key) => dropped(ctx, key),
      changed: () => events.emit('status', statusOf(ctx)),
      closed: () => ctx.closed,
    }),
    tab: createTabTier(config.names.tab, env.sessionStorage),
    client,
    pageClient: createClientTier(async () => createMemoryBackend(), () => {}),
    channel,
    outbox: createBatch<string>((run) => {
      // News not sent yet goes when the page does (armed at the first news).
      if (!ctx.stops.includes(ctx.outbox.flush)) ctx.stops.push(ctx.outbox.flush, env.listen('window', 'pagehide', ctx.outbox.flush))
      unref(setTimeout(run, TELL_DELAY))
    }, (keys) => channel.post({ t: 'k', keys: [...new Set(keys)] })),
    marker: { scope: flags.browserSession, settled: Promise.resolve(), fresh: false },
    session: undefined as unknown as SessionController,
    recovered: Promise.resolve(),
    turns: { recovered: false, ahead: new Set() },
    purges: { count: 0, cleared: 0, started: false, written: new Map(), moves: [], applying: Promise.resolve() },
    flags,
    stops: [],
    cookieSeen: new Map(),
    recheckCookies: () => {},
    closed: false,
  }
  return ctx
}

/** `store.status` now. sessionStorage is looked up when asked for, so that it is not touched before then. */
export function statusOf(ctx: StoreContext): StoreStatus {
  return {
    indexeddb: ctx.flags.indexeddb,
    cookies: ctx.cookies.available ? 'ok' : 'unavailable',
    sessionStorage: ctx.tab.mode === 'sessionStorage' ? 'ok' : 'memory',
    browserSession: ctx.flags.browserSession,
    locks: ctx.cookies.locks,
    session: ctx.flags.session,
  }
}

/** Changes status flags and tells `status` listeners. */
export function setFlags(ctx: StoreContext, change: Partial<StoreContext['flags']>): void {
  Object.assign(ctx.flags, change)
  ctx.events.emit('status', statusOf(ctx))
}

/** Reports a failure that is not the answer to a call, as a coded error. */
export function report(ctx: StoreContext, err: unknown, fallback: string): void {
  ctx.events.emit('error', err instanceof VisitStoreError ? err : new VisitStoreError('STORAGE_UNAVAILABLE', fallback, { cause: err }))
}

/**
 * What a call touches, for call order: its keys (none: everything, as `clear()` and `keys()`
 * touch), whether it writes cookies (cookie writes share the jar and its budget: they go one after
 * another), and whether it only reads (reads never wait for one another).
 */
export interface Scope { keys?: readonly string[], cookies?: boolean, read?: boolean }
interface Turn extends Scope { released: Promise<void> }

const crosses = (a: Scope, b: Scope): boolean => !(a.read && b.read) &&
  (!a.keys || !b.keys || (!!a.cookies && !!b.cookies) || a.keys.some((key) => b.keys?.includes(key)))

/** Whether a call of `scope` made now would wait for an earlier one. */
export const waits = (ctx: StoreContext, scope: Scope): boolean => ctx.turns.ahead.size > 0 && [...ctx.turns.ahead].some((t) => crosses(t, scope))

/**
 * Runs `fn` once every earlier call it crosses (a shared key, both writing cookies, a clear) has
 * let it start; calls that touch other keys do not hold it back (a persistent key's read never waits
 * for a session key's write, which waits for the session state). `fn` lets later calls start by
 * calling `release`: an IndexedDB write once it is handed to the client tier, whose transactions
 * keep call order; a read once it is asked; else when it ends (a cookie write, a clear).
 */
export async function inTurn<T>(ctx: StoreContext, scope: Scope, fn: (release: () => void) => Promise<T> | T): Promise<T> {
  const { ahead } = ctx.turns
  const before = [...ahead].filter((t) => crosses(t, scope)).map((t) => t.released)
  let done = () => {}
  const turn: Turn = { ...scope, released: new Promise((resolve) => { done = resolve }) }
  ahead.add(turn)
  const release = () => {
    ahead.delete(turn)
    done()
  }
  try {
    if (before.length) await Promise.all(before)
    return await fn(release)
  } finally {
    release()
  }
}

/** Runs `fn`, a read of `keys` (all: undefined), once the writes called before it that it crosses are handed on; at once when none is. */
export const afterWrites = <T>(ctx: StoreContext, keys: readonly string[] | undefined, fn: () => Promise<T>): Promise<T> => {
  const scope = { keys, read: true }
  return waits(ctx, scope) ? inTurn(ctx, scope, (release) => { const p = fn(); release(); return p }) : fn()
}

export function assertOpen(ctx: StoreContext, what: string): void {
  if (ctx.closed) throw new VisitStoreError('STORAGE_UNAVAILABLE', `${what}: this store was closed; create a new one with createStore.`)
}

/** `work`, a move of session records under way (a login with keepOnLogin, a new stamp) or an end()'s purge: session reads and writes wait for it (store/marker.ts sessionLive). */
export function applying<T>(ctx: StoreContext, work: Promise<T>): Promise<T> {
  ctx.purges.applying = Promise.all([ctx.purges.applying, work.catch(() => {})])
  return work
}

/**
 * Whether the jar's cookie of `key` (declared `lifetime`) is of a session a purge of this tab
 * ended, its removal still to come (it waits for the cookie section): it reads as missing. One
 * this tab wrote since the purge was counted stays, and reads as written.
 */
export const endedCookie = (ctx: StoreContext, key: string, lifetime: string): boolean =>
  ctx.purges.cleared < ctx.purges.count && lifetime === 'session' && !writtenSince(ctx, key, ctx.purges.count)

/** Whether this tab wrote the cookie of `key` since purge number `count` was counted (so it was called after that purge). */
export const writtenSince = (ctx: StoreContext, key: string, count: number): boolean => (ctx.purges.written.get(key) ?? -1) >= count

/** Notifies `watch` callbacks of `key`. */
export function notify(ctx: StoreContext, key: string, value: unknown, source: WatchInfo['source'] = 'local'): void {
  if (ctx.watchers.has(key)) ctx.watchers.emit(key, { value, info: { source } })
}

/**
 * Writes cookies inside a section. Watchers' view of them changes in the same step, so that the
 * Cookie Store's change event for this very write is not taken for another tab's.
 */
export function writeInSection(ctx: StoreContext, cookies: CookieWrite[]): void {
  ctx.cookies.write(cookies)
  for (const w of cookies) {
    if (ctx.cookieSeen.has(w.key)) ctx.cookieSeen.set(w.key, w.encoded)
    ctx.purges.written.set(w.key, ctx.purges.count)
  }
}

/** A cookie write the browser dropped after its checks passed, or that was undone right after: say so; watchers then hear the value it really has. */
function dropped(ctx: StoreContext, key: string): void {
  ctx.events.emit('error', new VisitStoreError('COOKIE_CONFLICT',
    `set("${key}"): the browser did not keep cookie ${ctx.names.cookie(key)}, or something deleted or changed it right after: a cookie of that name ` +
    'set by the server with HttpOnly (which scripts cannot overwrite) is the usual cause. Rename the key, or stop the server from setting that cookie.'))
  ctx.recheckCookies()
}
