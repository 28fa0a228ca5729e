// Server-session sync and cross-tab scenarios (7a–9), run by run.mjs after scenarios.mjs's own.
// 7a/7b start a real Express + express-session app (express-server.mjs), 8a/8b PHP's built-in
// server (php-server.mjs), each for the scenario only and closed in a finally. Page code is plain
// functions over window.vt (page/helpers.js), as in scenarios.mjs.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { eq, ok, show, succeeded, UNDEF, until } from './lib/check.mjs'
import { loadServerModule, startExpressServer, TAG_SECRET } from './express-server.mjs'
import { DOCROOT, phpMissing, readmePhpEndpoint, startPhpServer } from './php-server.mjs'
import { changeAfter, changes, openStore, refresh, setMany } from './lib/page-session.mjs'
import { sleep, waitFor } from './lib/util.mjs'


/** Session data in both tiers, and persistent data in both tiers. */
const KEYS = {
  cart: { lifetime: 'session' }, // IndexedDB, stamped with the server session's tag
  visit: { lifetime: 'session', serverVisible: true }, // session cookie, removed on a session change
  prefs: { lifetime: 'persistent', serverVisible: true }, // persistent cookie
  notes: { lifetime: 'persistent' }, // persistent IndexedDB record
}
const PERSISTENT = { prefs: 'dark', notes: { text: 'kept across sessions' } }

// ---- page-side functions (serialised into the page; only window.vt and VisitStore inside) ----

/** Everything a scenario checks about a store in this tab. */
const look = async ({ name, keys }) => {
  const vt = window.vt
  const store = vt.stores[name]
  const values = {}
  for (const key of keys) values[key] = vt.u(await store.get(key))
  const raw = await vt.rawIdb(name)
  return {
    ...vt.session(name),
    values,
    // The store's own marks ($s: the browser session, $c: the journal's commit mark, $x: the stamps end() ended) are left out.
    cookies: vt.cookies(`${name}_`).map(([n]) => n).filter((n) => ![`${name}_$s`, `${name}_$c`, `${name}_$x`].includes(n)),
    idb: raw.map(([k]) => k).filter((k) => !k.startsWith('$')).sort(),
    // A session record's liveness key is "<browser-session stamp>=<server tag>" ("=" alone: no session).
    rawTag: Object.fromEntries(raw.filter(([, r]) => typeof r?.k === 'string' && r.k.includes('=')).map(([k, r]) => [k, r.k.slice(r.k.indexOf('=') + 1) || null])),
    log: vt.logs[name],
  }
}

const call = ({ method, path }) => window.vt.call(method, path)

/**
 * A new tab of an Express app at /?tab=`n`: POSTs `post` first when given (a session: '/visit',
 * '/login?user=…'), holds its channel messages when `hold` (holdMessages), opens the store and
 * checks its session state; resolves to the tab and its session view.
 */
async function storeTab(tab, app, n, { name, options, post, hold = false, state }) {
  const t = await tab()
  await t.goto(app.url(`/?tab=${n}`))
  if (post) eq((await t.evaluate(call, { method: 'POST', path: post })).status, 200, `tab ${n}: POST ${post}`)
  if (hold) eq(await t.evaluate(holdMessages), true, `tab ${n} holds its channel messages`)
  const session = await t.evaluate(openStore, { name, options })
  eq(session.state, state, `tab ${n}: session state`)
  return { t, session }
}

/** `user` signs in (POST /login) and tab `t` refreshes (checked ok, state active); resolves to the new tag. */
async function signIn(t, app, name, user, which = 'tab 1') {
  const { sessionTag } = await loadServerModule()
  eq((await t.evaluate(call, { method: 'POST', path: `/login?user=${user}` })).status, 200, `POST /login?user=${user}`)
  const r = await t.evaluate(refresh, { name })
  ok(r.ok, `${which}: refresh() after the login`, r.error)
  const tag = await sessionTag(app.sessionIds.at(-1), TAG_SECRET)
  eq([r.session.tag, r.session.state], [tag, 'active'], `${which} after the login: [tag (${user}'s), state]`)
  return tag
}

// ---- 7a / 7b: Express + express-session ----

async function expressApp(run) {
  const app = await startExpressServer()
  try {
    return await run(app)
  } finally {
    await app.close()
  }
}

