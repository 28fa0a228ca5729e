// Types without ceremony (issue 16): a store made without a schema type argument takes its value
// types from each key's `validate` (the Standard Schema output type; `unknown` without one) and
// restricts `peek` to cookie and tab keys; with a schema type argument, a `validate` whose output
// does not fit its key's type is a compile error. visitstore/server's readCookies and
// setCookieHeaders follow the same options object.
import { describe, expectTypeOf, test } from 'vitest'
import { createStore, type VisitStore } from '../src/index.js'
import { readCookies, setCookieHeaders } from '../src/server/index.js'

/**
 * The Standard Schema interface as zod, valibot and arktype ship it (standardschema.dev, v1):
 * the shape real validators have, which visitstore's own `StandardSchemaV1` must accept.
 */
interface LibrarySchema<Input, Output> {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => { readonly value: Output, readonly issues?: undefined }
      | { readonly issues: readonly { readonly message: string, readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined }[] }
      | Promise<{ readonly value: Output, readonly issues?: undefined }>
    readonly types?: { readonly input: Input, readonly output: Output } | undefined
  }
}

/** A validator library's schema: checks with `is`, outputs `T` (a transform when `T` is not the input). */
const schema = <T, I = T>(is: (value: unknown) => boolean, transform: (value: I) => T = (v) => v as unknown as T): LibrarySchema<I, T> => ({
  '~standard': { version: 1, vendor: 'test', validate: (value) => (is(value) ? { value: transform(value as I) } : { issues: [{ message: 'refused' }] }) },
})
const theme = schema<'light' | 'dark'>((v) => v === 'light' || v === 'dark')
const str = schema<string>((v) => typeof v === 'string')
const num = schema<number>((v) => typeof v === 'number')
const cart = schema<string[]>(Array.isArray)
interface Draft { title: string }
const draft = schema<Draft>((v) => typeof v === 'object' && v !== null)
/** A string in the cookie, a number in the app. */
const numberFromString = schema<number, string>((v) => typeof v === 'string', Number)

