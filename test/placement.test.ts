import { afterEach, describe, expect, test, vi } from 'vitest'
import { VisitStoreError } from '../src/errors.js'
import { thrownError } from './fixtures/page-storage.js'
import { checkStoreName, compileKeys, MAX_COOKIE_AGE, placementReason, type KeySpec } from '../src/placement.js'


afterEach(() => { vi.restoreAllMocks() })

describe('compileKeys: placement', () => {
  const table = compileKeys({
    theme: { lifetime: 'persistent', serverVisible: true, maxAge: 31536000 },
    locale: { lifetime: 'session', serverVisible: true },
    cart: { lifetime: 'session' },
    draft: { lifetime: 'persistent', ttl: 604800 },
    scroll: { lifetime: 'tab' },
  })

  test('places server-visible keys in cookies, tab keys in sessionStorage and the rest client-side', () => {
    expect(table.resolve('theme')).toEqual({ declared: 'theme', lifetime: 'persistent', home: 'cookie', maxAge: 31536000 })
    expect(table.resolve('locale')).toEqual({ declared: 'locale', lifetime: 'session', home: 'cookie' })
    expect(table.resolve('cart')).toEqual({ declared: 'cart', lifetime: 'session', home: 'client' })
    expect(table.resolve('draft')).toEqual({ declared: 'draft', lifetime: 'persistent', home: 'client', ttlMs: 604800000 })
    expect(table.resolve('scroll')).toEqual({ declared: 'scroll', lifetime: 'tab', home: 'tab' })
  })

  test('a session cookie has no Max-Age', () => {
    expect(table.resolve('locale').maxAge).toBeUndefined()
  })

  test('serverVisible: false is client-only', () => {
    expect(compileKeys({ k: { lifetime: 'persistent', serverVisible: false } }).resolve('k').home).toBe('client')
  })

  test('has() tells declared keys from undeclared ones', () => {
    expect(table.has('cart')).toBe(true)
    expect(table.has('carts')).toBe(false)
    expect(table.has('')).toBe(false)
  })

  test('lists every declared spec', () => {
    expect(table.specs.map((s) => s.declared).sort()).toEqual(['cart', 'draft', 'locale', 'scroll', 'theme'])
  })
})

describe('compileKeys: families', () => {
  const table = compileKeys({
    'draft:*': { lifetime: 'persistent', ttl: 60 },
    'draft:shared:*': { lifetime: 'persistent', serverVisible: true },
    'draft:pinned': { lifetime: 'session' },
    'flag*': { lifetime: 'tab' },
  })

  test('gives the family options to every key starting with its prefix', () => {
    expect(table.resolve('draft:1')).toMatchObject({ declared: 'draft:*', home: 'client', ttlMs: 60000 })
    expect(table.resolve('draft:a:b')).toMatchObject({ declared: 'draft:*' })
    expect(table.resolve('flagNew')).toMatchObject({ declared: 'flag*', home: 'tab' })
  })

  test('the longest matching prefix wins', () => {
    expect(table.resolve('draft:shared:7')).toMatchObject({ declared: 'draft:shared:*', home: 'cookie' })
  })

  test('an exact declaration wins over a family', () => {
    expect(table.resolve('draft:pinned')).toMatchObject({ declared: 'draft:pinned', home: 'client', lifetime: 'session' })
  })

  test('a family does not match its bare prefix', () => {
    expect(table.has('draft:')).toBe(false)
    expect(thrownError(() => table.resolve('draft:')).code).toBe('UNKNOWN_KEY')
    // 'draft:shared:' is not a member of 'draft:shared:*', but it is a member of 'draft:*'.
    expect(table.resolve('draft:shared:')).toMatchObject({ declared: 'draft:*' })
  })

  test('a key that only shares part of the prefix is unknown', () => {
    expect(table.has('draft')).toBe(false)
    expect(table.has('drafts:1')).toBe(false)
  })
})

describe('compileKeys: unknown keys', () => {
  const table = compileKeys({ theme: { lifetime: 'persistent', serverVisible: true } })

  test('refuses an undeclared key with UNKNOWN_KEY, naming it and how to declare it', () => {
    const err = thrownError(() => table.resolve('draft:42'))
    expect(err.code).toBe('UNKNOWN_KEY')
    expect(err.message).toContain('"draft:42"')
    expect(err.message).toContain('"draft:*"')
    expect(err.message).toContain('createStore({ keys })')
  })

  test('refuses a non-string key with UNKNOWN_KEY', () => {
    expect(thrownError(() => table.resolve(42 as unknown as string)).code).toBe('UNKNOWN_KEY')
  })

  test('does not treat Object.prototype members as declared keys', () => {
    expect(table.has('constructor')).toBe(false)
    expect(table.has('toString')).toBe(false)
  })
})