const expressTwoTabs = {
  id: '7a',
  name: 'Express + express-session, two tabs: re-login (new session ID) purges session data in both tabs via the broadcast; logout; a 500 endpoint purges nothing; DELETE via end({ server: true })',
  group: 'live',
  run: ({ tab }) => expressApp(async (app) => {
    const { sessionTag } = await loadServerModule()
    const name = 's7a'
    const options = { keys: KEYS, session: { endpoint: '/session' } }
    const all = Object.keys(KEYS)
    const t1 = await tab()
    await t1.goto(app.url('/?tab=1'))
    const t2 = await tab()
    await t2.goto(app.url('/?tab=2'))
    for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) {
      eq(await t.evaluate(openStore, { name, options, watch: ['cart', 'visit'] }), { tag: null, state: 'none', expiresAt: UNDEF }, `${which}: session before login`)
    }
    const login = async (user) => {
      const count = await t2.evaluate(changes, { name })
      eq((await t1.evaluate(call, { method: 'POST', path: `/login?user=${user}` })).status, 200, `POST /login?user=${user}`)
      const r = await t1.evaluate(refresh, { name })
      ok(r.ok, `tab 1: refresh() after login as ${user}`, r.error)
      const want = await sessionTag(app.sessionIds.at(-1), TAG_SECRET)
      eq([r.session.tag, r.session.state], [want, 'active'], `tab 1 after login as ${user}: [tag, state] (tag = sessionTag(new session ID))`)
      ok(typeof r.session.expiresAt === 'number' && Math.abs(r.session.expiresAt - (Date.now() + 3600e3)) < 60e3, 'tab 1: expiresAt ≈ the session cookie\'s expiry (1 h)', r.session.expiresAt)
      const seen = await until(t2, changeAfter, { name, count }, `tab 2: a change event (login as ${user})`)
      eq([seen.session.tag, seen.change.source, seen.change.current.tag], [want, 'remote', want], `tab 2 after login as ${user}: [tag, change.source, change.current.tag]`)
      return want
    }

    // Login, then session data (both tiers) and persistent data (both tiers), seen by tab 2.
    const tag1 = await login('alice')
    eq(await t1.evaluate(setMany, { name, values: { cart: ['apple'], visit: 'first visit', ...PERSISTENT } }), null, 'tab 1: setMany of session and persistent data')
    const before = await t2.evaluate(look, { name, keys: all })
    eq(before.values, { cart: ['apple'], visit: 'first visit', ...PERSISTENT }, 'tab 2 reads the data tab 1 wrote')
    eq(before.rawTag.cart, tag1, 'raw IndexedDB record of cart carries the session tag')

    // Log in again: req.session.regenerate() gives a new ID; only tab 1 asks the server.
    const mark = app.log.length
    const tag2 = await login('alice')
    ok(tag2 !== tag1, 'the re-login gave a new tag', [tag1, tag2])
    const asked = app.log.slice(mark).filter((r) => r.path === '/session').map((r) => `${r.method} tab ${r.tab}`)
    eq(asked, ['GET tab 1'], 'requests to /session between the re-login and tab 2\'s change event (tab 2 learnt it from the broadcast)')
    for (const [t, which, source] of [[t1, 'tab 1', 'local'], [t2, 'tab 2', 'remote']]) {
      const r = await t.evaluate(look, { name, keys: all })
      eq(r.values, { cart: UNDEF, visit: UNDEF, ...PERSISTENT }, `${which} after re-login: values (session data purged, persistent kept)`)
      eq([r.cookies, r.idb], [[`${name}_prefs`], ['notes']], `${which} after re-login: [store cookies, raw IndexedDB keys]`)
      eq([r.log.change.at(-1).previous.tag, r.log.change.at(-1).current.tag, r.log.change.at(-1).source], [tag1, tag2, source], `${which}: change event { previous.tag, current.tag, source }`)
      if (which === 'tab 2') {
        for (const key of ['cart', 'visit']) {
          ok(r.log.watch.some((e) => e.key === key && e.value === UNDEF && e.source === 'remote'), `tab 2: watch('${key}') heard the purge as a remote deletion`, r.log.watch)
        }
      }
    }
    // Tab 2 now writes under the new tag, and tab 1 reads it.
    eq(await t2.evaluate(setMany, { name, values: { cart: ['pear'], visit: 'second visit' } }), null, 'tab 2: setMany after the re-login')
    eq((await t1.evaluate(look, { name, keys: ['cart', 'visit'] })).values, { cart: ['pear'], visit: 'second visit' }, 'tab 1 reads tab 2\'s session data written under the new tag')

    // Logout: tag null in both tabs, session data gone, `end` fired.
    const beforeLogout = await t2.evaluate(changes, { name })
    eq((await t1.evaluate(call, { method: 'POST', path: '/logout' })).status, 200, 'POST /logout')
    const out = await t1.evaluate(refresh, { name })
    ok(out.ok, 'tab 1: refresh() after logout', out.error)
    await until(t2, changeAfter, { name, count: beforeLogout }, 'tab 2: a change event (logout)')
    for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) {
      const r = await t.evaluate(look, { name, keys: all })
      eq([r.tag, r.state, r.log.end.length, r.log.end[0]?.tag], [null, 'none', 1, tag2], `${which} after logout: [tag, state, end events, end.tag]`)
      eq(r.values, { cart: UNDEF, visit: UNDEF, ...PERSISTENT }, `${which} after logout: values`)
    }

    // The endpoint fails (500) while the server session really ends: refresh() rejects, nothing is purged.
    const tag3 = await login('bob')
    const counts = [await t1.evaluate(changes, { name }), await t2.evaluate(changes, { name })]
    eq(await t1.evaluate(setMany, { name, values: { cart: ['bob'], visit: 'bob visit' } }), null, 'tab 1: setMany as bob')
    app.failing = true
    eq((await t1.evaluate(call, { method: 'POST', path: '/logout' })).status, 200, 'POST /logout while /session answers 500')
    const failed = await t1.evaluate(refresh, { name })
    eq([failed.ok, failed.error?.code, failed.error?.isVisitStoreError], [false, 'SESSION_SYNC_FAILED', true], 'tab 1: refresh() with /session answering 500 [ok, error.code, instanceof VisitStoreError]')
    for (const [t, which, count] of [[t1, 'tab 1', counts[0]], [t2, 'tab 2', counts[1]]]) {
      const r = await t.evaluate(look, { name, keys: all })
      eq([r.tag, r.state, r.log.change.length], [tag3, 'active', count], `${which} after the failed refresh: [tag, state, change events] (unchanged)`)
      eq(r.values, { cart: ['bob'], visit: 'bob visit', ...PERSISTENT }, `${which} after the failed refresh: values (nothing purged)`)
      eq([r.cookies, r.idb], [[`${name}_prefs`, `${name}_visit`], ['cart', 'notes']], `${which} after the failed refresh: [store cookies, raw IndexedDB keys]`)
    }
    app.failing = false

    // end({ server: true }): DELETE /session, tag null in both tabs, session data purged.
    const endMark = app.log.length
    const ended = await t1.evaluate(({ name }) => window.vt.attempt(() => window.vt.stores[name].session.end({ server: true })), { name })
    succeeded(ended, 'tab 1: session.end({ server: true })')
    ok(app.log.slice(endMark).some((r) => r.method === 'DELETE' && r.path === '/session' && r.tab === '1'), 'the server received DELETE /session from tab 1', app.log.slice(endMark))
    await until(t2, ({ name }) => (window.vt.stores[name].session.tag === null ? true : null), { name }, 'tab 2: tag null after end({ server: true })')
    for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) {
      const r = await t.evaluate(look, { name, keys: all })
      eq([r.tag, r.state], [null, 'none'], `${which} after end({ server: true }): [tag, state]`)
      eq(r.values, { cart: UNDEF, visit: UNDEF, ...PERSISTENT }, `${which} after end({ server: true }): values (persistent data survived everything)`)
      eq([r.cookies, r.idb], [[`${name}_prefs`], ['notes']], `${which} at the end: [store cookies, raw IndexedDB keys]`)
    }
    const whoAsked = app.log.filter((r) => r.path === '/session').map((r) => `${r.method} ${r.tab}`)
    ok(whoAsked.filter((r) => r === 'GET 2').length === 1, 'tab 2 asked /session only once, at start-up (all else came over the broadcast)', whoAsked)
  }),
}

const expressKeepOnLogin = {
  id: '7b',
  name: 'Express + express-session, keepOnLogin: an anonymous cart (no session, or an anonymous one) survives login; logging in as another user purges it',
  group: 'live',
  run: ({ tab }) => expressApp(async (app) => {
    const name = 's7b'
    const options = { keys: KEYS, session: { endpoint: '/session', keepOnLogin: true } }
    const all = Object.keys(KEYS)
    const t = await tab()
    await t.goto(app.url('/?tab=1'))
    eq(await t.evaluate(openStore, { name, options }), { tag: null, state: 'none', expiresAt: UNDEF }, 'session before login')
    const step = async (method, path, state) => {
      eq((await t.evaluate(call, { method, path })).status, 200, `${method} ${path}`)
      const r = await t.evaluate(refresh, { name })
      ok(r.ok, `refresh() after ${method} ${path}`, r.error)
      eq(r.session.state, state, `session state after ${method} ${path}`)
      return t.evaluate(look, { name, keys: all })
    }
    eq(await t.evaluate(setMany, { name, values: { cart: ['anonymous apple'], visit: 'anonymous visit', ...PERSISTENT } }), null, 'setMany with no session')

    let r = await step('POST', '/login?user=alice', 'active')
    eq(r.values, { cart: ['anonymous apple'], visit: 'anonymous visit', ...PERSISTENT }, 'after login as alice: the no-session cart and visit cookie are kept')
    eq(r.rawTag.cart, r.tag, 'after login: the raw IndexedDB cart record moved to the new tag')

    r = await step('POST', '/login?user=bob', 'active')
    eq(r.values, { cart: UNDEF, visit: UNDEF, ...PERSISTENT }, 'after a second login as bob (another signed-in session): cart and visit purged')
    eq([r.cookies, r.idb], [[`${name}_prefs`], ['notes']], 'after login as bob: [store cookies, raw IndexedDB keys]')

    // An anonymous server session (the endpoint says "anonymous": true) is kept at login too.
    await step('POST', '/logout', 'none')
    await step('POST', '/visit', 'anonymous')
    eq(await t.evaluate(setMany, { name, values: { cart: ['visitor pear'], visit: 'visitor' } }), null, 'setMany in an anonymous session')
    r = await step('POST', '/login?user=carol', 'active')
    eq(r.values, { cart: ['visitor pear'], visit: 'visitor', ...PERSISTENT }, 'after login from an anonymous session: cart and visit kept')
    r = await step('POST', '/logout', 'none')
    eq(r.values, { cart: UNDEF, visit: UNDEF, ...PERSISTENT }, 'after logout: cart and visit purged (keepOnLogin never keeps at logout)')
    eq(r.log.change.map((c) => `${c.previous.state}→${c.current.state}`), ['unknown→none', 'none→active', 'active→active', 'active→none', 'none→anonymous', 'anonymous→active', 'active→none'], 'change events (previous.state→current.state)')
  }),
}

// ---- 7c: the first answer's purge and what the page wrote while waiting for it ----

/** How the call kept in vt.pending (a vt.attempt) ended: { ok, error } (null when none). */
const pendingOutcome = () => window.vt.pending.then((r) => ({ ok: r.ok, error: r.error ?? null }))

/** The liveness key `k` of the raw record of `key` (null when there is none), read without visitstore. */
const rawK = async ({ name, key }) => (await window.vt.rawIdb(name)).find(([k]) => k === key)?.[1]?.k ?? null

/** Waits (up to 5 s) until the server's log has a request `seen` accepts; whether it has. */
const serverSaw = (app, seen) => waitFor(() => app.log.some(seen), 5000, 'a request').then(() => true, () => false)


/**
 * Opens the store and, before its first session answer, sets `cookie` (resolves at once) and
 * `record` (waits for the answer: kept as vt.pending); what the page saw when the cookie's set resolved.
 */
const openAndSetAtOnce = async ({ name, options, cookie, record }) => {
  const vt = window.vt
  const store = vt.open(name, options)
  vt.pending = vt.attempt(() => store.setMany(record))
  const result = await vt.attempt(() => store.setMany(cookie))
  return { ok: result.ok, error: result.error ?? null, changes: vt.logs[name].change.length }
}

