/**
 * The stable codes a {@link VisitStoreError} can carry. Match on `code`, never on the message.
 * @example if (err instanceof VisitStoreError && err.code === 'COOKIE_TOO_LARGE') shrink()
 */
export type ErrorCode =
  | 'COOKIE_TOO_LARGE'
  | 'COOKIE_BUDGET_EXCEEDED'
  | 'COOKIE_CONFLICT'
  | 'NOT_SERIALIZABLE'
  | 'INVALID_VALUE'
  | 'QUOTA_EXCEEDED'
  | 'STORAGE_UNAVAILABLE'
  | 'UNKNOWN_KEY'
  | 'NOT_SYNC_READABLE'
  | 'INVALID_OPTIONS'
  | 'SESSION_SYNC_FAILED'

/**
 * The one error class visitstore throws or rejects with. `code` is stable; `message` says what to do;
 * `cause` keeps the browser's own error when there was one. A failed write leaves the old value in place.
 * @example try { await store.set('theme', big) } catch (e) { if (e instanceof VisitStoreError) console.log(e.code) }
 */
export class VisitStoreError extends Error {
  /** Which failure this is; see {@link ErrorCode}. */
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'VisitStoreError'
    this.code = code
  }
}

function errorName(err: unknown): string {
  return typeof err === 'object' && err !== null && 'name' in err ? String((err as { name: unknown }).name) : ''
}

/** True for the browser's "storage full" errors, whatever engine raised them. */
export function isQuotaError(err: unknown): boolean {
  const name = errorName(err)
  // Firefox used NS_ERROR_DOM_QUOTA_REACHED for Web Storage; legacy code 22 is QuotaExceededError.
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED' ||
    (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 22)
}

/**
 * Turns a browser storage error into a coded one, so callers see one class whatever the tier.
 * `what` names the operation and key, e.g. `'set("cart") in IndexedDB'`.
 */
export function storageError(err: unknown, what: string): VisitStoreError {
  if (err instanceof VisitStoreError) return err
  if (isQuotaError(err)) {
    return new VisitStoreError('QUOTA_EXCEEDED',
      `${what} failed: the browser's storage quota is used up. Delete data you no longer need ` +
      `(store.delete / store.clear) or store less; the previous value is kept.`, { cause: err })
  }
  if (errorName(err) === 'DataCloneError') {
    return new VisitStoreError('NOT_SERIALIZABLE',
      `${what} failed: the value cannot be stored (functions, DOM nodes, symbols and class ` +
      `instances with private state cannot be cloned). Store plain data instead.`, { cause: err })
  }
  return new VisitStoreError('STORAGE_UNAVAILABLE',
    `${what} failed: the browser refused the storage operation (${errorName(err) || String(err)}). ` +
    `The previous value is kept; check store.status and try again.`, { cause: err })
}
