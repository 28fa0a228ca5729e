// A tab's calls, awaited or not, with server-session changes among them: a change that purges
// takes back every session-lifetime write called before it (cookie and IndexedDB alike), leaves
// persistent and tab data alone, and a keepOnLogin login keeps what the anonymous visitor wrote.
// Seeded random rounds, judged against the calls applied in call order.
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { createStore, type VisitStore } from '../src/index.js'
import { sessionSync } from '../src/session.js'
import { clearAllCookies, cookieJar, seededRandom, stubSessionServer, useWebLocks } from './fixtures/page-storage.js'

interface Schema { theme: string, locale: string, visits: number, cart: string, scroll: number }
type Key = keyof Schema
const keys = {
  theme: { lifetime: 'persistent', serverVisible: true, type: 'string' },
  locale: { lifetime: 'session', serverVisible: true, type: 'string' },
  visits: { lifetime: 'persistent' },
  cart: { lifetime: 'session' },
  scroll: { lifetime: 'tab' },
} as const
const all: Key[] = ['theme', 'locale', 'visits', 'cart', 'scroll']
const SESSION_KEYS: Key[] = ['locale', 'cart']

interface Snapshot { tag: string | null, state: 'none' | 'anonymous' | 'active' }
const stateOf = (body: { tag: string | null, anonymous?: boolean }): Snapshot => ({ tag: body.tag, state: body.tag === null ? 'none' : body.anonymous ? 'anonymous' : 'active' })

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
    let local = stateOf(body)
    const random = seededRandom(keepOnLogin ? 7 : 11)
    const model = new Map<Key, unknown>()
    const valueFor = (key: Key, n: number): unknown => (key === 'visits' || key === 'scroll' ? n : `${key}-${n}`)
    let purges = 0
    let moves = 0
    for (let round = 0; round < 300; round++) {
      const log: string[] = []
      const calls: Promise<unknown>[] = []
      const changes: [Key, unknown][] = []
      const change = (key: Key, value: unknown) => {
        if (value === undefined) model.delete(key)
        else model.set(key, value)
        changes.push([key, value])
      }
      const reads: { keys: Key[], from: number, before: unknown[], got: Promise<Record<string, unknown>>, at: number }[] = []
      // Updates of session keys still on their way when a purge is applied: each either ran before
      // it (its input the call-order one, its result purged) or after it (its input missing, as
      // the new session has it; its result kept). Judged once the round is over.
      const open: { key: Key, input: unknown, next: unknown, seen?: { value: unknown }, at: number }[] = []
      const pending = new Set<(typeof open)[number]>()
      let ambiguous: (typeof open)[number][] = []
      for (let i = 0, n = 1 + random(6); i < n; i++) {
        const key = all[random(all.length)] as Key
        const other = all[random(all.length)] as Key
        const kind = random(12)
        const v = round * 10 + i
        const at = log.length
        let call: Promise<unknown>
        if (kind <= 2) {
          change(key, valueFor(key, v))
          call = store.set(key, valueFor(key, v) as never)
          log.push(`set(${key})`)
        } else if (kind === 3) {
          const entries = Object.fromEntries([[key, valueFor(key, v)], [other, valueFor(other, v + 1)]])
          for (const [k, value] of Object.entries(entries)) change(k as Key, value)
          call = store.setMany(entries)
          log.push(`setMany(${key}, ${other})`)
        } else if (kind === 4) {
          change(key, undefined)
          call = store.delete(key)
          log.push(`delete(${key})`)
        } else if (kind === 5) {
          const next = valueFor(key, v)
          const u: (typeof open)[number] = { key, input: model.get(key), next, at }
          change(key, next)
          open.push(u)
          pending.add(u)
          call = store.update(key, ((current: unknown) => {
            u.seen = { value: current }
            return next
          }) as never).finally(() => pending.delete(u))
          log.push(`update(${key})`)
        } else if (kind === 6) {
          for (const k of all) change(k, undefined)
          call = store.clear()
          log.push('clear()')
        } else if (kind <= 8) {
          const asked = kind === 7 ? [key, other] : [key]
          const got = kind === 7 ? store.getMany(asked) : store.get(key).then((value) => ({ [key]: value }))
          reads.push({ keys: asked, from: changes.length, before: asked.map((k) => model.get(k)), got, at })
          call = got
          log.push(kind === 7 ? `getMany(${key}, ${other})` : `get(${key})`)
        } else {
          // A session change ends the round (awaited: a purge is applied before its call resolves).
          const pick = random(6)
          const force = pick === 5
          if (!force) {
            body = pick === 0 ? { tag: null } : pick === 1 ? { tag: `anon-${v}`, anonymous: true } : pick === 2 ? { tag: `user-${v}` } : pick === 3 && local.tag ? { tag: local.tag } : body
          }
          const next: Snapshot = force ? { tag: null, state: 'none' } : stateOf(body)
          const moved = !force && keepOnLogin && next.tag !== null && next.tag !== local.tag && (local.state === 'none' || local.state === 'anonymous')
          const purging = force || (next.tag !== local.tag && !moved)
          log.push(force ? 'end()' : `refresh() → ${next.state} ${String(next.tag)}${purging ? ' (purge)' : moved ? ' (move)' : ''}`)
          if (purging) {
            purges++
            ambiguous = open.filter((u) => pending.has(u) && SESSION_KEYS.includes(u.key))
            for (const k of SESSION_KEYS) change(k, undefined)
          } else if (moved) moves++
          local = next
          call = force ? store.session.end() : store.session.refresh()
          await call
          calls.push(call)
          break
        }
        calls.push(call)
        const pause = random(6)
        if (pause === 1) await null
        else if (pause === 2) await new Promise<void>((resolve) => setTimeout(resolve, 0))
        else if (pause === 3) await call
      }
      const where = `round ${round}: ${log.join(', ')}`
      await Promise.all(calls)
      expect(store.session.tag, where).toBe(local.tag)
      for (const u of open) {
        const amb = ambiguous.includes(u)
        const allowed = amb ? [u.input, undefined] : [u.input]
        expect(allowed, `${where}: update(${u.key}) at call ${u.at} got ${String(u.seen?.value)}`).toContainEqual(u.seen?.value)
      }
      const state = await store.getMany(all)
      for (const key of new Set(ambiguous.map((u) => u.key))) {
        // Each update on its way ran before the purge (its input the call-order one, its result
        // purged) or after it (its input missing or an update's after the purge, its result kept
        // unless a later call of the round, run after the purge too, cleared it; a set after it was
        // called before the purge and drops its session part): nothing, or what one of them wrote.
        const mine = ambiguous.filter((u) => u.key === key)
        const possible = [undefined, ...mine.map((u) => u.next)]
        expect(possible, `${where}: ${key} after updates on their way at the purge`).toContainEqual(state[key])
        change(key, state[key])
      }
      for (const read of reads) {
        const got = await read.got
        read.keys.forEach((k, n) => {
          const possible = [read.before[n], ...changes.slice(read.from).filter(([c]) => c === k).map(([, value]) => value)]
          expect(possible, `${where}: call ${read.at} read ${k} as ${String(got[k])}`).toContainEqual(got[k])
        })
      }
      expect(state, where).toEqual(Object.fromEntries(all.map((k) => [k, model.get(k)])))
      const jar = cookieJar()
      expect([jar.ords_theme, jar.ords_locale], where).toEqual([model.get('theme'), model.get('locale')])
    }
    // The rounds made every kind of session change.
    expect(purges, 'purges').toBeGreaterThan(5)
    if (keepOnLogin) expect(moves, 'moves').toBeGreaterThan(2)
    expect(server.count('GET')).toBeGreaterThan(10)
  })
})
