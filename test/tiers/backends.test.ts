// One contract, every RecordBackend (unstorage's testDriver habit): the IndexedDB backend and the
// memory backend it falls back to must behave alike, or a page that lost IndexedDB behaves differently.
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, describe, expect, test, vi } from 'vitest'
import type { RecordBackend } from '../../src/tiers/backend.js'
import { openIndexedDbBackend } from '../../src/tiers/idb.js'
import { createMemoryBackend } from '../../src/tiers/memory.js'
import { settle } from '../fixtures/page-storage.js'

type Rec = { p: string, [field: string]: unknown }

const opened: RecordBackend[] = []
afterEach(() => {
  for (const b of opened.splice(0)) b.close()
  vi.restoreAllMocks()
  vi.useRealTimers()
})

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('expected a rejection')
}

/** Puts records in one transaction. */
const putAll = (b: RecordBackend, records: Rec[]) => b.run<void>('readwrite', (tx, done) => {
  for (const r of records) tx.put(r)
  done(undefined)
})

/** Reads records in one readonly transaction (undefined where absent). */
const getAll = (b: RecordBackend, keys: string[]) => b.run<unknown[]>('readonly', (tx, done) => {
  const out: unknown[] = []
  if (!keys.length) done(out)
  keys.forEach((key, i) => tx.get(key, (raw) => {
    out[i] = raw
    if (i === keys.length - 1) done(out)
  }))
})