const expressFirstAnswer = {
  id: '7c',
  name: 'Express + express-session, the next page after a new login: a session cookie and a session record set while its first /session answer is held are kept by that answer\'s purge; the last session\'s other session cookie and record go',
  group: 'live',
  run: ({ tab }) => expressApp(async (app) => {
    const { sessionTag } = await loadServerModule()
    const name = 's7c'
    // Two more session keys (a cookie, a record) that page 2 leaves alone: the purge must take them.
    const keys = { ...KEYS, crumbs: { lifetime: 'session', serverVisible: true }, draft: { lifetime: 'session' } }
    const options = { keys, session: { endpoint: '/session' } }
    const all = Object.keys(keys)
    const t1 = await tab()
    await t1.goto(app.url('/?tab=1'))
    eq((await t1.evaluate(call, { method: 'POST', path: '/login?user=alice' })).status, 200, 'POST /login?user=alice')
    eq((await t1.evaluate(openStore, { name, options })).state, 'active', 'page 1: session state')
    eq(await t1.evaluate(setMany, { name, values: { cart: ['alice apple'], visit: 'alice visit', crumbs: 'alice crumbs', draft: 'alice draft', ...PERSISTENT } }), null, 'page 1: setMany of session and persistent data')
    // Another user signs in (a new session ID) and page 1 is left; the next page's check is held.
    eq((await t1.evaluate(call, { method: 'POST', path: '/login?user=bob' })).status, 200, 'POST /login?user=bob')
    await t1.goto('about:blank')
    const release = app.hold()
    const t2 = await tab()
    await t2.goto(app.url('/?tab=2'))
    let released = false
    try {
      const early = await t2.evaluate(openAndSetAtOnce, { name, options, cookie: { visit: 'bob visit' }, record: { cart: ['bob apple'] } })
      eq([early.ok, early.error, early.changes], [true, null, 0], 'page 2: setMany({ visit }) resolved before the first answer: [ok, error, change events]')
      // Sent after the store read its saved state: it may reach the server after the cookie's set resolved.
      const asked = await serverSaw(app, (r) => r.method === 'GET' && r.path === '/session' && r.tab === '2')
      ok(asked, 'page 2\'s first GET /session reached the server (and is held)', app.log.filter((r) => r.path === '/session'))
      release()
      released = true
      const bob = await sessionTag(app.sessionIds.at(-1), TAG_SECRET)
      const seen = await until(t2, changeAfter, { name, count: 0 }, 'page 2: the first answer\'s change event')
      eq(seen.session.tag, bob, 'page 2: tag after the first answer (bob\'s session)')
      const pending = await t2.evaluate(pendingOutcome)
      eq(pending, { ok: true, error: null }, 'page 2: setMany({ cart }) called before the answer (it waits for it)')
      const r = await t2.evaluate(look, { name, keys: all })
      eq(r.values, { cart: ['bob apple'], visit: 'bob visit', ...PERSISTENT, crumbs: UNDEF, draft: UNDEF }, 'page 2 after the first answer: values (alice\'s session data gone; what page 2 wrote while waiting kept; persistent kept)')
      eq([r.cookies, r.idb, r.rawTag.cart], [[`${name}_prefs`, `${name}_visit`], ['cart', 'notes'], bob], 'page 2 after the first answer: [store cookies, raw IndexedDB keys, cart record\'s tag]')
    } finally {
      if (!released) release()
    }
  }),
}

// ---- 7d: keepOnLogin and a batch still on its way when the data moves ----

/** Holds the store's cookie lock in this tab (as another tab's section would) until vt.releaseLock(). */
const holdCookieLock = ({ name }) => new Promise((held) => {
  navigator.locks.request(`visitstore:${name}:cookies`, () => new Promise((done) => {
    window.vt.releaseLock = done
    held(true)
  }))
})

const expressKeepOnLoginInFlight = {
  id: '7d',
  name: 'Express + express-session, keepOnLogin, two tabs: a setMany of a session record and cookie called in an anonymous session, held up by the other tab\'s cookie lock until after the login moved the cart, lands in the new session (raw record under the new tag)',
  group: 'live',
  run: ({ tab }) => expressApp(async (app) => {
    const name = 's7d'
    const options = { keys: KEYS, session: { endpoint: '/session', keepOnLogin: true } }
    const { t: t1 } = await storeTab(tab, app, 1, { name, options, post: '/visit', state: 'anonymous' })
    eq(await t1.evaluate(setMany, { name, values: { cart: ['apple'] } }), null, 'tab 1: setMany({ cart }) in the anonymous session')
    const t2 = await tab()
    await t2.goto(app.url('/?tab=2'))
    eq(await t2.evaluate(holdCookieLock, { name }), true, 'tab 2 holds the store\'s cookie lock')
    let held = true
    try {
      // Tab 1: a batch that waits for the lock, then a login that moves the data meanwhile.
      await t1.evaluate(({ name }) => {
        window.vt.pending = window.vt.attempt(() => window.vt.stores[name].setMany({ cart: ['apple', 'pear'], visit: 'signed in with a pear' }))
      }, { name })
      const alice = await signIn(t1, app, name, 'alice')
      // Read raw: a get of cart waits for the batch (calls take effect in call order).
      const raw = await t1.evaluate(rawK, { name, key: 'cart' })
      ok(typeof raw === 'string' && raw.endsWith(`=${alice}`), 'the cart record moved to the new tag while the batch waited (raw IndexedDB)', raw)
      const waiting = await t1.evaluate(() => Promise.race([window.vt.pending.then(() => 'done'), new Promise((r) => setTimeout(() => r('waiting'), 100))]))
      eq(waiting, 'waiting', 'tab 1: the batch still waits for the cookie lock')
      await t2.evaluate(() => window.vt.releaseLock())
      held = false
      const done = await t1.evaluate(pendingOutcome)
      eq(done, { ok: true, error: null }, 'tab 1: the batch resolved once the lock was free')
      for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2 (a new store)']]) {
        if (t === t2) await t2.evaluate(openStore, { name, options })
        const got = await t.evaluate(look, { name, keys: ['cart', 'visit'] })
        eq([got.values, got.rawTag.cart], [{ cart: ['apple', 'pear'], visit: 'signed in with a pear' }, alice], `${which}: [values, raw cart record's tag] (the batch landed in the new session)`)
      }
    } finally {
      if (held) await t2.evaluate(() => window.vt.releaseLock?.()).catch(() => {})
    }
  }),
}

// ---- 7e: a tab's start-up sweep and another tab's new session it has not heard of ----

const EXPIRED = 20000

/** Puts `n` records that expired long ago straight into the store's database (the next sweep's work). */
const fillExpired = async ({ name, n }) => {
  const db = await window.vt.rawOpen(name)
  return new Promise((resolve, reject) => {
    const tx = db.transaction('records', 'readwrite')
    for (let i = 0; i < n; i++) tx.objectStore('records').put({ p: `gone:${i}`, v: 0, x: 1 })
    tx.oncomplete = () => { db.close(); resolve(n) }
    tx.onerror = () => reject(tx.error)
  })
}

/** How many of those expired records are left (read raw); with `wait`, true once none is (null before: for until). */
const expiredLeft = async ({ name, wait }) => {
  const db = await window.vt.rawOpen(name)
  return new Promise((resolve, reject) => {
    const count = db.transaction('records').objectStore('records').count(IDBKeyRange.bound('gone:', 'gone;'))
    count.onsuccess = () => {
      db.close()
      resolve(wait ? (count.result === 0 || null) : count.result)
    }
    count.onerror = () => reject(count.error)
  })
}

/** From now on this page's BroadcastChannels deliver nothing until vt.deliverHeld(). */
const holdMessages = () => {
  const Real = window.BroadcastChannel
  const held = []
  let holding = true
  window.BroadcastChannel = class extends Real {
    set onmessage(fn) { super.onmessage = fn && ((event) => { if (holding) held.push(() => fn.call(this, event)); else fn.call(this, event) }) }
    get onmessage() { return super.onmessage }
  }
  window.vt.deliverHeld = () => { holding = false; for (const deliver of held.splice(0)) deliver(); return true }
  return true
}

