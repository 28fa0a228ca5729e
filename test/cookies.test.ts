// The cookie tier, through the front door: what lands in the jar, what the server reads, and
// what the store refuses before writing.
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { createStore, VisitStoreError, type CookieJar, type StoreOptions, type VisitStore } from '../src/index.js'
import { clearAllCookies, cookieAttributes, cookieJar, laggingJar, pageJar, rejectionOf, thrownError, useWebLocks } from './fixtures/page-storage.js'

interface Schema {
  theme: string
  locale: string
  zip: string
  visits: number
  a: unknown
  b: unknown
  c: unknown
  [k: `n:${string}`]: unknown
  cart: string[]
}
const keys = {
  theme: { lifetime: 'persistent', serverVisible: true, maxAge: 3600 },
  locale: { lifetime: 'session', serverVisible: true },
  zip: { lifetime: 'persistent', serverVisible: true, type: 'string' },
  visits: { lifetime: 'persistent', serverVisible: true },
  a: { lifetime: 'session', serverVisible: true },
  b: { lifetime: 'session', serverVisible: true },
  c: { lifetime: 'session', serverVisible: true },
  'n:*': { lifetime: 'session', serverVisible: true },
  cart: { lifetime: 'session' },
} as const

/** `shop_$s=<12 characters>`: the browser-session marker every store of a page writes. */
const MARKER_BYTES = 'shop_$s'.length + 12

const stores: VisitStore<Schema>[] = []
function open(options: Partial<StoreOptions<Schema>> = {}): VisitStore<Schema> {
  const store = createStore<Schema>({ name: 'shop', keys, ...options, backends: { indexedDB: new IDBFactory(), ...options.backends } })
  stores.push(store)
  return store
}

/**
 * A jar over the page's cookies whose copy shows `shows` ([name, raw value]) in place of that
 * cookie, or beside the others where the jar has none, until this tab writes that cookie again: a
 * content process's copy that went back to an older value (Firefox: a late notice of another tab's
 * earlier write, kept for good) or shows a cookie the page removed (WebKit, for a moment).
 */
function copyingJar() {
  const jar = {
    shows: undefined as [name: string, raw: string] | undefined,
    read() {
      if (!jar.shows) return document.cookie
      const [name, raw] = jar.shows
      const others = document.cookie.split('; ').filter((pair) => pair && !pair.startsWith(`${name}=`))
      return [...others, `${name}=${raw}`].join('; ')
    },
    write(line: string) {
      document.cookie = line
      if (jar.shows && line.startsWith(`${jar.shows[0]}=`)) jar.shows = undefined
    },
  }
  return jar
}

