// Known ways storage fails in the field: each case either throws a coded error, fires an event,
// or shows in store.status — and loses nothing.
import fc from 'fast-check'
import { forceCloseDatabase, IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { createStore, VisitStoreError, type StandardSchemaV1, type VisitStore } from '../src/index.js'
import { sessionSync } from '../src/session.js'
import { clearAllCookies, cookieJar } from './fixtures/page-storage.js'

let idb: IDBFactory
const stores: { close(): void }[] = []
const keep = <T extends { close(): void }>(s: T): T => { stores.push(s); return s }
beforeEach(() => {
  clearAllCookies()
  sessionStorage.clear()
  idb = new IDBFactory()
})
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
  vi.restoreAllMocks()
  vi.unstubAllGlobals()
  for (const name of ['domain', 'expires', 'maxAge']) delete (Object.prototype as Record<string, unknown>)[name]
})
const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e instanceof VisitStoreError ? e.code : `raw ${String(e)}`))

describe('1. cookie names and values (property-based)', () => {
  interface S { [k: `c:${string}`]: string }
  const store = () => keep(createStore<S>({ name: 'pb', keys: { 'c:*': { lifetime: 'session', serverVisible: true, type: 'string' } }, cookie: { budget: 100_000 } }))
  const tricky = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string({ unit: fc.constantFrom(';', ',', '=', '"', '\\', ' ', '\t', '\0', '\u0001', '%', '\uD800', '\uDC00', '😀', 'é', 'a') }),
  )

  test('every accepted value round-trips exactly and reaches a server decoded; every rejected one has a code; no other cookie changes', async () => {
    const s = store()
    document.cookie = 'other=untouched; Path=/'
    await fc.assert(fc.asyncProperty(tricky, async (value) => {
      const before = await s.get('c:v')
      const outcome = await codeOf(s.set('c:v', value))
      if (outcome === 'ok') {
        expect(await s.get('c:v')).toBe(value)
        expect(decodeURIComponent(cookieJar()['pb_c%3Av'] ?? '')).toBe(value) // what a server's decoder reads
      } else {
        expect(['NOT_SERIALIZABLE', 'COOKIE_TOO_LARGE']).toContain(outcome)
        expect(await s.get('c:v')).toBe(before)
      }
      expect(cookieJar().other).toBe('untouched')
    }), { numRuns: 300 })
  })

  test('arbitrary family member names are stored under their own cookie or refused with a code', async () => {
    const s = store()
    await fc.assert(fc.asyncProperty(tricky, async (suffix) => {
      const key = `c:${suffix}` as const
      if (suffix === '') return
      const outcome = await codeOf(s.set(key, 'v'))
      if (outcome === 'ok') {
        expect(await s.get(key)).toBe('v')
        await s.delete(key)
        expect(await s.get(key)).toBeUndefined()
      } else {
        expect(outcome).toBe('NOT_SERIALIZABLE')
      }
    }), { numRuns: 200 })
  })
})

describe('2. byte limits', () => {
  test('exactly 4,096 bytes of name+value passes; 4,097 fails before writing', async () => {
    const s = keep(createStore<{ big: string }>({ name: 'b', keys: { big: { lifetime: 'session', serverVisible: true, type: 'string' } }, cookie: { budget: 10_000 } }))
    const room = 4096 - 'b_big'.length
    await s.set('big', 'x'.repeat(room))
    expect(cookieJar().b_big).toHaveLength(room)
    expect(await codeOf(s.set('big', 'y'.repeat(room + 1)))).toBe('COOKIE_TOO_LARGE')
    expect(cookieJar().b_big).toBe('x'.repeat(room))
  })

  test("the store's cookies together never exceed the budget", async () => {
    interface S { [k: `f:${string}`]: string }
    const s = keep(createStore<S>({ name: 'bud', keys: { 'f:*': { lifetime: 'session', serverVisible: true, type: 'string' } }, cookie: { budget: 500 } }))
    const results: string[] = []
    for (let i = 0; i < 20; i++) results.push(await codeOf(s.set(`f:${i}`, 'v'.repeat(40))))
    const total = Object.entries(cookieJar()).filter(([k]) => k.startsWith('bud_')).reduce((n, [k, v]) => n + k.length + v.length, 0)
    expect(total).toBeLessThanOrEqual(500)
    expect(results).toContain('COOKIE_BUDGET_EXCEEDED')
  })
})

