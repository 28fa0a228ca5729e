import type { VisitStoreError } from './errors.js'
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

/**
 * Options every key can have; `T` is the key's value type (its schema's output must fit it).
 * @example { lifetime: 'session', validate: z.array(z.string()) }
 */
export interface KeyCommon<T = unknown> {
  /**
   * A Standard Schema (zod, valibot, arktype…) that checks values: `set` of a value it refuses
   * rejects with `INVALID_VALUE`; a stored value it refuses (edited by hand, written by an older
   * version of the app) reads as `undefined` and fires `invalid`. Without a hand-written schema
   * type, its output type is the key's value type.
   */
  validate?: StandardSchemaV1<unknown, T>
}

/** A server-visible value that survives restarts: a cookie with an expiry (400 days unless `maxAge`). */
export interface PersistentCookieKey<T = unknown> extends KeyCommon<T> {
  lifetime: 'persistent'
  serverVisible: true
  /** Seconds until the cookie expires; at most 400 days (RFC 6265bis caps it there). */
  maxAge?: number
  /** How the value is written; see {@link CookieValueType}. */
  type?: CookieValueType
}
/** A server-visible value for the browser session: a session cookie (no Expires). */
export interface SessionCookieKey<T = unknown> extends KeyCommon<T> {
  lifetime: 'session'
  serverVisible: true
  /** How the value is written; see {@link CookieValueType}. */
  type?: CookieValueType
}
/** A client-only value that survives restarts, in IndexedDB; `ttl` makes it expire. */
export interface PersistentClientKey<T = unknown> extends KeyCommon<T> {
  lifetime: 'persistent'
  serverVisible?: false
  /** Seconds after each write until the value reads as missing and is swept. */
  ttl?: number
}
/** A client-only value for the browser session, in IndexedDB, stamped with the session. */
export interface SessionClientKey<T = unknown> extends KeyCommon<T> {
  lifetime: 'session'
  serverVisible?: false
}
/** A per-tab value, in sessionStorage. */
export interface TabKey<T = unknown> extends KeyCommon<T> {
  lifetime: 'tab'
  serverVisible?: false
}

/**
 * What a declared key (or key family ending in `*`) is; visitstore derives its place from it.
 * @example { lifetime: 'persistent', serverVisible: true, maxAge: 31536000 }
 */
export type KeyOptions<T = unknown> = PersistentCookieKey<T> | SessionCookieKey<T> | PersistentClientKey<T> | SessionClientKey<T> | TabKey<T>

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
 * A cookie jar with `document.cookie`'s contract: `read()` gives `"a=1; b=2"`, `write(line)` takes
 * one `name=value; Path=/; …` line. For tests, or a server-rendered request's cookies.
 * @example backends: { cookies: { read: () => req.headers.cookie ?? '', write() { throw new Error('read-only') } } }
 */
export interface CookieJar {
  read(): string
  write(line: string): void
}

/**
 * Replacements for the browser's storage objects, for tests and server-side rendering.
 * `null` means "not available here": the store degrades as it would in such a browser.
 * @example backends: { indexedDB: new IDBFactory() }
 */
export interface Backends {
  indexedDB?: IDBFactory | null
  sessionStorage?: Storage | null
  cookies?: CookieJar | null
}

/**
 * What works right now. `'memory'`: that tier failed, values last only for this page.
 * `browserSession: 'page'`: this context cannot see the browser session (a Worker with no page of
 * it open, blocked cookies), so session-lifetime IndexedDB keys are kept in memory for this page.
 * `locks`: how tabs take turns (Web Locks; an IndexedDB transaction where Web Locks are missing;
 * or not at all, and then `update` of a cookie key is refused rather than risk lost updates).
 * `session`: the server-session sync: `'off'` without one, `'failing'` after a failed check.
 * @example if (store.status.indexeddb === 'memory') showBanner()
 */
