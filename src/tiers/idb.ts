import { promisifyRequest, type UseStore } from 'idb-keyval'
import { after, type RecordBackend, type Tx } from './backend.js'

/** The layout's version: 1 was one out-of-line `entries` store; 2 adds liveness and expiry indexes. */
const VERSION = 2
const RECORDS = 'records'
const OLD_ENTRIES = 'entries'

/**
 * The object store of a readonly transaction on `db` if it has the store and indexes this layout
 * needs (other code may have made it): the open's first reads use that transaction.
 */
function complete(db: IDBDatabase): IDBObjectStore | undefined {
  if (!db.objectStoreNames.contains(RECORDS)) return undefined
  const store = db.transaction(RECORDS).objectStore(RECORDS)
  return store.keyPath === 'p' && store.indexNames.contains('live') && store.indexNames.contains('x') ? store : undefined
}

/**
 * Brings a database to this layout inside its upgrade transaction: creates what is missing (and
 * nothing else: object stores of other code stay), and moves a version-1 `entries` store's
 * records over, stamps included, so an upgrade of the app loses nothing.
 */
function upgrade(db: IDBDatabase, tx: IDBTransaction): void {
  const records = db.objectStoreNames.contains(RECORDS) ? tx.objectStore(RECORDS) : db.createObjectStore(RECORDS, { keyPath: 'p' })
  if (!records.indexNames.contains('live')) records.createIndex('live', ['k', 'p'])
  if (!records.indexNames.contains('x')) records.createIndex('x', 'x')
  if (!db.objectStoreNames.contains(OLD_ENTRIES)) return
  const cursor = tx.objectStore(OLD_ENTRIES).openCursor()
  cursor.onsuccess = () => {
    const at = cursor.result
    if (!at) return db.deleteObjectStore(OLD_ENTRIES)
    records.put(fromVersion1(String(at.key), at.value))
    at.continue()
  }
}

/** A version-1 envelope `{ v, x?, s?, t? }` as a record; anything else is kept, and reads as malformed. */
function fromVersion1(key: string, old: unknown): object {
  if (typeof old !== 'object' || old === null || !('v' in old)) return { p: key, old }
  const { v, x, s, t } = old as { v: unknown, x?: number, s?: string, t?: string | null }
  const record: Record<string, unknown> = { p: key, v }
  if (s !== undefined) record.k = t === undefined ? s : `${s}=${t ?? ''}`
  if (x !== undefined) record.x = x
  return record
}

function openAt(factory: IDBFactory, name: string, version: number | undefined, timeoutMs: number): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    let late = false
    const request = version === undefined ? factory.open(name) : factory.open(name, version)
    const timer = setTimeout(() => {
      late = true
      reject(new Error(`indexedDB.open("${name}") did not answer within ${timeoutMs} ms`))
    }, timeoutMs)
    request.onupgradeneeded = () => upgrade(request.result, request.transaction as IDBTransaction)
    request.onsuccess = () => {
      clearTimeout(timer)
      // An answer after the time-out: nobody uses this connection, so release it.
      if (late) request.result.close()
      else resolve(request.result)
    }
    request.onerror = () => {
      clearTimeout(timer)
      reject(request.error ?? new Error(`indexedDB.open("${name}") failed`))
    }
  })
}

/**
 * Opens the database at this layout. A database made by a newer version or by other code at a
 * higher version (VersionError) is opened as it is; one that lacks the layout's object store or
 * indexes is repaired by an upgrade to the next version.
 */
async function openDatabase(factory: IDBFactory, name: string, timeoutMs: number): Promise<IDBObjectStore> {
  let db: IDBDatabase
  try {
    db = await openAt(factory, name, VERSION, timeoutMs)
  } catch (err) {
    if ((err as Error).name !== 'VersionError') throw err
    db = await openAt(factory, name, undefined, timeoutMs)
  }
  let store = complete(db)
  if (store) return store
  db.close()
  db = await openAt(factory, name, db.version + 1, timeoutMs)
  store = complete(db)
  if (store) return store
  db.close()
  throw new Error(`the database "${name}" has an object store "${RECORDS}" of another layout (made by other code?)`)
}

/** How many reads join one transaction at most (see connect's `again`). */
const JOINS = 32

/** How many times an operation runs again after its connection was lost under it. */
const RETRIES = 2

