import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { createStore, VisitStoreError, type SessionChange, type SessionSnapshot, type SessionSyncOptions, type VisitStore } from '../src/index.js'
import { sessionSync } from '../src/session.js'
import { clearAllCookies, cookieJar, holdLock, LOCK_KINDS, rawPut, rawRecords, rejectionOf, stubSessionServer, thrownError, useWebLocks, type FakeReply } from './fixtures/page-storage.js'

// Session sync through the front door: createStore + sessionSync, a fake server behind `fetch`,
// fake setTimeout/Date where time matters (IndexedDB keeps running on setImmediate).

interface Schema {
  cart: string[]
  locale: string
  prefs: string
  theme: string
  hits: number
}
const keys = {
  cart: { lifetime: 'session' },
  locale: { lifetime: 'session', serverVisible: true },
  prefs: { lifetime: 'persistent' },
  theme: { lifetime: 'persistent', serverVisible: true },
  hits: { lifetime: 'session' },
} as const
const NAME = 'sess'
const MINUTE = 60_000
/** A whole second: `Date` headers carry whole seconds, so clock offsets come out exact. */
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0)

let idb: IDBFactory
const stores: VisitStore<Schema>[] = []
const PAGE_URL = location.href

function tab(session?: SessionSyncOptions): VisitStore<Schema> {
  const store = createStore<Schema>({ name: NAME, keys, backends: { indexedDB: idb }, ...(session ? { session: sessionSync(session) } : {}) })
  stores.push(store)
  return store
}

/** A synced store `name` of a cart and a family of session drafts `d:*`, for the tests of a move (keepOnLogin) under way. */
function draftTab(name: string, keepOnLogin: boolean) {
  const store = createStore<{ cart: string[], [k: `d:${string}`]: number }>({ name, keys: { cart: { lifetime: 'session' }, 'd:*': { lifetime: 'session' } }, backends: { indexedDB: idb }, session: sessionSync({ endpoint: '/session', keepOnLogin }) })
  stores.push(store as unknown as VisitStore<Schema>)
  return store
}

/** 3,000 drafts `d:0000`… (each holding its number) and the cart `['kept']`, written by `store`. */
async function fillDrafts(store: ReturnType<typeof draftTab>): Promise<void> {
  await store.setMany(Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`d:${String(i).padStart(4, '0')}`, i])))
  await store.set('cart', ['kept'])
}

/** Everything a store tells the app on its own: session events and `error` events. */
function heard(store: VisitStore<Schema>) {
  const seen = { changes: [] as SessionChange[], ends: [] as SessionSnapshot[], expiring: [] as SessionSnapshot[], errors: [] as VisitStoreError[] }
  store.session.on('change', (c) => seen.changes.push(c))
  store.session.on('end', (s) => seen.ends.push(s))
  store.session.on('expiring', (s) => seen.expiring.push(s))
  store.on('error', (e) => seen.errors.push(e))
  return seen
}

/** Fake setTimeout and Date from T0 (setImmediate stays real: fake-indexeddb and channels run on it). */
const fakeClock = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: T0 })

/** Lets IndexedDB transactions and channel messages (real macrotasks) finish. */
async function drain(turns = 60): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/** Moves the fake clock `ms` forward a second at a time, letting storage work finish in between; `each` runs every step. */
async function pass(ms: number, each?: () => void, step = 1000): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await drain()
    each?.()
    await vi.advanceTimersByTimeAsync(Math.min(step, ms - t))
    await drain()
  }
}

/** The user doing something in the page (the idle rule counts these). */
const userActs = (type: 'pointerdown' | 'keydown' = 'pointerdown') => window.dispatchEvent(new Event(type))
const pageShown = () => document.dispatchEvent(new Event('visibilitychange'))
const backOnline = () => window.dispatchEvent(new Event('online'))

/** Waits, a macrotask at a time, until `done()` holds: the code after it runs right when it does. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 5000 && !done(); i++) await new Promise<void>((resolve) => setImmediate(resolve))
  expect(done()).toBe(true)
}

/** Whether a promise has settled yet (without waiting for it). */
function tracked<T>(promise: Promise<T>) {
  const t = { done: false, value: undefined as T | undefined, error: undefined as unknown }
  promise.then((v) => { t.done = true; t.value = v }, (e: unknown) => { t.done = true; t.error = e })
  return t
}

/** Stores made from now on hear no channel message from other tabs until the returned function delivers them (a tab that has not heard yet). */
function holdMessages(): () => void {
  const Real = BroadcastChannel
  const held: (() => void)[] = []
  let holding = true
  vi.stubGlobal('BroadcastChannel', class extends Real {
    override set onmessage(fn: ((event: MessageEvent) => void) | null) {
      super.onmessage = fn && ((event: MessageEvent) => { if (holding) held.push(() => fn.call(this, event)); else fn.call(this, event) })
    }
    override get onmessage() { return super.onmessage }
  })
  return () => {
    holding = false
    for (const deliver of held.splice(0)) deliver()
  }
}

beforeEach(() => {
  clearAllCookies()
  sessionStorage.clear()
  idb = new IDBFactory()
})
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
  vi.useRealTimers()
  vi.unstubAllGlobals()
  const page = (window as unknown as { happyDOM?: { setURL(url: string): void } }).happyDOM
  if (location.href !== PAGE_URL) page?.setURL(PAGE_URL)
})

