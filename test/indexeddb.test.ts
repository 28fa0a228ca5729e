// The IndexedDB tier (client-only keys), through the front door: what lands in the database,
// lifetimes, atomic writes, update, and the fall-back to memory. The backends' own contract is
// test/tiers/backends.test.ts.
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { createStore, VisitStoreError, type StoreOptions, type VisitStore } from '../src/index.js'
import { sessionSync } from '../src/session.js'
import { clearAllCookies, cookieJar, rawKeys, rawPut, rawRecord, rejectionOf, settle, useWebLocks } from './fixtures/page-storage.js'

interface Schema {
  cart: string[]
  wish: string
  prefs: unknown
  when: Date
  n: number
  [k: `draft:${string}`]: string
}
const keys = {
  cart: { lifetime: 'session' },
  wish: { lifetime: 'session' },
  prefs: { lifetime: 'persistent' },
  when: { lifetime: 'persistent' },
  n: { lifetime: 'persistent' },
  'draft:*': { lifetime: 'persistent', ttl: 60 },
} as const

const OTHER_STAMP = 'bbbbbbbbbbbb'

const opened: VisitStore<Schema>[] = []
function open(factory: IDBFactory | null, options: Partial<StoreOptions<Schema>> = {}): VisitStore<Schema> {
  const store = createStore<Schema>({ name: 'shop', keys, ...options, backends: { indexedDB: factory, ...options.backends } })
  opened.push(store)
  return store
}

/** A database the store has made (its layout in place), with the store closed again. */
async function madeDatabase(): Promise<IDBFactory> {
  const factory = new IDBFactory()
  const first = open(factory)
  await first.ready
  first.close()
  return factory
}

/** A stand-in IDBFactory whose open() returns `request` (or throws), to play a broken browser. */
const brokenFactory = (openIt: () => unknown) => ({ open: openIt }) as unknown as IDBFactory

beforeEach(clearAllCookies)
afterEach(() => {
  for (const store of opened.splice(0)) store.close()
  vi.useRealTimers()
  vi.unstubAllGlobals()
  vi.restoreAllMocks()
})

describe('records in the database', () => {
  test('persistent, session and expiring values land as { p, v, k?, x? } in the store\'s database', async () => {
    const factory = new IDBFactory()
    const store = open(factory)
    await store.ready
    const before = Date.now()
    await store.setMany({ prefs: { dense: true }, cart: ['sku-1'], 'draft:1': 'text' })
    expect(await rawRecord(factory, 'shop', 'prefs')).toEqual({ p: 'prefs', v: { dense: true } })
    expect(await rawRecord(factory, 'shop', 'cart')).toEqual({ p: 'cart', v: ['sku-1'], k: cookieJar()['shop_$s'] })
    const draft = await rawRecord(factory, 'shop', 'draft:1') as { x: number }
    expect(draft).toEqual({ p: 'draft:1', v: 'text', x: expect.any(Number) })
    expect(draft.x).toBeGreaterThanOrEqual(before + 60_000)
    expect(store.status.indexeddb).toBe('ok')
    expect(store.placement('cart').tier).toBe('indexeddb')
  })

  test('keeps what structured clone keeps (a Date comes back as a Date)', async () => {
    const store = open(new IDBFactory())
    await store.set('when', new Date(123))
    const when = await store.get('when')
    expect(when).toBeInstanceOf(Date)
    expect(when?.getTime()).toBe(123)
  })

  test('uses the page indexedDB when backends.indexedDB is left out', async () => {
    const store = createStore<Schema>({ name: 'page-default', keys })
    opened.push(store)
    await store.set('prefs', 1)
    expect(store.status.indexeddb).toBe('ok')
    expect(await rawRecord(indexedDB, 'page-default', 'prefs')).toEqual({ p: 'prefs', v: 1 })
  })

  test('one database per store name: stores of other names do not see each other', async () => {
    const factory = new IDBFactory()
    const shop = open(factory)
    const blog = createStore<Schema>({ name: 'blog', keys, backends: { indexedDB: factory } })
    opened.push(blog)
    await shop.set('prefs', 'shop')
    await blog.set('prefs', 'blog')
    expect(await shop.get('prefs')).toBe('shop')
    expect(await blog.get('prefs')).toBe('blog')
    expect((await factory.databases()).map((d) => d.name).sort()).toEqual(['visitstore-blog', 'visitstore-shop'])
  })

  test("the data of today's release (a version-1 database) reads back after the upgrade", async () => {
    const factory = new IDBFactory()
    document.cookie = 'shop_$s=aaaaaaaaaaaa; Path=/'
    const req = factory.open('visitstore-shop', 1)
    req.onupgradeneeded = () => {
      const entries = req.result.createObjectStore('entries')
      entries.put({ v: { dense: true } }, 'prefs')
      entries.put({ v: ['sku-1'], s: 'aaaaaaaaaaaa' }, 'cart')
      entries.put({ v: ['old'], s: OTHER_STAMP }, 'wish')
    }
    ;(await settle(req)).close()
    const store = open(factory)
    expect(await store.getMany(['prefs', 'cart', 'wish'])).toEqual({ prefs: { dense: true }, cart: ['sku-1'], wish: undefined })
  })
})

