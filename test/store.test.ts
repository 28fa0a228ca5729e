import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { createStore, VisitStoreError, type CookieOptions, type ErrorCode, type StoreStatus, type VisitStore } from '../src/index.js'
import { sessionSync } from '../src/session.js'
import {
  clearAllCookies, cookieAttributes, cookieJar, holdLock, interceptCookieWrites, pageJar, rawPut, rawRecord, rawRecords, seededRandom, settle, simulateBrowserRestart, useWebLocks,
} from './fixtures/page-storage.js'

interface Draft { title: string, body: string }
interface Schema {
  theme: 'light' | 'dark'
  locale: string
  cart: { sku: string, qty: number }[]
  draft: Draft
  scroll: number
  visits: number
  prefs: { compact: boolean }
  [k: `doc:${string}`]: Draft
  [k: `flag:${string}`]: boolean
  [k: `note:${string}`]: string
}

const keys = {
  theme: { lifetime: 'persistent', serverVisible: true, maxAge: 31536000 },
  locale: { lifetime: 'session', serverVisible: true },
  cart: { lifetime: 'session' },
  draft: { lifetime: 'persistent', ttl: 604800 },
  scroll: { lifetime: 'tab' },
  visits: { lifetime: 'persistent' },
  prefs: { lifetime: 'persistent', serverVisible: true },
  'doc:*': { lifetime: 'persistent' },
  'flag:*': { lifetime: 'session', serverVisible: true },
  'note:*': { lifetime: 'session' },
} as const

let idb: IDBFactory
const open: { close(): void }[] = []
function makeStore(extra: { name?: string, cookie?: CookieOptions, backends?: { cookies?: ReturnType<typeof pageJar> | null } } = {}): VisitStore<Schema> {
  const store = createStore<Schema>({ name: 'shop', keys, ...extra, backends: { indexedDB: idb, ...extra.backends } })
  open.push(store)
  return store
}

/** Lets background work (the sweep, IndexedDB transactions, channel messages) run: real macrotasks, no clock involved. */
async function idle(turns = 100): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

const expireCookie = (name: string) => { document.cookie = `${name}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT` }

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<VisitStoreError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(VisitStoreError)
  expect((err as VisitStoreError).code).toBe(code)
  expect((err as VisitStoreError).message.length).toBeGreaterThan(40)
  return err as VisitStoreError
}

beforeEach(() => {
  clearAllCookies()
  sessionStorage.clear()
  idb = new IDBFactory()
})
afterEach(() => {
  for (const s of open.splice(0)) s.close()
  vi.useRealTimers()
  vi.restoreAllMocks()
  vi.unstubAllGlobals()
})

describe('placement rules', () => {
  test('serverVisible keys are cookies the server reads plainly', async () => {
    const store = makeStore()
    await store.set('theme', 'dark')
    await store.set('prefs', { compact: true })
    const jar = cookieJar()
    expect(jar.shop_theme).toBe('dark')
    expect(JSON.parse(decodeURIComponent(jar.shop_prefs ?? ''))).toEqual({ compact: true })
    expect(store.placement('theme')).toMatchObject({ tier: 'cookie', lifetime: 'persistent' })
    expect(store.placement('theme').reason).toMatch(/server/)
  })

  test('client-only keys go to IndexedDB whatever their size, and never into a cookie', async () => {
    const store = makeStore()
    const body = 'x'.repeat(100 * 1024)
    await store.set('draft', { title: 't', body })
    expect(document.cookie).not.toContain('draft')
    expect(document.cookie.length).toBeLessThan(200)
    expect(await store.get('draft')).toEqual({ title: 't', body })
    expect(await rawRecord(idb, 'shop', 'draft')).toMatchObject({ v: { title: 't', body } })
    expect(store.placement('draft').tier).toBe('indexeddb')
  })

  test("'tab' keys live in sessionStorage and are readable synchronously", async () => {
    const store = makeStore()
    await store.set('scroll', 420)
    expect(sessionStorage.getItem('visitstore:shop:scroll')).toBe('420')
    expect(store.peek('scroll')).toBe(420)
    expect(store.placement('scroll')).toMatchObject({ tier: 'sessionStorage', lifetime: 'tab' })
  })

  test('families take their options from the declared pattern', async () => {
    const store = makeStore()
    await store.set('doc:a', { title: 'A', body: '' })
    await store.set('flag:beta', true)
    expect(store.placement('doc:a').tier).toBe('indexeddb')
    expect(store.placement('flag:beta')).toMatchObject({ tier: 'cookie', lifetime: 'session' })
    expect(cookieJar()['shop_flag%3Abeta']).toBe('true')
    expect(store.peek('flag:beta')).toBe(true)
  })

  test('without IndexedDB the store works in memory and says so', async () => {
    const store = createStore<Schema>({ name: 'nodb', keys, backends: { indexedDB: null } })
    open.push(store)
    // No IndexedDB at all is known at once: the status says so from the start.
    expect(store.status.indexeddb).toBe('memory')
    await store.ready
    await store.set('cart', [{ sku: 'a', qty: 1 }])
    expect(await store.get('cart')).toEqual([{ sku: 'a', qty: 1 }])
    expect(store.placement('cart').tier).toBe('memory')
    expect(store.placement('cart').reason).toMatch(/memory/)
    // No Web Locks in this page and no IndexedDB: nothing can keep other tabs out of a cookie update.
    expect(store.status).toEqual({ indexeddb: 'memory', cookies: 'ok', sessionStorage: 'ok', browserSession: 'shared', locks: 'none', session: 'off' } satisfies StoreStatus)
    expect(await store.update('visits', (n) => (n ?? 0) + 1)).toBe(1)
    await expectCode(store.update('theme', () => 'dark'), 'STORAGE_UNAVAILABLE')
    expect(cookieJar().nodb_theme).toBeUndefined()
  })

  test('an IndexedDB that fails to open: memory, and a status event and one error event say so', async () => {
    const failing = { open: () => { throw new DOMException('blocked', 'SecurityError') } } as unknown as IDBFactory
    const store = createStore<Schema>({ name: 'nodb', keys, backends: { indexedDB: failing } })
    open.push(store)
    const statuses: StoreStatus[] = []
    const errors: VisitStoreError[] = []
    store.on('status', (s) => statuses.push(s))
    store.on('error', (e) => errors.push(e))
    await store.ready
    expect(store.status.indexeddb).toBe('memory')
    expect(statuses.map((s) => s.indexeddb)).toEqual(['memory'])
    expect(errors.map((e) => e.code)).toEqual(['STORAGE_UNAVAILABLE'])
    expect(errors[0]?.message).toMatch(/memory/)
  })

  test('status tells what works: every tier, the browser session, how tabs take turns, and no session sync', async () => {
    const store = makeStore()
    await store.ready
    // happy-dom has no Web Locks: an IndexedDB transaction serialises the tabs instead.
    expect(store.status).toEqual({ indexeddb: 'ok', cookies: 'ok', sessionStorage: 'ok', browserSession: 'shared', locks: 'indexeddb', session: 'off' } satisfies StoreStatus)
    useWebLocks()
    const withLocks = createStore<Schema>({ name: 'locks', keys, backends: { indexedDB: idb } })
    open.push(withLocks)
    await withLocks.ready
    expect(withLocks.status.locks).toBe('web-locks')
  })

  test('an IndexedDB whose open fails also degrades to memory instead of throwing', async () => {
    const broken = { open: () => { throw new DOMException('blocked', 'SecurityError') } } as unknown as IDBFactory
    const store = createStore<Schema>({ name: 'broken', keys, backends: { indexedDB: broken } })
    open.push(store)
    await store.set('visits', 1)
    expect(await store.get('visits')).toBe(1)
    expect(store.placement('visits').tier).toBe('memory')
  })

  test('without sessionStorage, tab values stay in memory for the page', async () => {
    const store = createStore<Schema>({ name: 'nosession', keys, backends: { indexedDB: idb, sessionStorage: null } })
    open.push(store)
    await store.set('scroll', 7)
    expect(store.peek('scroll')).toBe(7)
    expect(store.placement('scroll').tier).toBe('memory')
    expect(store.status.sessionStorage).toBe('memory')
  })

  test('start-up and cookie or IndexedDB keys leave sessionStorage untouched until a tab key or the status needs it', async () => {
    const real = globalThis.sessionStorage
    const touched = vi.fn(() => real)
    Object.defineProperty(globalThis, 'sessionStorage', { get: touched, configurable: true })
    try {
      const store = makeStore()
      await store.ready
      await store.setMany({ theme: 'dark', visits: 1 })
      expect(await store.getMany(['theme', 'visits'])).toEqual({ theme: 'dark', visits: 1 })
      await store.delete('theme')
      expect(touched).not.toHaveBeenCalled()
      expect(store.status.sessionStorage).toBe('ok')
      expect(touched).toHaveBeenCalled()
      await store.set('scroll', 3)
      expect(real.getItem('visitstore:shop:scroll')).toBe('3')
    } finally {
      Object.defineProperty(globalThis, 'sessionStorage', { value: real, configurable: true, writable: true })
    }
  })
})

