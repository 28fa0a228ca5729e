import { entries as allEntries, promisifyRequest, update as idbUpdate, type UseStore } from 'idb-keyval'
import { storageError, VisitStoreError } from '../errors.js'
import { isLive, type Envelope } from '../lifetimes.js'
import { createMemoryBackend } from './memory.js'

/** One caller's writes: its puts and deletes land together or not at all. */
export interface WriteOp {
  put?: readonly (readonly [string, unknown])[]
  del?: readonly string[]
}

/** A write op whose own value could not be stored (DataCloneError); the batch was rolled back. */
export class BatchOpError extends Error {
  constructor(readonly index: number, readonly error: unknown) {
    super('one write of the batch failed')
  }
}

/** Raw record storage under the client tier: IndexedDB through idb-keyval, or a Map. */
export interface EntryBackend {
  getMany(keys: readonly string[]): Promise<unknown[]>
  /**
   * Runs several callers' writes in one transaction, in order. If one op's value cannot be
   * cloned, nothing is written and it rejects with {@link BatchOpError} naming that op.
   */
  writeBatch(ops: readonly WriteOp[]): Promise<void>
  /** Atomic: all entries or none. */
  setMany(entries: readonly (readonly [string, unknown])[]): Promise<void>
  delMany(keys: readonly string[]): Promise<void>
  /** Atomic read-modify-write; when `fn` throws nothing is written. */
  update(key: string, fn: (raw: unknown) => unknown): Promise<void>
  entries(): Promise<[string, unknown][]>
  /**
   * Visits every record in one readwrite transaction: `decide` returns undefined to keep it,
   * null to delete it, or a replacement. Resolves to the keys deleted.
   */
  rewrite(decide: (raw: unknown) => unknown): Promise<string[]>
  /** Deletes those of `keys` that `isDead` still says are dead when read again in the deleting transaction. */
  sweep(keys: readonly string[], isDead: (raw: unknown) => boolean): Promise<void>
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
 * `versionchange` keeps that tab from being blocked), and opens a new one on the next call. An
 * operation whose transaction died with its connection runs once more on a new one (its
 * transaction was rolled back, so running it again is safe); never more than once, and all
 * operations waiting meanwhile share the one reopen.
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
  /** Whether `conn` can no longer start transactions (closed, or closing), the close event or not. */
  const isGone = (conn: IDBDatabase) => {
    try {
      conn.transaction(OBJECT_STORE, 'readonly').abort()
      return false
    } catch {
      return true
    }
  }
  const use: UseStore = async (mode, callback) => {
    for (let attempt = 0; ; attempt++) {
      const conn = await opened()
      try {
        return await callback(conn.transaction(OBJECT_STORE, mode).objectStore(OBJECT_STORE))
      } catch (err) {
        // An aborted transaction (error null or AbortError) on a connection that is gone died with
        // it; transaction() throwing InvalidStateError means the same. Nothing was committed.
        const name = (err as { name?: string } | null)?.name
        const lost = (err === null || name === 'AbortError' || name === 'InvalidStateError') && isGone(conn)
        if (!lost || attempt > 0) throw err
        if (db && (await db) === conn) db = undefined
      }
    }
  }
  return { use, opened, close: () => { void db?.then((c) => c.close(), () => {}); db = undefined } }
}