describe('3. prototype safety', () => {
  test('keys named __proto__, constructor and toString never reach object internals', async () => {
    interface S { [k: `p:${string}`]: unknown }
    const s = keep(createStore<S>({ name: 'proto', keys: { 'p:*': { lifetime: 'persistent' } }, backends: { indexedDB: idb } }))
    await s.setMany(JSON.parse('{"p:__proto__": 1, "p:constructor": 2}') as S)
    await s.set('p:toString', 3)
    const many = await s.getMany(['p:__proto__', 'p:constructor', 'p:toString'])
    expect(Object.getPrototypeOf(many)).toBe(Object.prototype)
    expect(many).toEqual({ 'p:__proto__': 1, 'p:constructor': 2, 'p:toString': 3 })
    expect(() => s.placement('__proto__' as never)).toThrow(expect.objectContaining({ code: 'UNKNOWN_KEY' }))
    expect(() => createStore({ name: 'x', keys: JSON.parse('{"__proto__": { "lifetime": "tab" }}') })).not.toThrow()
  })

  test('JSON with __proto__ members pollutes nothing', async () => {
    const s = keep(createStore<{ prefs: Record<string, unknown> }>({ name: 'pj', keys: { prefs: { lifetime: 'persistent', serverVisible: true } } }))
    document.cookie = `pj_prefs=${encodeURIComponent('{"__proto__":{"polluted":true},"a":1}')}; Path=/`
    const prefs = await s.get('prefs')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(prefs?.a).toBe(1)
  })

  test('a polluted Object.prototype injects no cookie attribute', async () => {
    // happy-dom's own cookie code reads the polluted prototype too, so this page gets a plain jar
    // (name=value, removal by a past Expires) and the test reads exactly what the store wrote.
    const writes: string[] = []
    const jar = new Map<string, string>()
    Object.defineProperty(document, 'cookie', {
      configurable: true,
      get: () => [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
      set: (line: string) => {
        writes.push(line)
        const [pair = ''] = line.split(';')
        const at = pair.indexOf('=')
        const expires = /;\s*expires=([^;]*)/i.exec(line)?.[1]
        if (expires !== undefined && new Date(expires) < new Date()) jar.delete(pair.slice(0, at))
        else jar.set(pair.slice(0, at), pair.slice(at + 1))
      },
    })
    try {
      Object.assign(Object.prototype, { domain: 'evil.example', expires: 'Thu, 01 Jan 2099 00:00:00 GMT', maxAge: 99999 })
      const s = keep(createStore<{ t: string }>({ name: 'pol', keys: { t: { lifetime: 'session', serverVisible: true } } }))
      await s.set('t', 'v')
      expect(s.peek('t')).toBe('v')
      await s.delete('t')
      expect(s.peek('t')).toBeUndefined()
    } finally {
      for (const name of ['domain', 'expires', 'maxAge']) delete (Object.prototype as Record<string, unknown>)[name]
      delete (document as unknown as Record<string, unknown>).cookie
    }
    const ours = writes.filter((w) => w.startsWith('pol_t='))
    expect(ours).toHaveLength(2)
    // No Domain, no far expiry, and the session cookie stays a session cookie (no Max-Age).
    for (const w of ours) expect(w).not.toMatch(/evil|2099|99999/)
  })
})

describe('4. tampered or stale data (Standard Schema validators)', () => {
  const theme: StandardSchemaV1<string> = { '~standard': { version: 1, vendor: 'test', validate: (v) => (v === 'light' || v === 'dark' ? { value: v } : { issues: [{ message: 'expected light or dark' }] }) } }
  const count: StandardSchemaV1<number> = { '~standard': { version: 1, vendor: 'test', validate: async (v) => (typeof v === 'number' && v >= 0 ? { value: v } : { issues: [{ message: 'expected a count', path: ['n'] }] }) } }
  interface S { theme: string, count: number }
  const make = () => keep(createStore<S>({ name: 'val', backends: { indexedDB: idb }, keys: {
    theme: { lifetime: 'persistent', serverVisible: true, type: 'string', validate: theme },
    count: { lifetime: 'persistent', validate: count },
  } }))

  test('set of a refused value is INVALID_VALUE and keeps the old value', async () => {
    const s = make()
    await s.set('theme', 'dark')
    await s.set('count', 2)
    expect(await codeOf(s.set('theme', 'pink'))).toBe('INVALID_VALUE')
    expect(await codeOf(s.set('count', -1))).toBe('INVALID_VALUE')
    expect(await s.getMany(['theme', 'count'])).toEqual({ theme: 'dark', count: 2 })
  })

  test('a hand-edited cookie or an old record reads as undefined and fires invalid, never throws', async () => {
    const s = make()
    const invalid = vi.fn()
    s.on('invalid', invalid)
    document.cookie = 'val_theme=pink; Path=/'
    expect(s.peek('theme')).toBeUndefined()
    expect(await s.get('theme')).toBeUndefined()
    const old = keep(createStore<{ count: unknown }>({ name: 'val', backends: { indexedDB: idb }, keys: { count: { lifetime: 'persistent' } } }))
    await old.set('count', 'three')
    expect(await s.get('count')).toBeUndefined()
    expect(invalid).toHaveBeenCalledWith(expect.objectContaining({ key: 'theme', reason: expect.stringMatching(/light or dark/) }))
    expect(invalid).toHaveBeenCalledWith(expect.objectContaining({ key: 'count', reason: expect.stringMatching(/n: expected a count/) }))
  })

  test('an async validator cannot run where no wait is possible: peek says NOT_SYNC_READABLE', async () => {
    interface T { n: number }
    const s = keep(createStore<T>({ name: 'av', keys: { n: { lifetime: 'tab', validate: count } } }))
    await s.set('n', 1)
    expect(() => s.peek('n')).toThrow(expect.objectContaining({ code: 'NOT_SYNC_READABLE' }))
  })

  test('a validator that is not a Standard Schema is INVALID_OPTIONS', () => {
    expect(() => createStore({ name: 'bad', keys: { a: { lifetime: 'tab', validate: {} as never } } })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })
})

describe('5. IndexedDB unavailable', () => {
  const neverSettles = { open: () => ({}) } as unknown as IDBFactory
  const openErrors = { open: () => { const r: Record<string, unknown> = {}; setTimeout(() => (r.onerror as () => void)?.(), 1); return r } } as unknown as IDBFactory
  const openThrows = { open: () => { throw new DOMException('no', 'SecurityError') } } as unknown as IDBFactory
  test.each([
    ['missing', null],
    ['open throws', openThrows],
    ['open errors', openErrors],
    ['open never settles', neverSettles],
  ])('%s: memory fallback within the time-out, the failure reported, session semantics kept', async (_case, factory) => {
    interface S { cart: string[], note: string }
    const s = keep(createStore<S>({ name: `down${String(_case).length}`, openTimeout: 100, backends: { indexedDB: factory as IDBFactory | null },
      keys: { cart: { lifetime: 'session' }, note: { lifetime: 'persistent' } } }))
    const errors: string[] = []
    s.on('error', (e) => errors.push(e.code))
    await s.ready
    expect(s.status.indexeddb).toBe('memory')
    // A missing IndexedDB is simply not there: status says so from the start, with no error event.
    // One that exists but fails is a failure: one error event.
    expect(errors).toEqual(factory === null ? [] : ['STORAGE_UNAVAILABLE'])
    await s.setMany({ cart: ['a'], note: 'n' })
    await s.session.end()
    expect(await s.getMany(['cart', 'note'])).toEqual({ cart: undefined, note: 'n' })
  })
})

describe('6. quota', () => {
  test('a write over quota is QUOTA_EXCEEDED, a failing setMany writes nothing, later writes work', async () => {
    interface S { [k: `q:${string}`]: string }
    const s = keep(createStore<S>({ name: 'quota', keys: { 'q:*': { lifetime: 'persistent' } }, backends: { indexedDB: idb } }))
    await s.setMany({ 'q:a': 'old-a', 'q:b': 'old-b' })
    const put = IDBObjectStore.prototype.put
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if (JSON.stringify(value).length > 1000) throw new DOMException('full', 'QuotaExceededError')
      return put.call(this, value, key)
    })
    expect(await codeOf(s.set('q:a', 'x'.repeat(2000)))).toBe('QUOTA_EXCEEDED')
    expect(await codeOf(s.setMany({ 'q:a': 'new-a', 'q:b': 'x'.repeat(2000) }))).toBe('QUOTA_EXCEEDED')
    expect(await s.getMany(['q:a', 'q:b'])).toEqual({ 'q:a': 'old-a', 'q:b': 'old-b' })
    await s.set('q:a', 'small')
    expect(await s.get('q:a')).toBe('small')
  })
})

