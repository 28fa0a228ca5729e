import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import type { KeySpec } from '../../src/placement.js'
import { clearAllCookies, interceptCookieWrites, thrownError } from '../fixtures/page-storage.js'
import { COOKIE_LIMIT, createCookieTier, DEFAULT_COOKIE_BUDGET, type CookieWrite } from '../../src/tiers/cookie.js'

const persistent: KeySpec = { declared: 'theme', lifetime: 'persistent', home: 'cookie', maxAge: 3600 }
const session: KeySpec = { declared: 'locale', lifetime: 'session', home: 'cookie' }
const w = (key: string, encoded: string, spec: KeySpec = session): CookieWrite => ({ key, encoded, spec })

let stopRecording = () => {}

/** Records every string assigned to document.cookie; `drop` simulates a browser that silently refuses some. */
function recordCookieWrites(drop: (header: string) => boolean = () => false): string[] {
  const written: string[] = []
  stopRecording = interceptCookieWrites((header) => {
    written.push(header)
    return !drop(header)
  })
  return written
}

function cookieMap(): Map<string, string> {
  return new Map(document.cookie.split('; ').filter(Boolean).map((pair) => {
    const i = pair.indexOf('=')
    return [pair.slice(0, i), pair.slice(i + 1)] as const
  }))
}

beforeEach(clearAllCookies)
afterEach(() => {
  stopRecording()
  vi.restoreAllMocks()
})

describe('reading and writing', () => {
  test('writes cookies named prefix + key and reads them back raw', () => {
    const tier = createCookieTier('shop_')
    expect(tier.available).toBe(true)
    tier.write([w('theme', 'dark', persistent)])
    expect(cookieMap().get('shop_theme')).toBe('dark')
    expect(tier.read('theme')).toBe('dark')
  })

  test('returns the value exactly as encoded, without decoding it again', () => {
    const tier = createCookieTier('shop_')
    tier.write([w('note', '100%25%20sure'), w('q', '%22true%22')])
    expect(tier.read('note')).toBe('100%25%20sure')
    expect(tier.read('q')).toBe('%22true%22')
  })

  test('read of a missing key is undefined', () => {
    expect(createCookieTier('shop_').read('nothing')).toBeUndefined()
  })

  test('a write replaces the previous value', () => {
    const tier = createCookieTier('shop_')
    tier.write([w('theme', 'dark', persistent)])
    tier.write([w('theme', 'light', persistent)])
    expect(tier.read('theme')).toBe('light')
    expect(document.cookie.match(/shop_theme=/g)).toHaveLength(1)
  })

  test('keys lists only the store\'s cookies, without the prefix', () => {
    document.cookie = 'shopping=1; Path=/'
    document.cookie = 'other_theme=1; Path=/'
    document.cookie = 'session_id=abc; Path=/'
    const tier = createCookieTier('shop_')
    tier.write([w('theme', 'dark', persistent), w('draft:1', 'x')])
    expect(tier.keys().sort()).toEqual(['draft:1', 'theme'])
  })

  test('a key needing encoding in the cookie name reads back under its own name', () => {
    const tier = createCookieTier('shop_')
    tier.write([w('a b;c', 'v')])
    expect(tier.read('a b;c')).toBe('v')
    expect(tier.keys()).toEqual(['a b;c'])
    expect(cookieMap().get('shop_a%20b%3Bc')).toBe('v')
  })

  test('remove deletes only the given keys of the store; other cookies are untouched', () => {
    document.cookie = 'theme=foreign; Path=/'
    document.cookie = 'other_theme=foreign; Path=/'
    const tier = createCookieTier('shop_')
    tier.write([w('theme', 'dark', persistent), w('locale', 'fr')])
    tier.remove(['theme', 'never-written'])
    expect(tier.read('theme')).toBeUndefined()
    expect(tier.read('locale')).toBe('fr')
    expect(cookieMap().get('theme')).toBe('foreign')
    expect(cookieMap().get('other_theme')).toBe('foreign')
    expect(cookieMap().has('shop_theme')).toBe(false)
  })

  test('writing leaves cookies of other owners untouched', () => {
    document.cookie = 'PHPSESSID=abc123; Path=/'
    document.cookie = 'shopx=1; Path=/'
    createCookieTier('shop_').write([w('theme', 'dark', persistent)])
    expect(cookieMap().get('PHPSESSID')).toBe('abc123')
    expect(cookieMap().get('shopx')).toBe('1')
  })
})