const expressSweepUnheard = {
  id: '7e',
  name: `Express + express-session, two tabs: tab 2 starts with ${EXPIRED.toLocaleString('en')} expired records to sweep and hears nothing from tab 1 (its BroadcastChannel held); tab 1 signs in as another user and fills a cart meanwhile; tab 2's sweep leaves that cart, and both tabs read it once tab 2 hears`,
  group: 'live',
  timeoutMs: 120000,
  run: ({ tab }) => expressApp(async (app) => {
    const name = 's7e'
    const options = { keys: KEYS, session: { endpoint: '/session' } }
    const { t: t1 } = await storeTab(tab, app, 1, { name, options, post: '/login?user=alice', state: 'active' })
    eq(await t1.evaluate(fillExpired, { name, n: EXPIRED }), EXPIRED, `${EXPIRED} expired records put in the database`)
    const { t: t2 } = await storeTab(tab, app, 2, { name, options, hold: true, state: 'active' })
    // While tab 2 sweeps: bob signs in in tab 1 and fills a cart in his session.
    const bob = await signIn(t1, app, name, 'bob')
    eq(await t1.evaluate(setMany, { name, values: { cart: ['bob'] } }), null, 'tab 1: setMany({ cart }) in bob\'s session')
    const left = await t1.evaluate(expiredLeft, { name })
    ok(left > 0, 'tab 2\'s sweep was still deleting expired records when tab 1 wrote (so it looks at sessions after)', left)
    await until(t1, expiredLeft, { name, wait: true }, 'tab 2\'s sweep deleted every expired record', 90000)
    // Then it looks at sessions.
    await sleep(1000)
    const raw = await t1.evaluate(rawK, { name, key: 'cart' })
    ok(typeof raw === 'string' && raw.endsWith(`=${bob}`), 'after tab 2\'s sweep: the raw cart record is there, under bob\'s tag', raw)
    eq(await t2.evaluate(() => window.vt.deliverHeld()), true, 'tab 2 hears what it missed')
    await until(t2, ({ name, bob }) => (window.vt.stores[name].session.tag === bob ? true : null), { name, bob }, 'tab 2: bob\'s tag')
    for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) {
      eq((await t.evaluate(look, { name, keys: ['cart'] })).values, { cart: ['bob'] }, `${which}: the cart`)
    }
  }),
}

// ---- 7f: an answer to an older request, arriving after a newer one ----

const expressStaleAnswer = {
  id: '7f',
  name: 'Express + express-session: a refresh() asked while signed in as alice is held by the server; bob signs in and a second refresh() and a setMany of his cart go through; the held answer (alice\'s tag) then arrives and is not applied: bob\'s session and cart stay',
  group: 'live',
  run: ({ tab }) => expressApp(async (app) => {
    const { sessionTag } = await loadServerModule()
    const name = 's7f'
    const options = { keys: KEYS, session: { endpoint: '/session' } }
    const t = await tab()
    await t.goto(app.url('/?tab=1'))
    eq((await t.evaluate(call, { method: 'POST', path: '/login?user=alice' })).status, 200, 'POST /login?user=alice')
    eq((await t.evaluate(openStore, { name, options })).state, 'active', 'session state (alice)')
    const alice = await sessionTag(app.sessionIds.at(-1), TAG_SECRET)
    const release = app.hold({ one: true })
    let released = false
    try {
      const mark = app.log.length
      await t.evaluate(({ name }) => { window.vt.pending = window.vt.attempt(() => window.vt.stores[name].session.refresh()) }, { name })
      const asked = await serverSaw(app, (r) => r.seq >= mark && r.method === 'GET' && r.path === '/session')
      ok(asked, 'the first refresh()\'s GET /session reached the server (and is held)', app.log.slice(mark))
      eq((await t.evaluate(call, { method: 'POST', path: '/login?user=bob' })).status, 200, 'POST /login?user=bob')
      const r = await t.evaluate(refresh, { name })
      const bob = await sessionTag(app.sessionIds.at(-1), TAG_SECRET)
      ok(r.ok, 'the second refresh()', r.error)
      eq(r.session.tag, bob, 'tag after the second refresh() (bob)')
      eq(await t.evaluate(setMany, { name, values: { cart: ['bob'], visit: 'bob visit' } }), null, 'setMany of bob\'s cart and visit')
      release()
      released = true
      const first = await t.evaluate(pendingOutcome)
      eq(first, { ok: true, error: null }, 'the first refresh() resolved once its answer (alice\'s tag) arrived')
      const got = await t.evaluate(look, { name, keys: ['cart', 'visit'] })
      eq([got.tag, got.values], [bob, { cart: ['bob'], visit: 'bob visit' }], 'after the late answer: [tag, values] (still bob\'s session, nothing purged)')
      ok(!got.log.change.some((c, i) => i > 0 && c.current.tag === alice), 'no change event back to alice\'s tag', got.log.change.map((c) => c.current.tag))
    } finally {
      if (!released) release()
    }
  }),
}

// ---- 7g: keepOnLogin, a write in a tab that has not heard of the login yet ----

const expressKeepOnLoginUnheard = {
  id: '7g',
  name: 'Express + express-session, keepOnLogin, two tabs: tab 2 hears nothing from tab 1 (its BroadcastChannel held); tab 1 signs in, which moves the anonymous cart to the new tag; tab 2, still anonymous as far as it knows, then writes the cart (raw record under the anonymous tag); once tab 2 hears, that cart moves too and both tabs read it',
  group: 'live',
  run: ({ tab }) => expressApp(async (app) => {
    const name = 's7g'
    const options = { keys: KEYS, session: { endpoint: '/session', keepOnLogin: true } }
    const { t: t1, session: opened } = await storeTab(tab, app, 1, { name, options, post: '/visit', state: 'anonymous' })
    const anon = opened.tag
    eq(await t1.evaluate(setMany, { name, values: { cart: ['apple'] } }), null, 'tab 1: setMany({ cart }) in the anonymous session')
    const { t: t2 } = await storeTab(tab, app, 2, { name, options, hold: true, state: 'anonymous' })
    const alice = await signIn(t1, app, name, 'alice')
    const moved = await t1.evaluate(rawK, { name, key: 'cart' })
    ok(typeof moved === 'string' && moved.endsWith(`=${alice}`), 'the cart record moved to alice\'s tag (raw IndexedDB)', moved)
    eq(await t2.evaluate(setMany, { name, values: { cart: ['apple', 'pear'] } }), null, 'tab 2 (not told yet): setMany({ cart: [apple, pear] })')
    const raw = await t1.evaluate(rawK, { name, key: 'cart' })
    ok(typeof raw === 'string' && raw.endsWith(`=${anon}`), 'tab 2 wrote the cart under the anonymous tag (raw IndexedDB)', raw)
    eq(await t2.evaluate(() => window.vt.deliverHeld()), true, 'tab 2 hears what it missed')
    await until(t2, ({ name, alice }) => (window.vt.stores[name].session.tag === alice ? true : null), { name, alice }, 'tab 2: alice\'s tag')
    const underAlice = async ({ name, alice }) => ((await window.vt.rawIdb(name)).find(([k]) => k === 'cart')?.[1]?.k?.endsWith(`=${alice}`) || null)
    await until(t1, underAlice, { name, alice }, 'the cart record under alice\'s tag again (raw IndexedDB)')
    for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) {
      eq((await t.evaluate(look, { name, keys: ['cart'] })).values, { cart: ['apple', 'pear'] }, `${which}: the cart`)
    }
  }),
}

// ---- 7h: keepOnLogin, the tab closed while the move is halfway ----

const DRAFTS = 5000
const DRAFT_KEYS = { ...KEYS, 'draft:*': { lifetime: 'session' } }

/** setMany of `n` session drafts and a cart in one call. */
const fillDrafts = ({ name, n }) => {
  const values = { cart: ['apple'] }
  for (let i = 0; i < n; i++) values[`draft:${i}`] = i
  return window.vt.stores[name].setMany(values).then(() => n)
}

/** How many raw records carry each liveness key in `ks` (vt.countLive); with `wait`, null until none carries the first. */
const countK = async ({ name, ks, wait }) => {
  const counts = await window.vt.countLive(name, ks)
  return wait && counts[0] > 0 ? null : counts
}

const DRAFTS_OPTIONS = { keys: DRAFT_KEYS, session: { endpoint: '/session', keepOnLogin: true } }

/**
 * 7h, 7l and 7m's start: tab 1 (and, with `second`, tab 2) with store `name` (DRAFTS_OPTIONS) in
 * an anonymous session, tab 1's setMany of DRAFTS drafts and a cart, then POST /login?user=alice.
 * Resolves to the tabs, alice's tag and the liveness keys [anonymous, alice's] of this browser session.
 */
