// A tab's calls take effect in the order they were made, awaited or not, in every tier: a write
// whose plan waits (a session key, an asynchronous validator) is not overtaken by a later write,
// update, clear or read; a read sees every write called before it.
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { createBatch } from '../src/batch.js'
import { createStore, type VisitStore } from '../src/index.js'
import { sessionSync } from '../src/session.js'
import { clearAllCookies, cookieJar, seededRandom, stubSessionServer, useWebLocks } from './fixtures/page-storage.js'

interface Schema { theme: string, visits: number, cart: string, slow: string, scroll: number }

/** A validator that answers later for some values ("slow…" after 1–8 ms of real time), at once for the others. */
const laggy = {
  '~standard': {
    version: 1 as const,
    vendor: 'test',
    validate: async (value: unknown) => {
      const lag = typeof value === 'string' && value.startsWith('slow') ? 1 + (value.length % 8) : 0
      if (lag) await new Promise((resolve) => setTimeout(resolve, lag))
      return { value: value as string }
    },
  },
}
const keys = {
  theme: { lifetime: 'persistent', serverVisible: true, type: 'string' },
  visits: { lifetime: 'persistent' },
  cart: { lifetime: 'session' },
  slow: { lifetime: 'persistent', validate: laggy },
  scroll: { lifetime: 'tab' },
} as const

let idb: IDBFactory
const open: { close(): void }[] = []
function makeStore(): VisitStore<Schema> {
  const store = createStore<Schema>({ name: 'ord', keys, backends: { indexedDB: idb } })
  open.push(store)
  return store
}

beforeEach(() => {
  clearAllCookies()
  sessionStorage.clear()
  idb = new IDBFactory()
})
afterEach(() => {
  for (const s of open.splice(0)) s.close()
  vi.restoreAllMocks()
  vi.unstubAllGlobals()
})

describe('a write is not overtaken by a later call on the same key', () => {
  test.each([['once the database is open', true], ['before the database is open', false]])('set, then update in the same tick, %s: the update starts from the set value (IndexedDB)', async (_, opened) => {
    const store = makeStore()
    if (opened) await store.ready
    const set = store.set('visits', 1)
    expect(await store.update('visits', (n) => (n ?? 0) + 1)).toBe(2)
    await set
    expect(await store.get('visits')).toBe(2)
  })

  test('set of a session key, then update: the update sees it', async () => {
    const store = makeStore()
    await store.ready
    const set = store.set('cart', 'a')
    expect(await store.update('cart', (c) => `${c ?? ''}b`)).toBe('ab')
    await set
  })

  test('a cross-tier setMany, then a set of its IndexedDB key: the set wins', async () => {
    const store = makeStore()
    await store.ready
    const batch = store.setMany({ theme: 't', visits: 1 })
    const set = store.set('visits', 2)
    await Promise.all([batch, set])
    expect(await store.get('visits')).toBe(2)
  })

  test('a set whose validator answers late, then a delete or a quicker set: the later call wins', async () => {
    const store = makeStore()
    await store.ready
    await Promise.all([store.set('slow', 'slow-1234'), store.delete('slow')])
    expect(await store.get('slow')).toBeUndefined()
    await Promise.all([store.set('slow', 'slow-1234'), store.set('slow', 'quick')])
    expect(await store.get('slow')).toBe('quick')
  })

  test('a set refused by its validator late does not hold back the calls after it', async () => {
    const store = makeStore()
    await store.ready
    const refusing = createStore<{ n: number }>({ name: 'ord2', keys: { n: { lifetime: 'persistent', validate: { '~standard': { version: 1, vendor: 't', validate: async (v) => {
      await new Promise((resolve) => setTimeout(resolve, 3))
      return typeof v === 'number' ? { value: v } : { issues: [{ message: 'not a number' }] }
    } } } } }, backends: { indexedDB: idb } })
    open.push(refusing)
    const bad = refusing.set('n', 'x' as never).then(() => 'ok', (e: { code?: string }) => e.code)
    const good = refusing.set('n', 5)
    expect(await bad).toBe('INVALID_VALUE')
    await good
    expect(await refusing.get('n')).toBe(5)
  })

  test('set of a session key or an update, then clear(): the clear removes them', async () => {
    const store = makeStore()
    await store.ready
    const calls = [store.set('cart', 'x'), store.update('visits', () => 3), store.set('slow', 'slow-12')]
    await store.clear()
    await Promise.all(calls)
    expect(await store.getMany(['cart', 'visits', 'slow'])).toEqual({ cart: undefined, visits: undefined, slow: undefined })
  })
})

