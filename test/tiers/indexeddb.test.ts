import { IDBFactory } from 'fake-indexeddb'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { VisitStoreError } from '../../src/errors.js'
import type { Envelope } from '../../src/lifetimes.js'
import { createClientTier, type ClientTier } from '../../src/tiers/indexeddb.js'

const DB = 'visitstore-shop'
const STAMP = 'aaaaaaaaaaaa'
const OTHER_STAMP = 'bbbbbbbbbbbb'

const open: ClientTier[] = []
afterEach(() => {
  for (const t of open.splice(0)) t.close()
  vi.useRealTimers()
  vi.restoreAllMocks()
})

function makeTier(factory: IDBFactory | null | undefined, dbName = DB, openTimeout = 1000) {
  const onFallback = vi.fn<(error: VisitStoreError) => void>()
  const tier = createClientTier({ dbName, factory, openTimeout, onFallback })
  open.push(tier)
  return { tier, onFallback }
}

function settle<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

/** Reads the database directly, as another piece of code on the page would; the tier must have created it. */
async function rawRead(factory: IDBFactory, key: string, dbName = DB): Promise<unknown> {
  const db = await settle(factory.open(dbName))
  try {
    return await settle(db.transaction('entries').objectStore('entries').get(key))
  } finally {
    db.close()
  }
}