describe('without a schema type argument, values are typed by each key’s validate', () => {
  const store = createStore({
    name: 'infer',
    keys: {
      theme: { lifetime: 'persistent', serverVisible: true, validate: theme },
      prefs: { lifetime: 'session', serverVisible: true },
      cart: { lifetime: 'session', validate: cart },
      scroll: { lifetime: 'tab', validate: num },
      notes: { lifetime: 'persistent' },
      count: { lifetime: 'tab', validate: numberFromString },
      'draft:*': { lifetime: 'persistent', ttl: 60, validate: draft },
      // A hand-made Standard Schema object (no `types`): its validate's answer gives the type.
      flag: { lifetime: 'tab', validate: { '~standard': { version: 1, vendor: 'inline', validate: (v: unknown) => ({ value: v === true }) } } },
    },
  })

  test('a key with validate has its schema’s output type; one without is unknown', () => {
    expectTypeOf(store.get('theme')).resolves.toEqualTypeOf<'light' | 'dark' | undefined>()
    expectTypeOf(store.get('cart')).resolves.toEqualTypeOf<string[] | undefined>()
    expectTypeOf(store.get('count')).resolves.toEqualTypeOf<number | undefined>()
    expectTypeOf(store.get('flag')).resolves.toEqualTypeOf<boolean | undefined>()
    expectTypeOf(store.get('prefs')).resolves.toEqualTypeOf<unknown>()
    expectTypeOf(store.get('notes')).resolves.toEqualTypeOf<unknown>()
    store.watch('cart', (value) => expectTypeOf(value).toEqualTypeOf<string[] | undefined>())
    expectTypeOf(store.update('scroll', (n) => (n ?? 0) + 1)).resolves.toEqualTypeOf<number>()
  })

  test('families are typed under their prefix', () => {
    expectTypeOf(store.get('draft:42')).resolves.toEqualTypeOf<Draft | undefined>()
    void store.set('draft:a', { title: 'x' })
    // @ts-expect-error a draft is a Draft
    void store.set('draft:a', 'text')
    expectTypeOf(store.keys()).resolves.toEqualTypeOf<('theme' | 'prefs' | 'cart' | 'scroll' | 'notes' | 'count' | 'flag' | `draft:${string}`)[]>()
  })

  test('writes are checked against the same types; unknown keys take anything', () => {
    void store.set('theme', 'dark')
    // @ts-expect-error not a theme
    void store.set('theme', 'blue')
    // @ts-expect-error the app side of count is a number
    void store.set('count', '3')
    void store.set('prefs', { compact: true })
    void store.setMany({ theme: 'light', notes: ['anything'] })
    // @ts-expect-error an undeclared key
    void store.get('nope')
  })

  test('peek is typed for cookie and tab keys only, with no type argument and no `as const`', () => {
    expectTypeOf(store.peek('theme')).toEqualTypeOf<'light' | 'dark' | undefined>()
    expectTypeOf(store.peek('scroll')).toEqualTypeOf<number | undefined>()
    expectTypeOf(store.peek('prefs')).toEqualTypeOf<unknown>()
    // @ts-expect-error cart lives in IndexedDB: no synchronous read
    store.peek('cart')
    // @ts-expect-error notes lives in IndexedDB
    store.peek('notes')
    // @ts-expect-error a draft lives in IndexedDB
    store.peek('draft:1')
  })

  test('an impossible key declaration is still a compile error', () => {
    // @ts-expect-error a server-visible tab value
    createStore({ name: 'x', keys: { scroll: { lifetime: 'tab', serverVisible: true } } })
    // @ts-expect-error maxAge is for cookies
    createStore({ name: 'x', keys: { notes: { lifetime: 'tab', maxAge: 5 } } })
    // @ts-expect-error a misspelt option (it would silently place the key in IndexedDB)
    createStore({ name: 'x', keys: { theme: { lifetime: 'persistent', serverVisble: true } } })
  })

  test('a store without any validate is a store of unknowns, and still restricts peek', () => {
    const plain = createStore({ name: 'plain', keys: { a: { lifetime: 'session', serverVisible: true }, b: { lifetime: 'session' } } })
    expectTypeOf(plain.get('a')).resolves.toEqualTypeOf<unknown>()
    expectTypeOf(plain.peek('a')).toEqualTypeOf<unknown>()
    // @ts-expect-error b lives in IndexedDB
    plain.peek('b')
  })
})

describe('one options object for the browser, the server-rendered request and visitstore/server', () => {
  // As an app keeps it in a shared module (no `as const` needed for a literal passed straight in;
  // a shared object needs `as const` so its lifetimes stay literal types).
  const shop = {
    name: 'shop',
    keys: {
      theme: { lifetime: 'persistent', serverVisible: true, validate: theme },
      'seen:*': { lifetime: 'session', serverVisible: true, type: 'string', validate: str },
      cart: { lifetime: 'session', validate: cart },
      scroll: { lifetime: 'tab', validate: num },
    },
  } as const

  test('createStore(options) and the request-scoped createStore({ ...options, cookieHeader }) type alike', () => {
    const browser = createStore(shop)
    const request = createStore({ ...shop, cookieHeader: undefined as string | undefined })
    expectTypeOf(request).toEqualTypeOf(browser)
    expectTypeOf(request.peek('theme')).toEqualTypeOf<'light' | 'dark' | undefined>()
    // @ts-expect-error cart lives in IndexedDB
    request.peek('cart')
  })

  test('readCookies gives the cookie keys with their types, and only them', () => {
    const values = readCookies(shop, 'shop_theme=dark')
    expectTypeOf(values).toEqualTypeOf<{ theme?: 'light' | 'dark', [k: `seen:${string}`]: string | undefined }>()
    // @ts-expect-error cart is not a cookie: the server never sees it
    void values.cart
  })

  test('setCookieHeaders takes the cookie keys’ types, and only cookie keys', () => {
    expectTypeOf(setCookieHeaders(shop, { theme: 'dark', 'seen:home': 'yes' })).toEqualTypeOf<string[]>()
    // @ts-expect-error not a theme
    setCookieHeaders(shop, { theme: 'blue' })
    // @ts-expect-error cart is not a cookie (it rejects INVALID_VALUE at run time too)
    setCookieHeaders(shop, { cart: [] })
  })
})