/** IndexedDB through idb-keyval; batches stay all-or-nothing even when a value cannot be cloned. */
function createIndexedDbBackend(use: UseStore, close: () => void): EntryBackend {
  const writeBatch = (ops: readonly WriteOp[]) => use('readwrite', (store) => {
    ops.forEach((op, index) => {
      try {
        for (const [key, value] of op.put ?? []) store.put(value, key)
        for (const key of op.del ?? []) store.delete(key)
      } catch (err) {
        // put() throws DataCloneError synchronously; earlier puts would commit without this abort.
        store.transaction.abort()
        throw new BatchOpError(index, err)
      }
    })
    return promisifyRequest(store.transaction)
  })
  return {
    // One promise for the lot, not one per key: requests of a transaction succeed in order, so
    // the last one's success means all are in.
    getMany: (keys) => use('readonly', (store) => new Promise<unknown[]>((resolve, reject) => {
      const values = new Array<unknown>(keys.length)
      if (!keys.length) resolve(values)
      keys.forEach((key, i) => {
        const request = store.get(key)
        request.onsuccess = () => {
          values[i] = request.result
          if (i === keys.length - 1) resolve(values)
        }
        request.onerror = () => reject(request.error)
      })
      store.transaction.onabort = () => reject(store.transaction.error)
    })),
    writeBatch,
    setMany: (entries) => writeBatch([{ put: entries }]).catch(unwrapBatchError),
    delMany: (keys) => writeBatch([{ del: keys }]),
    update: (key, fn) => idbUpdate(key, fn, use),
    entries: () => allEntries<string, unknown>(use),
    rewrite: (decide) => use('readwrite', (store) => {
      const dropped: string[] = []
      const request = store.openCursor()
      request.onsuccess = () => {
        const cursor = request.result
        if (!cursor) return
        const next = decide(cursor.value)
        if (next === null) {
          dropped.push(String(cursor.key))
          cursor.delete()
        } else if (next !== undefined) {
          cursor.update(next)
        }
        cursor.continue()
      }
      return promisifyRequest(store.transaction).then(() => dropped)
    }),
    sweep: (keys, isDead) => use('readwrite', (store) => {
      for (const key of keys) {
        const request = store.get(key)
        request.onsuccess = () => { if (request.result !== undefined && isDead(request.result)) store.delete(key) }
      }
      return promisifyRequest(store.transaction)
    }),
    close,
  }
}

function unwrapBatchError(err: unknown): never {
  throw err instanceof BatchOpError ? err.error : err
}

/** `what` names the operation in an error message; built only when one is needed (a setMany of 1,000 keys makes a long one). */
type QueuedOp = WriteOp & { what: () => string, resolve(): void, reject(err: unknown): void }

/**
 * Writes that arrive in the same tick share one transaction: 1,000 `set`s from a `Promise.all`
 * cost one commit instead of 1,000. Each caller still gets its own result: an op whose value
 * cannot be cloned fails alone (the rest run again without it), and when the whole transaction
 * fails (quota) every op is retried on its own, so only the ones that cannot fit fail.
 */
async function runBatch(backend: EntryBackend, ops: QueuedOp[]): Promise<void> {
  try {
    await backend.writeBatch(ops)
    for (const op of ops) op.resolve()
  } catch (err) {
    if (err instanceof BatchOpError) {
      const failed = ops[err.index] as QueuedOp
      failed.reject(storageError(err.error, `${failed.what()} in IndexedDB`))
      const rest = ops.filter((op) => op !== failed)
      if (rest.length) await runBatch(backend, rest)
    } else if (ops.length > 1) {
      for (const op of ops) await runBatch(backend, [op])
    } else {
      ops[0]?.reject(storageError(err, `${ops[0].what()} in IndexedDB`))
    }
  }
}