const setPageUrl = (url: string) => (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(url)
const HOME = 'http://localhost:3000/'

beforeEach(clearAllCookies)
afterEach(() => {
  for (const store of stores.splice(0)) store.close()
  vi.unstubAllGlobals()
  vi.restoreAllMocks()
  vi.useRealTimers()
  clearAllCookies()
})

describe('names and values, as the server reads them', () => {
  /** What a server does with a cookie value: URL-decode it. */
  const serverReads = (name: string) => decodeURIComponent(cookieJar()[name] as string)

  test('a value is written as cookie <name>_<key> and read back', async () => {
    const store = open()
    await store.set('theme', 'dark')
    expect(cookieJar().shop_theme).toBe('dark')
    expect(await store.get('theme')).toBe('dark')
    expect(store.peek('theme')).toBe('dark')
  })

  test('strings reach the server as themselves, other values as JSON, all URL-encoded', async () => {
    const store = open()
    await store.setMany({ a: '100% sure; ok=yes', b: { dense: true, tags: ['x'] }, c: 'é' })
    expect(cookieJar().shop_a).toBe('100%25%20sure%3B%20ok%3Dyes')
    expect(serverReads('shop_a')).toBe('100% sure; ok=yes')
    expect(JSON.parse(serverReads('shop_b'))).toEqual({ dense: true, tags: ['x'] })
    expect(serverReads('shop_c')).toBe('é')
    expect(await store.getMany(['a', 'b', 'c'])).toEqual({ a: '100% sure; ok=yes', b: { dense: true, tags: ['x'] }, c: 'é' })
  })

  test("a string that looks like JSON is quoted so that it reads back as a string; type: 'string' never quotes", async () => {
    const store = open()
    await store.setMany({ a: '42', zip: '01234' })
    expect(serverReads('shop_a')).toBe('"42"')
    expect(serverReads('shop_zip')).toBe('01234')
    expect(await store.getMany(['a', 'zip'])).toEqual({ a: '42', zip: '01234' })
  })

  test('values the server wrote are read as the server meant them', async () => {
    document.cookie = 'shop_zip=10001; Path=/'
    document.cookie = `shop_a=${encodeURIComponent('{"x":1}')}; Path=/`
    document.cookie = 'shop_theme=light; Path=/'
    document.cookie = 'shop_b=x=y; Path=/'
    const store = open()
    expect(await store.getMany(['zip', 'a', 'theme', 'b'])).toEqual({ zip: '10001', a: { x: 1 }, theme: 'light', b: 'x=y' })
  })

  test('a cookie of another owner whose name cannot be decoded does not stop the store reading its own', async () => {
    const store = open()
    await store.set('theme', 'dark')
    const jar = pageJar({ alsoVisible: () => '%E0%A4%A=bad; bare' })
    const reader = open({ backends: { cookies: jar } })
    expect(await reader.get('theme')).toBe('dark')
  })

  test('a key that needs encoding in a cookie name is written encoded (as js-cookie does) and read back', async () => {
    const store = open()
    await store.set('n:a b;c', 'v')
    expect(cookieJar()['shop_n%3Aa%20b%3Bc']).toBe('v')
    expect(await store.get('n:a b;c')).toBe('v')
    expect(await store.keys('n:')).toEqual(['n:a b;c'])
  })

  test('a missing key reads as undefined; a write replaces the cookie instead of adding one', async () => {
    const store = open()
    expect(await store.get('theme')).toBeUndefined()
    await store.set('theme', 'dark')
    await store.set('theme', 'light')
    expect(document.cookie.match(/shop_theme=/g)).toHaveLength(1)
    expect(store.peek('theme')).toBe('light')
  })

  test('a change made outside the store (the server, another tab) is seen by the next read', async () => {
    const store = open()
    await store.set('locale', 'fr')
    document.cookie = 'shop_locale=de; Path=/'
    expect(store.peek('locale')).toBe('de')
    document.cookie = 'shop_locale=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT'
    expect(await store.get('locale')).toBeUndefined()
  })

  test("keys() lists the store's declared cookies only: not other prefixes, undeclared names or its own marks", async () => {
    document.cookie = 'shopping=1; Path=/'
    document.cookie = 'other_theme=1; Path=/'
    document.cookie = 'shop_csrf=token; Path=/'
    const store = open()
    await store.ready
    await store.setMany({ theme: 'dark', 'n:1': 'x' })
    expect(cookieJar()).toHaveProperty('shop_$s')
    expect(await store.keys()).toEqual(['n:1', 'theme'])
  })

  test('writing and deleting leave the cookies of other owners untouched', async () => {
    document.cookie = 'PHPSESSID=abc123; Path=/'
    document.cookie = 'theme=foreign; Path=/'
    document.cookie = 'other_theme=foreign; Path=/'
    const store = open()
    await store.set('theme', 'dark')
    await store.delete('theme')
    expect(cookieJar()).toMatchObject({ PHPSESSID: 'abc123', theme: 'foreign', other_theme: 'foreign' })
    expect(cookieJar()).not.toHaveProperty('shop_theme')
  })

  test('a value edited by hand into something undecodable reads as missing and fires `invalid`', async () => {
    document.cookie = 'shop_a=%E0%A4%A; Path=/'
    const store = open()
    const invalid = vi.fn()
    store.on('invalid', invalid)
    expect(await store.get('a')).toBeUndefined()
    expect(invalid).toHaveBeenCalledWith({ key: 'a', reason: expect.stringMatching(/URL encoding/) })
  })
})

describe('attributes', () => {
  const lineOf = (jar: { lines: string[] }, name: string) => jar.lines.filter((line) => line.startsWith(`${name}=`)).at(-1)

  test('a persistent cookie: Path=/, SameSite=Lax and its Max-Age; no Secure on an http page', async () => {
    const jar = pageJar()
    await open({ backends: { cookies: jar } }).set('theme', 'dark')
    expect(lineOf(jar, 'shop_theme')?.startsWith('shop_theme=dark;')).toBe(true)
    expect(cookieAttributes(lineOf(jar, 'shop_theme'))).toEqual({ path: '/', samesite: 'Lax', 'max-age': '3600' })
  })

  test('a persistent cookie without maxAge lasts the 400 days browsers allow', async () => {
    const jar = pageJar()
    await open({ backends: { cookies: jar } }).set('visits', 1)
    expect(cookieAttributes(lineOf(jar, 'shop_visits'))['max-age']).toBe(String(400 * 24 * 60 * 60))
  })

  test('a session cookie has neither Max-Age nor Expires', async () => {
    const jar = pageJar()
    await open({ backends: { cookies: jar } }).set('locale', 'fr')
    expect(cookieAttributes(lineOf(jar, 'shop_locale'))).toEqual({ path: '/', samesite: 'Lax' })
  })

  test('delete expires the cookie on its path with an Expires in the past', async () => {
    const jar = pageJar()
    const store = open({ backends: { cookies: jar } })
    await store.set('theme', 'dark')
    await store.delete('theme')
    const removal = cookieAttributes(lineOf(jar, 'shop_theme'))
    expect(removal.path).toBe('/')
    expect(new Date(removal.expires as string).getTime()).toBeLessThan(Date.now())
    expect(cookieJar()).not.toHaveProperty('shop_theme')
    expect(store.peek('theme')).toBeUndefined()
  })

  describe('on other pages', () => {
    afterEach(() => {
      for (const store of stores.splice(0)) store.close()
      for (const path of ['/', '/app']) document.cookie = `shop_locale=; Path=${path}; Expires=Thu, 01 Jan 1970 00:00:00 GMT`
      setPageUrl(HOME)
    })

    test('Secure by default on an https page, and with secure: true', async () => {
      setPageUrl('https://localhost:3000/')
      const jar = pageJar()
      await open({ backends: { cookies: jar } }).set('locale', 'fr')
      expect(cookieAttributes(lineOf(jar, 'shop_locale')).secure).toBe(true)
      expect(cookieAttributes(lineOf(jar, 'shop_$s')).secure).toBe(true)
      const explicit = pageJar()
      await open({ cookie: { secure: true }, backends: { cookies: explicit } }).set('locale', 'de')
      expect(cookieAttributes(lineOf(explicit, 'shop_locale')).secure).toBe(true)
    })

    test("sameSite 'None' is written with Secure", async () => {
      setPageUrl('https://localhost:3000/')
      const jar = pageJar()
      await open({ cookie: { sameSite: 'None' }, backends: { cookies: jar } }).set('locale', 'fr')
      expect(cookieAttributes(lineOf(jar, 'shop_locale'))).toMatchObject({ samesite: 'None', secure: true })
    })

    test('sameSite and path are written as given, and a delete uses the same path', async () => {
      setPageUrl('http://localhost:3000/app/cart')
      const jar = pageJar()
      const store = open({ cookie: { sameSite: 'Strict', path: '/app' }, backends: { cookies: jar } })
      await store.set('locale', 'fr')
      expect(cookieAttributes(lineOf(jar, 'shop_locale'))).toEqual({ path: '/app', samesite: 'Strict' })
      await store.delete('locale')
      expect(cookieAttributes(lineOf(jar, 'shop_locale'))).toMatchObject({ path: '/app' })
      expect(store.peek('locale')).toBeUndefined()
    })

    test('the browser-session marker is always Path=/ and host-only, whatever cookie.path and domain say', async () => {
      setPageUrl('http://www.example.test/app/')
      const jar = pageJar()
      const store = open({ cookie: { path: '/app', domain: 'example.test' }, backends: { cookies: jar } })
      await store.ready
      const marker = cookieAttributes(lineOf(jar, 'shop_$s'))
      expect(marker.path).toBe('/')
      expect(marker).not.toHaveProperty('domain')
      expect(marker).not.toHaveProperty('max-age')
      expect(marker).not.toHaveProperty('expires')
    })
  })

  test('cookies the browser would drop are refused at createStore with INVALID_OPTIONS', () => {
    const none = thrownError(() => createStore<Schema>({ name: 'shop', keys, cookie: { sameSite: 'None' } }))
    expect(none.code).toBe('INVALID_OPTIONS')
    expect(none.message).toMatch(/secure: true/)
    setPageUrl('http://shop.example.test/')
    try {
      expect(thrownError(() => createStore<Schema>({ name: 'shop', keys, cookie: { secure: true } })).code).toBe('INVALID_OPTIONS')
      expect(thrownError(() => createStore<Schema>({ name: 'shop', keys, cookie: { domain: 'other.test' } })).code).toBe('INVALID_OPTIONS')
    } finally {
      setPageUrl(HOME)
    }
  })
})

describe('sizes, checked before anything is written', () => {
  test('exactly 4096 bytes of name+value are accepted; 4097 are COOKIE_TOO_LARGE and nothing is written', async () => {
    const jar = pageJar()
    const store = open({ cookie: { budget: 10_000 }, backends: { cookies: jar } })
    const fits = 'x'.repeat(4096 - 'shop_a'.length)
    await store.set('a', fits)
    expect(store.peek('a')).toBe(fits)
    const before = jar.lines.length
    const err = await rejectionOf(store.set('a', `${fits}x`))
    expect(err.code).toBe('COOKIE_TOO_LARGE')
    expect(err.message).toContain('4097 bytes')
    expect(err.message).toContain('set("a")')
    expect(jar.lines.length).toBe(before)
    expect(store.peek('a')).toBe(fits)
  })

  test('the name counts as encoded: shop_n:é takes 15 bytes (shop_n%3A%C3%A9), not 8', async () => {
    const store = open({ cookie: { budget: 10_000 } })
    const name = 'shop_n%3A%C3%A9'
    expect((await rejectionOf(store.set('n:é', 'x'.repeat(4096 - name.length + 1)))).code).toBe('COOKIE_TOO_LARGE')
    await store.set('n:é', 'x'.repeat(4096 - name.length))
    expect(store.peek('n:é')).toHaveLength(4096 - name.length)
  })

  test('over 4096 bytes is COOKIE_TOO_LARGE whatever the budget', async () => {
    expect((await rejectionOf(open().set('a', 'x'.repeat(5000)))).code).toBe('COOKIE_TOO_LARGE')
  })

  test('a setMany with one oversized cookie writes none of it', async () => {
    const jar = pageJar()
    const store = open({ cookie: { budget: 20_000 }, backends: { cookies: jar } })
    await store.set('a', 'old')
    const before = jar.lines.length
    expect((await rejectionOf(store.setMany({ a: 'new', b: 'x'.repeat(5000) }))).code).toBe('COOKIE_TOO_LARGE')
    expect(jar.lines.length).toBe(before)
    expect(await store.getMany(['a', 'b'])).toEqual({ a: 'old', b: undefined })
  })
})

describe('the budget', () => {
  test("defaults to 2048 bytes for all of the store's cookies, its marker included", async () => {
    const store = open()
    await store.ready
    await store.set('a', 'x'.repeat(2048 - MARKER_BYTES - 'shop_a'.length))
    const err = await rejectionOf(store.set('b', 'x'))
    expect(err.code).toBe('COOKIE_BUDGET_EXCEEDED')
    expect(err.message).toContain(`${2048 + 'shop_b=x'.length - 1} bytes`)
    expect(err.message).toContain('budget of 2048')
  })

  test('counts the browser-session marker shop_$s', async () => {
    const store = open({ cookie: { budget: 40 } })
    await store.ready
    expect((await rejectionOf(store.set('a', 'x'.repeat(40 - MARKER_BYTES - 'shop_a'.length + 1)))).code).toBe('COOKIE_BUDGET_EXCEEDED')
    await store.set('a', 'x'.repeat(40 - MARKER_BYTES - 'shop_a'.length))
    expect(store.peek('a')).toHaveLength(40 - MARKER_BYTES - 'shop_a'.length)
  })

  test('counts the commit mark shop_$c that a setMany across cookies and IndexedDB leaves', async () => {
    const store = open({ cookie: { budget: 45 } })
    await store.ready
    await store.setMany({ a: 'x', cart: ['sku-1'] })
    expect(cookieJar()).toHaveProperty('shop_$c')
    const used = MARKER_BYTES + 'shop_a'.length + 1 + 'shop_$c'.length + (cookieJar()['shop_$c'] as string).length
    const err = await rejectionOf(store.set('b', 'y'.repeat(45 - used - 'shop_b'.length + 1)))
    expect(err.code).toBe('COOKIE_BUDGET_EXCEEDED')
    expect(err.message).toContain('46 bytes')
  })

  test('counts cookies of declared keys already in the jar (written by the server or another tab)', async () => {
    document.cookie = `shop_a=${'x'.repeat(15)}; Path=/`
    const store = open({ cookie: { budget: 60 } })
    await store.ready
    // 19 (marker) + 21 (shop_a) + 6 + 15 (shop_b) = 61
    expect((await rejectionOf(store.set('b', 'y'.repeat(15)))).code).toBe('COOKIE_BUDGET_EXCEEDED')
    await store.set('b', 'y'.repeat(14))
  })

  test('undeclared cookies do not count, even with the prefix (shop_csrf set by the server)', async () => {
    document.cookie = `shop_csrf=${'z'.repeat(500)}; Path=/`
    document.cookie = `analytics=${'z'.repeat(500)}; Path=/`
    document.cookie = `shopping=${'z'.repeat(500)}; Path=/`
    const store = open({ cookie: { budget: 60 } })
    await store.ready
    await store.set('a', 'x'.repeat(60 - MARKER_BYTES - 'shop_a'.length))
    expect(store.peek('a')).toHaveLength(60 - MARKER_BYTES - 'shop_a'.length)
    expect(cookieJar().shop_csrf).toHaveLength(500)
  })

  test('a rewrite counts the new size of that cookie, not old + new', async () => {
    const store = open({ cookie: { budget: 60 } })
    await store.ready
    await store.set('a', 'x'.repeat(30))
    await store.set('a', 'y'.repeat(60 - MARKER_BYTES - 'shop_a'.length))
    expect(store.peek('a')).toMatch(/^y+$/)
  })

  test('a setMany over the budget writes none of its cookies', async () => {
    const jar = pageJar()
    const store = open({ cookie: { budget: 60 }, backends: { cookies: jar } })
    await store.set('a', 'old')
    const before = jar.lines.length
    expect((await rejectionOf(store.setMany({ a: 'new', b: 'x'.repeat(20), c: 'x'.repeat(20) }))).code).toBe('COOKIE_BUDGET_EXCEEDED')
    expect(jar.lines.length).toBe(before)
    expect(await store.getMany(['a', 'b', 'c'])).toEqual({ a: 'old', b: undefined, c: undefined })
  })

  test('a deleted cookie frees its share', async () => {
    const store = open({ cookie: { budget: 60 } })
    await store.ready
    await store.set('a', 'x'.repeat(30))
    expect((await rejectionOf(store.set('b', 'x'.repeat(10)))).code).toBe('COOKIE_BUDGET_EXCEEDED')
    await store.delete('a')
    await store.set('b', 'x'.repeat(10))
    expect(store.peek('b')).toBe('x'.repeat(10))
  })

  test.each([0, -1, 1.5, Number.NaN, Infinity, '2048'])('a budget of %s is INVALID_OPTIONS', (budget) => {
    expect(thrownError(() => createStore<Schema>({ name: 'shop', keys, cookie: { budget: budget as number } })).code).toBe('INVALID_OPTIONS')
  })
})

describe.each([['with Web Locks', true], ['without Web Locks', false]])('two tabs writing under one budget, %s', (_, webLocks) => {
  test("the store's cookies never exceed the budget; writes over it reject COOKIE_BUDGET_EXCEEDED", async () => {
    if (webLocks) useWebLocks()
    const indexedDB = new IDBFactory()
    const tabs = [0, 1].map(() => open({ cookie: { budget: 500 }, backends: { indexedDB } }))
    await Promise.all(tabs.map((t) => t.ready))
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      (tabs[i % 2] as VisitStore<Schema>).set(`n:${i}`, 'v'.repeat(40)).then(() => 'ok', (e: VisitStoreError) => e.code)))
    expect(new Set(outcomes)).toEqual(new Set(['ok', 'COOKIE_BUDGET_EXCEEDED']))
    const ours = Object.entries(cookieJar()).filter(([name]) => name.startsWith('shop_'))
    expect(ours.reduce((sum, [name, value]) => sum + name.length + value.length, 0)).toBeLessThanOrEqual(500)
  })
})