describe('sessionSync options', () => {
  test('a plain object as session is INVALID_OPTIONS whose message shows the sessionSync({ … }) form', () => {
    const err = thrownError(() => createStore<Schema>({ name: NAME, keys, backends: { indexedDB: idb }, session: { endpoint: '/session' } as never }))
    expect(err.code).toBe('INVALID_OPTIONS')
    expect(err.message).toContain('sessionSync({')
    expect(err.message).toContain("import { sessionSync }")
  })

  test.each([
    ['an empty endpoint', { endpoint: '' }, /endpoint/],
    ['two sources', { endpoint: '/s', cookie: 'sid' }, /exactly one/],
    ['no source', { interval: 1000 }, /exactly one/],
    ['a read that is not a function', { read: 'yes' }, /read/],
    ['a negative interval', { endpoint: '/s', interval: -1 }, /interval/],
    ['a zero time-out', { endpoint: '/s', timeout: 0 }, /timeout/],
  ])('%s is INVALID_OPTIONS from sessionSync itself', (_name, options, message) => {
    const err = thrownError(() => sessionSync(options as unknown as SessionSyncOptions))
    expect(err.code).toBe('INVALID_OPTIONS')
    expect(err.message).toMatch(message)
  })

  test.each(['JSESSIONID', 'jsessionid', 'connect.sid', 'ASP.NET_SessionId'])(
    'cookie %s (HttpOnly by default on its server) is refused, pointing to the endpoint or header source', (cookie) => {
      const err = thrownError(() => sessionSync({ cookie }))
      expect(err.code).toBe('INVALID_OPTIONS')
      expect(err.message).toContain('HttpOnly')
      expect(err.message).toMatch(/sessionSync\(\{ endpoint/)
      expect(err.message).toMatch(/sessionSync\(\{ header/)
    })

  test("a store key whose cookie would be the server's session cookie is INVALID_OPTIONS", () => {
    const err = thrownError(() => createStore<{ sid: string }>({
      name: 'shop', keys: { sid: { lifetime: 'session', serverVisible: true } }, backends: { indexedDB: idb }, session: sessionSync({ cookie: 'shop_sid' }),
    }))
    expect(err.code).toBe('INVALID_OPTIONS')
    expect(err.message).toContain('shop_sid')
  })

  test("a store without session sync says status.session 'off' and makes no request", async () => {
    const server = stubSessionServer()
    const store = tab()
    await store.ready
    expect(store.status.session).toBe('off')
    expect(store.session.tag).toBeNull()
    expect(server.count()).toBe(0)
  })
})

describe('the endpoint source', () => {
  test('GETs the endpoint with the page cookies, uncached, and takes tag, state and expiry from the answer', async () => {
    const server = stubSessionServer((now) => ({ body: { tag: 'T1', expiresAt: now + 3_600_000 } }))
    const store = tab({ endpoint: '/session' })
    await store.ready
    expect(server.requests).toEqual([expect.objectContaining({ method: 'GET', url: '/session', credentials: 'same-origin', cache: 'no-store' })])
    expect(store.session.tag).toBe('T1')
    expect(store.session.state).toBe('active')
    expect(store.session.expiresAt).toBeGreaterThan(Date.now() + 3_590_000)
    expect(store.session.expiresAt).toBeLessThanOrEqual(Date.now() + 3_600_000)
    expect(store.status.session).toBe('ok')
  })

  test('credentials and the anonymous and no-session answers', async () => {
    const server = stubSessionServer({ body: { tag: 'anon-1', anonymous: true } })
    const store = tab({ endpoint: 'https://auth.example/session', credentials: 'include' })
    await store.ready
    expect(server.requests[0]).toMatchObject({ url: 'https://auth.example/session', credentials: 'include' })
    expect([store.session.tag, store.session.state]).toEqual(['anon-1', 'anonymous'])
    server.get = { body: { tag: null } }
    await store.session.refresh()
    expect([store.session.tag, store.session.state, store.session.expiresAt]).toEqual([null, 'none', undefined])
  })

  test.each<[string, FakeReply]>([
    ['a 500', { status: 500, text: 'oops' }],
    ['a 302 to a login page', { status: 302, text: '' }],
    ['a 200 that is not JSON', { text: '<html>login</html>' }],
    ['a JSON string', { body: 'T1' }],
    ['a numeric tag', { body: { tag: 42 } }],
    ['an empty tag', { body: { tag: '' } }],
    ['no tag at all', { body: {} }],
    ['an expiresAt that is not a number', { body: { tag: 'T1', expiresAt: 'soon' } }],
    ['an anonymous that is not a boolean', { body: { tag: 'T2', anonymous: 'yes' } }],
    ['a network error', { error: new TypeError('Failed to fetch') }],
  ])('%s: refresh() rejects SESSION_SYNC_FAILED, keeps the last state and purges nothing', async (_name, reply) => {
    const server = stubSessionServer({ body: { tag: 'T1', expiresAt: Date.now() + 3_600_000 } })
    const store = tab({ endpoint: '/session' })
    await store.setMany({ cart: ['a'], locale: 'fr' })
    const seen = heard(store)
    const before = { tag: store.session.tag, state: store.session.state, expiresAt: store.session.expiresAt }
    server.get = reply
    const err = await rejectionOf(store.session.refresh())
    expect(err.code).toBe('SESSION_SYNC_FAILED')
    expect({ tag: store.session.tag, state: store.session.state, expiresAt: store.session.expiresAt }).toEqual(before)
    expect(store.status.session).toBe('failing')
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: ['a'], locale: 'fr' })
    expect(cookieJar().sess_locale).toBeDefined()
    expect(seen.changes).toEqual([])
  })
})

describe('the cookie source (a script-readable session cookie, such as PHPSESSID)', () => {
  test('hashes the session ID into the tag and stores the ID nowhere; a new ID purges', async () => {
    document.cookie = 'PHPSESSID=rawsecretid123; Path=/'
    const store = tab({ cookie: 'PHPSESSID' })
    const seen = heard(store)
    await store.setMany({ cart: ['a'], locale: 'fr' })
    const tag = store.session.tag
    expect(tag).toMatch(/^[A-Za-z0-9_-]{20,}$/)
    expect(tag).not.toContain('rawsecretid123')
    expect(store.status.session).toBe('ok')
    const stored = () => JSON.stringify([...(sessionStorageItems()), ...Object.entries(cookieJar()).filter(([k]) => k.startsWith(`${NAME}_`))])
    expect(JSON.stringify([...(await rawRecords(idb, NAME))])).not.toContain('rawsecretid123')
    expect(stored()).not.toContain('rawsecretid123')

    // The same ID on the next page load is the same session: nothing is lost.
    store.close()
    const reloaded = tab({ cookie: 'PHPSESSID' })
    expect(await reloaded.get('cart')).toEqual(['a'])
    expect(reloaded.session.tag).toBe(tag)

    document.cookie = 'PHPSESSID=regenerated456; Path=/'
    await reloaded.session.refresh()
    expect(reloaded.session.tag).not.toBe(tag)
    expect(await reloaded.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined })
    expect(JSON.stringify(seen.errors.map((e) => e.message))).not.toContain('rawsecretid123')
  })

  test("without crypto.subtle (a plain-http page) status.session is 'unavailable' and an error event says why", async () => {
    const real = globalThis.crypto
    vi.stubGlobal('crypto', { getRandomValues: <T extends ArrayBufferView>(a: T) => real.getRandomValues(a as never) as T })
    document.cookie = 'PHPSESSID=rawsecretid123; Path=/'
    const store = tab({ cookie: 'PHPSESSID' })
    const seen = heard(store)
    await store.ready
    expect(store.status.session).toBe('unavailable')
    expect(seen.errors.map((e) => e.code)).toContain('SESSION_SYNC_FAILED')
    expect(seen.errors.find((e) => e.code === 'SESSION_SYNC_FAILED')?.message).toMatch(/crypto\.subtle/)
    expect(JSON.stringify(seen.errors.map((e) => e.message))).not.toContain('rawsecretid123')
    // Client-only data still works.
    await store.set('cart', ['still works'])
    expect(await store.get('cart')).toEqual(['still works'])
  })
})

describe('the header source', () => {
  test('session.fetch reads the tag from responses, with no request of its own; a new tag purges', async () => {
    let tag = 'H1'
    const server = stubSessionServer(() => ({ body: { items: 2 }, headers: { 'X-Session-Tag': tag } }))
    const store = tab({ header: 'X-Session-Tag' })
    await store.ready
    expect(server.count()).toBe(0)
    const response = await store.session.fetch('/api/cart')
    expect(await response.json()).toEqual({ items: 2 })
    expect(server.requests[0]).toMatchObject({ url: '/api/cart', credentials: 'same-origin' })
    expect(store.session.tag).toBe('H1')
    await store.setMany({ cart: ['h'], locale: 'fr' })
    await store.session.fetch('/api/cart')
    expect(await store.get('cart')).toEqual(['h'])
    tag = 'H2'
    await store.session.fetch('/api/cart')
    expect(store.session.tag).toBe('H2')
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined })
    expect(server.count()).toBe(3)
    tag = ''
    await store.session.fetch('/api/logout', { method: 'POST' })
    expect([store.session.tag, store.session.state]).toEqual([null, 'none'])
  })
})

describe('the read source', () => {
  test('asks the function; a throw or a malformed answer is SESSION_SYNC_FAILED and changes nothing', async () => {
    let answer: () => Promise<unknown> = async () => ({ tag: 'R1' })
    const store = tab({ read: () => answer() as never })
    await store.set('cart', ['r'])
    expect(store.session.tag).toBe('R1')
    for (const bad of [async () => { throw new Error('down') }, async () => ({ tag: 5 }), async () => 'R2']) {
      answer = bad
      expect((await rejectionOf(store.session.refresh())).code).toBe('SESSION_SYNC_FAILED')
      expect(store.session.tag).toBe('R1')
      expect(await store.get('cart')).toEqual(['r'])
    }
    answer = async () => null
    await store.session.refresh()
    expect([store.session.tag, store.session.state]).toEqual([null, 'none'])
    expect(await store.get('cart')).toBeUndefined()
  })
})