function testBackend(kind: string, open: () => Promise<RecordBackend>) {
  const make = async () => {
    const b = await open()
    opened.push(b)
    return b
  }

  describe(`${kind} backend: run()`, () => {
    test('a readwrite run resolves to what fn passed to done, with its records committed', async () => {
      const b = await make()
      const result = await b.run<string>('readwrite', (tx, done) => {
        tx.put({ p: 'cart', v: ['sku-1'], k: 'stamp' })
        tx.put({ p: 'prefs', v: { dense: true } })
        done('written')
      })
      expect(result).toBe('written')
      expect(await getAll(b, ['cart', 'prefs', 'missing'])).toEqual([{ p: 'cart', v: ['sku-1'], k: 'stamp' }, { p: 'prefs', v: { dense: true } }, undefined])
    })

    test('a readonly run answers with what fn read', async () => {
      const b = await make()
      await putAll(b, [{ p: 'a', v: 1 }])
      expect(await b.run('readonly', (tx, done) => tx.get('a', (raw) => done(raw)))).toEqual({ p: 'a', v: 1 })
      expect(await b.run('readonly', (tx, done) => tx.get('none', (raw) => done(raw)))).toBeUndefined()
    })

    test('keeps what structured clone keeps (a Date comes back as a Date, a Map as a Map)', async () => {
      const b = await make()
      await putAll(b, [{ p: 'd', v: new Date(123), m: new Map([['k', 1]]) }])
      const [raw] = await getAll(b, ['d']) as [{ v: Date, m: Map<string, number> }]
      expect(raw.v).toBeInstanceOf(Date)
      expect(raw.v.getTime()).toBe(123)
      expect(raw.m.get('k')).toBe(1)
    })

    test('stores copies and hands out copies: mutating either side changes nothing stored', async () => {
      const b = await make()
      const record = { p: 'cart', v: { items: ['x'] } }
      await putAll(b, [record])
      record.v.items.push('after put')
      const [read] = await getAll(b, ['cart']) as [{ v: { items: string[] } }]
      read.v.items.push('after get')
      expect(await getAll(b, ['cart'])).toEqual([{ p: 'cart', v: { items: ['x'] } }])
    })

    test('a put replaces the record of that key; a delete removes it and leaves the others', async () => {
      const b = await make()
      await putAll(b, [{ p: 'a', v: 1 }, { p: 'b', v: 2 }, { p: 'c', v: 3 }])
      await b.run('readwrite', (tx, done) => {
        tx.put({ p: 'a', v: 10 })
        tx.delete('b')
        tx.delete('never-written')
        done(undefined)
      })
      expect(await getAll(b, ['a', 'b', 'c'])).toEqual([{ p: 'a', v: 10 }, undefined, { p: 'c', v: 3 }])
      expect(await b.keys('')).toEqual(['a', 'c'])
    })

    test('a get sees the puts and deletes made before it in the same run', async () => {
      const b = await make()
      await putAll(b, [{ p: 'gone', v: 1 }])
      const seen = await b.run<unknown[]>('readwrite', (tx, done) => {
        tx.put({ p: 'n', v: 1 })
        tx.delete('gone')
        tx.get('n', (n) => tx.get('gone', (gone) => done([n, gone])))
      })
      expect(seen).toEqual([{ p: 'n', v: 1 }, undefined])
    })

    test('all or nothing: fn throwing after some writes rejects with its error and writes nothing', async () => {
      const b = await make()
      await putAll(b, [{ p: 'a', v: 'old' }, { p: 'b', v: 'kept' }])
      const bug = new Error('app bug')
      const err = await rejection(b.run('readwrite', (tx) => {
        tx.put({ p: 'a', v: 'new' })
        tx.put({ p: 'fresh', v: 1 })
        tx.delete('b')
        throw bug
      }))
      expect(err).toBe(bug)
      expect(await getAll(b, ['a', 'b', 'fresh'])).toEqual([{ p: 'a', v: 'old' }, { p: 'b', v: 'kept' }, undefined])
    })

    test('all or nothing: a callback of a get throwing rolls back what the run wrote', async () => {
      const b = await make()
      await putAll(b, [{ p: 'n', v: 1 }])
      const bug = new Error('fn failed')
      const err = await rejection(b.run('readwrite', (tx) => tx.get('n', () => {
        tx.put({ p: 'n', v: 2 })
        tx.put({ p: 'other', v: 2 })
        throw bug
      })))
      expect(err).toBe(bug)
      expect(await getAll(b, ['n', 'other'])).toEqual([{ p: 'n', v: 1 }, undefined])
    })

    test('all or nothing: an uncloneable put throws DataCloneError and the run writes nothing', async () => {
      const b = await make()
      await putAll(b, [{ p: 'a', v: 'old' }])
      let thrown: unknown
      const err = await rejection(b.run('readwrite', (tx) => {
        tx.put({ p: 'a', v: 'new' })
        tx.put({ p: 'b', v: 'b' })
        try {
          tx.put({ p: 'c', v: { f: () => 1 } })
        } catch (e) {
          thrown = e
          throw e
        }
      }))
      expect((thrown as Error).name).toBe('DataCloneError')
      expect((err as Error).name).toBe('DataCloneError')
      expect(await getAll(b, ['a', 'b', 'c'])).toEqual([{ p: 'a', v: 'old' }, undefined, undefined])
    })

    test('the backend keeps working after a refused run', async () => {
      const b = await make()
      await rejection(b.run('readwrite', (tx) => tx.put({ p: 'a', v: () => 1 })))
      await putAll(b, [{ p: 'a', v: 'ok' }])
      expect(await getAll(b, ['a'])).toEqual([{ p: 'a', v: 'ok' }])
    })
  })

  describe(`${kind} backend: reads`, () => {
    test('getMany and readNow: the records of keys in order, undefined where absent, as copies', async () => {
      const b = await make()
      await putAll(b, [{ p: 'a', v: { n: 1 } }, { p: 'b', v: 2 }])
      for (const read of [b.getMany, b.readNow]) {
        const got = await read(['b', 'none', 'a'])
        expect(got).toEqual([{ p: 'b', v: 2 }, undefined, { p: 'a', v: { n: 1 } }])
        ;(got[2] as { v: { n: number } }).v.n = 99
        expect(await read([])).toEqual([])
      }
      expect(await b.getMany(['a'])).toEqual([{ p: 'a', v: { n: 1 } }])
    })

    test('readNow calls of one tick each get their own records, and see the writes committed before them', async () => {
      const b = await make()
      await putAll(b, [{ p: 'a', v: 1 }, { p: 'b', v: 2 }])
      expect(await Promise.all([b.readNow(['a']), b.readNow(['b', 'a']), b.readNow(['c'])])).toEqual([[{ p: 'a', v: 1 }], [{ p: 'b', v: 2 }, { p: 'a', v: 1 }], [undefined]])
      await putAll(b, [{ p: 'c', v: 3 }])
      expect(await b.readNow(['c'])).toEqual([{ p: 'c', v: 3 }])
    })
  })

  describe(`${kind} backend: listing`, () => {
    test('keys(prefix, limit): the keys starting with prefix, in order, at most limit', async () => {
      const b = await make()
      await putAll(b, ['draft:2', 'draft:1', 'drafts', 'draft;', 'cart', 'draft:10'].map((p) => ({ p, v: 1 })))
      expect(await b.keys('draft:')).toEqual(['draft:1', 'draft:10', 'draft:2'])
      expect(await b.keys('draft:', 2)).toEqual(['draft:1', 'draft:10'])
      expect(await b.keys('')).toEqual(['cart', 'draft:1', 'draft:10', 'draft:2', 'draft;', 'drafts'])
      expect(await b.keys('nothing')).toEqual([])
    })

    test('keysOf(k, prefix, limit): the keys of the records with liveness key k only', async () => {
      const b = await make()
      await putAll(b, [
        { p: 'b', v: 1, k: 's1' },
        { p: 'a', v: 1, k: 's1' },
        { p: 'draft:1', v: 1, k: 's1' },
        { p: 'c', v: 1, k: 's1=tag' },
        { p: 'd', v: 1, k: 's2' },
        { p: 'e', v: 1 },
      ])
      expect(await b.keysOf('s1')).toEqual(['a', 'b', 'draft:1'])
      expect(await b.keysOf('s1', 'draft:')).toEqual(['draft:1'])
      expect(await b.keysOf('s1', undefined, 2)).toEqual(['a', 'b'])
      expect(await b.keysOf('s1=tag')).toEqual(['c'])
      expect(await b.keysOf('s3')).toEqual([])
    })

    test('livenessKeys(): each liveness key once, however many records carry it', async () => {
      const b = await make()
      await putAll(b, [
        { p: 'a', v: 1, k: 's1' },
        { p: 'b', v: 1, k: 's1' },
        { p: 'c', v: 1, k: 's1=' },
        { p: 'd', v: 1, k: 's1=tag' },
        { p: 'e', v: 1, k: 's2' },
        { p: 'f', v: 1 },
      ])
      expect((await b.livenessKeys()).sort()).toEqual(['s1', 's1=', 's1=tag', 's2'])
    })

    test('livenessKeys() lists only string liveness keys: a foreign record with a numeric k is not one', async () => {
      const b = await make()
      await putAll(b, [{ p: 'a', v: 1, k: 's1' }, { p: 'foreign', v: 1, k: 5 }])
      expect(await b.livenessKeys()).toEqual(['s1'])
    })

    test('expired(now, limit): the records whose expiry is at or before now', async () => {
      const b = await make()
      await putAll(b, [
        { p: 'past', v: 1, x: 100 },
        { p: 'now', v: 1, x: 200 },
        { p: 'later', v: 1, x: 300 },
        { p: 'never', v: 1 },
        { p: 'older', v: 1, x: 50 },
      ])
      expect((await b.expired(200)).sort()).toEqual(['now', 'older', 'past'])
      expect(await b.expired(200, 1)).toHaveLength(1)
      expect(await b.expired(10)).toEqual([])
    })

    test('expired() ignores expiries that are not numbers (a foreign record is not treated as expired)', async () => {
      const b = await make()
      await putAll(b, [{ p: 'text', v: 1, x: '100' }, { p: 'nan', v: 1, x: Number.NaN }, { p: 'due', v: 1, x: 1 }])
      expect(await b.expired(Date.now())).toEqual(['due'])
    })

    test('range(from, to, limit): whole records with keys in [from, to), in key order', async () => {
      const b = await make()
      await putAll(b, ['$j:3', '$j:1', '$j:2', '$j;', '$seq', 'a'].map((p) => ({ p, v: p })))
      expect(await b.range('$j:', '$j;')).toEqual([{ p: '$j:1', v: '$j:1' }, { p: '$j:2', v: '$j:2' }, { p: '$j:3', v: '$j:3' }])
      expect(await b.range('$j:', '$j;', 2)).toEqual([{ p: '$j:1', v: '$j:1' }, { p: '$j:2', v: '$j:2' }])
      expect(await b.range('$j:2', '$j:3')).toEqual([{ p: '$j:2', v: '$j:2' }])
    })

    test('range() hands out copies', async () => {
      const b = await make()
      await putAll(b, [{ p: 'a', v: [1] }])
      const [first] = await b.range('a', 'b') as unknown as [{ v: number[] }]
      first.v.push(2)
      expect(await b.range('a', 'b')).toEqual([{ p: 'a', v: [1] }])
    })

    test('deleteRange(from, to) deletes [from, to); without to, everything from `from` on', async () => {
      const b = await make()
      await putAll(b, ['$seq', '%', 'a', 'b', 'c', 'd'].map((p) => ({ p, v: 1 })))
      await b.deleteRange('b', 'd')
      expect(await b.keys('')).toEqual(['$seq', '%', 'a', 'd'])
      await b.deleteRange('%')
      expect(await b.keys('')).toEqual(['$seq'])
    })

    test('a transaction deletes a range with its other writes, all or nothing', async () => {
      const b = await make()
      await putAll(b, ['a', 'b', 'c', 'd'].map((p) => ({ p, v: 1 })))
      await b.run('readwrite', (tx, done) => {
        tx.deleteRange('b', 'd')
        tx.put({ p: 'e', v: 2 })
        done(undefined)
      })
      expect(await b.keys('')).toEqual(['a', 'd', 'e'])
      await rejection(b.run('readwrite', (tx) => {
        tx.deleteRange('a')
        throw new Error('the caller fails after the deletion')
      }))
      expect(await b.keys('')).toEqual(['a', 'd', 'e'])
    })
  })
}