async function draftsThenLogin(tab, app, name, second = false) {
  const { sessionTag } = await loadServerModule()
  const { t: t1, session: opened } = await storeTab(tab, app, 1, { name, options: DRAFTS_OPTIONS, post: '/visit', state: 'anonymous' })
  const t2 = second ? (await storeTab(tab, app, 2, { name, options: DRAFTS_OPTIONS, state: 'anonymous' })).t : undefined
  eq(await t1.evaluate(fillDrafts, { name, n: DRAFTS }), DRAFTS, `tab 1: setMany of ${DRAFTS} drafts and a cart`)
  const stamp = (await t1.evaluate(rawK, { name, key: 'cart' })).split('=')[0]
  eq((await t1.evaluate(call, { method: 'POST', path: '/login?user=alice' })).status, 200, 'POST /login?user=alice')
  const alice = await sessionTag(app.sessionIds.at(-1), TAG_SECRET)
  return { t1, t2, alice, ks: [`${stamp}=${opened.tag}`, `${stamp}=${alice}`] }
}

/** In the page: refresh() started, not awaited (window.vt.pending settles with it). */
const startRefresh = ({ name }) => { window.vt.pending = window.vt.attempt(() => window.vt.stores[name].session.refresh()) }

const expressKeepOnLoginCut = {
  id: '7h',
  name: `Express + express-session, keepOnLogin: ${DRAFTS.toLocaleString('en')} session drafts and a cart in an anonymous session; the tab is closed while the login's move is halfway (raw records under both tags); the next page's first answer finishes the move: every draft and the cart read back, all under the new tag`,
  group: 'live',
  timeoutMs: 120000,
  run: ({ tab }) => expressApp(async (app) => {
    const name = 's7h'
    const { t1, alice, ks } = await draftsThenLogin(tab, app, name)
    await t1.evaluate(startRefresh, { name })
    let counts
    for (;;) {
      counts = await t1.evaluate(countK, { name, ks })
      if (counts[1] > 0 || counts[0] === 0) break
    }
    ok(counts[0] > 0 && counts[1] > 0, 'the move caught halfway: raw records under the anonymous tag and under alice\'s', counts)
    await t1.close()
    const t2 = await tab()
    await t2.goto(app.url('/?tab=2'))
    const cut = await t2.evaluate(countK, { name, ks })
    ok(cut[0] > 0, 'after the tab closed: records left under the anonymous tag (the move was cut off)', cut)
    eq((await t2.evaluate(openStore, { name, options: DRAFTS_OPTIONS })).tag, alice, 'the next page: its first answer (alice)')
    await until(t2, countK, { name, ks, wait: true }, 'no record left under the anonymous tag', 30000)
    eq(await t2.evaluate(countK, { name, ks }), [0, DRAFTS + 1], 'raw records [under the anonymous tag, under alice\'s]')
    const read = await t2.evaluate(async ({ name, n }) => {
      const store = window.vt.stores[name]
      const keys = await store.keys('draft:')
      const last = await store.get(`draft:${n - 1}`)
      return [keys.length, last, await store.get('cart')]
    }, { name, n: DRAFTS })
    eq(read, [DRAFTS, DRAFTS - 1, ['apple']], 'the next page: [keys(\'draft:\').length, the last draft, the cart]')
  }),
}

// ---- 7l: keepOnLogin, reads and writes made while the move runs ----

/**
 * In the page: refresh() (not awaited); as soon as the tag is `alice` (the sync switched, the move
 * begins), get the cart and the last draft, update the one before it (+1) and count keys('draft:');
 * whether refresh() was still pending then (the move under way), and what they gave.
 */
const readsDuringMove = async ({ name, alice, n }) => {
  const vt = window.vt
  const store = vt.stores[name]
  let settled = false
  const refreshed = vt.attempt(() => store.session.refresh()).then((r) => { settled = true; return r })
  while (store.session.tag !== alice && !settled) await new Promise((resolve) => setTimeout(resolve, 0))
  const pending = !settled
  const during = await Promise.all([store.get('cart'), store.get(`draft:${n - 1}`), store.update(`draft:${n - 2}`, (v) => (v ?? -1) + 1), store.keys('draft:').then((k) => k.length)])
  const r = await refreshed
  return { pending, refreshed: r.ok ? 'ok' : vt.outcome(r), during: during.map((v) => vt.u(v)) }
}

const expressKeepOnLoginReads = {
  id: '7l',
  name: `Express + express-session, keepOnLogin: ${DRAFTS.toLocaleString('en')} session drafts and a cart in an anonymous session; right after the login's answer switched the tag, while the move runs, the tab reads the cart and the last draft, updates the draft before it and counts keys('draft:'): they see the moved data, and the update starts from the moved value (a read during the move once found nothing, and the update overwrote the draft)`,
  group: 'live',
  timeoutMs: 120000,
  run: ({ tab }) => expressApp(async (app) => {
    const name = 's7l'
    const { t1: t, alice } = await draftsThenLogin(tab, app, name)
    const r = await t.evaluate(readsDuringMove, { name, alice, n: DRAFTS })
    eq(r.refreshed, 'ok', 'refresh() after the login')
    ok(r.pending, 'the calls were made while the move ran (refresh() still pending once the tag had switched)', r)
    eq(r.during, [['apple'], DRAFTS - 1, DRAFTS - 1, DRAFTS], "[the cart, the last draft, the update's result, keys('draft:').length] during the move")
    const after = await t.evaluate(async ({ name, n }) => {
      const store = window.vt.stores[name]
      return [window.vt.u(await store.get('cart')), await store.get(`draft:${n - 2}`), (await store.keys('draft:')).length]
    }, { name, n: DRAFTS })
    eq(after, [['apple'], DRAFTS - 1, DRAFTS], '[the cart, the updated draft, keys(\'draft:\').length] after the move')
  }),
}

// ---- 7m: keepOnLogin, another tab's update while one tab moves the records ----

/**
 * In the page (tab 2): waits until tab 1's move is under way (raw records under both liveness
 * keys `ks`, by the [k, p] index), then at once update('cart') (+ 'pear') and get the last draft;
 * whether the move was still under way right after, and what they gave.
 */
const updateDuringMove = async ({ name, ks, n }) => {
  const vt = window.vt
  const store = vt.stores[name]
  const count = () => vt.countLive(name, ks)
  const end = Date.now() + 10000
  let counts = await count()
  while (!(counts[0] > 0 && counts[1] > 0) && Date.now() < end) counts = await count()
  const calls = Promise.all([store.update('cart', (c = []) => [...c, 'pear']), store.get(`draft:${n - 1}`)])
  const after = await count()
  const [cart, last] = await calls
  return { before: counts, after, cart, last }
}

const expressKeepOnLoginOtherTab = {
  id: '7m',
  name: `Express + express-session, keepOnLogin, two tabs: ${DRAFTS.toLocaleString('en')} session drafts and a cart in an anonymous session; tab 1 signs in and moves them; while the move runs, tab 2 updates the cart (+1 item) and reads the last draft: the update starts from the moved cart and the draft reads back, in both tabs (tab 2 once took the moving records for another session's: its update from nothing overwrote the cart)`,
  group: 'live',
  timeoutMs: 120000,
  run: ({ tab }) => expressApp(async (app) => {
    const name = 's7m'
    const { t1, t2, ks } = await draftsThenLogin(tab, app, name, true)
    await t1.evaluate(startRefresh, { name })
    const r = await t2.evaluate(updateDuringMove, { name, ks, n: DRAFTS })
    ok(r.before[0] > 0 && r.before[1] > 0, 'tab 2 made its calls while the move was under way (raw records under both tags)', r)
    eq([r.cart, r.last], [['apple', 'pear'], DRAFTS - 1], 'tab 2 during the move: [update(\'cart\')\'s result, the last draft]')
    eq(await t1.evaluate(async () => window.vt.outcome(await window.vt.pending)), 'ok', 'tab 1: refresh()')
    for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) {
      const got = await until(t, ({ name }) => (window.vt.stores[name].session.state === 'active' ? window.vt.stores[name].get('cart') : null), { name }, `${which}: signed in`)
      eq(got, ['apple', 'pear'], `${which}: the cart after the move`)
    }
  }),
}

// ---- 7i: a sign-in that keeps the session ID ----