describe('a change of session', () => {
  test('login, rotation and logout each purge session data from IndexedDB and session cookies; persistent data stays', async () => {
    const server = stubSessionServer({ body: { tag: null } })
    const store = tab({ endpoint: '/session' })
    const seen = heard(store)
    await store.setMany({ cart: ['anon'], locale: 'fr', prefs: 'p', theme: 'dark' })
    server.get = { body: { tag: 'A' } }
    await store.session.refresh()
    expect(await store.getMany(['cart', 'locale', 'prefs', 'theme'])).toEqual({ cart: undefined, locale: undefined, prefs: 'p', theme: 'dark' })
    expect(cookieJar().sess_locale).toBeUndefined()
    // Deleted from the database, not only hidden.
    expect((await rawRecords(idb, NAME)).has('cart')).toBe(false)
    await store.setMany({ cart: ['mine'], locale: 'de' })
    server.get = { body: { tag: 'B' } }
    await store.session.refresh()
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined })
    await store.setMany({ cart: ['rotated'], locale: 'it' })
    server.get = { body: { tag: null } }
    await store.session.refresh()
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined })
    expect(seen.changes.map((c) => [c.previous.state, c.current.state, c.current.tag, c.source])).toEqual([
      ['unknown', 'none', null, 'local'],
      ['none', 'active', 'A', 'local'],
      ['active', 'active', 'B', 'local'],
      ['active', 'none', null, 'local'],
    ])
    expect(seen.ends.map((s) => s.tag)).toEqual(['B'])
    expect(await store.getMany(['prefs', 'theme'])).toEqual({ prefs: 'p', theme: 'dark' })
    expect(cookieJar().sess_theme).toBeDefined()
    expect((await rawRecords(idb, NAME)).has('cart')).toBe(false)
    expect((await rawRecords(idb, NAME)).has('prefs')).toBe(true)
  })

  test('the first answer turns unknown into the real state and fires change', async () => {
    stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session' })
    const seen = heard(store)
    expect(store.session.state).toBe('unknown')
    await store.ready
    expect(seen.changes.map((c) => [c.previous.state, c.current.state, c.current.tag])).toEqual([['unknown', 'active', 'A']])
  })

  test('a session cookie written while the first answer is on its way is kept by that answer\'s purge; the last session\'s data goes', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const last = tab({ endpoint: '/session' })
    await last.setMany({ cart: ['old'], locale: 'old' })
    last.close()
    // The next page: the server now names another session, and answers a second later.
    server.get = { body: { tag: 'B' }, delay: 1000 }
    const store = tab({ endpoint: '/session' })
    const seen = heard(store)
    await store.set('locale', 'new')
    // Written before the answer: no change of session yet.
    expect(seen.changes).toEqual([])
    await pass(2000, undefined, 500)
    await store.ready
    expect(store.session.tag).toBe('B')
    // The purge ran (the last session's record is gone) and left what this page wrote for the session it found.
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: 'new' })
    expect(cookieJar().sess_locale).toBeDefined()
    expect(seen.errors).toEqual([])
    // Without a write while waiting, the same answer purges the last session's cookie.
    await store.set('locale', 'stale')
    store.close()
    server.get = { body: { tag: 'C' }, delay: 1000 }
    const next = tab({ endpoint: '/session' })
    await pass(2000, undefined, 500)
    await next.ready
    expect(next.session.tag).toBe('C')
    expect(await next.get('locale')).toBeUndefined()
    expect(cookieJar().sess_locale).toBeUndefined()
  })

  test.each([
    ['IndexedDB missing', null],
    ['IndexedDB not answering (openTimeout)', 'hung'],
  ] as const)('%s (records in memory): the next page of the same server session keeps its session cookies; a new tag still purges them', async (_, db) => {
    const hung = { open: () => ({}) as IDBOpenDBRequest } as unknown as IDBFactory
    const memoryTab = () => {
      const store = createStore<Schema>({ name: NAME, keys, backends: { indexedDB: db === null ? null : hung }, openTimeout: 50, session: sessionSync({ endpoint: '/session' }) })
      stores.push(store)
      return store
    }
    const server = stubSessionServer({ body: { tag: 'A' } })
    const first = memoryTab()
    await first.ready
    expect(first.status.indexeddb).toBe('memory')
    await first.set('locale', 'fr')
    first.close()
    const next = memoryTab()
    const seen = heard(next)
    await next.ready
    expect(next.session.tag).toBe('A')
    expect(await next.get('locale')).toBe('fr')
    expect(cookieJar().sess_locale).toBe('fr')
    // It starts from the state saved by the last page: the same session, no change.
    expect(seen.changes).toEqual([])
    // Another user signs in: the next check purges the last session's cookie.
    server.get = { body: { tag: 'B' } }
    await next.session.refresh()
    expect(await next.get('locale')).toBeUndefined()
    expect(cookieJar().sess_locale).toBeUndefined()
  })

  test('watchers of purged keys hear undefined', async () => {
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session' })
    await store.setMany({ cart: ['a'], locale: 'fr' })
    const watched: unknown[] = []
    store.watch('cart', (v, info) => watched.push(['cart', v, info.source]))
    store.watch('locale', (v, info) => watched.push(['locale', v, info.source]))
    server.get = { body: { tag: 'B' } }
    await store.session.refresh()
    expect(watched).toEqual(expect.arrayContaining([['cart', undefined, 'local'], ['locale', undefined, 'local']]))
  })

  test.each([false, true])('a change of state in the same server session (anonymous, then signed in with the same tag) keeps every session value (keepOnLogin: %s)', async (keepOnLogin) => {
    const server = stubSessionServer({ body: { tag: 'S', anonymous: true } })
    const store = tab({ endpoint: '/session', keepOnLogin })
    const seen = heard(store)
    await store.setMany({ cart: ['kept'], locale: 'fr' })
    server.get = { body: { tag: 'S' } }
    await store.session.refresh()
    expect(store.session.state).toBe('active')
    expect(seen.changes.at(-1)).toMatchObject({ previous: { tag: 'S', state: 'anonymous' }, current: { tag: 'S', state: 'active' } })
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: ['kept'], locale: 'fr' })
    // The next page starts in the signed-in state: it was saved, so nothing changes there.
    store.close()
    const next = tab({ endpoint: '/session', keepOnLogin })
    const seenNext = heard(next)
    await next.ready
    expect([next.session.state, seenNext.changes]).toEqual(['active', []])
  })

  test('keepOnLogin moves anonymous data to the new session at login; a switch of user and a logout purge', async () => {
    const server = stubSessionServer({ body: { tag: 'anon-1', anonymous: true } })
    const store = tab({ endpoint: '/session', keepOnLogin: true })
    await store.setMany({ cart: ['kept'], locale: 'fr' })
    server.get = { body: { tag: 'user-1' } }
    await store.session.refresh()
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: ['kept'], locale: 'fr' })
    expect((await rawRecords(idb, NAME)).get('cart')?.k).toMatch(/=user-1$/)
    server.get = { body: { tag: 'user-2' } }
    await store.session.refresh()
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined })
    await store.setMany({ cart: ['u2'], locale: 'de' })
    server.get = { body: { tag: null } }
    await store.session.refresh()
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined })
  })

  test.each([true, false])('reads and writes of session keys made while a session change is applied (3,000 records to move or purge) see its end state: keepOnLogin %s', async (keepOnLogin) => {
    const server = stubSessionServer({ body: { tag: null } })
    const store = draftTab('moving', keepOnLogin)
    await store.ready
    await fillDrafts(store)
    server.get = { body: { tag: 'U1' } }
    const refreshed = store.session.refresh()
    // The tag switches first; the records move (or go) after, a slice at a time.
    await until(() => store.session.tag === 'U1')
    const during = await Promise.all([store.get('cart'), store.get('d:2999'), store.update('d:2998', (n = -1) => n + 1), store.keys('d:').then((k) => k.length)])
    await refreshed
    // The purge: d:2998 is the update's alone (and keys(), called after it, sees it).
    const want = keepOnLogin ? [['kept'], 2999, 2999, 3000] : [undefined, undefined, 0, 1]
    expect(during).toEqual(want)
    expect(await Promise.all([store.get('cart'), store.get('d:2999'), store.get('d:2998'), store.keys('d:').then((k) => k.length)])).toEqual(want)
  })

  test('keepOnLogin also keeps data made with no session at all', async () => {
    const server = stubSessionServer({ body: { tag: null } })
    const store = tab({ endpoint: '/session', keepOnLogin: true })
    await store.setMany({ cart: ['guest'], locale: 'fr' })
    server.get = { body: { tag: 'user-1' } }
    await store.session.refresh()
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: ['guest'], locale: 'fr' })
  })

  test.each(LOCK_KINDS)('keepOnLogin, %s: writes called before a login that moves the data land in the new session wherever the login overtakes them (0-29 turns in)', async (_name, webLocks) => {
    if (webLocks) useWebLocks()
    const lost: string[] = []
    for (let turns = 0; turns < 30; turns++) {
      clearAllCookies()
      idb = new IDBFactory()
      const server = stubSessionServer({ body: { tag: 'anon-1', anonymous: true } })
      const store = tab({ endpoint: '/session', keepOnLogin: true })
      await store.ready
      // A cross-tier batch (a session record and cookie, a persistent cookie) and a plain record write.
      const writes = [store.setMany({ hits: turns, locale: 'fr', theme: 'dark' }), store.set('cart', [`t${turns}`])]
      await drain(turns)
      server.get = { body: { tag: 'user-1' } }
      await Promise.all([...writes, store.session.refresh()])
      const got = await store.getMany(['hits', 'locale', 'theme', 'cart'])
      const want = { hits: turns, locale: 'fr', theme: 'dark', cart: [`t${turns}`] }
      if (store.session.tag !== 'user-1' || JSON.stringify(got) !== JSON.stringify(want)) lost.push(`${turns} turns: ${JSON.stringify(got)}`)
      store.close()
    }
    expect(lost).toEqual([])
  })

  test('keepOnLogin: a cross-tier batch called before the login, held up by another tab\'s cookie lock until the data moved, lands in the new session', async () => {
    const locks = useWebLocks()
    const server = stubSessionServer({ body: { tag: 'anon-1', anonymous: true } })
    const store = tab({ endpoint: '/session', keepOnLogin: true })
    await store.setMany({ cart: ['kept'] })
    // Another tab holds the cookie lock.
    const release = await holdLock(locks, `visitstore:${NAME}:cookies`)
    const batch = store.setMany({ hits: 7, locale: 'fr' })
    server.get = { body: { tag: 'user-1' } }
    await store.session.refresh()
    expect((await rawRecords(idb, NAME)).get('cart')?.k).toMatch(/=user-1$/)
    release()
    await batch
    expect(await store.getMany(['cart', 'hits', 'locale'])).toEqual({ cart: ['kept'], hits: 7, locale: 'fr' })
    expect((await rawRecords(idb, NAME)).get('hits')?.k).toMatch(/=user-1$/)
  })

  test.each([
    ['a login (purge)', false],
    ['a login with keepOnLogin (move)', true],
  ] as const)('the start-up sweep never deletes what a session change during it keeps or writes: %s 0-39 turns after ready', async (_name, keepOnLogin) => {
    const lost: string[] = []
    for (let turns = 0; turns < 40; turns++) {
      clearAllCookies()
      idb = new IDBFactory()
      const server = stubSessionServer({ body: { tag: 'anon-1', anonymous: true } })
      const first = tab({ endpoint: '/session', keepOnLogin })
      await first.set('cart', ['anonymous'])
      first.close()
      const store = tab({ endpoint: '/session', keepOnLogin })
      await store.ready
      // The sweep goes on in the background; the user signs in somewhere in it.
      await drain(turns)
      server.get = { body: { tag: 'user-1' } }
      await store.session.refresh()
      await store.set('hits', turns)
      await drain(100)
      const got = await store.getMany(['cart', 'hits'])
      const want = { cart: keepOnLogin ? ['anonymous'] : undefined, hits: turns }
      if (JSON.stringify(got) !== JSON.stringify(want)) lost.push(`${turns} turns: ${JSON.stringify(got)}`)
      store.close()
    }
    expect(lost).toEqual([])
  })

  test('a write racing the purge never survives under the old session', async () => {
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session' })
    await store.set('cart', ['before'])
    server.get = { body: { tag: 'B' } }
    await Promise.all([store.set('cart', ['racing']), store.session.refresh()])
    const record = (await rawRecords(idb, NAME)).get('cart')
    // Either the write landed after the switch (and belongs to B), or it was purged: never A's.
    if (record) expect(record.k).toMatch(/=B$/)
    expect(await store.get('cart')).toEqual(record ? ['racing'] : undefined)
  })
})

