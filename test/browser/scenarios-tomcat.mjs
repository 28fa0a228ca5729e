// Browser scenarios: Java servlet sessions on a real Tomcat 10 (issue 17): j1–j10. Each scenario
// starts its own Tomcat (tomcat-server.mjs: Debian's jars, the README's SessionTagServlet and
// SessionTagFilter, the test app DemoApp) and closes it in a finally. Stores use
// `VisitStore.sessionSync({...})`. Every scenario ends by checking that no raw JSESSIONID the
// server ever made (its listener's list, old and rotated IDs alike) appears in IndexedDB (every
// object store of every database, read raw), web storage, the page's cookies, the store's
// events, status and session view, or the console.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { eq, ok, succeeded, UNDEF, until } from './lib/check.mjs'
import { loadServerModule, TAG_SECRET } from './express-server.mjs'
import { JAVA_SOURCES, startTomcat, tomcatMissing, warmTomcat } from './tomcat-server.mjs'
import { removeDir, tempDir } from './lib/util.mjs'
import { changeAfter, changes, openStore, refresh, setMany } from './lib/page-session.mjs'

/** Session data in both tiers, and persistent data in both tiers. */
const KEYS = {
  cart: { lifetime: 'session' }, // IndexedDB, stamped with the server session's tag
  visit: { lifetime: 'session', serverVisible: true }, // session cookie, removed on a session change
  prefs: { lifetime: 'persistent', serverVisible: true }, // persistent cookie
  notes: { lifetime: 'persistent' }, // persistent IndexedDB record
}
const ALL = Object.keys(KEYS)
const PERSISTENT = { prefs: 'dark', notes: { text: 'kept across sessions' } }
/** Client-only keys for the URL-session scenarios: nothing the server reads. */
const CLIENT_KEYS = {
  cart: { lifetime: 'session' },
  notes: { lifetime: 'persistent' },
  draft: { lifetime: 'tab' },
}
/** Tomcat's default idle time-out (no web.xml sets another): 30 minutes. */
const IDLE_MS = 30 * 60 * 1000
/** How j8 makes each engine refuse every cookie. */
const COOKIE_BLOCKING = {
  chromium: 'profile.default_content_setting_values.cookies = 2 in the profile\'s Default/Preferences',
  firefox: 'the pref network.cookie.cookieBehavior = 2',
  webkit: 'MiniBrowser --cookies-policy=never',
}

// ---- page-side functions (serialised into the page; only window.vt and VisitStore inside) ----

/** Records console output and unhandled rejections, to check that no raw ID is logged. */
const captureConsole = () => {
  if (window.vtConsole) return true
  window.vtConsole = []
  for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
    const real = console[level].bind(console)
    console[level] = (...args) => {
      window.vtConsole.push(`${level}: ${args.map((a) => { try { return a instanceof Error ? `${a.name}: ${a.message} ${a.cause ?? ''}` : typeof a === 'string' ? a : JSON.stringify(a) } catch { return String(a) } }).join(' ')}`)
      real(...args)
    }
  }
  window.addEventListener('unhandledrejection', (e) => window.vtConsole.push(`unhandledrejection: ${e.reason?.message ?? e.reason}`))
  window.addEventListener('error', (e) => window.vtConsole.push(`error: ${e.message}`))
  return true
}

/** A request to Tomcat with the page's cookies: { status, body, tag } (tag: the filter's X-Session-Tag header). */
const call = async ({ method, path }) => {
  const res = await fetch(path, { method, credentials: 'same-origin', cache: 'no-store' })
  return { status: res.status, body: await res.json().catch(() => null), tag: res.headers.get('x-session-tag') }
}

/** `store.session.fetch(path)`: { status, body, tag, session } (the header source reads the tag on the way). */
const sessionFetch = async ({ name, path }) => {
  const vt = window.vt
  const result = await vt.attempt(async () => {
    const res = await vt.stores[name].session.fetch(path, { cache: 'no-store' })
    return { status: res.status, body: await res.json().catch(() => null), tag: res.headers.get('x-session-tag') }
  })
  return { ...result, session: vt.session(name) }
}

/** The raw records of the store (records, or today's entries): { key: JSON of the record }, '$'-keys left out. */
const rawRecordsOf = async ({ name }) => {
  const raw = await window.vt.rawRecords(name)
  return Object.fromEntries(raw.filter(([k]) => typeof k === 'string' && !k.startsWith('$')).map(([k, r]) => [k, JSON.stringify(r)]))
}

/** Everything a scenario checks about a store in this tab. */
const look = async ({ name, keys }) => {
  const vt = window.vt
  const store = vt.stores[name]
  const values = {}
  for (const key of keys) values[key] = vt.u(await store.get(key))
  const raw = await vt.rawRecords(name)
  return {
    ...vt.session(name),
    values,
    cookies: vt.cookies(`${name}_`).map(([n]) => n).filter((n) => !n.startsWith(`${name}_$`)),
    idb: raw.map(([k]) => k).filter((k) => typeof k === 'string' && !k.startsWith('$')).sort(),
    log: vt.logs[name],
  }
}

/**
 * Everything the page keeps or reports, as JSON text: every object store of every IndexedDB
 * database of the origin read raw (the store's own even when indexedDB.databases() is missing),
 * web storage, document.cookie, the store's events, status and session view, and the console.
 */
