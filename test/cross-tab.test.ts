// Cross-tab messaging through the front door: two createStore instances of one name in one page
// are two tabs of an origin (they share cookies, one IndexedDB, BroadcastChannel and, where
// stubbed, Web Locks).
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { createStore, type StoreOptions, type VisitStore, type WatchInfo } from '../src/index.js'
import { sessionSync } from '../src/session.js'
import { clearAllCookies, LOCK_KINDS, useWebLocks } from './fixtures/page-storage.js'

interface Schema {
  theme: string
  locale: string
  cart: string[]
  note: string
  ping: string
}
const keys = {
  theme: { lifetime: 'persistent', serverVisible: true },
  locale: { lifetime: 'session', serverVisible: true },
  cart: { lifetime: 'session' },
  note: { lifetime: 'persistent' },
  ping: { lifetime: 'persistent' },
} as const

type Make = typeof createStore
const opened: { close(): void }[] = []

/** `count` tabs of store `name` on one origin: the page's cookies and one IndexedDB, shared. */
function tabs(count: number, options: Partial<StoreOptions<Schema>> = {}, make: Make = createStore): VisitStore<Schema>[] {
  const indexedDB = new IDBFactory()
  return Array.from({ length: count }, () => {
    const store = make<Schema>({ name: 'xt', keys, ...options, backends: { indexedDB, ...options.backends } })
    opened.push(store)
    return store
  })
}

/** Lets IndexedDB transactions and channel messages (real macrotasks) finish. */
async function drain(turns = 60): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/** Every `watch` callback of `key` in `store`, as [value, source]. */
function heard(store: VisitStore<Schema>, key: keyof Schema): [unknown, WatchInfo['source']][] {
  const seen: [unknown, WatchInfo['source']][] = []
  store.watch(key, (value, info) => seen.push([value, info.source]))
  return seen
}

/** What a browser with the Cookie Store API does in every tab after any cookie change (happy-dom never fires it). */
/** A Cookie Store `change` event as browsers send it: naming the cookies that changed. */
const cookieStoreChange = (name = 'xt_theme') => (globalThis as unknown as { cookieStore: EventTarget }).cookieStore
  .dispatchEvent(Object.assign(new Event('change'), { changed: [{ name }], deleted: [] }))

/**
 * Waits until `to` has heard everything `from` sent before: one more write on the same channel,
 * heard by `to` (messages of one channel arrive in order).
 */
async function roundTrip(from: VisitStore<Schema>, to: VisitStore<Schema>): Promise<void> {
  const marker = `sync-${Math.random()}`
  const got = vi.fn()
  const stop = to.watch('ping', (value) => { if (value === marker) got() })
  await from.set('ping', marker)
  await vi.waitFor(() => expect(got).toHaveBeenCalled())
  stop()
}

beforeEach(clearAllCookies)
afterEach(() => {
  for (const store of opened.splice(0)) store.close()
  vi.useRealTimers()
  vi.unstubAllGlobals()
  clearAllCookies()
})

describe('watch across tabs', () => {
  test('a write in one tab reaches the watchers of the other as remote, and its own as local', async () => {
    const [a, b] = tabs(2) as [VisitStore<Schema>, VisitStore<Schema>]
    const inA = heard(a, 'note')
    const inB = heard(b, 'note')
    await a.set('note', 'hi')
    await vi.waitFor(() => expect(inB).toEqual([['hi', 'remote']]))
    expect(inA).toEqual([['hi', 'local']])
    expect(await b.get('note')).toBe('hi')
  })

  test('deletes and updates are heard too', async () => {
    const [a, b] = tabs(2) as [VisitStore<Schema>, VisitStore<Schema>]
    await a.set('note', 'x')
    await roundTrip(a, b)
    const inB = heard(b, 'note')
    await a.update('note', (n = '') => `${n}y`)
    await vi.waitFor(() => expect(inB).toEqual([['xy', 'remote']]))
    await a.delete('note')
    await vi.waitFor(() => expect(inB).toEqual([['xy', 'remote'], [undefined, 'remote']]))
  })

  test('another store name is another channel: its tabs hear nothing', async () => {
    const [a, b] = tabs(2) as [VisitStore<Schema>, VisitStore<Schema>]
    const other = createStore<Schema>({ name: 'other', keys, backends: { indexedDB: new IDBFactory() } })
    opened.push(other)
    const elsewhere = heard(other, 'note')
    await a.set('note', 'hi')
    await roundTrip(a, b)
    expect(elsewhere).toEqual([])
  })

  test("a cookie changed outside this tab's writes (the server, another tab) is heard on Cookie Store change, focus, visibility and the poll, until close", async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const [b] = tabs(1) as [VisitStore<Schema>]
    const inB = heard(b, 'theme')
    const serverSets = (value: string) => { document.cookie = `xt_theme=${value}; Path=/` }
    serverSets('one')
    cookieStoreChange()
    expect(inB).toEqual([['one', 'remote']])
    serverSets('two')
    window.dispatchEvent(new Event('focus'))
    serverSets('three')
    document.dispatchEvent(new Event('visibilitychange'))
    serverSets('four')
    vi.advanceTimersByTime(2000)
    expect(inB).toEqual([['one', 'remote'], ['two', 'remote'], ['three', 'remote'], ['four', 'remote']])
    // Nothing changed: nothing more is heard, however often it looks.
    window.dispatchEvent(new Event('focus'))
    vi.advanceTimersByTime(10_000)
    expect(inB).toHaveLength(4)
    b.close()
    serverSets('five')
    window.dispatchEvent(new Event('focus'))
    cookieStoreChange()
    vi.advanceTimersByTime(10_000)
    expect(inB).toHaveLength(4)
  })
})