describe('7. connection lost or closed', () => {
  test('a closed connection is reopened once, on next use, with no retry storm', async () => {
    const open = vi.spyOn(idb, 'open')
    const s = keep(createStore<{ [k: `k:${string}`]: number }>({ name: 'lost', keys: { 'k:*': { lifetime: 'persistent' } }, backends: { indexedDB: idb } }))
    await s.set('k:1', 1)
    expect(open).toHaveBeenCalledTimes(1)
    // fake-indexeddb types its argument as the class, though it takes a connection.
    forceCloseDatabase((open.mock.results[0]?.value as IDBOpenDBRequest).result as never)
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => s.set(`k:${i}`, i).then(() => s.get(`k:${i}`))))
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(open).toHaveBeenCalledTimes(2)
  })
})

describe('8. another tab upgrading or deleting the database', () => {
  test('the store closes on versionchange, so the other tab is not blocked, and reopens on next use', async () => {
    const s = keep(createStore<{ a: number }>({ name: 'vc', keys: { a: { lifetime: 'persistent' } }, backends: { indexedDB: idb } }))
    await s.set('a', 1)
    const blocked = vi.fn()
    await new Promise<void>((resolve, reject) => {
      const req = idb.deleteDatabase('visitstore-vc')
      req.onblocked = blocked
      req.onsuccess = () => resolve()
      req.onerror = () => reject(req.error)
    })
    expect(blocked).not.toHaveBeenCalled()
    expect(await s.get('a')).toBeUndefined()
    await s.set('a', 2)
    expect(await s.get('a')).toBe(2)
  })
})