const footprint = async ({ name }) => {
  const vt = window.vt
  const guard = async (fn) => { try { return await fn() } catch (err) { return { unreadable: `${err?.name}: ${err?.message}` } } }
  const dumpDb = (dbName) => new Promise((resolve) => {
    const open = indexedDB.open(dbName)
    let missing = false
    open.onupgradeneeded = () => { missing = true; open.transaction.abort() }
    open.onerror = (event) => { event.preventDefault(); resolve(missing ? { missing: true } : { unreadable: String(open.error) }) }
    open.onsuccess = () => {
      const db = open.result
      const names = [...db.objectStoreNames]
      if (!names.length) { db.close(); resolve({}); return }
      const tx = db.transaction(names, 'readonly')
      const reads = names.map((s) => [s, tx.objectStore(s).getAllKeys(), tx.objectStore(s).getAll()])
      tx.oncomplete = () => {
        db.close()
        resolve(Object.fromEntries(reads.map(([s, keys, values]) => [s, keys.result.map((k, i) => [k, values.result[i]])])))
      }
      tx.onerror = () => { db.close(); resolve({ unreadable: String(tx.error) }) }
    }
  })
  const idb = await guard(async () => {
    const names = new Set([`visitstore-${name}`])
    if (indexedDB.databases) for (const d of await indexedDB.databases()) names.add(d.name)
    const out = {}
    for (const dbName of names) out[dbName] = await dumpDb(dbName)
    return out
  })
  const entries = (storage) => Object.keys(storage).map((k) => [k, storage.getItem(k)])
  const store = vt.stores[name]
  return {
    idb: JSON.stringify(idb),
    localStorage: JSON.stringify(await guard(() => entries(window.localStorage))),
    sessionStorage: JSON.stringify(await guard(() => entries(window.sessionStorage))),
    cookies: JSON.stringify(await guard(() => document.cookie)),
    events: JSON.stringify(vt.logs[name] ?? null),
    status: JSON.stringify(store ? store.status : null),
    session: JSON.stringify(store ? vt.session(name) : null),
    console: JSON.stringify(window.vtConsole ?? []),
  }
}

const forgetJsessionid = () => window.vt.call('POST', '/test/forget')

// ---- node-side helpers ----

/**
 * Why Tomcat cannot run here, or null. When it can, the app's compilation and a first Tomcat start
 * now, in the background: the runner asks this just before it launches the browser.
 */
function tomcatUnavailable(engine) {
  // Issue 17 asks for Chromium and Firefox; WebKit would add a minute to every run of the suite.
  if (engine?.name === 'webkit') return 'Chromium and Firefox only (as issue 17 asks): the servlet side is the same in every engine'
  const why = tomcatMissing()
  if (!why) warmTomcat({ secret: TAG_SECRET })
  return why
}

async function tomcatApp(run, options = {}) {
  const tc = await startTomcat({ secret: TAG_SECRET, ...options })
  try {
    return await run(tc)
  } catch (err) {
    const tail = tc.output().trim().split('\n').slice(-4).join(' | ')
    throw new Error(`${err.message}${tail ? ` [tomcat: ${tail.slice(0, 400)}]` : ''}`, { cause: err })
  } finally {
    await tc.close()
  }
}

/** JSESSIONID in the browser's own jar for the tab's URL (it is HttpOnly: document.cookie never shows it), or null. */
async function jarSessionId(t) {
  return (await t.cookies()).find((c) => c.name === 'JSESSIONID')?.value ?? null
}

/**
 * No raw session ID the server ever made (`ids`) appears in the tab's footprint (page side),
 * nor in the store's cookies in the browser's jar; `extra` adds texts (a refresh error…).
 */
async function checkNoRawId(t, { name, ids, when, extra = {} }) {
  ok(ids.length > 0, `${when}: the server made at least one session (so the check means something)`, ids)
  const dump = { ...(await t.evaluate(footprint, { name })), ...extra }
  if (t.cookies) dump.jar = JSON.stringify((await t.cookies()).filter((c) => c.name.startsWith(`${name}_`)))
  for (const [what, text] of Object.entries(dump)) {
    for (const id of ids) {
      ok(!text.toUpperCase().includes(id.toUpperCase()), `${when}: the raw JSESSIONID ${id.slice(0, 6)}… appears in the page's ${what}`, text)
    }
  }
  return dump
}

const sessionTagOf = async (id) => (await loadServerModule()).sessionTag(id, TAG_SECRET)

// ---- j1: the servlet endpoint and the filter ----

