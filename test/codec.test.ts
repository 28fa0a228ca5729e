import Cookies from 'js-cookie'
import { afterEach, describe, expect, test } from 'vitest'
import { assertJsonSafe, base64url, decodeCookieValue, decodeTabValue, encodeCookieName, encodeCookieValue, encodeTabValue } from '../src/codec.js'
import { VisitStoreError } from '../src/errors.js'
import { clearAllCookies, interceptCookieWrites } from './fixtures/page-storage.js'

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(VisitStoreError)
    return (err as VisitStoreError).code
  }
  return undefined
}

function roundTrip(value: unknown): unknown {
  const decoded = decodeCookieValue(encodeCookieValue(value, 'k'))
  if (!decoded.ok) throw new Error(`did not decode: ${decoded.reason}`)
  return decoded.value
}


// RFC 6265 §4.1.1 cookie-octet: what a server can parse without quoting rules.
const COOKIE_OCTETS = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/

describe('assertJsonSafe', () => {
  class Point { constructor(public x = 1) {} }
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic.self = cyclic
  const cyclicArray: unknown[] = []
  cyclicArray.push([cyclicArray])

  test.each([
    ['a string', 'dark'],
    ['an empty string', ''],
    ['a finite number', -12.5],
    ['a boolean', false],
    ['null', null],
    ['nested plain objects and arrays', { a: [1, 'two', { b: null, c: [true] }], d: {} }],
    ['the same object twice (not a cycle)', (() => { const shared = { n: 1 }; return { a: shared, b: [shared, shared] } })()],
  ])('accepts %s', (_what, value) => {
    expect(() => assertJsonSafe(value, 'k')).not.toThrow()
  })

  test('accepts a null-prototype object (what Object.create(null) dictionaries are)', () => {
    const dict = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: 'x' })
    expect(() => assertJsonSafe({ dict }, 'k')).not.toThrow()
  })

  test.each([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['NaN inside an array', [1, NaN]],
    ['undefined', undefined],
    ['an undefined member', { a: 1, b: undefined }],
    ['an undefined array element', [1, undefined]],
    ['a Date', new Date(0)],
    ['a Map', new Map([['a', 1]])],
    ['a Set', new Set([1])],
    ['a class instance', new Point()],
    ['a nested class instance', { p: new Point() }],
    ['a boxed string', Object('x')],
    ['a cycle', cyclic],
    ['a cycle through arrays', cyclicArray],
    ['a BigInt', 10n],
    ['a function', () => 1],
    ['a function member', { f: () => 1 }],
    ['a symbol', Symbol('s')],
  ])('rejects %s with NOT_SERIALIZABLE', (_what, value) => {
    expect(codeOf(() => assertJsonSafe(value, 'k'))).toBe('NOT_SERIALIZABLE')
  })

  test('rejects an array with holes, which JSON would turn into nulls', () => {
    // eslint-disable-next-line no-sparse-arrays
    const sparse = [1, , 3]
    expect(JSON.parse(JSON.stringify(sparse))).not.toEqual(sparse)
    expect(codeOf(() => assertJsonSafe(sparse, 'k'))).toBe('NOT_SERIALIZABLE')
  })

  test('names the key and says what to store instead', () => {
    try {
      assertJsonSafe({ when: new Date(0) }, 'lastVisit')
      expect.unreachable()
    } catch (err) {
      expect((err as Error).message).toContain('set("lastVisit")')
      expect((err as Error).message).toContain('Date')
      expect((err as Error).message).toMatch(/plain objects/)
    }
  })
})