describe('9. reserved and risky names', () => {
  test("keys that would overwrite the server's session cookie are refused", () => {
    const make = (keys: object) => () => createStore({ name: 'shop', keys: keys as never, session: sessionSync({ cookie: 'shop_sid' }) })
    expect(make({ sid: { lifetime: 'session', serverVisible: true } })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(make({ 's*': { lifetime: 'session', serverVisible: true } })).toThrow(/session cookie/)
    expect(make({ sid: { lifetime: 'session' } })).not.toThrow() // not a cookie
  })

  test('__Host- and __Secure- prefixes cannot arise: store names allow only letters, digits and -', () => {
    for (const name of ['__Host-app', '__Secure-app', '_x']) expect(() => createStore({ name, keys: {} })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })

  test('secure: true on plain http is refused; sameSite None without secure too', () => {
    vi.stubGlobal('location', new URL('http://shop.example/cart'))
    expect(() => createStore({ name: 'h', keys: {}, cookie: { secure: true } })).toThrow(/https/)
    expect(() => createStore({ name: 'h', keys: {}, cookie: { sameSite: 'None' } })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })

  test('a cookie.domain that does not match the page host is refused at createStore, not dropped on every write', () => {
    vi.stubGlobal('location', new URL('https://shop.example.com/'))
    expect(() => createStore({ name: 'd', keys: {}, cookie: { domain: 'other.example' } })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining('other.example') }))
    expect(() => keep(createStore({ name: 'd', keys: {}, cookie: { domain: 'example.com' } }))).not.toThrow()
  })

  test('an expiry beyond 400 days is clamped with a warning', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const s = keep(createStore<{ t: string }>({ name: 'cl', keys: { t: { lifetime: 'persistent', serverVisible: true, maxAge: 10 * 365 * 86400 } } }))
    expect(s.placement('t').reason).toMatch(/Max-Age 34560000s/)
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/400/))
  })
})