let dbCount = 0
testBackend('IndexedDB', () => openIndexedDbBackend(new IDBFactory(), `visitstore-contract-${++dbCount}`, 1000))

/** Opens an IndexedDB backend with records a and b, and records the mode of every transaction asked for from then on. */
async function countedBackend(): Promise<{ b: RecordBackend, asked: IDBTransactionMode[] }> {
  const b = await openIndexedDbBackend(new IDBFactory(), `visitstore-contract-${++dbCount}`, 1000)
  opened.push(b)
  await putAll(b, [{ p: 'a', v: 1 }, { p: 'b', v: 2 }])
  const asked: IDBTransactionMode[] = []
  const transaction = IDBDatabase.prototype.transaction
  vi.spyOn(IDBDatabase.prototype, 'transaction').mockImplementation(function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
    const tx = transaction.apply(this, args)
    asked.push(tx.mode)
    return tx
  })
  return { b, asked }
}

test('IndexedDB backend: the readNow calls of one tick share one readonly transaction, asked for in the first call', async () => {
  const { b, asked } = await countedBackend()
  const first = b.readNow(['a'])
  expect(asked).toEqual(['readonly'])
  const second = b.readNow(['b'])
  expect(await Promise.all([first, second])).toEqual([[{ p: 'a', v: 1 }], [{ p: 'b', v: 2 }]])
  expect(asked).toEqual(['readonly'])
  // A read in a later task has a transaction of its own.
  await new Promise((resolve) => setImmediate(resolve))
  expect(await b.readNow(['a'])).toEqual([{ p: 'a', v: 1 }])
  expect(asked).toEqual(['readonly', 'readonly'])
})

