import { delMany, entries as allEntries, getMany, promisifyRequest, update as idbUpdate, type UseStore } from 'idb-keyval'
import { storageError, VisitStoreError } from '../errors.js'
import { isLive, type Envelope } from '../lifetimes.js'
import { createMemoryBackend } from './memory.js'

/** Raw record storage under the client tier: IndexedDB through idb-keyval, or a Map. */
export interface EntryBackend {
  getMany(keys: readonly string[]): Promise<unknown[]>
  /** Atomic: all entries or none. */
  setMany(entries: readonly (readonly [string, unknown])[]): Promise<void>
  delMany(keys: readonly string[]): Promise<void>
  /** Atomic read-modify-write; when `fn` throws nothing is written. */
  update(key: string, fn: (raw: unknown) => unknown): Promise<void>
  entries(): Promise<[string, unknown][]>
  close(): void
}

const OBJECT_STORE = 'entries'

function openDatabase(factory: IDBFactory, dbName: string, timeoutMs: number): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    let settled = false
    const request = factory.open(dbName)
    const timer = setTimeout(() => {
      settled = true
      reject(new Error(`indexedDB.open("${dbName}") did not answer within ${timeoutMs} ms`))
    }, timeoutMs)
    request.onupgradeneeded = () => request.result.createObjectStore(OBJECT_STORE)
    request.onsuccess = () => {
      clearTimeout(timer)
      // An answer after the time-out: nobody uses this connection, so release it.
      if (settled) request.result.close()
      else resolve(request.result)
    }
    request.onerror = () => {
      clearTimeout(timer)
      settled = true
      reject(request.error ?? new Error(`indexedDB.open("${dbName}") failed`))
    }
  })
}

/**
 * A lazily opened idb-keyval `UseStore` that survives lost connections: it forgets a connection
 * that closed (Safari drops them) or that another tab wants upgraded or deleted (closing on
 * `versionchange` keeps that tab from being blocked), and opens a new one on the next call.
 */
function connect(factory: IDBFactory, dbName: string, timeoutMs: number): { use: UseStore, opened: () => Promise<IDBDatabase>, close(): void } {
  let db: Promise<IDBDatabase> | undefined
  const opened = () => {
    db ??= openDatabase(factory, dbName, timeoutMs).then((conn) => {
      conn.onclose = () => { db = undefined }
      conn.onversionchange = () => { conn.close(); db = undefined }
      return conn
    }, (err: unknown) => { db = undefined; throw err })
    return db
  }
  const use: UseStore = async (mode, callback) => {
    let conn = await opened()
    let tx: IDBTransaction
    try {
      tx = conn.transaction(OBJECT_STORE, mode)
    } catch (err) {
      // InvalidStateError: the connection closed under us without an event. Reopen once.
      db = undefined
      conn = await opened()
      tx = conn.transaction(OBJECT_STORE, mode)
      void err
    }
    return callback(tx.objectStore(OBJECT_STORE))
  }
  return { use, opened, close: () => { void db?.then((c) => c.close(), () => {}); db = undefined } }
}

/** IndexedDB through idb-keyval, with setMany made all-or-nothing even when a value cannot be cloned. */
function createIndexedDbBackend(use: UseStore, close: () => void): EntryBackend {
  return {
    getMany: (keys) => getMany([...keys], use),
    setMany: (entries) => use('readwrite', (store) => {
      try {
        for (const [key, value] of entries) store.put(value, key)
      } catch (err) {
        // put() throws DataCloneError synchronously; earlier puts would commit without this abort.
        store.transaction.abort()
        throw err
      }
      return promisifyRequest(store.transaction)
    }),
    delMany: (keys) => delMany([...keys], use),
    update: (key, fn) => idbUpdate(key, fn, use),
    entries: () => allEntries<string, unknown>(use),
    close,
  }
}

/** The client-only tier: lifetime-aware records in IndexedDB, or in memory when IndexedDB fails. */
export interface ClientTier {
  readonly mode: 'indexeddb' | 'memory'
  /** Opens the database (or falls back); resolves either way. */
  open(): Promise<void>
  /** Values of live records; dead ones (expired, old session) read as undefined and are swept. */
  get(keys: readonly string[], stamp: string): Promise<unknown[]>
  set(entries: readonly (readonly [string, Envelope])[], what: string): Promise<void>
  delete(keys: readonly string[]): Promise<void>
  /** `fn` sees the live value (or undefined) and returns the record to store, inside one transaction. */
  update(key: string, stamp: string, fn: (current: unknown) => Envelope): Promise<void>
  /** Keys of live records; dead ones (expired, old session) are deleted before it resolves. */
  keys(stamp: string): Promise<string[]>
  close(): void
}