/** Whether `conn` can no longer start transactions (closed or closing), the close event or not. */
function gone(conn: IDBDatabase): boolean {
  try {
    conn.transaction(RECORDS).abort()
    return false
  } catch {
    return true
  }
}

/**
 * A lazily opened idb-keyval `UseStore` that survives lost connections: it forgets a connection
 * that closed (Safari drops them; clearing site data closes them) or that another tab wants
 * upgraded or deleted (closing on `versionchange` keeps that tab from being blocked), and opens a
 * new one on the next call. An operation whose transaction died with its connection runs again on
 * a new one (it was rolled back, so running it again is safe): at most RETRIES times, since a clear
 * of site data still under way can close the next connection too.
 *
 * `joinable` is the readonly transaction reads asked for now can join: the open's own (its first
 * reads, the app's first get among them, take no transaction of their own), the tick's first
 * `readNow`'s, or the one whose read's success event is running (`again`). Only while no other
 * transaction was asked for after it: joining it then reads just what a transaction asked for now
 * would (another tab's write asked for after it waits for it to end, so none can have resolved
 * since). A transaction no longer active makes the read throw in its call, and the read asks for
 * a new one.
 */
function connect(factory: IDBFactory, name: string, timeoutMs: number): { use: UseStore, opened: () => Promise<unknown>, joinable: () => IDBObjectStore, again(store: IDBObjectStore): void, close(): void } {
  let db: Promise<IDBDatabase> | undefined
  // The connection once open: a transaction on it is asked for in the caller's step, not a tick later.
  let open: IDBDatabase | undefined
  let last: IDBObjectStore | undefined
  // The newest transaction asked for on the connection, and how many reads joined it.
  let newest: IDBObjectStore | undefined
  let joins = 0
  const forget = () => { db = open = last = newest = undefined }
  /** `store` joinable until `reset` runs (the open's: the task's end; a tick's: its end). */
  const joinUntil = (store: IDBObjectStore, reset: (fn: () => void) => void) => {
    reset(() => { if (last === store) last = undefined })
    joins = 0
    return (newest = last = store)
  }
  const opened = () => (db ??= openDatabase(factory, name, timeoutMs).then((store) => {
    const conn = store.transaction.db
    conn.onclose = forget
    conn.onversionchange = () => {
      conn.close()
      forget()
    }
    joinUntil(store, setTimeout)
    return (open = conn)
  }, (err: unknown) => {
    forget()
    throw err
  }))
  const use: UseStore = async (mode, callback) => {
    for (let attempt = 0; ; attempt++) {
      const conn = open ?? await opened()
      try {
        last = undefined
        return await callback(newest = conn.transaction(RECORDS, mode).objectStore(RECORDS))
      } catch (err) {
        // An aborted transaction (error null or AbortError) on a connection that is gone died with
        // it; transaction() throwing InvalidStateError means the same. Nothing was committed.
        const name = (err as { name?: string } | null)?.name
        if (attempt >= RETRIES || !(err === null || name === 'AbortError' || name === 'InvalidStateError') || !gone(conn)) throw err
        if (open === conn) forget()
      }
    }
  }
  return {
    use,
    opened,
    // No connection (being opened again), or one closing: this throws.
    joinable: () => last ?? joinUntil((open as IDBDatabase).transaction(RECORDS, 'readonly').objectStore(RECORDS), queueMicrotask),
    // While its read's success event runs, `store` is active again: the reads that event's
    // reactions ask for (a loop of awaited gets) join it, unless another transaction was asked for
    // since. At most JOINS reads: a long loop does not hold other tabs' writes back for long.
    again: (store: IDBObjectStore) => { if (newest === store) last = ++joins < JOINS ? store : undefined },
    close: () => {
      void db?.then((c) => c.close(), () => {})
      forget()
    },
  }
}

/** The keys from `from` (included) to `to` (excluded; none: to the end). */
const span = (from: string, to?: string) => (to === undefined ? IDBKeyRange.lowerBound(from) : IDBKeyRange.bound(from, to, false, true))