describe.each([['with Web Locks', true], ['without Web Locks', false]])('a burst of writes under the budget, %s', (_, webLocks) => {
  // Sets and deletes fired in one tick share one section: the budget is counted as they go
  // (rewrites, deletions, refusals), never from a stale total. Each outcome is predicted by a model.
  test('200 operations over 4 keys: every outcome as predicted, the jar as the model ends', async () => {
    if (webLocks) useWebLocks()
    const budget = 150
    const names = ['s1', 's2', 's3', 's4'] as const
    const store = createStore({
      name: 'shop',
      keys: Object.fromEntries(names.map((k) => [k, { lifetime: 'session', serverVisible: true, type: 'string' }])) as Record<(typeof names)[number], { lifetime: 'session', serverVisible: true, type: 'string' }>,
      cookie: { budget },
      backends: { indexedDB: new IDBFactory() },
    })
    stores.push(store as never)
    await store.ready
    let seed = 7
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
    const model = new Map<string, number>()
    const used = () => MARKER_BYTES + [...model].reduce((sum, [key, n]) => sum + `shop_${key}`.length + n, 0)
    const expected: string[] = []
    const pending: Promise<string>[] = []
    for (let i = 0; i < 200; i++) {
      const key = names[Math.floor(next() * names.length)] as (typeof names)[number]
      if (next() < 0.2) {
        model.delete(key)
        expected.push('ok')
        pending.push(store.delete(key).then(() => 'ok', (e: VisitStoreError) => e.code))
        continue
      }
      const n = 1 + Math.floor(next() * 60)
      const was = model.get(key)
      model.set(key, n)
      if (used() > budget) {
        if (was === undefined) model.delete(key)
        else model.set(key, was)
        expected.push('COOKIE_BUDGET_EXCEEDED')
      } else expected.push('ok')
      pending.push(store.set(key, String(i % 10).repeat(n)).then(() => 'ok', (e: VisitStoreError) => e.code))
    }
    expect(await Promise.all(pending)).toEqual(expected)
    expect(expected.filter((o) => o !== 'ok').length).toBeGreaterThan(10)
    const jar = cookieJar()
    expect(Object.fromEntries(names.filter((k) => jar[`shop_${k}`] !== undefined).map((k) => [k, (jar[`shop_${k}`] as string).length])))
      .toEqual(Object.fromEntries(model))
  })
})

