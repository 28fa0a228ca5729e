import type { VisitStoreError } from './errors.js'
import type { SessionOptions, StoreSession } from './session.js'
import type { StandardSchemaV1 } from './validation.js'

/**
 * How long a value lives: across restarts, for the browser session, or for one tab.
 * @example { lifetime: 'session' }
 */
export type Lifetime = 'persistent' | 'session' | 'tab'

/**
 * Where a value lives. `'memory'` means the intended tier failed (IndexedDB blocked, private mode)
 * and the store keeps the value for this page only; `store.status` says so too.
 * @example store.placement('cart').tier === 'indexeddb'
 */
export type Tier = 'cookie' | 'indexeddb' | 'sessionStorage' | 'memory'

/**
 * How a server-visible value is written in its cookie. `'string'`: always as itself (for keys
 * whose values are strings, even `"10001"` or `"true"`); `'json'`: always JSON. Omitted: strings
 * as themselves unless they would parse as JSON (then JSON-quoted), other values as JSON.
 */
export type CookieValueType = 'string' | 'json'

/** Options every key can have. */
export interface KeyCommon {
  /**
   * A Standard Schema (zod, valibot, arktype…) that checks values: `set` of a value it refuses
   * rejects with `INVALID_VALUE`; a stored value it refuses (edited by hand, written by an older
   * version of the app) reads as `undefined` and fires `invalid`.
   */
  validate?: StandardSchemaV1
}

/** A server-visible value that survives restarts: a cookie with an expiry (400 days unless `maxAge`). */
export interface PersistentCookieKey extends KeyCommon {
  lifetime: 'persistent'
  serverVisible: true
  /** Seconds until the cookie expires; at most 400 days (RFC 6265bis caps it there). */
  maxAge?: number
  /** How the value is written; see {@link CookieValueType}. */
  type?: CookieValueType
}
/** A server-visible value for the browser session: a session cookie (no Expires). */
export interface SessionCookieKey extends KeyCommon {
  lifetime: 'session'
  serverVisible: true
  /** How the value is written; see {@link CookieValueType}. */
  type?: CookieValueType
}
/** A client-only value that survives restarts, in IndexedDB; `ttl` makes it expire. */
export interface PersistentClientKey extends KeyCommon {
  lifetime: 'persistent'
  serverVisible?: false
  /** Seconds after each write until the value reads as missing and is swept. */
  ttl?: number
}
/** A client-only value for the browser session, in IndexedDB, stamped with the session. */
export interface SessionClientKey extends KeyCommon {
  lifetime: 'session'
  serverVisible?: false
}
/** A per-tab value, in sessionStorage. */
export interface TabKey extends KeyCommon {
  lifetime: 'tab'
  serverVisible?: false
}

/**
 * What a declared key (or key family ending in `*`) is; visitstore derives its place from it.
 * @example { lifetime: 'persistent', serverVisible: true, maxAge: 31536000 }
 */
export type KeyOptions = PersistentCookieKey | SessionCookieKey | PersistentClientKey | SessionClientKey | TabKey

/**
 * Where a key lives and why.
 * @example store.placement('theme') // { tier: 'cookie', lifetime: 'persistent', reason: '…' }
 */
export interface Placement {
  tier: Tier
  lifetime: Lifetime
  reason: string
}

/**
 * Cookie attributes and the byte budget shared by all of a store's cookies.
 * @example cookie: { budget: 1024, sameSite: 'Strict' }
 */
export interface CookieOptions {
  /** Most bytes of name+value all the store's cookies may take together. Default 2048. */
  budget?: number
  /** Default `'/'`. */
  path?: string
  /** Default: none (host-only cookie). */
  domain?: string
  /** Default `'Lax'`, always written explicitly. `'None'` needs `secure`. */
  sameSite?: 'Strict' | 'Lax' | 'None'
  /** Default: true on https pages. */
  secure?: boolean
}