/** `RecordBackend.run` over one transaction's object store: an exception anywhere aborts it, and the promise says which. */
function runIn<T>(store: IDBObjectStore, mode: IDBTransactionMode, fn: (tx: Tx, done: (value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const tx = store.transaction
    let result: unknown
    const fail = (err: unknown) => {
      reject(err)
      try {
        tx.abort()
      } catch {
        // Already finished or aborting.
      }
    }
    tx.oncomplete = () => resolve(result as T)
    tx.onabort = () => reject(tx.error)
    try {
      fn({
        get(key, then) {
          const request = store.get(key)
          request.onsuccess = () => {
            try {
              then(request.result)
            } catch (err) {
              fail(err)
            }
          }
        },
        put: (record) => store.put(record),
        delete: (key) => store.delete(key),
        deleteRange: (from, to) => store.delete(span(from, to)),
      }, (value) => {
        result = value
        // A read needs no commit to be true: answer at once rather than at `complete`.
        if (mode === 'readonly') resolve(value)
      })
    } catch (err) {
      fail(err)
    }
  })
}

/**
 * Reads `keys` in `store`'s transaction: one promise for the lot (requests of a transaction succeed
 * in order). Throws in the call when the transaction cannot take requests (TransactionInactiveError).
 */
function getIn(store: IDBObjectStore, keys: readonly string[], done?: (store: IDBObjectStore) => void): Promise<unknown[]> {
  const requests = keys.map((key) => store.get(key))
  return new Promise<unknown[]>((resolve, reject) => {
    const last = requests[requests.length - 1]
    if (!last) return resolve([])
    for (const request of requests) request.onerror = () => reject(request.error)
    last.onsuccess = () => {
      done?.(store)
      resolve(requests.map((request) => request.result as unknown))
    }
  })
}

/** The records in IndexedDB, through idb-keyval's `UseStore` and `promisifyRequest`. */
export async function openIndexedDbBackend(factory: IDBFactory, name: string, timeoutMs: number): Promise<RecordBackend> {
  const { use, opened, joinable, again, close } = connect(factory, name, timeoutMs)
  await opened()
  const live = (store: IDBObjectStore) => store.index('live')
  const getMany = (keys: readonly string[]) => use('readonly', (store) => getIn(store, keys))
  const readNow = (keys: readonly string[]) => {
    try {
      // A transaction that died with its connection: getMany reads again on a new one.
      return getIn(joinable(), keys, again).catch(() => getMany(keys))
    } catch {
      // No connection (getMany waits for the next one), or the open's transaction no longer
      // active (the first reads came in a later task): getMany asks for a new one now.
      return getMany(keys)
    }
  }
  return {
    run: (mode, fn) => use(mode, (store) => runIn(store, mode, fn)),
    keysOf: (k, prefix = '', limit, from = '') => use('readonly', (store) => promisifyRequest(live(store).getAllKeys(
      IDBKeyRange.bound([k, from > prefix ? from : prefix], [k, prefix ? after(prefix) : []], false, true), limit,
    ))) as Promise<string[]>,
    livenessKeys: () => use('readonly', (store) => new Promise<string[]>((resolve, reject) => {
      const found: string[] = []
      const cursor = live(store).openKeyCursor()
      cursor.onerror = () => reject(cursor.error)
      cursor.onsuccess = () => {
        const at = cursor.result
        if (!at) return resolve(found)
        const k = (at.key as [string, string])[0]
        // Any valid key is indexed; a record other code put there with a numeric k is not ours to judge.
        if (typeof k === 'string') found.push(k)
        // An array sorts after every string: [k, []] is past every [k, key], so this skips to the next k.
        at.continue([k, []])
      }
    })),
    expired: (now, limit) => use('readonly', (store) => promisifyRequest(store.index('x').getAllKeys(IDBKeyRange.upperBound(now), limit))) as Promise<string[]>,
    getMany,
    readNow,
    // Finding and deleting in one readwrite transaction: nothing can refresh a record in between,
    // so nothing is read twice (a sweep of 50,000 expired records: a quarter of the time).
    deleteExpired: (now, limit) => use('readwrite', async (store) => {
      const keys = await promisifyRequest(store.index('x').getAllKeys(IDBKeyRange.upperBound(now), limit))
      for (const key of keys) store.delete(key)
      await promisifyRequest(store.transaction)
      return keys.length
    }),
    keys: (prefix, limit) => use('readonly', (store) => promisifyRequest(store.getAllKeys(prefix ? IDBKeyRange.bound(prefix, after(prefix), false, true) : undefined, limit))) as Promise<string[]>,
    range: (from, to, limit) => use('readonly', (store) => promisifyRequest(store.getAll(IDBKeyRange.bound(from, to, false, true), limit))),
    deleteRange: (from, to) => use('readwrite', (store) => {
      store.delete(span(from, to))
      return promisifyRequest(store.transaction)
    }),
    close,
  }
}