test('IndexedDB backend: a loop of awaited readNow calls joins the transaction of the read before (its success event still running), at most 32 reads each', async () => {
  const { b, asked } = await countedBackend()
  for (let i = 0; i < 64; i++) expect(await b.readNow([i % 2 ? 'b' : 'a'])).toEqual([{ p: i % 2 ? 'b' : 'a', v: i % 2 ? 2 : 1 }])
  expect(asked).toEqual(['readonly', 'readonly'])
})

test('IndexedDB backend: a read asked for after another transaction does not join an earlier one: it sees what that transaction wrote', async () => {
  const { b, asked } = await countedBackend()
  expect(await b.readNow(['a'])).toEqual([{ p: 'a', v: 1 }])
  // In the read's success reactions: a write, then a read.
  const wrote = putAll(b, [{ p: 'a', v: 9 }])
  expect(await b.readNow(['a'])).toEqual([{ p: 'a', v: 9 }])
  await wrote
  expect(asked).toEqual(['readonly', 'readwrite', 'readonly'])
})

test('IndexedDB backend: a read is not joined to a transaction asked for before a write that came after it, even from its success event', async () => {
  const { b, asked } = await countedBackend()
  const read = b.readNow(['a'])
  const wrote = putAll(b, [{ p: 'a', v: 9 }])
  expect(await read).toEqual([{ p: 'a', v: 1 }])
  expect(await b.readNow(['a'])).toEqual([{ p: 'a', v: 9 }])
  await wrote
  expect(asked).toEqual(['readonly', 'readwrite', 'readonly'])
})