describe('close()', () => {
  test('calls waiting for a session answer that never comes settle at close(), rejected as closed; nothing is written after it', async () => {
    const server = stubSessionServer({ body: { tag: 'A' } })
    server.get = { delay: 'never' }
    const store = tab({ endpoint: '/session' })
    // Session keys wait for the session's first answer (its time-out is 10 s).
    const calls = [tracked<unknown>(store.set('cart', ['late'])), tracked<unknown>(store.get('cart')), tracked<unknown>(store.setMany({ cart: ['late'], theme: 'dark' }))]
    const ready = tracked(store.ready)
    await drain()
    expect(calls.map((c) => c.done)).toEqual([false, false, false])
    store.close()
    await until(() => calls.every((c) => c.done) && ready.done)
    for (const c of calls) expect((c.error as VisitStoreError | undefined)?.code).toBe('STORAGE_UNAVAILABLE')
    expect(String((calls[0]?.error as Error).message)).toMatch(/closed/)
    expect(ready.error).toBeUndefined()
    await drain()
    expect((await rawRecords(idb, NAME)).has('cart')).toBe(false)
    expect(cookieJar().sess_theme).toBeUndefined()
  })
})

describe('session.end()', () => {
  test.each([
    ['with a session sync', { endpoint: '/session' }],
    ['without one', undefined],
  ] as const)("%s: two tabs' end() at the same moment (neither sees the other's new stamp): a tab's write called after its own end() and still on its way when the other tab's end() is heard is kept", async (_name, sync) => {
    useWebLocks()
    stubSessionServer({ body: { tag: 'A' } })
    let release = () => {}
    const held = new Promise<void>((resolve) => { release = resolve })
    // A session key whose validator answers only when the test says: the write is on its way meanwhile.
    const slow = { '~standard': { version: 1 as const, vendor: 'test', validate: async (value: unknown) => { await held; return { value: value as string } } } }
    const copy: { frozen?: string } = {}
    const open = (jar?: { read(): string, write(line: string): void }) => {
      const store = createStore<{ cart: string[], note: string }>({
        name: NAME, keys: { cart: { lifetime: 'session' }, note: { lifetime: 'session', validate: slow } },
        backends: { indexedDB: idb, ...(jar ? { cookies: jar } : {}) }, ...(sync ? { session: sessionSync(sync) } : {}),
      })
      stores.push(store as unknown as VisitStore<Schema>)
      return store
    }
    const a = open()
    // A watcher: the tab listens to the others (it always does now; before, only with one or a sync).
    a.watch('cart', () => {})
    // Tab B's copy of the cookies stays as it was before A's end() (it cannot see A's new stamp).
    const b = open({ read: () => copy.frozen ?? document.cookie, write: (line) => { document.cookie = line } })
    await Promise.all([a.ready, b.ready])
    await a.set('cart', ['before'])
    copy.frozen = document.cookie
    // What the tabs tell each other, heard here too: A must have heard B's end() before its write goes on.
    const told: { force?: boolean }[] = []
    const spy = new BroadcastChannel(`visitstore:${NAME}`)
    spy.onmessage = (event: MessageEvent<{ force?: boolean }>) => { told.push(event.data) }
    await a.session.end()
    const after = a.set('note', 'after my end()')
    await b.session.end()
    // A hears B's end(), which did not end A's new stamp.
    for (let i = 0; i < 200 && told.filter((m) => m.force).length < 2; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(told.filter((m) => m.force)).toHaveLength(2)
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
    spy.close()
    release()
    await after
    expect(await a.get('note')).toBe('after my end()')
  })

  test('purges here, fires change and end, and resolves without waiting for the network', async () => {
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session' })
    const seen = heard(store)
    await store.setMany({ cart: ['x'], locale: 'fr', theme: 'dark' })
    server.get = { delay: 'never' }
    server.delete = { delay: 'never' }
    void store.session.refresh().catch(() => {}) // a request hangs in flight
    await store.session.end()
    expect([store.session.tag, store.session.state]).toEqual([null, 'none'])
    expect(await store.getMany(['cart', 'locale', 'theme'])).toEqual({ cart: undefined, locale: undefined, theme: 'dark' })
    expect(seen.ends.map((s) => s.tag)).toEqual(['A'])
    expect(seen.changes.at(-1)).toMatchObject({ previous: { tag: 'A' }, current: { tag: null, state: 'none' }, source: 'local' })
    expect(server.count('DELETE')).toBe(0)
  })

  test('session.end() while the start-up check hangs resolves at once and purges what the last session left', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const first = tab({ endpoint: '/session' })
    await first.setMany({ cart: ['x'], locale: 'fr' })
    first.close()
    server.get = { delay: 'never' }
    const store = tab({ endpoint: '/session' })
    const ending = tracked(store.session.end())
    await drain()
    expect(ending.done).toBe(true)
    expect(ending.error).toBeUndefined()
    expect(store.session.tag).toBeNull()
    expect((await rawRecords(idb, NAME)).has('cart')).toBe(false)
    expect(cookieJar().sess_locale).toBeUndefined()
    await pass(10_000)
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined })
    expect(store.session.tag).toBeNull()
  })

  test.each([
    ['with a session sync', { endpoint: '/session' }],
    ['without one', undefined],
  ] as const)('%s: writes called before end() that reach storage after its purge do not outlive it; writes called after it are kept', async (_name, sync) => {
    stubSessionServer({ body: { tag: 'A' } })
    const store = tab(sync)
    await store.ready
    const watched: unknown[] = []
    store.watch('locale', (value) => watched.push(value))
    // Not awaited: each is still on its way (a cookie lock, a session state, a transaction) when end() purges.
    const before = [
      store.set('locale', 'old'),
      store.set('cart', ['old']),
      // A cross-tier batch: its session-lifetime part (cookie and record) goes, its persistent part stays.
      store.setMany({ hits: 1, locale: 'older', theme: 'dark', prefs: 'p' }),
    ]
    const ending = store.session.end()
    const after = store.set('cart', ['new'])
    await Promise.all([...before, ending, after])
    expect(await store.getMany(['locale', 'cart', 'hits', 'theme', 'prefs'])).toEqual({ locale: undefined, cart: ['new'], hits: undefined, theme: 'dark', prefs: 'p' })
    expect(cookieJar().sess_locale).toBeUndefined()
    expect(cookieJar().sess_theme).toBe('dark')
    expect((await rawRecords(idb, NAME)).has('hits')).toBe(false)
    // Watchers heard the purge last, not a value it took back.
    expect(watched.at(-1)).toBeUndefined()
  })

  test.each(LOCK_KINDS)('%s: a cross-tier setMany that end() overtakes anywhere on its way (0-29 turns in) leaves no session part behind', async (_name, webLocks) => {
    if (webLocks) useWebLocks()
    const late: string[] = []
    for (let turns = 0; turns < 30; turns++) {
      clearAllCookies()
      idb = new IDBFactory()
      const store = tab()
      await store.ready
      const batch = store.setMany({ hits: 1, locale: 'older', theme: 'dark' })
      await drain(turns)
      await Promise.all([batch, store.session.end()])
      const got = await store.getMany(['hits', 'locale', 'theme'])
      if (got.hits !== undefined || got.locale !== undefined || got.theme !== 'dark' || cookieJar().sess_locale !== undefined) late.push(`${turns} turns: ${JSON.stringify(got)}`)
    }
    expect(late).toEqual([])
  })

  test('while the start-up check hangs: writes called before end() do not outlive it, writes called after it are kept', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    server.get = { delay: 'never' }
    const store = tab({ endpoint: '/session' })
    // The session record's write waits for the start-up check (until its time-out); the cookie's does not.
    const before = [store.set('cart', ['old']), store.set('locale', 'old')]
    const ending = store.session.end()
    const after = [store.set('hits', 1), store.set('prefs', 'kept')]
    await pass(15_000)
    await Promise.all([...before, ending, ...after])
    expect(await store.getMany(['cart', 'locale', 'hits', 'prefs'])).toEqual({ cart: undefined, locale: undefined, hits: 1, prefs: 'kept' })
    expect(cookieJar().sess_locale).toBeUndefined()
  })

  test('end({ server: true }) sends DELETE to the endpoint with the page cookies', async () => {
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session', credentials: 'include' })
    await store.set('cart', ['x'])
    await store.session.end({ server: true })
    expect(server.requests.filter((r) => r.method === 'DELETE')).toEqual([expect.objectContaining({ url: '/session', credentials: 'include' })])
    expect(store.session.tag).toBeNull()
    expect(await store.get('cart')).toBeUndefined()
  })

  test('end({ server: true }) sends the DELETE in its call, as a keepalive request (a logout page that navigates away at once), and purges without waiting for its answer', async () => {
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session' })
    await store.setMany({ cart: ['x'], locale: 'fr' })
    server.delete = { delay: 'never' }
    void store.session.end({ server: true }).catch(() => {})
    expect(server.requests.filter((r) => r.method === 'DELETE')).toEqual([expect.objectContaining({ url: '/session', keepalive: true })])
    await vi.waitFor(async () => expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined }))
    expect(store.session.tag).toBeNull()
  })

  test('end({ server: true }) with a server that answers 500 rejects SESSION_SYNC_FAILED after the local purge', async () => {
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session' })
    await store.setMany({ cart: ['x'], locale: 'fr' })
    server.delete = { status: 500, text: 'oops' }
    const err = await rejectionOf(store.session.end({ server: true }))
    expect(err.code).toBe('SESSION_SYNC_FAILED')
    expect(store.session.tag).toBeNull()
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined })
  })

  test('end({ server: true }) with a server that never answers purges at once and rejects SESSION_SYNC_FAILED at the time-out', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session', timeout: 3000 })
    await store.setMany({ cart: ['x'], locale: 'fr' })
    server.delete = { delay: 'never' }
    const ending = tracked(store.session.end({ server: true }))
    await drain()
    expect(server.count('DELETE')).toBe(1)
    expect(store.session.tag).toBeNull()
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined })
    expect(ending.done).toBe(false)
    await pass(3000)
    expect(ending.done).toBe(true)
    expect(ending.error).toBeInstanceOf(VisitStoreError)
    expect((ending.error as VisitStoreError).code).toBe('SESSION_SYNC_FAILED')
  })
})