const servletEndpoint = {
  id: 'j1',
  name: 'Tomcat 10: SessionTagServlet never creates a session and its tag equals dist/server.js sessionTag(JSESSIONID, secret) (anonymous, after login, rotated); SessionTagFilter sends the same tag; JSESSIONID is HttpOnly',
  group: 'live',
  unavailable: tomcatUnavailable,
  run: ({ tab }) => tomcatApp(async (tc) => {
    // Wire format first, from Node: no cookie → { tag: null }, no session made, no cookie set.
    for (const method of ['GET', 'HEAD', 'DELETE']) {
      const res = await fetch(tc.url('/session'), { method })
      eq([res.status, res.headers.get('set-cookie'), res.headers.get('cache-control'), res.headers.get('x-session-tag')], [200, null, 'no-store', ''],
        `${method} /session without a session: [status, Set-Cookie, Cache-Control, X-Session-Tag]`)
      if (method !== 'HEAD') eq(await res.json(), { tag: null }, `${method} /session without a session: body`)
      ok(/^application\/json/.test(res.headers.get('content-type')), `${method} /session: Content-Type`, res.headers.get('content-type'))
    }
    eq(await tc.ids(), [], 'sessions the server made after GET, HEAD and DELETE /session without one')

    const name = 'j1'
    const t = await tab()
    await t.goto(tc.url('/?tab=1'))
    await t.evaluate(captureConsole)
    await t.evaluate(forgetJsessionid)
    eq(await jarSessionId(t), null, 'JSESSIONID in the jar at the start')
    eq(await t.evaluate(openStore, { name, options: { keys: KEYS, session: { endpoint: '/session' } } }), { tag: null, state: 'none', expiresAt: UNDEF }, 'store session with no server session')
    eq([await tc.ids(), await jarSessionId(t)], [[], null], 'after the store asked /session: [sessions the server made, JSESSIONID in the jar] (asking never creates one)')

    const step = async (path, state) => {
      const r = await t.evaluate(call, { method: 'POST', path })
      eq(r.status, 200, `POST ${path}`)
      const id = await jarSessionId(t)
      ok(typeof id === 'string' && /^[0-9A-F]{32}$/.test(id), `POST ${path}: a JSESSIONID in the jar`, id)
      eq((await tc.ids()).at(-1), id, `POST ${path}: the jar's JSESSIONID is the server's newest session ID`)
      const want = await sessionTagOf(id)
      eq(r.tag, want, `POST ${path}: the filter's X-Session-Tag on that very response = sessionTag(new ID) (set after the servlet ran)`)
      const before = Date.now()
      const s = await t.evaluate(refresh, { name })
      ok(s.ok, `refresh() after POST ${path}`, s.error)
      eq([s.session.tag, s.session.state], [want, state], `store after POST ${path}: [tag, state] (tag = sessionTag(JSESSIONID, secret))`)
      ok(typeof s.session.expiresAt === 'number' && Math.abs(s.session.expiresAt - (before + IDLE_MS)) < 60e3, `store after POST ${path}: expiresAt ≈ now + Tomcat's 30-minute idle time-out`, s.session.expiresAt)
      const api = await t.evaluate(call, { method: 'GET', path: '/api/data' })
      eq([api.status, api.tag], [200, want], `GET /api/data after POST ${path}: [status, X-Session-Tag] (the filter, on an ordinary response)`)
      const direct = await t.evaluate(call, { method: 'GET', path: '/session' })
      eq(direct.body.tag, want, `GET /session after POST ${path}: tag`)
      return { id, tag: want }
    }
    const anon = await step('/visit', 'anonymous')
    const inDocument = await t.evaluate(() => window.vt.cookie('JSESSIONID'))
    eq(inDocument, null, 'JSESSIONID in document.cookie while the jar holds it (HttpOnly: scripts cannot read it)')
    const alice = await step('/login?user=alice', 'active')
    ok(alice.id !== anon.id && alice.tag !== anon.tag, 'login (changeSessionId) gave a new ID and a new tag', [anon, alice])
    const bob = await step('/login?user=bob', 'active')
    ok(bob.tag !== alice.tag, 'a second login (changeSessionId) gave a new tag', [alice.tag, bob.tag])

    eq(await t.evaluate(setMany, { name, values: { cart: ['apple'], visit: 'v', ...PERSISTENT } }), null, 'setMany of session and persistent data')
    const logout = await t.evaluate(call, { method: 'POST', path: '/logout' })
    eq([logout.status, logout.tag], [200, ''], 'POST /logout (invalidate): [status, X-Session-Tag] (empty: no session)')
    const out = await t.evaluate(refresh, { name })
    eq([out.ok, out.session.tag, out.session.state], [true, null, 'none'], 'store after logout: [refresh ok, tag, state]')
    eq((await t.evaluate(call, { method: 'GET', path: '/api/data' })).tag, '', 'GET /api/data after logout: X-Session-Tag')
    eq((await tc.ids()).length, 3, 'sessions/IDs the server made (anonymous visit, two logins), none by any /session request')
    await checkNoRawId(t, { name, ids: await tc.ids(), when: 'j1' })
  }),
}

// ---- j2: login with changeSessionId() purges session data in two tabs ----

const loginTwoTabs = {
  id: 'j2',
  name: 'Tomcat 10, two tabs, { endpoint }: login with changeSessionId() (from an anonymous session, then as another user) purges session data in both tabs (tab 2 through the broadcast: only tab 1 asks); persistent data stays',
  group: 'live',
  unavailable: tomcatUnavailable,
  run: ({ tab }) => tomcatApp(async (tc) => {
    const name = 'j2'
    const t1 = await tab()
    await t1.goto(tc.url('/?tab=1'))
    await t1.evaluate(forgetJsessionid)
    const t2 = await tab()
    await t2.goto(tc.url('/?tab=2'))
    for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) {
      await t.evaluate(captureConsole)
      eq(await t.evaluate(openStore, { name, options: { keys: KEYS, session: { endpoint: '/session' } }, watch: ['cart', 'visit'] }), { tag: null, state: 'none', expiresAt: UNDEF }, `${which}: session before any`)
    }
    /** A server step in tab 1, refresh() there, tab 2 hears it; returns the new tag. */
    const step = async (path, state) => {
      const count = await t2.evaluate(changes, { name })
      const mark = (await tc.log()).length
      eq((await t1.evaluate(call, { method: 'POST', path })).status, 200, `POST ${path}`)
      const r = await t1.evaluate(refresh, { name })
      ok(r.ok, `tab 1: refresh() after POST ${path}`, r.error)
      const want = await sessionTagOf(await jarSessionId(t1))
      eq([r.session.tag, r.session.state], [want, state], `tab 1 after POST ${path}: [tag, state] (tag = sessionTag(JSESSIONID))`)
      const seen = await until(t2, changeAfter, { name, count }, `tab 2: a change event (POST ${path})`)
      eq([seen.session.tag, seen.session.state, seen.change.source], [want, state, 'remote'], `tab 2 after POST ${path}: [tag, state, change.source]`)
      const asked = (await tc.log()).slice(mark).filter((l) => l.startsWith('GET /session ')).map((l) => l.slice('GET /session '.length))
      eq(asked, ['1'], `tabs that asked GET /session after POST ${path} (tab 2 learnt it from tab 1)`)
      return want
    }
    const purged = async (when, previousTag, tag) => {
      for (const [t, which, source] of [[t1, 'tab 1', 'local'], [t2, 'tab 2', 'remote']]) {
        const r = await t.evaluate(look, { name, keys: ALL })
        eq(r.values, { cart: UNDEF, visit: UNDEF, ...PERSISTENT }, `${which} ${when}: values (session data purged, persistent kept)`)
        eq([r.cookies, r.idb], [[`${name}_prefs`], ['notes']], `${which} ${when}: [store cookies, raw IndexedDB keys]`)
        const last = r.log.change.at(-1)
        eq([last.previous.tag, last.current.tag, last.source], [previousTag, tag, source], `${which} ${when}: change event [previous.tag, current.tag, source]`)
        if (which === 'tab 2') {
          for (const key of ['cart', 'visit']) ok(r.log.watch.some((e) => e.key === key && e.value === UNDEF && e.source === 'remote'), `tab 2 ${when}: watch('${key}') heard the purge`, r.log.watch)
        }
      }
    }

    const anonTag = await step('/visit', 'anonymous')
    eq(await t1.evaluate(setMany, { name, values: { cart: ['anonymous apple'], visit: 'anonymous visit', ...PERSISTENT } }), null, 'tab 1: setMany in the anonymous session')
    eq((await t2.evaluate(look, { name, keys: ALL })).values, { cart: ['anonymous apple'], visit: 'anonymous visit', ...PERSISTENT }, 'tab 2 reads tab 1\'s data')
    const idsBefore = await tc.ids()

    const aliceTag = await step('/login?user=alice', 'active')
    const idsAfter = await tc.ids()
    eq(idsAfter.length, idsBefore.length + 1, 'login rotated the ID of the same session (changeSessionId: one new ID, no new session)')
    ok(aliceTag !== anonTag, 'login gave a new tag', [anonTag, aliceTag])
    await purged('after login (anonymous → alice, no keepOnLogin)', anonTag, aliceTag)

    eq(await t2.evaluate(setMany, { name, values: { cart: ['alice pear'], visit: 'alice visit' } }), null, 'tab 2: setMany as alice')
    eq((await t1.evaluate(look, { name, keys: ['cart', 'visit'] })).values, { cart: ['alice pear'], visit: 'alice visit' }, 'tab 1 reads tab 2\'s data written under the new tag')
    const bobTag = await step('/login?user=bob', 'active')
    await purged('after login as bob (changeSessionId again)', aliceTag, bobTag)

    const ids = await tc.ids()
    eq(ids.length, 3, 'session IDs the server made: the anonymous one and two rotations')
    for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) await checkNoRawId(t, { name, ids, when: `j2 ${which}` })
  }),
}

