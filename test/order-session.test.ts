// A tab's calls, awaited or not, with server-session changes among them: a change that purges
// takes back every session-lifetime write called before it (cookie and IndexedDB alike), leaves
// persistent and tab data alone, and a keepOnLogin login keeps what the anonymous visitor wrote.
// Seeded random rounds, judged against the calls applied in call order (the rounds are
// test/browser/page/session-rounds.js, which browser scenario 7n runs in real browsers).
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { createStore, type VisitStore } from '../src/index.js'
import { sessionSync } from '../src/session.js'
import { ROUND_KEYS, sessionRounds } from './browser/page/session-rounds.js'
import { clearAllCookies, cookieJar, holdLock, seededRandom, stubSessionServer, useWebLocks } from './fixtures/page-storage.js'

interface Schema { theme: string, locale: string, visits: number, cart: string, scroll: number }
// The rounds' keys: a persistent and a session cookie key, a persistent and a session record, a tab key.
const keys = ROUND_KEYS

const open: VisitStore<Schema>[] = []
beforeEach(() => {
  clearAllCookies()
  sessionStorage.clear()
})
afterEach(() => {
  for (const s of open.splice(0)) s.close()
  vi.restoreAllMocks()
  vi.unstubAllGlobals()
})

describe('end() not awaited', () => {
  test.each([
    ['no session sync', undefined],
    ['signed out', null],
    ['signed in', 'T1'],
  ] as const)('%s: writes called after it are kept; a get, a peek and keys() after it, and a get after a delete called before it, see none of the ended session', async (_, tag) => {
    if (tag !== undefined) stubSessionServer({ body: { tag } })
    const store = createStore<Schema>({ name: 'ends', keys, backends: { indexedDB: new IDBFactory() }, ...(tag === undefined ? {} : { session: sessionSync({ endpoint: '/session' }) }) })
    open.push(store)
    await store.ready
    await store.setMany({ cart: 'old', locale: 'old', visits: 1 })
    const deleted = store.delete('cart')
    const before = store.get('cart')
    const ended = store.session.end()
    // Gone from the jar in the call: a page that navigates away right after end() leaves no session cookie.
    expect(cookieJar().ends_locale).toBeUndefined()
    const peeked = store.peek('locale')
    const after = store.get('locale')
    const listed = store.keys()
    await Promise.all([deleted, ended, store.setMany({ cart: 'new', locale: 'new' })])
    expect([await before, peeked, await after]).toEqual([undefined, undefined, undefined])
    expect(await listed).toEqual(['visits'])
    expect(await store.getMany(['cart', 'locale', 'visits'])).toEqual({ cart: 'new', locale: 'new', visits: 1 })
    expect(cookieJar().ends_locale).toBe('new')
  })
})

test('a refresh() that changes the tag: while its purge waits for the cookie lock, the old session\'s cookie reads as missing (get, peek, keys, update) and one written since stays', async () => {
  const locks = useWebLocks()
  const server = stubSessionServer({ body: { tag: 'T1' } })
  const store = createStore<Schema>({ name: 'refr', keys, backends: { indexedDB: new IDBFactory() }, session: sessionSync({ endpoint: '/session' }) })
  open.push(store)
  await store.ready
  await store.setMany({ locale: 'old', theme: 't' })
  server.get = { body: { tag: 'T2' } }
  const release = await holdLock(locks, 'visitstore:refr:cookies')
  const refreshed = store.session.refresh()
  await vi.waitFor(() => expect(store.session.tag).toBe('T2'))
  // The purge has not removed the cookie yet (it waits for the lock): the jar still has it.
  expect(cookieJar().refr_locale).toBe('old')
  expect([store.peek('locale'), await store.get('locale'), await store.keys()]).toEqual([undefined, undefined, ['theme']])
  const updated = store.update('locale', (v) => `${String(v)}-new`)
  release()
  expect(await updated).toBe('undefined-new')
  await refreshed
  expect([store.peek('locale'), cookieJar().refr_locale]).toEqual(['undefined-new', 'undefined-new'])
})