describe('compileKeys: INVALID_OPTIONS', () => {
  const invalid = (keys: unknown) => thrownError(() => compileKeys(keys))

  test.each([
    ['keys is not an object', null],
    ['keys is a string', 'theme'],
    ['options are not an object', { a: 'session' }],
    ['options are null', { a: null }],
    ['lifetime is missing', { a: {} }],
    ['lifetime is unknown', { a: { lifetime: 'forever' } }],
    ['serverVisible is not a boolean', { a: { lifetime: 'session', serverVisible: 'yes' } }],
    ['serverVisible with tab lifetime', { a: { lifetime: 'tab', serverVisible: true } }],
    ['maxAge on a client-only key', { a: { lifetime: 'persistent', maxAge: 60 } }],
    ['maxAge on a session cookie', { a: { lifetime: 'session', serverVisible: true, maxAge: 60 } }],
    ['maxAge on a tab key', { a: { lifetime: 'tab', maxAge: 60 } }],
    ['ttl on a cookie', { a: { lifetime: 'persistent', serverVisible: true, ttl: 60 } }],
    ['ttl on a session client key', { a: { lifetime: 'session', ttl: 60 } }],
    ['ttl on a tab key', { a: { lifetime: 'tab', ttl: 60 } }],
    ['a "$"-prefixed key', { $s: { lifetime: 'session' } }],
    ['a "$"-prefixed family', { '$x*': { lifetime: 'session' } }],
    ['an empty key', { '': { lifetime: 'session' } }],
    ['a bare "*"', { '*': { lifetime: 'session' } }],
  ])('when %s', (_what, keys) => {
    expect(invalid(keys).code).toBe('INVALID_OPTIONS')
  })

  const badNumbers: [string, unknown][] = [['NaN', NaN], ['negative', -1], ['0', 0], ['Infinity', Infinity], ['a string', '60'], ['null', null]]
  test.each(badNumbers)('maxAge %s', (_what, maxAge) => {
    const err = invalid({ theme: { lifetime: 'persistent', serverVisible: true, maxAge } })
    expect(err.code).toBe('INVALID_OPTIONS')
    expect(err.message).toContain('keys["theme"].maxAge')
  })
  test.each(badNumbers)('ttl %s', (_what, ttl) => {
    const err = invalid({ draft: { lifetime: 'persistent', ttl } })
    expect(err.code).toBe('INVALID_OPTIONS')
    expect(err.message).toContain('keys["draft"].ttl')
  })

  test('messages name the key and say how to fix it', () => {
    expect(invalid({ scroll: { lifetime: 'tab', serverVisible: true } }).message).toMatch(/keys\["scroll"\].*drop serverVisible/)
    expect(invalid({ cart: { lifetime: 'persistent', maxAge: 1 } }).message).toMatch(/keys\["cart"\].*use ttl/)
    expect(invalid({ '*': { lifetime: 'tab' } }).message).toMatch(/"draft:\*"/)
  })
})

describe('compileKeys: cookie lifetimes', () => {
  test('a persistent cookie without maxAge lives 400 days', () => {
    const spec = compileKeys({ theme: { lifetime: 'persistent', serverVisible: true } }).resolve('theme')
    expect(spec.maxAge).toBe(400 * 24 * 60 * 60)
    expect(MAX_COOKIE_AGE).toBe(34560000)
  })

  test('a maxAge over 400 days is clamped to 400 days with a console warning', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const spec = compileKeys({ theme: { lifetime: 'persistent', serverVisible: true, maxAge: 10 * 365 * 86400 } }).resolve('theme')
    expect(spec.maxAge).toBe(MAX_COOKIE_AGE)
    expect(warn).toHaveBeenCalledTimes(1)
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/keys\["theme"\]\.maxAge.*400/)
  })

  test('exactly 400 days is kept without a warning', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    expect(compileKeys({ t: { lifetime: 'persistent', serverVisible: true, maxAge: MAX_COOKIE_AGE } }).resolve('t').maxAge).toBe(MAX_COOKIE_AGE)
    expect(warn).not.toHaveBeenCalled()
  })

  test('a fractional maxAge is written as whole seconds', () => {
    expect(compileKeys({ t: { lifetime: 'persistent', serverVisible: true, maxAge: 90.7 } }).resolve('t').maxAge).toBe(90)
  })

  test('a maxAge under one second never becomes Max-Age=0, which would delete the cookie as it is written', () => {
    let spec: KeySpec
    try {
      spec = compileKeys({ t: { lifetime: 'persistent', serverVisible: true, maxAge: 0.5 } }).resolve('t')
    } catch (err) {
      expect((err as VisitStoreError).code).toBe('INVALID_OPTIONS')
      return
    }
    expect(spec.maxAge).toBeGreaterThanOrEqual(1)
  })

  test('ttl is kept in milliseconds', () => {
    expect(compileKeys({ d: { lifetime: 'persistent', ttl: 1.5 } }).resolve('d').ttlMs).toBe(1500)
  })
})