describe('lifetimes', () => {
  test('an expired value reads as missing, is not listed, and is swept from the database; fresh ones stay', async () => {
    const factory = await madeDatabase()
    await rawPut(factory, 'shop', { p: 'draft:old', v: 'old', x: Date.now() - 1 })
    await rawPut(factory, 'shop', { p: 'draft:new', v: 'fresh', x: Date.now() + 60_000 })
    const store = open(factory)
    expect(await store.getMany(['draft:old', 'draft:new'])).toEqual({ 'draft:old': undefined, 'draft:new': 'fresh' })
    expect(await store.keys('draft:')).toEqual(['draft:new'])
    await vi.waitFor(async () => expect(await rawRecord(factory, 'shop', 'draft:old')).toBeUndefined())
    expect(await rawRecord(factory, 'shop', 'draft:new')).toMatchObject({ v: 'fresh' })
  })

  test('a session value of an ended browser session reads as missing and is swept; persistent values stay', async () => {
    useWebLocks()
    const factory = await madeDatabase()
    await rawPut(factory, 'shop', { p: 'cart', v: ['old'], k: OTHER_STAMP })
    await rawPut(factory, 'shop', { p: 'prefs', v: 'kept' })
    const store = open(factory)
    expect(await store.getMany(['cart', 'prefs'])).toEqual({ cart: undefined, prefs: 'kept' })
    expect(await store.keys()).toEqual(['prefs'])
    await vi.waitFor(async () => expect(await rawRecord(factory, 'shop', 'cart')).toBeUndefined())
    expect(await rawRecord(factory, 'shop', 'prefs')).toEqual({ p: 'prefs', v: 'kept' })
  })

  test('a value written while the sweep runs is not swept with the dead one it replaced', async () => {
    useWebLocks()
    const factory = await madeDatabase()
    await rawPut(factory, 'shop', { p: 'cart', v: ['old'], k: OTHER_STAMP })
    await rawPut(factory, 'shop', { p: 'wish', v: 'old', k: OTHER_STAMP })
    const store = open(factory)
    await store.set('cart', ['new'])
    await vi.waitFor(async () => expect(await rawRecord(factory, 'shop', 'wish')).toBeUndefined())
    expect(await store.get('cart')).toEqual(['new'])
  })

  test('a session value written under another server session reads as missing and is purged', async () => {
    let answer = { tag: 'user-1' }
    const factory = new IDBFactory()
    const store = open(factory, { session: sessionSync({ read: async () => answer, interval: 0 }) })
    await store.ready
    await store.setMany({ cart: ['sku-1'], prefs: 'kept' })
    answer = { tag: 'user-2' }
    await store.session.refresh()
    expect(await store.getMany(['cart', 'prefs'])).toEqual({ cart: undefined, prefs: 'kept' })
    expect(await rawRecord(factory, 'shop', 'cart')).toBeUndefined()
  })
})