describe('lifetimes', () => {
  test('a browser restart ends session data in every tier and keeps persistent data', async () => {
    const before = makeStore()
    await before.setMany({ theme: 'dark', locale: 'fr', cart: [{ sku: 'a', qty: 2 }], visits: 3, scroll: 9 })
    before.close()
    // The browser drops session cookies (our values and the session marker) and sessionStorage.
    simulateBrowserRestart(['shop_locale', 'shop_$s'])
    const after = makeStore()
    await after.ready
    expect(await after.getMany(['theme', 'locale', 'cart', 'visits', 'scroll']))
      .toEqual({ theme: 'dark', locale: undefined, cart: undefined, visits: 3, scroll: undefined })
    expect(await rawRecord(idb, 'shop', 'visits')).toMatchObject({ p: 'visits', v: 3 })
  })

  test('with Web Locks (which prove that no page of the old browser session is left), its session records are deleted from disk', async () => {
    useWebLocks()
    const before = makeStore()
    await before.setMany({ cart: [{ sku: 'a', qty: 2 }], visits: 3 })
    before.close()
    await idle() // the browser is gone, and its pages' locks with it
    simulateBrowserRestart(['shop_$s'])
    const after = makeStore()
    await after.ready
    expect(await after.get('cart')).toBeUndefined()
    // The sweep runs in the background after ready, in slices.
    await vi.waitFor(async () => expect(await rawRecord(idb, 'shop', 'cart')).toBeUndefined())
    expect(await rawRecord(idb, 'shop', 'visits')).toMatchObject({ v: 3 })
  })

  test('a reload within the same browser session keeps session data', async () => {
    const first = makeStore()
    await first.set('cart', [{ sku: 'b', qty: 1 }])
    first.close()
    const second = makeStore()
    expect(await second.get('cart')).toEqual([{ sku: 'b', qty: 1 }])
  })

  test('session cookies carry no expiry; persistent cookies carry Max-Age', async () => {
    const writes: string[] = []
    const restore = interceptCookieWrites((line) => writes.push(line) > 0)
    try {
      const store = makeStore()
      await store.set('theme', 'light')
      await store.set('locale', 'de')
      await store.set('prefs', { compact: false })
    } finally {
      restore()
    }
    const theme = writes.find((w) => w.startsWith('shop_theme='))
    const locale = writes.find((w) => w.startsWith('shop_locale='))
    const prefs = writes.find((w) => w.startsWith('shop_prefs='))
    expect(theme).toMatch(/; Max-Age=31536000/)
    expect(prefs).toMatch(/; Max-Age=34560000/) // 400 days, RFC 6265bis's cap
    expect(locale).not.toMatch(/Max-Age|expires/i)
    for (const w of [theme, locale, prefs]) {
      expect(cookieAttributes(w)).toMatchObject({ path: '/', samesite: 'Lax' })
      expect(cookieAttributes(w)).not.toHaveProperty('secure') // the page is http
      expect(cookieAttributes(w)).not.toHaveProperty('domain') // host-only
    }
  })

  test('a TTL entry reads as missing once expired and is removed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const store = makeStore()
    await store.set('draft', { title: 'old', body: '' })
    vi.setSystemTime(Date.now() + 604799_000)
    expect(await store.get('draft')).toEqual({ title: 'old', body: '' })
    vi.setSystemTime(Date.now() + 2_000)
    expect(await store.get('draft')).toBeUndefined()
    await vi.waitFor(async () => expect(await rawRecord(idb, 'shop', 'draft')).toBeUndefined())
  })

  test('expired entries are swept at start-up', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const first = makeStore()
    await first.set('draft', { title: 'x', body: '' })
    await first.set('visits', 1)
    first.close()
    vi.setSystemTime(Date.now() + 604801_000)
    const second = makeStore()
    expect(await second.keys()).toEqual(['visits'])
    await second.ready
    // The sweep runs in the background after ready.
    await vi.waitFor(async () => expect(await rawRecord(idb, 'shop', 'draft')).toBeUndefined())
    expect(await rawRecord(idb, 'shop', 'visits')).toMatchObject({ v: 1 })
  })

  test('clear({ lifetime }) removes only that lifetime, in every tier', async () => {
    const store = makeStore()
    await store.setMany({ theme: 'dark', locale: 'en', cart: [], visits: 1, scroll: 1, 'flag:x': true })
    await store.clear({ lifetime: 'session' })
    expect(await store.keys()).toEqual(['scroll', 'theme', 'visits'])
    await store.clear()
    expect(await store.keys()).toEqual([])
    // The session marker is not data: clearing keeps the browser session's identity.
    expect(cookieJar().shop_$s).toMatch(/^[0-9a-z]{12}$/)
  })
})

describe('key families and keys()', () => {
  test('keys(prefix) lists one family; undeclared keys are UNKNOWN_KEY', async () => {
    const store = makeStore()
    await store.setMany({ 'doc:1': { title: '1', body: '' }, 'doc:2': { title: '2', body: '' }, theme: 'dark', 'flag:a': false })
    expect(await store.keys('doc:')).toEqual(['doc:1', 'doc:2'])
    expect(await store.keys()).toEqual(['doc:1', 'doc:2', 'flag:a', 'theme'])
    const unknown = 'nope' as keyof Schema
    await expectCode(store.get(unknown), 'UNKNOWN_KEY')
    await expectCode(store.set(unknown, 1 as never), 'UNKNOWN_KEY')
    expect(() => store.placement(unknown)).toThrow(VisitStoreError)
    expect(() => store.placement('doc:' as keyof Schema)).toThrow(/not declared/)
  })
})