describe('exactly one event per change (issue 12, observation 10)', () => {
  /**
   * setMany of a cookie key and an IndexedDB key: each tab's watcher of each key fires exactly
   * once, whatever else makes the tabs look again afterwards.
   */
  async function setManyHeardOnce(make: Make, browserTellsCookieChanges: boolean) {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const [a, b] = tabs(2, {}, make) as [VisitStore<Schema>, VisitStore<Schema>]
    await Promise.all([a.ready, b.ready])
    const seen = { aTheme: heard(a, 'theme'), aCart: heard(a, 'cart'), bTheme: heard(b, 'theme'), bCart: heard(b, 'cart') }
    await a.setMany({ theme: 'dark', cart: ['sku-1'] })
    if (browserTellsCookieChanges) cookieStoreChange()
    await vi.waitFor(() => expect(seen.bCart).toHaveLength(1))
    await vi.waitFor(() => expect(seen.bTheme).toHaveLength(1))
    // Everything that makes a tab look again: the Cookie Store event, focus, visibility, the poll, more messages.
    if (browserTellsCookieChanges) cookieStoreChange()
    window.dispatchEvent(new Event('focus'))
    document.dispatchEvent(new Event('visibilitychange'))
    vi.advanceTimersByTime(6000)
    await roundTrip(a, b)
    expect(seen).toEqual({
      aTheme: [['dark', 'local']],
      aCart: [[['sku-1'], 'local']],
      bTheme: [['dark', 'remote']],
      bCart: [[['sku-1'], 'remote']],
    })
  }

  test('where the browser has the Cookie Store API (its change event tells every tab)', async () => {
    await setManyHeardOnce(createStore, true)
  })

  test('where it has not (the writing tab tells the others by message)', async () => {
    vi.stubGlobal('cookieStore', undefined)
    vi.resetModules()
    const fresh = await import('../src/index.js')
    await setManyHeardOnce(fresh.createStore, false)
  })

  test('a cookie-only set is heard once in the other tab, without the Cookie Store API too', async () => {
    vi.stubGlobal('cookieStore', undefined)
    vi.resetModules()
    const fresh = await import('../src/index.js')
    const [a, b] = tabs(2, {}, fresh.createStore) as [VisitStore<Schema>, VisitStore<Schema>]
    const inB = heard(b, 'locale')
    await a.set('locale', 'fr')
    await vi.waitFor(() => expect(inB).toEqual([['fr', 'remote']]))
    await roundTrip(a, b)
    expect(inB).toEqual([['fr', 'remote']])
  })
})

describe('clear() in one tab', () => {
  test('is heard by the watchers of the other tab, once per key, and the values are gone there', async () => {
    const [a, b] = tabs(2) as [VisitStore<Schema>, VisitStore<Schema>]
    await Promise.all([a.ready, b.ready])
    await a.setMany({ theme: 'dark', cart: ['sku-1'], note: 'n' })
    await roundTrip(a, b)
    const seen = { theme: heard(b, 'theme'), cart: heard(b, 'cart'), note: heard(b, 'note') }
    await a.clear()
    await vi.waitFor(() => expect(seen).toEqual({ theme: [[undefined, 'remote']], cart: [[undefined, 'remote']], note: [[undefined, 'remote']] }))
    expect(await b.getMany(['theme', 'cart', 'note'])).toEqual({ theme: undefined, cart: undefined, note: undefined })
  })

  test("clear({ lifetime: 'session' }) is heard for session keys only", async () => {
    const [a, b] = tabs(2) as [VisitStore<Schema>, VisitStore<Schema>]
    await Promise.all([a.ready, b.ready])
    await a.setMany({ cart: ['sku-1'], note: 'n' })
    await roundTrip(a, b)
    const seen = { cart: heard(b, 'cart'), note: heard(b, 'note') }
    await a.clear({ lifetime: 'session' })
    await vi.waitFor(() => expect(seen.cart).toEqual([[undefined, 'remote']]))
    expect(seen.note).toEqual([])
    expect(await b.getMany(['cart', 'note'])).toEqual({ cart: undefined, note: 'n' })
  })

  test.each(LOCK_KINDS)('%s: a cross-tier batch in one tab and clear() in the other, either first, 0-39 turns apart: the batch ends wholly there or wholly gone', async (_name, webLocks) => {
    if (webLocks) useWebLocks()
    const mixed: string[] = []
    const ends = new Set<string>()
    for (const clearFirst of [false, true]) {
      for (let turns = 0; turns < 40; turns++) {
        clearAllCookies()
        const [one, two] = tabs(2) as [VisitStore<Schema>, VisitStore<Schema>]
        await Promise.all([one.ready, two.ready])
        const batch = () => two.setMany({ theme: `t${turns}`, note: `n${turns}` })
        const first = clearFirst ? one.clear() : batch()
        await drain(turns)
        await Promise.all([first, clearFirst ? batch() : one.clear()])
        await drain(20)
        const got = await two.getMany(['theme', 'note'])
        const end = got.theme === `t${turns}` && got.note === `n${turns}` ? 'whole' : got.theme === undefined && got.note === undefined ? 'gone' : 'mixed'
        ends.add(end)
        if (end === 'mixed') mixed.push(`${clearFirst ? 'clear' : 'batch'} first, ${turns} turns: ${JSON.stringify(got)}`)
        one.close()
        two.close()
      }
    }
    expect(mixed).toEqual([])
    // Both orders happened: the trials tried each side of the race.
    expect([...ends].sort()).toEqual(['gone', 'whole'])
  })
})

