/**
 * What one transaction can do with the records: the IndexedDB object store, or the memory
 * backend's Map. `put` throws (DataCloneError) synchronously for a value that cannot be stored.
 */
export interface Tx {
  get(key: string, then: (raw: unknown) => void): void
  put(record: { p: string, [field: string]: unknown }): void
  delete(key: string): void
  /** Deletes the records of keys from `from` (included) to `to` (excluded; none: to the end). */
  deleteRange(from: string, to?: string): void
}

/**
 * Where the client tier's records live: IndexedDB (tiers/idb.ts), or a Map for this page when
 * IndexedDB cannot be used (tiers/memory.ts). One contract, one test suite for both.
 * Records are `{ p: key, … }`; session records also carry a liveness key `k`, records of a key
 * with a ttl an expiry `x` (records.ts); the store's own records have keys starting with `$`.
 */
export interface RecordBackend {
  /**
   * Runs `fn` in one transaction: resolves to the value `fn` passed to `done` once everything is
   * committed; when `fn` throws or the transaction fails nothing is written and it rejects.
   */
  run<T>(mode: 'readonly' | 'readwrite', fn: (tx: Tx, done: (value: T) => void) => void): Promise<T>
  /** The records of `keys` (undefined where absent), in one readonly transaction. */
  getMany(keys: readonly string[]): Promise<unknown[]>
  /**
   * `getMany`, its transaction asked for in this call (the hot path of every get): the other
   * `readNow` calls of the same tick join it. Its caller makes sure that nothing asked for
   * before is still waiting for a transaction.
   */
  readNow(keys: readonly string[]): Promise<unknown[]>
  /** Deletes up to `limit` records expired at `now` in one transaction; resolves to how many. */
  deleteExpired(now: number, limit: number): Promise<number>
  /** Keys (up to `limit`) of the records whose keys start with `prefix`, in order; key-only, values are not read. */
  keys(prefix: string, limit?: number): Promise<string[]>
  /**
   * Keys of (up to `limit`) records with liveness key `k`, in key order, optionally only those
   * starting with `prefix`, and from key `from` on (to page through them).
   */
  keysOf(k: string, prefix?: string, limit?: number, from?: string): Promise<string[]>
  /** The distinct liveness keys the records hold. */
  livenessKeys(): Promise<string[]>
  /** Keys of up to `limit` records whose expiry is at or before `now`. */
  expired(now: number, limit?: number): Promise<string[]>
  /** The (first `limit`) records whose keys are in [from, to), in key order. */
  range(from: string, to: string, limit?: number): Promise<{ p: string }[]>
  /** Deletes the records whose keys are in [from, to) (to undefined: no upper end). */
  deleteRange(from: string, to?: string): Promise<void>
  close(): void
}

/** The first string after every string that starts with `prefix` (the end of its key range). */
export function after(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1)
  return last === 0xffff ? `${prefix}\uffff` : prefix.slice(0, -1) + String.fromCharCode(last + 1)
}