describe('calls wait only for the earlier calls they cross', () => {
  test("while a session key's write waits for a server that does not answer, persistent keys are written, updated and read", async () => {
    stubSessionServer({ delay: 'never' })
    const store = createStore<Schema>({ name: 'ord', keys, session: sessionSync({ endpoint: '/session', timeout: 60_000 }), backends: { indexedDB: idb } })
    open.push(store)
    let cartSettled = false
    const cart = store.set('cart', 'x').finally(() => { cartSettled = true })
    cart.catch(() => {})
    await store.set('visits', 1)
    expect(await store.update('visits', (n) => (n ?? 0) + 1)).toBe(2)
    await store.set('theme', 'dark')
    expect(await store.getMany(['visits', 'theme', 'scroll'])).toEqual({ visits: 2, theme: 'dark', scroll: undefined })
    expect(cartSettled).toBe(false)
  })
})

describe('a read sees every write called before it', () => {
  test('clear(), not awaited, then get: nothing', async () => {
    const store = makeStore()
    await store.setMany({ visits: 1, theme: 'a', scroll: 4 })
    void store.clear()
    expect(await store.getMany(['visits', 'theme', 'scroll'])).toEqual({ visits: undefined, theme: undefined, scroll: undefined })
  })

  test('a cross-tier setMany, not awaited, then get of its cookie key: the new value', async () => {
    const store = makeStore()
    await store.set('theme', 'old')
    void store.setMany({ theme: 'new', visits: 3 })
    expect(await store.get('theme')).toBe('new')
  })

  test('a get, a set, and a get of the set key, in one tick: the first read is not held back, the second sees the set', async () => {
    const store = makeStore()
    await store.set('visits', 1)
    const before = store.get('visits')
    void store.set('visits', 2)
    const after = store.get('visits')
    expect([await before, await after]).toEqual([1, 2])
  })

  // Found by r12 in Firefox: the read batch of the first get was still gathering, the update's
  // readwrite transaction was asked for after it was scheduled, and the second get joined it.
  test.each([['update', (s: VisitStore<Schema>) => s.update('visits', () => 2)], ['clear', (s: VisitStore<Schema>) => s.clear()]] as const)('a get of another key, an %s, and a get of the key, in one tick: the second get sees the %s', async (kind, call) => {
    const store = makeStore()
    await store.setMany({ visits: 1, slow: 'a' })
    const other = store.get('slow')
    void call(store)
    const after = store.get('visits')
    expect(await other).toBe('a')
    expect(await after).toBe(kind === 'update' ? 2 : undefined)
  })

  test('keys() after an un-awaited set of a session key lists it', async () => {
    const store = makeStore()
    await store.ready
    void store.set('cart', 'c')
    expect(await store.keys()).toContain('cart')
  })
})