const expressSameSessionLogin = {
  id: '7i',
  name: 'Express + express-session, two tabs: a cart (session record) and a visit (session cookie) written in an anonymous session; the server signs the user in without a new session ID (same tag, state anonymous → active): both values stay, in both tabs, and the change event says so; the next page starts signed in, with no change',
  group: 'live',
  run: ({ tab }) => expressApp(async (app) => {
    const name = 's7i'
    const options = { keys: KEYS, session: { endpoint: '/session' } }
    const { t: t1, session: opened } = await storeTab(tab, app, 1, { name, options, post: '/visit', state: 'anonymous' })
    const { t: t2, session: second } = await storeTab(tab, app, 2, { name, options, state: 'anonymous' })
    eq(second.tag, opened.tag, 'tab 2: the same tag')
    eq(await t1.evaluate(setMany, { name, values: { cart: ['apple'], visit: 'anonymous visit' } }), null, 'tab 1: setMany({ cart, visit }) in the anonymous session')
    eq((await t1.evaluate(call, { method: 'POST', path: '/login?user=alice&same=1' })).status, 200, 'POST /login?user=alice&same=1 (the session ID stays)')
    const r = await t1.evaluate(refresh, { name })
    ok(r.ok, 'tab 1: refresh() after the sign-in', r.error)
    eq([r.session.tag, r.session.state], [opened.tag, 'active'], 'tab 1 after the sign-in: [tag (unchanged), state]')
    await until(t2, ({ name }) => (window.vt.stores[name].session.state === 'active' ? true : null), { name }, 'tab 2: state active')
    for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) {
      const got = await t.evaluate(look, { name, keys: ['cart', 'visit'] })
      eq([got.values, got.rawTag.cart, got.cookies], [{ cart: ['apple'], visit: 'anonymous visit' }, opened.tag, [`${name}_visit`]], `${which}: [values, raw cart record's tag, the store's cookies] (nothing purged)`)
      eq(got.log.change.at(-1)?.current?.state, 'active', `${which}: the last change event's state`)
    }
    // The next page starts signed in (the state was saved): no change there.
    const { t: t3 } = await storeTab(tab, app, 3, { name, options, state: 'active' })
    const third = await t3.evaluate(look, { name, keys: ['cart', 'visit'] })
    eq([third.values, third.log.change.length], [{ cart: ['apple'], visit: 'anonymous visit' }, 0], 'tab 3 (the next page): [values, change events]')
  }),
}

// ---- 7k: IndexedDB not used: the session state lives in a session cookie ----

const expressNoIndexedDb = {
  id: '7k',
  name: 'Express + express-session, a store that cannot use IndexedDB (backends: { indexedDB: null }; records in memory): a session cookie written on one page is still there on the next page of the same server session, which starts signed in with no change event (the state is saved in the store\'s session cookie <name>_$t); another user\'s sign-in then purges it',
  group: 'live',
  run: ({ tab }) => expressApp(async (app) => {
    const name = 's7k'
    const options = { keys: KEYS, backends: { indexedDB: null }, session: { endpoint: '/session' } }
    const { t: t1 } = await storeTab(tab, app, 1, { name, options, post: '/login?user=alice', state: 'active' })
    eq(await t1.evaluate(({ name }) => window.vt.stores[name].status.indexeddb, { name }), 'memory', 'page 1: status.indexeddb')
    eq(await t1.evaluate(setMany, { name, values: { visit: 'alice visit' } }), null, 'page 1: set visit (a session cookie)')
    await t1.close()
    const { t: t2 } = await storeTab(tab, app, 2, { name, options, state: 'active' })
    const next = await t2.evaluate(look, { name, keys: ['visit'] })
    eq([next.values, next.cookies, next.log.change.length], [{ visit: 'alice visit' }, [`${name}_$t`, `${name}_visit`], 0], 'page 2 (the next page, same server session): [values, the store\'s cookies, change events]')
    await signIn(t2, app, name, 'bob', 'page 2')
    const after = await t2.evaluate(look, { name, keys: ['visit'] })
    eq([after.values, after.cookies], [{ visit: UNDEF }, [`${name}_$t`]], 'page 2 after bob signed in: [values, the store\'s cookies]')
  }),
}

// ---- 7j: a tab that missed the login learns of it from its own answer ----

const expressLoginMissed = {
  id: '7j',
  name: 'Express + express-session, two tabs: tab 2 hears nothing from tab 1 (its BroadcastChannel held, as a tab in the back/forward cache would); tab 1 signs in as bob and writes a cart and a visit (session cookie) in his session; tab 2\'s own refresh() then finds bob\'s session: it purges nothing of it, and both tabs read bob\'s values',
  group: 'live',
  run: ({ tab }) => expressApp(async (app) => {
    const name = 's7j'
    const options = { keys: KEYS, session: { endpoint: '/session' } }
    const { t: t1 } = await storeTab(tab, app, 1, { name, options, post: '/login?user=alice', state: 'active' })
    const { t: t2 } = await storeTab(tab, app, 2, { name, options, hold: true, state: 'active' })
    eq(await t2.evaluate(setMany, { name, values: { cart: ['alice'], visit: 'alice visit' } }), null, 'tab 2: setMany of alice\'s cart and visit')
    const bob = await signIn(t1, app, name, 'bob')
    eq(await t1.evaluate(setMany, { name, values: { cart: ['bob'], visit: 'bob visit' } }), null, 'tab 1: setMany of bob\'s cart and visit')
    const r2 = await t2.evaluate(refresh, { name })
    ok(r2.ok, 'tab 2 (not told): its own refresh()', r2.error)
    eq(r2.session.tag, bob, 'tab 2: tag after its own refresh() (bob)')
    for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) {
      eq((await t.evaluate(look, { name, keys: ['cart', 'visit'] })).values, { cart: ['bob'], visit: 'bob visit' }, `${which}: bob's cart and visit`)
    }
  }),
}

// ---- 8a / 8b: PHP's built-in server, native sessions ----

async function phpApp(run) {
  const php = await startPhpServer({ secret: TAG_SECRET })
  try {
    return await run(php)
  } catch (err) {
    const tail = php.output().trim().split('\n').slice(-5).join(' | ')
    throw new Error(`${err.message}${tail ? ` [php -S: ${tail}]` : ''}`, { cause: err })
  } finally {
    await php.close()
  }
}

/** PHP's session cookie is shared by every port of 127.0.0.1: start each PHP scenario without one. */
const forgetPhpSession = () => {
  document.cookie = 'PHPSESSID=; Max-Age=0; Path=/'
  return window.vt.cookies('PHPSESSID')
}
const phpSessionId = () => window.vt.cookies('PHPSESSID').find(([n]) => n === 'PHPSESSID')?.[1] ?? null

/** Everything the store keeps or reports, as JSON text: its IndexedDB, its cookies, its event payloads, web storage. */
const storeFootprint = async ({ name }) => {
  const vt = window.vt
  return {
    idb: JSON.stringify(await vt.rawIdb(name)),
    cookies: JSON.stringify(vt.cookies(`${name}_`)),
    events: JSON.stringify(vt.logs[name]),
    session: JSON.stringify(vt.session(name)),
    webStorage: JSON.stringify([Object.entries(window.localStorage), Object.entries(window.sessionStorage)]),
    errors: vt.logs[name].error.length,
  }
}