describe('encodeCookieValue / decodeCookieValue', () => {
  const strings = ['dark', 'a b', 'semi;colon', 'com,ma', 'eq=uals', 'quo"te', 'back\\slash', '100%', '%41', 'emoji 😀👍🏽',
    'ünïcödé 日本', '', ' leading and trailing ', 'tab\there', 'new\nline', 'Infinity', 'NaN', 'undefined', '{not json', "it's"]
  test.each(strings)('round-trips the string %j exactly', (s) => {
    expect(roundTrip(s)).toBe(s)
  })

  test.each(['42', '-1.5e3', 'true', 'false', 'null', '"x"', '[1,2]', '{"a":1}', ' 7 ', '""'])(
    'round-trips the JSON-lookalike string %j as a string', (s) => {
      expect(roundTrip(s)).toBe(s)
    })

  test.each(strings)('writes %j so that URL-decoding gives the string back exactly', (s) => {
    expect(decodeURIComponent(encodeCookieValue(s, 'k'))).toBe(s)
  })

  test('writes a plain word as itself, so the server reads it without decoding', () => {
    expect(encodeCookieValue('dark', 'theme')).toBe('dark')
  })

  test.each([0, 42, -1.5, 1e21, true, false, null, { a: [1, 'b;c'], n: null }, [1, 'two', [3]], {}, []])(
    'round-trips %j', (value) => {
      expect(roundTrip(value)).toEqual(value)
    })

  test('writes non-string values as JSON the server can parse', () => {
    expect(JSON.parse(decodeURIComponent(encodeCookieValue({ a: [1, 'x y'] }, 'k')))).toEqual({ a: [1, 'x y'] })
    expect(decodeURIComponent(encodeCookieValue(42, 'k'))).toBe('42')
  })

  test('round-trips a null-prototype object as plain data', () => {
    const dict = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 })
    expect(roundTrip(dict)).toEqual({ a: 1 })
  })

  test.each([...strings, '42', '"x"', { a: 'x;y, "z"\\' }, [1, 'é']])('encodes %j using only cookie-safe characters', (value) => {
    expect(encodeCookieValue(value, 'k')).toMatch(COOKIE_OCTETS)
  })

  test('rejects a lone surrogate with NOT_SERIALIZABLE, keeping the URIError as cause', () => {
    for (const s of ['\ud800', 'a\udc00b', '😀'.slice(0, 1)]) {
      try {
        encodeCookieValue(s, 'name')
        expect.unreachable()
      } catch (err) {
        expect((err as VisitStoreError).code).toBe('NOT_SERIALIZABLE')
        expect((err as VisitStoreError).cause).toBeInstanceOf(URIError)
      }
    }
  })

  test('round-trips a lone surrogate inside an object (JSON escapes it)', () => {
    expect(roundTrip({ half: '\ud800' })).toEqual({ half: '\ud800' })
  })

  test('rejects what JSON cannot carry with NOT_SERIALIZABLE', () => {
    expect(codeOf(() => encodeCookieValue(NaN, 'k'))).toBe('NOT_SERIALIZABLE')
    expect(codeOf(() => encodeCookieValue({ d: new Date() }, 'k'))).toBe('NOT_SERIALIZABLE')
  })

  test.each(['%', '%E0%A4%A', '%zz', 'abc%'])('reports malformed percent-encoding %j as ok: false', (raw) => {
    const decoded = decodeCookieValue(raw)
    expect(decoded.ok).toBe(false)
    if (!decoded.ok) expect(decoded.reason).toMatch(/URL encoding/)
  })

  test('reads a hand-written plain cookie value as a string', () => {
    expect(decodeCookieValue('hello')).toEqual({ ok: true, value: 'hello' })
  })
})

describe('encodeCookieName', () => {
  afterEach(clearAllCookies)

  const names = ['shop_theme', 'shop_draft:1', 'a b', 'x;y', 'e=mc2', 'comma,name', 'quote"d', 'back\\slash', 'pct%', '(paren)',
    '#$&+^`|', 'é', '日本', 'emoji😀', '[]{}', '!*\'~._-']

  test.each(names)('matches what js-cookie writes to document.cookie for %j', (name) => {
    const written: string[] = []
    const restore = interceptCookieWrites((line) => written.push(line) > 0)
    try {
      Cookies.set(name, 'v')
    } finally {
      restore()
    }
    expect(written).toHaveLength(1)
    expect(written[0]?.startsWith(`${encodeCookieName(name)}=v;`)).toBe(true)
    expect(document.cookie.split('; ')).toContain(`${encodeCookieName(name)}=v`)
    expect(Cookies.get(name)).toBe('v')
  })

  test('leaves plain names unchanged', () => {
    expect(encodeCookieName('shop_theme')).toBe('shop_theme')
  })
})

