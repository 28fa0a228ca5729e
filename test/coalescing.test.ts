// Writes made in the same tick share one IndexedDB transaction, yet each caller gets its own result.
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { createStore, VisitStoreError, type VisitStore } from '../src/index.js'
import { rawRecord } from './fixtures/page-storage.js'

interface Schema { [k: `k:${string}`]: unknown }
const keys = { 'k:*': { lifetime: 'persistent' } } as const

let idb: IDBFactory
let store: VisitStore<Schema>
let readwrite: number
let readonly: number
beforeEach(async () => {
  idb = new IDBFactory()
  store = createStore<Schema>({ name: 'co', keys, backends: { indexedDB: idb } })
  await store.ready
  readwrite = 0
  readonly = 0
  const original = IDBDatabase.prototype.transaction
  vi.spyOn(IDBDatabase.prototype, 'transaction').mockImplementation(function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
    if (args[1] === 'readwrite') readwrite++
    else readonly++
    return original.apply(this, args)
  })
})
afterEach(() => {
  vi.restoreAllMocks()
  store.close()
})

const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e instanceof VisitStoreError ? e.code : String(e)))

describe('write coalescing', () => {
  test('1,000 concurrent sets commit in one transaction and all land', async () => {
    await Promise.all(Array.from({ length: 1000 }, (_, i) => store.set(`k:${i}`, i)))
    expect(readwrite).toBe(1)
    expect(await store.getMany(['k:0', 'k:500', 'k:999'])).toEqual({ 'k:0': 0, 'k:500': 500, 'k:999': 999 })
    expect(await store.keys('k:')).toHaveLength(1000)
  })

  test('sequential sets are not delayed into batches: one transaction each', async () => {
    for (let i = 0; i < 5; i++) await store.set(`k:${i}`, i)
    expect(readwrite).toBe(5)
  })

  test('an uncloneable value fails only its own caller; the others land', async () => {
    await store.set('k:bad', 'old')
    readwrite = 0
    const results = await Promise.all([
      outcome(store.set('k:a', 1)),
      outcome(store.set('k:bad', { fn: () => 1 })),
      outcome(store.set('k:b', 2)),
    ])
    expect(results).toEqual(['ok', 'NOT_SERIALIZABLE', 'ok'])
    expect(await store.getMany(['k:a', 'k:bad', 'k:b'])).toEqual({ 'k:a': 1, 'k:bad': 'old', 'k:b': 2 })
  })

  test('a quota error in one write is reported to that caller only, with the old value kept', async () => {
    await store.set('k:big', 'old')
    const put = IDBObjectStore.prototype.put
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if (key === 'k:big') throw new DOMException('full', 'QuotaExceededError')
      return put.call(this, value, key)
    })
    const results = await Promise.all([outcome(store.set('k:x', 'x')), outcome(store.set('k:big', 'y'.repeat(10))), outcome(store.set('k:z', 'z'))])
    expect(results).toEqual(['ok', 'QUOTA_EXCEEDED', 'ok'])
    expect(await store.getMany(['k:x', 'k:big', 'k:z'])).toEqual({ 'k:x': 'x', 'k:big': 'old', 'k:z': 'z' })
  })

  test('a failing setMany in a batch writes none of its entries; its neighbours land', async () => {
    const results = await Promise.all([
      outcome(store.set('k:before', 1)),
      outcome(store.setMany({ 'k:m1': 1, 'k:m2': Symbol('no') as never })),
      outcome(store.set('k:after', 2)),
    ])
    expect(results).toEqual(['ok', 'NOT_SERIALIZABLE', 'ok'])
    expect(await rawRecord(idb, 'co', 'k:m1')).toBeUndefined()
    expect(await store.getMany(['k:before', 'k:after'])).toEqual({ 'k:before': 1, 'k:after': 2 })
  })

  test('sets and deletes of one key in one tick apply in call order', async () => {
    await Promise.all([store.set('k:o', 1), store.delete('k:o'), store.set('k:o', 3), store.delete('k:p'), store.set('k:p', 4)])
    expect(readwrite).toBe(1)
    expect(await store.getMany(['k:o', 'k:p'])).toEqual({ 'k:o': 3, 'k:p': 4 })
  })
})