describe('checkStoreName', () => {
  test.each(['shop', 'my-app', 'A1', 'x'.repeat(64)])('accepts %j', (name) => {
    expect(checkStoreName(name)).toBe(name)
  })

  test.each(['', 'my_app', 'a b', 'x'.repeat(65), 'ünï', 'a/b', 42, undefined, null])('rejects %j with INVALID_OPTIONS', (name) => {
    const err = thrownError(() => checkStoreName(name))
    expect(err.code).toBe('INVALID_OPTIONS')
    expect(err.message).toContain('letters, digits or "-"')
  })
})

describe('placementReason', () => {
  const spec = (s: Omit<KeySpec, 'declared'>): KeySpec => ({ declared: 'k', ...s })

  test('a session cookie: read by the server, no Expires', () => {
    const reason = placementReason(spec({ lifetime: 'session', home: 'cookie' }), false)
    expect(reason).toMatch(/Cookie header/)
    expect(reason).toMatch(/session cookie/)
  })

  test('a persistent cookie: states its Max-Age', () => {
    expect(placementReason(spec({ lifetime: 'persistent', home: 'cookie', maxAge: 3600 }), false)).toMatch(/Max-Age 3600s/)
  })

  test('a tab key: sessionStorage, or memory when degraded', () => {
    expect(placementReason(spec({ lifetime: 'tab', home: 'tab' }), false)).toMatch(/sessionStorage/)
    const degraded = placementReason(spec({ lifetime: 'tab', home: 'tab' }), true)
    expect(degraded).toMatch(/unavailable/)
    expect(degraded).toMatch(/memory/)
  })

  test('a client key: IndexedDB, never sent to the server', () => {
    const reason = placementReason(spec({ lifetime: 'persistent', home: 'client' }), false)
    expect(reason).toMatch(/IndexedDB/)
    expect(reason).toMatch(/never sent to the server/)
    expect(reason).not.toMatch(/memory/)
  })

  test('a client key with a ttl states when it expires', () => {
    expect(placementReason(spec({ lifetime: 'persistent', home: 'client', ttlMs: 604800000 }), false)).toMatch(/expires 604800s after each write/)
  })

  test('a session client key says it is swept when the session ends', () => {
    expect(placementReason(spec({ lifetime: 'session', home: 'client' }), false)).toMatch(/session.*swept/)
  })

  test('a degraded client key says IndexedDB is unavailable and it is kept in memory', () => {
    const reason = placementReason(spec({ lifetime: 'session', home: 'client' }), true)
    expect(reason).toMatch(/IndexedDB is unavailable/)
    expect(reason).toMatch(/in memory/)
  })
})

describe('cookie value type', () => {
  test("type is kept for server-visible keys and refused elsewhere or when unknown", () => {
    const table = compileKeys({ zip: { lifetime: 'persistent', serverVisible: true, type: 'string' } })
    expect(table.resolve('zip').type).toBe('string')
    expect(() => compileKeys({ zip: { lifetime: 'persistent', type: 'string' } })).toThrow(/server-visible/)
    expect(() => compileKeys({ zip: { lifetime: 'session', serverVisible: true, type: 'text' } })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })
})

describe('placementReason with a server session', () => {
  test('session data says it is bound to the server session too', () => {
    const table = compileKeys({ cart: { lifetime: 'session' }, locale: { lifetime: 'session', serverVisible: true } })
    expect(placementReason(table.resolve('cart'), false, true)).toMatch(/server session/)
    expect(placementReason(table.resolve('locale'), false, true)).toMatch(/server session changes/)
    expect(placementReason(table.resolve('cart'), false, false)).not.toMatch(/server session/)
  })
})
