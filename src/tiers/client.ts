import { createBatch } from '../batch.js'
import { storageError, VisitStoreError } from '../errors.js'
import type { RecordBackend, Tx } from './backend.js'
import { createMemoryBackend } from './memory.js'

/** One caller's writes: its puts and deletes land together or not at all. */
export interface WriteOp {
  put?: readonly { p: string, [field: string]: unknown }[]
  del?: readonly string[]
  /** Names the write in an error message; called only when one is needed (a setMany of 1,000 keys makes a long one). */
  what: () => string
}

type QueuedWrite = WriteOp & { resolve(): void, reject(err: unknown): void }
type QueuedRead = { keys: readonly string[], resolve(raws: unknown[]): void, reject(err: unknown): void }

/** A write of a batch whose own value could not be stored (DataCloneError); the batch was rolled back. */
class BatchOpError extends Error {
  constructor(readonly index: number, readonly error: unknown) {
    super('one write of the batch failed')
  }
}

/**
 * The client-only tier: records in IndexedDB, or in memory when IndexedDB cannot be used.
 * Reads and writes are batched (see batch.ts); everything else goes to the backend as it is.
 */
export interface ClientTier extends Omit<RecordBackend, 'close' | 'readNow'> {
  /** `'memory'` once the tier fell back. */
  readonly mode: 'indexeddb' | 'memory'
  /** The backend, once open (or fallen back); never rejects. */
  open(): Promise<RecordBackend>
  /**
   * Raw records of `keys` (undefined where absent); the reads of one tick share a transaction, each
   * answered once its own records are in. A read of no keys asked while others wait for the open
   * is answered after them.
   */
  read(keys: readonly string[]): Promise<unknown[]>
  /** Queues a write; the writes of one tick share a transaction, each caller keeping its own result. */
  write(op: WriteOp): Promise<void>
  /**
   * Runs `fn` (synchronous) while no other tab of this origin runs one on the same database:
   * IndexedDB serialises readwrite transactions across tabs. The lock where Web Locks are missing;
   * `fn` gets the lock record's value and `save`, which replaces it in the same transaction.
   */
  exclusive<T>(fn: (value: unknown, save: (value: unknown) => void) => T): Promise<T>
  close(): void
}

/**
 * The order of a client tier's transactions: they are asked for in call order, the writes queued
 * before a call going first (a get, update or clear right after an un-awaited set sees it;
 * IndexedDB runs them in that order). A write batch holds back what comes after it until it is
 * done, retries included: a batch that failed whole is retried per caller, and must not land over
 * a later call's write.
 */
function createOrder(open: () => Promise<RecordBackend>) {
  // The calls asked for whose transactions are not asked for yet, and the writes not done.
  let ahead = 0
  let writing: Promise<unknown> = Promise.resolve()
  const writes = createBatch<QueuedWrite>(queueMicrotask, (ops) => { writing = ordered().then((b) => commit(b, ops)) })
  const ordered = () => {
    writes.flush()
    return writing.then(open)
  }
  /** `fn` with the backend, after what was asked for before: `fn` asks for its transaction in its step. */
  const inOrder = <T>(fn: (b: RecordBackend) => T): Promise<Awaited<T>> => {
    ahead++
    return ordered().then((b) => {
      ahead--
      return fn(b)
    }) as Promise<Awaited<T>>
  }
  // Reads asked for while the database opens, or in one tick, share one readonly transaction: at
  // a cold start the saved session state and the app's first get take one round trip, not two,
  // and the app's get is answered as soon as its own records are in.
  // A batch is flushed only by its scheduled run, which has the backend at hand: its transaction is
  // asked for in that step, in call order with the writes around it.
  let at: RecordBackend
  const reads = createBatch<QueuedRead>((run) => void inOrder((b) => {
    at = b
    run()
  }), (batch) => {
    // A read of no keys (the start-up's wait for the first reads, store.ts) is answered after the
    // others, which are settled by then (resolving them again does nothing).
    void Promise.all(batch.map((r) => r.keys.length && at.readNow(r.keys).then(r.resolve, r.reject))).then(() => { for (const r of batch) r.resolve([]) })
  })
  return {
    inOrder,
    reads,
    write(op: WriteOp, resolve: () => void, reject: (err: unknown) => void) {
      // A read asked for after this write starts a new batch, which waits for it (see ordered()).
      reads.close()
      ahead++
      writes.add({ ...op, resolve: () => { ahead--; resolve() }, reject: (err) => { ahead--; reject(err) } })
    },
    /** Whether nothing asked for is ahead: a transaction asked for now comes after every earlier call's. */
    idle: () => !ahead,
  }
}