test('IndexedDB backend: reads after the open, in a later task, do not read in the open\'s transaction (no longer active) but in one of their own', async () => {
  const factory = new IDBFactory()
  const name = `visitstore-contract-${++dbCount}`
  const seed = await openIndexedDbBackend(factory, name, 1000)
  await putAll(seed, [{ p: 'a', v: 1 }])
  seed.close()
  // The open's transaction stays offered to reads (its clean-up timer held back) after its task.
  vi.useFakeTimers({ toFake: ['setTimeout'] })
  const b = await openIndexedDbBackend(factory, name, 1000)
  opened.push(b)
  await new Promise((resolve) => setImmediate(resolve))
  expect(await b.readNow(['a'])).toEqual([{ p: 'a', v: 1 }])
  vi.useRealTimers()
})
testBackend('memory', async () => createMemoryBackend())

test('two memory backends do not share records (the fallback is per page)', async () => {
  const one = createMemoryBackend()
  const two = createMemoryBackend()
  await putAll(one, [{ p: 'a', v: 1 }])
  expect(await getAll(two, ['a'])).toEqual([undefined])
})

// ---------------------------------------------------------------------------------------------

const DB = 'visitstore-shop'

async function openIdb(factory: IDBFactory, name = DB, timeout = 1000): Promise<RecordBackend> {
  const b = await openIndexedDbBackend(factory, name, timeout)
  opened.push(b)
  return b
}

/** Opens the database as other code (or an older release) would, at `version`, running `upgrade`. */
async function openRaw(factory: IDBFactory, version: number | undefined, upgrade: (db: IDBDatabase, tx: IDBTransaction) => void = () => {}): Promise<IDBDatabase> {
  const req = version === undefined ? factory.open(DB) : factory.open(DB, version)
  req.onupgradeneeded = () => upgrade(req.result, req.transaction as IDBTransaction)
  return settle(req)
}

