import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { createStore, VisitStoreError, type SessionChange, type SessionOptions, type VisitStore } from '../src/index.js'
import { parseAnswer } from '../src/session.js'
import { clearAllCookies, cookieJar, rawRecord } from './fixtures/page-storage.js'

interface Schema {
  cart: string[]
  locale: string
  prefs: string
  theme: string
  hits: number
}
const keys = {
  cart: { lifetime: 'session' },
  locale: { lifetime: 'session', serverVisible: true },
  prefs: { lifetime: 'persistent' },
  theme: { lifetime: 'persistent', serverVisible: true },
  hits: { lifetime: 'session' },
} as const

/** A fake server session that the `read` source asks, standing in for the endpoint. */
function fakeServer(initial: { tag: string | null, anonymous?: boolean, expiresAt?: number }) {
  const server = {
    answer: initial as { tag: string | null, anonymous?: boolean, expiresAt?: number } | Error,
    asked: 0,
    read: vi.fn(async () => {
      server.asked++
      if (server.answer instanceof Error) throw server.answer
      return server.answer
    }),
  }
  return server
}

let idb: IDBFactory
const stores: VisitStore<Schema>[] = []
function tab(session: SessionOptions | undefined): VisitStore<Schema> {
  const store = createStore<Schema>({ name: 'sess', keys, backends: { indexedDB: idb }, ...(session ? { session } : {}) })
  stores.push(store)
  return store
}
const changes = (store: VisitStore<Schema>) => {
  const seen: SessionChange[] = []
  store.session.on('change', (c) => seen.push(c))
  return seen
}

beforeEach(() => {
  clearAllCookies()
  sessionStorage.clear()
  idb = new IDBFactory()
})
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('the endpoint source', () => {
  test('GET with the page cookies, then state, tag and expiry from the answer', async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ tag: 'T1', expiresAt: Date.now() + 3_600_000 }), { status: 200 }))
    vi.stubGlobal('fetch', fetchMock)
    const store = tab({ endpoint: '/session' })
    await store.ready
    expect(fetchMock).toHaveBeenCalledWith('/session', expect.objectContaining({ credentials: 'same-origin', cache: 'no-store' }))
    expect(store.session.tag).toBe('T1')
    expect(store.session.state).toBe('active')
    expect(store.session.expiresAt).toBeGreaterThan(Date.now())
  })

  test.each([
    ['a 500', () => new Response('oops', { status: 500 })],
    ['a non-JSON body', () => new Response('<html>', { status: 200 })],
    ['a malformed answer', () => new Response(JSON.stringify({ tag: 42 }), { status: 200 })],
    ['a network error', () => { throw new TypeError('Failed to fetch') }],
  ])('%s keeps the last state, reports SESSION_SYNC_FAILED and purges nothing', async (_name, respond) => {
    let answer: () => Response = () => new Response(JSON.stringify({ tag: 'T1' }), { status: 200 })
    vi.stubGlobal('fetch', vi.fn(async () => answer()))
    const store = tab({ endpoint: '/session' })
    await store.setMany({ cart: ['a'], locale: 'fr' })
    const errors: VisitStoreError[] = []
    store.on('error', (e) => errors.push(e))
    answer = respond
    const err = await store.session.refresh().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(VisitStoreError)
    expect((err as VisitStoreError).code).toBe('SESSION_SYNC_FAILED')
    expect(store.session.tag).toBe('T1')
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: ['a'], locale: 'fr' })
  })

  test('session.end({ server: true }) purges and sends DELETE', async () => {
    const fetchMock = vi.fn(async (_url: string, init?: RequestInit) =>
      new Response(JSON.stringify({ tag: init?.method === 'DELETE' ? null : 'T1' }), { status: 200 }))
    vi.stubGlobal('fetch', fetchMock)
    const store = tab({ endpoint: '/session' })
    await store.set('cart', ['x'])
    await store.session.end({ server: true })
    expect(fetchMock).toHaveBeenLastCalledWith('/session', expect.objectContaining({ method: 'DELETE' }))
    expect(store.session.tag).toBeNull()
    expect(await store.get('cart')).toBeUndefined()
  })
})