describe('errors leave the previous value intact', () => {
  test('COOKIE_TOO_LARGE: a 5,000-byte server-visible value', async () => {
    const store = makeStore({ cookie: { budget: 100_000 } })
    await store.set('locale', 'en')
    await expectCode(store.set('locale', 'x'.repeat(5000)), 'COOKIE_TOO_LARGE')
    expect(await store.get('locale')).toBe('en')
    expect(cookieJar().shop_locale).toBe('en')
  })

  test('COOKIE_BUDGET_EXCEEDED: the store cookies together stay within the budget', async () => {
    const store = makeStore({ cookie: { budget: 600 } })
    await store.set('flag:a', true)
    await store.set('locale', 'a'.repeat(400))
    await expectCode(store.set('theme', 'dark'.repeat(50) as 'dark'), 'COOKIE_BUDGET_EXCEEDED')
    await expectCode(store.set('locale', 'b'.repeat(600)), 'COOKIE_BUDGET_EXCEEDED')
    expect(await store.get('locale')).toBe('a'.repeat(400))
    expect(await store.get('theme')).toBeUndefined()
  })

  test('NOT_SERIALIZABLE in every tier', async () => {
    const store = makeStore()
    await store.setMany({ prefs: { compact: true }, scroll: 1, draft: { title: 'ok', body: '' } })
    await expectCode(store.set('prefs', { compact: new Date() } as never), 'NOT_SERIALIZABLE')
    await expectCode(store.set('scroll', Number.NaN), 'NOT_SERIALIZABLE')
    await expectCode(store.set('draft', { title: 'x', body: () => 1 } as never), 'NOT_SERIALIZABLE')
    expect(await store.getMany(['prefs', 'scroll', 'draft'])).toEqual({ prefs: { compact: true }, scroll: 1, draft: { title: 'ok', body: '' } })
  })

  test('INVALID_VALUE: undefined is not a value', async () => {
    const store = makeStore()
    await store.set('visits', 2)
    await expectCode(store.set('visits', undefined as never), 'INVALID_VALUE')
    expect(await store.get('visits')).toBe(2)
  })

  test('QUOTA_EXCEEDED from IndexedDB and from sessionStorage', async () => {
    let full = false
    const quota = () => { throw new DOMException('full', 'QuotaExceededError') }
    const items = new Map<string, string>()
    const storage = {
      getItem: (k: string) => items.get(k) ?? null,
      setItem: (k: string, v: string) => { if (full) quota(); items.set(k, v) },
      removeItem: (k: string) => { items.delete(k) },
      key: (i: number) => [...items.keys()][i] ?? null,
      get length() { return items.size },
      clear: () => items.clear(),
    } as Storage
    const store = createStore<Schema>({ name: 'shop', keys, backends: { indexedDB: idb, sessionStorage: storage } })
    open.push(store)
    await store.set('visits', 1)
    await store.set('scroll', 1)
    const put = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(quota)
    await expectCode(store.set('visits', 2), 'QUOTA_EXCEEDED')
    put.mockRestore()
    full = true
    await expectCode(store.set('scroll', 2), 'QUOTA_EXCEEDED')
    full = false
    expect(await store.getMany(['visits', 'scroll'])).toEqual({ visits: 1, scroll: 1 })
    await store.set('visits', 3)
    expect(await store.get('visits')).toBe(3)
  })

  test('STORAGE_UNAVAILABLE: with cookies blocked, the store says so and refuses cookie writes instead of pretending', async () => {
    document.cookie = 'shop_locale=en; Path=/'
    // A browser blocking this site's cookies: every write is ignored.
    const jar = pageJar({ drop: () => true })
    const store = makeStore({ backends: { cookies: jar } })
    const errors: VisitStoreError[] = []
    store.on('error', (e) => errors.push(e))
    await store.ready
    expect(store.status.cookies).toBe('unavailable')
    await expectCode(store.set('locale', 'fr'), 'STORAGE_UNAVAILABLE')
    await expectCode(store.delete('locale'), 'STORAGE_UNAVAILABLE')
    expect(store.peek('locale')).toBeUndefined()
    expect(await store.get('locale')).toBeUndefined()
    expect(cookieJar().shop_locale).toBe('en')
    // Session data cannot be tied to the browser session without its cookie: kept for this page, and said so.
    expect(store.status.browserSession).toBe('page')
    expect(errors.map((e) => e.code)).toContain('STORAGE_UNAVAILABLE')
    await store.set('cart', [{ sku: 'a', qty: 1 }])
    expect(await store.get('cart')).toEqual([{ sku: 'a', qty: 1 }])
  })

  test('STORAGE_UNAVAILABLE: the first write with an attribute set the browser drops rejects, keeping the previous value', async () => {
    document.cookie = 'shop_theme=light; Path=/'
    // A Domain attribute: one the store's own marks (host-only) never use, so this write is the first with it.
    const jar = pageJar({ drop: (line) => line.startsWith('shop_theme=') })
    const store = makeStore({ cookie: { domain: 'localhost' }, backends: { cookies: jar } })
    const seen = vi.fn()
    store.watch('theme', seen)
    await store.ready
    await expectCode(store.set('theme', 'dark'), 'STORAGE_UNAVAILABLE')
    expect(await store.get('theme')).toBe('light')
    expect(seen).not.toHaveBeenCalled()
  })

  test('COOKIE_CONFLICT: a later write the browser drops (a server HttpOnly cookie of that name) fires an error event; reads show what the jar holds', async () => {
    let blocked = false
    const jar = pageJar({ drop: (line) => blocked && line.startsWith('shop_locale=') })
    const store = makeStore({ backends: { cookies: jar } })
    const errors: VisitStoreError[] = []
    store.on('error', (e) => errors.push(e))
    await store.set('locale', 'en')
    blocked = true
    // Found at the end of the write burst: the set itself has resolved.
    await store.set('locale', 'fr')
    await vi.waitFor(() => expect(errors.map((e) => e.code)).toContain('COOKIE_CONFLICT'))
    expect(errors.find((e) => e.code === 'COOKIE_CONFLICT')?.message).toContain('shop_locale')
    expect(await store.get('locale')).toBe('en')
    expect(store.peek('locale')).toBe('en')
  })

  test('STORAGE_UNAVAILABLE: a closed store', async () => {
    const store = makeStore()
    await store.set('visits', 5)
    store.close()
    await expectCode(store.get('visits'), 'STORAGE_UNAVAILABLE')
    await expectCode(store.set('visits', 6), 'STORAGE_UNAVAILABLE')
    const reopened = makeStore()
    expect(await reopened.get('visits')).toBe(5)
  })

  test('a store closed while it is still starting up leaves the page alone afterwards: it never writes a cookie again', async () => {
    const store = makeStore({ name: 'closing' })
    store.close()
    await idle()
    expireCookie('closing_$s')
    // Whatever would make a live store look at its cookies again.
    document.dispatchEvent(new Event('visibilitychange'))
    window.dispatchEvent(new Event('focus'))
    await idle()
    expect(cookieJar().closing_$s).toBeUndefined()
  })

  test('INVALID_OPTIONS at createStore, never a silent session cookie', () => {
    const bad = (k: object) => () => createStore<Schema>({ name: 'shop', keys: { ...keys, ...k } as never })
    expect(bad({ theme: { lifetime: 'persistent', serverVisible: true, maxAge: Number.NaN } })).toThrow(VisitStoreError)
    expect(bad({ theme: { lifetime: 'persistent', serverVisible: true, maxAge: -1 } })).toThrow(/maxAge/)
    expect(bad({ draft: { lifetime: 'persistent', ttl: Infinity } })).toThrow(/ttl/)
    expect(() => createStore<Schema>({ name: 'has space', keys })).toThrow(/name/)
    try {
      bad({ draft: { lifetime: 'forever' } })()
    } catch (e) {
      expect((e as VisitStoreError).code).toBe('INVALID_OPTIONS')
    }
    expect.assertions(5)
  })

  test('INVALID_OPTIONS: a plain object as session, with a message that shows the sessionSync form', () => {
    let err: unknown
    try {
      createStore<Schema>({ name: 'shop', keys, session: { endpoint: '/session' } as never })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(VisitStoreError)
    expect((err as VisitStoreError).code).toBe('INVALID_OPTIONS')
    expect((err as VisitStoreError).message).toMatch(/sessionSync\(\{ endpoint: '\/session' \}\)/)
    expect((err as VisitStoreError).message).toContain("from 'visitstore/session'")
  })

  test('NOT_SYNC_READABLE: peek of an IndexedDB key', () => {
    const store = makeStore()
    try {
      store.peek('cart' as 'theme')
    } catch (e) {
      expect((e as VisitStoreError).code).toBe('NOT_SYNC_READABLE')
    }
    expect.assertions(1)
  })

  test('setMany is all or nothing across tiers', async () => {
    const store = makeStore()
    await store.setMany({ theme: 'light', cart: [], scroll: 1 })
    const codes: string[] = []
    const attempt = (p: Promise<unknown>) => p.then(() => codes.push('resolved'), (e: unknown) => codes.push(e instanceof VisitStoreError ? e.code : `raw ${String(e)}`))
    await attempt(store.setMany({ theme: 'dark', scroll: 2, cart: [{ sku: 'x', qty: 1 }], locale: 'x'.repeat(5000) }))
    await attempt(store.setMany({ theme: 'dark', scroll: 2, draft: { title: 'a', body: Symbol('no') } as never }))
    const put = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(() => { throw new DOMException('full', 'QuotaExceededError') })
    await attempt(store.setMany({ theme: 'dark', scroll: 2, cart: [{ sku: 'y', qty: 1 }] }))
    put.mockRestore()
    expect(await store.getMany(['theme', 'scroll', 'cart', 'draft'])).toEqual({ theme: 'light', scroll: 1, cart: [], draft: undefined })
    expect(cookieJar().shop_theme).toBe('light')
    expect(sessionStorage.getItem('visitstore:shop:scroll')).toBe('1')
    // Each failure is a coded VisitStoreError, whichever tier refused.
    expect(codes).toEqual(['COOKIE_TOO_LARGE', 'NOT_SERIALIZABLE', 'QUOTA_EXCEEDED'])
  })
})

describe('reads and writes', () => {
  test('getMany / setMany', async () => {
    const store = makeStore()
    await store.setMany({ theme: 'dark', cart: [{ sku: 'a', qty: 1 }], scroll: 3, 'doc:x': { title: 'x', body: 'y' } })
    expect(await store.getMany(['theme', 'cart', 'scroll', 'doc:x', 'visits'])).toEqual({
      theme: 'dark', cart: [{ sku: 'a', qty: 1 }], scroll: 3, 'doc:x': { title: 'x', body: 'y' }, visits: undefined,
    })
  })

  test('update is a read-modify-write that resolves to the stored result, in each tier', async () => {
    const store = makeStore()
    expect(await store.update('visits', (n) => (n ?? 0) + 1)).toBe(1)
    expect(await store.update('visits', (n) => (n ?? 0) + 1)).toBe(2)
    expect(await store.update('locale', (l) => `${l ?? ''}x`)).toBe('x')
    expect(await store.update('scroll', (s) => (s ?? 10) * 2)).toBe(20)
    expect(await store.getMany(['visits', 'locale', 'scroll'])).toEqual({ visits: 2, locale: 'x', scroll: 20 })
  })

  describe.each([['with Web Locks', true], ['without Web Locks', false]])('writes of one tab land in call order, whatever their tiers and however they are awaited, %s', (_, webLocks) => {
    test('setMany of a cookie key and an IndexedDB key, not awaited, then set of the cookie key: the set wins', async () => {
      if (webLocks) useWebLocks()
      const store = makeStore()
      await store.set('theme', 'light')
      const batch = store.setMany({ theme: 'light', cart: [{ sku: 'a', qty: 1 }] })
      await store.set('theme', 'dark')
      await batch
      expect(await store.get('theme')).toBe('dark')
      expect(cookieJar().shop_theme).toBe('dark')
    })

    test('clear(), not awaited, then writes: the writes stay, a cross-tier batch whole; writes called before clear() are cleared', async () => {
      if (webLocks) useWebLocks()
      const store = makeStore()
      await store.setMany({ theme: 'light', cart: [{ sku: 'old', qty: 1 }], visits: 1 })
      store.watch('cart', () => {})
      const before = store.setMany({ locale: 'fr', 'note:a': 'before' })
      const cleared = store.clear()
      const calls = [
        store.setMany({ theme: 'dark', cart: [{ sku: 'new', qty: 2 }] }),
        store.set('visits', 2),
        store.update('draft', () => ({ title: 't', body: 'b' })),
        store.set('flag:x', true),
      ]
      await Promise.all([before, cleared, ...calls])
      expect(await store.getMany(['theme', 'cart', 'visits', 'draft', 'flag:x', 'locale', 'note:a'])).toEqual({
        theme: 'dark', cart: [{ sku: 'new', qty: 2 }], visits: 2, draft: { title: 't', body: 'b' }, 'flag:x': true, locale: undefined, 'note:a': undefined,
      })
      expect(cookieJar()).toMatchObject({ shop_theme: 'dark', 'shop_flag%3Ax': 'true' })
      expect(cookieJar().shop_locale).toBeUndefined()
    })

    test('inside a burst of awaited sets, a set over the budget or the cookie limit rejects and the old value stays; the next set works', async () => {
      if (webLocks) useWebLocks()
      const store = makeStore({ cookie: { budget: 300 } })
      await store.ready
      await store.set('theme', 'dark')
      await store.set('locale', 'fr')
      await expectCode(store.set('locale', 'x'.repeat(400)), 'COOKIE_BUDGET_EXCEEDED')
      await expectCode(store.set('prefs', { compact: true, pad: 'y'.repeat(5000) } as never), 'COOKIE_TOO_LARGE')
      expect(await store.getMany(['theme', 'locale', 'prefs'])).toEqual({ theme: 'dark', locale: 'fr', prefs: undefined })
      await store.set('theme', 'light')
      expect(cookieJar()).toMatchObject({ shop_theme: 'light', shop_locale: 'fr' })
    })

    test('60 rounds of 1 to 5 writes of one cookie key (set, cross-tier setMany, delete, update), awaited or not at random: after each round the last call wins', async () => {
      if (webLocks) useWebLocks()
      const store = makeStore()
      await store.ready
      const random = seededRandom(7)
      for (let round = 0; round < 60; round++) {
        const calls: Promise<unknown>[] = []
        const log: string[] = []
        let last: 'light' | 'dark' | undefined
        for (let i = 0, n = 1 + random(5); i < n; i++) {
          const value = random(2) ? 'light' : 'dark'
          const kind = random(4)
          const call = kind === 0 ? store.set('theme', value)
            : kind === 1 ? store.setMany({ theme: value, cart: [{ sku: `s${i}`, qty: i }] })
              : kind === 2 ? store.delete('theme')
                : store.update('theme', () => value)
          last = kind === 2 ? undefined : value
          log.push(`${['set', 'setMany', 'delete', 'update'][kind]}(${kind === 2 ? '' : value})`)
          calls.push(call)
          const pause = random(6)
          if (pause === 1) await null
          else if (pause === 2) await new Promise<void>((resolve) => setTimeout(resolve, 0))
          else if (pause === 3) await call
        }
        await Promise.all(calls)
        expect([round, await store.get('theme'), cookieJar().shop_theme], log.join(', ')).toEqual([round, last, last])
      }
    })
  })

  test('concurrent updates in one tab lose nothing', async () => {
    const store = makeStore()
    await Promise.all(Array.from({ length: 50 }, () => store.update('visits', (n) => (n ?? 0) + 1)))
    await Promise.all(Array.from({ length: 20 }, () => store.update('flag:n', (v) => !v)))
    expect(await store.get('visits')).toBe(50)
    expect(await store.get('flag:n')).toBe(false)
  })

  test('an update whose function throws writes nothing and rejects with that error', async () => {
    const store = makeStore()
    await store.set('visits', 4)
    const boom = new Error('app bug')
    await expect(store.update('visits', () => { throw boom })).rejects.toBe(boom)
    await expect(store.update('theme', () => { throw boom })).rejects.toBe(boom)
    expect(await store.get('visits')).toBe(4)
  })

  test('strings that look like JSON stay strings; values come back as written', async () => {
    const store = makeStore()
    for (const value of ['42', 'true', 'null', '"q"', '', 'a; b=c, d%20 é 🎉']) {
      await store.set('locale', value)
      expect(await store.get('locale')).toBe(value)
    }
  })

  test("type: 'string' keys reach the server exactly, even when the string looks like JSON", async () => {
    interface Zip { zip: string, count: number }
    const store = createStore<Zip>({ name: 'typed', keys: {
      zip: { lifetime: 'persistent', serverVisible: true, type: 'string' },
      count: { lifetime: 'persistent', serverVisible: true, type: 'json' },
    }, backends: { indexedDB: idb } })
    open.push(store as never)
    await store.set('zip', '10001')
    await store.set('count', 3)
    expect(cookieJar().typed_zip).toBe('10001')
    expect(await store.get('zip')).toBe('10001')
    expect(await store.get('count')).toBe(3)
    await expectCode(store.set('zip', 10001 as never), 'INVALID_VALUE')
    expect(store.peek('zip')).toBe('10001')
  })

  test('a hand-edited cookie reads as undefined and fires invalid', async () => {
    const store = makeStore()
    const invalid = vi.fn()
    store.on('invalid', invalid)
    document.cookie = 'shop_locale=%E0%A4%A; Path=/'
    expect(await store.get('locale')).toBeUndefined()
    expect(invalid).toHaveBeenCalledWith(expect.objectContaining({ key: 'locale' }))
  })

  test('peek reads cookies and tab values synchronously, before ready', async () => {
    document.cookie = 'shop_theme=dark; Path=/'
    const store = makeStore()
    expect(store.peek('theme')).toBe('dark')
    expect(store.peek('scroll')).toBeUndefined()
  })

  test('a get before ready is correct', async () => {
    const first = makeStore()
    await first.set('cart', [{ sku: 'z', qty: 9 }])
    first.close()
    const second = makeStore()
    const pending = second.get('cart')
    expect(await pending).toEqual([{ sku: 'z', qty: 9 }])
  })
})

describe('watch (this tab)', () => {
  test('fires for set, update, delete and clear with source local; unsubscribes', async () => {
    const store = makeStore()
    const seen: unknown[] = []
    const stop = store.watch('cart', (value, info) => seen.push([value, info.source]))
    const other = vi.fn()
    store.watch('theme', other)
    await store.set('cart', [])
    await store.update('cart', (c) => [...(c ?? []), { sku: 'a', qty: 1 }])
    await store.delete('cart')
    await store.set('cart', [{ sku: 'b', qty: 1 }])
    await store.clear({ lifetime: 'session' })
    stop()
    await store.set('cart', [])
    expect(seen).toEqual([
      [[], 'local'],
      [[{ sku: 'a', qty: 1 }], 'local'],
      [undefined, 'local'],
      [[{ sku: 'b', qty: 1 }], 'local'],
      [undefined, 'local'],
    ])
    expect(other).not.toHaveBeenCalled()
  })

  test('setMany across a cookie and IndexedDB fires each watcher exactly once, as local', async () => {
    const store = makeStore()
    await store.ready
    const theme = vi.fn()
    const cart = vi.fn()
    store.watch('theme', theme)
    store.watch('cart', cart)
    await store.setMany({ theme: 'dark', cart: [{ sku: 'a', qty: 1 }] })
    // Whatever makes the store look at its cookies again does not report this tab's own write a second time.
    document.dispatchEvent(new Event('visibilitychange'))
    window.dispatchEvent(new Event('focus'))
    await idle()
    expect(theme.mock.calls).toEqual([['dark', { source: 'local' }]])
    expect(cart.mock.calls).toEqual([[[{ sku: 'a', qty: 1 }], { source: 'local' }]])
  })

  test('a failed write fires nothing', async () => {
    const store = makeStore()
    const cb = vi.fn()
    store.watch('locale', cb)
    await store.set('locale', 'x'.repeat(5000)).catch(() => {})
    expect(cb).not.toHaveBeenCalled()
  })
})

describe('placement(key) says where a key lives and why', () => {
  test('a session cookie: the server reads it from the Cookie header; a session cookie, no Expires', () => {
    const placement = makeStore().placement('locale')
    expect(placement).toMatchObject({ tier: 'cookie', lifetime: 'session' })
    expect(placement.reason).toMatch(/Cookie header/)
    expect(placement.reason).toMatch(/session cookie/)
  })

  test('a persistent cookie states its Max-Age (400 days unless maxAge)', () => {
    const store = makeStore()
    expect(store.placement('theme').reason).toMatch(/Max-Age 31536000s/)
    expect(store.placement('prefs').reason).toMatch(/Max-Age 34560000s/)
  })

  test('a tab key: sessionStorage, or memory when sessionStorage is unavailable', () => {
    expect(makeStore().placement('scroll')).toMatchObject({ tier: 'sessionStorage', lifetime: 'tab', reason: expect.stringMatching(/sessionStorage/) })
    const store = createStore<Schema>({ name: 'nosession', keys, backends: { indexedDB: idb, sessionStorage: null } })
    open.push(store)
    const degraded = store.placement('scroll')
    expect(degraded.tier).toBe('memory')
    expect(degraded.reason).toMatch(/unavailable/)
    expect(degraded.reason).toMatch(/memory/)
  })

  test('a client key: IndexedDB, never sent to the server', () => {
    const placement = makeStore().placement('visits')
    expect(placement).toMatchObject({ tier: 'indexeddb', lifetime: 'persistent' })
    expect(placement.reason).toMatch(/IndexedDB/)
    expect(placement.reason).toMatch(/never sent to the server/)
    expect(placement.reason).not.toMatch(/memory/)
  })

  test('a client key with a ttl states when it expires', () => {
    expect(makeStore().placement('draft').reason).toMatch(/expires 604800s after each write/)
  })

  test('a session client key says it is swept when the browser session ends', () => {
    const placement = makeStore().placement('cart')
    expect(placement).toMatchObject({ tier: 'indexeddb', lifetime: 'session' })
    expect(placement.reason).toMatch(/session.*swept/)
    expect(placement.reason).not.toMatch(/server session/)
  })

  test('without IndexedDB: memory, and the reason says IndexedDB is unavailable', async () => {
    const store = createStore<Schema>({ name: 'nodb', keys, backends: { indexedDB: null } })
    open.push(store)
    await store.ready
    const placement = store.placement('cart')
    expect(placement.tier).toBe('memory')
    expect(placement.reason).toMatch(/IndexedDB is unavailable/)
    expect(placement.reason).toMatch(/in memory/)
  })

  test('with a server session sync, session data says it is bound to the server session too', async () => {
    const store = createStore<Schema>({ name: 'bound', keys, backends: { indexedDB: idb }, session: sessionSync({ read: async () => ({ tag: 'tag-1' }) }) })
    open.push(store)
    await store.ready
    expect(store.placement('cart').reason).toMatch(/server session/)
    expect(store.placement('locale').reason).toMatch(/server session changes/)
    expect(store.placement('visits').reason).not.toMatch(/server session/)
  })

  test('where the browser session cannot be seen (no cookies: a Worker, blocked cookies), session client keys are in memory and the reason says why', async () => {
    const store = makeStore({ backends: { cookies: null } })
    await store.ready
    expect(store.status.indexeddb).toBe('ok')
    expect(store.placement('visits').tier).toBe('indexeddb')
    const placement = store.placement('cart')
    expect(placement.tier).toBe('memory')
    expect(placement.reason).toMatch(/memory/)
    // IndexedDB works here; what is missing is the browser session.
    expect(placement.reason).not.toMatch(/IndexedDB is unavailable/)
  })
})

// ---------------------------------------------------------------------------------------------
// Data safety (issue 12), as far as one page with a fake IndexedDB can show it; the real-browser
// suites (test/browser/scenarios-reliability.mjs) run the races and crashes.
// ---------------------------------------------------------------------------------------------

/** Opens (and upgrades with `upgrade`) a database as other code would; resolves once it is closed again. */
async function makeDatabase(factory: IDBFactory, name: string, version: number, upgrade: (db: IDBDatabase) => void): Promise<void> {
  const req = factory.open(name, version)
  req.onupgradeneeded = () => upgrade(req.result)
  const db = await settle(req)
  db.close()
}

/** What the previous release (database version 1) left: an out-of-line `entries` store of `{ v, x?, s?, t? }` envelopes. */
function writeVersion1Database(factory: IDBFactory, storeName: string, entries: [key: string, envelope: unknown][]): Promise<void> {
  return makeDatabase(factory, `visitstore-${storeName}`, 1, (db) => {
    const store = db.createObjectStore('entries')
    for (const [key, envelope] of entries) store.put(envelope, key)
  })
}

/** The database's version and object stores, and every record of one object store. */
async function inspectDatabase(factory: IDBFactory, name: string, storeName?: string): Promise<{ version: number, stores: string[], records: unknown[] }> {
  const db = await settle(factory.open(name))
  try {
    const records = storeName ? await settle(db.transaction(storeName).objectStore(storeName).getAll()) : []
    return { version: db.version, stores: [...db.objectStoreNames].sort(), records }
  } finally {
    db.close()
  }
}

const stampOf = (name = 'shop') => cookieJar()[`${name}_$s`] as string
const appRecords = async (storeName = 'shop') => new Map([...await rawRecords(idb, storeName)].filter(([key]) => !key.startsWith('$')))

describe('data safety: a key re-declared from persistent to session (an app upgrade)', () => {
  interface V { profile: string, locale: string, kept: string }
  const v1 = { profile: { lifetime: 'persistent' }, locale: { lifetime: 'persistent', serverVisible: true }, kept: { lifetime: 'persistent' } } as const
  const v2 = { profile: { lifetime: 'session' }, locale: { lifetime: 'session', serverVisible: true }, kept: { lifetime: 'persistent' } } as const

  async function upgraded(jar = pageJar()): Promise<VisitStore<V>> {
    const before = createStore<V>({ name: 'upg', keys: v1, backends: { indexedDB: idb } })
    open.push(before)
    await before.ready
    await before.setMany({ profile: 'alice', locale: 'fr', kept: 'k' })
    before.close()
    const after = createStore<V>({ name: 'upg', keys: v2, backends: { indexedDB: idb, cookies: jar } })
    open.push(after)
    return after
  }

  test('its IndexedDB records written before carry no session stamp: they read as missing at once, and are deleted at start-up', async () => {
    const store = await upgraded()
    expect(await store.get('profile')).toBeUndefined()
    expect(await store.getMany(['profile', 'kept'])).toEqual({ profile: undefined, kept: 'k' })
    await store.ready
    expect(await rawRecord(idb, 'upg', 'profile')).toBeUndefined()
    expect(await rawRecord(idb, 'upg', 'kept')).toMatchObject({ v: 'k' })
    await store.set('profile', 'bob')
    expect(await store.get('profile')).toBe('bob')
  })

  test('its persistent cookie is written again as a session cookie at the first start, so it ends with the browser session', async () => {
    const jar = pageJar()
    const store = await upgraded(jar)
    await store.ready
    const rewritten = jar.lines.filter((line) => line.startsWith('upg_locale='))
    expect(rewritten).toHaveLength(1)
    expect(rewritten[0]).toMatch(/^upg_locale=fr;/)
    expect(cookieAttributes(rewritten[0])).not.toHaveProperty('max-age')
    expect(cookieAttributes(rewritten[0])).not.toHaveProperty('expires')
    expect(await store.get('locale')).toBe('fr')
  })

  test('that cookie is then removed with the other session data by session.end()', async () => {
    const store = await upgraded()
    await store.ready
    await store.session.end()
    expect(cookieJar().upg_locale).toBeUndefined()
    expect(await store.getMany(['locale', 'profile', 'kept'])).toEqual({ locale: undefined, profile: undefined, kept: 'k' })
  })
})

describe('data safety: foreign and malformed records in the records object store', () => {
  const NOW_PLUS_DAY = () => Date.now() + 86_400_000
  const foreign = (): { p: string, [field: string]: unknown }[] => [
    { p: 'visits', value: 3 }, // no v: not a visitstore record
    { p: 'cart', v: [{ sku: 'a', qty: 1 }], k: 42 }, // a liveness key that is not a string
    { p: 'draft', v: { title: 't', body: '' }, x: 'never' }, // an expiry that is not a number
    { p: 'doc:x', v: { title: 'x', body: '' }, x: String(NOW_PLUS_DAY()) },
    { p: 'alien', v: 1 }, // a key this store does not declare
  ]

  async function withForeignRecords(): Promise<{ store: VisitStore<Schema>, invalid: { key: string, reason: string }[], put: { p: string }[] }> {
    const first = makeStore()
    await first.ready
    const put = foreign()
    for (const record of put) await rawPut(idb, 'shop', record)
    // An expired record: swept in the background, which tells when the sweep has run.
    await rawPut(idb, 'shop', { p: 'doc:old', v: { title: 'old', body: '' }, x: Date.now() - 1000 })
    first.close()
    const store = makeStore()
    const invalid: { key: string, reason: string }[] = []
    store.on('invalid', (e) => invalid.push(e))
    return { store, invalid, put }
  }

  test('read as missing, each reported through invalid with a reason', async () => {
    const { store, invalid } = await withForeignRecords()
    expect(await store.getMany(['visits', 'cart', 'draft', 'doc:x'])).toEqual({ visits: undefined, cart: undefined, draft: undefined, 'doc:x': undefined })
    expect(invalid.map((e) => e.key).sort()).toEqual(['cart', 'doc:x', 'draft', 'visits'])
    for (const e of invalid) expect(e.reason).toMatch(/record/)
    expect(await store.get('visits')).toBeUndefined()
    expect(invalid.filter((e) => e.key === 'visits')).toHaveLength(2)
  })

  test('an expiry that is not a number never makes a record immortal', async () => {
    const { store } = await withForeignRecords()
    vi.useFakeTimers({ toFake: ['Date'] })
    for (const days of [0, 30, 3650]) {
      vi.setSystemTime(Date.now() + days * 86_400_000)
      expect(await store.get('draft')).toBeUndefined()
    }
  })

  test('left in place: the start-up work and the sweep do not delete them', async () => {
    const { store, put } = await withForeignRecords()
    await store.ready
    await vi.waitFor(async () => expect(await rawRecord(idb, 'shop', 'doc:old')).toBeUndefined())
    await idle()
    const after = await appRecords()
    for (const record of put) expect(after.get(record.p)).toEqual(record)
  })

  test('a write replaces a malformed record with a good one', async () => {
    const { store } = await withForeignRecords()
    await store.setMany({ visits: 4, cart: [] })
    expect(await store.getMany(['visits', 'cart'])).toEqual({ visits: 4, cart: [] })
  })

  test('keys() lists from key ranges without reading values: a foreign record’s key may be listed, and its get says why it is missing', async () => {
    // keys() reads no values (a 100,000-entry store lists a family in milliseconds), so it cannot
    // tell a foreign record from the store's own; get() can, and reports it (README, Guarantees).
    const { store } = await withForeignRecords()
    await store.ready
    await vi.waitFor(async () => expect(await rawRecord(idb, 'shop', 'doc:old')).toBeUndefined())
    const listed = await store.keys()
    const invalid: string[] = []
    store.on('invalid', (e) => invalid.push(e.key))
    for (const key of listed) expect(await store.get(key as never)).toBeUndefined()
    expect(invalid.sort()).toEqual([...listed].sort())
  })

  test('a foreign record of a key that becomes session-scoped (no v, no k) is reported on read and left in place, not deleted silently', async () => {
    // The database exists with no session key declared yet (an earlier version of the app).
    const earlier = createStore<{ other: string }>({ name: 'shop', keys: { other: { lifetime: 'persistent' } }, backends: { indexedDB: idb } })
    open.push(earlier)
    await earlier.ready
    earlier.close()
    const record = { p: 'cart', written: 'by other code' }
    await rawPut(idb, 'shop', record)
    const store = makeStore()
    const invalid: string[] = []
    store.on('invalid', (e) => invalid.push(e.key))
    await store.ready
    expect(await store.get('cart')).toBeUndefined()
    expect(invalid).toContain('cart')
    expect(await rawRecord(idb, 'shop', 'cart')).toEqual(record)
  })
})

describe('data safety: the database layout', () => {
  test('a version-1 database written by the previous release keeps its data after createStore', async () => {
    const stamp = 'k3v9q2m1x8zz'
    document.cookie = `shop_$s=${stamp}; Path=/` // the same browser session goes on across the app upgrade
    const future = Date.now() + 86_400_000
    await writeVersion1Database(idb, 'shop', [
      ['visits', { v: 3 }],
      ['draft', { v: { title: 'kept', body: '' }, x: future }],
      ['doc:gone', { v: { title: 'expired', body: '' }, x: Date.now() - 1000 }],
      ['cart', { v: [{ sku: 'a', qty: 1 }], s: stamp }],
      ['note:old', { v: 'an ended browser session', s: 'oldoldoldold' }],
      ['doc:raw', 'not an envelope'],
    ])
    const store = makeStore()
    const invalid: string[] = []
    store.on('invalid', (e) => invalid.push(e.key))
    expect(await store.getMany(['visits', 'draft', 'doc:gone', 'cart', 'note:old', 'doc:raw'])).toEqual({
      visits: 3, draft: { title: 'kept', body: '' }, 'doc:gone': undefined, cart: [{ sku: 'a', qty: 1 }], 'note:old': undefined, 'doc:raw': undefined,
    })
    expect(invalid).toEqual(['doc:raw'])
    await store.ready
    expect(store.status.indexeddb).toBe('ok')
    expect(await rawRecord(idb, 'shop', 'visits')).toEqual({ p: 'visits', v: 3 })
    expect(await rawRecord(idb, 'shop', 'draft')).toEqual({ p: 'draft', v: { title: 'kept', body: '' }, x: future })
    expect(await rawRecord(idb, 'shop', 'cart')).toEqual({ p: 'cart', v: [{ sku: 'a', qty: 1 }], k: stamp })
    const layout = await inspectDatabase(idb, 'visitstore-shop')
    expect(layout.version).toBeGreaterThanOrEqual(2)
    expect(layout.stores).not.toContain('entries')
    // Durable: another tab (a new store on the same database) reads the same.
    const again = makeStore()
    expect(await again.getMany(['visits', 'cart'])).toEqual({ visits: 3, cart: [{ sku: 'a', qty: 1 }] })
  })

  test('a version-1 database of a store with session sync keeps the session data of the current server session', async () => {
    const stamp = 'k3v9q2m1x8zz'
    document.cookie = `shop_$s=${stamp}; Path=/`
    await writeVersion1Database(idb, 'shop', [
      ['$session', { v: { tag: 'tag-1', state: 'active' } }],
      ['cart', { v: [{ sku: 'a', qty: 1 }], s: stamp, t: 'tag-1' }],
      ['note:bob', { v: 'another user', s: stamp, t: 'tag-0' }],
    ])
    const store = createStore<Schema>({ name: 'shop', keys, backends: { indexedDB: idb }, session: sessionSync({ read: async () => ({ tag: 'tag-1' }) }) })
    open.push(store)
    await store.ready
    expect(await store.getMany(['cart', 'note:bob'])).toEqual({ cart: [{ sku: 'a', qty: 1 }], 'note:bob': undefined })
  })

  test.each([1, 2, 7])('a database at version %i without the store\'s object store (made by other code) is repaired, keeping the other code\'s data', async (version) => {
    await makeDatabase(idb, 'visitstore-shop', version, (db) => {
      db.createObjectStore('other', { keyPath: 'id' }).put({ id: 1, mine: 'theirs' })
    })
    const store = makeStore()
    const errors: VisitStoreError[] = []
    store.on('error', (e) => errors.push(e))
    await store.ready
    expect(store.status.indexeddb).toBe('ok')
    await store.setMany({ visits: 7, cart: [{ sku: 'r', qty: 1 }] })
    expect(await store.getMany(['visits', 'cart'])).toEqual({ visits: 7, cart: [{ sku: 'r', qty: 1 }] })
    expect(await rawRecord(idb, 'shop', 'visits')).toMatchObject({ v: 7 })
    // Durable across tabs: a new store on the same database reads it.
    const again = makeStore()
    expect(await again.getMany(['visits', 'cart'])).toEqual({ visits: 7, cart: [{ sku: 'r', qty: 1 }] })
    expect(errors).toEqual([])
    store.close()
    again.close()
    const layout = await inspectDatabase(idb, 'visitstore-shop', 'other')
    expect(layout.version).toBeGreaterThan(version)
    expect(layout.stores).toEqual(expect.arrayContaining(['other', 'records']))
    expect(layout.records).toEqual([{ id: 1, mine: 'theirs' }])
  })

  test('a records object store of another layout that cannot be repaired: memory for this page, status and an error event say so', async () => {
    await makeDatabase(idb, 'visitstore-shop', 3, (db) => {
      db.createObjectStore('records', { keyPath: 'id' }).put({ id: 'x', theirs: true })
    })
    const store = makeStore()
    const errors: VisitStoreError[] = []
    store.on('error', (e) => errors.push(e))
    await store.ready
    expect(store.status.indexeddb).toBe('memory')
    expect(errors.map((e) => e.code)).toContain('STORAGE_UNAVAILABLE')
    await store.set('visits', 1)
    expect(await store.get('visits')).toBe(1)
    store.close()
    expect((await inspectDatabase(idb, 'visitstore-shop', 'records')).records).toEqual([{ id: 'x', theirs: true }])
  })
})

describe('data safety: the browser-session marker', () => {
  // A name of their own: stores of other tests (closed or not) never share these cookies.
  const NAME = 'mk'
  const tab = (extra: Parameters<typeof makeStore>[0] = {}) => makeStore({ name: NAME, ...extra })

  test.each(['indexeddb', 'web-locks'])('two stores started together with no marker agree on one stamp and lose nothing (locks: %s)', async (locks) => {
    if (locks === 'web-locks') useWebLocks()
    const a = tab()
    const b = tab()
    await Promise.all([a.set('note:a', 'from a'), b.set('note:b', 'from b')])
    await Promise.all([a.ready, b.ready])
    expect(a.status.locks).toBe(locks)
    await idle()
    const stamp = stampOf(NAME)
    expect(stamp).toMatch(/^[0-9a-z]{12}$/)
    expect(await rawRecord(idb, NAME, 'note:a')).toMatchObject({ k: stamp })
    expect(await rawRecord(idb, NAME, 'note:b')).toMatchObject({ k: stamp })
    expect(await a.get('note:b')).toBe('from b')
    expect(await b.get('note:a')).toBe('from a')
    // A third tab, and the sweeps of all three, keep both.
    const c = tab()
    await c.ready
    await idle()
    expect(await c.getMany(['note:a', 'note:b'])).toEqual({ 'note:a': 'from a', 'note:b': 'from b' })
    expect(stampOf(NAME)).toBe(stamp)
  })

  test('a marker cookie removed while the store is open is written again, with the same stamp', async () => {
    const store = tab()
    await store.set('cart', [{ sku: 'a', qty: 1 }])
    await store.ready
    const stamp = stampOf(NAME)
    expireCookie(`${NAME}_$s`)
    expect(cookieJar()[`${NAME}_$s`]).toBeUndefined()
    // The page becoming visible again (or a Cookie Store change event) makes the store look.
    document.dispatchEvent(new Event('visibilitychange'))
    await vi.waitFor(() => expect(cookieJar()[`${NAME}_$s`]).toBe(stamp))
    const next = tab()
    expect(await next.get('cart')).toEqual([{ sku: 'a', qty: 1 }])
  })

  test('a new tab that finds no marker while a page of the browser session is open adopts the live stamp instead of condemning its data', async () => {
    useWebLocks()
    const open1 = tab()
    await open1.set('cart', [{ sku: 'a', qty: 1 }])
    await open1.ready
    const stamp = stampOf(NAME)
    expireCookie(`${NAME}_$s`) // a clean-up script; the open tab has not looked yet
    const newTab = tab()
    await newTab.ready
    expect(stampOf(NAME)).toBe(stamp)
    expect(await newTab.get('cart')).toEqual([{ sku: 'a', qty: 1 }])
    await idle()
    expect(await rawRecord(idb, NAME, 'cart')).toMatchObject({ k: stamp })
    expect(await open1.get('cart')).toEqual([{ sku: 'a', qty: 1 }])
  })

  test('an open tab that sees the marker come back with another stamp moves its records to it', async () => {
    const store = tab()
    await store.set('cart', [{ sku: 'a', qty: 1 }])
    await store.ready
    const other = 'zzzzzzzzzzzz'
    document.cookie = `${NAME}_$s=${other}; Path=/`
    document.dispatchEvent(new Event('visibilitychange'))
    await vi.waitFor(async () => expect(await rawRecord(idb, NAME, 'cart')).toMatchObject({ k: other }))
    expect(await store.get('cart')).toEqual([{ sku: 'a', qty: 1 }])
    await store.set('note:after', 'written after the move')
    const next = tab()
    expect(await next.getMany(['cart', 'note:after'])).toEqual({ cart: [{ sku: 'a', qty: 1 }], 'note:after': 'written after the move' })
  })

  test('reads and writes made while an open tab moves 2,000 records to another stamp see the moved data', async () => {
    const store = tab()
    await store.setMany(Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`note:${String(i).padStart(4, '0')}`, `n${i}`])) as Record<`note:${string}`, string>)
    await store.set('cart', [{ sku: 'a', qty: 1 }])
    await store.ready
    const other = 'zzzzzzzzzzzz'
    document.cookie = `${NAME}_$s=${other}; Path=/`
    document.dispatchEvent(new Event('visibilitychange'))
    // The move under way: its first slice moved, its last record not yet.
    const stampOfRecord = async (key: string) => ((await rawRecord(idb, NAME, key)) as { k?: string } | undefined)?.k
    for (let i = 0; i < 5000 && (await stampOfRecord('note:0000')) !== other; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(await stampOfRecord('note:1999')).not.toBe(other)
    const during = await Promise.all([store.get('cart'), store.get('note:1999'), store.update('note:1998', (v) => `${v ?? 'nothing'}+`), store.keys('note:').then((k) => k.length)])
    expect(during).toEqual([[{ sku: 'a', qty: 1 }], 'n1999', 'n1998+', 2000])
    expect(await rawRecord(idb, NAME, 'note:1998')).toMatchObject({ k: other, v: 'n1998+' })
  })

  test('a cross-tier batch planned under the old stamp and held up by another tab\'s cookie lock until the records moved lands under the new one', async () => {
    const locks = useWebLocks()
    const store = tab()
    await store.set('cart', [{ sku: 'a', qty: 1 }])
    await store.ready
    const release = await holdLock(locks, `visitstore:${NAME}:cookies`)
    const batch = store.setMany({ cart: [{ sku: 'b', qty: 2 }], locale: 'fr' })
    const other = 'zzzzzzzzzzzz'
    document.cookie = `${NAME}_$s=${other}; Path=/`
    document.dispatchEvent(new Event('visibilitychange'))
    await vi.waitFor(async () => expect(await rawRecord(idb, NAME, 'cart')).toMatchObject({ k: other }))
    release()
    await batch
    expect(await rawRecord(idb, NAME, 'cart')).toMatchObject({ k: other, v: [{ sku: 'b', qty: 2 }] })
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: [{ sku: 'b', qty: 2 }], locale: 'fr' })
  })

  test('a context without the marker cookie and with no page of the browser session open keeps its session data to itself, says so once, and deletes nothing', async () => {
    const page = tab()
    await page.setMany({ cart: [{ sku: 'page', qty: 1 }], visits: 1 })
    page.close()
    const worker = tab({ backends: { cookies: null } })
    const errors: VisitStoreError[] = []
    worker.on('error', (e) => errors.push(e))
    await worker.ready
    expect(worker.status.browserSession).toBe('page')
    expect(errors.map((e) => e.code)).toEqual(['STORAGE_UNAVAILABLE'])
    expect(await worker.get('visits')).toBe(1)
    await worker.set('cart', [{ sku: 'worker', qty: 1 }])
    expect(await worker.get('cart')).toEqual([{ sku: 'worker', qty: 1 }])
    await idle()
    // The page's session record is untouched on disk, and the worker's lives in its memory only.
    expect(await rawRecord(idb, NAME, 'cart')).toMatchObject({ v: [{ sku: 'page', qty: 1 }] })
    const pageAgain = tab()
    expect(await pageAgain.get('cart')).toEqual([{ sku: 'page', qty: 1 }])
    expect(errors).toHaveLength(1)
  })

  test('a context without the marker cookie still keeps persistent data in IndexedDB when one setMany mixes it with session data', async () => {
    const worker = tab({ backends: { cookies: null } })
    await worker.ready
    expect(worker.status.browserSession).toBe('page')
    await worker.setMany({ cart: [{ sku: 'w', qty: 1 }], visits: 5 })
    expect(await worker.getMany(['cart', 'visits'])).toEqual({ cart: [{ sku: 'w', qty: 1 }], visits: 5 })
    expect(await rawRecord(idb, NAME, 'visits')).toMatchObject({ v: 5 })
  })

  test('a context without the marker cookie shares the session data of the open page of its browser session (Web Locks tell the live stamp)', async () => {
    useWebLocks()
    const page = tab()
    await page.set('cart', [{ sku: 'page', qty: 1 }])
    await page.ready
    const worker = tab({ backends: { cookies: null } })
    await worker.ready
    expect(worker.status.browserSession).toBe('shared')
    expect(await worker.get('cart')).toEqual([{ sku: 'page', qty: 1 }])
    await worker.set('note:w', 'from the worker')
    expect(await page.get('note:w')).toBe('from the worker')
  })

  /** A page's store with a session cookie and record, and a store without cookies (a Worker) sharing its stamp. */
  async function pageAndWorker() {
    useWebLocks()
    const page = tab()
    await page.setMany({ cart: [{ sku: 'page', qty: 1 }], locale: 'fr' })
    await page.ready
    const worker = tab({ backends: { cookies: null } })
    await worker.ready
    expect(await worker.get('cart')).toEqual([{ sku: 'page', qty: 1 }])
    return { page, worker }
  }

  test("a context without the marker cookie follows the page's session.end(): what it writes after it is read by the page and the next page", async () => {
    const { page, worker } = await pageAndWorker()
    await page.session.end()
    await idle()
    expect(await worker.get('cart')).toBeUndefined()
    await worker.set('note:w', 'after the end')
    expect(await page.get('note:w')).toBe('after the end')
    expect(await tab().getMany(['cart', 'note:w'])).toEqual({ cart: undefined, 'note:w': 'after the end' })
  })

  test('a session.end() in a context without the marker cookie is carried out by a page of its browser session: the session cookie and record go, and what both write after it is shared', async () => {
    const { page, worker } = await pageAndWorker()
    await worker.session.end()
    // Done by the time it resolves: the cookie goes with the next request.
    expect(document.cookie).not.toContain(`${NAME}_locale`)
    expect(await page.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined })
    await page.set('note:p', 'page after')
    await worker.set('note:w', 'worker after')
    expect(await worker.get('note:p')).toBe('page after')
    expect(await page.get('note:w')).toBe('worker after')
    expect(worker.status.browserSession).toBe('shared')
  })

  test('two session.end() calls at once in a context without the marker cookie both resolve, carried out by one page', async () => {
    const { page, worker } = await pageAndWorker()
    const outcomes = await Promise.all([worker.session.end(), worker.session.end()].map((p) => p.then(() => 'ok', (e: unknown) => (e as VisitStoreError).code)))
    expect(outcomes).toEqual(['ok', 'ok'])
    expect(worker.status.browserSession).toBe('shared')
    await worker.set('note:w', 'after both')
    expect(await page.get('note:w')).toBe('after both')
  })

  test("a session.end() in a context without the marker cookie is carried out by one page, not by each page that hears it", async () => {
    const { page, worker } = await pageAndWorker()
    const other = tab()
    await other.ready
    const stamps: string[] = []
    const stop = interceptCookieWrites((line) => {
      if (line.startsWith(`${NAME}_$s=`)) stamps.push(line.slice(`${NAME}_$s=`.length).split(';')[0] as string)
      return true
    })
    await worker.session.end()
    await idle()
    stop()
    expect(stamps).toHaveLength(1)
    await worker.set('note:w', 'worker after')
    expect(await page.get('note:w')).toBe('worker after')
    expect(await other.get('note:w')).toBe('worker after')
  })

  test("a clear() in a context without the marker cookie is carried out by one page of its browser session: the store's cookies go too, and what is written after it stays", async () => {
    const { page, worker } = await pageAndWorker()
    const other = tab()
    await other.ready
    await page.setMany({ theme: 'dark', visits: 3 })
    const told: { t?: string, id?: string }[] = []
    const spy = new BroadcastChannel(`visitstore:${NAME}`)
    spy.onmessage = (event: MessageEvent<{ t?: string, id?: string }>) => { told.push(event.data) }
    await worker.clear()
    expect(document.cookie).not.toContain(`${NAME}_theme`)
    expect(document.cookie).not.toContain(`${NAME}_locale`)
    expect(await page.getMany(['theme', 'locale', 'cart', 'visits'])).toEqual({ theme: undefined, locale: undefined, cart: undefined, visits: undefined })
    await worker.set('note:w', 'after the clear')
    await page.set('theme', 'light')
    await idle()
    spy.close()
    // One page cleared (one answer); the other, which heard the request too, did not clear again.
    expect(told.filter((m) => m.t === 'c' && m.id !== undefined)).toHaveLength(1)
    expect(await other.getMany(['theme', 'note:w'])).toEqual({ theme: 'light', 'note:w': 'after the clear' })
  })

  test('a clear() in a context without the marker cookie that no page carries out removes nothing: it rejects STORAGE_UNAVAILABLE after 10 s', async () => {
    const { page, worker } = await pageAndWorker()
    await page.setMany({ theme: 'dark', visits: 3 })
    page.close()
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    let settled = false
    const cleared = worker.clear().then(() => 'resolved', (e: unknown) => e).finally(() => { settled = true })
    // Its request is written first (IndexedDB), then it waits: a second at a time, up to 12 s.
    for (let s = 0; s < 12 && !settled; s++) {
      await idle(20)
      await vi.advanceTimersByTimeAsync(1000)
    }
    vi.useRealTimers()
    expect(settled).toBe(true)
    const err = await cleared
    expect(err).toBeInstanceOf(VisitStoreError)
    expect((err as VisitStoreError).code).toBe('STORAGE_UNAVAILABLE')
    expect((err as VisitStoreError).message).toMatch(/clear\(\): no page of the browser session told within 10 s .*; nothing was removed/)
    expect(document.cookie).toContain(`${NAME}_theme=dark`)
    expect(await tab().getMany(['theme', 'cart', 'visits'])).toEqual({ theme: 'dark', cart: [{ sku: 'page', qty: 1 }], visits: 3 })
    expect((await rawRecords(idb, NAME)).size).toBeGreaterThan(0)
    expect([...(await rawRecords(idb, NAME)).keys()].filter((k) => String(k).startsWith('$clear'))).toEqual([])
  })

  test('a session.end() in a context without the marker cookie that no page answers ends nothing: it rejects STORAGE_UNAVAILABLE after 10 s, and that context keeps session data to itself from then on', async () => {
    const { page, worker } = await pageAndWorker()
    const errors: VisitStoreError[] = []
    worker.on('error', (e) => errors.push(e))
    // The page's store is closed: nobody answers.
    page.close()
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const ended = worker.session.end().then(() => 'resolved', (e: unknown) => e)
    await vi.advanceTimersByTimeAsync(9_900)
    expect(await Promise.race([ended, 'pending'])).toBe('pending')
    await vi.advanceTimersByTimeAsync(100)
    vi.useRealTimers()
    const err = await ended
    expect(err).toBeInstanceOf(VisitStoreError)
    expect((err as VisitStoreError).code).toBe('STORAGE_UNAVAILABLE')
    expect((err as VisitStoreError).message).toMatch(/session.end\(\): no page of the browser session told within 10 s that it carried it out/)
    expect(worker.status.browserSession).toBe('page')
    expect(errors.map((e) => e.code)).toEqual(['STORAGE_UNAVAILABLE'])
    expect(document.cookie).toContain(`${NAME}_locale=fr`)
    expect(await tab().getMany(['cart', 'locale'])).toEqual({ cart: [{ sku: 'page', qty: 1 }], locale: 'fr' })
    await worker.set('note:w', 'kept here')
    expect(await worker.get('note:w')).toBe('kept here')
    expect(await tab().get('note:w')).toBeUndefined()
  })
})