async function rawKeys(factory: IDBFactory, dbName = DB): Promise<IDBValidKey[]> {
  const db = await settle(factory.open(dbName))
  try {
    return await settle(db.transaction('entries').objectStore('entries').getAllKeys())
  } finally {
    db.close()
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('expected a rejection')
}

/** A stand-in IDBFactory whose open() returns `request` (or throws), to play a broken browser. */
function brokenFactory(open: () => unknown): IDBFactory {
  return { open } as unknown as IDBFactory
}

describe('reading and writing', () => {
  test('opens nothing until the first call', async () => {
    const factory = new IDBFactory()
    const spy = vi.spyOn(factory, 'open')
    const { tier } = makeTier(factory)
    expect(spy).not.toHaveBeenCalled()
    expect(await factory.databases()).toEqual([])
    await tier.get(['a'], STAMP)
    expect(spy).toHaveBeenCalledTimes(1)
  })

  test('stores envelopes in the real database and reads back their values', async () => {
    const factory = new IDBFactory()
    const { tier, onFallback } = makeTier(factory)
    await tier.set([['cart', { v: ['sku-1'], s: STAMP }], ['prefs', { v: { dense: true } }]], 'setMany')
    expect(tier.mode).toBe('indexeddb')
    expect(await tier.get(['cart', 'prefs', 'missing'], STAMP)).toEqual([['sku-1'], { dense: true }, undefined])
    expect(await rawRead(factory, 'cart')).toEqual({ v: ['sku-1'], s: STAMP })
    expect(onFallback).not.toHaveBeenCalled()
  })

  test('keeps what structured clone keeps (a Date comes back as a Date)', async () => {
    const { tier } = makeTier(new IDBFactory())
    await tier.set([['when', { v: new Date(123) }]], 'set')
    const [when] = await tier.get(['when'], STAMP)
    expect(when).toBeInstanceOf(Date)
    expect((when as Date).getTime()).toBe(123)
  })

  test('uses the page indexedDB when no factory is given', async () => {
    const { tier } = makeTier(undefined, 'visitstore-default-factory')
    await tier.set([['a', { v: 1 }]], 'set')
    expect(tier.mode).toBe('indexeddb')
    expect(await rawRead(indexedDB, 'a', 'visitstore-default-factory')).toEqual({ v: 1 })
  })

  test('one database per dbName: stores with different names do not see each other', async () => {
    const factory = new IDBFactory()
    const { tier: shop } = makeTier(factory, 'visitstore-shop')
    const { tier: blog } = makeTier(factory, 'visitstore-blog')
    await shop.set([['a', { v: 'shop' }]], 'set')
    await blog.set([['a', { v: 'blog' }]], 'set')
    expect(await shop.get(['a'], STAMP)).toEqual(['shop'])
    expect(await blog.get(['a'], STAMP)).toEqual(['blog'])
    expect((await factory.databases()).map((d) => d.name).sort()).toEqual(['visitstore-blog', 'visitstore-shop'])
  })

  test('two tiers on the same dbName (two tabs) share the data', async () => {
    const factory = new IDBFactory()
    const { tier: tabA } = makeTier(factory)
    const { tier: tabB } = makeTier(factory)
    await tabA.set([['cart', { v: [1] }]], 'set')
    expect(await tabB.get(['cart'], STAMP)).toEqual([[1]])
  })

  test('a set replaces the previous value', async () => {
    const { tier } = makeTier(new IDBFactory())
    await tier.set([['a', { v: 1 }]], 'set')
    await tier.set([['a', { v: 2 }]], 'set')
    expect(await tier.get(['a'], STAMP)).toEqual([2])
  })

  test('delete removes the records from the database and leaves the others', async () => {
    const factory = new IDBFactory()
    const { tier } = makeTier(factory)
    await tier.set([['a', { v: 1 }], ['b', { v: 2 }], ['c', { v: 3 }]], 'set')
    await tier.delete(['a', 'c', 'never-set'])
    expect(await tier.get(['a', 'b', 'c'], STAMP)).toEqual([undefined, 2, undefined])
    expect(await rawKeys(factory)).toEqual(['b'])
  })
})

describe('lifetimes', () => {
  const expired = (): Envelope => ({ v: 'old', x: Date.now() - 1 })
  const fresh = (): Envelope => ({ v: 'fresh', x: Date.now() + 60_000 })

  test('an expired record reads as undefined and is swept from the database', async () => {
    const factory = new IDBFactory()
    const { tier } = makeTier(factory)
    await tier.set([['draft:1', expired()], ['draft:2', fresh()]], 'set')
    expect(await tier.get(['draft:1', 'draft:2'], STAMP)).toEqual([undefined, 'fresh'])
    await vi.waitFor(async () => { expect(await rawRead(factory, 'draft:1')).toBeUndefined() })
    expect(await rawRead(factory, 'draft:2')).toEqual({ v: 'fresh', x: expect.any(Number) })
  })

  test('a record of another browser session reads as undefined and is swept; persistent ones stay', async () => {
    const factory = new IDBFactory()
    const { tier } = makeTier(factory)
    await tier.set([['cart', { v: ['old'], s: OTHER_STAMP }], ['prefs', { v: 'kept' }], ['wish', { v: 'mine', s: STAMP }]], 'set')
    expect(await tier.get(['cart', 'prefs', 'wish'], STAMP)).toEqual([undefined, 'kept', 'mine'])
    await vi.waitFor(async () => { expect(await rawRead(factory, 'cart')).toBeUndefined() })
    expect(await rawKeys(factory)).toEqual(['prefs', 'wish'])
  })

  test('a record that is not an envelope reads as undefined', async () => {
    const factory = new IDBFactory()
    const { tier } = makeTier(factory)
    await tier.set([['junk', 'bare string' as unknown as Envelope]], 'set')
    expect(await tier.get(['junk'], STAMP)).toEqual([undefined])
  })

  test('keys lists live records only, and deletes the dead ones before it resolves', async () => {
    const factory = new IDBFactory()
    const { tier } = makeTier(factory)
    await tier.set([['a', { v: 1 }], ['b', expired()], ['c', { v: 3, s: OTHER_STAMP }], ['d', { v: 4, s: STAMP }]], 'set')
    expect((await tier.keys(STAMP)).sort()).toEqual(['a', 'd'])
    expect(await rawKeys(factory)).toEqual(['a', 'd'])
  })

  test('a value written right after a dead one was read is not swept away', async () => {
    const { tier } = makeTier(new IDBFactory())
    await tier.set([['cart', { v: 'old', s: OTHER_STAMP }]], 'set')
    expect(await tier.get(['cart'], STAMP)).toEqual([undefined])
    await tier.set([['cart', { v: 'new', s: STAMP }]], 'set')
    expect(await tier.get(['cart'], STAMP)).toEqual(['new'])
  })

  test('a value written while a get of the same dead key is in flight is not swept away', async () => {
    const { tier } = makeTier(new IDBFactory())
    await tier.set([['cart', { v: 'old', s: OTHER_STAMP }]], 'set')
    const read = tier.get(['cart'], STAMP)
    const write = tier.set([['cart', { v: 'new', s: STAMP }]], 'set')
    await Promise.all([read, write])
    expect(await tier.get(['cart'], STAMP)).toEqual(['new'])
  })

  test('a value written while keys() is in flight is not deleted with the dead records', async () => {
    const { tier } = makeTier(new IDBFactory())
    await tier.set([['cart', { v: 'old', s: OTHER_STAMP }]], 'set')
    const listing = tier.keys(STAMP)
    const write = tier.set([['cart', { v: 'new', s: STAMP }]], 'set')
    await Promise.all([listing, write])
    expect(await tier.get(['cart'], STAMP)).toEqual(['new'])
  })
})

describe('server session tag', () => {
  test('a session record written under another server session reads as undefined and is swept', async () => {
    const factory = new IDBFactory()
    let current: string | null = 'tag-1'
    const tier = createClientTier({ dbName: DB, factory, openTimeout: 1000, onFallback: vi.fn(), currentTag: () => current })
    open.push(tier)
    await tier.set([['cart', { v: ['sku'], s: STAMP, t: 'tag-1' }], ['prefs', { v: 'kept' }]], 'set')
    expect(await tier.get(['cart', 'prefs'], STAMP)).toEqual([['sku'], 'kept'])
    current = 'tag-2'
    expect(await tier.get(['cart', 'prefs'], STAMP)).toEqual([undefined, 'kept'])
    await vi.waitFor(async () => { expect(await rawRead(factory, 'cart')).toBeUndefined() })
    expect(await rawKeys(factory)).toEqual(['prefs'])
  })
})

describe('rewrite', () => {
  test('keeps, deletes or replaces records in the database and resolves to the deleted keys', async () => {
    const factory = new IDBFactory()
    const { tier } = makeTier(factory)
    await tier.set([['keep', { v: 1 }], ['drop', { v: 2, s: STAMP, t: null }], ['move', { v: 3, s: STAMP, t: null }]], 'set')
    const dropped = await tier.rewrite((raw) => raw.v === 1 ? undefined : raw.v === 2 ? null : { ...raw, t: 'tag-1' })
    expect(dropped).toEqual(['drop'])
    expect(await rawKeys(factory)).toEqual(['keep', 'move'])
    expect(await rawRead(factory, 'keep')).toEqual({ v: 1 })
    expect(await rawRead(factory, 'move')).toEqual({ v: 3, s: STAMP, t: 'tag-1' })
  })

  test('leaves records that are not envelopes alone', async () => {
    const factory = new IDBFactory()
    const { tier } = makeTier(factory)
    await tier.set([['junk', 'bare' as unknown as Envelope], ['a', { v: 1 }]], 'set')
    const seen: unknown[] = []
    expect(await tier.rewrite((raw) => { seen.push(raw); return null })).toEqual(['a'])
    expect(seen).toEqual([{ v: 1 }])
    expect(await rawRead(factory, 'junk')).toBe('bare')
  })

  test('works the same in memory when IndexedDB is unavailable', async () => {
    const { tier } = makeTier(null)
    await tier.set([['a', { v: 1 }], ['b', { v: 2 }]], 'set')
    expect(await tier.rewrite((raw) => (raw.v === 1 ? null : undefined))).toEqual(['a'])
    expect(await tier.get(['a', 'b'], STAMP)).toEqual([undefined, 2])
  })
})

describe('atomic writes', () => {
  test('a batch with an uncloneable value writes nothing and rejects NOT_SERIALIZABLE', async () => {
    const factory = new IDBFactory()
    const { tier } = makeTier(factory)
    await tier.set([['a', { v: 'old' }]], 'set')
    const err = await rejection(tier.set([['a', { v: 'new' }], ['b', { v: 'b' }], ['c', { v: { f: () => 1 } }]], 'setMany("a", "b", "c")'))
    expect(err).toBeInstanceOf(VisitStoreError)
    expect((err as VisitStoreError).code).toBe('NOT_SERIALIZABLE')
    expect(((err as VisitStoreError).cause as Error).name).toBe('DataCloneError')
    expect((err as VisitStoreError).message).toContain('setMany("a", "b", "c") in IndexedDB')
    expect(await rawRead(factory, 'a')).toEqual({ v: 'old' })
    expect(await rawKeys(factory)).toEqual(['a'])
    expect(await tier.get(['a', 'b', 'c'], STAMP)).toEqual(['old', undefined, undefined])
  })

  test('the tier keeps working after a refused batch', async () => {
    const { tier } = makeTier(new IDBFactory())
    await rejection(tier.set([['a', { v: () => 1 }]], 'set'))
    await tier.set([['a', { v: 'ok' }]], 'set')
    expect(await tier.get(['a'], STAMP)).toEqual(['ok'])
  })
})

describe('update', () => {
  test('fn sees the live value (undefined when absent) and the returned record is stored', async () => {
    const factory = new IDBFactory()
    const { tier } = makeTier(factory)
    const seen: unknown[] = []
    await tier.update('n', STAMP, (current) => { seen.push(current); return { v: 1 } })
    await tier.update('n', STAMP, (current) => { seen.push(current); return { v: (current as number) + 1, s: STAMP } })
    expect(seen).toEqual([undefined, 1])
    expect(await rawRead(factory, 'n')).toEqual({ v: 2, s: STAMP })
  })

  test('fn sees undefined for a dead record (expired or of another session)', async () => {
    const { tier } = makeTier(new IDBFactory())
    await tier.set([['old', { v: 'x', s: OTHER_STAMP }], ['gone', { v: 'y', x: Date.now() - 1 }]], 'set')
    const seen: unknown[] = []
    await tier.update('old', STAMP, (current) => { seen.push(current); return { v: 'z' } })
    await tier.update('gone', STAMP, (current) => { seen.push(current); return { v: 'z' } })
    expect(seen).toEqual([undefined, undefined])
  })

  test("a throwing fn writes nothing and the caller's own error comes back unchanged", async () => {
    const factory = new IDBFactory()
    const { tier } = makeTier(factory)
    await tier.set([['n', { v: 1 }]], 'set')
    const bug = new DOMException('app bug that looks like a quota error', 'QuotaExceededError')
    expect(await rejection(tier.update('n', STAMP, () => { throw bug }))).toBe(bug)
    expect(await rawRead(factory, 'n')).toEqual({ v: 1 })
  })

  test('a record that cannot be cloned rejects NOT_SERIALIZABLE and keeps the old one', async () => {
    const factory = new IDBFactory()
    const { tier } = makeTier(factory)
    await tier.set([['n', { v: 1 }]], 'set')
    const err = await rejection(tier.update('n', STAMP, () => ({ v: () => 2 })))
    expect((err as VisitStoreError).code).toBe('NOT_SERIALIZABLE')
    expect(await rawRead(factory, 'n')).toEqual({ v: 1 })
  })

  test('concurrent updates from two tabs lose nothing', async () => {
    const factory = new IDBFactory()
    const { tier: tabA } = makeTier(factory)
    const { tier: tabB } = makeTier(factory)
    const increment = (current: unknown): Envelope => ({ v: ((current as number | undefined) ?? 0) + 1 })
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? tabA : tabB).update('count', STAMP, increment)))
    expect(await tabA.get(['count'], STAMP)).toEqual([20])
  })
})