// ---- j3: invalidate() purges ----

const invalidatePurges = {
  id: 'j3',
  name: 'Tomcat 10, two tabs, { endpoint }: logout with invalidate() → tag null, one end event and session data purged in both tabs; end({ server: true }) → DELETE /session invalidates the server session',
  group: 'live',
  unavailable: tomcatUnavailable,
  run: ({ tab }) => tomcatApp(async (tc) => {
    const name = 'j3'
    const t1 = await tab()
    await t1.goto(tc.url('/?tab=1'))
    await t1.evaluate(forgetJsessionid)
    const t2 = await tab()
    await t2.goto(tc.url('/?tab=2'))
    for (const t of [t1, t2]) {
      await t.evaluate(captureConsole)
      await t.evaluate(openStore, { name, options: { keys: KEYS, session: { endpoint: '/session' } } })
    }
    const login = async (user) => {
      const count = await t2.evaluate(changes, { name })
      eq((await t1.evaluate(call, { method: 'POST', path: `/login?user=${user}` })).status, 200, `POST /login?user=${user}`)
      const r = await t1.evaluate(refresh, { name })
      const want = await sessionTagOf(await jarSessionId(t1))
      eq([r.ok, r.session.tag, r.session.state], [true, want, 'active'], `tab 1 after login as ${user}: [refresh ok, tag, state]`)
      await until(t2, changeAfter, { name, count }, `tab 2: a change event (login as ${user})`)
      eq(await t1.evaluate(setMany, { name, values: { cart: [user], visit: `${user} visit`, ...PERSISTENT } }), null, `tab 1: setMany as ${user}`)
      eq((await t2.evaluate(look, { name, keys: ['cart'] })).values.cart, [user], `tab 2 reads ${user}'s cart`)
      return want
    }
    const ended = async (when, tag, ends) => {
      for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) {
        const r = await t.evaluate(look, { name, keys: ALL })
        eq([r.tag, r.state, r.log.end.length, r.log.end.at(-1)?.tag], [null, 'none', ends, tag], `${which} ${when}: [tag, state, end events, last end.tag]`)
        eq(r.values, { cart: UNDEF, visit: UNDEF, ...PERSISTENT }, `${which} ${when}: values (session data purged, persistent kept)`)
        eq([r.cookies, r.idb], [[`${name}_prefs`], ['notes']], `${which} ${when}: [store cookies, raw IndexedDB keys]`)
      }
    }

    const aliceTag = await login('alice')
    const count = await t2.evaluate(changes, { name })
    eq((await t1.evaluate(call, { method: 'POST', path: '/logout' })).status, 200, 'POST /logout (invalidate)')
    const out = await t1.evaluate(refresh, { name })
    ok(out.ok, 'tab 1: refresh() after logout', out.error)
    await until(t2, changeAfter, { name, count }, 'tab 2: a change event (logout)')
    await ended('after invalidate()', aliceTag, 1)

    const bobTag = await login('bob')
    const bobId = await jarSessionId(t1)
    const mark = (await tc.log()).length
    succeeded(await t1.evaluate(({ name }) => window.vt.attempt(() => window.vt.stores[name].session.end({ server: true })), { name }), 'tab 1: session.end({ server: true })')
    ok((await tc.log()).slice(mark).includes('DELETE /session 1'), 'Tomcat received DELETE /session from tab 1', (await tc.log()).slice(mark))
    await until(t2, ({ name }) => (window.vt.stores[name].session.tag === null ? true : null), { name }, 'tab 2: tag null after end({ server: true })')
    await ended('after end({ server: true })', bobTag, 2)
    // The browser still sends bob's JSESSIONID, but the server session is gone.
    eq(await jarSessionId(t1), bobId, 'the jar still holds bob\'s JSESSIONID (Tomcat does not clear it)')
    eq((await t1.evaluate(call, { method: 'GET', path: '/session' })).body, { tag: null }, 'GET /session with bob\'s old cookie after DELETE (invalidated on the server)')

    const ids = await tc.ids()
    for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) await checkNoRawId(t, { name, ids, when: `j3 ${which}` })
  }),
}