describe('purge on a change of session', () => {
  test('login, rotation and logout each purge session data in every tier and keep persistent data', async () => {
    const server = fakeServer({ tag: null })
    const store = tab({ read: server.read })
    const seen = changes(store)
    await store.setMany({ cart: ['anon'], locale: 'fr', prefs: 'p', theme: 'dark' })
    server.answer = { tag: 'A' }
    await store.session.refresh()
    expect(await store.getMany(['cart', 'locale', 'prefs', 'theme'])).toEqual({ cart: undefined, locale: undefined, prefs: 'p', theme: 'dark' })
    expect(cookieJar().sess_locale).toBeUndefined()
    await store.setMany({ cart: ['mine'], locale: 'de' })
    server.answer = { tag: 'B' }
    await store.session.refresh()
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined })
    server.answer = { tag: null }
    await store.session.refresh()
    expect(store.session.state).toBe('none')
    // The first answer turns 'unknown' into 'none'; then login, rotation, logout.
    expect(seen.map((c) => [c.previous.state, c.current.state, c.current.tag, c.source])).toEqual([
      ['unknown', 'none', null, 'local'],
      ['none', 'active', 'A', 'local'],
      ['active', 'active', 'B', 'local'],
      ['active', 'none', null, 'local'],
    ])
    expect(await store.getMany(['prefs', 'theme'])).toEqual({ prefs: 'p', theme: 'dark' })
    // Swept from the database, not just hidden.
    expect(await rawRecord(idb, 'sess', 'cart')).toBeUndefined()
  })

  test('keepOnLogin moves anonymous data to the new session; logout and a switch still purge', async () => {
    const server = fakeServer({ tag: 'anon-1', anonymous: true })
    const store = tab({ read: server.read, keepOnLogin: true })
    await store.setMany({ cart: ['kept'], locale: 'fr' })
    server.answer = { tag: 'user-1' }
    await store.session.refresh()
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: ['kept'], locale: 'fr' })
    expect(await rawRecord(idb, 'sess', 'cart')).toMatchObject({ t: 'user-1' })
    server.answer = { tag: 'user-2' }
    await store.session.refresh()
    expect(await store.getMany(['cart', 'locale'])).toEqual({ cart: undefined, locale: undefined })
    await store.set('cart', ['u2'])
    server.answer = { tag: null }
    await store.session.refresh()
    expect(await store.get('cart')).toBeUndefined()
  })

  test('a write racing the purge does not survive under the old session', async () => {
    const server = fakeServer({ tag: 'A' })
    const store = tab({ read: server.read })
    await store.set('cart', ['before'])
    server.answer = { tag: 'B' }
    const racing = store.set('cart', ['old-session-write'])
    const refresh = store.session.refresh()
    await Promise.all([racing, refresh])
    const record = await rawRecord(idb, 'sess', 'cart') as { t?: string } | undefined
    // Either the write landed after the switch (and carries B), or it was purged: never A.
    expect(record === undefined || record.t === 'B').toBe(true)
    expect(await store.get('cart')).toEqual(record === undefined ? undefined : ['old-session-write'])
  })

  test('the last known session survives a reload that cannot reach the source', async () => {
    const server = fakeServer({ tag: 'A' })
    const first = tab({ read: server.read })
    await first.set('cart', ['a'])
    first.close()
    server.answer = new Error('offline')
    const second = tab({ read: server.read })
    await second.ready
    expect(second.session.tag).toBe('A')
    expect(await second.get('cart')).toEqual(['a'])
  })
})

