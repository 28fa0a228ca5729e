// The tab tier (sessionStorage), through the front door.
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { createStore, type StoreOptions, type VisitStore } from '../src/index.js'
import { clearAllCookies, rejectionOf } from './fixtures/page-storage.js'

interface Schema {
  scroll: number
  filters: { q: string }
  a: string
  b: string
  c: string
  [k: `draft:${string}`]: string
  theme: string
  cart: string[]
}
const keys = {
  scroll: { lifetime: 'tab' },
  filters: { lifetime: 'tab' },
  a: { lifetime: 'tab' },
  b: { lifetime: 'tab' },
  c: { lifetime: 'tab' },
  'draft:*': { lifetime: 'tab' },
  theme: { lifetime: 'persistent', serverVisible: true },
  cart: { lifetime: 'persistent' },
} as const

const stores: VisitStore<Schema>[] = []
function open(options: Partial<StoreOptions<Schema>> = {}): VisitStore<Schema> {
  const store = createStore<Schema>({ name: 'shop', keys, ...options, backends: { indexedDB: new IDBFactory(), ...options.backends } })
  stores.push(store)
  return store
}

/** Replaces the page's `sessionStorage` global with a getter; returns how often it was read. */
function spyOnSessionStorageGlobal(get: () => Storage): { reads: () => number, restore(): void } {
  const own = Object.getOwnPropertyDescriptor(globalThis, 'sessionStorage')
  let reads = 0
  Object.defineProperty(globalThis, 'sessionStorage', { configurable: true, get: () => (reads++, get()) })
  return {
    reads: () => reads,
    restore() {
      if (own) Object.defineProperty(globalThis, 'sessionStorage', own)
      else delete (globalThis as { sessionStorage?: Storage }).sessionStorage
    },
  }
}

beforeEach(() => {
  sessionStorage.clear()
  clearAllCookies()
})
afterEach(() => {
  for (const store of stores.splice(0)) store.close()
  vi.restoreAllMocks()
})

describe('in sessionStorage', () => {
  test('a value is kept per tab as item visitstore:<name>:<key>, as JSON', async () => {
    const store = open()
    await store.setMany({ scroll: 120, filters: { q: 'x' } })
    expect(sessionStorage.getItem('visitstore:shop:scroll')).toBe('120')
    expect(sessionStorage.getItem('visitstore:shop:filters')).toBe('{"q":"x"}')
    expect(sessionStorage.getItem('scroll')).toBeNull()
    expect(await store.get('filters')).toEqual({ q: 'x' })
    expect(store.peek('scroll')).toBe(120)
    expect(store.status.sessionStorage).toBe('ok')
    expect(store.placement('scroll').tier).toBe('sessionStorage')
  })

  test('reads what the tab already holds (a reload)', () => {
    sessionStorage.setItem('visitstore:shop:scroll', '42')
    expect(open().peek('scroll')).toBe(42)
  })

  test('a missing key reads as undefined; a write replaces the item', async () => {
    const store = open()
    expect(store.peek('a')).toBeUndefined()
    await store.set('a', '1')
    await store.set('a', '2')
    expect(await store.get('a')).toBe('2')
    expect(sessionStorage.length).toBe(1)
  })

  test("keys() lists this store's items only", async () => {
    sessionStorage.setItem('other-lib', 'x')
    sessionStorage.setItem('visitstore:shopping:scroll', '1')
    const store = open()
    await store.setMany({ a: '1', 'draft:1': '2' })
    expect(await store.keys()).toEqual(['a', 'draft:1'])
    expect(await store.keys('draft:')).toEqual(['draft:1'])
  })

  test("delete removes only that key's item", async () => {
    sessionStorage.setItem('scroll', 'foreign')
    const store = open()
    await store.setMany({ scroll: 1, a: 'keep' })
    await store.delete('scroll')
    await store.delete('b')
    expect(store.peek('scroll')).toBeUndefined()
    expect(store.peek('a')).toBe('keep')
    expect(sessionStorage.getItem('scroll')).toBe('foreign')
  })

  test('an item edited by hand into something that is not JSON reads as missing and fires `invalid`', async () => {
    sessionStorage.setItem('visitstore:shop:a', '{broken')
    const store = open()
    const invalid = vi.fn()
    store.on('invalid', invalid)
    expect(await store.get('a')).toBeUndefined()
    expect(invalid).toHaveBeenCalledWith({ key: 'a', reason: expect.stringMatching(/not JSON/) })
  })

  test('update reads and writes the item', async () => {
    const store = open()
    await store.set('scroll', 1)
    expect(await store.update('scroll', (n = 0) => n + 1)).toBe(2)
    expect(sessionStorage.getItem('visitstore:shop:scroll')).toBe('2')
  })

  test('uses the page sessionStorage when backends.sessionStorage is left out, and a given Storage when one is passed', async () => {
    const own = open()
    await own.set('a', 'page')
    expect(sessionStorage.getItem('visitstore:shop:a')).toBe('"page"')
    const storage = new (window as unknown as { Storage: new () => Storage }).Storage()
    const given = open({ backends: { sessionStorage: storage } })
    await given.set('a', 'given')
    expect(storage.getItem('visitstore:shop:a')).toBe('"given"')
    expect(sessionStorage.getItem('visitstore:shop:a')).toBe('"page"')
  })
})