describe('the byte count of a cookie', () => {
  // The budget and the 4,096-byte limit count name+value as the browser stores and sends them:
  // encoded names and values are ASCII, so their string length is their size in bytes.
  test('encoded names and values are ASCII, so their length is the UTF-8 size that is sent', () => {
    const name = encodeCookieName('shop_é')
    const value = encodeCookieValue('日本 😀', 'k')
    expect(name.length + value.length).toBe(new TextEncoder().encode(name + value).length)
    expect(name.length + value.length).toBe('shop_%C3%A9'.length + '%E6%97%A5%E6%9C%AC%20%F0%9F%98%80'.length)
  })

  test.each(['dark', 'ünïcödé 日本', 'emoji 😀👍🏽', { a: ['é', 1] }])('the encoding of %j has no character above U+007F', (value) => {
    expect([...encodeCookieValue(value, 'k')].every((c) => c.charCodeAt(0) < 0x80)).toBe(true)
  })
})

describe('encodeTabValue / decodeTabValue', () => {
  test('writes JSON that parses back to the value, strings included', () => {
    for (const value of ['42', 'text', 7, null, { a: [1, { b: 'c' }] }]) {
      expect(JSON.parse(encodeTabValue(value, 'k'))).toEqual(value)
      expect(decodeTabValue(encodeTabValue(value, 'k'))).toEqual({ ok: true, value })
    }
  })

  test('rejects what JSON would change with NOT_SERIALIZABLE', () => {
    expect(codeOf(() => encodeTabValue({ m: new Map() }, 'k'))).toBe('NOT_SERIALIZABLE')
    expect(codeOf(() => encodeTabValue(Infinity, 'k'))).toBe('NOT_SERIALIZABLE')
  })

  test('an item that is not JSON (edited by hand) is reported as ok: false with a reason, never thrown', () => {
    const decoded = decodeTabValue('{oops')
    expect(decoded.ok).toBe(false)
    if (!decoded.ok) expect(decoded.reason).toMatch(/sessionStorage item is not JSON/)
  })
})

describe('cookie value types', () => {
  test("'string' writes every string as itself, even one that looks like JSON, and reads it back as a string", () => {
    for (const value of ['10001', 'true', 'null', '{"a":1}', '"q"', 'plain', '']) {
      const encoded = encodeCookieValue(value, 'k', 'string')
      expect(decodeURIComponent(encoded)).toBe(value)
      expect(decodeCookieValue(encoded, 'string')).toEqual({ ok: true, value })
    }
  })

  test("'string' refuses a non-string with INVALID_VALUE", () => {
    expect(() => encodeCookieValue(42, 'k', 'string')).toThrow(expect.objectContaining({ code: 'INVALID_VALUE' }))
  })

  test("'json' writes strings JSON-quoted and refuses a non-JSON cookie on read", () => {
    expect(decodeURIComponent(encodeCookieValue('dark', 'k', 'json'))).toBe('"dark"')
    expect(decodeCookieValue(encodeCookieValue({ a: [1] }, 'k', 'json'), 'json')).toEqual({ ok: true, value: { a: [1] } })
    expect(decodeCookieValue('dark', 'json')).toMatchObject({ ok: false })
  })
})

describe('base64url (session tags, on both sides)', () => {
  const bytes = (text: string) => new TextEncoder().encode(text).buffer as ArrayBuffer

  // RFC 4648 §10 test vectors, in the URL-safe alphabet without padding (§5).
  test.each([['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy']])(
    'encodes %j as %j', (text, encoded) => {
      expect(base64url(bytes(text))).toBe(encoded)
    })

  test("uses '-' and '_' instead of '+' and '/', and no '=' padding", () => {
    const all = new Uint8Array([0xfb, 0xff, 0xbf, 0xfe])
    expect(base64url(all.buffer)).toBe('-_-__g')
    expect(Buffer.from(base64url(all.buffer), 'base64url')).toEqual(Buffer.from(all))
  })

  test('a 32-byte digest (an HMAC-SHA-256 tag) is 43 URL-safe characters', () => {
    const digest = new Uint8Array(32).map((_, i) => i * 8)
    expect(base64url(digest.buffer)).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
})
