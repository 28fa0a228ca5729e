import { describe, expect, test } from 'vitest'
import { declaredAs, familyPrefix, keyTable, type KeySpec } from '../src/keys.js'
import { thrownError } from './fixtures/page-storage.js'

const spec = (declared: string, rest: Partial<KeySpec> = {}): KeySpec => ({ declared, lifetime: 'persistent', tier: 'indexeddb', ...rest })

describe('keyTable: exact keys', () => {
  const table = keyTable([spec('theme', { tier: 'cookie' }), spec('cart', { lifetime: 'session' }), spec('scroll', { lifetime: 'tab', tier: 'sessionStorage' })])

  test('resolves a declared key to its spec', () => {
    expect(table.resolve('theme')).toMatchObject({ declared: 'theme', tier: 'cookie' })
    expect(table.resolve('cart')).toMatchObject({ declared: 'cart', lifetime: 'session' })
  })

  test('find tells declared keys from undeclared ones without throwing', () => {
    expect(table.find('cart')?.declared).toBe('cart')
    expect(table.find('carts')).toBeUndefined()
    expect(table.find('')).toBeUndefined()
  })

  test('lists every declared spec', () => {
    expect(table.specs.map((s) => s.declared).sort()).toEqual(['cart', 'scroll', 'theme'])
  })

  test('does not treat Object.prototype members as declared keys', () => {
    for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expect(table.find(key)).toBeUndefined()
  })
})

describe('keyTable: families', () => {
  const table = keyTable([
    spec('draft:*', { ttlMs: 60_000 }),
    spec('draft:shared:*', { tier: 'cookie' }),
    spec('draft:pinned', { lifetime: 'session' }),
    spec('flag*', { lifetime: 'tab', tier: 'sessionStorage' }),
  ])

  test('gives the family options to every key starting with its prefix', () => {
    expect(table.resolve('draft:1')).toMatchObject({ declared: 'draft:*', tier: 'indexeddb', ttlMs: 60_000 })
    expect(table.resolve('draft:a:b')).toMatchObject({ declared: 'draft:*' })
    expect(table.resolve('flagNew')).toMatchObject({ declared: 'flag*', tier: 'sessionStorage' })
  })

  test('the longest matching prefix wins, whatever the declaration order', () => {
    expect(table.resolve('draft:shared:7')).toMatchObject({ declared: 'draft:shared:*', tier: 'cookie' })
    const reversed = keyTable([...table.specs].reverse())
    expect(reversed.resolve('draft:shared:7')).toMatchObject({ declared: 'draft:shared:*' })
  })

  test('an exact declaration wins over a family', () => {
    expect(table.resolve('draft:pinned')).toMatchObject({ declared: 'draft:pinned', lifetime: 'session' })
  })

  test('a family does not match its bare prefix', () => {
    expect(table.find('draft:')).toBeUndefined()
    expect(thrownError(() => table.resolve('draft:')).code).toBe('UNKNOWN_KEY')
    // 'draft:shared:' is not a member of 'draft:shared:*', but it is a member of 'draft:*'.
    expect(table.resolve('draft:shared:')).toMatchObject({ declared: 'draft:*' })
  })

  test('a key that only shares part of the prefix is unknown', () => {
    expect(table.find('draft')).toBeUndefined()
    expect(table.find('drafts:1')).toBeUndefined()
  })

  test('familyPrefix gives a family its prefix, and nothing for an exact key', () => {
    expect(familyPrefix(spec('draft:*'))).toBe('draft:')
    expect(familyPrefix(spec('flag*'))).toBe('flag')
    expect(familyPrefix(spec('theme'))).toBeUndefined()
  })
})

describe('keyTable: unknown keys', () => {
  const table = keyTable([spec('theme', { tier: 'cookie' })])

  test('refuses an undeclared key with UNKNOWN_KEY, naming it and how to declare it', () => {
    const err = thrownError(() => table.resolve('draft:42'))
    expect(err.code).toBe('UNKNOWN_KEY')
    expect(err.message).toContain('"draft:42"')
    expect(err.message).toContain('"draft:*"')
    expect(err.message).toContain('createStore({ keys })')
  })

  test('refuses a non-string key with UNKNOWN_KEY', () => {
    expect(thrownError(() => table.resolve(42 as unknown as string)).code).toBe('UNKNOWN_KEY')
    expect(table.find(undefined as unknown as string)).toBeUndefined()
  })
})

describe('declaredAs', () => {
  const table = keyTable([spec('theme', { tier: 'cookie' }), spec('cart', { lifetime: 'session' }), spec('doc:*')])

  test('checks tier and lifetime where given, either where left out', () => {
    expect(declaredAs(table, 'theme')).toBe(true)
    expect(declaredAs(table, 'theme', 'cookie')).toBe(true)
    expect(declaredAs(table, 'theme', 'indexeddb')).toBe(false)
    expect(declaredAs(table, 'cart', 'indexeddb', 'session')).toBe(true)
    expect(declaredAs(table, 'cart', 'indexeddb', 'persistent')).toBe(false)
    expect(declaredAs(table, 'doc:1', undefined, 'persistent')).toBe(true)
  })

  test('an undeclared key (a cookie that merely shares the prefix) is never declared', () => {
    expect(declaredAs(table, 'csrf')).toBe(false)
    expect(declaredAs(table, 'csrf', 'cookie')).toBe(false)
  })
})