describe('time-out', () => {
  test('a hung request fails after `timeout`; session-key reads, writes, keys() and ready go on with the saved state', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const first = tab({ endpoint: '/session', timeout: 2000 })
    await first.setMany({ cart: ['a'], locale: 'fr' })
    first.close()
    server.get = { delay: 'never' }
    const store = tab({ endpoint: '/session', timeout: 2000 })
    const seen = heard(store)
    const ready = tracked(store.ready)
    const cart = tracked(store.get('cart'))
    const listed = tracked(store.keys())
    const written = tracked(store.set('hits', 1))
    await pass(2000, undefined, 500)
    expect([ready.done, cart.done, listed.done, written.done]).toEqual([true, true, true, true])
    expect(cart.value).toEqual(['a'])
    expect(listed.value).toEqual(['cart', 'locale'])
    expect(written.error).toBeUndefined()
    expect(store.session.tag).toBe('A')
    expect(store.status.session).toBe('failing')
    expect(seen.errors.map((e) => e.code)).toEqual(['SESSION_SYNC_FAILED'])
    expect(await store.getMany(['cart', 'locale', 'hits'])).toEqual({ cart: ['a'], locale: 'fr', hits: 1 })
  })

  test('no lock is held across a network wait: while requests hang, another tab writes cookies at once and reads session keys after the time-out', async () => {
    fakeClock()
    const locks = useWebLocks()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const first = tab({ endpoint: '/session', timeout: 2000 })
    await first.setMany({ cart: ['a'], locale: 'fr' })
    first.close()
    server.get = { delay: 'never' }
    const one = tab({ endpoint: '/session', timeout: 2000 })
    const two = tab({ endpoint: '/session', timeout: 2000 })
    await pass(100, undefined, 10) // start-up work; the cookie lock is held a task (a fake 0 ms timer) per burst
    expect(server.count()).toBeGreaterThanOrEqual(2)
    expect((await locks.query()).held?.filter((lock) => lock.mode === 'exclusive')).toEqual([])
    const themed = tracked(two.set('theme', 'dark'))
    const carts = [tracked(one.get('cart')), tracked(two.get('cart'))]
    const ended = tracked(two.session.end())
    await pass(100, undefined, 10)
    expect([themed.done, ended.done]).toEqual([true, true])
    await pass(2000, undefined, 500)
    expect(carts.map((c) => c.done)).toEqual([true, true])
    expect(two.session.tag).toBeNull()
  })

  test('an answer slower than usual but within the time-out is taken', async () => {
    fakeClock()
    stubSessionServer({ body: { tag: 'slow' }, delay: 1500 })
    const store = tab({ endpoint: '/session', timeout: 2000 })
    const seen = heard(store)
    const ready = tracked(store.ready)
    await pass(2000, undefined, 500)
    expect(ready.done).toBe(true)
    expect(store.session.tag).toBe('slow')
    expect(store.status.session).toBe('ok')
    expect(seen.errors).toEqual([])
  })

  test('refresh() on a hung server rejects SESSION_SYNC_FAILED at the time-out and changes nothing', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session', timeout: 4000 })
    await store.set('cart', ['a'])
    server.get = { delay: 'never' }
    const refreshing = tracked(store.session.refresh())
    await pass(3000)
    expect(refreshing.done).toBe(false)
    await pass(1000)
    expect((refreshing.error as VisitStoreError | undefined)?.code).toBe('SESSION_SYNC_FAILED')
    expect(store.session.tag).toBe('A')
    expect(await store.get('cart')).toEqual(['a'])
  })

  test('the default time-out is 10 s', async () => {
    fakeClock()
    stubSessionServer({ delay: 'never' })
    const store = tab({ endpoint: '/session' })
    const ready = tracked(store.ready)
    await pass(9000)
    expect(ready.done).toBe(false)
    await pass(1000)
    expect(ready.done).toBe(true)
    expect(store.status.session).toBe('failing')
  })
})

describe('background checks and failures', () => {
  test('a clock that went back an hour does not freeze the session: the next answer is applied', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session' })
    await pass(1000)
    await store.ready
    vi.setSystemTime(Date.now() - 3600_000)
    server.get = { body: { tag: null } }
    await store.session.refresh()
    expect(store.session.tag).toBeNull()
  })

  test('an answer to an older request that arrives after a newer one is not applied: it would purge the new session\'s data', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session' })
    const seen = heard(store)
    await pass(1000)
    await store.ready
    // A check asked while still signed in as A, on a slow network...
    server.get = { body: { tag: 'A' }, delay: 3000 }
    const slow = tracked(store.session.refresh())
    await drain()
    // ...then the login, and the app's own refresh, answered at once.
    server.get = { body: { tag: 'B' } }
    await store.session.refresh()
    await store.set('cart', ['after login'])
    expect(store.session.tag).toBe('B')
    await pass(4000)
    expect(slow.done).toBe(true)
    expect(store.session.tag).toBe('B')
    expect(await store.get('cart')).toEqual(['after login'])
    expect(seen.changes.map((c) => c.current.tag)).toEqual(['A', 'B'])
  })

  test("a failed start-up check fires error and says 'failing'; it retries with back-off without activity until an answer says 'ok'", async () => {
    fakeClock()
    const server = stubSessionServer({ status: 503, text: 'down' })
    const store = tab({ endpoint: '/session' })
    const seen = heard(store)
    await pass(1000)
    expect(store.status.session).toBe('failing')
    expect(seen.errors.map((e) => e.code)).toEqual(['SESSION_SYNC_FAILED'])
    await pass(4 * MINUTE)
    const retries = server.requests.map((r) => r.at - T0)
    // Back-off: the gaps grow, and none is under the 5 s floor.
    for (let i = 1; i < retries.length; i++) expect((retries[i] as number) - (retries[i - 1] as number)).toBeGreaterThanOrEqual(5000)
    expect(retries.length).toBeGreaterThanOrEqual(4)
    expect(retries.length).toBeLessThan(12)
    expect(seen.errors.length).toBe(retries.length)
    server.get = { body: { tag: 'A' } }
    await pass(2 * MINUTE)
    expect(store.session.tag).toBe('A')
    expect(store.status.session).toBe('ok')
  })

  test('a reload whose check fails starts from the last known session: its data is still there', async () => {
    const server = stubSessionServer({ body: { tag: 'A' } })
    const first = tab({ endpoint: '/session' })
    await first.setMany({ cart: ['a'], locale: 'fr' })
    first.close()
    server.get = { error: new TypeError('Failed to fetch') }
    const store = tab({ endpoint: '/session' })
    const seen = heard(store)
    await store.ready
    expect([store.session.tag, store.session.state]).toEqual(['A', 'active'])
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: ['a'], locale: 'fr' })
    expect(store.status.session).toBe('failing')
    expect(seen.errors.map((e) => e.code)).toEqual(['SESSION_SYNC_FAILED'])
  })

  test('a failed interval check after user activity fires error, keeps the data, and retries with back-off', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session', interval: MINUTE })
    const seen = heard(store)
    await store.setMany({ cart: ['a'], locale: 'fr' })
    server.get = { status: 500, text: 'oops' }
    userActs()
    await pass(MINUTE)
    expect(server.count()).toBe(2)
    expect(seen.errors.map((e) => e.code)).toEqual(['SESSION_SYNC_FAILED'])
    expect(store.status.session).toBe('failing')
    await pass(MINUTE)
    expect(server.count()).toBeGreaterThanOrEqual(4) // retries at +5 s, +15 s, +35 s…
    expect(seen.errors.length).toBe(server.count() - 1)
    expect(store.session.tag).toBe('A')
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: ['a'], locale: 'fr' })
    server.get = { body: { tag: 'A' } }
    await pass(2 * MINUTE)
    expect(store.status.session).toBe('ok')
    const afterRecovery = server.count()
    await pass(10 * MINUTE)
    expect(server.count()).toBe(afterRecovery) // idle again: no polling
  })

  test('a failed refresh() is the answer to the call, not an error event; background retries after it are', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session' })
    const seen = heard(store)
    await store.ready
    server.get = { status: 500, text: 'oops' }
    userActs()
    await rejectionOf(store.session.refresh())
    expect(seen.errors).toEqual([])
    await pass(6000)
    expect(server.count()).toBe(3)
    expect(seen.errors.map((e) => e.code)).toEqual(['SESSION_SYNC_FAILED'])
  })
})

