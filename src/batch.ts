/** Items gathered until their batch is flushed; see {@link createBatch}. */
export interface Batch<T> {
  /** Adds an item; the first item of a batch schedules its flush. */
  add(item: T): void
  /** Flushes now what is gathered; the next item starts a new batch, with its own scheduled flush. */
  flush(): void
  /** Ends the batch without flushing it: it goes at its scheduled flush; the next item starts a new batch. */
  close(): void
}

/**
 * One idea used three times: items added close together are handed to `flush` as one batch,
 * when `schedule` calls back. The write queue (a microtask: one IndexedDB transaction for the
 * writes of a tick), the read queue (until the database is open) and the outbox to other tabs
 * (a 10 ms timer: one message for many writes) are each a Batch.
 * @example const outbox = createBatch((run) => setTimeout(run, 10), (keys) => channel.post(keys))
 */
export function createBatch<T>(schedule: (run: () => void) => void, flush: (items: T[]) => void): Batch<T> {
  let items: T[] = []
  // Each batch is flushed once: early (flush), or at its own scheduled run, never with a newer batch.
  const run = (batch: T[]) => {
    if (batch === items) items = []
    if (batch.length) flush(batch.splice(0))
  }
  return {
    add(item) {
      items.push(item)
      if (items.length === 1) {
        const batch = items
        schedule(() => run(batch))
      }
    },
    flush: () => run(items),
    close: () => { items = [] },
  }
}