async function describeDb(factory: IDBFactory) {
  const db = await openRaw(factory, undefined)
  try {
    const stores = [...db.objectStoreNames].sort()
    const layout = stores.includes('records') ? (() => {
      const records = db.transaction('records').objectStore('records')
      return { keyPath: records.keyPath, indexes: [...records.indexNames].sort() }
    })() : undefined
    return { version: db.version, stores, layout }
  } finally {
    db.close()
  }
}

async function allOf(db: IDBDatabase, store: string): Promise<unknown[]> {
  return settle(db.transaction(store).objectStore(store).getAll())
}

describe('IndexedDB backend: the database layout', () => {
  test('a new database gets version 2: `records` with keyPath p and the live and x indexes', async () => {
    const factory = new IDBFactory()
    await openIdb(factory)
    expect(await describeDb(factory)).toEqual({ version: 2, stores: ['records'], layout: { keyPath: 'p', indexes: ['live', 'x'] } })
  })

  test("a version-1 database (today's release) is upgraded in place, keeping every record", async () => {
    const factory = new IDBFactory()
    const session = { tag: 'user-1', state: 'active', expiresAt: 1767225600000 }
    const v1 = await openRaw(factory, 1, (db) => {
      const entries = db.createObjectStore('entries')
      entries.put({ v: { dense: true } }, 'prefs')
      entries.put({ v: ['sku-1'], s: 'aaaaaaaaaaaa' }, 'cart')
      entries.put({ v: 'mine', s: 'aaaaaaaaaaaa', t: 'user-1' }, 'wish')
      entries.put({ v: 'anon', s: 'aaaaaaaaaaaa', t: null }, 'basket')
      entries.put({ v: 'soon', x: 1767225600000 }, 'draft:1')
      entries.put({ v: session }, '$session')
      entries.put('not an envelope', 'foreign')
    })
    v1.close()
    const b = await openIdb(factory)
    expect(await describeDb(factory)).toEqual({ version: 2, stores: ['records'], layout: { keyPath: 'p', indexes: ['live', 'x'] } })
    expect(await b.range('', '\uffff')).toEqual([
      { p: '$session', v: session },
      { p: 'basket', v: 'anon', k: 'aaaaaaaaaaaa=' },
      { p: 'cart', v: ['sku-1'], k: 'aaaaaaaaaaaa' },
      { p: 'draft:1', v: 'soon', x: 1767225600000 },
      { p: 'foreign', old: 'not an envelope' },
      { p: 'prefs', v: { dense: true } },
      { p: 'wish', v: 'mine', k: 'aaaaaaaaaaaa=user-1' },
    ])
    // The indexes cover the moved records: session records by liveness key, expiring ones by expiry.
    expect(await b.keysOf('aaaaaaaaaaaa')).toEqual(['cart'])
    expect(await b.expired(1767225600000)).toEqual(['draft:1'])
  })

  test('a version-1 database keeps the object stores of other code', async () => {
    const factory = new IDBFactory()
    const v1 = await openRaw(factory, 1, (db) => {
      db.createObjectStore('entries').put({ v: 1 }, 'a')
      db.createObjectStore('analytics').put('event', 1)
    })
    v1.close()
    await openIdb(factory)
    expect((await describeDb(factory)).stores).toEqual(['analytics', 'records'])
  })

  test('a database of a higher version without `records` (made by other code) is repaired, keeping its stores', async () => {
    const factory = new IDBFactory()
    const other = await openRaw(factory, 5, (db) => { db.createObjectStore('other').put('theirs', 'k') })
    other.close()
    const b = await openIdb(factory)
    await putAll(b, [{ p: 'a', v: 1 }])
    const described = await describeDb(factory)
    expect(described.version).toBe(6)
    expect(described.stores).toEqual(['other', 'records'])
    expect(described.layout).toEqual({ keyPath: 'p', indexes: ['live', 'x'] })
    const db = await openRaw(factory, undefined)
    expect(await allOf(db, 'other')).toEqual(['theirs'])
    expect(await allOf(db, 'records')).toEqual([{ p: 'a', v: 1 }])
    db.close()
  })

  test('a version-2 database without `records` is repaired', async () => {
    const factory = new IDBFactory()
    const other = await openRaw(factory, 2, (db) => { db.createObjectStore('other') })
    other.close()
    await openIdb(factory)
    expect(await describeDb(factory)).toEqual({ version: 3, stores: ['other', 'records'], layout: { keyPath: 'p', indexes: ['live', 'x'] } })
  })

  test('a `records` store with keyPath p but without the indexes gets them, keeping its records', async () => {
    const factory = new IDBFactory()
    const other = await openRaw(factory, 2, (db) => { db.createObjectStore('records', { keyPath: 'p' }).put({ p: 'a', v: 1, k: 's1' }) })
    other.close()
    const b = await openIdb(factory)
    expect((await describeDb(factory)).layout).toEqual({ keyPath: 'p', indexes: ['live', 'x'] })
    expect(await b.keysOf('s1')).toEqual(['a'])
  })

  test('a `records` store of another layout makes the open fail, and its records are left alone', async () => {
    const factory = new IDBFactory()
    const other = await openRaw(factory, 2, (db) => { db.createObjectStore('records', { keyPath: 'id' }).put({ id: 7, name: 'theirs' }) })
    other.close()
    const err = await rejection(openIndexedDbBackend(factory, DB, 1000))
    expect((err as Error).message).toMatch(/"records" of another layout/)
    const db = await openRaw(factory, undefined)
    expect(await allOf(db, 'records')).toEqual([{ id: 7, name: 'theirs' }])
    db.close()
  })
})