describe('the idle rule', () => {
  test('without user activity, interval, visibility and online checks do not ask: an idle tab lets the server session expire', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session', interval: MINUTE })
    await store.ready
    await pass(10 * MINUTE, () => { pageShown(); backOnline() }, 10_000)
    expect(server.count()).toBe(1)
  })

  test('user activity since the last answer lets the next interval check ask; then idle again', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session', interval: MINUTE })
    await store.ready
    await pass(10_000)
    userActs('keydown')
    await pass(10_000)
    expect(server.count()).toBe(1) // the interval has not passed yet
    await pass(45_000)
    expect(server.count()).toBe(2) // the interval check, after the activity
    await pass(5 * MINUTE)
    expect(server.count()).toBe(2) // no activity since that answer
    userActs()
    await pass(1000)
    expect(server.count()).toBe(3) // activity after an idle interval asks at once
  })

  test('after user activity, the page becoming visible or coming back online asks', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session', interval: 0 })
    await store.ready
    await pass(10_000)
    pageShown()
    await pass(1000)
    expect(server.count()).toBe(1)
    userActs()
    pageShown()
    await pass(1000)
    expect(server.count()).toBe(2)
    await pass(10_000)
    userActs('keydown')
    backOnline()
    await pass(1000)
    expect(server.count()).toBe(3)
  })

  test('keepAlive polls on the interval without activity', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session', interval: MINUTE, keepAlive: true })
    await store.ready
    await pass(5 * MINUTE + 1000, undefined, 5000)
    expect(server.count()).toBe(6)
  })
})

describe('the request-rate floor: at most one automatic request per 5 s, whatever the answers say', () => {
  const SKEW = -15 * MINUTE // the page's clock is 15 minutes fast
  test.each<[string, Partial<SessionSyncOptions>, (now: number) => FakeReply, number]>([
    ['an expiresAt already past', {}, (now) => ({ body: { tag: 'A', expiresAt: now - MINUTE } }), 0],
    ['a rolling expiresAt (express-session) seen through a page clock 15 min fast', {}, (now) => ({ body: { tag: 'A', expiresAt: now + 10 * MINUTE } }), SKEW],
    ['the same, with no Date header to correct the clock', {}, (now) => ({ body: { tag: 'A', expiresAt: now + 10 * MINUTE }, date: null }), SKEW],
    ['a rolling expiresAt one second ahead', {}, (now) => ({ body: { tag: 'A', expiresAt: now + 1000 } }), 0],
    ['a Date header an hour ahead and an expiresAt one second after it', {}, (now) => ({ body: { tag: 'A', expiresAt: now + 1000 } }), 60 * MINUTE],
    ['failing answers', {}, () => ({ status: 500, text: 'oops' }), 0],
    ['an interval of 1 s with keepAlive', { interval: 1000, keepAlive: true }, () => ({ body: { tag: 'A' } }), 0],
  ])('%s', async (_name, options, reply, skew) => {
    fakeClock()
    const server = stubSessionServer(reply)
    server.skew = skew
    const store = tab({ endpoint: '/session', ...options })
    const seen = heard(store)
    // A busy user on a flapping network: activity, visibility and online events all the time.
    await pass(MINUTE, () => { userActs(); pageShown(); backOnline() }, 250)
    const at = server.requests.map((r) => r.at)
    for (let i = 1; i < at.length; i++) expect((at[i] as number) - (at[i - 1] as number), `request ${i + 1}`).toBeGreaterThanOrEqual(5000)
    expect(at.length).toBeLessThanOrEqual(13)
    expect(at.length).toBeGreaterThanOrEqual(2) // the user is active: the store does keep asking
    if (reply(Date.now()).body) {
      expect(seen.ends).toEqual([]) // signed in all along
      expect(store.session.tag).toBe('A')
    }
  })
})

describe('expiry', () => {
  test("expiresAt is taken on the server's clock: a page clock 15 min fast neither warns early nor ends the session early", async () => {
    fakeClock()
    const server = stubSessionServer((now) => ({ body: { tag: 'A', expiresAt: now + 30 * MINUTE } }))
    server.skew = -15 * MINUTE
    const store = tab({ endpoint: '/session', interval: 0 })
    const seen = heard(store)
    await store.ready
    expect(store.session.expiresAt).toBe(T0 + 30 * MINUTE)
    await pass(20 * MINUTE, undefined, 10_000)
    expect(seen.expiring).toEqual([])
    expect(seen.ends).toEqual([])
    expect(server.count()).toBe(1)
    await pass(9 * MINUTE + 10_000, undefined, 10_000)
    expect(seen.expiring.map((s) => s.tag)).toEqual(['A'])
    expect(seen.ends).toEqual([])
  })

  test('expiring fires expiringBefore the end; at the end the store asks, and end fires once the server says it is over', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A', expiresAt: T0 + 120_000 } })
    const store = tab({ endpoint: '/session', interval: 0, expiringBefore: 30_000 })
    const seen = heard(store)
    await store.set('cart', ['a'])
    await pass(89_000)
    expect(seen.expiring).toEqual([])
    await pass(2000)
    expect(seen.expiring.map((s) => s.tag)).toEqual(['A'])
    expect(seen.ends).toEqual([])
    server.get = { body: { tag: null } }
    await pass(30_000)
    expect(server.count()).toBe(2) // asked at the end, before saying so
    expect(seen.ends.map((s) => s.tag)).toEqual(['A'])
    expect(store.session.tag).toBeNull()
    expect(await store.get('cart')).toBeUndefined()
  })

  test('a rolling session still alive at its expiry fires no end and keeps its data', async () => {
    fakeClock()
    stubSessionServer((now) => ({ body: { tag: 'A', expiresAt: now + 120_000 } }))
    const store = tab({ endpoint: '/session', interval: 0, expiringBefore: 30_000 })
    const seen = heard(store)
    await store.set('cart', ['a'])
    await pass(125_000)
    expect(seen.ends).toEqual([])
    expect(store.session.tag).toBe('A')
    expect(store.session.expiresAt).toBeGreaterThan(Date.now())
    expect(await store.get('cart')).toEqual(['a'])
  })
})