/**
 * Creates the client tier over `openBackend` (IndexedDB, or memory for a page-scoped tier).
 * `onFallback` hears once that it could not be used and the tier fell back to memory.
 */
export function createClientTier(openBackend: () => Promise<RecordBackend>, onFallback: (error: VisitStoreError) => void): ClientTier {
  let mode: ClientTier['mode'] = 'indexeddb'
  let backend: Promise<RecordBackend> | undefined
  // The backend once open: a read then needs no wait for it (see read below).
  let opened: RecordBackend | undefined
  const open = () => (backend ??= openBackend().catch((cause: unknown) => {
    mode = 'memory'
    onFallback(new VisitStoreError('STORAGE_UNAVAILABLE',
      `IndexedDB cannot be used here (${cause instanceof Error ? cause.message : String(cause)}); client-only values ` +
      'are kept in memory for this page only. Private browsing or blocked storage usually causes this.', { cause }))
    return createMemoryBackend()
  }).then((b) => (opened = b)))
  const order = createOrder(open)
  // A read asked for after a write (here, or by write() below) starts a new batch, which waits for
  // it: a batch already gathering had its transaction asked for before the write's.
  const call = <K extends keyof RecordBackend>(name: K, changes = false) =>
    ((...args: unknown[]) => {
      if (changes || args[0] === 'readwrite') order.reads.close()
      return order.inOrder((b) => (b[name] as (...a: unknown[]) => unknown)(...args))
    }) as RecordBackend[K]
  return {
    get mode() { return mode },
    open,
    // With nothing ahead, the read asks for its transaction now (the tick's other reads join it): a
    // loop of awaited gets then costs about what raw IndexedDB does, not five ticks per get.
    read: (keys) => (opened && order.idle() ? opened.readNow(keys) : new Promise((resolve, reject) => order.reads.add({ keys, resolve, reject }))),
    write: (op) => new Promise((resolve, reject) => order.write(op, resolve, reject)),
    // A readwrite transaction holds its scope until it commits; fn runs inside it.
    exclusive: <T>(fn: (value: unknown, save: (value: unknown) => void) => T) => order.inOrder((b) => b.run<T>('readwrite', (tx, done) => tx.get('$lock', (raw) => {
      done(fn((raw as { v?: unknown } | undefined)?.v, (v) => {
        try {
          tx.put({ p: '$lock', v })
        } catch {
          // The lock's record is a help (the shadow of recent writes), not data: a full disk leaves it as it was.
        }
      }))
    }))),
    run: call('run'),
    getMany: call('getMany'),
    deleteExpired: call('deleteExpired', true),
    keys: call('keys'),
    keysOf: call('keysOf'),
    livenessKeys: call('livenessKeys'),
    expired: call('expired'),
    range: call('range'),
    deleteRange: call('deleteRange', true),
    close: () => void backend?.then((b) => b.close()),
  }
}

function putAll(tx: Tx, op: WriteOp): void {
  for (const record of op.put ?? []) tx.put(record)
  for (const key of op.del ?? []) tx.delete(key)
}

/**
 * Writes of one tick in one transaction. Each caller still gets its own result: an op whose value
 * cannot be cloned fails alone (the rest run again without it), and when the whole transaction
 * fails (quota) every op is retried on its own, so only the ones that cannot fit fail.
 */
async function commit(backend: RecordBackend, ops: QueuedWrite[]): Promise<void> {
  try {
    await backend.run('readwrite', (tx, done) => {
      ops.forEach((op, index) => {
        try {
          putAll(tx, op)
        } catch (err) {
          throw new BatchOpError(index, err)
        }
      })
      done(undefined)
    })
    for (const op of ops) op.resolve()
  } catch (err) {
    if (err instanceof BatchOpError) {
      const failed = ops[err.index] as QueuedWrite
      failed.reject(storageError(err.error, `${failed.what()} in IndexedDB`))
      const rest = ops.filter((op) => op !== failed)
      if (rest.length) await commit(backend, rest)
    } else if (ops.length > 1) {
      for (const op of ops) await commit(backend, [op])
    } else {
      ops[0]?.reject(storageError(err, `${ops[0].what()} in IndexedDB`))
    }
  }
}