/** Options of {@link createClientTier}. */
export interface ClientTierOptions {
  dbName: string
  /** undefined: the page's indexedDB; null: none. */
  factory: IDBFactory | null | undefined
  openTimeout: number
  /** Called once if IndexedDB cannot be used and the tier falls back to memory. */
  onFallback: (error: VisitStoreError) => void
}

function pageIndexedDb(): IDBFactory | null {
  try {
    // Some browsers throw on merely reading `indexedDB` when storage is blocked.
    return typeof indexedDB === 'undefined' ? null : indexedDB
  } catch {
    return null
  }
}

/** Creates the client-only tier. Nothing is opened until the first call. */
export function createClientTier(options: ClientTierOptions): ClientTier {
  let mode: 'indexeddb' | 'memory' = 'indexeddb'
  let backend: Promise<EntryBackend> | undefined
  let closeConnection = () => {}

  const fallBack = (cause: unknown): EntryBackend => {
    mode = 'memory'
    options.onFallback(new VisitStoreError('STORAGE_UNAVAILABLE',
      `IndexedDB cannot be used here (${cause instanceof Error ? cause.message : String(cause)}); client-only values ` +
      'are kept in memory for this page only. Private browsing or blocked storage usually causes this.', { cause }))
    return createMemoryBackend()
  }
  const ready = (): Promise<EntryBackend> => {
    backend ??= (async () => {
      const factory = options.factory === undefined ? pageIndexedDb() : options.factory
      if (!factory) return fallBack(new Error('indexedDB is not defined'))
      try {
        const conn = connect(factory, options.dbName, options.openTimeout)
        closeConnection = conn.close
        await conn.opened()
        return createIndexedDbBackend(conn.use, conn.close)
      } catch (err) {
        return fallBack(err)
      }
    })()
    return backend
  }
  const sweep = (dead: string[]) => {
    if (dead.length) void ready().then((b) => b.delMany(dead)).catch(() => { /* swept again at next start */ })
  }

  return {
    get mode() { return mode },
    async open() { await ready() },
    async get(keys, stamp) {
      const now = Date.now()
      let raws: unknown[]
      try {
        raws = await (await ready()).getMany(keys)
      } catch (err) {
        throw storageError(err, `get("${keys.join('", "')}") from IndexedDB`)
      }
      const dead = keys.filter((k, i) => raws[i] !== undefined && !isLive(raws[i], stamp, now))
      sweep(dead)
      return raws.map((raw) => (isLive(raw, stamp, now) ? raw.v : undefined))
    },
    async set(entries, what) {
      try {
        await (await ready()).setMany(entries)
      } catch (err) {
        throw storageError(err, `${what} in IndexedDB`)
      }
    },
    async delete(keys) {
      try {
        await (await ready()).delMany(keys)
      } catch (err) {
        throw storageError(err, `delete("${keys.join('", "')}") from IndexedDB`)
      }
    },
    async update(key, stamp, fn) {
      // The caller's function may throw its own error: hand that back unchanged, not as a storage failure.
      let thrown: { error: unknown } | undefined
      const guarded = (raw: unknown) => {
        try {
          return fn(isLive(raw, stamp, Date.now()) ? raw.v : undefined)
        } catch (error) {
          thrown = { error }
          throw error
        }
      }
      try {
        await (await ready()).update(key, guarded)
      } catch (err) {
        if (thrown) throw thrown.error
        throw storageError(err, `update("${key}") in IndexedDB`)
      }
    },
    async keys(stamp) {
      const now = Date.now()
      let all: [string, unknown][]
      try {
        all = await (await ready()).entries()
      } catch (err) {
        throw storageError(err, 'keys() from IndexedDB')
      }
      const dead = all.filter(([, raw]) => !isLive(raw, stamp, now)).map(([k]) => k)
      if (dead.length) await this.delete(dead)
      return all.filter(([, raw]) => isLive(raw, stamp, now)).map(([k]) => k)
    },
    close() { closeConnection() },
  }
}
