import { describe, expect, test } from 'vitest'
import { isQuotaError, storageError, VisitStoreError } from '../src/errors.js'

describe('VisitStoreError', () => {
  test('carries a stable code, its own name and the message', () => {
    const err = new VisitStoreError('COOKIE_TOO_LARGE', 'store less')
    expect(err.code).toBe('COOKIE_TOO_LARGE')
    expect(err.name).toBe('VisitStoreError')
    expect(err.message).toBe('store less')
    expect(String(err)).toBe('VisitStoreError: store less')
  })

  test('is an instance of both VisitStoreError and Error, so catch blocks can match it', () => {
    const err: unknown = new VisitStoreError('UNKNOWN_KEY', 'declare it')
    expect(err).toBeInstanceOf(VisitStoreError)
    expect(err).toBeInstanceOf(Error)
    expect(new Error('plain')).not.toBeInstanceOf(VisitStoreError)
  })

  test('keeps the native error as cause', () => {
    const native = new DOMException('full', 'QuotaExceededError')
    expect(new VisitStoreError('QUOTA_EXCEEDED', 'free space', { cause: native }).cause).toBe(native)
    expect(new VisitStoreError('QUOTA_EXCEEDED', 'free space').cause).toBeUndefined()
  })
})

describe('storageError', () => {
  test('maps a QuotaExceededError DOMException to QUOTA_EXCEEDED, keeping the cause and naming the operation', () => {
    const native = new DOMException('The quota has been exceeded.', 'QuotaExceededError')
    const err = storageError(native, 'set("cart") in IndexedDB')
    expect(err).toBeInstanceOf(VisitStoreError)
    expect(err.code).toBe('QUOTA_EXCEEDED')
    expect(err.cause).toBe(native)
    expect(err.message).toContain('set("cart") in IndexedDB')
    expect(err.message).toMatch(/previous value is kept/)
  })

  test('maps the legacy code 22 (old WebKit QUOTA_EXCEEDED_ERR) to QUOTA_EXCEEDED', () => {
    const legacy = Object.assign(new Error('QuotaExceededError: DOM Exception 22'), { name: 'QUOTA_EXCEEDED_ERR', code: 22 })
    expect(storageError(legacy, 'set("x") in sessionStorage').code).toBe('QUOTA_EXCEEDED')
    expect(isQuotaError(legacy)).toBe(true)
  })

  test("maps Firefox's NS_ERROR_DOM_QUOTA_REACHED to QUOTA_EXCEEDED", () => {
    const firefox = Object.assign(new Error('Persistent storage maximum size reached'), { name: 'NS_ERROR_DOM_QUOTA_REACHED' })
    expect(storageError(firefox, 'set("x") in sessionStorage').code).toBe('QUOTA_EXCEEDED')
  })

  test('maps a DataCloneError to NOT_SERIALIZABLE, keeping the cause', () => {
    let native: unknown
    try {
      structuredClone({ f: () => 1 })
    } catch (e) {
      native = e
    }
    const err = storageError(native, 'set("draft") in IndexedDB')
    expect(err.code).toBe('NOT_SERIALIZABLE')
    expect(err.cause).toBe(native)
    expect(err.message).toContain('set("draft") in IndexedDB')
  })

  test('maps any other failure to STORAGE_UNAVAILABLE, naming the native error', () => {
    const native = new DOMException('blocked', 'InvalidStateError')
    const err = storageError(native, 'get("cart") from IndexedDB')
    expect(err.code).toBe('STORAGE_UNAVAILABLE')
    expect(err.cause).toBe(native)
    expect(err.message).toContain('get("cart") from IndexedDB')
    expect(err.message).toContain('InvalidStateError')
  })

  test('maps a non-error value (a thrown string) to STORAGE_UNAVAILABLE and shows it', () => {
    const err = storageError('disk on fire', 'keys() from IndexedDB')
    expect(err.code).toBe('STORAGE_UNAVAILABLE')
    expect(err.message).toContain('disk on fire')
    expect(err.cause).toBe('disk on fire')
  })

  test('does not treat an error with another numeric code as a quota error', () => {
    const other = Object.assign(new Error('nope'), { name: 'NotFoundError', code: 8 })
    expect(storageError(other, 'x').code).toBe('STORAGE_UNAVAILABLE')
    expect(isQuotaError(null)).toBe(false)
  })

  test('passes a VisitStoreError through unchanged', () => {
    const own = new VisitStoreError('COOKIE_BUDGET_EXCEEDED', 'delete some')
    expect(storageError(own, 'set("theme")')).toBe(own)
  })
})