describe('per-cookie limit', () => {
  // 'shop_big' is 8 bytes, so a value of 4088 bytes makes exactly 4096 bytes of name+value.
  test('accepts exactly 4096 bytes of encoded name+value', () => {
    const tier = createCookieTier('shop_', { budget: 10_000 })
    const value = 'x'.repeat(COOKIE_LIMIT - 'shop_big'.length)
    tier.write([w('big', value)])
    expect(tier.read('big')).toBe(value)
  })

  test('refuses 4097 bytes with COOKIE_TOO_LARGE before writing anything; the old cookie is intact', () => {
    const tier = createCookieTier('shop_', { budget: 10_000 })
    tier.write([w('big', 'small')])
    const written = recordCookieWrites()
    const err = thrownError(() => tier.write([w('big', 'x'.repeat(COOKIE_LIMIT - 'shop_big'.length + 1))]))
    expect(err.code).toBe('COOKIE_TOO_LARGE')
    expect(err.message).toContain('4097 bytes')
    expect(err.message).toContain('set("big")')
    expect(written).toEqual([])
    expect(tier.read('big')).toBe('small')
  })

  test('counts the name as encoded: a name needing percent-encoding takes more bytes', () => {
    const tier = createCookieTier('shop_', { budget: 10_000 })
    // 'shop_é' is encoded as 'shop_%C3%A9' (11 bytes), not 6.
    const err = thrownError(() => tier.write([w('é', 'x'.repeat(COOKIE_LIMIT - 10))]))
    expect(err.code).toBe('COOKIE_TOO_LARGE')
    tier.write([w('é', 'x'.repeat(COOKIE_LIMIT - 11))])
    expect(tier.read('é')).toHaveLength(COOKIE_LIMIT - 11)
  })

  test('over 4096 bytes is COOKIE_TOO_LARGE whatever the budget', () => {
    const tier = createCookieTier('shop_')
    expect(thrownError(() => tier.write([w('big', 'x'.repeat(5000))])).code).toBe('COOKIE_TOO_LARGE')
  })

  test('a batch with one oversized cookie writes none of it', () => {
    const tier = createCookieTier('shop_', { budget: 20_000 })
    tier.write([w('a', 'old')])
    const written = recordCookieWrites()
    expect(thrownError(() => tier.write([w('a', 'new'), w('big', 'x'.repeat(5000))])).code).toBe('COOKIE_TOO_LARGE')
    expect(written).toEqual([])
    expect(tier.read('a')).toBe('old')
    expect(tier.read('big')).toBeUndefined()
  })
})