describe('IndexedDB backend: opening', () => {
  /** A stand-in IDBFactory whose open() returns `request` (or throws), to play a broken browser. */
  const brokenFactory = (open: () => unknown) => ({ open }) as unknown as IDBFactory

  test('an open that never answers rejects after the time-out, naming it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      let settled = false
      const opening = rejection(openIndexedDbBackend(brokenFactory(() => ({})), DB, 50)).finally(() => { settled = true })
      await vi.advanceTimersByTimeAsync(49)
      expect(settled).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(((await opening) as Error).message).toMatch(/did not answer within 50 ms/)
    } finally {
      vi.useRealTimers()
    }
  })

  test('a connection that arrives after the time-out is closed, not leaked', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const connection = { close: vi.fn() }
      const request: { result?: unknown, onsuccess?: () => void } = {}
      const opening = rejection(openIndexedDbBackend(brokenFactory(() => request), DB, 50))
      await vi.advanceTimersByTimeAsync(50)
      await opening
      request.result = connection
      request.onsuccess?.()
      expect(connection.close).toHaveBeenCalledTimes(1)
    } finally {
      vi.useRealTimers()
    }
  })

  test("an open that throws or fails rejects with the browser's own error", async () => {
    const blocked = new DOMException('The operation is insecure.', 'SecurityError')
    expect(await rejection(openIndexedDbBackend(brokenFactory(() => { throw blocked }), DB, 1000))).toBe(blocked)
    const failure = new DOMException('A mutation operation was attempted on a database that did not allow mutations.', 'InvalidStateError')
    const request: { error: DOMException, onerror?: () => void } = { error: failure }
    expect(await rejection(openIndexedDbBackend(brokenFactory(() => {
      queueMicrotask(() => request.onerror?.())
      return request
    }), DB, 1000))).toBe(failure)
  })

  test('two backends on one database (two tabs) share the records', async () => {
    const factory = new IDBFactory()
    const tabA = await openIdb(factory)
    const tabB = await openIdb(factory)
    await putAll(tabA, [{ p: 'cart', v: [1] }])
    expect(await getAll(tabB, ['cart'])).toEqual([{ p: 'cart', v: [1] }])
  })
})