describe('clear()', () => {
  test('removes the cookies of declared keys and families only: undeclared prefixed cookies and the marker stay', async () => {
    document.cookie = 'shop_csrf=token; Path=/'
    document.cookie = 'other=1; Path=/'
    const store = open()
    await store.setMany({ theme: 'dark', locale: 'fr', 'n:1': 'x' })
    await store.clear()
    const jar = cookieJar()
    // The store's own marks stay: the browser session's, and the commit mark that orders this
    // clear with other tabs' cross-tier batches (store/journal.ts).
    expect(Object.keys(jar).sort()).toEqual(['other', 'shop_$c', 'shop_$s', 'shop_csrf'])
    expect(await store.getMany(['theme', 'locale', 'n:1'])).toEqual({ theme: undefined, locale: undefined, 'n:1': undefined })
  })

  test('a store with no IndexedDB keys (no cross-tier batch to order against) leaves no commit mark', async () => {
    const store = createStore<{ theme: string }>({ name: 'solo', keys: { theme: { lifetime: 'persistent', serverVisible: true } }, backends: { indexedDB: new IDBFactory() } })
    stores.push(store as never)
    await store.set('theme', 'dark')
    await store.clear()
    expect(Object.keys(cookieJar()).filter((name) => name.startsWith('solo_'))).toEqual(['solo_$s'])
  })

  test("clear({ lifetime: 'session' }) removes only the session cookies", async () => {
    const store = open()
    await store.setMany({ theme: 'dark', locale: 'fr', 'n:1': 'x' })
    await store.clear({ lifetime: 'session' })
    expect(await store.getMany(['theme', 'locale', 'n:1'])).toEqual({ theme: 'dark', locale: undefined, 'n:1': undefined })
  })
})