describe('budget', () => {
  test('defaults to 2048 bytes', () => {
    expect(DEFAULT_COOKIE_BUDGET).toBe(2048)
    const tier = createCookieTier('shop_')
    tier.write([w('a', 'x'.repeat(DEFAULT_COOKIE_BUDGET - 'shop_a'.length))])
    expect(thrownError(() => tier.write([w('b', '1')])).code).toBe('COOKIE_BUDGET_EXCEEDED')
  })

  test('counts all of the store\'s cookies, including ones already there', () => {
    const tier = createCookieTier('shop_', { budget: 40 })
    tier.write([w('a', 'x'.repeat(20))]) // shop_a + 20 = 26 bytes
    const written = recordCookieWrites()
    const err = thrownError(() => tier.write([w('b', 'y'.repeat(15))])) // + 21 = 47
    expect(err.code).toBe('COOKIE_BUDGET_EXCEEDED')
    expect(err.message).toContain('47 bytes')
    expect(err.message).toContain('budget of 40')
    expect(written).toEqual([])
    expect(tier.read('b')).toBeUndefined()
    expect(tier.read('a')).toBe('x'.repeat(20))
  })

  test('counts cookies of the store written by another tier instance (another tab, the session marker)', () => {
    createCookieTier('shop_', { budget: 40 }).write([w('$s', 'abcdefghijkl')]) // shop_$s + 12 = 19 bytes
    const tier = createCookieTier('shop_', { budget: 40 })
    expect(thrownError(() => tier.write([w('a', 'x'.repeat(16))])).code).toBe('COOKIE_BUDGET_EXCEEDED') // + 22 = 41
    tier.write([w('a', 'x'.repeat(15))]) // 40 exactly
    expect(tier.read('a')).toBe('x'.repeat(15))
  })

  test('a rewrite counts the new size of that cookie, not old + new', () => {
    const tier = createCookieTier('shop_', { budget: 40 })
    tier.write([w('a', 'x'.repeat(30))])
    tier.write([w('a', 'y'.repeat(34))]) // 40 exactly
    expect(tier.read('a')).toBe('y'.repeat(34))
  })

  test('does not count cookies the store does not own', () => {
    document.cookie = `analytics=${'z'.repeat(500)}; Path=/`
    document.cookie = `shopping=${'z'.repeat(500)}; Path=/`
    const tier = createCookieTier('shop_', { budget: 40 })
    tier.write([w('a', 'x'.repeat(34))])
    expect(tier.read('a')).toBe('x'.repeat(34))
  })

  test('a batch over budget is all-or-nothing: no cookie of it is written', () => {
    const tier = createCookieTier('shop_', { budget: 40 })
    tier.write([w('a', 'old')])
    const written = recordCookieWrites()
    expect(thrownError(() => tier.write([w('a', 'new'), w('b', 'x'.repeat(20)), w('c', 'x'.repeat(20))])).code).toBe('COOKIE_BUDGET_EXCEEDED')
    expect(written).toEqual([])
    expect(tier.read('a')).toBe('old')
    expect(tier.keys()).toEqual(['a'])
  })

  test('a removed cookie frees its share of the budget', () => {
    const tier = createCookieTier('shop_', { budget: 40 })
    tier.write([w('a', 'x'.repeat(30))])
    expect(thrownError(() => tier.write([w('b', 'x'.repeat(10))])).code).toBe('COOKIE_BUDGET_EXCEEDED')
    tier.remove(['a'])
    tier.write([w('b', 'x'.repeat(10))])
    expect(tier.read('b')).toBe('x'.repeat(10))
  })

  test.each([0, -1, 1.5, NaN, Infinity])('refuses budget %s with INVALID_OPTIONS', (budget) => {
    expect(thrownError(() => createCookieTier('shop_', { budget })).code).toBe('INVALID_OPTIONS')
  })

  test('refuses a non-number budget with INVALID_OPTIONS', () => {
    expect(thrownError(() => createCookieTier('shop_', { budget: '2048' as unknown as number })).code).toBe('INVALID_OPTIONS')
  })
})