describe('sync policy', () => {
  test('a failure retries with back-off and never purges', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const server = fakeServer({ tag: 'A' })
    const store = tab({ read: server.read, interval: 60_000 })
    await store.set('cart', ['a'])
    server.answer = new Error('down')
    const errors: string[] = []
    store.on('error', (e) => errors.push(e.code))
    await store.session.refresh().catch(() => {})
    const asked = server.asked
    await vi.advanceTimersByTimeAsync(1_000)
    await vi.advanceTimersByTimeAsync(2_000)
    await vi.advanceTimersByTimeAsync(4_000)
    expect(server.asked - asked).toBe(3)
    expect(errors).toEqual(['SESSION_SYNC_FAILED', 'SESSION_SYNC_FAILED', 'SESSION_SYNC_FAILED'])
    expect(await store.get('cart')).toEqual(['a'])
    server.answer = { tag: 'A' }
    await vi.advanceTimersByTimeAsync(8_000)
    expect(server.asked - asked).toBe(4)
    await vi.advanceTimersByTimeAsync(30_000)
    expect(server.asked - asked).toBe(4) // back on the 60 s interval
  })

  test('asks again when the page becomes visible and when it comes back online', async () => {
    const server = fakeServer({ tag: 'A' })
    const store = tab({ read: server.read, interval: 0 })
    await store.ready
    const asked = server.asked
    document.dispatchEvent(new Event('visibilitychange'))
    window.dispatchEvent(new Event('online'))
    await vi.waitFor(() => expect(server.asked - asked).toBe(2))
  })

  test('expiring fires before expiresAt, end when it passes', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const server = fakeServer({ tag: 'A', expiresAt: Date.now() + 120_000 })
    const store = tab({ read: server.read, interval: 0, expiringBefore: 30_000 })
    await store.ready
    const fired: string[] = []
    store.session.on('expiring', () => fired.push('expiring'))
    store.session.on('end', () => fired.push('end'))
    await vi.advanceTimersByTimeAsync(89_000)
    expect(fired).toEqual([])
    await vi.advanceTimersByTimeAsync(2_000)
    expect(fired).toEqual(['expiring'])
    server.answer = { tag: null }
    await vi.advanceTimersByTimeAsync(30_000)
    expect(fired).toEqual(['expiring', 'end'])
    expect(store.session.tag).toBeNull()
  })
})

describe('the cookie source (PHPSESSID)', () => {
  test('derives the tag by SHA-256 and never stores the raw ID', async () => {
    document.cookie = 'PHPSESSID=rawsecretid123; Path=/'
    const store = tab({ cookie: 'PHPSESSID' })
    const errors: unknown[] = []
    store.on('error', (e) => errors.push(e))
    await store.set('cart', ['a'])
    const tag = store.session.tag
    expect(tag).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(tag).not.toContain('rawsecretid123')
    const record = JSON.stringify(await rawRecord(idb, 'sess', 'cart'))
    expect(record).not.toContain('rawsecretid123')
    expect(JSON.stringify(await rawRecord(idb, 'sess', '$session'))).not.toContain('rawsecretid123')
    expect(Object.entries(cookieJar()).filter(([k]) => k.startsWith('sess_')).map(([, v]) => v).join()).not.toContain('rawsecretid123')
    document.cookie = 'PHPSESSID=regenerated456; Path=/'
    await store.session.refresh()
    expect(store.session.tag).not.toBe(tag)
    expect(await store.get('cart')).toBeUndefined()
    expect(JSON.stringify(errors)).not.toContain('rawsecretid123')
  })
})

describe('the header source', () => {
  test('session.fetch reads the tag from responses, with no extra request', async () => {
    let tag = 'H1'
    const fetchMock = vi.fn(async () => new Response('{}', { headers: { 'X-Session-Tag': tag } }))
    vi.stubGlobal('fetch', fetchMock)
    const store = tab({ header: 'X-Session-Tag' })
    await store.ready
    expect(fetchMock).not.toHaveBeenCalled()
    await store.session.fetch('/api/cart')
    expect(store.session.tag).toBe('H1')
    await store.set('cart', ['h'])
    tag = 'H2'
    await store.session.fetch('/api/cart')
    expect(store.session.tag).toBe('H2')
    expect(await store.get('cart')).toBeUndefined()
    expect(fetchMock).toHaveBeenCalledTimes(2)
  })
})