const phpCookieSource = {
  id: '8a',
  name: "PHP built-in server, session: { cookie: 'PHPSESSID' }: session_regenerate_id(true) purges session data; the raw ID is nowhere in IndexedDB, the store's cookies or its events",
  group: 'live',
  unavailable: phpMissing,
  run: ({ tab }) => phpApp(async (php) => {
    const name = 's8a'
    const options = { keys: KEYS, session: { cookie: 'PHPSESSID' } }
    const all = Object.keys(KEYS)
    const t = await tab()
    await t.goto(php.url('/'))
    eq(await t.evaluate(forgetPhpSession), [], 'PHPSESSID before the scenario')
    eq(await t.evaluate(openStore, { name, options, watch: ['cart', 'visit'] }), { tag: null, state: 'none', expiresAt: UNDEF }, 'session with no PHPSESSID')

    eq((await t.evaluate(call, { method: 'GET', path: '/start.php' })).status, 200, 'GET /start.php (session_start)')
    const id1 = await t.evaluate(phpSessionId)
    ok(typeof id1 === 'string' && id1.length >= 20, 'PHPSESSID is readable by script (session.cookie_httponly off)', id1)
    let r = await t.evaluate(refresh, { name })
    ok(r.ok, 'refresh() after session_start', r.error)
    const tag1 = r.session.tag
    ok(r.session.state === 'active' && typeof tag1 === 'string' && !tag1.includes(id1), 'session active with a tag that is not the ID', r.session)
    eq(await t.evaluate(setMany, { name, values: { cart: ['apple'], visit: 'php visit', ...PERSISTENT } }), null, 'setMany of session and persistent data')

    eq((await t.evaluate(call, { method: 'GET', path: '/regenerate.php' })).status, 200, 'GET /regenerate.php (session_regenerate_id(true))')
    const id2 = await t.evaluate(phpSessionId)
    ok(typeof id2 === 'string' && id2 !== id1, 'PHP gave a new session ID', [id1, id2])
    r = await t.evaluate(refresh, { name })
    ok(r.ok, 'refresh() after session_regenerate_id', r.error)
    const tag2 = r.session.tag
    ok(typeof tag2 === 'string' && tag2 !== tag1 && !tag2.includes(id2), 'a new tag, not the new ID', [tag1, tag2])
    r = await t.evaluate(look, { name, keys: all })
    eq(r.values, { cart: UNDEF, visit: UNDEF, ...PERSISTENT }, 'after session_regenerate_id(true) + refresh(): values (session data purged)')
    eq([r.cookies, r.idb], [[`${name}_prefs`], ['notes']], 'after the regeneration: [store cookies, raw IndexedDB keys]')
    eq(r.log.change.map((c) => [c.previous.tag, c.current.tag]), [[null, null], [null, tag1], [tag1, tag2]], 'change events [previous.tag, current.tag] (the first: start-up, unknown → none)')

    // Session data under the new session, so the dump holds a tagged record too; then logout (an `end` event).
    eq(await t.evaluate(setMany, { name, values: { cart: ['pear'], visit: 'second' } }), null, 'setMany in the regenerated session')
    const during = await t.evaluate(storeFootprint, { name })
    eq((await t.evaluate(call, { method: 'GET', path: '/logout.php' })).status, 200, 'GET /logout.php (session_destroy)')
    r = await t.evaluate(refresh, { name })
    eq([r.ok, r.session.tag, r.session.state], [true, null, 'none'], 'after logout.php + refresh(): [ok, tag, state]')
    const after = await t.evaluate(storeFootprint, { name })
    ok(during.idb.includes(tag2), 'the IndexedDB dump holds the session tag (so it is the right dump)', during.idb.length)
    for (const [when, dump] of [['with a session', during], ['after logout', after]]) {
      for (const [what, text] of Object.entries(dump)) {
        if (typeof text !== 'string') continue
        for (const [which, id] of [['first', id1], ['regenerated', id2]]) {
          ok(!text.includes(id), `the ${which} raw PHPSESSID appears in the store's ${what} (${when})`, text)
        }
      }
    }
    eq(after.errors, 0, 'error events of the store')
    ok(JSON.parse(after.events).end.length === 1, 'one end event at logout', after.events)

    // The error path: outside a secure context there is no crypto.subtle to hash the ID with. The
    // sync fails (an `error` event from start-up, a rejected refresh()) and still names no ID.
    eq((await t.evaluate(call, { method: 'GET', path: '/start.php' })).status, 200, 'GET /start.php (a third session)')
    const id3 = await t.evaluate(phpSessionId)
    const failed = await t.evaluate(async ({ keys }) => {
      const vt = window.vt
      Object.defineProperty(window.crypto, 'subtle', { get: () => undefined, configurable: true })
      try {
        const store = vt.open('s8a-nosubtle', { keys, session: { cookie: 'PHPSESSID' } })
        await store.ready
        const refreshed = await vt.attempt(() => store.session.refresh())
        return { refreshed, footprint: { idb: JSON.stringify(await vt.rawIdb('s8a-nosubtle')), cookies: JSON.stringify(vt.cookies('s8a-nosubtle_')), events: JSON.stringify(vt.logs['s8a-nosubtle']) }, errors: vt.logs['s8a-nosubtle'].error }
      } finally {
        delete window.crypto.subtle
      }
    }, { keys: KEYS })
    eq([failed.refreshed.ok, failed.refreshed.error?.code], [false, 'SESSION_SYNC_FAILED'], 'without crypto.subtle: refresh() [ok, error.code]')
    eq(failed.errors.map((e) => e.code), ['SESSION_SYNC_FAILED'], 'without crypto.subtle: the error events of the store (start-up sync)')
    for (const [what, text] of Object.entries({ ...failed.footprint, refreshError: JSON.stringify(failed.refreshed) })) {
      ok(!text.includes(id3), `without crypto.subtle: the raw PHPSESSID appears in the store's ${what}`, text)
    }
  }),
}

const phpReadmeEndpoint = {
  id: '8b',
  name: "PHP built-in server, README.md's plain-PHP endpoint with { endpoint }: its tag equals dist/server.js sessionTag(id, secret), before and after session_regenerate_id(true)",
  group: 'live',
  unavailable: phpMissing,
  run: ({ tab }) => phpApp(async (php) => {
    const fromReadme = readmePhpEndpoint()
    ok(fromReadme !== null, 'README.md has a ```php block under "The endpoint in plain PHP"')
    eq(readFileSync(join(DOCROOT, 'session.php'), 'utf8'), fromReadme, 'test/browser/php/session.php is README.md\'s plain-PHP endpoint, verbatim')
    const { sessionTag } = await loadServerModule()
    const name = 's8b'
    const options = { keys: KEYS, session: { endpoint: '/session.php' } }
    const t = await tab()
    await t.goto(php.url('/'))
    eq(await t.evaluate(forgetPhpSession), [], 'PHPSESSID before the scenario')
    eq(await t.evaluate(openStore, { name, options }), { tag: null, state: 'none', expiresAt: UNDEF }, 'session with no PHPSESSID (the endpoint answers { "tag": null })')

    eq((await t.evaluate(call, { method: 'GET', path: '/start.php' })).status, 200, 'GET /start.php')
    let r = await t.evaluate(refresh, { name })
    ok(r.ok, 'refresh() after session_start', r.error)
    const id1 = await t.evaluate(phpSessionId)
    eq([r.session.tag, r.session.state], [await sessionTag(id1, TAG_SECRET), 'active'], `[tag, state] vs sessionTag(${show(id1)}, secret)`)
    eq(await t.evaluate(setMany, { name, values: { cart: ['apple'], ...PERSISTENT } }), null, 'setMany')

    eq((await t.evaluate(call, { method: 'GET', path: '/regenerate.php' })).status, 200, 'GET /regenerate.php')
    r = await t.evaluate(refresh, { name })
    ok(r.ok, 'refresh() after session_regenerate_id', r.error)
    const id2 = await t.evaluate(phpSessionId)
    ok(id2 !== id1, 'a new session ID', [id1, id2])
    eq(r.session.tag, await sessionTag(id2, TAG_SECRET), `tag after the regeneration vs sessionTag(${show(id2)}, secret)`)
    eq((await t.evaluate(look, { name, keys: ['cart', 'notes'] })).values, { cart: UNDEF, notes: PERSISTENT.notes }, 'after the regeneration: [cart purged, notes kept]')
  }),
}

// ---- 9: concurrent updates from two tabs ----

const N = 100