// ---- j4: keepOnLogin ----

const keepOnLogin = {
  id: 'j4',
  name: 'Tomcat 10, keepOnLogin: a cart made with no session, then in an anonymous session, moves to the session of the login (changeSessionId); login as another user and logout purge it',
  group: 'live',
  unavailable: tomcatUnavailable,
  run: ({ tab }) => tomcatApp(async (tc) => {
    const name = 'j4'
    const t = await tab()
    await t.goto(tc.url('/?tab=1'))
    await t.evaluate(captureConsole)
    await t.evaluate(forgetJsessionid)
    eq(await t.evaluate(openStore, { name, options: { keys: KEYS, session: { endpoint: '/session', keepOnLogin: true } } }), { tag: null, state: 'none', expiresAt: UNDEF }, 'session before any')
    const step = async (path, state) => {
      eq((await t.evaluate(call, { method: 'POST', path })).status, 200, `POST ${path}`)
      const r = await t.evaluate(refresh, { name })
      ok(r.ok, `refresh() after POST ${path}`, r.error)
      eq(r.session.state, state, `state after POST ${path}`)
      if (state !== 'none') eq(r.session.tag, await sessionTagOf(await jarSessionId(t)), `tag after POST ${path} = sessionTag(JSESSIONID)`)
      return { ...(await t.evaluate(look, { name, keys: ALL })), raw: await t.evaluate(rawRecordsOf, { name }) }
    }
    eq(await t.evaluate(setMany, { name, values: { cart: ['no-session apple'], visit: 'no-session visit', ...PERSISTENT } }), null, 'setMany with no session')

    let r = await step('/visit', 'anonymous')
    eq(r.values, { cart: ['no-session apple'], visit: 'no-session visit', ...PERSISTENT }, 'after an anonymous session starts: the no-session cart and visit are kept')
    const anonTag = r.tag
    eq(await t.evaluate(setMany, { name, values: { cart: ['no-session apple', 'anonymous pear'] } }), null, 'add to the cart in the anonymous session')

    r = await step('/login?user=alice', 'active')
    eq(r.values, { cart: ['no-session apple', 'anonymous pear'], visit: 'no-session visit', ...PERSISTENT }, 'after login as alice (changeSessionId from the anonymous session): cart and visit kept')
    ok(r.raw.cart?.includes(r.tag) && !r.raw.cart.includes(anonTag), 'the raw IndexedDB cart record moved to the new tag (holds it, not the anonymous one)', r.raw.cart)

    r = await step('/login?user=bob', 'active')
    eq(r.values, { cart: UNDEF, visit: UNDEF, ...PERSISTENT }, 'after login as bob (another signed-in session): cart and visit purged')
    eq([r.cookies, r.idb], [[`${name}_prefs`], ['notes']], 'after login as bob: [store cookies, raw IndexedDB keys]')

    await step('/logout', 'none')
    await step('/visit', 'anonymous')
    eq(await t.evaluate(setMany, { name, values: { cart: ['visitor plum'], visit: 'visitor' } }), null, 'setMany in a new anonymous session')
    r = await step('/login?user=carol', 'active')
    eq(r.values, { cart: ['visitor plum'], visit: 'visitor', ...PERSISTENT }, 'after login as carol from the anonymous session: kept')
    r = await step('/logout', 'none')
    eq(r.values, { cart: UNDEF, visit: UNDEF, ...PERSISTENT }, 'after logout (invalidate): cart and visit purged (keepOnLogin never keeps at logout)')
    eq(r.log.change.map((c) => `${c.previous.state}→${c.current.state}`),
      ['unknown→none', 'none→anonymous', 'anonymous→active', 'active→active', 'active→none', 'none→anonymous', 'anonymous→active', 'active→none'], 'change events (previous.state→current.state)')
    await checkNoRawId(t, { name, ids: await tc.ids(), when: 'j4' })
  }),
}

// ---- j5: the header source ----