export interface StoreStatus {
  indexeddb: 'ok' | 'memory'
  cookies: 'ok' | 'unavailable'
  sessionStorage: 'ok' | 'memory'
  browserSession: 'shared' | 'page'
  locks: 'web-locks' | 'indexeddb' | 'none'
  session: 'off' | 'ok' | 'failing' | 'unavailable'
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
 * The `keys` option for a schema: every schema key (or family) declared exactly once, with a
 * `validate` (if any) whose output fits the key's type.
 * @example const keys: KeysConfig<Schema> = { theme: { lifetime: 'persistent', serverVisible: true } }
 */
export type KeysConfig<S> = { [K in keyof S as DeclaredKey<K>]: KeyOptions<S[K]> }

/**
 * Any `keys` option: what a store made without a hand-written schema accepts.
 * @example const keys = { theme: { lifetime: 'persistent', serverVisible: true } } as const satisfies AnyKeysConfig
 */
export type AnyKeysConfig = Readonly<Record<string, KeyOptions>>

/** The schema key a declared key stands for: `'theme'` itself, the family `'draft:*'` as `draft:${string}`. */
type SchemaKey<D> = D extends `${infer P}*` ? `${P}${string}` : D

/** A key's value type from its options: its validator's output type, `unknown` without one. */
type ValueOf<O> = O extends { readonly validate?: StandardSchemaV1<infer _I, infer T> } ? T : unknown

/**
 * The schema a `keys` option describes, for a store made without a hand-written one: each key's
 * value type is its `validate` schema's output type (Standard Schema), `unknown` without one.
 * @example type Shop = SchemaOf<typeof keys> // { theme: 'light' | 'dark', notes: unknown, [k: `draft:${string}`]: … }
 */
export type SchemaOf<C> = { -readonly [D in keyof C as SchemaKey<D>]: ValueOf<C[D]> }

/**
 * A store's schema: the hand-written one (the type argument `S`), or, when none is given
 * (`S` is `never`), the one its `keys` describe ({@link SchemaOf}).
 * @example SchemaFor<never, typeof keys> // SchemaOf<typeof keys>; SchemaFor<Schema, typeof keys> // Schema
 */
export type SchemaFor<S, C> = [S] extends [never] ? SchemaOf<C> : S

/**
 * The `keys` a store accepts: those of its hand-written schema, or any when none is given.
 * @example KeysFor<Schema> // KeysConfig<Schema>; KeysFor<never> // AnyKeysConfig
 */
export type KeysFor<S> = [S] extends [never] ? AnyKeysConfig : KeysConfig<S>

/** The kind of key (one member of {@link KeyOptions}) a declaration is; never for an impossible one. */
type KindOf<O> = KeyOptions extends infer M ? (M extends unknown ? ([O] extends [M] ? M : never) : never) : never

/**
 * A `keys` option with no property its kind of key does not have: `maxAge` on a tab key or a
 * misspelt `serverVisble` is a compile error even where the options' type is inferred (where no
 * excess-property check happens).
 * @example StrictKeys<{ t: { lifetime: 'tab', maxAge: 5 } }> // { t: … & { maxAge: never } }
 */
export type StrictKeys<C> = { [D in keyof C]: C[D] & { [P in Exclude<keyof C[D], keyof KindOf<C[D]>>]: never } }

type OptionsOf<S, C, K extends StoreKey<S>> = DeclaredKey<K> extends keyof C ? C[DeclaredKey<K>] : never
/** The schema keys whose declared options are known not to be of kind `Not`; all of them when the options' literal types are not known. */
type KeysNot<S, C, Not> = { [K in StoreKey<S>]: [OptionsOf<S, C, K>] extends [Not] ? never : K }[StoreKey<S>]

/**
 * The keys `peek` accepts: cookie-tier and tab-tier keys. When the key options' literal types are
 * not known (a schema given as a type argument, not the `keys` object's own type), every key is
 * accepted and the check happens at run time (`NOT_SYNC_READABLE`).
 * @example SyncKey<SchemaOf<typeof keys>, typeof keys> // 'theme' | 'scroll' (not the IndexedDB 'cart')
 */
export type SyncKey<S, C> = KeysNot<S, C, PersistentClientKey | SessionClientKey>

/**
 * The keys that live in cookies (`serverVisible: true`): what `readCookies` and
 * `setCookieHeaders` of `visitstore/server` read and write. Every key when the options' literal
 * types are not known (the check then happens at run time).
 * @example CookieKey<SchemaOf<typeof keys>, typeof keys> // 'theme'
 */
export type CookieKey<S, C> = KeysNot<S, C, PersistentClientKey | SessionClientKey | TabKey>

/**
 * Options of {@link createStore}: `S` is the schema, `C` the type of the `keys` option.
 * @example createStore<Schema>({ name: 'shop', keys: { theme: { lifetime: 'persistent', serverVisible: true } } })
 */
export interface StoreOptions<S, C = KeysConfig<S>> {
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
  /**
   * The server session to bind session data to, made by `sessionSync` from `visitstore/session`;
   * without it, "session" means the browser session.
   */
  session?: SessionSync
  /**
   * Server-side rendering: a store for one request, reading that request's `Cookie` header (even
   * when it is undefined: no cookies). Its `peek`/`get` of cookie keys give what the browser's
   * store will give; IndexedDB and tab keys read as `undefined`; writes reject
   * (`setCookieHeaders` from `visitstore/server` is the server's way to write). No browser global is touched.
   * @example createStore({ ...options, cookieHeader: req.headers.cookie })
   */
  cookieHeader?: string | undefined
}

/**
 * A server-session sync for `createStore({ session })`, made by `sessionSync()` from
 * `visitstore/session` (`VisitStore.sessionSync` in the script-tag build).
 * @example createStore({ name, keys, session: sessionSync({ endpoint: '/session' }) })
 */
export interface SessionSync {
  readonly kind: 'visitstore-session-sync'
}

/**
 * Options of `sessionSync`: where the store learns the server session's tag (exactly one of
 * `endpoint`, `cookie`, `header`, `read`), and how it syncs with it.
 * @example sessionSync({ endpoint: '/session', keepOnLogin: true })
 */
export type SessionSyncOptions = SessionSource & {
  /** Move data made with no session, or in an anonymous one, to the new session at login instead of purging it. */
  keepOnLogin?: boolean
  /** Milliseconds between checks (one tab at a time, and only after user activity unless `keepAlive`). Default 60000; 0 turns the interval off. */
  interval?: number
  /** Milliseconds before the end at which `expiring` fires. Default 60000. */
  expiringBefore?: number
  /** Milliseconds a session request may take before it counts as failed. Default 10000. */
  timeout?: number
  /** Check on the interval even without user activity, keeping an idle server session alive. Default false. */
  keepAlive?: boolean
}

/**
 * Where the store learns the server session's tag. The raw session ID stays HttpOnly on the
 * server; the browser sees only a tag derived from it.
 * @example { endpoint: '/session' } // GET → { "tag": "…", "expiresAt": 1767225600000 }
 */
export type SessionSource =
  | { endpoint: string, credentials?: RequestCredentials }
  | { cookie: string }
  | { header: string }
  | { read: () => Promise<SessionAnswer | null> }

/**
 * What a session source answers; the endpoint's JSON wire format.
 * @example { tag: 'k3J…', expiresAt: 1767225600000, anonymous: false }
 */
export interface SessionAnswer {
  tag: string | null
  expiresAt?: number
  anonymous?: boolean
}

/** The store's view of the server session. `'unknown'`: not asked successfully yet (or no sync). */
export type SessionState = 'unknown' | 'none' | 'anonymous' | 'active'

/**
 * A point-in-time view of the server session. `expiresAt` is on this browser's clock (corrected
 * for the server's, where the answer had a `Date` header).
 * @example { tag: 'k3J…', state: 'active', expiresAt: 1767225600000 }
 */
export interface SessionSnapshot {
  tag: string | null
  state: SessionState
  expiresAt: number | undefined
}

/** Payload of the session's `change` event. `source: 'remote'` when another tab saw the change first. */
export interface SessionChange {
  previous: SessionSnapshot
  current: SessionSnapshot
  source: 'local' | 'remote'
}

/** Events of `store.session`. */
export interface SessionEvents {
  change: SessionChange
  expiring: SessionSnapshot
  end: SessionSnapshot
}

/**
 * `store.session`: the server session as the store sees it, kept in sync across tabs.
 * @example store.session.on('change', ({ current }) => console.log(current.state))
 */
export interface StoreSession {
  /** The session tag, or null when there is no session. */
  readonly tag: string | null
  readonly state: SessionState
  /** When the session ends (ms since epoch, this browser's clock), if the source said. */
  readonly expiresAt: number | undefined
  /** Listens to `change`, `expiring` and `end`; returns an unsubscribe function. @example store.session.on('end', showSignIn) */
  on<E extends keyof SessionEvents>(event: E, cb: (payload: SessionEvents[E]) => void): () => void
  /** Asks the source now; resolves once the new state and any purge are applied. Rejects with `SESSION_SYNC_FAILED` and changes nothing when the source fails. @example await store.session.refresh() */
  refresh(): Promise<void>
  /**
   * Ends the session here and in every tab (purging session data) without waiting for the network;
   * `{ server: true }` also sends `DELETE <endpoint>`.
   * @example await store.session.end({ server: true })
   */
  end(options?: { server?: boolean }): Promise<void>
  /** `fetch` that also reads the session tag header (with the `header` source). @example const res = await store.session.fetch('/api/cart') */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>
}

/**
 * A store: one typed interface over cookies, IndexedDB and sessionStorage. `S` is its schema, `C`
 * the type of its `keys` option (which keys `peek` accepts).
 * @example const store = createStore<Schema>({ name: 'shop', keys }); await store.set('theme', 'dark')
 */
export interface VisitStore<S, C = KeysConfig<S>> {
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
  /** Releases the IndexedDB connection, channel, timers and listeners; later calls reject with `STORAGE_UNAVAILABLE`, and so do calls still waiting for the session's first answer (abandoned at close). @example store.close() */
  close(): void
}