const concurrentUpdates = {
  id: '9',
  name: `two tabs × ${N} concurrent update() increments end at exactly ${2 * N}, for an IndexedDB key and for a cookie key`,
  group: 'live',
  // A race: it runs with the machine to itself (run.mjs), or its check that the race ran may fail.
  quiet: true,
  // Two tabs must really run at once. WebDriver classic (WebKit) runs one command at a time, so the
  // second tab's burst starts after the first's ends; Firefox throttles the timers of the background
  // tab, so its burst starts ~0.75 s late, after the other one ended (both tried: no overlap).
  unavailable: (engine) => (engine.name === 'chromium' ? null
    : engine.name === 'webkit' ? 'Chromium only: WebDriver classic runs one command at a time, so the two tabs\' bursts cannot overlap'
      : 'Chromium only: Firefox throttles the background tab\'s timers, so the two tabs\' bursts did not overlap'),
  async run({ tab, server }) {
    const keys = { counter: { lifetime: 'persistent' }, hits: { lifetime: 'persistent', serverVisible: true } }
    const t1 = await tab()
    const t2 = await tab()
    for (const t of [t1, t2]) {
      await t.goto(server.url('/'))
      await t.evaluate(async ({ keys }) => { await window.vt.store('s9', keys).ready }, { keys })
    }
    const burst = async ({ key, startAt, n }) => {
      const store = window.vt.stores.s9
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())))
      const started = Date.now()
      const results = await Promise.all(Array.from({ length: n }, () => store.update(key, (v) => (v ?? 0) + 1)))
      return { started, ended: Date.now(), results }
    }
    for (const [key, tier] of [['counter', 'IndexedDB'], ['hits', 'cookie']]) {
      // Both tabs get the call first and start at the same clock time (one machine, one clock).
      const startAt = Date.now() + 250
      const [a, b] = await Promise.all([t1.evaluate(burst, { key, startAt, n: N }), t2.evaluate(burst, { key, startAt, n: N })])
      ok(a.started < b.ended && b.started < a.ended, `${key} (${tier}): the two tabs' bursts overlapped in time`, [a, b].map(({ started, ended }) => [started - startAt, ended - startAt]))
      const all = [...a.results, ...b.results].sort((x, y) => x - y)
      eq(all, Array.from({ length: 2 * N }, (_, i) => i + 1), `${key} (${tier}): the ${2 * N} update() results are 1…${2 * N}, each once (no lost or repeated increment)`)
      for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) {
        const r = await t.evaluate(async ({ key }) => {
          const vt = window.vt
          const raw = (await vt.rawIdb('s9')).find(([k]) => k === key)?.[1]
          return { got: vt.u(await vt.stores.s9.get(key)), raw: raw ? raw.v : null, cookie: vt.cookies(`s9_${key}`).map(([, v]) => v) }
        }, { key })
        eq(r.got, 2 * N, `${which}: get("${key}") after both bursts`)
        if (key === 'counter') eq(r.raw, 2 * N, `${which}: raw IndexedDB record of counter`)
        else eq(r.cookie, [String(2 * N)], `${which}: document.cookie s9_hits`)
      }
    }
  },
}

// ---- 7n: one tab's calls, with session changes among them, in call order ----

const N7_ROUNDS = 70

/**
 * In the page: test/order-session.test.ts's rounds (page/session-rounds.js, imported from the
 * suite's server) on a store synced with Express: the server side of a session change is a POST
 * to /login?user=…, /login?user=…&same=1 (signed in without a new session ID), /visit (an
 * anonymous session) or /logout, or nothing; values of the records are 4 KB. Resolves to
 * { mismatches, purges, moves }.
 */
const n7Rounds = async ({ name, rounds, seed, keepOnLogin }) => {
  const { ROUND_KEYS, sessionRounds } = await import('/session-rounds.js')
  const store = window.VisitStore.createStore({ name, keys: ROUND_KEYS, session: window.VisitStore.sessionSync({ endpoint: '/session', keepOnLogin }) })
  await store.ready
  const pad = 'p'.repeat(4000)
  const result = await sessionRounds({
    store,
    rounds,
    random: window.vt.seeded(seed),
    keepOnLogin,
    valueFor: (key, n) => (key === 'visits' || key === 'cart' ? { n, pad } : key === 'scroll' ? n : `${key}-${n}`),
    async serverChange(pick, n) {
      const path = [`/login?user=u${n}`, `/login?user=u${n}&same=1`, '/visit', '/logout'][pick]
      if (!path) return 'no change on the server'
      const answer = await fetch(path, { method: 'POST', credentials: 'same-origin' })
      return `POST ${path} (${answer.status})`
    },
    pause: (kind, call) => window.vt.pause(kind, call),
    cookieOf: (key) => {
      const raw = window.vt.cookie(`${name}_${key}`)
      return raw === null ? undefined : decodeURIComponent(raw)
    },
    cookieReads: false,
    settleMs: 3000,
  })
  store.close()
  return result
}

const expressCallOrderWithChanges = {
  id: '7n',
  name: `Express: one tab's calls (set, setMany, delete, update, clear, get, getMany over persistent and session keys in cookies and IndexedDB, and a tab key; awaited or not) with session changes among them (login, a login in the same session, an anonymous visit, logout, each then refresh(); end()), ${N7_ROUNDS} seeded rounds with keepOnLogin off and on: a purge takes back every session write called before it and none called after, a keepOnLogin login keeps them, and every read and update sees the call-order state`,
  group: 'live',
  run: ({ tab }) => expressApp(async (app) => {
    const t = await tab()
    await t.goto(app.url('/?tab=1'))
    for (const keepOnLogin of [false, true]) {
      const seed = 1 + Math.floor(Math.random() * 1e9)
      const r = await t.evaluate(n7Rounds, { name: `s7n${keepOnLogin ? 'k' : 'p'}${seed.toString(36)}`, rounds: N7_ROUNDS, seed, keepOnLogin })
      eq(r.mismatches, [], `keepOnLogin ${keepOnLogin} (seed ${seed}): calls whose outcome is not the call-order outcome`)
      ok(r.purges > 5 && (!keepOnLogin || r.moves > 0), `keepOnLogin ${keepOnLogin}: the rounds purged more than 5 times${keepOnLogin ? ' and moved at least once' : ''}`, JSON.stringify(r))
    }
  }),
}

// ---- 7o: a logout page: end({ server: true }) and navigating away in the same task ----

const S7O_TRIALS = 3

const expressLogoutLeaves = {
  id: '7o',
  name: `Express: a logout that navigates away at once: session.end({ server: true }) and location.href in the same task (${S7O_TRIALS} trials, each a new sign-in): DELETE /session reaches the server and the server session no longer lives (within 5 s); the next page's store has tag null and none of the session data, the persistent data kept`,
  group: 'live',
  run: ({ tab }) => expressApp(async (app) => {
    const options = { keys: KEYS, session: { endpoint: '/session' } }
    for (let n = 0; n < S7O_TRIALS; n++) {
      const name = `s7o${n}`
      const { t } = await storeTab(tab, app, 1, { name, options, state: 'none' })
      await signIn(t, app, name, `user${n}`)
      const id = app.sessionIds.at(-1)
      eq(await t.evaluate(setMany, { name, values: { cart: ['apple'], visit: 'first visit', ...PERSISTENT } }), null, `trial ${n}: setMany of session and persistent data`)
      const mark = app.log.length
      await t.evaluate(({ name }) => {
        setTimeout(() => {
          window.vt.stores[name].session.end({ server: true }).catch(() => {})
          location.href = '/?tab=1&left=1'
        }, 300) // after the evaluate's answer (WebKitGTK's driver sends it after the next tasks)
        return true
      }, { name })
      await waitFor(async () => {
        try {
          return await t.evaluate(() => location.search.includes('left=1') && document.readyState === 'complete' && typeof window.vt === 'object')
        } catch {
          return false // the page is navigating
        }
      }, 15000, `trial ${n}: the page after the logout`)
      const ended = await waitFor(async () => !(await app.sessionAlive(id)), 5000, 'the server session to end').then(() => true, () => false)
      ok(ended, `trial ${n}: the server session no longer lives`, app.log.slice(mark))
      ok(app.log.slice(mark).some((r) => r.method === 'DELETE' && r.path === '/session'), `trial ${n}: DELETE /session reached the server`, app.log.slice(mark))
      // The next page in a new tab, once the first is closed: WebKitGTK holds a left page's
      // transactions until its tab closes (browser r6).
      await t.close()
      const next = await tab()
      await next.goto(app.url('/?tab=2'))
      const session = await next.evaluate(openStore, { name, options })
      eq([session.tag, session.state], [null, 'none'], `trial ${n}: the next page's session [tag, state]`)
      const r = await next.evaluate(look, { name, keys: Object.keys(KEYS) })
      eq(r.values, { cart: UNDEF, visit: UNDEF, ...PERSISTENT }, `trial ${n}: the next page's values`)
      await next.close()
    }
  }),
}

export const sessionScenarios = [expressTwoTabs, expressKeepOnLogin, expressFirstAnswer, expressKeepOnLoginInFlight, expressSweepUnheard, expressStaleAnswer, expressKeepOnLoginUnheard, expressKeepOnLoginCut, expressKeepOnLoginReads, expressKeepOnLoginOtherTab, expressSameSessionLogin, expressNoIndexedDb, expressLoginMissed, expressCallOrderWithChanges, expressLogoutLeaves, phpCookieSource, phpReadmeEndpoint, concurrentUpdates]