describe('writes are all or nothing', () => {
  test('a setMany with an uncloneable value writes nothing and rejects NOT_SERIALIZABLE naming the keys', async () => {
    const factory = new IDBFactory()
    const store = open(factory)
    await store.set('prefs', 'old')
    const err = await rejectionOf(store.setMany({ prefs: 'new', n: 1, cart: [(() => 1) as unknown as string] }))
    expect(err.code).toBe('NOT_SERIALIZABLE')
    expect((err.cause as Error).name).toBe('DataCloneError')
    expect(err.message).toMatch(/"prefs", "n", "cart"\) in IndexedDB/)
    expect(await rawRecord(factory, 'shop', 'prefs')).toEqual({ p: 'prefs', v: 'old' })
    expect(await rawRecord(factory, 'shop', 'n')).toBeUndefined()
    expect(await store.getMany(['prefs', 'n', 'cart'])).toEqual({ prefs: 'old', n: undefined, cart: undefined })
  })

  test('the store keeps working after a refused write', async () => {
    const store = open(new IDBFactory())
    await rejectionOf(store.set('prefs', () => 1))
    await store.set('prefs', 'ok')
    expect(await store.get('prefs')).toBe('ok')
  })

  test('delete removes the record and leaves the others', async () => {
    const factory = new IDBFactory()
    const store = open(factory)
    await store.setMany({ prefs: 1, n: 2, cart: ['x'] })
    await store.delete('prefs')
    await store.delete('wish')
    expect(await store.getMany(['prefs', 'n', 'cart'])).toEqual({ prefs: undefined, n: 2, cart: ['x'] })
    expect((await rawKeys(factory, 'shop')).filter((k) => !k.startsWith('$'))).toEqual(['cart', 'n'])
  })
})

describe('update', () => {
  test('fn sees the live value (undefined when absent), and its result is stored', async () => {
    const factory = new IDBFactory()
    const store = open(factory)
    const seen: unknown[] = []
    await store.update('n', (n) => { seen.push(n); return 1 })
    expect(await store.update('n', (n) => { seen.push(n); return (n ?? 0) + 1 })).toBe(2)
    expect(seen).toEqual([undefined, 1])
    expect(await rawRecord(factory, 'shop', 'n')).toEqual({ p: 'n', v: 2 })
  })

  test('fn sees undefined for a dead value (expired, or of another browser session)', async () => {
    const factory = await madeDatabase()
    await rawPut(factory, 'shop', { p: 'cart', v: ['old'], k: OTHER_STAMP })
    await rawPut(factory, 'shop', { p: 'draft:1', v: 'old', x: Date.now() - 1 })
    const store = open(factory)
    const seen: unknown[] = []
    await store.update('cart', (c) => { seen.push(c); return ['new'] })
    await store.update('draft:1', (d) => { seen.push(d); return 'new' })
    expect(seen).toEqual([undefined, undefined])
    expect(await store.getMany(['cart', 'draft:1'])).toEqual({ cart: ['new'], 'draft:1': 'new' })
  })

  test("a throwing fn writes nothing and the caller's own error comes back unchanged", async () => {
    const factory = new IDBFactory()
    const store = open(factory)
    await store.set('n', 1)
    const bug = new DOMException('app bug that looks like a quota error', 'QuotaExceededError')
    await expect(store.update('n', () => { throw bug })).rejects.toBe(bug)
    expect(await rawRecord(factory, 'shop', 'n')).toEqual({ p: 'n', v: 1 })
  })

  test('a result that cannot be stored rejects NOT_SERIALIZABLE and keeps the old value', async () => {
    const store = open(new IDBFactory())
    await store.set('prefs', 1)
    expect((await rejectionOf(store.update('prefs', () => () => 2))).code).toBe('NOT_SERIALIZABLE')
    expect(await store.get('prefs')).toBe(1)
  })

  test('concurrent updates from two tabs lose nothing', async () => {
    const factory = new IDBFactory()
    const tabs = [open(factory), open(factory)]
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (tabs[i % 2] as VisitStore<Schema>).update('n', (n = 0) => n + 1)))
    expect(results.sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
    expect(await tabs[0]?.get('n')).toBe(40)
  })
})