describe('attributes', () => {
  const attributes = (header: string | undefined) => (header ?? '').split(';').slice(1).map((a) => a.trim())
  const hasAttr = (header: string | undefined, name: string) =>
    attributes(header).some((a) => a.toLowerCase() === name.toLowerCase() || a.toLowerCase().startsWith(`${name.toLowerCase()}=`))
  const attr = (header: string | undefined, name: string) =>
    attributes(header).find((a) => a.toLowerCase().startsWith(`${name.toLowerCase()}=`))?.split('=')[1]

  test('a persistent cookie gets Path=/, SameSite=Lax and its Max-Age', () => {
    const written = recordCookieWrites()
    createCookieTier('shop_').write([w('theme', 'dark', persistent)])
    expect(written[0]?.startsWith('shop_theme=dark;')).toBe(true)
    expect(attr(written[0], 'path')).toBe('/')
    expect(attr(written[0], 'samesite')).toBe('Lax')
    expect(attr(written[0], 'max-age')).toBe('3600')
    expect(hasAttr(written[0], 'expires')).toBe(false)
  })

  test('a session cookie has neither Max-Age nor Expires', () => {
    const written = recordCookieWrites()
    createCookieTier('shop_').write([w('locale', 'fr', session)])
    expect(hasAttr(written[0], 'max-age')).toBe(false)
    expect(hasAttr(written[0], 'expires')).toBe(false)
    expect(attr(written[0], 'samesite')).toBe('Lax')
    expect(attr(written[0], 'path')).toBe('/')
  })

  test('no Secure on an http page by default', () => {
    expect(location.protocol).toBe('http:')
    const written = recordCookieWrites()
    createCookieTier('shop_').write([w('locale', 'fr')])
    expect(hasAttr(written[0], 'secure')).toBe(false)
  })

  test('Secure when secure: true', () => {
    const written = recordCookieWrites()
    createCookieTier('shop_', { secure: true }).write([w('locale', 'fr')])
    expect(hasAttr(written[0], 'secure')).toBe(true)
  })

  test('Secure by default on an https page', () => {
    const happyDOM = (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM
    const before = location.href
    happyDOM.setURL('https://localhost:3000/')
    try {
      const written = recordCookieWrites()
      createCookieTier('shop_').write([w('locale', 'fr')])
      expect(hasAttr(written[0], 'secure')).toBe(true)
    } finally {
      stopRecording()
      clearAllCookies()
      happyDOM.setURL(before)
    }
  })

  test('sameSite and path options are written as given', () => {
    const happyDOM = (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM
    const before = location.href
    happyDOM.setURL('http://localhost:3000/app/cart')
    try {
      const written = recordCookieWrites()
      const tier = createCookieTier('shop_', { sameSite: 'Strict', path: '/app' })
      tier.write([w('locale', 'fr')])
      expect(attr(written[0], 'samesite')).toBe('Strict')
      expect(attr(written[0], 'path')).toBe('/app')
      tier.remove(['locale'])
      expect(attr(written[1], 'path')).toBe('/app')
      expect(tier.read('locale')).toBeUndefined()
    } finally {
      stopRecording()
      happyDOM.setURL(before)
    }
  })

  test("sameSite 'None' is written with Secure when secure: true", () => {
    const written = recordCookieWrites()
    createCookieTier('shop_', { sameSite: 'None', secure: true }).write([w('locale', 'fr')])
    expect(attr(written[0], 'samesite')).toBe('None')
    expect(hasAttr(written[0], 'secure')).toBe(true)
  })

  test("sameSite 'None' without secure is INVALID_OPTIONS", () => {
    const err = thrownError(() => createCookieTier('shop_', { sameSite: 'None' }))
    expect(err.code).toBe('INVALID_OPTIONS')
    expect(err.message).toMatch(/secure: true/)
  })

  test('remove expires the cookie on the same path it was written with', () => {
    const tier = createCookieTier('shop_')
    tier.write([w('theme', 'dark', persistent)])
    const written = recordCookieWrites()
    tier.remove(['theme'])
    expect(written).toHaveLength(1)
    expect(attr(written[0], 'path')).toBe('/')
    const expires = attr(written[0], 'expires')
    expect(expires).toBeDefined()
    expect(new Date(expires as string).getTime()).toBeLessThan(Date.now())
  })
})

describe('when the browser drops a cookie', () => {
  test('a batch whose cookie the browser silently refused is undone: STORAGE_UNAVAILABLE, previous values back', () => {
    const tier = createCookieTier('shop_')
    tier.write([w('a', 'old-a'), w('b', 'old-b')])
    recordCookieWrites((header) => header.startsWith('shop_c=new'))
    const err = thrownError(() => tier.write([w('a', 'new-a'), w('b', 'new-b'), w('c', 'new-c')]))
    expect(err.code).toBe('STORAGE_UNAVAILABLE')
    expect(err.message).toContain('set("c")')
    stopRecording()
    expect(tier.read('a')).toBe('old-a')
    expect(tier.read('b')).toBe('old-b')
    expect(tier.read('c')).toBeUndefined()
  })

  test('with cookies disabled the tier is unavailable: writes throw STORAGE_UNAVAILABLE, reads see nothing', () => {
    document.cookie = 'shop_theme=dark; Path=/'
    vi.spyOn(navigator, 'cookieEnabled', 'get').mockReturnValue(false)
    const tier = createCookieTier('shop_')
    expect(tier.available).toBe(false)
    expect(tier.read('theme')).toBeUndefined()
    expect(tier.keys()).toEqual([])
    expect(thrownError(() => tier.write([w('theme', 'light', persistent)])).code).toBe('STORAGE_UNAVAILABLE')
    tier.remove(['theme'])
    expect(cookieMap().get('shop_theme')).toBe('dark')
  })
})

describe('cookie read cache', () => {
  test('parseCookieString reads names and values as js-cookie does', async () => {
    const { parseCookieString } = await import('../../src/tiers/cookie.js')
    expect([...parseCookieString('a=1; b%3Ac=x=y; a=2; %E0=bad; e')]).toEqual([['a', '1'], ['b:c', 'x=y'], ['e', '']])
    expect(parseCookieString('').size).toBe(0)
  })

  test('a change made outside the tier is seen on the next read', () => {
    const tier = createCookieTier('cache_')
    tier.write([{ key: 'k', encoded: 'one', spec: { declared: 'k', lifetime: 'session', home: 'cookie' } }])
    expect(tier.read('k')).toBe('one')
    document.cookie = 'cache_k=two; Path=/'
    expect(tier.read('k')).toBe('two')
    document.cookie = 'cache_k=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT'
    expect(tier.read('k')).toBeUndefined()
  })
})