describe('telling other tabs', () => {
  /** Closes this block's extra channels and stores, and puts the real timers back. */
  const afterwards: (() => void)[] = []
  afterEach(() => {
    vi.useRealTimers()
    for (const done of afterwards.splice(0)) done()
  })

  /** What another tab of store "co" hears on the store's channel. */
  function otherTab(): { heard: unknown[], close(): void } {
    const heard: unknown[] = []
    const channel = new BroadcastChannel('visitstore:co')
    channel.onmessage = (event: MessageEvent) => heard.push(event.data)
    const other = { heard, close: () => channel.close() }
    afterwards.push(other.close)
    return other
  }

  /** A store in memory (no IndexedDB, so that no timer of fake-indexeddb's gets faked), closed after the test. */
  function memoryStore(): VisitStore<Schema> {
    const mem = createStore<Schema>({ name: 'co', keys, backends: { indexedDB: null } })
    afterwards.push(() => mem.close())
    return mem
  }

  test('1,000 writes of one tick make one message naming every key', async () => {
    const other = otherTab()
    await Promise.all(Array.from({ length: 1000 }, (_, i) => store.set(`k:${i}`, i)))
    await store.delete('k:0')
    await vi.waitFor(() => expect(other.heard.length).toBeGreaterThan(0))
    await new Promise((r) => setTimeout(r, 20))
    const keysHeard = other.heard.map((m) => (m as { type: string, keys: string[] }).keys)
    expect(other.heard.every((m) => (m as { type: string }).type === 'keys')).toBe(true)
    expect(new Set(keysHeard.flat())).toEqual(new Set(Array.from({ length: 1000 }, (_, i) => `k:${i}`)))
    expect(keysHeard.length).toBeLessThanOrEqual(2) // the batch, and the delete unless it joined the same message
    expect(keysHeard[0]).toHaveLength(1000)
  })

  test('sequential writes within the delay make one message; nothing is said before it', async () => {
    const realTimeout = globalThis.setTimeout
    const mem = memoryStore()
    await mem.ready
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const other = otherTab()
    for (let i = 0; i < 5; i++) await mem.set(`k:${i}`, i)
    await new Promise((r) => realTimeout(r, 30))
    expect(other.heard).toEqual([])
    vi.advanceTimersByTime(10)
    await new Promise((r) => realTimeout(r, 30))
    expect(other.heard).toEqual([{ type: 'keys', keys: ['k:0', 'k:1', 'k:2', 'k:3', 'k:4'] }])
  })

  test('pending news goes out when the page goes away', async () => {
    const other = otherTab()
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const mem = memoryStore()
    await mem.set('k:gone', 1)
    window.dispatchEvent(new Event('pagehide'))
    // Real timers again: the faked 10 ms timer never fires, so only pagehide can have sent it.
    vi.useRealTimers()
    await vi.waitFor(() => expect(other.heard).toEqual([{ type: 'keys', keys: ['k:gone'] }]))
  })

  test('a write right before close() still reaches the other tabs', async () => {
    const other = otherTab()
    await store.set('k:last', 1)
    store.close()
    await vi.waitFor(() => expect(other.heard).toEqual([{ type: 'keys', keys: ['k:last'] }]))
  })
})

describe('read coalescing', () => {
  test('gets of one tick share one readonly transaction, each with its own values', async () => {
    await store.setMany({ 'k:a': 'A', 'k:b': 'B' })
    readonly = 0
    const [a, b, both, none] = await Promise.all([store.get('k:a'), store.get('k:b'), store.getMany(['k:b', 'k:a']), store.get('k:none')])
    expect([a, b, both, none]).toEqual(['A', 'B', { 'k:b': 'B', 'k:a': 'A' }, undefined])
    expect(readonly).toBe(1)
  })

  test('a get made right after a set that was not awaited sees the new value', async () => {
    await store.set('k:rw', 'old')
    const write = store.set('k:rw', 'new')
    const read = store.get('k:rw')
    await write
    expect(await read).toBe('new')
  })

  test('the first get of a new page shares its transaction with the start-up read of the session state', async () => {
    await store.set('k:first', 1)
    store.close()
    const fresh = createStore<Schema>({ name: 'co', keys, backends: { indexedDB: idb }, session: { read: async () => ({ tag: 't' }) } })
    readonly = 0
    expect(await fresh.get('k:first')).toBe(1)
    expect(readonly).toBe(1)
    fresh.close()
  })
})