describe('two tabs', () => {
  /** A store without cookies (a Worker) with the same session sync, beside a page that set a session cookie and record as A. */
  async function workerBesidePage() {
    useWebLocks()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const page = tab({ endpoint: '/session' })
    await page.ready
    await page.setMany({ cart: ['apple'], locale: 'fr' })
    const worker = createStore<Schema>({ name: NAME, keys, backends: { indexedDB: idb, cookies: null }, session: sessionSync({ endpoint: '/session' }) })
    stores.push(worker)
    await worker.ready
    expect([worker.status.browserSession, await worker.get('cart')]).toEqual(['shared', ['apple']])
    return { server, page, worker }
  }

  test('a tab that learns of a logout while another tab applies it leaves the session cookie that tab wrote since: it finds the change applied once that tab is done', async () => {
    const locks = useWebLocks()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session' })
    await store.setMany({ cart: ['apple'], locale: 'fr' })
    // Another tab learnt of the logout from its own answer a moment ago: it is applying it (the
    // session lock) and holds the cookie lock for its purge.
    const applying = await holdLock(locks, `visitstore:${NAME}:session`)
    const section = await holdLock(locks, `visitstore:${NAME}:cookies`)
    server.get = { body: { tag: null } }
    const refresh = store.session.refresh()
    const refreshed = tracked(refresh)
    await drain()
    expect(refreshed.done).toBe(false)
    // That tab's purge removes the old session's cookie, it saves the new state, and it writes a
    // session cookie in the new session (its refresh() resolved).
    document.cookie = `${NAME}_locale=; Path=/; Max-Age=0`
    await rawPut(idb, NAME, { p: '$session', v: { tag: null, state: 'none' } })
    document.cookie = `${NAME}_locale=de; Path=/`
    section()
    await drain()
    applying()
    await refresh
    expect(store.session.tag).toBeNull()
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: 'de' })
    expect(cookieJar()[`${NAME}_locale`]).toBe('de')
  })

  /** `store`'s refresh() (`late`), once the server got its request, answered `reply` (a delay: late). */
  async function askedLate(server: ReturnType<typeof stubSessionServer>, store: VisitStore<Schema>, reply: FakeReply): Promise<{ late: Promise<void> }> {
    server.get = reply
    const asked = server.count('GET')
    const late = store.session.refresh()
    await until(() => server.count('GET') > asked)
    return { late }
  }

  /** `store`'s refresh(), its purge held up in the cookie lock (another tab's) for 300 ms. */
  async function refreshHeldUp(locks: LockManager, store: VisitStore<Schema>): Promise<void> {
    const section = await holdLock(locks, `visitstore:${NAME}:cookies`)
    const refreshed = store.session.refresh()
    await new Promise((resolve) => setTimeout(resolve, 300))
    section()
    await refreshed
  }

  test('a tab\'s answer to a request older than the change another tab is applying, waiting for that tab, is not applied over it: the state saved, and what that tab writes after it, stay', async () => {
    const locks = useWebLocks()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const one = tab({ endpoint: '/session' })
    const two = tab({ endpoint: '/session' })
    await Promise.all([one.ready, two.ready])
    await one.setMany({ cart: ['old'], locale: 'old' })
    // Tab two asks first; its answer (no session) comes late. Tab one asks after it and hears at
    // once of a new session X; its purge is held up in the cookie lock while tab two's answer comes.
    const { late } = await askedLate(server, two, { body: { tag: null }, delay: 100 })
    // A later millisecond (requests of one millisecond in two tabs have no order).
    await new Promise((resolve) => setTimeout(resolve, 5))
    server.get = { body: { tag: 'X' } }
    await refreshHeldUp(locks, one)
    await one.setMany({ cart: ['x'], locale: 'x' })
    await late
    await drain()
    expect([one.session.tag, two.session.tag]).toEqual(['X', 'X'])
    expect(await two.getMany(['cart', 'locale'])).toEqual({ cart: ['x'], locale: 'x' })
    expect((await rawRecords(idb, NAME)).get('$session')?.v).toMatchObject({ tag: 'X' })
    const next = tab({ endpoint: '/session' })
    await next.ready
    expect(await next.getMany(['cart', 'locale'])).toEqual({ cart: ['x'], locale: 'x' })
  })

  test('two tabs\' answers to requests of one millisecond that disagree (the session changed between them): both tabs end on the same session, and the state saved is it', async () => {
    const locks = useWebLocks()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const one = tab({ endpoint: '/session' })
    const two = tab({ endpoint: '/session' })
    await Promise.all([one.ready, two.ready])
    // The clock stands still: both requests start in one millisecond.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() })
    const { late } = await askedLate(server, two, { body: { tag: null }, delay: 50 })
    server.get = { body: { tag: 'X' } }
    // Tab one's purge is held up in the cookie lock while tab two's answer comes.
    await refreshHeldUp(locks, one)
    await late
    await new Promise((resolve) => setTimeout(resolve, 100))
    await drain()
    expect(one.session.tag).toBe(two.session.tag)
    expect((await rawRecords(idb, NAME)).get('$session')?.v).toMatchObject({ tag: one.session.tag })
  })

  test('Web Locks refusing the session lock (a sandboxed frame, no cookies either): a logout the frame learns itself is still applied, without the lock', async () => {
    // query() answers, so the refusal is not known before the change (start-up asks query() only).
    const request = () => Promise.reject(new DOMException('refused', 'SecurityError'))
    vi.stubGlobal('navigator', { cookieEnabled: true, locks: { request, query: () => Promise.resolve({ held: [], pending: [] }) } })
    const server = stubSessionServer({ body: { tag: 'A' } })
    const store = createStore<Schema>({ name: NAME, keys, backends: { indexedDB: idb, cookies: null }, session: sessionSync({ endpoint: '/session' }) })
    stores.push(store)
    await store.setMany({ cart: ['apple'], prefs: 'p' })
    server.get = { body: { tag: null } }
    await store.session.refresh()
    expect(store.session.tag).toBeNull()
    expect(await store.getMany(['cart', 'prefs'])).toEqual({ cart: undefined, prefs: 'p' })
    expect([...(await rawRecords(idb, NAME)).keys()].filter((p) => !p.startsWith('$'))).toEqual(['prefs'])
  })

  test('a logout a context without cookies (a Worker) learns first: the open page removes the session cookie too', async () => {
    const { server, page, worker } = await workerBesidePage()
    server.get = { body: { tag: null } }
    await worker.session.refresh()
    await until(() => !document.cookie.includes(`${NAME}_locale=`))
    expect(await page.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined })
    expect(page.session.tag).toBeNull()
  })

  test('a logout a context without cookies (a Worker) learns with no page open: the next page removes the session cookie', async () => {
    const { server, page, worker } = await workerBesidePage()
    page.close()
    server.get = { body: { tag: null } }
    await worker.session.refresh()
    expect(await worker.get('cart')).toBeUndefined()
    const next = tab({ endpoint: '/session' })
    await next.ready
    expect(await next.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined })
    expect(document.cookie).not.toContain(`${NAME}_locale=`)
  })

  test('the start-up sweep deletes records of an ended server session from other browser sessions; this browser session\'s read as missing', async () => {
    stubSessionServer({ body: { tag: 'A' } })
    const first = tab({ endpoint: '/session' })
    await first.ready
    const stamp = cookieJar()[`${NAME}_$s`] as string
    first.close()
    await rawPut(idb, NAME, { p: 'cart', v: ['old browser session'], k: 'zzzzzzzzzzzz=OLD' })
    await rawPut(idb, NAME, { p: 'hits', v: 1, k: `${stamp}=OLD` })
    const store = tab({ endpoint: '/session' })
    await store.ready
    for (let i = 0; i < 100 && (await rawRecords(idb, NAME)).has('cart'); i++) await drain(5)
    expect((await rawRecords(idb, NAME)).has('cart')).toBe(false)
    expect(await store.get('hits')).toBeUndefined()
  })

  test('after the clock went back an hour, a new tab\'s answer still reaches the open ones', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const one = tab({ endpoint: '/session' })
    await pass(1000)
    await one.ready
    vi.setSystemTime(Date.now() - 3600_000)
    server.get = { body: { tag: null } }
    const two = tab({ endpoint: '/session' })
    await pass(1000)
    await two.ready
    expect(two.session.tag).toBeNull()
    await until(() => one.session.tag === null)
  })

  test('a tab\'s slow answer to a request older than the login another tab announced is not applied over it', async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const one = tab({ endpoint: '/session' })
    const two = tab({ endpoint: '/session' })
    await pass(1000)
    await Promise.all([one.ready, two.ready])
    server.get = { body: { tag: 'A' }, delay: 3000 }
    const slow = tracked(two.session.refresh())
    await pass(1000)
    server.get = { body: { tag: 'B' } }
    await one.session.refresh()
    await one.set('cart', ['after login'])
    await until(() => two.session.tag === 'B')
    await pass(4000)
    expect(slow.done).toBe(true)
    for (const store of [one, two]) {
      expect(store.session.tag).toBe('B')
      expect(await store.get('cart')).toEqual(['after login'])
    }
  })

  test("a tab's start-up sweep never deletes what another tab wrote in a new session it has not heard of yet", async () => {
    const server = stubSessionServer({ body: { tag: 'A' } })
    const one = tab({ endpoint: '/session' })
    await one.ready
    // 5,000 expired records keep the next tab's sweep busy for a while before it looks at sessions.
    for (let i = 0; i < 5000; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => rawPut(idb, NAME, { p: `gone:${i + j}`, v: 0, x: 1 })))
    }
    const deliver = holdMessages()
    const two = tab({ endpoint: '/session' })
    await two.ready
    // While it sweeps: tab one's user signs in (a new session) and fills a cart.
    server.get = { body: { tag: 'B' } }
    await one.session.refresh()
    await one.set('cart', ['new session'])
    // Until the sweep deleted the expired records, and then some.
    for (let i = 0; i < 1000 && [...(await rawRecords(idb, NAME)).keys()].some((k) => k.startsWith('gone:')); i++) await drain(5)
    await drain(200)
    expect((await rawRecords(idb, NAME)).get('cart')?.k).toMatch(/=B$/)
    deliver()
    await until(() => two.session.tag === 'B')
    for (const store of [one, two]) expect(await store.get('cart')).toEqual(['new session'])
  })

  test("keepOnLogin: what a tab writes after another tab's login moved the data, before it heard of it, moves too", async () => {
    const server = stubSessionServer({ body: { tag: 'anon-1', anonymous: true } })
    const one = tab({ endpoint: '/session', keepOnLogin: true })
    await one.ready
    await one.set('cart', ['anonymous'])
    const deliver = holdMessages()
    const two = tab({ endpoint: '/session', keepOnLogin: true })
    await two.ready
    expect(two.session.tag).toBe('anon-1')
    // Tab one's user signs in: the anonymous data moves to user-1. Then tab two, still in the
    // anonymous session as far as it knows, adds to it.
    server.get = { body: { tag: 'user-1' } }
    await one.session.refresh()
    expect((await rawRecords(idb, NAME)).get('cart')?.k).toMatch(/=user-1$/)
    await two.set('hits', 5)
    expect((await rawRecords(idb, NAME)).get('hits')?.k).toMatch(/=anon-1$/)
    deliver()
    await until(() => two.session.tag === 'user-1')
    await drain()
    for (const store of [one, two]) expect(await store.getMany(['cart', 'hits'])).toEqual({ cart: ['anonymous'], hits: 5 })
  })

  test("keepOnLogin: another tab's reads and updates made while one tab moves 3,000 records at login see the moved data", async () => {
    const server = stubSessionServer({ body: { tag: null } })
    const one = draftTab('moving2', true)
    const two = draftTab('moving2', true)
    await Promise.all([one.ready, two.ready])
    await fillDrafts(one)
    server.get = { body: { tag: 'U1' } }
    const refreshed = one.session.refresh()
    // Tab one's move under way: the cart (its first slice) moved, the last draft not yet.
    const moved = async (key: string) => ((await rawRecords(idb, 'moving2')).get(key)?.k as string | undefined)?.endsWith('=U1')
    for (let i = 0; i < 5000 && !(await moved('cart')); i++) await new Promise<void>((resolve) => setImmediate(resolve))
    expect(await moved('d:2999')).toBe(false)
    const during = await Promise.all([two.update('cart', (c = []) => [...c, 'added']), two.get('d:2999')])
    await refreshed
    await drain()
    expect(during).toEqual([['kept', 'added'], 2999])
    expect(await one.get('cart')).toEqual(['kept', 'added'])
    expect(await two.get('cart')).toEqual(['kept', 'added'])
  })

  test("a session record a tab writes after another tab's purge, before it heard of it, reads as missing and goes at the next purge", async () => {
    const server = stubSessionServer({ body: { tag: 'A' } })
    const one = tab({ endpoint: '/session' })
    await one.ready
    const deliver = holdMessages()
    const two = tab({ endpoint: '/session' })
    await two.ready
    server.get = { body: { tag: 'B' } }
    await one.session.refresh()
    await two.set('cart', ['written in A after the purge'])
    expect((await rawRecords(idb, NAME)).get('cart')?.k).toMatch(/=A$/)
    deliver()
    await until(() => two.session.tag === 'B')
    for (const store of [one, two]) expect(await store.get('cart')).toBeUndefined()
    server.get = { body: { tag: 'C' } }
    await one.session.refresh()
    expect((await rawRecords(idb, NAME)).has('cart')).toBe(false)
  })

  test("a tab that missed another tab's login and learns of it from its own answer purges nothing the new session wrote", async () => {
    const server = stubSessionServer({ body: { tag: 'A' } })
    const one = tab({ endpoint: '/session' })
    await one.ready
    // Tab two never hears from the others.
    holdMessages()
    const two = tab({ endpoint: '/session' })
    await two.ready
    await two.setMany({ cart: ['A cart'], locale: 'fr' })
    const watched: unknown[] = []
    two.watch('cart', (v) => watched.push(v))
    server.get = { body: { tag: 'B' } }
    await one.session.refresh()
    await one.setMany({ cart: ['B cart'], locale: 'de' })
    // Its own check finds B.
    await two.session.refresh()
    expect(two.session.tag).toBe('B')
    for (const store of [one, two]) expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: ['B cart'], locale: 'de' })
    await until(() => watched.length > 0)
    expect(watched.at(-1)).toEqual(['B cart'])
  })

  test("a new tab whose first answer comes after another tab's login (and the saved state it read before) purges nothing the new session wrote", async () => {
    fakeClock()
    const server = stubSessionServer({ body: { tag: 'A' } })
    const one = tab({ endpoint: '/session' })
    await pass(1000)
    await one.ready
    // Tab two never hears from the others.
    holdMessages()
    server.get = { body: { tag: 'B' }, delay: 2000 }
    const two = tab({ endpoint: '/session' })
    await drain()
    server.get = { body: { tag: 'B' } }
    await one.session.refresh()
    await one.setMany({ cart: ['B cart'], locale: 'de' })
    await pass(3000)
    await two.ready
    expect(two.session.tag).toBe('B')
    for (const store of [one, two]) expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: ['B cart'], locale: 'de' })
  })

  test("one tab's answer reaches the other: change with source 'remote', its watchers hear purged keys, no request of its own", async () => {
    const server = stubSessionServer({ body: { tag: 'A' } })
    const one = tab({ endpoint: '/session' })
    const two = tab({ endpoint: '/session' })
    await Promise.all([one.ready, two.ready])
    await one.setMany({ cart: ['shared'], locale: 'fr' })
    expect(await two.get('cart')).toEqual(['shared'])
    const seenInTwo = heard(two)
    const watched: unknown[] = []
    two.watch('cart', (v, info) => watched.push(['cart', v, info.source]))
    two.watch('locale', (v, info) => watched.push(['locale', v, info.source]))
    server.get = { body: { tag: 'B' } }
    const asked = server.count()
    await one.session.refresh()
    await vi.waitFor(() => expect(seenInTwo.changes).toHaveLength(1))
    expect(seenInTwo.changes[0]).toMatchObject({ previous: { tag: 'A' }, current: { tag: 'B' }, source: 'remote' })
    expect(two.session.tag).toBe('B')
    expect(server.count() - asked).toBe(1)
    await vi.waitFor(() => expect(watched).toEqual(expect.arrayContaining([['cart', undefined, 'remote'], ['locale', undefined, 'remote']])))
    expect(await two.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined })
  })

  test('the tab that hears of a change does not purge again: what either tab writes right after is kept', async () => {
    const server = stubSessionServer({ body: { tag: 'A' } })
    const one = tab({ endpoint: '/session' })
    const two = tab({ endpoint: '/session' })
    await Promise.all([one.ready, two.ready])
    await two.setMany({ cart: ['old'], locale: 'fr', hits: 1 })
    server.get = { body: { tag: 'B' } }
    await one.session.refresh()
    // Tab one goes on at once, under the new session, before tab two has heard of it.
    await Promise.all([one.set('locale', 'de'), one.set('cart', ['new'])])
    await until(() => two.session.tag === 'B')
    await two.set('hits', 2)
    await drain()
    for (const store of [one, two]) expect(await store.getMany(['cart', 'locale', 'hits'])).toEqual({ cart: ['new'], locale: 'de', hits: 2 })
  })

  test('session.end() in one tab ends it in the other; what either tab writes right after is kept', async () => {
    stubSessionServer({ body: { tag: 'A' } })
    const one = tab({ endpoint: '/session' })
    const two = tab({ endpoint: '/session' })
    await Promise.all([one.ready, two.ready])
    const seenInTwo = heard(two)
    await two.setMany({ cart: ['x'], locale: 'fr', hits: 3 })
    await one.session.end()
    await Promise.all([one.set('locale', 'de'), one.set('cart', ['after'])])
    await until(() => two.session.tag === null)
    await two.set('hits', 4)
    await drain()
    for (const store of [one, two]) expect(await store.getMany(['cart', 'locale', 'hits'])).toEqual({ cart: ['after'], locale: 'de', hits: 4 })
    expect(seenInTwo.changes.at(-1)).toMatchObject({ previous: { tag: 'A' }, current: { tag: null }, source: 'remote' })
    expect(seenInTwo.ends.map((s) => s.tag)).toEqual(['A'])
  })

  test('watch sees IndexedDB writes from the other tab with source remote', async () => {
    const one = tab()
    const two = tab()
    const seen: unknown[] = []
    two.watch('prefs', (v, info) => seen.push([v, info.source]))
    await one.set('prefs', 'from-one')
    await vi.waitFor(() => expect(seen).toEqual([['from-one', 'remote']]))
    await one.delete('prefs')
    await vi.waitFor(() => expect(seen).toEqual([['from-one', 'remote'], [undefined, 'remote']]))
  })

  test('with the Cookie Store API, its change events tell the other tab of cookie writes', async () => {
    const cookieStore = new EventTarget()
    vi.stubGlobal('cookieStore', cookieStore)
    const one = tab()
    const two = tab()
    const seen: unknown[] = []
    two.watch('theme', (v, info) => seen.push([v, info.source]))
    await one.set('theme', 'dark')
    // As browsers send it: naming the cookies that changed.
    cookieStore.dispatchEvent(Object.assign(new Event('change'), { changed: [{ name: `${NAME}_theme` }], deleted: [] }))
    expect(seen).toEqual([['dark', 'remote']])
  })

  test('without the Cookie Store API, cookie writes reach the other tab by message; server-set cookies are seen on focus', async () => {
    vi.stubGlobal('cookieStore', undefined)
    // A fresh copy of the store's modules: whether the Cookie Store API exists is looked up once per page.
    vi.resetModules()
    const fresh = await import('../src/index.js')
    const make = () => {
      const store = fresh.createStore<Schema>({ name: NAME, keys, backends: { indexedDB: idb } })
      stores.push(store)
      return store
    }
    const one = make()
    const two = make()
    const seen: unknown[] = []
    two.watch('theme', (v, info) => seen.push([v, info.source]))
    await one.set('theme', 'dark')
    await vi.waitFor(() => expect(seen).toEqual([['dark', 'remote']]))
    document.cookie = `${NAME}_theme=light; Path=/`
    window.dispatchEvent(new Event('focus'))
    await vi.waitFor(() => expect(seen).toEqual([['dark', 'remote'], ['light', 'remote']]))
  })

  test('concurrent updates from two tabs lose nothing', async () => {
    const one = tab()
    const two = tab()
    await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? one : two).update('hits', (n) => (n ?? 0) + 1)))
    expect(await one.get('hits')).toBe(50)
    expect(await two.get('hits')).toBe(50)
  })
})