describe('a cookie of the same name on another path or domain', () => {
  /** The store's own shop_theme (Path=/) plus the server's (Path=/app), both visible on an /app/ page. */
  function conflicted() {
    document.cookie = 'shop_theme=dark; Path=/'
    const jar = pageJar({ alsoVisible: () => 'shop_theme=light' })
    return { jar, store: open({ backends: { cookies: jar } }) }
  }

  test('get, peek, set, delete and update of that key refuse with COOKIE_CONFLICT, naming the cookie', async () => {
    const { store } = conflicted()
    await store.ready
    const err = await rejectionOf(store.get('theme'))
    expect(err.code).toBe('COOKIE_CONFLICT')
    expect(err.message).toContain('shop_theme')
    expect(thrownError(() => store.peek('theme')).code).toBe('COOKIE_CONFLICT')
    expect((await rejectionOf(store.set('theme', 'blue'))).code).toBe('COOKIE_CONFLICT')
    expect((await rejectionOf(store.delete('theme'))).code).toBe('COOKIE_CONFLICT')
    expect((await rejectionOf(store.update('theme', () => 'blue'))).code).toBe('COOKIE_CONFLICT')
  })

  test('nothing is written and neither cookie changes; the other keys keep working', async () => {
    const { store, jar } = conflicted()
    await store.ready
    await rejectionOf(store.set('theme', 'blue'))
    await rejectionOf(store.setMany({ theme: 'blue', locale: 'fr' }))
    await rejectionOf(store.delete('theme'))
    expect(jar.lines.filter((line) => /^shop_(theme|locale)=/.test(line))).toEqual([])
    expect(cookieJar().shop_theme).toBe('dark')
    await store.set('locale', 'fr')
    expect(store.peek('locale')).toBe('fr')
  })
})