const headerSource = {
  id: 'j5',
  name: "Tomcat 10, { header: 'X-Session-Tag' } + store.session.fetch: SessionTagFilter's header on an ordinary API response carries login, a rotation (changeSessionId) and logout to the store, in two tabs; no /session requests",
  group: 'live',
  unavailable: tomcatUnavailable,
  run: ({ tab }) => tomcatApp(async (tc) => {
    const name = 'j5'
    const sync = { header: 'X-Session-Tag' }
    const t1 = await tab()
    await t1.goto(tc.url('/?tab=1'))
    await t1.evaluate(forgetJsessionid)
    const t2 = await tab()
    await t2.goto(tc.url('/?tab=2'))
    for (const t of [t1, t2]) {
      await t.evaluate(captureConsole)
      await t.evaluate(openStore, { name, options: { keys: KEYS, session: sync }, watch: ['cart'] })
    }
    /** session.fetch('/api/data') in tab 1; checks the answer, the store's tag, and tab 2's change. */
    const api = async (when, { user, tag, state, changed = true }) => {
      const count = await t2.evaluate(changes, { name })
      const r = await t1.evaluate(sessionFetch, { name, path: '/api/data' })
      ok(r.ok, `tab 1: session.fetch('/api/data') ${when}`, r.error)
      eq([r.value.status, r.value.body, r.value.tag], [200, { user }, tag ?? ''], `tab 1: session.fetch('/api/data') ${when}: [status, body, X-Session-Tag] (the app's answer is passed through)`)
      // An empty header with no session known yet may leave state 'unknown' (nothing to change): tag only then.
      if (state) eq([r.session.tag, r.session.state], [tag, state], `tab 1 store ${when}: [tag, state]`)
      else eq(r.session.tag, tag, `tab 1 store ${when}: tag`)
      if (changed) {
        const seen = await until(t2, changeAfter, { name, count }, `tab 2: a change event (${when})`)
        eq([seen.session.tag, seen.change.source], [tag, 'remote'], `tab 2 ${when}: [tag, change.source]`)
      }
    }
    await api('with no session', { user: null, tag: null, changed: false })
    // Login through a plain fetch: the store cannot see it until a response of session.fetch.
    eq((await t1.evaluate(call, { method: 'POST', path: '/login?user=alice' })).status, 200, 'POST /login?user=alice (plain fetch)')
    eq((await t1.evaluate(look, { name, keys: [] })).tag, null, 'tab 1: tag before any session.fetch response (a plain fetch is not read)')
    const aliceTag = await sessionTagOf(await jarSessionId(t1))
    await api('after login', { user: 'alice', tag: aliceTag, state: 'active' })
    eq(await t1.evaluate(setMany, { name, values: { cart: ['apple'], visit: 'alice visit', ...PERSISTENT } }), null, 'tab 1: setMany as alice')

    // The server rotates the ID (privilege change, say); an ordinary API response brings the news.
    eq((await t1.evaluate(call, { method: 'POST', path: '/rotate' })).status, 200, 'POST /rotate (changeSessionId, plain fetch)')
    eq((await t2.evaluate(look, { name, keys: ['cart'] })).values.cart, ['apple'], 'tab 2: cart before the store saw the rotation')
    const rotatedTag = await sessionTagOf(await jarSessionId(t1))
    ok(rotatedTag !== aliceTag, 'the rotation gave a new tag', [aliceTag, rotatedTag])
    await api('after the rotation', { user: 'alice', tag: rotatedTag, state: 'active' })
    for (const [t, which, source] of [[t1, 'tab 1', 'local'], [t2, 'tab 2', 'remote']]) {
      const r = await t.evaluate(look, { name, keys: ALL })
      eq(r.values, { cart: UNDEF, visit: UNDEF, ...PERSISTENT }, `${which} after the rotation: values (session data purged, persistent kept)`)
      eq([r.cookies, r.idb], [[`${name}_prefs`], ['notes']], `${which} after the rotation: [store cookies, raw IndexedDB keys]`)
      eq([r.log.change.at(-1).previous.tag, r.log.change.at(-1).current.tag, r.log.change.at(-1).source], [aliceTag, rotatedTag, source], `${which}: change event [previous.tag, current.tag, source]`)
    }

    eq((await t1.evaluate(call, { method: 'POST', path: '/logout' })).status, 200, 'POST /logout (plain fetch)')
    await api('after logout', { user: null, tag: null, state: 'none' })
    for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) {
      const r = await t.evaluate(look, { name, keys: [] })
      eq([r.log.end.length, r.log.end[0]?.tag], [1, rotatedTag], `${which} after logout: [end events, end.tag]`)
    }
    eq((await tc.log()).filter((l) => l.includes(' /session ')), [], 'requests to /session (the header source makes none)')
    const ids = await tc.ids()
    for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) await checkNoRawId(t, { name, ids, when: `j5 ${which}` })
  }),
}

// ---- j6: { cookie: 'JSESSIONID' } is refused ----

const cookieSourceRefused = {
  id: 'j6',
  name: "Tomcat 10: JSESSIONID is HttpOnly (in the jar, not in document.cookie), and VisitStore.sessionSync({ cookie: 'JSESSIONID' }) throws INVALID_OPTIONS saying so and naming { endpoint } and { header }",
  group: 'live',
  unavailable: tomcatUnavailable,
  run: ({ tab }) => tomcatApp(async (tc) => {
    const name = 'j6'
    const t = await tab()
    await t.goto(tc.url('/?tab=1'))
    await t.evaluate(captureConsole)
    await t.evaluate(forgetJsessionid)
    eq((await t.evaluate(call, { method: 'POST', path: '/login?user=alice' })).status, 200, 'POST /login?user=alice')
    const id = await jarSessionId(t)
    ok(typeof id === 'string' && id.length === 32, 'JSESSIONID in the browser\'s jar', id)
    eq(await t.evaluate(() => window.vt.cookie('JSESSIONID')), null, 'JSESSIONID in document.cookie (HttpOnly by default in Tomcat)')

    const r = await t.evaluate(async ({ name, keys }) => {
      const vt = window.vt
      const made = await vt.attempt(async () => {
        const store = vt.open(name, { keys, session: window.VisitStore.sessionSync({ cookie: 'JSESSIONID' }) })
        await store.ready
        return vt.session(name)
      })
      return { made, events: vt.logs[name] ?? null }
    }, { name, keys: KEYS })
    // On a build that takes the source, the store silently sees no session: that is what this refuses.
    ok(!r.made.ok, "sessionSync({ cookie: 'JSESSIONID' }) must throw (a store made with it sees no session at all)", r)
    eq([r.made.error.code, r.made.error.isVisitStoreError], ['INVALID_OPTIONS', true], "sessionSync({ cookie: 'JSESSIONID' }): [error.code, instanceof VisitStoreError]")
    const message = r.made.error.message
    ok(/HttpOnly/i.test(message), 'the message says the cookie is HttpOnly', message)
    ok(/JSESSIONID/.test(message), 'the message names the cookie', message)
    ok(/endpoint/.test(message) && /header/.test(message), 'the message names sessionSync({ endpoint }) and sessionSync({ header }) as what to use', message)
    await checkNoRawId(t, { name, ids: await tc.ids(), when: 'j6', extra: { error: JSON.stringify(r) } })
  }),
}

// ---- j7 / j8: the session ID in the URL (;jsessionid=) ----

/** The page at `/;jsessionid=…` reached from /start (Tomcat's encodeRedirectURL); the raw ID from the server. */
async function landOnRewrittenUrl(t, tc) {
  await t.goto(tc.url('/start?tab=1'))
  const href = await t.evaluate(() => location.href)
  const ids = await tc.ids()
  const id = ids.at(-1)
  ok(ids.length === 1 && href === tc.url(`/;jsessionid=${id}?tab=1`), 'the page was reached at Tomcat\'s rewritten URL /;jsessionid=<the new session ID>', { href, ids })
  return id
}