describe('fallback to memory', () => {
  async function expectMemoryFallback(tier: ClientTier, onFallback: ReturnType<typeof makeTier>['onFallback']) {
    await tier.open()
    expect(tier.mode).toBe('memory')
    expect(onFallback).toHaveBeenCalledTimes(1)
    const error = onFallback.mock.calls[0]?.[0]
    expect(error).toBeInstanceOf(VisitStoreError)
    expect(error?.code).toBe('STORAGE_UNAVAILABLE')
    expect(error?.message).toMatch(/kept in memory/)
    // The tier keeps working, in memory, and does not report the fallback again.
    await tier.set([['a', { v: [1] }], ['s', { v: 'x', s: OTHER_STAMP }]], 'set')
    expect(await tier.get(['a', 's'], STAMP)).toEqual([[1], undefined])
    await tier.update('a', STAMP, (current) => ({ v: [...(current as number[]), 2] }))
    expect(await tier.keys(STAMP)).toEqual(['a'])
    expect(await tier.get(['a'], STAMP)).toEqual([[1, 2]])
    expect(onFallback).toHaveBeenCalledTimes(1)
    return error as VisitStoreError
  }

  test('when there is no IndexedDB (factory null)', async () => {
    const { tier, onFallback } = makeTier(null)
    expect(tier.mode).toBe('indexeddb')
    await expectMemoryFallback(tier, onFallback)
  })

  test('when the page has no indexedDB global', async () => {
    vi.stubGlobal('indexedDB', undefined)
    try {
      const { tier, onFallback } = makeTier(undefined)
      await expectMemoryFallback(tier, onFallback)
    } finally {
      vi.unstubAllGlobals()
    }
  })

  test('when factory.open throws (storage blocked), keeping the browser error as cause', async () => {
    const blocked = new DOMException('The operation is insecure.', 'SecurityError')
    const { tier, onFallback } = makeTier(brokenFactory(() => { throw blocked }))
    const error = await expectMemoryFallback(tier, onFallback)
    expect(error.cause).toBe(blocked)
  })

  test('when the open request errors (Firefox private mode)', async () => {
    const failure = new DOMException('A mutation operation was attempted on a database that did not allow mutations.', 'InvalidStateError')
    const request: { error: DOMException, onerror?: () => void } = { error: failure }
    const { tier, onFallback } = makeTier(brokenFactory(() => {
      queueMicrotask(() => request.onerror?.())
      return request
    }))
    const error = await expectMemoryFallback(tier, onFallback)
    expect(error.cause).toBe(failure)
  })

  test('when open never settles, after openTimeout', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const { tier, onFallback } = makeTier(brokenFactory(() => ({})), DB, 50)
    const opening = tier.open()
    await vi.advanceTimersByTimeAsync(49)
    expect(onFallback).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    await opening
    expect(onFallback.mock.calls[0]?.[0].message).toMatch(/did not answer within 50 ms/)
    vi.useRealTimers()
    await expectMemoryFallback(tier, onFallback)
  })

  test('a connection that arrives after the time-out is closed, not leaked', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const connection = { close: vi.fn() }
    const request: { result?: unknown, onsuccess?: () => void } = {}
    const { tier } = makeTier(brokenFactory(() => request), DB, 50)
    const opening = tier.open()
    await vi.advanceTimersByTimeAsync(50)
    await opening
    expect(tier.mode).toBe('memory')
    request.result = connection
    request.onsuccess?.()
    expect(connection.close).toHaveBeenCalledTimes(1)
  })

  test('concurrent first calls share one open and one fallback report', async () => {
    const { tier, onFallback } = makeTier(null)
    await Promise.all([tier.get(['a'], STAMP), tier.set([['b', { v: 1 }]], 'set'), tier.keys(STAMP), tier.open()])
    expect(onFallback).toHaveBeenCalledTimes(1)
  })
})