describe('when the browser drops a cookie', () => {
  test('a jar that keeps no write (cookies blocked): the first write rejects STORAGE_UNAVAILABLE, nothing is kept, status says so', async () => {
    const jar = pageJar({ drop: () => true })
    const store = open({ backends: { cookies: jar } })
    await store.ready
    const err = await rejectionOf(store.set('theme', 'dark'))
    expect(err.code).toBe('STORAGE_UNAVAILABLE')
    expect(await store.get('theme')).toBeUndefined()
    expect(cookieJar()).not.toHaveProperty('shop_theme')
    expect(store.status.cookies).toBe('unavailable')
  })

  describe('the first write with the store\'s own cookie attributes (cookie.path /app) is read back', () => {
    beforeEach(() => setPageUrl('http://localhost:3000/app/'))
    afterEach(() => {
      for (const store of stores.splice(0)) store.close()
      for (const name of ['shop_theme', 'shop_visits', 'shop_c']) document.cookie = `${name}=; Path=/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT`
      setPageUrl(HOME)
    })

    test('a dropped write rejects STORAGE_UNAVAILABLE naming the key; the previous value is kept', async () => {
      document.cookie = 'shop_theme=light; Path=/app'
      const store = open({ cookie: { path: '/app' }, backends: { cookies: pageJar({ drop: (line) => line.startsWith('shop_theme=') }) } })
      await store.ready
      const err = await rejectionOf(store.set('theme', 'dark'))
      expect(err.code).toBe('STORAGE_UNAVAILABLE')
      expect(err.message).toContain('set("theme")')
      expect(store.peek('theme')).toBe('light')
    })

    test('a setMany that loses one cookie is undone: every previous value is back', async () => {
      document.cookie = 'shop_theme=old; Path=/app'
      document.cookie = 'shop_visits=1; Path=/app'
      const store = open({ cookie: { path: '/app' }, backends: { cookies: pageJar({ drop: (line) => line.startsWith('shop_c=new') }) } })
      await store.ready
      const err = await rejectionOf(store.setMany({ theme: 'new', visits: 2, c: 'new-c' }))
      expect(err.code).toBe('STORAGE_UNAVAILABLE')
      expect(err.message).toContain('set("c")')
      expect(await store.getMany(['theme', 'visits', 'c'])).toEqual({ theme: 'old', visits: 1, c: undefined })
      expect(cookieJar()).toMatchObject({ shop_theme: 'old', shop_visits: '1' })
    })
  })

  describe.each([['with Web Locks', true], ['without Web Locks', false]])('a later drop (a server HttpOnly cookie of that name), %s', (_, webLocks) => {
    test('the set resolves, an `error` event says COOKIE_CONFLICT, and watchers end on the value the jar really has', async () => {
      if (webLocks) useWebLocks()
      let dropping = false
      const store = open({ backends: { cookies: pageJar({ drop: (line) => dropping && line.startsWith('shop_b=') }) } })
      await store.set('a', '1')
      const errors: VisitStoreError[] = []
      store.on('error', (e) => errors.push(e))
      const seen: unknown[] = []
      store.watch('b', (value) => seen.push(value))
      dropping = true
      await store.set('b', 'x')
      await vi.waitFor(() => expect(errors.map((e) => e.code)).toEqual(['COOKIE_CONFLICT']))
      expect(errors[0]?.message).toContain('shop_b')
      expect(store.peek('b')).toBeUndefined()
      expect(seen.at(-1)).toBeUndefined()
    })
  })

  describe("the burst's final check against the browser's cookie store (the Cookie Store API)", () => {
    /**
     * A Cookie Store whose getAll() answers from a copy taken before the page's latest writes for
     * its first `lagging` calls (its process has not received them yet), then from the jar.
     */
    function cookieStoreLagging(lagging: number) {
      const parse = () => document.cookie.split('; ').filter(Boolean).map((pair) => ({ name: pair.slice(0, pair.indexOf('=')), value: pair.slice(pair.indexOf('=') + 1) }))
      const api = { calls: 0, before: parse(), getAll: async () => (++api.calls <= lagging ? api.before : parse()), get: async () => null }
      vi.stubGlobal('cookieStore', Object.assign(new EventTarget(), api))
      return api
    }

    const pairs = (text: string) => text.split('; ').filter(Boolean).map((pair): [string, string] => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)])

    /**
     * document.cookie as a Firefox content process's copy that missed the browser's latest writes:
     * a copy of the cookies now, never refreshed, where the page's own writes show. `real` reads the
     * browser's cookies, `writeReal` writes them as another page would; `restore` takes the copy away.
     */
    function staleDocumentCookie() {
      let proto: object | null = document
      while (proto && !Object.getOwnPropertyDescriptor(proto, 'cookie')) proto = Object.getPrototypeOf(proto) as object | null
      const desc = Object.getOwnPropertyDescriptor(proto as object, 'cookie') as PropertyDescriptor
      const real = () => desc.get?.call(document) as string
      const copy = new Map(pairs(real()))
      Object.defineProperty(document, 'cookie', {
        configurable: true,
        get: () => [...copy].map(([name, value]) => `${name}=${value}`).join('; '),
        set: (line: string) => {
          desc.set?.call(document, line)
          const name = line.slice(0, line.indexOf('='))
          const now = new Map(pairs(real())).get(name)
          if (now === undefined) copy.delete(name)
          else copy.set(name, now)
        },
      })
      return { real, writeReal: (line: string) => desc.set?.call(document, line), restore: () => { delete (document as { cookie?: string }).cookie } }
    }

    /** A cookie store answering from the browser's cookies (`read`); with `stale` set, its next answer shows theme as `stale`. */
    function cookieStoreOfTheJar(read = () => document.cookie) {
      const api = {
        stale: undefined as string | undefined,
        getAll: async () => {
          const all = read().split('; ').filter(Boolean).map((pair) => ({ name: pair.slice(0, pair.indexOf('=')), value: pair.slice(pair.indexOf('=') + 1) }))
          const stale = api.stale
          api.stale = undefined
          return stale === undefined ? all : [...all.filter((c) => c.name !== 'shop_theme'), { name: 'shop_theme', value: stale }]
        },
        get: async () => null,
      }
      vi.stubGlobal('cookieStore', Object.assign(new EventTarget(), api))
      return api
    }

    test('a copy of the cookies that missed a value of the cookie store (a write made as the page before went away) is brought to it at the next section', async () => {
      useWebLocks()
      document.cookie = 'shop_theme=light; Path=/'
      const copy = staleDocumentCookie()
      try {
        // Written as the page before this one went away: the browser has it, this page's copy does not.
        copy.writeReal('shop_theme=dark; Path=/')
        expect(document.cookie).toContain('shop_theme=light')
        cookieStoreOfTheJar(copy.real)
        const store = open()
        await store.ready
        await store.set('locale', 'fr')
        expect(await store.get('theme')).toBe('dark')
        expect(store.peek('theme')).toBe('dark')
        expect(document.cookie).toContain('shop_theme=dark')
      } finally {
        copy.restore()
      }
    })

    test("only the first section compares: later, a cookie store that still shows an older value of the store's own write does not bring it back", async () => {
      useWebLocks()
      const api = cookieStoreOfTheJar()
      const store = open()
      await store.set('theme', 'dark')
      // The burst's end (its check against the cookie store) first.
      await new Promise((resolve) => setTimeout(resolve, 100))
      api.stale = 'light'
      await store.set('locale', 'fr')
      expect(api.stale).toBeUndefined()
      expect(store.peek('theme')).toBe('dark')
      expect(cookieJar().shop_theme).toBe('dark')
    })

    test('a write the cookie store shows late is asked for again: no error, the value stays', async () => {
      useWebLocks()
      const api = cookieStoreLagging(2)
      const store = open({ backends: { indexedDB: new IDBFactory() } })
      const errors: VisitStoreError[] = []
      store.on('error', (e) => errors.push(e))
      await store.set('theme', 'dark')
      // The section's view (1), the end: lagging (2), then asked again (3).
      await vi.waitFor(() => expect(api.calls).toBeGreaterThanOrEqual(3))
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(errors).toEqual([])
      expect(store.peek('theme')).toBe('dark')
    })

    test('the check gives up only once 75 ms have passed, however many questions fit in them (here 100, with the clock stopped)', async () => {
      useWebLocks()
      const api = cookieStoreLagging(100)
      const store = open({ backends: { indexedDB: new IDBFactory() } })
      await store.ready
      await new Promise((resolve) => setTimeout(resolve, 100))
      const errors: VisitStoreError[] = []
      store.on('error', (e) => errors.push(e))
      const at = performance.now()
      vi.spyOn(performance, 'now').mockReturnValue(at)
      api.calls = 0
      await store.set('theme', 'dark')
      await vi.waitFor(() => expect(api.calls).toBeGreaterThan(100))
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(errors).toEqual([])
      expect(store.peek('theme')).toBe('dark')
    })

    test('a write deleted right after it (a script, a response) is settled at once: one question, an error event, watchers hear the cookie is gone', async () => {
      useWebLocks()
      const api = cookieStoreLagging(0)
      const store = open({ backends: { indexedDB: new IDBFactory() } })
      const errors: VisitStoreError[] = []
      store.on('error', (e) => errors.push(e))
      const seen: unknown[] = []
      store.watch('theme', (value) => seen.push(value))
      // Start-up's own section (the browser-session marker) first.
      await store.ready
      await new Promise((resolve) => setTimeout(resolve, 100))
      const before = api.calls
      await store.set('theme', 'dark')
      document.cookie = 'shop_theme=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/'
      await vi.waitFor(() => expect(errors.map((e) => e.code)).toEqual(['COOKIE_CONFLICT']))
      // The section's view and one check at its end: waiting longer could not bring the value back.
      expect(api.calls - before).toBe(2)
      expect(errors[0]?.message).toMatch(/shop_theme.*deleted or changed it right after/)
      expect(seen.at(-1)).toBeUndefined()
      // The lock is free: the next write is not held up behind retries.
      await store.set('theme', 'light')
      expect(cookieJar().shop_theme).toBe('light')
    })

    test('a loop of awaited sets in one burst: a watcher of the key hears every one, after its call, in order; one that subscribes after a set hears only the later ones', async () => {
      // With the Cookie Store API other tabs get change events, so a set made while a burst holds
      // the section sends no message, and one nobody watches has nothing left to do after its call.
      useWebLocks()
      cookieStoreOfTheJar()
      const store = open()
      await store.ready
      const heard: [string, unknown, string][] = []
      store.watch('theme', (value, { source }) => heard.push(['theme', value, source]))
      await store.set('zip', '10115') // takes the section: the sets below are made in its burst
      const values = ['dark', 'light', 'sepia', 'dark', 'light']
      for (const [i, value] of values.entries()) {
        const call = store.set('theme', value)
        expect(heard.length, `set #${i}: its watcher is not called inside the call`).toBe(i)
        await call
        expect(heard.length, `set #${i}: its watcher was called once it resolved`).toBe(i + 1)
        await store.set('zip', `1011${i}`) // unwatched, in the same burst
      }
      expect(heard).toEqual(values.map((value) => ['theme', value, 'local']))
      // Subscribed after the call: that write was made in it (the burst is open), so only the next one is news.
      const late: unknown[] = []
      const call = store.set('zip', '20095')
      store.watch('zip', (value) => late.push(value))
      await call
      await store.set('zip', '80331')
      expect(late).toEqual(['80331'])
      expect(cookieJar().shop_zip).toBe('80331')
      expect(cookieJar().shop_theme).toBe('light')
    })
  })

  describe('cookies that cannot be used at all', () => {
    const sandboxed: CookieJar = {
      read() { throw new DOMException('The operation is insecure.', 'SecurityError') },
      write() { throw new DOMException('The operation is insecure.', 'SecurityError') },
    }

    test('a jar that throws on read (a sandboxed frame): status.cookies is unavailable and createStore does not throw', async () => {
      const store = open({ backends: { cookies: sandboxed } })
      await store.ready
      expect(store.status.cookies).toBe('unavailable')
      expect(await store.get('theme')).toBeUndefined()
      expect(store.peek('theme')).toBeUndefined()
      for (const call of [store.set('theme', 'dark'), store.delete('theme'), store.update('visits', (n = 0) => n + 1), store.setMany({ theme: 'x', cart: [] })]) {
        expect((await rejectionOf(call)).code).toBe('STORAGE_UNAVAILABLE')
      }
      await store.set('cart', ['sku-1'])
      expect(await store.get('cart')).toEqual(['sku-1'])
    })

    test('cookies disabled: reads see nothing, writes reject STORAGE_UNAVAILABLE, and the jar is left as it was', async () => {
      document.cookie = 'shop_theme=dark; Path=/'
      vi.spyOn(navigator, 'cookieEnabled', 'get').mockReturnValue(false)
      const store = open()
      await store.ready
      expect(store.status.cookies).toBe('unavailable')
      expect(await store.get('theme')).toBeUndefined()
      expect(await store.keys()).toEqual([])
      expect((await rejectionOf(store.set('theme', 'light'))).code).toBe('STORAGE_UNAVAILABLE')
      expect((await rejectionOf(store.delete('theme'))).code).toBe('STORAGE_UNAVAILABLE')
      vi.restoreAllMocks()
      expect(cookieJar().shop_theme).toBe('dark')
    })
  })
})