describe('a session ID in the page URL (;jsessionid=)', () => {
  test.each([';jsessionid=', ';JSESSIONID='])("%s: status.session 'unavailable', one SESSION_SYNC_FAILED error that does not show the ID", async (param) => {
    const id = 'F00DCAFE1234ABCD5678'
    ;(window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(`http://localhost:3000/shop/cart${param}${id}?step=2`)
    expect(location.href).toContain(id)
    stubSessionServer({ body: { tag: 'A' } })
    const store = tab({ endpoint: '/session' })
    const seen = heard(store)
    await store.ready
    await store.setMany({ prefs: 'p', cart: ['c'], locale: 'fr' })
    await store.session.refresh().catch(() => {})
    expect(store.status.session).toBe('unavailable')
    const failures = seen.errors.filter((e) => e.code === 'SESSION_SYNC_FAILED')
    expect(failures).toHaveLength(1)
    expect(failures[0]?.message).toMatch(/URL/)
    expect(failures[0]?.message).toContain('tracking-mode')
    for (const e of seen.errors) expect(`${e.message} ${String(e.cause)}`).not.toContain(id)
    // The ID is copied nowhere; client-only data keeps working.
    expect(await store.getMany(['prefs', 'cart', 'locale'])).toEqual({ prefs: 'p', cart: ['c'], locale: 'fr' })
    expect(JSON.stringify([...(await rawRecords(idb, NAME))])).not.toContain(id)
    expect(document.cookie).not.toContain(id)
    expect(JSON.stringify(sessionStorageItems())).not.toContain(id)
  })
})

function sessionStorageItems(): [string, string | null][] {
  return Array.from({ length: sessionStorage.length }, (_, i) => {
    const key = sessionStorage.key(i) as string
    return [key, sessionStorage.getItem(key)]
  })
}