describe('two tabs', () => {
  test('a change seen by one tab purges and fires change in the other', async () => {
    const server = fakeServer({ tag: 'A' })
    const one = tab({ read: server.read })
    const two = tab({ read: server.read })
    await Promise.all([one.ready, two.ready])
    await one.set('cart', ['shared'])
    expect(await two.get('cart')).toEqual(['shared'])
    const seenInTwo = changes(two)
    const watched: unknown[] = []
    two.watch('cart', (v, info) => watched.push([v, info.source]))
    server.answer = { tag: 'B' }
    const askedBefore = server.asked
    await one.session.refresh()
    await vi.waitFor(() => expect(seenInTwo).toHaveLength(1))
    expect(seenInTwo[0]).toMatchObject({ previous: { tag: 'A' }, current: { tag: 'B' }, source: 'remote' })
    expect(two.session.tag).toBe('B')
    expect(server.asked - askedBefore).toBe(1)
    expect(watched).toContainEqual([undefined, 'remote'])
    expect(await two.get('cart')).toBeUndefined()
  })

  test('session.end() in one tab ends it in the other', async () => {
    const server = fakeServer({ tag: 'A' })
    const one = tab({ read: server.read })
    const two = tab({ read: server.read })
    await Promise.all([one.ready, two.ready])
    await two.set('cart', ['x'])
    await one.session.end()
    await vi.waitFor(() => expect(two.session.tag).toBeNull())
    expect(await two.get('cart')).toBeUndefined()
  })

  test('watch sees IndexedDB writes from the other tab with source remote', async () => {
    const one = tab(undefined)
    const two = tab(undefined)
    const seen: unknown[] = []
    two.watch('prefs', (v, info) => seen.push([v, info.source]))
    await one.set('prefs', 'from-one')
    await vi.waitFor(() => expect(seen).toEqual([['from-one', 'remote']]))
    await one.delete('prefs')
    await vi.waitFor(() => expect(seen).toEqual([['from-one', 'remote'], [undefined, 'remote']]))
  })

  test('without the Cookie Store API, cookie writes are announced over the channel; other changes seen on focus', async () => {
    vi.stubGlobal('cookieStore', undefined)
    const one = tab(undefined)
    const two = tab(undefined)
    const seen: unknown[] = []
    two.watch('theme', (v, info) => seen.push([v, info.source]))
    await one.set('theme', 'dark')
    await vi.waitFor(() => expect(seen).toEqual([['dark', 'remote']]))
    // A Set-Cookie from the server has no event: the tab notices on focus.
    document.cookie = 'sess_theme=light; Path=/'
    window.dispatchEvent(new Event('focus'))
    await vi.waitFor(() => expect(seen).toEqual([['dark', 'remote'], ['light', 'remote']]))
  })

  test('with the Cookie Store API, its change events tell the other tab (no message of our own)', async () => {
    const cookieStore = new EventTarget()
    vi.stubGlobal('cookieStore', cookieStore)
    const one = tab(undefined)
    const two = tab(undefined)
    const seen: unknown[] = []
    two.watch('theme', (v, info) => seen.push([v, info.source]))
    await one.set('theme', 'dark')
    await new Promise((r) => setTimeout(r, 50))
    expect(seen).toEqual([]) // no channel message: a real browser fires the event below
    cookieStore.dispatchEvent(new Event('change'))
    expect(seen).toEqual([['dark', 'remote']])
  })

  test('concurrent updates from two tabs lose nothing', async () => {
    const one = tab(undefined)
    const two = tab(undefined)
    await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? one : two).update('hits', (n) => (n ?? 0) + 1)))
    expect(await one.get('hits')).toBe(50)
  })
})

describe('answers', () => {
  test('parseAnswer accepts the wire format and refuses anything else', () => {
    expect(parseAnswer({ tag: null })).toEqual({ tag: null, state: 'none', expiresAt: undefined })
    expect(parseAnswer({ tag: 'x', anonymous: true, expiresAt: 5 })).toEqual({ tag: 'x', state: 'anonymous', expiresAt: 5 })
    for (const bad of [null, 'x', {}, { tag: '' }, { tag: 1 }, { tag: 'x', expiresAt: 'soon' }, { tag: 'x', anonymous: 'yes' }]) {
      expect(() => parseAnswer(bad)).toThrow(VisitStoreError)
    }
  })

  test('bad session options are INVALID_OPTIONS', () => {
    expect(() => tab({ endpoint: '' } as SessionOptions)).toThrow(/endpoint/)
    expect(() => tab({ endpoint: '/s', cookie: 'x' } as unknown as SessionOptions)).toThrow(/exactly one/)
    expect(() => tab({ read: () => Promise.resolve(null), interval: -1 })).toThrow(/interval/)
  })
})