describe('end() takes a new browser-session stamp in its call', () => {
  /** Makes pages (tabs) of store `name` on one origin: one IndexedDB, the page's cookies. */
  const pagesOf = (name: string) => {
    const idb = new IDBFactory()
    return () => {
      const store = createStore<Schema>({ name, keys, backends: { indexedDB: idb } })
      open.push(store)
      return store
    }
  }

  test('a page that starts while the end()\'s purge is held (as if its page had gone) reads none of the ended session\'s records; what it writes then stays', async () => {
    const locks = useWebLocks()
    const make = pagesOf('endp')
    const first = make()
    await first.ready
    await first.setMany({ cart: 'old', locale: 'old', visits: 1 })
    // The purge waits for the cookie lock, which is held: it never gets to the records.
    const release = await holdLock(locks, 'visitstore:endp:cookies')
    void first.session.end()
    // A new page (its start-up's journal check waits for the lock too: its reads of records do not).
    const next = make()
    expect(await next.getMany(['cart', 'visits'])).toEqual({ cart: undefined, visits: 1 })
    expect(next.peek('locale')).toBeUndefined()
    release()
    await next.ready
    await next.set('cart', 'new')
    expect(await next.get('cart')).toBe('new')
  })

  test('a logout page: a new store\'s end() called at once (before its ready), its purge held (as if its page had gone): a page started after it reads none of the ended session\'s records', async () => {
    const locks = useWebLocks()
    const make = pagesOf('endl')
    const first = make()
    await first.ready
    await first.setMany({ cart: 'old', locale: 'old', visits: 1 })
    first.close()
    // The logout page: its purge waits for the cookie lock, which is held; its page goes away.
    const release = await holdLock(locks, 'visitstore:endl:cookies')
    const logout = make()
    void logout.session.end()
    logout.close()
    const next = make()
    expect(await next.getMany(['cart', 'visits'])).toEqual({ cart: undefined, visits: 1 })
    expect(next.peek('locale')).toBeUndefined()
    release()
    await next.ready
    expect(await next.get('cart')).toBeUndefined()
    await next.set('cart', 'new')
    expect(await next.get('cart')).toBe('new')
  })

  test('another tab that follows the end() while its purge is still held, and writes a session record then: the write stays once the purge has run', async () => {
    const locks = useWebLocks()
    vi.stubGlobal('BroadcastChannel', undefined)
    const make = pagesOf('endf')
    const a = make()
    const b = make()
    await Promise.all([a.ready, b.ready])
    await a.setMany({ cart: 'before', visits: 1 })
    // a's purge waits for the cookie lock; its new stamp is in the marker cookie already.
    const release = await holdLock(locks, 'visitstore:endf:cookies')
    const ended = a.session.end()
    // b sees the new marker (a page shown again, or a Cookie Store change event) and follows.
    document.dispatchEvent(new Event('visibilitychange'))
    await vi.waitFor(async () => expect(await b.get('cart')).toBeUndefined())
    await b.set('cart', 'after')
    expect(await b.get('cart')).toBe('after')
    const cookie = b.set('locale', 'after') // a session cookie: its write waits for the lock too
    release()
    await ended
    await cookie
    expect(await a.get('cart')).toBe('after')
    expect(await b.get('cart')).toBe('after')
    expect(a.peek('locale')).toBe('after')
    expect(await a.get('visits')).toBe(1)
  })

  test('a tab that did not hear of the end() (no BroadcastChannel) writes under the ended stamp: the other tabs read nothing of it; once it sees the new marker it follows, and its next writes are shared', async () => {
    vi.stubGlobal('BroadcastChannel', undefined)
    const make = pagesOf('endu')
    const a = make()
    const b = make()
    await Promise.all([a.ready, b.ready])
    await a.setMany({ cart: 'before', visits: 1 })
    const heard: unknown[] = []
    b.watch('cart', (value) => heard.push(value))
    await a.session.end()
    await b.set('cart', 'unheard')
    expect(await a.get('cart')).toBeUndefined()
    // The marker changed: b checks it when its page is shown again (or on a Cookie Store change event).
    document.dispatchEvent(new Event('visibilitychange'))
    await vi.waitFor(async () => expect(await b.get('cart')).toBeUndefined())
    // Its watcher hears it from a read of its own (store/watch.ts reread), which may be answered after that get.
    await vi.waitFor(() => expect(heard).toContain(undefined))
    await b.set('cart', 'after')
    expect(await a.get('cart')).toBe('after')
    expect(await a.get('visits')).toBe(1)
  })
})

test('keys() called right after an un-awaited end() lists none of the ended session\'s keys', async () => {
  const store = createStore<Schema>({ name: 'endk', keys, backends: { indexedDB: new IDBFactory() } })
  open.push(store)
  await store.ready
  await store.setMany({ cart: 'old', locale: 'old', visits: 1, theme: 't' })
  const ended = store.session.end()
  expect(await store.keys()).toEqual(['theme', 'visits'])
  await ended
  expect(await store.keys()).toEqual(['theme', 'visits'])
})

describe.each([
  ['keepOnLogin false, Web Locks', false, true],
  ['keepOnLogin true, Web Locks', true, true],
  ['keepOnLogin false, no Web Locks', false, false],
  ['keepOnLogin true, no Web Locks', true, false],
])('seeded random rounds with session changes (%s)', (_, keepOnLogin, webLocks) => {
  test('300 rounds of 1 to 6 calls, some ending in a refresh that changes the session or an end(): every result is the call-order result', async () => {
    if (webLocks) useWebLocks()
    let body: { tag: string | null, anonymous?: boolean } = { tag: 'anon-0', anonymous: true }
    const server = stubSessionServer((now) => ({ body: { ...body, expiresAt: now + 3_600_000 } }))
    const store = createStore<Schema>({ name: 'ords', keys, backends: { indexedDB: new IDBFactory() }, session: sessionSync({ endpoint: '/session', keepOnLogin }) })
    open.push(store)
    await store.ready
    const r = await sessionRounds({
      store: store as unknown as VisitStore<never>,
      rounds: 300,
      random: seededRandom(keepOnLogin ? 7 : 11),
      keepOnLogin,
      valueFor: (key, n) => (key === 'visits' || key === 'scroll' ? n : `${key}-${n}`),
      // The server: signed out, a new anonymous session, another user, the same session, or as it was.
      async serverChange(pick, n) {
        body = pick === 0 ? { tag: null } : pick === 1 ? { tag: `anon-${n}`, anonymous: true } : pick === 2 ? { tag: `user-${n}` } : pick === 3 && body.tag ? { tag: body.tag } : body
        return `server ${JSON.stringify(body)}`
      },
      async pause(kind, call) {
        if (kind === 1) await null
        else if (kind === 2) await new Promise<void>((resolve) => setTimeout(resolve, 0))
        else if (kind === 3) await call.catch(() => {})
      },
      cookieOf: (key) => cookieJar()[`ords_${key}`],
      cookieReads: true,
      settleMs: 0,
    })
    expect(r.mismatches).toEqual([])
    // The rounds made every kind of session change.
    expect(r.purges, 'purges').toBeGreaterThan(5)
    if (keepOnLogin) expect(r.moves, 'moves').toBeGreaterThan(2)
    expect(server.count('GET')).toBeGreaterThan(10)
  })
})