describe.each([['with Web Locks', true], ['without Web Locks', false]])('seeded random rounds across every tier, %s', (_, webLocks) => {
  test('80 rounds of 1 to 6 calls (set, setMany, delete, update, clear, get, getMany), awaited or not at random: every result is the call-order result', async () => {
    if (webLocks) useWebLocks()
    const store = makeStore()
    await store.ready
    const random = seededRandom(2026)
    type Key = keyof Schema
    const all: Key[] = ['theme', 'visits', 'cart', 'slow', 'scroll']
    const model = new Map<Key, unknown>()
    const valueFor = (key: Key, n: number): unknown => (key === 'visits' || key === 'scroll' ? n : key === 'slow' && n % 2 ? `slow-${'x'.repeat(n % 7)}` : `${key}-${n}`)
    for (let round = 0; round < 80; round++) {
      const checks: Promise<unknown>[] = []
      const log: string[] = []
      // Every change of the round, in call order: a read sees the state its call was made in, or
      // (neither awaited) a later call's write; never an older state.
      const changes: [Key, unknown][] = []
      const change = (key: Key, value: unknown) => {
        if (value === undefined) model.delete(key)
        else model.set(key, value)
        changes.push([key, value])
      }
      const reads: { keys: Key[], from: number, before: unknown[], got: Promise<Record<string, unknown>>, at: number }[] = []
      for (let i = 0, n = 1 + random(6); i < n; i++) {
        const key = all[random(all.length)] as Key
        const other = all[random(all.length)] as Key
        const kind = random(10)
        const v = round * 10 + i
        let call: Promise<unknown>
        if (kind <= 2) {
          change(key, valueFor(key, v))
          call = store.set(key, valueFor(key, v) as never)
          log.push(`set(${key}, ${String(valueFor(key, v))})`)
        } else if (kind === 3) {
          const entries = Object.fromEntries([[key, valueFor(key, v)], [other, valueFor(other, v + 1)]])
          for (const [k, value] of Object.entries(entries)) change(k as Key, value)
          call = store.setMany(entries)
          log.push(`setMany(${JSON.stringify(entries)})`)
        } else if (kind === 4) {
          change(key, undefined)
          call = store.delete(key)
          log.push(`delete(${key})`)
        } else if (kind === 5 && key !== 'slow') {
          // An update's function runs in its turn: its input is the state every earlier call left.
          const expected = valueFor(key, v)
          const input = model.get(key)
          change(key, expected)
          const at = log.length
          call = store.update(key, ((current: unknown) => {
            expect(current, `round ${round}, call ${at}: ${log.join(', ')}`).toEqual(input)
            return expected
          }) as never).then((result) => expect(result).toEqual(expected))
          log.push(`update(${key})`)
        } else if (kind === 6) {
          for (const k of all) change(k, undefined)
          call = store.clear()
          log.push('clear()')
        } else {
          const asked = kind === 7 ? [key, other] : [key]
          const got = kind === 7 ? store.getMany(asked) : store.get(key).then((value) => ({ [key]: value }))
          reads.push({ keys: asked, from: changes.length, before: asked.map((k) => model.get(k)), got, at: log.length })
          call = got
          log.push(kind === 7 ? `getMany(${key}, ${other})` : `get(${key})`)
        }
        checks.push(call)
        const pause = random(6)
        if (pause === 1) await null
        else if (pause === 2) await new Promise<void>((resolve) => setTimeout(resolve, 0))
        else if (pause === 3) await call
      }
      await Promise.all(checks)
      for (const read of reads) {
        const got = await read.got
        read.keys.forEach((k, n) => {
          const possible = [read.before[n], ...changes.slice(read.from).filter(([c]) => c === k).map(([, value]) => value)]
          expect(possible, `round ${round}, call ${read.at} read ${k} as ${String(got[k])}: ${log.join(', ')}`).toContainEqual(got[k])
        })
      }
      const state = await store.getMany(all)
      expect(state, `round ${round}: ${log.join(', ')}`).toEqual(Object.fromEntries(all.map((k) => [k, model.get(k)])))
      expect(cookieJar().ord_theme, `round ${round}: ${log.join(', ')}`).toBe(model.get('theme') as string | undefined)
    }
  })
})

describe('batches (batch.ts)', () => {
  test('a batch flushed early leaves its scheduled run nothing: a newer batch waits for its own', () => {
    const scheduled: (() => void)[] = []
    const flushed: number[][] = []
    const batch = createBatch<number>((run) => scheduled.push(run), (items) => flushed.push(items))
    batch.add(1)
    batch.add(2)
    batch.flush()
    batch.add(3)
    expect(flushed).toEqual([[1, 2]])
    scheduled[0]?.()
    expect(flushed).toEqual([[1, 2]])
    scheduled[1]?.()
    expect(flushed).toEqual([[1, 2], [3]])
    expect(scheduled).toHaveLength(2)
  })

  test('a batch closed early goes whole at its own scheduled run; the next item starts a new batch', () => {
    const scheduled: (() => void)[] = []
    const flushed: number[][] = []
    const batch = createBatch<number>((run) => scheduled.push(run), (items) => flushed.push(items))
    batch.add(1)
    batch.close()
    batch.add(2)
    batch.add(3)
    expect(scheduled).toHaveLength(2)
    scheduled[1]?.()
    scheduled[0]?.()
    scheduled[0]?.()
    expect(flushed).toEqual([[2, 3], [1]])
  })
})