describe('10. storage persistence', () => {
  test('persist() asks once and reports the answer; estimate() reports usage', async () => {
    const persist = vi.fn(async () => true)
    vi.stubGlobal('navigator', { ...navigator, storage: { persist, estimate: async () => ({ usage: 10, quota: 100 }) } })
    const s = keep(createStore<{ a: number }>({ name: 'pe', keys: { a: { lifetime: 'tab' } } }))
    expect(await s.persist()).toBe(true)
    expect(await s.persist()).toBe(true)
    expect(persist).toHaveBeenCalledTimes(1)
    expect(await s.estimate()).toEqual({ usage: 10, quota: 100 })
  })

  test('neither is assumed to succeed: a missing API or a refusal answers false / undefined', async () => {
    vi.stubGlobal('navigator', { ...navigator, storage: undefined })
    const s = keep(createStore<{ a: number }>({ name: 'pn', keys: { a: { lifetime: 'tab' } } }))
    expect(await s.persist()).toBe(false)
    expect(await s.estimate()).toBeUndefined()
    vi.stubGlobal('navigator', { ...navigator, storage: { persist: async () => { throw new Error('denied') }, estimate: async () => { throw new Error('no') } } })
    const t = keep(createStore<{ a: number }>({ name: 'pr', keys: { a: { lifetime: 'tab' } } }))
    const errors: string[] = []
    t.on('error', (e) => errors.push(e.code))
    expect(await t.persist()).toBe(false)
    expect(await t.estimate()).toBeUndefined()
    expect(errors).toEqual(['STORAGE_UNAVAILABLE', 'STORAGE_UNAVAILABLE'])
  })
})

void (null as unknown as VisitStore<object>)

describe('7b. a connection lost in the middle of an operation', () => {
  test('the operation runs once more on a new connection and its caller never sees the loss', async () => {
    const open = vi.spyOn(idb, 'open')
    const s = keep(createStore<{ [k: `k:${string}`]: number }>({ name: 'midway', keys: { 'k:*': { lifetime: 'persistent' } }, backends: { indexedDB: idb } }))
    await s.set('k:0', 0)
    const conn = (open.mock.results[0]?.value as IDBOpenDBRequest).result
    const put = IDBObjectStore.prototype.put
    let closedOnce = false
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      const request = put.call(this, value, key)
      if (!closedOnce) {
        closedOnce = true
        // What a browser does when it drops a connection (Safari, storage cleared): abort the
        // transaction in flight, then close. fake-indexeddb's forced close waits for transactions.
        this.transaction.abort()
        forceCloseDatabase(conn as never)
      }
      return request
    })
    await s.set('k:1', 1)
    expect(closedOnce).toBe(true)
    expect(open).toHaveBeenCalledTimes(2)
    expect(await s.getMany(['k:0', 'k:1'])).toEqual({ 'k:0': 0, 'k:1': 1 })
  })
})