/** The store on a `;jsessionid=` page: the spec's report, client-only data, and no raw ID anywhere. */
async function checkUrlSessionPage(t, tc, { name, cookiesBlocked }) {
  await t.evaluate(captureConsole)
  const opened = await t.evaluate(async ({ name, keys }) => {
    const vt = window.vt
    const made = await vt.attempt(async () => {
      const store = vt.open(name, { keys, session: window.VisitStore.sessionSync({ endpoint: '/session', timeout: 2000 }) })
      await store.ready
    })
    return { made, status: vt.stores[name]?.status ?? null, session: vt.stores[name] ? vt.session(name) : null }
  }, { name, keys: CLIENT_KEYS })
  succeeded(opened.made, 'createStore + ready on the ;jsessionid= page')
  eq(opened.status?.session, 'unavailable', 'status.session on a page whose URL carries the session ID')
  if (cookiesBlocked) eq(opened.status?.cookies, 'unavailable', 'status.cookies with cookies blocked')
  const syncErrors = () => t.evaluate(({ name }) => window.vt.logs[name].error.filter((e) => e.code === 'SESSION_SYNC_FAILED'), { name })
  let errors = await syncErrors()
  eq(errors.length, 1, 'SESSION_SYNC_FAILED error events (the URL session is reported once)')
  const message = errors[0].message
  ok(/URL/.test(message), 'the error message says the session ID travels in the URL', message)
  ok(message.includes('<tracking-mode>COOKIE</tracking-mode>'), 'the error message names <tracking-mode>COOKIE</tracking-mode>', message)

  const refreshed = await t.evaluate(refresh, { name })
  ok(refreshed.ok || refreshed.error?.code === 'SESSION_SYNC_FAILED', 'refresh() resolves or rejects with SESSION_SYNC_FAILED only', refreshed)
  eq(await t.evaluate(({ name }) => window.vt.stores[name].status.session, { name }), 'unavailable', 'status.session after refresh()')
  errors = await syncErrors()
  eq(errors.length, 1, 'SESSION_SYNC_FAILED error events after refresh() (still reported once)')

  // Client-only data keeps working in this page.
  const data = { cart: ['apple', 'pear'], notes: { text: 'client only' }, draft: 'a draft' }
  const used = await t.evaluate(async ({ name, data }) => {
    const vt = window.vt
    const store = vt.stores[name]
    const wrote = await vt.attempt(() => store.setMany(data))
    const read = {}
    for (const key of Object.keys(data)) read[key] = vt.u(await store.get(key))
    return { wrote, read, status: store.status }
  }, { name, data })
  succeeded(used.wrote, 'setMany of client-only data on the ;jsessionid= page')
  eq(used.read, data, 'client-only data read back on the ;jsessionid= page')
  return { ids: await tc.ids(), extra: { refresh: JSON.stringify(refreshed) } }
}

const urlSessionFirstResponse = {
  id: 'j7',
  name: 'Tomcat 10, URL rewriting on the first response (cookies on): the page at /;jsessionid=<ID> → status.session "unavailable" and one SESSION_SYNC_FAILED naming the URL and <tracking-mode>COOKIE</tracking-mode>; client-only data works (also after a reload); the raw ID is nowhere',
  group: 'live',
  unavailable: tomcatUnavailable,
  run: ({ tab }) => tomcatApp(async (tc) => {
    const name = 'j7'
    const t = await tab()
    await t.goto(tc.url('/?tab=0'))
    await t.evaluate(forgetJsessionid)
    const id = await landOnRewrittenUrl(t, tc)
    eq(await jarSessionId(t), id, 'cookies on: Tomcat also set JSESSIONID (the rewriting is only for this first response)')
    const { ids, extra } = await checkUrlSessionPage(t, tc, { name, cookiesBlocked: false })
    eq(await t.evaluate(({ name }) => window.vt.stores[name].status.indexeddb, { name }), 'ok', 'status.indexeddb')
    await checkNoRawId(t, { name, ids, when: 'j7', extra })

    // Durable: the same page reloaded (still at the ;jsessionid= URL) reads the session and persistent data.
    await t.reload()
    await t.evaluate(captureConsole)
    const again = await t.evaluate(async ({ name, keys }) => {
      const vt = window.vt
      const store = vt.open(name, { keys, session: window.VisitStore.sessionSync({ endpoint: '/session', timeout: 2000 }) })
      await store.ready
      return { cart: vt.u(await store.get('cart')), notes: vt.u(await store.get('notes')), session: store.status.session }
    }, { name, keys: CLIENT_KEYS })
    eq(again, { cart: ['apple', 'pear'], notes: { text: 'client only' }, session: 'unavailable' }, 'after a reload of the ;jsessionid= page: [cart, notes, status.session]')
    await checkNoRawId(t, { name, ids: await tc.ids(), when: 'j7 after the reload' })
  }),
}

/**
 * A browser of its own that refuses every cookie (COOKIE_BLOCKING): Chromium has no switch for
 * it, so its profile's Preferences file is written before launch.
 */
async function launchCookieBlocking(engine) {
  if (engine.name === 'firefox') return { browser: await engine.launch({ prefs: { 'network.cookie.cookieBehavior': 2 } }) }
  if (engine.name === 'webkit') return { browser: await engine.launch({ args: ['--cookies-policy=never'] }) }
  const profile = tempDir('chromium-nocookies')
  mkdirSync(join(profile, 'Default'))
  writeFileSync(join(profile, 'Default/Preferences'), JSON.stringify({ profile: { default_content_setting_values: { cookies: 2 } } }))
  return { browser: await engine.launch({ profile }), profile }
}

