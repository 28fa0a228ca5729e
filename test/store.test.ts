import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { createStore, VisitStoreError, type ErrorCode, type VisitStore } from '../src/index.js'
import { clearAllCookies, cookieJar, interceptCookieWrites, rawRecord, simulateBrowserRestart } from './fixtures/page-storage.js'

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
} as const

let idb: IDBFactory
const open: VisitStore<Schema>[] = []
function makeStore(extra: { cookie?: { budget?: number } } = {}): VisitStore<Schema> {
  const store = createStore<Schema>({ name: 'shop', keys, backends: { indexedDB: idb }, ...extra })
  open.push(store)
  return store
}

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
    const statuses: unknown[] = []
    const errors: VisitStoreError[] = []
    store.on('status', (s) => statuses.push(s))
    store.on('error', (e) => errors.push(e))
    await store.ready
    await store.set('cart', [{ sku: 'a', qty: 1 }])
    expect(await store.get('cart')).toEqual([{ sku: 'a', qty: 1 }])
    expect(store.placement('cart').tier).toBe('memory')
    expect(store.placement('cart').reason).toMatch(/memory/)
    expect(store.status.indexeddb).toBe('memory')
    expect(statuses).toEqual([{ indexeddb: 'memory', cookies: 'ok', sessionStorage: 'ok' }])
    expect(errors.map((e) => e.code)).toEqual(['STORAGE_UNAVAILABLE'])
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
    // The stale session record was swept from the database during ready, not just hidden.
    expect(await rawRecord(idb, 'shop', 'cart')).toBeUndefined()
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
      expect(w).toMatch(/; path=\//)
      expect(w).toMatch(/; SameSite=Lax/)
      expect(w).not.toMatch(/Secure/) // the page is http
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
    await second.ready
    expect(await rawRecord(idb, 'shop', 'draft')).toBeUndefined()
    expect(await second.keys()).toEqual(['visits'])
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

  test('STORAGE_UNAVAILABLE: a cookie the browser silently drops is reported, not pretended', async () => {
    const store = makeStore()
    await store.set('locale', 'en')
    // Like WebKit with a Secure cookie on http, or a browser blocking cookies: the write is ignored.
    const restore = interceptCookieWrites((line) => !line.startsWith('shop_locale='))
    try {
      await expectCode(store.set('locale', 'fr'), 'STORAGE_UNAVAILABLE')
    } finally {
      restore()
    }
    expect(await store.get('locale')).toBe('en')
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
    await expectCode(store.setMany({ theme: 'dark', scroll: 2, cart: [{ sku: 'x', qty: 1 }], locale: 'x'.repeat(5000) }), 'COOKIE_TOO_LARGE')
    await expectCode(store.setMany({ theme: 'dark', scroll: 2, draft: { title: 'a', body: Symbol('no') } as never }), 'NOT_SERIALIZABLE')
    const put = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(() => { throw new DOMException('full', 'QuotaExceededError') })
    await expectCode(store.setMany({ theme: 'dark', scroll: 2, cart: [{ sku: 'y', qty: 1 }] }), 'QUOTA_EXCEEDED')
    put.mockRestore()
    expect(await store.getMany(['theme', 'scroll', 'cart'])).toEqual({ theme: 'light', scroll: 1, cart: [] })
    expect(cookieJar().shop_theme).toBe('light')
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

  test('a failed write fires nothing', async () => {
    const store = makeStore()
    const cb = vi.fn()
    store.watch('locale', cb)
    await store.set('locale', 'x'.repeat(5000)).catch(() => {})
    expect(cb).not.toHaveBeenCalled()
  })
})