/** The client-only tier: lifetime-aware records in IndexedDB, or in memory when IndexedDB fails. */
export interface ClientTier {
  readonly mode: 'indexeddb' | 'memory'
  /** Opens the database (or falls back); resolves either way. */
  open(): Promise<void>
  /**
   * Values of live records; dead ones (expired, old session) read as undefined and are swept.
   * `stamp` may be a function: it is then asked only once the read is under way (the stamp costs a
   * synchronous `document.cookie` read, which should not hold up a cold start's first read).
   */
  get(keys: readonly string[], stamp: string | (() => string)): Promise<unknown[]>
  /** `what` names the write in error messages; by default `set("key", …)`. */
  set(entries: readonly (readonly [string, Envelope])[], what?: string): Promise<void>
  delete(keys: readonly string[]): Promise<void>
  /** `fn` sees the live value (or undefined) and returns the record to store, inside one transaction. */
  update(key: string, stamp: string, fn: (current: unknown) => Envelope): Promise<void>
  /** Keys of live records; dead ones (expired, old session) are deleted before it resolves. */
  keys(stamp: string): Promise<string[]>
  /** See {@link EntryBackend.rewrite}; one transaction. */
  rewrite(decide: (raw: Envelope) => Envelope | null | undefined): Promise<string[]>
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
  /** Failures of background work (the sweep of dead records after a read); the data is swept again later. */
  onError?: (error: VisitStoreError) => void
  /** The server session's tag that session records must carry; undefined when the store does not sync one. */
  currentTag?: () => string | null | undefined
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
  let queue: QueuedOp[] = []
  const flush = async () => {
    const ops = queue
    queue = []
    let backend: EntryBackend
    try {
      backend = await ready()
    } catch (err) {
      for (const op of ops) op.reject(storageError(err, `${op.what()} in IndexedDB`))
      return
    }
    await runBatch(backend, ops)
  }
  // Queued synchronously, flushed in a microtask: every write made in this tick joins the batch.
  const enqueue = (op: WriteOp, what: () => string) => new Promise<void>((resolve, reject) => {
    queue.push({ ...op, what, resolve, reject })
    if (queue.length === 1) queueMicrotask(() => void flush())
  })
  // Reads asked for while the database opens, or in one tick, share one readonly transaction: at
  // a cold start the saved session state and the app's first get take one round trip, not two.
  let reads: { keys: readonly string[], resolve(raws: unknown[]): void, reject(err: unknown): void }[] = []
  const flushReads = async () => {
    const batch = reads
    reads = []
    try {
      const raws = await (await ready()).getMany(batch.flatMap((r) => r.keys))
      let at = 0
      for (const r of batch) r.resolve(raws.slice(at, (at += r.keys.length)))
    } catch (err) {
      for (const r of batch) r.reject(err)
    }
  }
  // The batch is taken once the database is ready (or has failed), not earlier.
  const readRaw = (keys: readonly string[]) => new Promise<unknown[]>((resolve, reject) => {
    reads.push({ keys, resolve, reject })
    if (reads.length === 1) void ready().then(flushReads, flushReads)
  })
  const tag = () => options.currentTag?.()
  const isDead = (stamp: string) => (raw: unknown) => !isLive(raw, stamp, Date.now(), tag())
  // A write may land between the read that found a record dead and its deletion: the sweep reads
  // each record again inside its own transaction and deletes only what is still dead.
  const sweep = (dead: string[], stamp: string) => {
    if (dead.length) {
      void ready().then((b) => b.sweep(dead, isDead(stamp))).catch((err: unknown) => {
        options.onError?.(storageError(err, 'sweeping expired data from IndexedDB (it is retried at the next start)'))
      })
    }
  }

  return {
    get mode() { return mode },
    async open() { await ready() },
    async get(keys, stamp) {
      const now = Date.now()
      let raws: unknown[]
      try {
        raws = await readRaw(keys)
      } catch (err) {
        throw storageError(err, `get("${keys.join('", "')}") from IndexedDB`)
      }
      const current = tag()
      const session = typeof stamp === 'function' ? stamp() : stamp
      const dead: string[] = []
      const values = raws.map((raw, i) => {
        if (isLive(raw, session, now, current)) return raw.v
        if (raw !== undefined) dead.push(keys[i] as string)
        return undefined
      })
      sweep(dead, session)
      return values
    },
    set: (entries, what) => enqueue({ put: entries }, () => what ?? `set("${entries.map(([key]) => key).join('", "')}")`),
    delete: (keys) => enqueue({ del: keys }, () => `delete("${keys.join('", "')}")`),
    async update(key, stamp, fn) {
      // The caller's function may throw its own error: hand that back unchanged, not as a storage failure.
      let thrown: { error: unknown } | undefined
      const guarded = (raw: unknown) => {
        try {
          return fn(isLive(raw, stamp, Date.now(), tag()) ? raw.v : undefined)
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
      const current = tag()
      const dead = all.filter(([, raw]) => !isLive(raw, stamp, now, current)).map(([k]) => k)
      if (dead.length) {
        try {
          await (await ready()).sweep(dead, isDead(stamp))
        } catch (err) {
          throw storageError(err, 'sweeping expired data from IndexedDB')
        }
      }
      return all.filter(([, raw]) => isLive(raw, stamp, now, current)).map(([k]) => k)
    },
    async rewrite(decide) {
      try {
        return await (await ready()).rewrite((raw) => (typeof raw === 'object' && raw !== null && 'v' in raw ? decide(raw as Envelope) : undefined))
      } catch (err) {
        throw storageError(err, 'the session purge in IndexedDB')
      }
    },
    close() { closeConnection() },
  }
}
