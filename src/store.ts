import { decodeCookieValue, encodeCookieValue, encodeTabValue } from './codec.js'
import { VisitStoreError } from './errors.js'
import { exclusive, onCookieActivity, openChannel, unref } from './cross-tab.js'
import { createEmitter } from './events.js'
import { newSessionStamp, wrapEntry, type Envelope } from './lifetimes.js'
import { checkStoreName, compileKeys, ownOptions, placementReason, type KeySpec } from './placement.js'
import { createClientTier } from './tiers/indexeddb.js'
import { createCookieTier, type CookieWrite } from './tiers/cookie.js'
import { createTabTier } from './tiers/tab.js'
import { createSessionSync, type SessionSnapshot } from './session.js'
import { validate, type Checked } from './validation.js'
import type { KeysConfig, Lifetime, Placement, StoreEvents, StoreOptions, StoreStatus, VisitStore, WatchInfo } from './types.js'

/** The marker cookie's store key: a session cookie whose value stamps this browser session's data. */
const MARKER = '$s'
const MARKER_SPEC: KeySpec = { declared: MARKER, lifetime: 'session', home: 'cookie' }
const MARKER_VALUE = /^[0-9a-z]{12}$/
/** Where the last known server session is kept, so a page that cannot reach the source starts from it. */
const SESSION_RECORD = '$session'
const DEFAULT_OPEN_TIMEOUT = 5000
/** How often a tab re-reads watched cookies when no event tells it of changes made elsewhere. */
const COOKIE_POLL = 2000
/** How long writes gather before other tabs are told of them in one message. */
const TELL_DELAY = 10

type Change = { value: unknown, info: WatchInfo }
/** What tabs tell each other: keys whose values changed, or a new server session. */
type Message =
  | { type: 'keys', keys: string[] }
  | { type: 'session', snapshot: SessionSnapshot, purged: string[], force: boolean }

function checkOptions(options: unknown): asserts options is StoreOptions<unknown> {
  if (typeof options !== 'object' || options === null) {
    throw new VisitStoreError('INVALID_OPTIONS', 'createStore needs an options object: createStore({ name, keys }).')
  }
  const { openTimeout } = options as { openTimeout?: unknown }
  if (openTimeout !== undefined && (typeof openTimeout !== 'number' || !Number.isFinite(openTimeout) || openTimeout <= 0)) {
    throw new VisitStoreError('INVALID_OPTIONS', `openTimeout must be a positive number of milliseconds; got ${String(openTimeout)}.`)
  }
}

/**
 * With `session: { cookie }`, the server's session cookie must not be overwritten by one of ours
 * (`shop_sid` from store "shop", key "sid"): that would log the user out, or worse.
 */
function refuseShadowing(name: string, specs: readonly KeySpec[], session: StoreOptions<unknown>['session']): void {
  if (!session || !('cookie' in session)) return
  for (const spec of specs) {
    if (spec.home !== 'cookie') continue
    const ours = `${name}_${spec.declared.endsWith('*') ? spec.declared.slice(0, -1) : spec.declared}`
    if (spec.declared.endsWith('*') ? session.cookie.startsWith(ours) : session.cookie === ours) {
      throw new VisitStoreError('INVALID_OPTIONS', `keys["${spec.declared}"] would write the cookie ${session.cookie}, which is the server's session cookie (session.cookie). Rename the key or the store.`)
    }
  }
}

function checkValue(key: string, value: unknown): void {
  if (value === undefined) {
    throw new VisitStoreError('INVALID_VALUE', `set("${key}", undefined): undefined is not a storable value; call store.delete("${key}") to remove it.`)
  }
}

/**
 * Creates a store: one typed interface whose keys are placed by what they are — server-visible
 * values in cookies, client-only values in IndexedDB, per-tab values in sessionStorage.
 * Touches no browser API until called; safe to call during server-side rendering (tiers report
 * themselves unavailable there).
 * @example
 * const store = createStore<{ theme: 'light' | 'dark', cart: string[] }>({
 *   name: 'shop',
 *   keys: { theme: { lifetime: 'persistent', serverVisible: true }, cart: { lifetime: 'session' } },
 * })
 */