describe('7b. a connection lost under a get', () => {
  test('the read runs once more on a new connection and its caller gets the value', async () => {
    const open = vi.spyOn(idb, 'open')
    const s = keep(createStore<{ [k: `k:${string}`]: number }>({ name: 'midget', keys: { 'k:*': { lifetime: 'persistent' } }, backends: { indexedDB: idb } }))
    await s.setMany({ 'k:0': 0, 'k:1': 1 })
    // Once the start-up sweep is done, a get asks for its transaction in the call (tiers/client.ts): that read path is the one lost.
    await vi.waitFor(async () => {
      const spy = vi.spyOn(IDBObjectStore.prototype, 'get')
      const read = s.get('k:0')
      const inCall = spy.mock.calls.length > 0
      spy.mockRestore()
      expect(await read).toBe(0)
      expect(inCall).toBe(true)
    })
    const conn = (open.mock.results[0]?.value as IDBOpenDBRequest).result
    const get = IDBObjectStore.prototype.get
    let closedOnce = false
    vi.spyOn(IDBObjectStore.prototype, 'get').mockImplementation(function (this: IDBObjectStore, key: IDBValidKey | IDBKeyRange) {
      const request = get.call(this, key)
      if (!closedOnce && key === 'k:1') {
        closedOnce = true
        this.transaction.abort()
        forceCloseDatabase(conn as never)
      }
      return request
    })
    expect(await s.get('k:1')).toBe(1)
    expect(closedOnce).toBe(true)
    expect(open).toHaveBeenCalledTimes(2)
    expect(await s.get('k:0')).toBe(0)
  })
})

describe('7c. connections lost again and again (a clear of site data still under way closes the next one too)', () => {
  /** A store whose first `losses` IndexedDB puts each abort their transaction and close their connection. */
  async function losing(name: string, losses: number) {
    const open = vi.spyOn(idb, 'open')
    const s = keep(createStore<{ [k: `k:${string}`]: number }>({ name, keys: { 'k:*': { lifetime: 'persistent' } }, backends: { indexedDB: idb } }))
    await s.setMany({ 'k:0': 0, 'k:1': 1 })
    await s.ready
    open.mockClear()
    const put = IDBObjectStore.prototype.put
    let lost = 0
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      const request = put.call(this, value, key)
      // Only the test's own records: the store's background work (sweep, declarations) is not counted.
      if (lost < losses && String((value as { p?: unknown } | null)?.p).startsWith('k:')) {
        lost++
        this.transaction.abort()
        forceCloseDatabase(this.transaction.db as never)
      }
      return request
    })
    return { s, open, lost: () => lost }
  }

  test('lost twice: the operation runs on a third connection and resolves', async () => {
    const { s, open, lost } = await losing('twice', 2)
    await s.set('k:2', 2)
    expect(lost()).toBe(2)
    expect(open.mock.calls.length).toBeGreaterThanOrEqual(2)
    vi.restoreAllMocks()
    expect(await s.getMany(['k:0', 'k:1', 'k:2'])).toEqual({ 'k:0': 0, 'k:1': 1, 'k:2': 2 })
  })

  test('lost at every try: it gives up after two more tries, rejects STORAGE_UNAVAILABLE, and the old value stays', async () => {
    const { s, open, lost } = await losing('always', Infinity)
    expect(await codeOf(s.set('k:1', 2))).toBe('STORAGE_UNAVAILABLE')
    // Three tries: the connection it had, then two new ones.
    expect(lost()).toBe(3)
    expect(open.mock.calls.length).toBeGreaterThanOrEqual(2)
    vi.restoreAllMocks()
    expect(await s.get('k:1')).toBe(1)
  })
})