const urlSessionCookiesBlocked = {
  id: 'j8',
  name: 'Tomcat 10, cookies blocked in the browser, Tomcat rewriting URLs (;jsessionid=): fetch(\'/session\') carries no session; status.session "unavailable" + one SESSION_SYNC_FAILED; client-only data works in the page; the raw ID is nowhere',
  group: 'live',
  unavailable: (engine) => tomcatUnavailable() ?? (COOKIE_BLOCKING[engine.name] ? null : `no way to block cookies in ${engine.name}`),
  run: ({ engine }) => tomcatApp(async (tc) => {
    const name = 'j8'
    const { browser, profile } = await launchCookieBlocking(engine)
    try {
      const t = await browser.newTab()
      const id = await landOnRewrittenUrl(t, tc)
      // The browser really refuses cookies (how: COOKIE_BLOCKING), so Tomcat keeps rewriting.
      eq(await jarSessionId(t), null, `JSESSIONID in the jar with ${COOKIE_BLOCKING[engine.name]}`)
      eq(await t.evaluate(() => { document.cookie = 'j8_probe=1; Path=/'; return document.cookie }), '', 'document.cookie after writing a probe cookie')
      const fetched = await t.evaluate(async ({ id }) => {
        const plain = await (await fetch('/session', { cache: 'no-store' })).json()
        const rewritten = await (await fetch(`/session;jsessionid=${id}`, { cache: 'no-store' })).json()
        return { plain, rewritten }
      }, { id })
      eq(fetched.plain, { tag: null }, 'fetch(\'/session\') from the ;jsessionid= page (no cookie: no session)')
      eq(fetched.rewritten.tag, await sessionTagOf(id), 'fetch(\'/session;jsessionid=<ID>\') (Tomcat does take the URL\'s ID: the session exists)')
      eq((await tc.log()).filter((l) => l.startsWith('GET / ')).length, 1, 'the page itself was served once')

      const { ids, extra } = await checkUrlSessionPage(t, tc, { name, cookiesBlocked: true })
      await checkNoRawId(t, { name, ids, when: 'j8', extra })
    } finally {
      await browser.close().catch(() => browser.kill())
      if (profile) {
        try {
          removeDir(profile)
        } catch {
          // Removed at exit instead.
        }
      }
    }
  }),
}

// ---- j9: the safe setting ----

const cookieOnlyTracking = {
  id: 'j9',
  name: 'Tomcat 10 with <tracking-mode>COOKIE</tracking-mode> (README\'s safe setting, java/cookie-only/web.xml): no ;jsessionid= on the first response, a ;jsessionid= in a URL is ignored, and the same first visit gives the store a normal session',
  group: 'live',
  unavailable: tomcatUnavailable,
  run: ({ tab }) => tomcatApp(async (tc) => {
    // From Node: the redirect of a new session is not rewritten, and an ID in the URL carries no session.
    const start = await fetch(tc.url('/start?tab=1'), { redirect: 'manual' })
    eq([start.status, start.headers.get('location')], [302, '/?tab=1'], 'GET /start (a new session): [status, Location] (no ;jsessionid=)')
    const id = /JSESSIONID=(\w+)/.exec(start.headers.get('set-cookie') ?? '')?.[1]
    ok(id && (await tc.ids()).includes(id), 'GET /start set the new session\'s JSESSIONID cookie', start.headers.get('set-cookie'))
    eq(await (await fetch(tc.url(`/session;jsessionid=${id}`))).json(), { tag: null }, 'GET /session;jsessionid=<ID> without the cookie (the URL\'s ID is ignored)')
    eq((await (await fetch(tc.url('/session'), { headers: { cookie: `JSESSIONID=${id}` } })).json()).tag, await sessionTagOf(id), 'GET /session with the cookie: tag = sessionTag(ID)')

    // In the browser: the first visit lands on a plain URL and the store syncs as usual.
    const name = 'j9'
    const t = await tab()
    await t.goto(tc.url('/?tab=0'))
    await t.evaluate(forgetJsessionid)
    await t.goto(tc.url('/start?tab=1'))
    eq(await t.evaluate(() => location.href), tc.url('/?tab=1'), 'the page reached from /start (no ;jsessionid=)')
    await t.evaluate(captureConsole)
    const session = await t.evaluate(openStore, { name, options: { keys: CLIENT_KEYS, session: { endpoint: '/session', timeout: 2000 } } })
    const jarId = await jarSessionId(t)
    eq([session.tag, session.state], [await sessionTagOf(jarId), 'anonymous'], 'store after the first visit: [tag, state] (tag = sessionTag(JSESSIONID))')
    const r = await t.evaluate(({ name }) => ({ status: window.vt.stores[name].status.session, errors: window.vt.logs[name].error }), { name })
    eq(r, { status: 'ok', errors: [] }, 'store after the first visit: [status.session, error events]')
    await checkNoRawId(t, { name, ids: await tc.ids(), when: 'j9' })
  }, { cookieOnly: true }),
}

// ---- j10: README shows the tested Java ----

/** README.md's ```java blocks. */
function readmeJavaBlocks() {
  const readme = readFileSync(join(JAVA_SOURCES, '../../../README.md'), 'utf8')
  return [...readme.matchAll(/```java\n([^]*?)```/g)].map((m) => m[1])
}

const readmeJava = {
  id: 'j10',
  name: "README.md shows test/browser/java/SessionTagServlet.java and SessionTagFilter.java verbatim (the classes j1–j9 run)",
  group: 'live',
  unavailable: (engine) => (engine.name === 'chromium' ? null : 'a file check, run once (with Chromium)'),
  async run() {
    const blocks = readmeJavaBlocks()
    for (const file of ['SessionTagServlet.java', 'SessionTagFilter.java']) {
      const source = readFileSync(join(JAVA_SOURCES, file), 'utf8')
      ok(blocks.includes(source), `README.md has a \`\`\`java block that is test/browser/java/${file} verbatim (${blocks.length} java blocks in README.md)`,
        blocks.map((b) => b.slice(0, 60)))
    }
  },
}

export const tomcatScenarios = [servletEndpoint, loginTwoTabs, invalidatePurges, keepOnLogin, headerSource, cookieSourceRefused, urlSessionFirstResponse, urlSessionCookiesBlocked, cookieOnlyTracking, readmeJava]