describe('update of a cookie key', () => {
  /** Two tabs of one origin: the page's cookies and one IndexedDB, shared. */
  function twoTabs(options: Partial<StoreOptions<Schema>> = {}) {
    const indexedDB = new IDBFactory()
    return [open({ ...options, backends: { indexedDB } }), open({ ...options, backends: { indexedDB } })] as const
  }

  async function raceUpdates(tabs: readonly VisitStore<Schema>[], each: number) {
    const results = await Promise.all(tabs.flatMap((tab) => Array.from({ length: each }, () => tab.update('visits', (n = 0) => n + 1))))
    return results.sort((x, y) => x - y)
  }

  test("a hidden tab (its timers throttled: here frozen) ends its bursts: its update resolves and the other tab's write gets the lock", async () => {
    useWebLocks()
    const indexedDB = new IDBFactory()
    const [hidden, shown] = [open({ backends: { indexedDB } }), open({ backends: { indexedDB } })]
    await Promise.all([hidden.ready, shown.ready])
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval'] })
    try {
      // No timer fires from here on, as in a tab whose timers wait a second or a minute.
      expect(await hidden.update('visits', (n = 0) => n + 1)).toBe(1)
      await hidden.set('theme', 'from the hidden tab')
      await shown.set('theme', 'from the shown tab')
      expect(await shown.update('visits', (n = 0) => n + 1)).toBe(2)
      expect(cookieJar()).toMatchObject({ shop_theme: 'from%20the%20shown%20tab', shop_visits: '2' })
    } finally {
      vi.useRealTimers()
    }
  }, 10000)

  test('under a Web Lock: 2 tabs × 50 concurrent updates end at exactly 100, each result once', async () => {
    useWebLocks()
    const tabs = twoTabs()
    await Promise.all(tabs.map((t) => t.ready))
    expect(tabs.map((t) => t.status.locks)).toEqual(['web-locks', 'web-locks'])
    expect(await raceUpdates(tabs, 50)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    expect(tabs[1].peek('visits')).toBe(100)
  })

  test('without Web Locks, under an IndexedDB transaction: 2 tabs × 50 concurrent updates end at exactly 100', async () => {
    const tabs = twoTabs()
    await Promise.all(tabs.map((t) => t.ready))
    expect(tabs.map((t) => t.status.locks)).toEqual(['indexeddb', 'indexeddb'])
    expect(await raceUpdates(tabs, 50)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    expect(tabs[0].peek('visits')).toBe(100)
  })

  test.each([2, 3, 5])("without Web Locks, a tab's cookie copy refreshed at every %i-th read (Firefox, WebKit content processes): 2 tabs × 50 concurrent updates end at exactly 100", async (every) => {
    const indexedDB = new IDBFactory()
    const tabs = [0, 1].map(() => open({ backends: { indexedDB, cookies: laggingJar(every) } }))
    await Promise.all(tabs.map((t) => t.ready))
    expect(tabs.map((t) => t.status.locks)).toEqual(['indexeddb', 'indexeddb'])
    expect(await raceUpdates(tabs, 50)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    expect(cookieJar().shop_visits).toBe('100')
  })

  const settle = async (done: () => boolean) => {
    for (let i = 0; i < 40 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  }

  /** Two tabs under the IndexedDB lock count visits to 3, tab one last (its copy through copyingJar); the copy has not gone back yet. */
  async function oneWroteLast() {
    const indexedDB = new IDBFactory()
    const jar = copyingJar()
    const one = open({ backends: { indexedDB, cookies: jar } })
    const two = open({ backends: { indexedDB } })
    await Promise.all([one.ready, two.ready])
    expect(one.status.locks).toBe('indexeddb')
    await one.update('visits', (n = 0) => n + 1)
    await two.update('visits', (n = 0) => n + 1)
    expect(await one.update('visits', (n = 0) => n + 1)).toBe(3)
    return { one, jar }
  }

  test('without Web Locks, a tab whose copy went back to a value the other tab wrote before this tab\'s last write is brought to the latest a moment after its burst', async () => {
    const { one, jar } = await oneWroteLast()
    jar.shows = ['shop_visits', '2']
    expect(one.peek('visits')).toBe(2)
    await settle(() => one.peek('visits') === 3)
    expect([one.peek('visits'), await one.get('visits'), cookieJar().shop_visits]).toEqual([3, 3, '3'])
  })

  test('without Web Locks, a store closed right after its burst writes nothing a moment later', async () => {
    const { one, jar } = await oneWroteLast()
    one.close()
    jar.shows = ['shop_visits', '2']
    await new Promise((resolve) => setTimeout(resolve, 800))
    expect(jar.shows).toEqual(['shop_visits', '2'])
  })

  test('without Web Locks, a moment after a burst, a value no tab of the store wrote (the server set it) is left as it is', async () => {
    const indexedDB = new IDBFactory()
    const jar = copyingJar()
    const one = open({ backends: { indexedDB, cookies: jar } })
    await one.ready
    expect(await one.update('visits', (n = 0) => n + 1)).toBe(1)
    document.cookie = 'shop_visits=42; Path=/'
    await new Promise((resolve) => setTimeout(resolve, 800))
    expect([one.peek('visits'), cookieJar().shop_visits]).toEqual([42, '42'])
  })

  test('without Web Locks, a value no tab of the store wrote (the server set it) wins over what the lock remembers', async () => {
    const indexedDB = new IDBFactory()
    const one = open({ backends: { indexedDB, cookies: laggingJar(1) } })
    const two = open({ backends: { indexedDB, cookies: laggingJar(1) } })
    await Promise.all([one.ready, two.ready])
    await one.update('visits', (n = 0) => n + 5)
    document.cookie = 'shop_visits=42; Path=/'
    expect(await two.update('visits', (n = 0) => n + 1)).toBe(43)
    expect(cookieJar().shop_visits).toBe('43')
  })

  test('without Web Locks, after the clock went back an hour, a cookie someone removed is not taken for one the lock remembers: update starts from missing', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const store = open()
    await store.update('visits', (n = 0) => n + 5)
    expect(store.status.locks).toBe('indexeddb')
    vi.setSystemTime(Date.now() - 3_600_000)
    document.cookie = 'shop_visits=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT'
    expect(await store.update('visits', (n = 0) => n + 1)).toBe(1)
    expect(cookieJar().shop_visits).toBe('1')
  })

  test('with neither Web Locks nor IndexedDB (status.locks none), update is refused with STORAGE_UNAVAILABLE; set still works', async () => {
    const store = open({ backends: { indexedDB: null } })
    await store.ready
    expect(store.status.locks).toBe('none')
    await store.set('visits', 1)
    const err = await rejectionOf(store.update('visits', (n = 0) => n + 1))
    expect(err.code).toBe('STORAGE_UNAVAILABLE')
    expect(err.message).toMatch(/Web Locks/)
    expect(store.peek('visits')).toBe(1)
    await store.set('visits', 2)
    expect(store.peek('visits')).toBe(2)
  })

  test('2 tabs × 30 concurrent sets of one cookie key all resolve, and the cookie ends on a value one of them wrote', async () => {
    const tabs = twoTabs()
    const written = tabs.flatMap((tab, t) => Array.from({ length: 30 }, (_, i) => ({ tab, value: `t${t}-${i}` })))
    await Promise.all(written.map(({ tab, value }) => tab.set('theme', value)))
    expect(written.map((w) => w.value)).toContain(tabs[0].peek('theme'))
  })

  test("fn sees the current value; a throwing fn writes nothing and the caller's own error comes back", async () => {
    const store = open()
    await store.set('visits', 1)
    const seen: unknown[] = []
    expect(await store.update('visits', (n) => { seen.push(n); return (n ?? 0) + 1 })).toBe(2)
    expect(seen).toEqual([1])
    const bug = new Error('app bug')
    await expect(store.update('visits', () => { throw bug })).rejects.toBe(bug)
    expect(store.peek('visits')).toBe(2)
  })
})

describe('a copy of the jar that shows a removed cookie again for a moment (WebKit: a late notice of the write before)', () => {
  /** theme and locale set, the raw theme cookie, then `remove`; the copy then shows theme's removed value again. */
  async function removedThenEchoed(remove: (store: VisitStore<Schema>) => Promise<void>) {
    const jar = copyingJar()
    const store = open({ backends: { cookies: jar } })
    await store.setMany({ theme: 'dark', locale: 'de' })
    const raw = cookieJar().shop_theme
    await remove(store)
    jar.shows = ['shop_theme', raw as string]
    return { store, jar, raw }
  }

  test.each([
    ['clear()', (s: VisitStore<Schema>) => s.clear()],
    ['delete("theme")', (s: VisitStore<Schema>) => s.delete('theme')],
  ])('right after %s, the removed value the copy shows again reads as missing (peek, get, keys)', async (_, remove) => {
    const { store } = await removedThenEchoed(remove)
    expect(cookieJar().shop_theme).toBeUndefined()
    expect([store.peek('theme'), await store.get('theme'), (await store.keys()).includes('theme')]).toEqual([undefined, undefined, false])
  })

  test('right after clear(), a value this tab wrote before the one removed, shown again by the copy, reads as missing', async () => {
    const jar = copyingJar()
    const store = open({ backends: { cookies: jar } })
    await store.set('theme', 'dark')
    const earlier = cookieJar().shop_theme
    await store.set('theme', 'light')
    await store.clear()
    jar.shows = ['shop_theme', earlier as string]
    expect([store.peek('theme'), await store.get('theme')]).toEqual([undefined, undefined])
  })

  test('after more writes of the key than the chain holds (c9: cycle 128 in WebKit), a value from the cycle before, shown again, still reads as missing', async () => {
    const jar = copyingJar()
    const store = open({ backends: { cookies: jar } })
    let before = ''
    for (let i = 0; i < 140; i++) {
      await store.set('theme', `dark${i}`)
      await store.set('theme', `light${i}`)
      const last = cookieJar().shop_theme as string
      await store.clear()
      for (const shown of [last, before]) {
        jar.shows = i ? ['shop_theme', shown] : undefined
        expect([i, store.peek('theme'), await store.get('theme')]).toEqual([i, undefined, undefined])
      }
      jar.shows = undefined
      before = last
    }
  })

  test('another value in the copy is not hidden, and after a second the removed value shows again (set again by someone else)', async () => {
    const { store, jar } = await removedThenEchoed((s) => s.clear())
    jar.shows = ['shop_theme', 'light']
    expect(store.peek('theme')).toBe('light')
    jar.shows = ['shop_theme', encodeURIComponent(JSON.stringify('dark'))]
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(store.peek('theme')).toBe('dark')
  })

  test('the same value, set again by this tab after removing it, is read at once', async () => {
    const { store } = await removedThenEchoed((s) => s.delete('theme'))
    await store.set('theme', 'dark')
    expect(store.peek('theme')).toBe('dark')
  })
})