/**
 * Replacements for the browser's storage objects, for tests and server-side rendering.
 * `null` means "not available here": the store degrades as it would in such a browser.
 * @example backends: { indexedDB: new IDBFactory() }
 */
export interface Backends {
  indexedDB?: IDBFactory | null
  sessionStorage?: Storage | null
}

/**
 * What each tier is doing right now. `'memory'`: that tier failed, values last only for this page.
 * @example if (store.status.indexeddb === 'memory') showBanner()
 */
export interface StoreStatus {
  indexeddb: 'ok' | 'memory'
  cookies: 'ok' | 'unavailable'
  sessionStorage: 'ok' | 'memory'
}

/** Payload of the `invalid` event: a stored value was unreadable (tampered, corrupted) and was ignored. */
export interface InvalidValueEvent {
  key: string
  reason: string
}

/**
 * Events that are not the answer to a call: tier status changes, values dropped as invalid,
 * and failures of background work.
 * @example store.on('status', (s) => console.log(s.indexeddb))
 */
export interface StoreEvents {
  status: StoreStatus
  invalid: InvalidValueEvent
  error: VisitStoreError
}

/** Second argument of a `watch` callback: whether the change came from this tab or another (or from the server, for cookies). */
export interface WatchInfo {
  source: 'local' | 'remote'
}

/** Keys of a schema as strings (literal keys and family patterns such as `draft:${string}`). */
export type StoreKey<S> = keyof S & string

type Prefix<K extends string, Acc extends string = ''> = string extends K
  ? Acc
  : K extends `${infer H}${infer R}` ? Prefix<R, `${Acc}${H}`> : Acc

/**
 * The name a schema key is declared under: a literal key as itself, a template-literal family
 * `draft:${string}` as `'draft:*'`.
 */
export type DeclaredKey<K> = K extends string
  // A pattern key (`draft:${string}`) has infinitely many members, so a record over it may be empty.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  ? ({} extends Record<K, 1> ? `${Prefix<K>}*` : K)
  : never

/**
 * The `keys` option for a schema: every schema key (or family) declared exactly once.
 * @example const keys: KeysConfig<Schema> = { theme: { lifetime: 'persistent', serverVisible: true } }
 */
export type KeysConfig<S> = { [K in keyof S as DeclaredKey<K>]: KeyOptions }

type SyncOptions = PersistentCookieKey | SessionCookieKey | TabKey
type OptionsOf<S, C, K extends StoreKey<S>> = DeclaredKey<K> extends keyof C ? C[DeclaredKey<K>] : never

/**
 * The keys `peek` accepts: cookie-tier and tab-tier keys. When the key options' literal types are
 * not known (only the schema was given), every key is accepted and the check happens at run time.
 */
export type SyncKey<S, C> = {
  [K in StoreKey<S>]: KeyOptions extends OptionsOf<S, C, K>
    ? K
    : OptionsOf<S, C, K> extends SyncOptions ? K : never
}[StoreKey<S>]

/**
 * Options of {@link createStore}.
 * @example createStore<Schema>({ name: 'shop', keys: { theme: { lifetime: 'persistent', serverVisible: true } } })
 */
export interface StoreOptions<S, C extends KeysConfig<S> = KeysConfig<S>> {
  /** Namespace: IndexedDB database, cookie prefix, sessionStorage prefix. Letters, digits and `-`. */
  name: string
  /** Every key the app uses, with what it is; families end in `*`. */
  keys: C
  /** Cookie attributes and budget. */
  cookie?: CookieOptions
  /** Storage objects to use instead of the browser's (tests, SSR). */
  backends?: Backends
  /** Milliseconds to wait for IndexedDB to open before falling back to memory. Default 5000. */
  openTimeout?: number
  /** The server session to bind session data to; without it, "session" means the browser session. */
  session?: SessionOptions
}

/**
 * A store: one typed interface over cookies, IndexedDB and sessionStorage.
 * @example const store = createStore<Schema>({ name: 'shop', keys }); await store.set('theme', 'dark')
 */
