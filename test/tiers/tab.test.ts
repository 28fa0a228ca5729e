import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { VisitStoreError } from '../../src/errors.js'
import { createTabTier } from '../../src/tiers/tab.js'

const PREFIX = 'visitstore:shop:'

beforeEach(() => { sessionStorage.clear() })
afterEach(() => { vi.restoreAllMocks() })

describe('createTabTier with the page sessionStorage', () => {
  test('uses sessionStorage when given undefined (the default)', () => {
    const tab = createTabTier(PREFIX, undefined)
    expect(tab.mode).toBe('sessionStorage')
    tab.write([['scroll', '120']])
    expect(sessionStorage.getItem('visitstore:shop:scroll')).toBe('120')
  })

  test('does not touch sessionStorage before the first use (it costs milliseconds at page load in Chromium)', () => {
    const real = globalThis.sessionStorage
    const touched = vi.fn(() => real)
    Object.defineProperty(globalThis, 'sessionStorage', { get: touched, configurable: true })
    try {
      const tab = createTabTier(PREFIX, undefined)
      tab.remove([])
      expect(touched).not.toHaveBeenCalled()
      expect(tab.read('scroll')).toBeUndefined()
      expect(touched).toHaveBeenCalled()
      const looks = touched.mock.calls.length
      expect(tab.mode).toBe('sessionStorage')
      tab.write([['scroll', '1']])
      expect(touched).toHaveBeenCalledTimes(looks) // chosen once, then kept
    } finally {
      Object.defineProperty(globalThis, 'sessionStorage', { value: real, configurable: true, writable: true })
    }
  })

  test('writes and reads items under the prefix; undefined when absent', () => {
    const tab = createTabTier(PREFIX, sessionStorage)
    expect(tab.mode).toBe('sessionStorage')
    tab.write([['scroll', '120'], ['filters', '{"q":"x"}']])
    expect(sessionStorage.getItem('visitstore:shop:scroll')).toBe('120')
    expect(sessionStorage.getItem('scroll')).toBeNull()
    expect(tab.read('filters')).toBe('{"q":"x"}')
    expect(tab.read('missing')).toBeUndefined()
  })

  test('reads what is already in sessionStorage (a reload of the tab)', () => {
    sessionStorage.setItem('visitstore:shop:scroll', '42')
    expect(createTabTier(PREFIX, sessionStorage).read('scroll')).toBe('42')
  })

  test('keys lists only this store\'s items, without the prefix', () => {
    sessionStorage.setItem('other-lib', 'x')
    sessionStorage.setItem('visitstore:shopping:scroll', 'x')
    const tab = createTabTier(PREFIX, sessionStorage)
    tab.write([['a', '1'], ['draft:1', '2']])
    expect(tab.keys().sort()).toEqual(['a', 'draft:1'])
  })

  test('remove deletes only the given keys of this store', () => {
    sessionStorage.setItem('scroll', 'foreign')
    const tab = createTabTier(PREFIX, sessionStorage)
    tab.write([['scroll', '1'], ['keep', '2']])
    tab.remove(['scroll', 'never-written'])
    expect(tab.read('scroll')).toBeUndefined()
    expect(tab.read('keep')).toBe('2')
    expect(sessionStorage.getItem('scroll')).toBe('foreign')
  })

  test('a write replaces the previous value', () => {
    const tab = createTabTier(PREFIX, sessionStorage)
    tab.write([['n', '1']])
    tab.write([['n', '2']])
    expect(tab.read('n')).toBe('2')
    expect(sessionStorage.length).toBe(1)
  })

  test('a quota error mid-batch writes nothing: QUOTA_EXCEEDED and the previous values intact', () => {
    const tab = createTabTier(PREFIX, sessionStorage)
    tab.write([['a', 'old-a']])
    const realSetItem = sessionStorage.setItem.bind(sessionStorage)
    const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError')
    vi.spyOn(sessionStorage, 'setItem').mockImplementation((name: string, value: string) => {
      if (name === 'visitstore:shop:c') throw quota
      realSetItem(name, value)
    })
    let caught: unknown
    try {
      tab.write([['a', 'new-a'], ['b', 'new-b'], ['c', 'too-big']])
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(VisitStoreError)
    expect((caught as VisitStoreError).code).toBe('QUOTA_EXCEEDED')
    expect((caught as VisitStoreError).cause).toBe(quota)
    expect((caught as VisitStoreError).message).toContain('sessionStorage')
    expect(tab.read('a')).toBe('old-a')
    expect(tab.read('b')).toBeUndefined()
    expect(tab.read('c')).toBeUndefined()
    expect(tab.keys()).toEqual(['a'])
  })

  test('another storage failure is STORAGE_UNAVAILABLE, also rolled back', () => {
    const tab = createTabTier(PREFIX, sessionStorage)
    tab.write([['a', 'old']])
    const realSetItem = sessionStorage.setItem.bind(sessionStorage)
    let calls = 0
    vi.spyOn(sessionStorage, 'setItem').mockImplementation((name: string, value: string) => {
      if (++calls === 2) throw new DOMException('denied', 'SecurityError')
      realSetItem(name, value)
    })
    expect(() => tab.write([['a', 'new'], ['b', 'x']])).toThrowError(expect.objectContaining({ code: 'STORAGE_UNAVAILABLE' }))
    vi.restoreAllMocks()
    expect(tab.read('a')).toBe('old')
    expect(tab.read('b')).toBeUndefined()
  })
})

describe('createTabTier without sessionStorage', () => {
  test('null means memory mode: values work for this page and sessionStorage is untouched', () => {
    const tab = createTabTier(PREFIX, null)
    expect(tab.mode).toBe('memory')
    tab.write([['scroll', '120'], ['x', '1']])
    expect(tab.read('scroll')).toBe('120')
    expect(tab.keys().sort()).toEqual(['scroll', 'x'])
    tab.remove(['x'])
    expect(tab.keys()).toEqual(['scroll'])
    expect(tab.read('x')).toBeUndefined()
    expect(sessionStorage.length).toBe(0)
  })

  test('two memory tiers do not share values', () => {
    const one = createTabTier(PREFIX, null)
    const two = createTabTier(PREFIX, null)
    one.write([['a', '1']])
    expect(two.read('a')).toBeUndefined()
  })

  test('falls back to memory when reading window.sessionStorage throws (sandboxed frame, blocked storage)', () => {
    const own = Object.getOwnPropertyDescriptor(globalThis, 'sessionStorage')
    Object.defineProperty(globalThis, 'sessionStorage', {
      configurable: true,
      get() { throw new DOMException('The operation is insecure.', 'SecurityError') },
    })
    try {
      const tab = createTabTier(PREFIX, undefined)
      expect(tab.mode).toBe('memory')
      tab.write([['a', '1']])
      expect(tab.read('a')).toBe('1')
    } finally {
      if (own) Object.defineProperty(globalThis, 'sessionStorage', own)
      else delete (globalThis as { sessionStorage?: Storage }).sessionStorage
    }
    expect(sessionStorage.length).toBe(0)
  })
})