export function createStore<S extends object, const C extends KeysConfig<S> = KeysConfig<S>>(storeOptions: StoreOptions<S, C>): VisitStore<S, C> {
  checkOptions(storeOptions)
  const options = ownOptions(storeOptions) as StoreOptions<S, C>
  const backends = ownOptions(options.backends)
  const name = checkStoreName(options.name)
  const table = compileKeys(options.keys)
  refuseShadowing(name, table.specs, options.session)
  const events = createEmitter<StoreEvents>()
  const watchers = createEmitter<Record<string, Change>>()
  const cookies = createCookieTier(`${name}_`, options.cookie)
  const tab = createTabTier(`visitstore:${name}:`, backends.sessionStorage)
  const status: Omit<StoreStatus, 'sessionStorage'> = {
    indexeddb: 'ok',
    cookies: cookies.available ? 'ok' : 'unavailable',
  }
  // The tab tier's mode is looked up when asked for, so that sessionStorage is not touched before then.
  const currentStatus = (): StoreStatus => ({ ...status, sessionStorage: tab.mode === 'sessionStorage' ? 'ok' : 'memory' })
  const setStatus = (change: Partial<Omit<StoreStatus, 'sessionStorage'>>) => {
    Object.assign(status, change)
    events.emit('status', currentStatus())
  }
  const client = createClientTier({
    dbName: `visitstore-${name}`,
    factory: backends.indexedDB,
    openTimeout: options.openTimeout ?? DEFAULT_OPEN_TIMEOUT,
    onFallback(error) {
      setStatus({ indexeddb: 'memory' })
      events.emit('error', error)
    },
    currentTag: () => (sync.enabled ? sync.session.tag : undefined),
    onError: (error) => events.emit('error', error),
  })
  const channel = openChannel<Message>(name)
  // Once the first session answer is in, session reads and writes need not yield to wait for it.
  let sessionStarted = false
  let closed = false
  let stamp: string | undefined
  let persisted: Promise<boolean> | undefined
  const sync = createSessionSync(name, options.session, {
    async load() {
      const [saved] = await client.get([SESSION_RECORD], sessionStamp)
      return saved as SessionSnapshot | undefined
    },
    apply: applySessionChange,
    broadcast(snapshot, purged, force) {
      // Earlier writes first: the other tabs then apply them before the session change.
      tellUntold()
      channel.post({ type: 'session', snapshot, purged, force })
    },
    report: (error) => events.emit('error', error),
    readCookie: (cookieName) => cookies.readForeign(cookieName),
  })
  void sync.started.then(() => { sessionStarted = true })

  /**
   * The browser session's stamp. A session cookie carries it, so it is shared by every tab and
   * gone when the browser ends the session: data stamped with an older value is from a previous
   * browser session and reads as missing.
   */
  function sessionStamp(): string {
    if (stamp !== undefined) return stamp
    const existing = cookies.read(MARKER)
    if (existing !== undefined && MARKER_VALUE.test(existing)) return (stamp = existing)
    stamp = newSessionStamp()
    if (cookies.available) {
      try {
        cookies.write([{ key: MARKER, encoded: stamp, spec: MARKER_SPEC }])
      } catch (err) {
        // Without the marker, session data cannot outlive this page: say so rather than pretend.
        setStatus({ cookies: 'unavailable' })
        events.emit('error', new VisitStoreError('STORAGE_UNAVAILABLE',
          'The session marker cookie could not be written, so session-lifetime data will last only for this page. ' +
          'Enable cookies for this site or lower cookie usage.', { cause: err }))
      }
    }
    return stamp
  }

  const assertOpen = (what: string) => {
    if (closed) throw new VisitStoreError('STORAGE_UNAVAILABLE', `${what}: this store was closed; create a new one with createStore.`)
  }

  function readCookie(key: string, spec: KeySpec): unknown {
    const raw = cookies.read(key)
    if (raw === undefined) return undefined
    const decoded = decodeCookieValue(raw, spec.type)
    if (decoded.ok) return decoded.value
    events.emit('invalid', { key, reason: decoded.reason })
    return undefined
  }

  function readTab(key: string): unknown {
    const text = tab.read(key)
    if (text === undefined) return undefined
    try {
      return JSON.parse(text) as unknown
    } catch {
      events.emit('invalid', { key, reason: 'the sessionStorage item is not JSON' })
      return undefined
    }
  }

  function readSync(key: string, spec: KeySpec): unknown {
    return spec.home === 'cookie' ? readCookie(key, spec) : readTab(key)
  }

  /** A stored value the key's validator refuses reads as missing, and `invalid` says why. */
  function accepted(key: string, checked: Checked): unknown {
    if (checked.ok) return checked.value
    events.emit('invalid', { key, reason: `the stored value does not pass the key's validator: ${checked.reason}` })
    return undefined
  }

  /** Validates a value read from storage; synchronous when the validator is. */
  function checkRead(key: string, spec: KeySpec, value: unknown): unknown {
    if (value === undefined || !spec.validate) return value
    const checked = validate(spec.validate, value)
    return checked instanceof Promise ? checked.then((c) => accepted(key, c)) : accepted(key, checked)
  }

  /** Validates a read that cannot wait (`peek`, `update`'s transaction). */
  function checkReadNow(key: string, spec: KeySpec, value: unknown, what: string): unknown {
    const result = checkRead(key, spec, value)
    if (result instanceof Promise) {
      throw new VisitStoreError('NOT_SYNC_READABLE', `${what}("${key}"): the key's validator is asynchronous, so it cannot check a value synchronously. Use a synchronous schema, or await store.get("${key}").`)
    }
    return result
  }

  function refused(key: string, checked: Checked): VisitStoreError {
    return new VisitStoreError('INVALID_VALUE', `set("${key}"): the value does not pass the key's validator: ${checked.ok ? '' : checked.reason}. The previous value is kept.`)
  }

  /** Validates values to write; synchronous unless a validator is async. Resolves to the values to store. */
  function checkWrites(list: readonly (readonly [string, unknown])[], specs: readonly KeySpec[]): unknown[] | Promise<unknown[]> {
    const results = list.map(([key, value], i) => {
      checkValue(key, value)
      return validate((specs[i] as KeySpec).validate, value)
    })
    const values = (checked: Checked[]) => checked.map((c, i) => {
      if (!c.ok) throw refused((list[i] as readonly [string, unknown])[0], c)
      return c.value
    })
    return results.some((r) => r instanceof Promise) ? Promise.all(results).then(values) : values(results as Checked[])
  }

  /** Last cookie value this tab knows for each watched cookie key, to tell other writers' changes from ours. */
  const cookieSeen = new Map<string, string | undefined>()
  let stopCookieWatch: (() => void) | undefined

  const notify = (key: string, value: unknown, source: WatchInfo['source'] = 'local') => {
    if (cookieSeen.has(key)) cookieSeen.set(key, cookies.read(key))
    if (watchers.has(key)) watchers.emit(key, { value, info: { source } })
  }

  function checkCookies(): void {
    for (const [key, seen] of cookieSeen) {
      const raw = cookies.read(key)
      if (raw !== seen) notify(key, readCookie(key, table.resolve(key)), 'remote')
    }
  }

  /** Session-scoped data depends on the server session: wait for the first answer before touching it. */
  const sessionKnown = (specs: readonly KeySpec[]) =>
    sync.enabled && !sessionStarted && specs.some((spec) => spec.lifetime === 'session') ? sync.started : undefined

  async function applySessionChange(change: { previous: SessionSnapshot, next: SessionSnapshot, keep: boolean, force: boolean, source: WatchInfo['source'], purged: readonly string[] }): Promise<string[]> {
    const { previous, next, keep, force, source } = change
    const stale = await client.rewrite((raw) => {
      if (raw.s === undefined) return undefined
      if (!force && sync.enabled && raw.t === next.tag) return undefined
      if (keep && raw.t === previous.tag) return { ...raw, t: next.tag }
      return null
    })
    const cookieKeys = keep ? [] : cookies.keys().filter(declaredIn('cookie', 'session'))
    cookies.remove(cookieKeys)
    if (sync.enabled && next.state !== 'unknown') await client.set([[SESSION_RECORD, { v: next }]], 'saving the session state')
    const purged = [...new Set([...stale, ...cookieKeys])].filter((key) => table.has(key))
    for (const key of new Set([...purged, ...change.purged])) if (table.has(key)) notify(key, undefined, source)
    return purged
  }

  // Where the Cookie Store API exists, every tab already gets a change event for cookie writes;
  // a message of our own would only cost time on every write.
  const cookieWritesNeedMessage = typeof (globalThis as { cookieStore?: unknown }).cookieStore === 'undefined'
  const cookieKeysToTell = (keys: readonly string[]) => (cookieWritesNeedMessage ? keys : [])
  // Other tabs hear of this tab's writes in one message per TELL_DELAY, not one per write: in
  // Chromium's profile of the benchmark a message takes about 0.15 ms of the main thread, a tenth
  // of a small write, and sent from a timer it stays off the writer's path. Whatever is pending
  // goes out before a session message, on close() and when the page goes away.
  let untold: Set<string> | undefined
  const tellUntold = () => {
    if (untold?.size) channel.post({ type: 'keys', keys: [...untold] })
    untold = undefined
  }
  const tellOtherTabs = (keys: readonly string[]) => {
    if (!keys.length) return
    if (!untold) {
      untold = new Set()
      unref(setTimeout(tellUntold, TELL_DELAY))
    }
    for (const key of keys) untold.add(key)
  }
  const page = typeof window === 'undefined' ? undefined : window
  page?.addEventListener('pagehide', tellUntold)

  /** Writes a batch all or nothing: everything is encoded and checked first, then each tier is written, undoing the earlier ones if a later one fails. */
  async function write(list: readonly (readonly [string, unknown])[]): Promise<unknown[]> {
    const specs = list.map(([key]) => table.resolve(key))
    const waiting = sessionKnown(specs)
    if (waiting) await waiting
    const checked = checkWrites(list, specs)
    const values = checked instanceof Promise ? await checked : checked
    const cookieWrites: CookieWrite[] = []
    const tabWrites: [string, string][] = []
    const clientWrites: [string, Envelope][] = []
    const now = Date.now()
    list.forEach(([key], i) => {
      const spec = specs[i] as KeySpec
      const value = values[i]
      if (spec.home === 'cookie') cookieWrites.push({ key, encoded: encodeCookieValue(value, key, spec.type), spec })
      else if (spec.home === 'tab') tabWrites.push([key, encodeTabValue(value, key)])
      else clientWrites.push([key, wrapEntry(value, spec, sessionStamp(), now, currentTag())])
    })
    const oldTab = tabWrites.map(([key]) => [key, tab.read(key)] as const)
    // The cookie tier hands back what it replaced, so undoing costs no extra read of document.cookie.
    const oldCookies = cookieWrites.length ? cookies.write(cookieWrites) : new Map<string, string | undefined>()
    const undoCookies = () => {
      for (const w of cookieWrites) {
        const raw = oldCookies.get(w.key)
        if (raw === undefined) cookies.remove([w.key])
        else cookies.write([{ ...w, encoded: raw }])
      }
    }
    try {
      if (tabWrites.length) tab.write(tabWrites)
    } catch (err) {
      undoCookies()
      throw err
    }
    if (clientWrites.length) {
      try {
        await client.set(clientWrites)
      } catch (err) {
        undoCookies()
        for (const [key, text] of oldTab) {
          if (text === undefined) tab.remove([key])
          else tab.write([[key, text]])
        }
        throw err
      }
    }
    list.forEach(([key], i) => notify(key, values[i]))
    tellOtherTabs([...cookieKeysToTell(cookieWrites.map((w) => w.key)), ...clientWrites.map(([key]) => key)])
    return values
  }

  const currentTag = () => (sync.enabled ? sync.session.tag : undefined)

  async function get(key: string): Promise<unknown> {
    assertOpen(`get("${key}")`)
    const spec = table.resolve(key)
    await sessionKnown([spec])
    if (spec.home !== 'client') return checkRead(key, spec, readSync(key, spec))
    const [value] = await client.get([key], sessionStamp)
    return checkRead(key, spec, value)
  }

  async function getMany(keys: readonly string[]): Promise<Record<string, unknown>> {
    assertOpen('getMany()')
    const specs = keys.map((key) => table.resolve(key))
    await sessionKnown(specs)
    const clientKeys = keys.filter((_, i) => specs[i]?.home === 'client')
    const clientValues = clientKeys.length ? await client.get(clientKeys, sessionStamp) : []
    let fromClient = 0
    const checked = keys.map((key, i) => {
      const spec = specs[i] as KeySpec
      return checkRead(key, spec, spec.home === 'client' ? clientValues[fromClient++] : readSync(key, spec))
    })
    // Only an asynchronous validator makes a promise; without one there is nothing to wait for.
    const values = checked.some((v) => v instanceof Promise) ? await Promise.all(checked) : checked
    // fromEntries defines own properties: a key "__proto__" cannot reach the prototype.
    return Object.fromEntries(keys.map((key, i) => [key, values[i]]))
  }

  async function update(key: string, fn: (current: unknown) => unknown): Promise<unknown> {
    assertOpen(`update("${key}")`)
    const spec = table.resolve(key)
    await sessionKnown([spec])
    if (spec.home === 'tab') return updateSync(key, spec, fn)
    // Cookies have no transactions: a Web Lock keeps other tabs' updates of this store out meanwhile.
    if (spec.home === 'cookie') return exclusive(`visitstore:${name}:cookies`, () => updateSync(key, spec, fn))
    let next: unknown
    const current = sessionStamp()
    await client.update(key, current, (value) => {
      // Inside the transaction nothing may be awaited: validators must answer synchronously here.
      const checked = checkWrites([[key, fn(checkReadNow(key, spec, value, 'update'))]], [spec])
      if (checked instanceof Promise) {
        void checked.catch(() => {})
        throw new VisitStoreError('NOT_SYNC_READABLE', `update("${key}"): the key's validator is asynchronous; update runs inside an IndexedDB transaction and needs a synchronous one.`)
      }
      next = checked[0]
      return wrapEntry(next, spec, current, Date.now(), currentTag())
    })
    notify(key, next)
    tellOtherTabs([key])
    return next
  }

  async function updateSync(key: string, spec: KeySpec, fn: (current: unknown) => unknown): Promise<unknown> {
    // Read and write with nothing awaited in between: nothing else in this tab can run there.
    const [stored] = await write([[key, fn(checkReadNow(key, spec, readSync(key, spec), 'update'))]])
    return stored
  }

  async function remove(key: string): Promise<void> {
    assertOpen(`delete("${key}")`)
    const spec = table.resolve(key)
    if (spec.home === 'cookie') cookies.remove([key])
    else if (spec.home === 'tab') tab.remove([key])
    else await client.delete([key])
    notify(key, undefined)
    if (spec.home === 'client') tellOtherTabs([key])
    else if (spec.home === 'cookie') tellOtherTabs(cookieKeysToTell([key]))
  }

  const declaredIn = (home: KeySpec['home'], lifetime?: Lifetime) => (key: string) => {
    if (!table.has(key)) return false
    const spec = table.resolve(key)
    return spec.home === home && (lifetime === undefined || spec.lifetime === lifetime)
  }

  async function listKeys(prefix?: string): Promise<string[]> {
    assertOpen('keys()')
    if (sync.enabled) await sync.started
    const found = [
      ...cookies.keys().filter(declaredIn('cookie')),
      ...tab.keys().filter(declaredIn('tab')),
      ...(await client.keys(sessionStamp())).filter(declaredIn('client')),
    ]
    return found.filter((k) => prefix === undefined || k.startsWith(prefix)).sort()
  }

  async function clear(opts: { lifetime?: Lifetime } = {}): Promise<void> {
    assertOpen('clear()')
    if (sync.enabled) await sync.started
    const { lifetime } = opts
    const cookieKeys = cookies.keys().filter((k) => k !== MARKER && (lifetime === undefined || declaredIn('cookie', lifetime)(k)))
    const tabKeys = tab.keys().filter((k) => lifetime === undefined || declaredIn('tab', lifetime)(k))
    const clientKeys = (await client.keys(sessionStamp())).filter((k) => lifetime === undefined || declaredIn('client', lifetime)(k))
    cookies.remove(cookieKeys)
    tab.remove(tabKeys)
    if (clientKeys.length) await client.delete(clientKeys)
    for (const key of [...cookieKeys, ...tabKeys, ...clientKeys]) if (table.has(key)) notify(key, undefined)
    tellOtherTabs([...cookieKeysToTell(cookieKeys), ...clientKeys])
  }

  channel.on((message) => {
    if (closed) return
    if (message.type === 'session') {
      sync.receive(message.snapshot, message.purged, message.force).catch((err: unknown) => events.emit('error', err instanceof VisitStoreError ? err
        : new VisitStoreError('STORAGE_UNAVAILABLE', 'Applying a session change announced by another tab failed.', { cause: err })))
      return
    }
    for (const key of message.keys) {
      if (!table.has(key) || !watchers.has(key)) continue
      if (table.resolve(key).home === 'cookie') checkCookies()
      else void get(key).then((value) => notify(key, value, 'remote'), (err: unknown) => events.emit('error', err as VisitStoreError))
    }
  })

  const ready = (async () => {
    // Start-up begins after createStore returns, so listeners attached right away hear its events.
    await null
    // The database opens in the browser while the marker cookie is read (a synchronous round trip).
    const opening = client.open()
    sessionStamp()
    await opening
    // The sweep compares session records with the current server tag, so it waits for the first answer.
    await sync.started
    // Sweeps records of earlier browser and server sessions, and expired ones.
    await client.keys(sessionStamp())
  })().catch((err: unknown) => {
    events.emit('error', err instanceof VisitStoreError ? err
      : new VisitStoreError('STORAGE_UNAVAILABLE', 'Start-up sweep of expired data failed; it will be retried at the next start.', { cause: err }))
  })

  const store = {
    keys: listKeys,
    get,
    async set(key: string, value: unknown) {
      assertOpen(`set("${key}")`)
      await write([[key, value]])
    },
    delete: remove,
    getMany,
    async setMany(values: Record<string, unknown>) {
      assertOpen('setMany()')
      await write(Object.entries(values))
    },
    update,
    peek(key: string): unknown {
      assertOpen(`peek("${key}")`)
      const spec = table.resolve(key)
      if (spec.home === 'client') {
        throw new VisitStoreError('NOT_SYNC_READABLE',
          `peek("${key}"): "${key}" lives in IndexedDB, which has no synchronous read. Use await store.get("${key}").`)
      }
      return checkReadNow(key, spec, readSync(key, spec), 'peek')
    },
    watch(key: string, cb: (value: unknown, info: WatchInfo) => void) {
      const spec = table.resolve(key)
      if (spec.home === 'cookie' && !cookieSeen.has(key)) {
        cookieSeen.set(key, cookies.read(key))
        stopCookieWatch ??= onCookieActivity(checkCookies, COOKIE_POLL)
      }
      return watchers.on(key, ({ value, info }) => cb(value, info))
    },
    clear,
    placement(key: string): Placement {
      const spec = table.resolve(key)
      const tier = spec.home === 'cookie' ? 'cookie' : spec.home === 'tab' ? tab.mode : client.mode
      return { tier, lifetime: spec.lifetime, reason: placementReason(spec, tier === 'memory', sync.enabled) }
    },
    ready,
    get status() { return currentStatus() },
    on: events.on,
    session: sync.session,
    persist() {
      persisted ??= (async () => {
        const storage = typeof navigator === 'undefined' ? undefined : navigator.storage
        if (typeof storage?.persist !== 'function') return false
        try {
          return await storage.persist()
        } catch (err) {
          events.emit('error', new VisitStoreError('STORAGE_UNAVAILABLE', 'navigator.storage.persist() failed; the browser may evict this site\'s data under storage pressure.', { cause: err }))
          return false
        }
      })()
      return persisted
    },
    async estimate() {
      const storage = typeof navigator === 'undefined' ? undefined : navigator.storage
      if (typeof storage?.estimate !== 'function') return undefined
      try {
        const { usage, quota } = await storage.estimate()
        return { usage, quota }
      } catch (err) {
        events.emit('error', new VisitStoreError('STORAGE_UNAVAILABLE', 'navigator.storage.estimate() failed.', { cause: err }))
        return undefined
      }
    },
    close() {
      closed = true
      sync.close()
      stopCookieWatch?.()
      tellUntold()
      page?.removeEventListener('pagehide', tellUntold)
      channel.close()
      client.close()
      events.clear()
      watchers.clear()
    },
  }
  return store as unknown as VisitStore<S, C>
}