export interface VisitStore<S, C extends KeysConfig<S> = KeysConfig<S>> {
  /** Resolves to the stored keys, optionally those starting with `prefix`. @example await store.keys('draft:') */
  keys(prefix?: string): Promise<StoreKey<S>[]>
  /** Reads a value; `undefined` when absent, expired or from an ended session. @example await store.get('cart') */
  get<K extends StoreKey<S>>(key: K): Promise<S[K] | undefined>
  /** Writes a value where its key's rules place it; rejects with a coded error and keeps the old value on failure. @example await store.set('theme', 'dark') */
  set<K extends StoreKey<S>>(key: K, value: S[K]): Promise<void>
  /** Removes a value. @example await store.delete('cart') */
  delete(key: StoreKey<S>): Promise<void>
  /** Reads several values, in one IndexedDB transaction for the IndexedDB ones. @example await store.getMany(['theme', 'cart']) */
  getMany<K extends StoreKey<S>>(keys: readonly K[]): Promise<{ [P in K]: S[P] | undefined }>
  /** Writes several values: all or nothing. @example await store.setMany({ theme: 'dark', cart: [] }) */
  setMany(values: { [P in StoreKey<S>]?: S[P] }): Promise<void>
  /** Atomic read-modify-write; `fn` gets the current value (`undefined` when absent) and must be synchronous. Resolves to the stored result. @example await store.update('visits', (n = 0) => n + 1) */
  update<K extends StoreKey<S>>(key: K, fn: (current: S[K] | undefined) => S[K]): Promise<S[K]>
  /** Synchronous read of a cookie-tier or tab-tier value (no flash of the default theme). Throws `NOT_SYNC_READABLE` for others. @example document.body.dataset.theme = store.peek('theme') ?? 'light' */
  peek<K extends SyncKey<S, C>>(key: K): S[K] | undefined
  /** Calls `cb(value, { source })` when `key` changes (`undefined` when deleted); returns an unsubscribe function. @example const stop = store.watch('cart', (cart) => render(cart)) */
  watch<K extends StoreKey<S>>(key: K, cb: (value: S[K] | undefined, info: WatchInfo) => void): () => void
  /** Removes everything, or every value of one lifetime. @example await store.clear({ lifetime: 'session' }) */
  clear(options?: { lifetime?: Lifetime }): Promise<void>
  /** Where a key lives and why. Throws `UNKNOWN_KEY` for an undeclared key. @example store.placement('draft:1').tier */
  placement(key: StoreKey<S>): Placement
  /** Resolves once start-up work (IndexedDB open, sweep of expired and old-session data) is done; never rejects. @example await store.ready */
  readonly ready: Promise<void>
  /** Which tiers work right now. @example store.status.indexeddb */
  readonly status: StoreStatus
  /** Listens to `status`, `invalid` and `error` events; returns an unsubscribe function. @example store.on('error', (e) => report(e.code)) */
  on<E extends keyof StoreEvents>(event: E, cb: (payload: StoreEvents[E]) => void): () => void
  /**
   * Asks the browser (once) not to evict this site's storage under pressure; resolves to its
   * answer, false where the API is missing (WebKitGTK) or refuses.
   * @example if (!(await store.persist())) showBackupHint()
   */
  persist(): Promise<boolean>
  /**
   * Bytes used and available for this site's storage, or undefined where the browser cannot say.
   * @example const { usage, quota } = (await store.estimate()) ?? {}
   */
  estimate(): Promise<{ usage?: number, quota?: number } | undefined>
  /** The server session, kept in sync across tabs; a change of session purges session data everywhere. @example store.session.on('change', () => location.reload()) */
  readonly session: StoreSession
  /** Releases the IndexedDB connection, channel, timers and listeners; later calls reject with `STORAGE_UNAVAILABLE`. @example store.close() */
  close(): void
}
