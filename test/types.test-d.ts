import { describe, expectTypeOf, test } from 'vitest'
import { createStore, VisitStoreError, type ErrorCode, type KeysConfig, type Placement, type StoreStatus, type VisitStore } from '../src/index.js'
import { sessionSync, type SessionSync } from '../src/session.js'

interface Draft { title: string }
interface Schema {
  theme: 'light' | 'dark'
  cart: string[]
  scroll: number
  [k: `draft:${string}`]: Draft
}
const keys = {
  theme: { lifetime: 'persistent', serverVisible: true },
  cart: { lifetime: 'session' },
  scroll: { lifetime: 'tab' },
  'draft:*': { lifetime: 'persistent', ttl: 60 },
} as const

describe('the schema types every call', () => {
  const store = createStore<Schema>({ name: 'types', keys })

  test('get resolves to the key’s value type or undefined', () => {
    expectTypeOf(store.get('theme')).resolves.toEqualTypeOf<'light' | 'dark' | undefined>()
    expectTypeOf(store.get('draft:42')).resolves.toEqualTypeOf<Draft | undefined>()
    // @ts-expect-error an undeclared key is a compile error
    void store.get('nope')
  })

  test('set takes only the key’s value type', () => {
    void store.set('theme', 'dark')
    void store.set('draft:a', { title: 'x' })
    // @ts-expect-error wrong value type
    void store.set('theme', 'blue')
    // @ts-expect-error wrong value type for a family member
    void store.set('draft:a', { title: 1 })
    // @ts-expect-error a family member needs its prefix
    void store.set('drafts', { title: 'x' })
  })

  test('getMany / setMany / update / watch follow the schema', () => {
    expectTypeOf(store.getMany(['theme', 'cart'])).resolves.toEqualTypeOf<{ theme: 'light' | 'dark' | undefined, cart: string[] | undefined }>()
    void store.setMany({ theme: 'light', cart: [] })
    // @ts-expect-error unknown key in setMany
    void store.setMany({ colour: 'red' })
    // @ts-expect-error wrong type in setMany
    void store.setMany({ cart: 'a' })
    expectTypeOf(store.update('scroll', (n) => (n ?? 0) + 1)).resolves.toEqualTypeOf<number>()
    // @ts-expect-error update must return the key's type
    void store.update('scroll', () => 'x')
    store.watch('cart', (value, info) => {
      expectTypeOf(value).toEqualTypeOf<string[] | undefined>()
      expectTypeOf(info.source).toEqualTypeOf<'local' | 'remote'>()
    })
    expectTypeOf(store.placement('theme')).toEqualTypeOf<Placement>()
    expectTypeOf(store.keys('draft:')).resolves.toEqualTypeOf<('theme' | 'cart' | 'scroll' | `draft:${string}`)[]>()
  })

  test('the keys option must declare every schema key, families as "prefix*"', () => {
    // @ts-expect-error 'draft:*' is missing
    createStore<Schema>({ name: 'x', keys: { theme: keys.theme, cart: keys.cart, scroll: keys.scroll } })
    // @ts-expect-error a family is declared with its prefix and '*'
    createStore<Schema>({ name: 'x', keys: { ...keys, 'draft:': { lifetime: 'persistent' } } })
    // @ts-expect-error an impossible combination: a server-visible tab value
    createStore<Schema>({ name: 'x', keys: { ...keys, scroll: { lifetime: 'tab', serverVisible: true } } })
    expectTypeOf(keys).toMatchTypeOf<KeysConfig<Schema>>()
  })

  test('peek is typed for cookie and tab keys only, when the key options are known', () => {
    const typed: VisitStore<Schema, typeof keys> = createStore<Schema, typeof keys>({ name: 'peek', keys })
    expectTypeOf(typed.peek('theme')).toEqualTypeOf<'light' | 'dark' | undefined>()
    expectTypeOf(typed.peek('scroll')).toEqualTypeOf<number | undefined>()
    // @ts-expect-error cart lives in IndexedDB: no synchronous read
    typed.peek('cart')
    // @ts-expect-error a draft lives in IndexedDB
    typed.peek('draft:1')
  })
})

describe('options and results outside the schema', () => {
  test('session takes what sessionSync makes; a plain object is a compile error (and INVALID_OPTIONS at run time)', () => {
    expectTypeOf(sessionSync({ endpoint: '/session' })).toEqualTypeOf<SessionSync>()
    createStore<Schema>({ name: 'x', keys, session: sessionSync({ endpoint: '/session', keepOnLogin: true, timeout: 2000 }) })
    createStore<Schema>({ name: 'x', keys, session: sessionSync({ read: async () => ({ tag: null }) }) })
    // @ts-expect-error a plain object is not a session sync
    createStore<Schema>({ name: 'x', keys, session: { endpoint: '/session' } })
    // @ts-expect-error sessionSync needs a source
    sessionSync({ keepOnLogin: true })
  })

  test("a cookie value type is 'string' or 'json'; left out means the default (there is no 'auto')", () => {
    createStore<{ zip: string }>({ name: 'x', keys: { zip: { lifetime: 'persistent', serverVisible: true, type: 'string' } } })
    createStore<{ zip: string }>({ name: 'x', keys: { zip: { lifetime: 'persistent', serverVisible: true } } })
    // @ts-expect-error 'auto' is gone
    createStore<{ zip: string }>({ name: 'x', keys: { zip: { lifetime: 'persistent', serverVisible: true, type: 'auto' } } })
  })

  test('status names every field and its values', () => {
    const store = createStore<Schema>({ name: 'types', keys })
    expectTypeOf(store.status).toEqualTypeOf<StoreStatus>()
    expectTypeOf(store.status.indexeddb).toEqualTypeOf<'ok' | 'memory'>()
    expectTypeOf(store.status.cookies).toEqualTypeOf<'ok' | 'unavailable'>()
    expectTypeOf(store.status.sessionStorage).toEqualTypeOf<'ok' | 'memory'>()
    expectTypeOf(store.status.browserSession).toEqualTypeOf<'shared' | 'page'>()
    expectTypeOf(store.status.locks).toEqualTypeOf<'web-locks' | 'indexeddb' | 'none'>()
    expectTypeOf(store.status.session).toEqualTypeOf<'off' | 'ok' | 'failing' | 'unavailable'>()
  })

  test('errors carry a typed code, COOKIE_CONFLICT included', () => {
    expectTypeOf(new VisitStoreError('COOKIE_CONFLICT', 'm').code).toEqualTypeOf<ErrorCode>()
    // @ts-expect-error not a code
    void new VisitStoreError('NOPE', 'm')
  })
})