describe('with a schema type argument, validate must produce the key’s type', () => {
  interface Schema {
    theme: 'light' | 'dark'
    n: number
    [k: `draft:${string}`]: Draft
  }

  test('fitting validators compile, transforms included', () => {
    const store = createStore<Schema>({
      name: 'typed',
      keys: { theme: { lifetime: 'persistent', serverVisible: true, validate: theme }, n: { lifetime: 'tab', validate: numberFromString }, 'draft:*': { lifetime: 'persistent', validate: draft } },
    })
    expectTypeOf(store).toEqualTypeOf<VisitStore<Schema>>()
    // A narrower output fits too: a schema of 'dark' only for a 'light' | 'dark' key.
    createStore<Schema>({ name: 'typed', keys: { theme: { lifetime: 'session', serverVisible: true, validate: schema<'dark'>((v) => v === 'dark') }, n: { lifetime: 'tab' }, 'draft:*': { lifetime: 'persistent' } } })
  })

  test('a validator whose output does not fit is a compile error', () => {
    // @ts-expect-error a string schema for a number key
    createStore<Schema>({ name: 'typed', keys: { theme: { lifetime: 'persistent', serverVisible: true }, n: { lifetime: 'tab', validate: str }, 'draft:*': { lifetime: 'persistent' } } })
    // @ts-expect-error any string is wider than 'light' | 'dark'
    createStore<Schema>({ name: 'typed', keys: { theme: { lifetime: 'persistent', serverVisible: true, validate: str }, n: { lifetime: 'tab' }, 'draft:*': { lifetime: 'persistent' } } })
    // @ts-expect-error a family's validator must produce the family's type
    createStore<Schema>({ name: 'typed', keys: { theme: { lifetime: 'persistent', serverVisible: true }, n: { lifetime: 'tab' }, 'draft:*': { lifetime: 'persistent', validate: str } } })
  })

  test('visitstore/server checks them the same way', () => {
    const options = { name: 'typed', keys: { theme: { lifetime: 'persistent', serverVisible: true }, n: { lifetime: 'tab' }, 'draft:*': { lifetime: 'persistent' } } } as const
    expectTypeOf(readCookies<Schema>(options, undefined).theme).toEqualTypeOf<'light' | 'dark' | undefined>()
    // @ts-expect-error a number validator on a theme key
    readCookies<Schema>({ ...options, keys: { ...options.keys, theme: { lifetime: 'persistent', serverVisible: true, validate: num } } }, undefined)
  })

  test('a schema type argument alone cannot show peek which keys are IndexedDB ones', () => {
    // TypeScript infers no type argument once one is given (no partial inference), so the keys'
    // literal types are unknown here: every key is accepted and an IndexedDB key throws
    // NOT_SYNC_READABLE at run time. Without the type argument (types from validate), or with the
    // keys' type as the second one, peek is restricted at compile time (above; types.test-d.ts).
    const store = createStore<Schema>({ name: 'typed', keys: { theme: { lifetime: 'persistent', serverVisible: true }, n: { lifetime: 'tab' }, 'draft:*': { lifetime: 'persistent' } } })
    expectTypeOf(store.peek('theme')).toEqualTypeOf<'light' | 'dark' | undefined>()
    expectTypeOf(store.peek<'draft:1'>).toBeFunction()
  })
})
