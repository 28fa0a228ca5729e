import { afterEach, describe, expect, test, vi } from 'vitest'
import type { VisitStoreError } from '../src/errors.js'
import type { KeySpec } from '../src/keys.js'
import { checkCookieOptions, checkSessionOptions, checkStoreOptions, compileKeys, DEFAULT_COOKIE_BUDGET, MAX_COOKIE_AGE } from '../src/options.js'
import { thrownError } from './fixtures/page-storage.js'

const polluted = ['serverVisible', 'domain', 'secure', 'endpoint', 'lifetime', 'maxAge', 'ttlMs']
afterEach(() => {
  vi.restoreAllMocks()
  for (const name of polluted) delete (Object.prototype as Record<string, unknown>)[name]
})

describe('compileKeys: placement', () => {
  const table = compileKeys({
    theme: { lifetime: 'persistent', serverVisible: true, maxAge: 31536000 },
    locale: { lifetime: 'session', serverVisible: true },
    cart: { lifetime: 'session' },
    draft: { lifetime: 'persistent', ttl: 604800 },
    scroll: { lifetime: 'tab' },
  })

  test('places server-visible keys in cookies, tab keys in sessionStorage and the rest in IndexedDB', () => {
    expect(table.resolve('theme')).toEqual({ declared: 'theme', lifetime: 'persistent', tier: 'cookie', maxAge: 31536000 })
    expect(table.resolve('locale')).toEqual({ declared: 'locale', lifetime: 'session', tier: 'cookie' })
    expect(table.resolve('cart')).toEqual({ declared: 'cart', lifetime: 'session', tier: 'indexeddb' })
    expect(table.resolve('draft')).toEqual({ declared: 'draft', lifetime: 'persistent', tier: 'indexeddb', ttlMs: 604800000 })
    expect(table.resolve('scroll')).toEqual({ declared: 'scroll', lifetime: 'tab', tier: 'sessionStorage' })
  })

  test('a session cookie has no Max-Age', () => {
    expect(table.resolve('locale').maxAge).toBeUndefined()
  })

  test('serverVisible: false is client-only', () => {
    expect(compileKeys({ k: { lifetime: 'persistent', serverVisible: false } }).resolve('k').tier).toBe('indexeddb')
  })

  test('families are compiled with their declared name', () => {
    const families = compileKeys({ 'draft:*': { lifetime: 'persistent', ttl: 60 }, 'draft:shared:*': { lifetime: 'persistent', serverVisible: true } })
    expect(families.resolve('draft:1')).toMatchObject({ declared: 'draft:*', tier: 'indexeddb', ttlMs: 60000 })
    expect(families.resolve('draft:shared:7')).toMatchObject({ declared: 'draft:shared:*', tier: 'cookie' })
  })

  test('options inherited from a polluted Object.prototype are ignored, in what is read and in the spec made', () => {
    Object.assign(Object.prototype, { serverVisible: true, maxAge: 99999, ttlMs: 1 })
    const table = compileKeys({ cart: { lifetime: 'session' }, locale: { lifetime: 'session', serverVisible: true } })
    expect(table.resolve('cart').tier).toBe('indexeddb')
    // The cookie tier writes Max-Age when the spec has one, and records expire when it has a ttl.
    expect(table.resolve('locale').maxAge).toBeUndefined()
    expect(table.resolve('cart').ttlMs).toBeUndefined()
  })

  test('a key named like an Object.prototype member is a key like any other', () => {
    const keys = JSON.parse('{"__proto__": { "lifetime": "tab" }, "constructor": { "lifetime": "session" }}') as object
    const compiled = compileKeys(keys)
    expect(compiled.resolve('__proto__')).toMatchObject({ lifetime: 'tab' })
    expect(compiled.resolve('constructor')).toMatchObject({ lifetime: 'session' })
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
    ['a validator that is not a Standard Schema', { a: { lifetime: 'tab', validate: {} } }],
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
    expect(invalid({ $s: { lifetime: 'tab' } }).message).toMatch(/reserved/)
    expect(invalid({ a: { lifetime: 'tab', validate: {} } }).message).toMatch(/Standard Schema/)
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

describe('compileKeys: cookie value type', () => {
  test("'string' and 'json' are kept for server-visible keys; left out means: strings as themselves unless they look like JSON", () => {
    const table = compileKeys({
      zip: { lifetime: 'persistent', serverVisible: true, type: 'string' },
      count: { lifetime: 'session', serverVisible: true, type: 'json' },
      plain: { lifetime: 'session', serverVisible: true },
    })
    expect(table.resolve('zip').type).toBe('string')
    expect(table.resolve('count').type).toBe('json')
    expect(table.resolve('plain').type).toBeUndefined()
  })

  test.each([['auto'], ['text'], [''], [null]])('type %j is INVALID_OPTIONS (there is no "auto": leave type out)', (type) => {
    const err = thrownError(() => compileKeys({ zip: { lifetime: 'session', serverVisible: true, type } }))
    expect(err.code).toBe('INVALID_OPTIONS')
    expect(err.message).toMatch(/'string' or 'json'/)
  })

  test('type on a key that is not server-visible is INVALID_OPTIONS', () => {
    expect(() => compileKeys({ zip: { lifetime: 'persistent', type: 'string' } })).toThrow(/server-visible/)
  })
})

describe('checkStoreOptions', () => {
  test.each(['shop', 'my-app', 'A1', 'x'.repeat(64)])('accepts the name %j', (name) => {
    expect(checkStoreOptions({ name, keys: {} }).name).toBe(name)
  })

  test.each(['', 'my_app', 'a b', 'x'.repeat(65), 'ünï', 'a/b', '__Host-app', 42, undefined, null])('rejects the name %j with INVALID_OPTIONS', (name) => {
    const err = thrownError(() => checkStoreOptions({ name, keys: {} }))
    expect(err.code).toBe('INVALID_OPTIONS')
    expect(err.message).toContain('letters, digits or "-"')
  })

  test.each([undefined, null, 'shop', 42])('options %j are INVALID_OPTIONS with the call to write', (options) => {
    const err = thrownError(() => checkStoreOptions(options))
    expect(err.code).toBe('INVALID_OPTIONS')
    expect(err.message).toContain('createStore({ name, keys })')
  })

  test('keys and cookie options are checked too', () => {
    expect(thrownError(() => checkStoreOptions({ name: 'shop' })).message).toMatch(/keys must be an object/)
    expect(thrownError(() => checkStoreOptions({ name: 'shop', keys: {}, cookie: { budget: -1 } })).code).toBe('INVALID_OPTIONS')
  })

  test('openTimeout defaults to 5000 ms; anything but a positive finite number is INVALID_OPTIONS', () => {
    expect(checkStoreOptions({ name: 'shop', keys: {} }).openTimeout).toBe(5000)
    expect(checkStoreOptions({ name: 'shop', keys: {}, openTimeout: 250 }).openTimeout).toBe(250)
    for (const openTimeout of [0, -1, Number.NaN, Infinity, '100']) {
      expect(thrownError(() => checkStoreOptions({ name: 'shop', keys: {}, openTimeout })).message).toMatch(/openTimeout/)
    }
  })

  test('cookieHeader (server rendering) makes a store of one request: its cookies, read-only, and nothing of the browser', () => {
    const config = checkStoreOptions({ name: 'shop', keys: {}, cookieHeader: 'shop_theme=dark; other=1', backends: { indexedDB: {} } })
    expect(config.request).toBe(true)
    expect(config.backends.cookies?.read()).toBe('shop_theme=dark; other=1')
    expect(() => config.backends.cookies?.write('shop_theme=light')).toThrow(expect.objectContaining({ code: 'STORAGE_UNAVAILABLE' }))
    expect(config.backends.indexedDB).toBeNull()
    expect(config.backends.sessionStorage).toBeNull()
    expect(checkStoreOptions({ name: 'shop', keys: {} }).request).toBe(false)
    for (const cookieHeader of [42, null, ['a=1']]) expect(thrownError(() => checkStoreOptions({ name: 'shop', keys: {}, cookieHeader })).message).toMatch(/cookieHeader/)
  })

  test('every name the store uses is derived from its name', () => {
    const { names } = checkStoreOptions({ name: 'shop', keys: {} })
    expect(names.db).toBe('visitstore-shop')
    expect(names.cookie('theme')).toBe('shop_theme')
    expect(names.cookie('$s')).toBe('shop_$s')
    expect(names.tab).toBe('visitstore:shop:')
    expect(names.lock('cookies')).toContain('shop')
  })
})

describe('checkCookieOptions', () => {
  const http = 'http://shop.example.com/cart'
  const https = 'https://shop.example.com/cart'
  const code = (cookie: object, href?: string) => {
    try {
      checkCookieOptions(cookie, href)
      return 'ok'
    } catch (err) {
      return (err as VisitStoreError).code
    }
  }

  test('defaults: a 2,048-byte budget, Path=/, SameSite=Lax, host-only, Secure exactly on https pages', () => {
    expect(DEFAULT_COOKIE_BUDGET).toBe(2048)
    expect(checkCookieOptions(undefined, http)).toEqual({ budget: 2048, path: '/', sameSite: 'Lax', secure: false })
    expect(checkCookieOptions({}, https)).toEqual({ budget: 2048, path: '/', sameSite: 'Lax', secure: true })
    expect(checkCookieOptions({ secure: false }, https).secure).toBe(false)
  })

  test.each([0, -1, 1.5, Number.NaN, Infinity, '100'])('budget %j is INVALID_OPTIONS', (budget) => {
    expect(thrownError(() => checkCookieOptions({ budget } as never, http)).message).toMatch(/cookie\.budget/)
  })

  test.each(['Strict', 'Lax'] as const)("sameSite '%s' is accepted on http and https", (sameSite) => {
    expect(checkCookieOptions({ sameSite }, http).sameSite).toBe(sameSite)
    expect(checkCookieOptions({ sameSite }, https).sameSite).toBe(sameSite)
  })

  test.each(['Relaxed', '', 'none!', 42])('sameSite %j is INVALID_OPTIONS, naming the three values', (sameSite) => {
    const err = thrownError(() => checkCookieOptions({ sameSite } as never, https))
    expect(err.code).toBe('INVALID_OPTIONS')
    expect(err.message).toMatch(/'Strict', 'Lax' or 'None'/)
  })

  test("sameSite 'None' needs Secure: accepted on https (Secure by default), refused on http and with secure: false", () => {
    expect(checkCookieOptions({ sameSite: 'None' }, https)).toMatchObject({ sameSite: 'None', secure: true })
    expect(thrownError(() => checkCookieOptions({ sameSite: 'None' }, http)).message).toMatch(/requires secure/)
    expect(code({ sameSite: 'None', secure: false }, https)).toBe('INVALID_OPTIONS')
  })

  test('secure: true on a plain-http page is refused: browsers drop Secure cookies there', () => {
    const err = thrownError(() => checkCookieOptions({ secure: true }, http))
    expect(err.code).toBe('INVALID_OPTIONS')
    expect(err.message).toMatch(/https/)
  })

  test.each(['http://localhost:8080/', 'http://127.0.0.1/', 'http://[::1]:3000/'])('secure: true is allowed on %s (a secure context on http)', (href) => {
    expect(checkCookieOptions({ secure: true }, href).secure).toBe(true)
  })

  test.each(['example.com', '.example.com', 'shop.example.com', 'EXAMPLE.COM', 'Shop.Example.com'])('domain %j matches the page host shop.example.com', (domain) => {
    expect(checkCookieOptions({ domain }, https).domain).toBe(domain)
  })

  test.each(['other.com', 'ample.com', 'sub.shop.example.com', 'example.co', 'shop.example.com.evil'])('domain %j does not match shop.example.com: INVALID_OPTIONS', (domain) => {
    const err = thrownError(() => checkCookieOptions({ domain }, https))
    expect(err.code).toBe('INVALID_OPTIONS')
    expect(err.message).toContain(domain)
    expect(err.message).toContain('shop.example.com')
  })

  test('without a page URL (server-side rendering) nothing page-dependent is refused', () => {
    expect(checkCookieOptions({ domain: 'example.com', secure: true, sameSite: 'None' })).toMatchObject({ domain: 'example.com', secure: true })
  })

  test('attributes inherited from a polluted Object.prototype are ignored, in what is read and in the config made', () => {
    Object.assign(Object.prototype, { domain: 'evil.example', secure: true })
    const config = checkCookieOptions({}, http)
    expect(config).toEqual({ budget: 2048, path: '/', sameSite: 'Lax', secure: false })
    // The cookie tier writes a Domain attribute when the config has one.
    expect(config.domain).toBeUndefined()
  })
})

describe('checkSessionOptions', () => {
  const message = (options: unknown) => {
    const err = thrownError(() => checkSessionOptions(options))
    expect(err.code).toBe('INVALID_OPTIONS')
    return err.message
  }

  test('each of the four sources alone is accepted, with the other options kept', () => {
    const read = async () => ({ tag: null })
    expect(checkSessionOptions({ endpoint: '/session', keepOnLogin: true, timeout: 2000 })).toMatchObject({ endpoint: '/session', keepOnLogin: true, timeout: 2000 })
    expect(checkSessionOptions({ cookie: 'PHPSESSID' })).toMatchObject({ cookie: 'PHPSESSID' })
    expect(checkSessionOptions({ header: 'X-Session-Tag' })).toMatchObject({ header: 'X-Session-Tag' })
    expect(checkSessionOptions({ read })).toMatchObject({ read })
  })

  test.each([undefined, null, '/session'])('%j is not an options object', (options) => {
    expect(message(options)).toMatch(/sessionSync\(\{ endpoint: '\/session' \}\)/)
  })

  test.each([{}, { endpoint: '/a', header: 'X-Tag' }, { cookie: 'sid', read: async () => null }])('%j does not give exactly one source', (options) => {
    expect(message(options)).toMatch(/exactly one source/)
  })

  test.each([{ endpoint: '' }, { endpoint: 42 }, { header: '' }, { cookie: null }, { read: '/session' }])('%j has a source of the wrong type', (options) => {
    expect(message(options)).toMatch(/non-empty string|a function|exactly one source/)
  })

  test.each(['JSESSIONID', 'jsessionid', 'connect.sid', 'ASP.NET_SessionId', '.AspNetCore.Session', 'laravel_session', '_session_id'])(
    'the %s cookie is HttpOnly by default on its server: refused, pointing to the endpoint and header sources', (cookie) => {
      const text = message({ cookie })
      expect(text).toContain(cookie)
      expect(text).toMatch(/HttpOnly/)
      expect(text).toMatch(/scripts cannot read it/)
      expect(text).toMatch(/sessionSync\(\{ endpoint/)
      expect(text).toMatch(/sessionSync\(\{ header/)
    })

  test.each([
    ['interval', -1], ['interval', Number.NaN], ['interval', Infinity], ['interval', '60000'],
    ['expiringBefore', -5], ['timeout', 0], ['timeout', -1], ['timeout', Number.NaN],
  ])('%s %j is refused', (name, value) => {
    expect(message({ endpoint: '/session', [name]: value })).toContain(name)
  })

  test('interval 0 (off) and expiringBefore 0 are allowed', () => {
    expect(checkSessionOptions({ endpoint: '/session', interval: 0, expiringBefore: 0 })).toMatchObject({ interval: 0, expiringBefore: 0 })
  })

  test('a source inherited from a polluted Object.prototype does not count', () => {
    Object.assign(Object.prototype, { endpoint: '/evil' })
    expect(checkSessionOptions({ cookie: 'PHPSESSID' })).toMatchObject({ cookie: 'PHPSESSID' })
  })
})