describe('11. restricted pages: createStore never throws for the environment, and every call answers with a VisitStoreError', () => {
  interface S { theme: string, cart: string[], n: number }
  const keys = { theme: { lifetime: 'persistent', serverVisible: true }, cart: { lifetime: 'session' }, n: { lifetime: 'persistent' } } as const

  test('document.cookie throws (a sandboxed frame): cookies unavailable, cookie reads undefined, cookie writes STORAGE_UNAVAILABLE, the rest works', async () => {
    const sandboxed = { read: () => { throw new DOMException('sandboxed', 'SecurityError') }, write: () => { throw new DOMException('sandboxed', 'SecurityError') } }
    const s = keep(createStore<S>({ name: 'sbx', keys, backends: { indexedDB: idb, cookies: sandboxed } }))
    await s.ready
    expect(s.status.cookies).toBe('unavailable')
    expect(s.peek('theme')).toBeUndefined()
    expect(await s.get('theme')).toBeUndefined()
    expect(await codeOf(s.set('theme', 'dark'))).toBe('STORAGE_UNAVAILABLE')
    expect(await codeOf(s.delete('theme'))).toBe('STORAGE_UNAVAILABLE')
    expect(await codeOf(s.update('theme', () => 'x'))).toBe('STORAGE_UNAVAILABLE')
    await s.set('cart', ['a'])
    await s.set('n', 1)
    expect(await s.getMany(['cart', 'n'])).toEqual({ cart: ['a'], n: 1 })
  })

  test('BroadcastChannel throwing (Firefox with cookies blocked): the store works in this tab alone', async () => {
    vi.stubGlobal('BroadcastChannel', function BroadcastChannel() { throw new DOMException('blocked', 'SecurityError') })
    const s = keep(createStore<S>({ name: 'nobc', keys, backends: { indexedDB: idb } }))
    const seen = vi.fn()
    s.watch('n', seen)
    await s.set('n', 1)
    await s.set('theme', 'dark')
    expect(await s.getMany(['n', 'theme'])).toEqual({ n: 1, theme: 'dark' })
    expect(seen).toHaveBeenCalledWith(1, { source: 'local' })
  })

  test('Web Locks refusing (a third-party frame): tabs take turns through IndexedDB instead, and updates still work', async () => {
    const locks = { request: () => Promise.reject(new DOMException('refused', 'SecurityError')), query: () => Promise.reject(new DOMException('refused', 'SecurityError')) }
    vi.stubGlobal('navigator', { cookieEnabled: true, locks })
    const s = keep(createStore<S>({ name: 'nolocks', keys, backends: { indexedDB: idb } }))
    await s.ready
    expect(await s.update('theme', (t) => `${t ?? ''}x`)).toBe('x')
    expect(await s.update('theme', (t) => `${t ?? ''}x`)).toBe('xx')
    expect(s.status.locks).toBe('indexeddb')
    await s.set('cart', ['a'])
    expect(await s.get('cart')).toEqual(['a'])
  })

  test('no crypto.getRandomValues: createStore does not throw and every key still works', async () => {
    vi.stubGlobal('crypto', undefined)
    let s: VisitStore<S> | undefined
    expect(() => { s = keep(createStore<S>({ name: 'nocrypto', keys, backends: { indexedDB: idb } })) }).not.toThrow()
    const store = s as VisitStore<S>
    const errors: unknown[] = []
    store.on('error', (e) => errors.push(e))
    await store.ready
    for (const [key, value] of [['theme', 'dark'], ['cart', ['a']], ['n', 1]] as const) await store.set(key, value as never)
    expect(await store.getMany(['theme', 'cart', 'n'])).toEqual({ theme: 'dark', cart: ['a'], n: 1 })
    for (const e of errors) expect(e).toBeInstanceOf(VisitStoreError)
  })
})