describe('session messages', () => {
  test("session.end() in one tab purges the session data, and the other tab's watchers hear it", async () => {
    const [a, b] = tabs(2) as [VisitStore<Schema>, VisitStore<Schema>]
    await Promise.all([a.ready, b.ready])
    await a.setMany({ cart: ['sku-1'], locale: 'fr', note: 'kept' })
    await roundTrip(a, b)
    const seen = { cart: heard(b, 'cart'), locale: heard(b, 'locale'), note: heard(b, 'note') }
    await a.session.end()
    await vi.waitFor(() => expect(seen.cart).toEqual([[undefined, 'remote']]))
    await vi.waitFor(() => expect(seen.locale).toEqual([[undefined, 'remote']]))
    expect(seen.note).toEqual([])
    expect(await b.getMany(['cart', 'locale', 'note'])).toEqual({ cart: undefined, locale: undefined, note: 'kept' })
  })

  test('a server-session change one tab learns reaches the other tab without it asking', async () => {
    let answer: { tag: string | null } = { tag: 'user-1' }
    const asked = { a: vi.fn(), b: vi.fn() }
    const indexedDB = new IDBFactory()
    const open = (who: 'a' | 'b') => {
      const store = createStore<Schema>({
        name: 'xt',
        keys,
        backends: { indexedDB },
        session: sessionSync({ read: async () => (asked[who](), answer), interval: 0 }),
      })
      opened.push(store)
      return store
    }
    const a = open('a')
    await a.ready
    const b = open('b')
    await b.ready
    expect(b.session.tag).toBe('user-1')
    await a.set('cart', ['sku-1'])
    await roundTrip(a, b)
    const changes: unknown[] = []
    b.session.on('change', (change) => changes.push(change))
    const cart = heard(b, 'cart')
    const askedBefore = asked.b.mock.calls.length
    answer = { tag: 'user-2' }
    await a.session.refresh()
    await vi.waitFor(() => expect(b.session.tag).toBe('user-2'))
    await vi.waitFor(() => expect(changes).toEqual([expect.objectContaining({ source: 'remote', current: expect.objectContaining({ tag: 'user-2', state: 'active' }) })]))
    await vi.waitFor(() => expect(cart).toEqual([[undefined, 'remote']]))
    expect(await b.get('cart')).toBeUndefined()
    expect(asked.b).toHaveBeenCalledTimes(askedBefore)
  })
})

describe('without a working BroadcastChannel the store works in this tab alone', () => {
  class ThrowingChannel {
    constructor() {
      throw new DOMException('The operation is insecure.', 'SecurityError')
    }
  }

  test.each([
    ['missing', undefined],
    ['throwing SecurityError (Firefox with cookies blocked)', ThrowingChannel],
  ])('BroadcastChannel %s: createStore, writes, watchers and session.end() work', async (_, replacement) => {
    vi.stubGlobal('BroadcastChannel', replacement)
    const errors = vi.fn()
    const [a] = tabs(1) as [VisitStore<Schema>]
    a.on('error', errors)
    await a.ready
    const seen = heard(a, 'cart')
    await a.setMany({ cart: ['sku-1'], theme: 'dark', note: 'n' })
    expect(seen).toEqual([[['sku-1'], 'local']])
    expect(await a.getMany(['cart', 'theme', 'note'])).toEqual({ cart: ['sku-1'], theme: 'dark', note: 'n' })
    await a.clear({ lifetime: 'session' })
    await a.session.end()
    expect(seen).toEqual([[['sku-1'], 'local'], [undefined, 'local']])
    a.close()
    expect(errors).not.toHaveBeenCalled()
  })
})