describe('failures leave the old values', () => {
  test('a quota error in the middle of a setMany rejects QUOTA_EXCEEDED and writes none of it', async () => {
    const store = open()
    await store.set('a', 'old-a')
    const realSetItem = sessionStorage.setItem.bind(sessionStorage)
    const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError')
    vi.spyOn(sessionStorage, 'setItem').mockImplementation((name: string, value: string) => {
      if (name === 'visitstore:shop:c') throw quota
      realSetItem(name, value)
    })
    const err = await rejectionOf(store.setMany({ a: 'new-a', b: 'new-b', c: 'too-big' }))
    expect(err.code).toBe('QUOTA_EXCEEDED')
    expect(err.cause).toBe(quota)
    expect(err.message).toContain('sessionStorage')
    vi.restoreAllMocks()
    expect(await store.getMany(['a', 'b', 'c'])).toEqual({ a: 'old-a', b: undefined, c: undefined })
    expect(await store.keys()).toEqual(['a'])
  })

  test('another storage failure is STORAGE_UNAVAILABLE, also undone', async () => {
    const store = open()
    await store.set('a', 'old')
    const realSetItem = sessionStorage.setItem.bind(sessionStorage)
    let calls = 0
    vi.spyOn(sessionStorage, 'setItem').mockImplementation((name: string, value: string) => {
      if (++calls === 2) throw new DOMException('denied', 'SecurityError')
      realSetItem(name, value)
    })
    expect((await rejectionOf(store.setMany({ a: 'new', b: 'x' }))).code).toBe('STORAGE_UNAVAILABLE')
    vi.restoreAllMocks()
    expect(await store.getMany(['a', 'b'])).toEqual({ a: 'old', b: undefined })
  })

  test('a setMany whose IndexedDB part fails puts the tab values back', async () => {
    const store = open()
    await store.set('scroll', 1)
    const err = await rejectionOf(store.setMany({ scroll: 2, cart: [(() => 'no') as unknown as string] }))
    expect(err.code).toBe('NOT_SERIALIZABLE')
    expect(store.peek('scroll')).toBe(1)
  })
})

describe('without sessionStorage', () => {
  test('backends.sessionStorage null: values work for this page, in memory, and status says so', async () => {
    const store = open({ backends: { sessionStorage: null } })
    expect(store.status.sessionStorage).toBe('memory')
    expect(store.placement('scroll').tier).toBe('memory')
    await store.setMany({ scroll: 120, a: '1' })
    expect(store.peek('scroll')).toBe(120)
    expect(await store.keys()).toEqual(['a', 'scroll'])
    await store.delete('a')
    expect(await store.keys()).toEqual(['scroll'])
    expect(sessionStorage.length).toBe(0)
  })

  test('two stores in memory (two pages) do not share values', async () => {
    const one = open({ backends: { sessionStorage: null } })
    const two = open({ backends: { sessionStorage: null } })
    await one.set('a', '1')
    expect(two.peek('a')).toBeUndefined()
  })

  test('falls back to memory when reading window.sessionStorage throws (sandboxed frame, blocked storage)', async () => {
    const blocked = spyOnSessionStorageGlobal(() => { throw new DOMException('The operation is insecure.', 'SecurityError') })
    try {
      const store = open()
      expect(store.status.sessionStorage).toBe('memory')
      await store.set('a', '1')
      expect(store.peek('a')).toBe('1')
    } finally {
      blocked.restore()
    }
    expect(sessionStorage.length).toBe(0)
  })
})

test('sessionStorage is not touched until a tab key needs it (it costs milliseconds at page load in Chromium), then chosen once', async () => {
  const real = sessionStorage
  const global = spyOnSessionStorageGlobal(() => real)
  try {
    const store = open()
    await store.ready
    await store.setMany({ theme: 'dark', cart: ['sku-1'] })
    expect(await store.getMany(['theme', 'cart'])).toEqual({ theme: 'dark', cart: ['sku-1'] })
    expect(global.reads()).toBe(0)
    expect(store.peek('scroll')).toBeUndefined()
    expect(global.reads()).toBe(1)
    await store.set('scroll', 1)
    await store.keys()
    expect(global.reads()).toBe(1)
  } finally {
    global.restore()
  }
})