describe('another tab upgrading or deleting the database', () => {
  test('an upgrade in another tab is not blocked, and the tier keeps working afterwards', async () => {
    const factory = new IDBFactory()
    const { tier } = makeTier(factory)
    await tier.set([['a', { v: 'before' }]], 'set')
    const other = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = factory.open(DB, 2)
      req.onblocked = () => reject(new Error('the upgrade was blocked by the tier\'s open connection'))
      req.onupgradeneeded = () => { req.result.createObjectStore('other-tab-store') }
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    expect(other.version).toBe(2)
    expect(await tier.get(['a'], STAMP)).toEqual(['before'])
    await tier.set([['b', { v: 'after' }]], 'set')
    expect(tier.mode).toBe('indexeddb')
    other.close()
    expect(await rawRead(factory, 'b')).toEqual({ v: 'after' })
  })

  test('deleteDatabase in another tab is not blocked, and the tier recreates the database on its next call', async () => {
    const factory = new IDBFactory()
    const { tier, onFallback } = makeTier(factory)
    await tier.set([['a', { v: 'before' }]], 'set')
    await new Promise<void>((resolve, reject) => {
      const req = factory.deleteDatabase(DB)
      req.onblocked = () => reject(new Error('the deletion was blocked by the tier\'s open connection'))
      req.onsuccess = () => resolve()
      req.onerror = () => reject(req.error)
    })
    expect(await tier.get(['a'], STAMP)).toEqual([undefined])
    await tier.set([['b', { v: 'after' }]], 'set')
    expect(tier.mode).toBe('indexeddb')
    expect(onFallback).not.toHaveBeenCalled()
    expect(await rawRead(factory, 'b')).toEqual({ v: 'after' })
  })
})

describe('background sweep failures', () => {
  test('a sweep that fails is reported through onError, not swallowed', async () => {
    const factory = new IDBFactory()
    const onError = vi.fn()
    const tier = createClientTier({ dbName: 'sweep-fail', factory, openTimeout: 1000, onFallback: vi.fn(), onError })
    open.push(tier)
    await tier.set([['old', { v: 1, s: 'another-browser-session' }]], 'set')
    vi.spyOn(IDBObjectStore.prototype, 'delete').mockImplementation(() => { throw new DOMException('broken', 'UnknownError') })
    expect(await tier.get(['old'], 'this-session')).toEqual([undefined])
    await vi.waitFor(() => expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'STORAGE_UNAVAILABLE' })))
    vi.restoreAllMocks()
  })
})