describe('when IndexedDB cannot be used, values are kept in memory for this page', () => {
  async function worksInMemory(store: VisitStore<Schema>) {
    await store.ready
    expect(store.status.indexeddb).toBe('memory')
    expect(store.placement('prefs').tier).toBe('memory')
    await store.setMany({ prefs: [1], cart: ['sku-1'] })
    await store.update('prefs', (p) => [...(p as number[]), 2])
    expect(await store.getMany(['prefs', 'cart'])).toEqual({ prefs: [1, 2], cart: ['sku-1'] })
    expect(await store.keys()).toEqual(expect.arrayContaining(['cart', 'prefs']))
  }

  test('no IndexedDB at all (backends.indexedDB null, or no global): memory from the start, without an error', async () => {
    const errors = vi.fn()
    const store = open(null)
    store.on('error', errors)
    expect(store.status.indexeddb).toBe('memory')
    await worksInMemory(store)
    vi.stubGlobal('indexedDB', undefined)
    const noGlobal = createStore<Schema>({ name: 'shop', keys })
    opened.push(noGlobal)
    noGlobal.on('error', errors)
    await worksInMemory(noGlobal)
    expect(errors).not.toHaveBeenCalled()
  })

  test("open throwing (storage blocked): one STORAGE_UNAVAILABLE error event keeping the browser's error, then memory", async () => {
    const blocked = new DOMException('The operation is insecure.', 'SecurityError')
    const errors: VisitStoreError[] = []
    const statuses: string[] = []
    const store = open(brokenFactory(() => { throw blocked }))
    store.on('error', (e) => errors.push(e))
    store.on('status', (s) => statuses.push(s.indexeddb))
    await Promise.all([store.get('prefs'), store.set('n', 1), store.keys(), store.ready])
    await worksInMemory(store)
    expect(errors).toHaveLength(1)
    expect(errors[0]?.code).toBe('STORAGE_UNAVAILABLE')
    expect(errors[0]?.message).toMatch(/kept in memory/)
    expect(errors[0]?.cause).toBe(blocked)
    expect(statuses).toContain('memory')
  })

  test("the open request failing (Firefox private mode): the error event keeps the browser's error", async () => {
    const failure = new DOMException('A mutation operation was attempted on a database that did not allow mutations.', 'InvalidStateError')
    const request: { error: DOMException, onerror?: () => void } = { error: failure }
    const errors: VisitStoreError[] = []
    const store = open(brokenFactory(() => {
      queueMicrotask(() => request.onerror?.())
      return request
    }))
    store.on('error', (e) => errors.push(e))
    await worksInMemory(store)
    expect(errors.map((e) => e.cause)).toEqual([failure])
  })

  test('an open that never answers: memory after openTimeout', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const errors: VisitStoreError[] = []
    const store = open(brokenFactory(() => ({})), { openTimeout: 50 })
    store.on('error', (e) => errors.push(e))
    const reading = store.get('prefs')
    await vi.advanceTimersByTimeAsync(49)
    expect(store.status.indexeddb).toBe('ok')
    await vi.advanceTimersByTimeAsync(1)
    expect(await reading).toBeUndefined()
    expect(store.status.indexeddb).toBe('memory')
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/did not answer within 50 ms/)])
    vi.useRealTimers()
    await worksInMemory(store)
  })
})

describe('background work', () => {
  test('a sweep that fails is reported through the `error` event, not swallowed', async () => {
    const factory = await madeDatabase()
    await rawPut(factory, 'shop', { p: 'draft:old', v: 'old', x: Date.now() - 1 })
    vi.spyOn(IDBObjectStore.prototype, 'delete').mockImplementation(() => { throw new DOMException('broken', 'UnknownError') })
    const errors: VisitStoreError[] = []
    const store = open(factory)
    store.on('error', (e) => errors.push(e))
    expect(await store.get('draft:old')).toBeUndefined()
    await vi.waitFor(() => expect(errors.map((e) => e.code)).toContain('STORAGE_UNAVAILABLE'))
  })
})

describe('records the store did not write', () => {
  test('read as missing with an `invalid` event, and are left in place by reads and by session.end()', async () => {
    const factory = await madeDatabase()
    await rawPut(factory, 'shop', { p: 'cart', items: ['not ours'] })
    await rawPut(factory, 'shop', { p: 'wish', v: 'x', k: 'ok-stamp', x: 'tomorrow' })
    const store = open(factory)
    const invalid = vi.fn()
    store.on('invalid', invalid)
    expect(await store.getMany(['cart', 'wish'])).toEqual({ cart: undefined, wish: undefined })
    expect(invalid).toHaveBeenCalledWith(expect.objectContaining({ key: 'cart' }))
    expect(invalid).toHaveBeenCalledWith(expect.objectContaining({ key: 'wish' }))
    await store.session.end()
    expect(await rawRecord(factory, 'shop', 'cart')).toEqual({ p: 'cart', items: ['not ours'] })
  })

  test('a foreign record whose k is not a string breaks neither session.end() nor the sweep', async () => {
    useWebLocks()
    const factory = await madeDatabase()
    await rawPut(factory, 'shop', { p: 'wish', v: 'x', k: 5 })
    const store = open(factory)
    const errors: VisitStoreError[] = []
    store.on('error', (e) => errors.push(e))
    await store.set('cart', ['sku-1'])
    await store.session.end()
    expect(await store.get('cart')).toBeUndefined()
    expect(await rawRecord(factory, 'shop', 'wish')).toEqual({ p: 'wish', v: 'x', k: 5 })
    expect(errors).toEqual([])
  })
})