describe('IndexedDB backend: other connections and lost connections', () => {
  test('an upgrade by another connection is not blocked, and the backend reopens and keeps working', async () => {
    const factory = new IDBFactory()
    const b = await openIdb(factory)
    await putAll(b, [{ p: 'a', v: 'before' }])
    const blocked = vi.fn()
    const other = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = factory.open(DB, 7)
      req.onblocked = blocked
      req.onupgradeneeded = () => { req.result.createObjectStore('other-tab-store') }
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    expect(blocked).not.toHaveBeenCalled()
    expect(other.version).toBe(7)
    other.close()
    expect(await getAll(b, ['a'])).toEqual([{ p: 'a', v: 'before' }])
    await putAll(b, [{ p: 'b', v: 'after' }])
    expect(await b.keys('')).toEqual(['a', 'b'])
  })

  test('deleteDatabase by another connection is not blocked, and the backend recreates the database', async () => {
    const factory = new IDBFactory()
    const b = await openIdb(factory)
    await putAll(b, [{ p: 'a', v: 'before' }])
    const blocked = vi.fn()
    await new Promise<void>((resolve, reject) => {
      const req = factory.deleteDatabase(DB)
      req.onblocked = blocked
      req.onsuccess = () => resolve()
      req.onerror = () => reject(req.error)
    })
    expect(blocked).not.toHaveBeenCalled()
    expect(await getAll(b, ['a'])).toEqual([undefined])
    await putAll(b, [{ p: 'b', v: 'after' }])
    expect(await describeDb(factory)).toMatchObject({ version: 2, stores: ['records'] })
    expect(await b.keys('')).toEqual(['b'])
  })

  /**
   * Makes the next `times` readwrite transactions die with their connection, as clearing site
   * data or Safari dropping a connection does: the connection closes and the transaction aborts
   * after fn queued its writes.
   */
  function killReadwriteTransactions(times: number) {
    const original = IDBDatabase.prototype.transaction
    let left = times
    vi.spyOn(IDBDatabase.prototype, 'transaction').mockImplementation(function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
      const tx = original.apply(this, args)
      if (args[1] === 'readwrite' && left > 0) {
        left--
        queueMicrotask(() => {
          this.close()
          tx.abort()
        })
      }
      return tx
    })
  }

  test('an operation whose connection died runs once more, on a new connection, and lands once', async () => {
    const b = await openIdb(new IDBFactory())
    await putAll(b, [{ p: 'n', v: 1 }])
    killReadwriteTransactions(1)
    const calls = vi.fn()
    const result = await b.run<number>('readwrite', (tx, done) => {
      calls()
      tx.get('n', (raw) => {
        const next = (raw as { v: number }).v + 1
        tx.put({ p: 'n', v: next })
        done(next)
      })
    })
    expect(result).toBe(2)
    expect(calls).toHaveBeenCalledTimes(2)
    vi.restoreAllMocks()
    expect(await getAll(b, ['n'])).toEqual([{ p: 'n', v: 2 }])
  })

  test('listing and deleting ranges also survive a connection that died', async () => {
    const b = await openIdb(new IDBFactory())
    await putAll(b, [{ p: 'a', v: 1 }, { p: 'b', v: 1 }])
    killReadwriteTransactions(1)
    await b.deleteRange('a', 'b')
    vi.restoreAllMocks()
    expect(await b.keys('')).toEqual(['b'])
  })

  test('it runs at most twice more (a clear still under way can close the next connection too): a third death rejects and nothing was written', async () => {
    const b = await openIdb(new IDBFactory())
    await putAll(b, [{ p: 'n', v: 1 }])
    killReadwriteTransactions(3)
    const calls = vi.fn()
    await rejection(b.run('readwrite', (tx, done) => {
      calls()
      tx.put({ p: 'n', v: 99 })
      done(undefined)
    }))
    expect(calls).toHaveBeenCalledTimes(3)
    vi.restoreAllMocks()
    expect(await getAll(b, ['n'])).toEqual([{ p: 'n', v: 1 }])
  })
})