describe('data safety: cross-tier batches (the journal)', () => {
  /**
   * Two tabs' stores (A made with `a0`, and B; Web Locks) after A's batch `first`. A's next
   * batch's second cookie-lock request (to write its cookies, after its IndexedDB commit) is granted
   * only once `hold` resolves (never: A's page is gone); `asked` resolves when it is made.
   */
  async function crossingTabs(hold: Promise<void>, a0: Parameters<typeof makeStore>[0] = {}, first: Parameters<VisitStore<Schema>['setMany']>[0] = { theme: 'light', locale: 'en' }) {
    const locks = useWebLocks()
    const request = locks.request.bind(locks) as (...args: unknown[]) => Promise<unknown>
    let requests: number | undefined
    let made = () => {}
    const asked = new Promise<void>((resolve) => { made = resolve })
    ;(locks as { request: unknown }).request = (name: string, ...rest: unknown[]) => {
      if (requests !== undefined && name.endsWith('cookies') && ++requests === 2) {
        requests = undefined
        made()
        return hold.then(() => request(name, ...rest))
      }
      return request(name, ...rest)
    }
    const a = makeStore(a0)
    const b = makeStore()
    await Promise.all([a.ready, b.ready])
    await a.setMany(first)
    await idle()
    /** Runs `call` of A with its second cookie-lock request from here held (see above). */
    const armed = <T>(call: () => T): T => {
      requests = 0
      return call()
    }
    const batchOfA = (values: Parameters<typeof a.setMany>[0]) => armed(() => a.setMany(values))
    return { a, b, batchOfA, armed, asked }
  }

  test.each([
    ['the next start', false],
    ["another tab's batch", true],
  ] as const)('a clear() cut off between its IndexedDB part and its cookies (the tab gone) is finished by %s', async (_, batchAfter) => {
    const { b, a, armed, asked } = await crossingTabs(new Promise(() => {}))
    await b.setMany({ cart: [{ sku: 'a', qty: 1 }], visits: 1 })
    void armed(() => a.clear())
    await asked
    // Its records are gone, its cookies not yet.
    expect(await rawRecord(idb, 'shop', 'cart')).toBeUndefined()
    expect(cookieJar().shop_theme).toBe('light')
    const want = { theme: undefined, locale: batchAfter ? 'fr' : undefined, cart: undefined, visits: batchAfter ? 2 : undefined }
    if (batchAfter) await b.setMany({ locale: 'fr', visits: 2 })
    b.close()
    const next = makeStore()
    expect(await next.getMany(['theme', 'locale', 'cart', 'visits'])).toEqual(want)
    await next.ready
    expect(cookieJar().shop_theme).toBeUndefined()
  })
  test('the IndexedDB part commits before any cookie of the batch is written', async () => {
    let atCookieWrite: Promise<unknown> | undefined
    const conn: { raw?: IDBDatabase } = {}
    const jar = pageJar({
      drop(line) {
        // At the very moment the batch's cookie is written, look at what IndexedDB has committed.
        if (line.startsWith('shop_theme=dark') && conn.raw) atCookieWrite = settle(conn.raw.transaction('records').objectStore('records').get('cart'))
        return false
      },
    })
    const store = makeStore({ backends: { cookies: jar } })
    await store.ready
    await store.set('visits', 1) // the database exists now
    const raw = conn.raw = await settle(idb.open('visitstore-shop'))
    try {
      await store.setMany({ theme: 'dark', cart: [{ sku: 'a', qty: 1 }] })
      expect(atCookieWrite).toBeDefined()
      expect(await atCookieWrite).toMatchObject({ p: 'cart', v: [{ sku: 'a', qty: 1 }] })
    } finally {
      raw.close()
    }
  })

  test('single-tier writes do not need the journal: no commit-mark cookie travels with every request', async () => {
    const store = makeStore()
    await store.set('theme', 'dark')
    await store.set('cart', [])
    await store.setMany({ visits: 1, cart: [{ sku: 'a', qty: 1 }] })
    await store.setMany({ theme: 'light', locale: 'fr' })
    expect(Object.keys(cookieJar()).sort()).toEqual(['shop_$s', 'shop_locale', 'shop_theme'])
  })

  test('replay at the next start repairs cookies the browser lost after the batch resolved (a killed browser), so the batch is whole', async () => {
    const first = makeStore()
    await first.setMany({ theme: 'light', visits: 1 })
    const markBefore = cookieJar().shop_$c
    await first.setMany({ theme: 'dark', visits: 2 })
    first.close()
    // The browser persisted the IndexedDB transaction but not the cookie writes that came after it.
    expect(markBefore).toBeDefined()
    document.cookie = 'shop_theme=light; Path=/; Max-Age=31536000'
    document.cookie = `shop_$c=${markBefore}; Path=/; Max-Age=34560000`
    simulateBrowserRestart(['shop_$s'])
    // A killed browser takes seconds to come back (no Web Locks here: the IndexedDB lock's record
    // of other tabs' recent writes covers a lag of milliseconds, and must not hide this loss).
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 5000)
    const next = makeStore()
    // A read of both tiers waits for the replay: it never shows half a batch.
    expect(await next.getMany(['theme', 'visits'])).toEqual({ theme: 'dark', visits: 2 })
    await next.ready
    expect(cookieJar().shop_theme).toBe('dark')
    expect(next.peek('theme')).toBe('dark')
  })

  /**
   * Every cookie gone (lost by a killed browser, or cleared by someone), the browser restarted
   * (unless `restart` is false), and seconds later the next page's store, ready.
   */
  async function cookiesGone(restart = true): Promise<VisitStore<Schema>> {
    for (const name of Object.keys(cookieJar())) expireCookie(name)
    if (restart) simulateBrowserRestart([])
    vi.setSystemTime(Date.now() + 5000) // past the IndexedDB lock's memory of recent writes (it covers a lagging copy of the jar)
    const next = makeStore()
    await next.ready
    return next
  }

  /** The user browses on: `ms` later another page of the browser session starts (its start notes which commit marks are on disk by now). */
  async function later(ms: number): Promise<void> {
    vi.setSystemTime(Date.now() + ms)
    const page = makeStore()
    await page.ready
    await idle()
    page.close()
  }

  test.each([
    ['in the same browser session', false],
    ['after a browser restart', true],
  ] as const)('cookies removed by someone (Clear-Site-Data: "cookies", a consent tool), the commit mark with them, a minute or more after the batches that wrote them, stay removed at the next start %s', async (_, restart) => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const first = makeStore()
    await first.setMany({ theme: 'dark', visits: 1 })
    await first.setMany({ theme: 'light', visits: 2 })
    first.close()
    await idle()
    await later(40_000)
    await later(40_000)
    const next = await cookiesGone(restart)
    expect(cookieJar().shop_theme).toBeUndefined()
    expect(await next.getMany(['theme', 'visits'])).toEqual({ theme: undefined, visits: 2 })
    // Nor does the next batch's catch-up bring them back.
    await next.setMany({ locale: 'fr', visits: 3 })
    expect(cookieJar().shop_theme).toBeUndefined()
  })

  test('an open page proves its batches\' cookies on disk by itself (a timer, no later batch or page): cookies removed after that stay removed', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] })
    const first = makeStore()
    await first.setMany({ theme: 'dark', visits: 1 })
    await first.setMany({ theme: 'light', visits: 2 })
    await idle()
    for (let i = 0; i < 2; i++) {
      await vi.advanceTimersByTimeAsync(40_000)
      await idle()
    }
    first.close()
    const next = await cookiesGone()
    expect(await next.getMany(['theme', 'visits'])).toEqual({ theme: undefined, visits: 2 })
    expect(cookieJar().shop_theme).toBeUndefined()
  })

  test('a clock that went back proves nothing: a batch whose cookies a killed browser lost after the clock went back an hour is still replayed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const first = makeStore()
    await first.setMany({ theme: 'dark', visits: 1 })
    await idle()
    await later(-3_600_000)
    await later(10_000)
    first.close()
    const next = await cookiesGone()
    expect(await next.getMany(['theme', 'visits'])).toEqual({ theme: 'dark', visits: 1 })
  })

  test('a commit mark removed alone does not put back a value older than a later write', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const first = makeStore()
    await first.setMany({ theme: 'dark', visits: 0 })
    await first.setMany({ theme: 'light', visits: 1 })
    await first.set('theme', 'dark')
    first.close()
    await idle()
    await later(40_000)
    await later(40_000)
    expireCookie('shop_$c')
    vi.setSystemTime(Date.now() + 5000)
    const next = makeStore()
    await next.ready
    expect(await next.get('theme')).toBe('dark')
    await next.setMany({ locale: 'fr', visits: 2 })
    expect(cookieJar().shop_theme).toBe('dark')
  })

  test('a killed browser that lost every cookie write of the store\'s first batches (no commit mark on its disk yet) gets them back at the next start', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const first = makeStore()
    await first.setMany({ theme: 'dark', visits: 1 })
    await idle()
    // 20 s on, still before Chromium wrote its cookie store, the browser is killed.
    vi.setSystemTime(Date.now() + 20_000)
    await first.setMany({ theme: 'light', visits: 2 })
    await idle()
    first.close()
    const next = await cookiesGone()
    expect(await next.getMany(['theme', 'visits'])).toEqual({ theme: 'light', visits: 2 })
    expect(cookieJar().shop_theme).toBe('light')
  })

  test.each([
    ['restarted (the cookie counts as lost, as a killed WebKitGTK loses it)', true, 'dark'],
    ['not restarted (someone deleted it: left alone)', false, undefined],
  ] as const)('a cookie of the newest unmarked batch that is missing outright, the browser %s', async (_, restart, theme) => {
    const first = makeStore()
    await first.setMany({ theme: 'light', visits: 1 })
    const markBefore = cookieJar().shop_$c
    await first.setMany({ theme: 'dark', visits: 2 })
    first.close()
    // The second batch's cookie write was torn (the old cookie deleted, the new one never inserted)
    // and its mark never written.
    expireCookie('shop_theme')
    document.cookie = `shop_$c=${markBefore}; Path=/; Max-Age=34560000`
    if (restart) simulateBrowserRestart(['shop_$s'])
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 5000) // a killed browser takes seconds to come back (see above)
    const next = makeStore()
    await next.ready
    expect(cookieJar().shop_theme).toBe(theme)
    expect(await next.getMany(['theme', 'visits'])).toEqual({ theme, visits: 2 })
  })

  test('replay after a browser restart does not bring back a session cookie of the ended browser session (a killed browser that persisted the records but not the mark)', async () => {
    const first = makeStore()
    await first.setMany({ theme: 'light', cart: [] })
    const markBefore = cookieJar().shop_$c
    await first.setMany({ theme: 'dark', locale: 'fr', cart: [{ sku: 'b', qty: 2 }] })
    first.close()
    // On disk: the records and the journal entry, the persistent cookies as of before the batch;
    // the session cookies (the batch's locale, the marker) ended with the browser session.
    document.cookie = 'shop_theme=light; Path=/; Max-Age=31536000'
    document.cookie = `shop_$c=${markBefore}; Path=/; Max-Age=34560000`
    simulateBrowserRestart(['shop_$s', 'shop_locale'])
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 5000) // a killed browser takes seconds to come back
    const next = makeStore()
    await next.ready
    expect(await next.getMany(['theme', 'locale', 'cart'])).toEqual({ theme: 'dark', locale: undefined, cart: undefined })
    expect(cookieJar().shop_locale).toBeUndefined()
  })

  test.each([
    ['the next start', false],
    ["another tab's batch", true],
  ] as const)('a tab gone between its batch\'s IndexedDB commit and its cookies, then session.end() in another tab: %s does not bring back the batch\'s session cookie', async (_, batchAfter) => {
    // The batch creates its session cookie: "missing" is then a value of its chain.
    const { b, batchOfA, asked } = await crossingTabs(new Promise(() => {}), {}, { theme: 'light' })
    void batchOfA({ theme: 'dark', locale: 'fr', cart: [{ sku: 'a', qty: 1 }] })
    await asked
    await b.session.end()
    if (batchAfter) await b.setMany({ theme: 'light', visits: 2 })
    const want = { theme: batchAfter ? 'light' : 'dark', locale: undefined, cart: undefined }
    if (batchAfter) expect(await b.getMany(['theme', 'locale', 'cart'])).toEqual(want)
    b.close()
    const next = makeStore()
    await next.ready
    expect(await next.getMany(['theme', 'locale', 'cart'])).toEqual(want)
    expect(cookieJar().shop_locale).toBeUndefined()
  })

  test('replay leaves alone a cookie someone else changed since the batch', async () => {
    const first = makeStore()
    await first.setMany({ theme: 'light', cart: [] })
    await first.setMany({ theme: 'dark', cart: [{ sku: 'b', qty: 2 }] })
    first.close()
    expireCookie('shop_$c')
    // The server (or another tab) wrote the cookie after the batch: its value is newer than the batch's.
    document.cookie = 'shop_theme=sepia; Path=/'
    const next = makeStore()
    await next.ready
    expect(cookieJar().shop_theme).toBe('sepia')
    expect(await next.get('cart')).toEqual([{ sku: 'b', qty: 2 }])
  })

  test.each([
    ['another key', { locale: 'fr', visits: 2 }, { theme: 'dark', cart: [{ sku: 'a', qty: 1 }], locale: 'fr', visits: 2 }],
    // The gone batch's theme must not be written over the later batch's.
    ['the same cookie key (the later batch wins it)', { theme: 'light', visits: 2 }, { theme: 'light', cart: [{ sku: 'a', qty: 1 }], visits: 2 }],
  ] as [string, { theme?: 'light' | 'dark', locale?: string, visits?: number }, Record<string, unknown>][])('a tab gone between its batch\'s IndexedDB commit and its cookies, while another tab\'s later batch writes %s: the gone batch is whole at the next start', async (_, later, whole) => {
    // Tab A's page goes away while it waits for the cookie lock a second time (after its IndexedDB
    // commit): that lock request is never granted, and nothing of A runs after it.
    const { b, batchOfA, asked } = await crossingTabs(new Promise(() => {}))
    void batchOfA({ theme: 'dark', cart: [{ sku: 'a', qty: 1 }] })
    await asked
    expect(await rawRecord(idb, 'shop', 'cart')).toMatchObject({ v: [{ sku: 'a', qty: 1 }] })
    expect(cookieJar().shop_theme).toBe('light')
    await b.setMany(later)
    b.close()
    const next = makeStore()
    expect(await next.getMany(['theme', 'cart', 'locale', 'visits'])).toEqual({ locale: 'en', ...whole })
  })

  test.each([
    ['the same keys (the later batch wins both)', { theme: 'light', cart: [{ sku: 'b', qty: 2 }] }, { theme: 'light', cart: [{ sku: 'b', qty: 2 }], locale: 'en' }],
    ['the same cookie key and another record (the earlier batch keeps its cart)', { theme: 'light', visits: 2 }, { theme: 'light', cart: [{ sku: 'a', qty: 1 }], visits: 2, locale: 'en' }],
    ['another cookie key and the same record', { locale: 'fr', cart: [{ sku: 'b', qty: 2 }] }, { theme: 'dark', cart: [{ sku: 'b', qty: 2 }], locale: 'fr' }],
  ] as [string, { theme?: 'light' | 'dark', locale?: string, visits?: number, cart?: { sku: string, qty: number }[] }, Record<string, unknown>][])('two tabs\' cross-tier batches whose cookie writes cross (A commits first, B writes its cookies first), writing %s: the end state is A then B, never a mix', async (_, later, want) => {
    // Tab A's second cookie-lock request (after its IndexedDB commit) waits until B's batch is done.
    let letGo = () => {}
    const { a, b, batchOfA, asked } = await crossingTabs(new Promise<void>((resolve) => { letGo = resolve }))
    const aDone = batchOfA({ theme: 'dark', cart: [{ sku: 'a', qty: 1 }] })
    await asked
    await b.setMany(later)
    letGo()
    await aDone
    const keys = Object.keys(want) as (keyof Schema)[]
    expect(await a.getMany(keys)).toEqual(want)
    expect(await b.getMany(keys)).toEqual(want)
    a.close()
    b.close()
    const next = makeStore()
    expect(await next.getMany(keys)).toEqual(want)
  })

  test('a batch undone (its cookie refused) after another tab wrote one of its records leaves that write in place', async () => {
    let letGo = () => {}
    // A's theme cookie is dropped, and found so when read back (A's first cookie write, so read back: its cookies carry a Domain).
    const jar = pageJar({ drop: (line) => line.startsWith('shop_theme=') })
    const { a, b, batchOfA, asked } = await crossingTabs(new Promise<void>((resolve) => { letGo = resolve }), { cookie: { domain: 'localhost' }, backends: { cookies: jar } }, { cart: [], visits: 1 })
    const aDone = batchOfA({ theme: 'dark', cart: [{ sku: 'a', qty: 1 }], visits: 2 })
    await asked
    await b.set('cart', [{ sku: 'b', qty: 2 }])
    letGo()
    await expectCode(aDone, 'STORAGE_UNAVAILABLE')
    const want = { theme: undefined, cart: [{ sku: 'b', qty: 2 }], visits: 1 }
    expect(await a.getMany(['theme', 'cart', 'visits'])).toEqual(want)
    expect(await b.getMany(['theme', 'cart', 'visits'])).toEqual(want)
    a.close()
    b.close()
    expect(await makeStore().getMany(['theme', 'cart', 'visits'])).toEqual(want)
  })

  test.each(['visits', 'theme'] as const)('update("%s") with an async function rejects NOT_SERIALIZABLE saying it must be synchronous; the old value stays', async (key) => {
    const store = makeStore()
    await store.set(key, key === 'visits' ? 1 : 'light')
    const err = await expectCode(store.update(key, (async () => 'never') as never), 'NOT_SERIALIZABLE')
    expect(err.message).toMatch(/must be synchronous/)
    expect(await store.get(key)).toBe(key === 'visits' ? 1 : 'light')
  })

  test('a cookie the browser refuses after the IndexedDB commit undoes the IndexedDB part exactly, and the batch rejects', async () => {
    // A Domain attribute: the batch's cookie is the first written with it (the marks are host-only), so it is read back at once.
    const jar = pageJar({ drop: (line) => line.startsWith('shop_theme=') })
    const store = makeStore({ cookie: { domain: 'localhost' }, backends: { cookies: jar } })
    await store.setMany({ cart: [{ sku: 'a', qty: 1 }], visits: 1, 'doc:kept': { title: 'k', body: '' } })
    const before = await appRecords()
    const seen = vi.fn()
    store.watch('cart', seen)
    await expectCode(store.setMany({ theme: 'dark', cart: [{ sku: 'b', qty: 2 }], visits: 2, 'doc:new': { title: 'n', body: '' } }), 'STORAGE_UNAVAILABLE')
    expect(await appRecords()).toEqual(before)
    expect(await store.getMany(['theme', 'cart', 'visits', 'doc:new'])).toEqual({ theme: undefined, cart: [{ sku: 'a', qty: 1 }], visits: 1, 'doc:new': undefined })
    expect(seen).not.toHaveBeenCalled()
    // Nothing of the refused batch comes back at the next start either.
    store.close()
    const next = makeStore()
    await next.ready
    expect(await next.getMany(['theme', 'cart', 'visits', 'doc:new'])).toEqual({ theme: undefined, cart: [{ sku: 'a', qty: 1 }], visits: 1, 'doc:new': undefined })
    expect(cookieJar().shop_theme).toBeUndefined()
  })
})
