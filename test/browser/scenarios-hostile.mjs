// Browser scenarios: hostile networks, skewed clocks and restricted pages (issue 13): n1–n6.
// The contract is shared/DESIGN.md's data safety rules 5 ("nothing waits forever on the network")
// and 6 ("no environment crashes createStore"). Each scenario reproduces one observation of the
// issue. Time bounds are generous: only a hang (3 × the request time-out + 2 s) or a request storm
// breaks them. Scenarios that need the browser in a special state (blocked cookies, host names
// mapped to 127.0.0.1, a non-secure origin) launch a browser of their own with the engine's
// `args` (Chromium switches) or `prefs` (Firefox prefs), check that the state is really in effect,
// and close it in a finally. Page code uses window.vt (page/helpers.js): vt.within(fn, ms) (a call
// with a deadline), vt.inFrame() (code run in an iframe through page/frame.js).
import { mkdirSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { eq, ok, show, succeeded, UNDEF, until } from './lib/check.mjs'
import { sleep, tempDir } from './lib/util.mjs'
import { loadServerModule, startExpressServer, TAG_SECRET } from './express-server.mjs'

/** The request time-out the scenarios give sessionSync, and the bound of every call: only a hang breaks it. */
const TIMEOUT = 2000
const BOUND = 3 * TIMEOUT + 2000

/** A key of every kind: session and persistent cookies, session and persistent IndexedDB records, a tab value. */
const KEYS = {
  theme: { lifetime: 'session', serverVisible: true },
  prefs: { lifetime: 'persistent', serverVisible: true },
  cart: { lifetime: 'session' },
  notes: { lifetime: 'persistent' },
  scroll: { lifetime: 'tab' },
}

async function expressApp(options, run) {
  const app = await startExpressServer(options)
  try {
    return await run(app)
  } finally {
    await app.close()
  }
}

/** A browser of the scenario's own (special launch options), always closed. */
async function ownBrowser(engine, options, run) {
  const browser = await engine.launch(options)
  try {
    return await run(browser)
  } finally {
    await browser.close().catch(() => browser.kill())
  }
}

// ---- page-side functions (serialised into the page; only window.vt and VisitStore inside) ----

const call = ({ method, path }) => window.vt.call(method, path)

/**
 * createStore with `session: VisitStore.sessionSync(sync)` (never throwing across the wire), then
 * `ready` with a deadline. Resolves to { created, ready, session, status } (outcomes as strings).
 */
const openSynced = async ({ name, keys, sync, bound }) => {
  const vt = window.vt
  const made = await vt.attempt(() => { vt.open(name, { keys, session: window.VisitStore.sessionSync(sync) }) })
  if (!made.ok) return { created: vt.outcome(made) }
  const store = vt.stores[name]
  const ready = await vt.within(() => store.ready, bound)
  return { created: 'ok', ready: ready.done ? vt.outcome(ready) : `pending after ${bound} ms`, session: vt.session(name), status: { ...store.status } }
}

const sessionOf = ({ name }) => {
  const vt = window.vt
  const store = vt.stores[name]
  return { ...vt.session(name), status: { ...store.status }, log: vt.logs[name] }
}

/** A call with a deadline, as one string: 'ok', the VisitStoreError's code, 'raw <name>: <message>', or 'pending…'. */
const timedCall = async ({ name, op, args = [], bound }) => {
  const vt = window.vt
  const store = vt.stores[name]
  const fn = op === 'ready' ? () => store.ready : op === 'end' || op === 'refresh' ? () => store.session[op](...args) : () => store[op](...args)
  const r = await vt.within(fn, bound)
  if (!r.done) return { outcome: `pending after ${bound} ms` }
  return { outcome: vt.outcome(r), ms: r.ms, value: r.ok ? vt.u(r.value) : undefined, error: r.ok ? undefined : r.error }
}

// ---- n1: a hung endpoint ----

/** Tab 2 of n1: a fresh store whose start-up check hangs; an app's first calls (ready, get, keys at once, then set), each with a deadline. */
const n1SecondTab = async ({ name, keys, sync, bound }) => {
  const vt = window.vt
  const made = await vt.attempt(() => { vt.open(name, { keys, session: window.VisitStore.sessionSync(sync) }) })
  if (!made.ok) return { created: vt.outcome(made) }
  const store = vt.stores[name]
  const show = (r) => (!r.done ? `pending after ${bound} ms` : r.ok ? 'ok' : vt.outcome(r))
  const [ready, get, keyList] = await Promise.all([
    vt.within(() => store.ready, bound),
    vt.within(() => store.get('cart'), bound),
    vt.within(() => store.keys(), bound),
  ])
  // One driver call must stay under 20 s: after a hang, the rest is not tried.
  const hung = [ready, get, keyList].some((r) => !r.done)
  const set = hung ? null : await vt.within(() => store.set('cart', ['apple', 'pear']), bound)
  const after = hung || !set.done ? null : await vt.within(() => store.get('cart'), bound)
  return {
    created: 'ok',
    outcomes: {
      ready: show(ready), 'get("cart")': show(get), 'keys()': show(keyList),
      'set("cart")': set ? show(set) : 'not tried', 'get("cart") after set': after ? show(after) : 'not tried',
    },
    cart: get.ok ? vt.u(get.value) : null,
    keys: keyList.ok ? [...keyList.value].sort() : null,
    cartAfterSet: after?.ok ? vt.u(after.value) : null,
  }
}

const hungEndpoint = {
  id: 'n1',
  name: `hung endpoint (GET /session never answers; sessionSync timeout ${TIMEOUT} ms): tab 2's session-key get, ready, keys(), set and session.end() resolve within ${BOUND / 1000} s; an error event SESSION_SYNC_FAILED; tab 1's refresh() rejects; nothing purged; end() purges both tabs`,
  group: 'live',
  run: ({ tab }) => expressApp({}, async (app) => {
    const name = 'n1'
    const sync = { endpoint: '/session', timeout: TIMEOUT }
    const t1 = await tab()
    await t1.goto(app.url('/?tab=1'))
    eq((await t1.evaluate(call, { method: 'POST', path: '/login?user=alice' })).status, 200, 'POST /login?user=alice')
    const opened = await t1.evaluate(openSynced, { name, keys: KEYS, sync, bound: BOUND })
    eq([opened.created, opened.ready, opened.session?.state], ['ok', 'ok', 'active'], 'tab 1 (endpoint answering): [createStore with VisitStore.sessionSync(…), ready, session state]')
    succeeded(await t1.evaluate(({ name }) => window.vt.attempt(() => window.vt.stores[name].setMany({ cart: ['apple'], theme: 'dark', notes: 'kept' })), { name }), 'tab 1: setMany({ cart, theme, notes })')

    // From now on GET /session never answers. Tab 1 asks (refresh) and is left waiting.
    app.hanging = true
    const mark = app.log.length
    await t1.evaluate(({ name }) => {
      const vt = window.vt
      const started = window.performance.now()
      window.n1refresh = { settled: false }
      vt.attempt(() => vt.stores[name].session.refresh()).then((r) => { window.n1refresh = { settled: true, ms: Math.round(window.performance.now() - started), outcome: vt.outcome(r), error: r.error } })
    }, { name })
    for (const end = Date.now() + 5000; !app.log.slice(mark).some((r) => r.method === 'GET' && r.path === '/session' && r.tab === '1');) {
      ok(Date.now() < end, 'tab 1\'s refresh(): its GET /session reached the server within 5 s')
      await sleep(50)
    }

    // Tab 2 opens while tab 1's request hangs.
    const t2 = await tab()
    await t2.goto(app.url('/?tab=2'))
    const r2 = await t2.evaluate(n1SecondTab, { name, keys: KEYS, sync, bound: BOUND })
    eq(r2.created, 'ok', 'tab 2: createStore with VisitStore.sessionSync({ endpoint, timeout })')
    eq(r2.outcomes, { ready: 'ok', 'get("cart")': 'ok', 'keys()': 'ok', 'set("cart")': 'ok', 'get("cart") after set': 'ok' }, `tab 2 while /session hangs: each call within ${BOUND} ms`)
    eq([r2.cart, r2.cartAfterSet], [['apple'], ['apple', 'pear']], 'tab 2: get("cart") (the last known session\'s data, not purged), then after its set')
    ok(r2.keys.includes('cart') && r2.keys.includes('theme') && r2.keys.includes('notes'), 'tab 2: keys() lists cart, theme and notes', r2.keys)
    const failed = await until(t2, ({ name }) => {
      const log = window.vt.logs[name]
      return log.error.some((e) => e.code === 'SESSION_SYNC_FAILED') ? { errors: log.error, status: { ...window.vt.stores[name].status } } : null
    }, { name }, 'tab 2: an error event SESSION_SYNC_FAILED (its own check timed out)', BOUND)
    ok(failed.errors.every((e) => e.isVisitStoreError), 'tab 2: every error event is a VisitStoreError', failed.errors)
    eq(failed.status.session, 'failing', 'tab 2: status.session after its timed-out check')

    // Tab 1: its refresh() gave up with SESSION_SYNC_FAILED, and purged nothing.
    const refresh = await until(t1, () => (window.n1refresh.settled ? window.n1refresh : null), {}, 'tab 1: refresh() settling', BOUND)
    eq([refresh.outcome, refresh.error?.isVisitStoreError], ['SESSION_SYNC_FAILED', true], `tab 1: refresh() against the hung endpoint [outcome, instanceof VisitStoreError] (after ${refresh.ms} ms)`)
    const t1cart = await t1.evaluate(timedCall, { name, op: 'get', args: ['cart'], bound: BOUND })
    eq([t1cart.outcome, t1cart.value], ['ok', ['apple', 'pear']], 'tab 1 after its failed refresh: get("cart") (nothing purged; tab 2\'s write)')
    eq((await t1.evaluate(sessionOf, { name })).state, 'active', 'tab 1 after its failed refresh: session state (last known kept)')

    // session.end() in tab 2 resolves without the network and purges both tabs.
    const ended = await t2.evaluate(timedCall, { name, op: 'end', bound: BOUND })
    eq(ended.outcome, 'ok', `tab 2: session.end() while /session hangs (within ${BOUND} ms)`)
    for (const [t, which] of [[t2, 'tab 2'], [t1, 'tab 1']]) {
      const seen = await until(t, async ({ name }) => {
        const vt = window.vt
        const store = vt.stores[name]
        if (store.session.tag !== null) return null
        const values = await vt.within(() => store.getMany(['cart', 'theme', 'notes']), 2000)
        if (!values.ok) return { error: values.done ? vt.outcome(values) : 'pending' }
        return { state: store.session.state, values: Object.fromEntries(Object.entries(values.value).map(([k, v]) => [k, vt.u(v)])) }
      }, { name }, `${which}: tag null after tab 2's session.end()`, BOUND)
      eq(seen, { state: 'none', values: { cart: UNDEF, theme: UNDEF, notes: 'kept' } }, `${which} after session.end(): [state, values] (session data purged, persistent kept)`)
    }
  }),
}

// ---- n2: a skewed client clock and a rolling session ----

const SKEW = 15 * 60 * 1000
const WINDOW = 10000
const FLOOR = 5000

const skewedClock = {
  id: 'n2',
  name: `skewed clock (page clock 15 min fast, express-session rolling with a 10 min maxAge, README recipe expiresAt): GET /session from that tab over ${WINDOW / 1000} s stays under the floor (one per ${FLOOR / 1000} s + the start-up one); no end while signed in`,
  group: 'live',
  run: ({ tab }) => expressApp({ rolling: true, maxAge: 10 * 60 * 1000 }, async (app) => {
    const { sessionTag } = await loadServerModule()
    const name = 'n2'
    const t = await tab()
    await t.goto(app.url(`/?tab=1&skew=${SKEW}`))
    const drift = (await t.evaluate(() => Date.now())) - Date.now()
    ok(Math.abs(drift - SKEW) < 5000, 'the page clock is 15 minutes fast (?skew= applied by pre.js)', drift)
    eq((await t.evaluate(call, { method: 'POST', path: '/login?user=alice' })).status, 200, 'POST /login?user=alice')
    const mark = app.log.length
    const started = Date.now()
    const opened = await t.evaluate(openSynced, { name, keys: KEYS, sync: { endpoint: '/session' }, bound: BOUND })
    eq([opened.created, opened.ready], ['ok', 'ok'], 'createStore with VisitStore.sessionSync({ endpoint }) and ready')
    await sleep(Math.max(0, started + WINDOW - Date.now()))
    const after = await t.evaluate(sessionOf, { name })
    const asked = app.log.slice(mark).filter((r) => r.method === 'GET' && r.path === '/session' && r.tab === '1' && r.at <= started + WINDOW)
    const most = Math.floor(WINDOW / FLOOR) + 1
    ok(asked.length >= 1, 'the start-up check reached the server', asked.length)
    ok(asked.length <= most, `GET /session from the skewed tab within ${WINDOW / 1000} s: at most ${most} (one automatic request per ${FLOOR / 1000} s, the start-up one included)`, { requests: asked.length, msFromStart: asked.slice(0, 12).map((r) => r.at - started) })
    eq([after.state, after.tag, after.log.end.length], ['active', await sessionTag(app.sessionIds.at(-1), TAG_SECRET), 0], `after ${WINDOW / 1000} s, still signed in: [state, tag, end events]`)
  }),
}

// ---- n3: failing background checks fire `error` ----

const backgroundErrors = {
  id: 'n3',
  name: 'failing background checks fire error: the start-up check and a later automatic check (keepAlive, interval 1 s) against /session answering 500 each fire SESSION_SYNC_FAILED; status.session says failing, then ok; nothing purged',
  group: 'live',
  run: ({ tab }) => expressApp({}, async (app) => {
    const name = 'n3'
    const sync = { endpoint: '/session', timeout: TIMEOUT, interval: 1000, keepAlive: true }
    const t = await tab()
    await t.goto(app.url('/?tab=1'))
    eq((await t.evaluate(call, { method: 'POST', path: '/login?user=alice' })).status, 200, 'POST /login?user=alice')
    app.failing = true
    const opened = await t.evaluate(openSynced, { name, keys: KEYS, sync, bound: BOUND })
    eq([opened.created, opened.ready], ['ok', 'ok'], 'createStore with VisitStore.sessionSync({ endpoint, keepAlive, interval }) and ready, /session answering 500')
    const first = await until(t, ({ name }) => {
      const log = window.vt.logs[name]
      return log.error.some((e) => e.code === 'SESSION_SYNC_FAILED') ? { errors: log.error, status: { ...window.vt.stores[name].status } } : null
    }, { name }, 'an error event SESSION_SYNC_FAILED from the failed start-up check', BOUND)
    eq([first.errors.every((e) => e.isVisitStoreError), first.status.session], [true, 'failing'], 'failed start-up check: [every error event is a VisitStoreError, status.session]')

    // The endpoint works again: an explicit refresh() succeeds, data is written in the session.
    app.failing = false
    const refreshed = await t.evaluate(timedCall, { name, op: 'refresh', bound: BOUND })
    eq(refreshed.outcome, 'ok', 'refresh() with /session answering again')
    const good = await t.evaluate(sessionOf, { name })
    eq([good.state, good.status.session], ['active', 'ok'], 'after the refresh: [state, status.session]')
    eq((await t.evaluate(timedCall, { name, op: 'set', args: ['cart', ['apple']], bound: BOUND })).outcome, 'ok', 'set("cart")')
    const before = good.log.error.length

    // It fails again; no call is made: the next automatic check must say so through `error`.
    app.failing = true
    const markAgain = app.log.length
    const failedAgain = await until(t, ({ name, before }) => {
      const vt = window.vt
      const log = vt.logs[name]
      const errors = log.error.slice(before)
      return errors.some((e) => e.code === 'SESSION_SYNC_FAILED') ? { errors, ...vt.session(name), status: { ...vt.stores[name].status } } : null
    }, { name, before }, 'an error event SESSION_SYNC_FAILED from a background check (no call made) after /session started failing again', FLOOR + 1000 + BOUND)
    eq([failedAgain.errors.every((e) => e.isVisitStoreError), failedAgain.status.session], [true, 'failing'], 'failed background check: [every error event is a VisitStoreError, status.session]')
    ok(app.log.slice(markAgain).some((r) => r.method === 'GET' && r.path === '/session' && r.tab === '1'), 'the failed background check was a GET /session sent after the endpoint started failing again')
    eq([failedAgain.state, failedAgain.tag === good.tag], ['active', true], 'after the failed background check: [state, same tag] (last known state kept)')
    const cart = await t.evaluate(timedCall, { name, op: 'get', args: ['cart'], bound: BOUND })
    eq([cart.outcome, cart.value], ['ok', ['apple']], 'after the failed background check: get("cart") (nothing purged)')
  }),
}

// ---- n4: restricted pages ----

/**
 * Runs in the restricted page or frame. First checks, without visitstore, what the context can
 * really use (so the scenario knows the restricted state is in effect); then makes the store and
 * makes every call with a deadline, recording each outcome as a string ('ok', the VisitStoreError's
 * code, 'raw <name>: <message>' or 'pending…').
 */
const restrictedProbe = async ({ name, keys, sync, bound }) => {
  const vt = window.vt
  const raw = { origin: window.origin, secure: window.isSecureContext, cookieEnabled: navigator.cookieEnabled }
  try {
    document.cookie = `${name}-probe=1; Path=/; SameSite=Lax`
    raw.cookies = document.cookie.includes(`${name}-probe=1`)
    document.cookie = `${name}-probe=; Max-Age=0; Path=/; SameSite=Lax`
  } catch (err) {
    raw.cookies = `throws ${err.name}`
  }
  try {
    sessionStorage.setItem(`${name}-probe`, '1')
    sessionStorage.removeItem(`${name}-probe`)
    raw.sessionStorage = true
  } catch (err) {
    raw.sessionStorage = `throws ${err.name}`
  }
  raw.indexedDB = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve('no answer within 3 s'), 3000)
    const done = (v) => { clearTimeout(timer); resolve(v) }
    try {
      const req = indexedDB.open(`${name}-probe`)
      req.onsuccess = () => { req.result.close(); indexedDB.deleteDatabase(`${name}-probe`); done(true) }
      req.onerror = () => done(`error ${req.error?.name}`)
    } catch (err) {
      done(`throws ${err.name}`)
    }
  })
  try {
    raw.locks = typeof navigator.locks?.request !== 'function' ? 'missing'
      : await navigator.locks.request(`${name}-probe`, () => true).then(() => true, (err) => `rejects ${err.name}`)
  } catch (err) {
    raw.locks = `throws ${err.name}`
  }
  try {
    new window.BroadcastChannel(`${name}-probe`).close()
    raw.broadcastChannel = true
  } catch (err) {
    raw.broadcastChannel = `throws ${err.name}`
  }

  const out = { raw, calls: {}, values: {} }
  const made = await vt.attempt(() => { vt.open(name, { keys, session: window.VisitStore.sessionSync(sync) }) })
  out.calls.createStore = vt.outcome(made)
  if (!made.ok) return out
  const store = vt.stores[name]
  // One driver call must stay under 20 s: after a hang, later calls are not tried.
  let hung = false
  const run = async (label, fn, value) => {
    if (hung) {
      out.calls[label] = 'not tried (an earlier call hung)'
      return { done: false }
    }
    const r = await vt.within(fn, bound)
    hung = !r.done
    out.calls[label] = !r.done ? `pending after ${bound} ms` : vt.outcome(r)
    if (value && r.ok) out.values[label] = vt.u(r.value)
    return r
  }
  await run('ready', () => store.ready)
  out.afterReady = { state: store.session.state, session: store.status.session }
  // The cookie tier: a session cookie key.
  await run('set theme', () => store.set('theme', 'dark'))
  await run('get theme', () => store.get('theme'), true)
  await run('peek theme', () => store.peek('theme'), true)
  await run('update theme', () => store.update('theme', (v) => `${v ?? ''}!`))
  await run('delete theme', () => store.delete('theme'))
  // IndexedDB keys (session and persistent) and the tab key.
  await run('set cart', () => store.set('cart', ['apple']))
  await run('get cart', () => store.get('cart'), true)
  await run('update notes', () => store.update('notes', (n) => (n ?? 0) + 1))
  await run('get notes', () => store.get('notes'), true)
  await run('peek cart', () => store.peek('cart'))
  await run('set scroll', () => store.set('scroll', 120))
  await run('get scroll', () => store.get('scroll'), true)
  const listed = await run('keys', () => store.keys())
  if (listed.ok) out.values.keys = [...listed.value].sort()
  // The session.
  const refreshed = await run('refresh', () => store.session.refresh())
  if (refreshed.done && !refreshed.ok) out.refreshError = refreshed.error
  out.afterRefresh = { state: store.session.state, session: store.status.session }
  await run('end', () => store.session.end())
  out.afterEnd = { state: store.session.state, tag: store.session.tag }
  await run('get cart after end', () => store.get('cart'), true)
  out.status = { ...store.status }
  out.errors = vt.logs[name].error
  return out
}

/**
 * The checks every restricted page shares (the README table's rules): no raw error and no hang
 * from any call; `status` tells the truth about each tier (measured by the probe without
 * visitstore); cookie keys read as missing and refuse writes with STORAGE_UNAVAILABLE where cookies
 * do not work; IndexedDB and tab keys still work for this page; session sync reaches a clear state.
 */
function checkRestricted(out, where) {
  const { raw } = out
  eq(out.calls.createStore, 'ok', `${where}: createStore (must not throw for the environment)`)
  const bad = Object.entries(out.calls).filter(([, o]) => o.startsWith('raw ') || o.startsWith('pending') || o.startsWith('not tried'))
  eq(bad, [], `${where}: calls that threw or rejected with a raw error, or hung (status ${show(out.status)})`)
  ok(out.errors.every((e) => e.isVisitStoreError), `${where}: every error event is a VisitStoreError`, out.errors)

  const cookies = raw.cookies === true
  const want = {
    cookies: cookies ? 'ok' : 'unavailable',
    indexeddb: raw.indexedDB === true ? 'ok' : 'memory',
    sessionStorage: raw.sessionStorage === true ? 'ok' : 'memory',
  }
  const got = Object.fromEntries(Object.keys(want).map((k) => [k, out.status[k]]))
  eq(got, want, `${where}: status vs what the page can really use (${show(raw)})`)
  if (!cookies) eq(out.status.browserSession, 'page', `${where}: status.browserSession without cookies`)
  if (want.cookies !== 'ok' || want.indexeddb !== 'ok' || want.sessionStorage !== 'ok') {
    ok(out.errors.some((e) => e.code === 'STORAGE_UNAVAILABLE'), `${where}: an error event STORAGE_UNAVAILABLE says that a tier is unavailable`, out.errors)
  }

  const cookieCalls = ['set theme', 'get theme', 'peek theme', 'update theme', 'delete theme'].map((k) => out.calls[k])
  if (cookies) {
    eq([cookieCalls, out.values['get theme']], [['ok', 'ok', 'ok', 'ok', 'ok'], 'dark'], `${where}: cookie key [set, get, peek, update, delete] and the value read`)
  } else {
    eq(cookieCalls, ['STORAGE_UNAVAILABLE', 'ok', 'ok', 'STORAGE_UNAVAILABLE', 'STORAGE_UNAVAILABLE'], `${where}, cookies unavailable: cookie key [set, get, peek, update, delete]`)
    eq([out.values['get theme'], out.values['peek theme']], [UNDEF, UNDEF], `${where}, cookies unavailable: [get, peek] of the cookie key`)
  }
  eq([out.calls['set cart'], out.values['get cart'], out.calls['update notes'], out.values['get notes'], out.calls['set scroll'], out.values['get scroll']],
    ['ok', ['apple'], 'ok', 1, 'ok', 120], `${where}: IndexedDB and tab keys work for this page [set cart, get cart, update notes, get notes, set scroll, get scroll]`)
  ok(['cart', 'notes', 'scroll'].every((k) => out.values.keys?.includes(k)), `${where}: keys() lists cart, notes and scroll`, out.values.keys)

  // Session sync: a clear state once the first check has ended (ready waits for it, at most the time-out).
  for (const [when, s] of [['after ready', out.afterReady], ['after refresh()', out.afterRefresh]]) {
    ok(['ok', 'failing', 'unavailable'].includes(s.session), `${where} ${when}: status.session is ok, failing or unavailable`, s)
    if (s.state === 'unknown') {
      ok(s.session !== 'ok' && out.errors.some((e) => e.code === 'SESSION_SYNC_FAILED'),
        `${where} ${when}: session state 'unknown' is only allowed with status.session failing/unavailable and an error event SESSION_SYNC_FAILED`, { ...s, errors: out.errors })
    }
  }
  if (out.calls.refresh !== 'ok') {
    eq(out.calls.refresh, 'SESSION_SYNC_FAILED', `${where}: refresh() resolves or rejects SESSION_SYNC_FAILED`)
    // The observation: "the purge after a session change failed", caused by a Web Locks SecurityError.
    ok(!/the purge|purge after/i.test(out.refreshError.message), `${where}: refresh()'s message is about the session source, not a purge`, out.refreshError)
  }
  eq([out.calls.end, out.afterEnd.tag, out.values['get cart after end']], ['ok', null, UNDEF], `${where}: session.end() [outcome, tag after, get("cart") after]`)
  // Last: how cross-tab exclusive sections are made, against what the page measured (Web Locks that
  // reject here cannot make them; then an IndexedDB transaction if IndexedDB works, else none).
  const locks = raw.locks === true ? 'web-locks' : raw.indexedDB === true ? 'indexeddb' : 'none'
  eq(out.status.locks, locks, `${where}: status.locks (navigator.locks.request here: ${show(raw.locks)}; indexedDB.open: ${show(raw.indexedDB)})`)
}

const PROBE = { keys: KEYS, sync: { endpoint: '/session', timeout: TIMEOUT }, bound: BOUND }

const firefoxCookiesBlocked = {
  id: 'n4a',
  name: 'restricted page (Firefox, network.cookie.cookieBehavior = 2: all cookies and site storage blocked): createStore does not throw; no raw error from any call; status says cookies unavailable, IndexedDB and sessionStorage in memory; session sync in a clear state',
  group: 'live',
  unavailable: (engine) => (engine.name === 'firefox' ? null
    : `Firefox only: a Firefox pref (${engine.name === 'chromium' ? 'Chromium with all cookies blocked is n4b' : 'WebKitGTK with cookies blocked is n4e'})`),
  run: ({ engine }) => expressApp({}, (app) => ownBrowser(engine, { prefs: { 'network.cookie.cookieBehavior': 2 } }, async (browser) => {
    const t = await browser.newTab()
    await t.goto(app.url('/?tab=1'))
    const out = await t.evaluate(restrictedProbe, { name: 'n4a', ...PROBE })
    eq([out.raw.cookieEnabled, out.raw.cookies, out.raw.indexedDB, out.raw.broadcastChannel], [false, false, 'throws SecurityError', 'throws SecurityError'],
      'the state is in effect: [navigator.cookieEnabled, a document.cookie write sticks, indexedDB.open, new BroadcastChannel]')
    checkRestricted(out, 'Firefox, cookies blocked')
  })),
}

const chromiumCookiesBlocked = {
  id: 'n4b',
  name: "restricted page (Chromium, all cookies blocked by the profile's content setting): createStore does not throw; no raw error from any call; status says what works; session sync in a clear state, never stuck at 'unknown'",
  group: 'live',
  unavailable: (engine) => (engine.name === 'chromium' ? null
    : `Chromium only: a Chromium profile setting (${engine.name === 'firefox' ? 'Firefox with all cookies blocked is n4a' : 'WebKitGTK with cookies blocked is n4e'})`),
  run: ({ engine }) => expressApp({}, async (app) => {
    // The profile's Preferences block cookies (and with them site storage) for every site, as the
    // user's "Don't allow sites to save data" setting does.
    const profile = tempDir('n4b-profile')
    mkdirSync(join(profile, 'Default'), { recursive: true })
    writeFileSync(join(profile, 'Default', 'Preferences'), JSON.stringify({ profile: { default_content_setting_values: { cookies: 2 } } }))
    await ownBrowser(engine, { profile }, async (browser) => {
      const t = await browser.newTab()
      await t.goto(app.url('/?tab=1'))
      const out = await t.evaluate(restrictedProbe, { name: 'n4b', ...PROBE })
      eq([out.raw.cookies, out.raw.sessionStorage, out.raw.indexedDB === true, out.raw.locks], [false, 'throws SecurityError', false, 'rejects SecurityError'],
        'the state is in effect: [a document.cookie write sticks, sessionStorage, indexedDB.open works, navigator.locks.request]')
      checkRestricted(out, 'Chromium, cookies blocked')
    })
  }),
}

const webkitCookiesBlocked = {
  id: 'n4e',
  name: 'restricted page (WebKitGTK, cookies blocked: MiniBrowser --cookies-policy=never; IndexedDB, sessionStorage and Web Locks still work): createStore does not throw; no raw error from any call; status.cookies unavailable, browserSession page; session sync in a clear state',
  group: 'live',
  unavailable: (engine) => (engine.name === 'webkit' ? null
    : `WebKitGTK only: a MiniBrowser switch (${engine.name === 'firefox' ? 'Firefox with all cookies blocked is n4a' : 'Chromium with all cookies blocked is n4b'})`),
  run: ({ engine }) => expressApp({}, (app) => ownBrowser(engine, { args: ['--cookies-policy=never'] }, async (browser) => {
    const t = await browser.newTab()
    await t.goto(app.url('/?tab=1'))
    const out = await t.evaluate(restrictedProbe, { name: 'n4e', ...PROBE })
    eq([out.raw.cookies, out.raw.indexedDB, out.raw.sessionStorage, out.raw.locks], [false, true, true, true],
      'the state is in effect: [a document.cookie write sticks, indexedDB.open, sessionStorage, navigator.locks.request]')
    checkRestricted(out, 'WebKit, cookies blocked')
  })),
}

const sandboxedFrame = {
  id: 'n4c',
  name: 'restricted page (an iframe with sandbox="allow-scripts": opaque origin): createStore does not throw; no raw SecurityError from get, set, peek, keys, update, end, refresh; status.cookies unavailable; session sync in a clear state',
  group: 'live',
  run: ({ tab }) => expressApp({}, async (app) => {
    const t = await tab()
    await t.goto(app.url('/?tab=1'))
    const answer = await t.evaluate(({ probe, arg, ms }) => window.vt.inFrame({ src: '/frame.html', sandbox: 'allow-scripts', fn: probe, arg, ms }),
      { probe: restrictedProbe.toString(), arg: { name: 'n4c', ...PROBE }, ms: 18000 })
    ok(answer.result, 'the sandboxed frame ran the probe', answer.thrown)
    const out = answer.result
    eq([out.raw.origin, typeof out.raw.cookies === 'string' && out.raw.cookies.startsWith('throws')], ['null', true], 'the state is in effect: [the frame\'s origin, document.cookie throws]')
    checkRestricted(out, 'sandboxed iframe')
  }),
}

/**
 * WebKitGTK has no host resolver switch: another site (n4d) or a non-secure origin (n5) is this
 * machine's non-loopback IPv4 address instead, where a TCP forwarder to the loopback server listens
 * for the scenario only. Null without such an address.
 */
function lanAddress() {
  return Object.values(networkInterfaces()).flat().find((a) => a?.family === 'IPv4' && !a.internal)?.address ?? null
}

async function withForwarder(port, run) {
  const address = lanAddress()
  const sockets = new Set()
  const keep = (socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)); socket.on('error', () => {}) }
  const forwarder = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    keep(client)
    keep(upstream)
    client.pipe(upstream).pipe(client)
  })
  await new Promise((ok, fail) => {
    forwarder.once('error', fail)
    forwarder.listen(0, address, ok)
  })
  try {
    return await run(`http://${address}:${forwarder.address().port}`)
  } finally {
    for (const socket of sockets) socket.destroy()
    await new Promise((ok) => forwarder.close(() => ok()))
  }
}

const noLanAddress = 'WebKitGTK: no host resolver switch, and this machine has no non-loopback IPv4 address to reach the test server as another origin'

const thirdPartyFrame = {
  id: 'n4d',
  name: 'restricted page (a third-party iframe with third-party cookies blocked; Chromium and Firefox: thirdparty.test mapped to 127.0.0.1 and treated as a secure context; WebKit: this machine\'s LAN address): createStore does not throw; no raw SecurityError from update or session.end(); status says what works',
  group: 'live',
  unavailable: (engine) => (engine.name === 'webkit' && !lanAddress() ? noLanAddress : null),
  run: ({ engine }) => expressApp({}, async (app) => {
    const port = Number(new URL(app.origin).port)
    // Chromium: the name mapped to 127.0.0.1, treated as secure (as https would be, so the frame has
    // Web Locks), third-party cookies blocked (also the default of playwright's incognito context).
    // Firefox: network.dns.localDomains, dom.securecontext.allowlist, and cookieBehavior 1 (block
    // all third-party cookies; the default 5 gives the frame partitioned storage instead).
    // WebKit: the frame on this machine's LAN address (a TCP forwarder); WebKitGTK blocks
    // third-party cookies by default and has no switch to treat a non-secure origin as secure, so
    // this frame has no Web Locks either.
    const setups = {
      chromium: (frameOrigin) => ({ args: ['--host-resolver-rules=MAP thirdparty.test 127.0.0.1 , MAP * ~NOTFOUND , EXCLUDE 127.0.0.1', `--unsafely-treat-insecure-origin-as-secure=${frameOrigin}`, '--test-third-party-cookie-phaseout'] }),
      firefox: () => ({ prefs: { 'network.dns.localDomains': 'thirdparty.test', 'dom.securecontext.allowlist': 'thirdparty.test', 'network.cookie.cookieBehavior': 1 } }),
      webkit: () => ({}),
    }
    const frameAt = (run) => (engine.name === 'webkit' ? withForwarder(port, run) : run(`http://thirdparty.test:${port}`))
    await frameAt((frameOrigin) => ownBrowser(engine, setups[engine.name](frameOrigin), async (browser) => {
      const t = await browser.newTab()
      await t.goto(app.url('/?tab=1'))
      const answer = await t.evaluate(({ src, probe, arg, ms }) => window.vt.inFrame({ src, fn: probe, arg, ms }),
        { src: `${frameOrigin}/frame.html`, probe: restrictedProbe.toString(), arg: { name: 'n4d', ...PROBE }, ms: 18000 })
      ok(answer.result, 'the third-party frame ran the probe', answer.thrown)
      const out = answer.result
      const secure = engine.name !== 'webkit'
      eq([out.raw.origin, out.raw.secure, out.raw.locks === 'missing', out.raw.cookies], [frameOrigin, secure, !secure, false],
        `the state is in effect: [the frame's origin (another site than the page's 127.0.0.1), a secure context, navigator.locks missing, a document.cookie write sticks]`)
      checkRestricted(out, 'third-party iframe')
    }))
  }),
}

// ---- n5: no Web Locks (insecure origin) ----

const N = 100

/**
 * Schedules this tab's burst of `n` concurrent update(key, v => v + 1) for the clock time `startAt`
 * and returns at once (WebDriver classic runs one command at a time, so a burst inside the call
 * could not overlap the other tab's). It waits by posting messages to itself, not with timers
 * (background tabs throttle those). The outcome lands in window.n5burst.
 */
const scheduleBurst = ({ key, startAt, n }) => {
  const vt = window.vt
  const store = vt.stores.n5
  window.n5burst = null
  const run = async () => {
    const started = Date.now()
    const settled = await Promise.allSettled(Array.from({ length: n }, () => store.update(key, (v) => (v ?? 0) + 1)))
    window.n5burst = {
      started,
      ended: Date.now(),
      results: settled.filter((x) => x.status === 'fulfilled').map((x) => x.value),
      failures: settled.filter((x) => x.status === 'rejected').map((x) => vt.errorJson(x.reason)).slice(0, 3),
    }
  }
  void vt.at(startAt).then(run)
  return true
}

/**
 * Runs `run(browser, origin)` in a browser of the scenario's own on an origin that is not a secure
 * context (no navigator.locks: the store's cross-tab lock is IndexedDB's): Chromium
 * http://app.test:PORT mapped to 127.0.0.1, Firefox network.dns.localDomains, WebKitGTK this
 * machine's LAN address (withForwarder).
 */
function onInsecureOrigin(engine, server, run) {
  const port = Number(new URL(server.origin).port)
  const launch = {
    chromium: { args: ['--host-resolver-rules=MAP app.test 127.0.0.1 , MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'] },
    firefox: { prefs: { 'network.dns.localDomains': 'app.test' } },
    webkit: {},
  }[engine.name]
  const at = (go) => (engine.name === 'webkit' ? withForwarder(port, go) : go(`http://app.test:${port}`))
  return at((origin) => ownBrowser(engine, launch, (browser) => run(browser, origin)))
}

const insecureOrigin = {
  id: 'n5',
  name: `insecure origin (no navigator.locks; Chromium: http://app.test:PORT mapped to 127.0.0.1 with --host-resolver-rules, Firefox: network.dns.localDomains, WebKit: this machine's LAN address): two tabs × ${N} concurrent update(n => n + 1) end at exactly ${2 * N}, results 1…${2 * N} each once, for a cookie key and an IndexedDB key; status.locks === 'indexeddb'; then, the clock an hour back and the cookie removed, update starts from missing`,
  group: 'live',
  // A race: it runs with the machine to itself (run.mjs), or its check that the race ran may fail.
  quiet: true,
  unavailable: (engine) => (engine.name === 'webkit' && !lanAddress() ? noLanAddress : null),
  run: ({ engine, server }) => onInsecureOrigin(engine, server, async (browser, origin) => {
    const keys = { counter: { lifetime: 'persistent' }, hits: { lifetime: 'persistent', serverVisible: true } }
    await (await browser.newTab()).goto('about:blank') // a tab that stays open
    const t1 = await browser.newTab()
    const t2 = await browser.newTab()
    const locks = []
    for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) {
      await t.goto(`${origin}/?tab=${which.at(-1)}`)
      const r = await t.evaluate(async ({ keys }) => {
        const vt = window.vt
        const store = vt.store('n5', keys)
        const ready = await vt.within(() => store.ready, 8000)
        return { secure: window.isSecureContext, locks: typeof navigator.locks, ready: ready.done ? vt.outcome(ready) : 'pending', status: { ...store.status } }
      }, { keys })
      eq([r.secure, r.locks], [false, 'undefined'], `${which} on ${origin}: the state is in effect: [isSecureContext, typeof navigator.locks]`)
      eq(r.ready, 'ok', `${which}: ready`)
      locks.push(r.status.locks)
    }
    for (const [key, tier] of [['hits', 'cookie'], ['counter', 'IndexedDB']]) {
      // A try whose bursts did not overlap in time tests nothing: start again from an empty key (3 tries).
      let a
      let b
      for (let attempt = 1; ; attempt++) {
        eq((await t1.evaluate(({ key }) => window.vt.attempt(() => window.vt.stores.n5.delete(key)), { key })).ok, true, `tab 1: delete("${key}") before the race`)
        const startAt = Date.now() + 1500
        for (const t of [t1, t2]) await t.evaluate(scheduleBurst, { key, startAt, n: N })
        ;[a, b] = [await until(t1, () => window.n5burst, {}, 'tab 1\'s burst', 20000), await until(t2, () => window.n5burst, {}, 'tab 2\'s burst', 20000)]
        if (a.started < b.ended && b.started < a.ended) break
        ok(attempt < 3, `${key} (${tier}): the two tabs' bursts overlapped in time (3 tries)`, [a, b].map(({ started, ended }) => [started - startAt, ended - startAt]))
      }
      const all = [...a.results, ...b.results].sort((x, y) => x - y)
      const repeated = all.filter((v, i) => all[i - 1] === v).length
      const rejected = 2 * N - all.length
      eq(all, Array.from({ length: 2 * N }, (_, i) => i + 1), `${key} (${tier}): the ${2 * N} update() results are 1…${2 * N}, each once (${repeated} repeated, ${rejected} rejected${rejected ? `, e.g. ${show([...a.failures, ...b.failures][0])}` : ''})`)
      eq([...a.failures, ...b.failures], [], `${key} (${tier}): update() rejections`)
      // The other tab's last cookie write reaches a Firefox or WebKit content process's copy of
      // the jar a moment later: the final state is read until it shows (3 s), not just once.
      for (const [t, which] of [[t1, 'tab 1'], [t2, 'tab 2']]) {
        const want = key === 'hits' ? { got: 2 * N, cookie: String(2 * N) } : { got: 2 * N }
        const read = ({ key }) => window.vt.stores.n5.get(key).then((v) => ({ got: window.vt.u(v), ...(key === 'hits' ? { cookie: window.vt.cookie(`n5_${key}`) } : {}) }))
        let r = await t.evaluate(read, { key })
        for (const end = Date.now() + 3000; show(r) !== show(want) && Date.now() < end; await sleep(50)) r = await t.evaluate(read, { key })
        // On a failure, what the browser's cookie store holds (the Cookie header it sends) tells a
        // lagging copy in this tab from a lost write.
        const sent = key === 'hits' && show(r) !== show(want) ? `; the Cookie header of this tab's next request has n5_hits=${(await t.evaluate(() => fetch('/echo').then((res) => res.json()))).cookies?.n5_hits}` : ''
        eq(r, want, `${which}: get("${key}")${key === 'hits' ? ' and document.cookie n5_hits' : ''} after both bursts (within 3 s)${sent}`)
      }
    }
    eq(locks, ['indexeddb', 'indexeddb'], 'status.locks in tab 1 and tab 2 (an IndexedDB transaction serialises the tabs)')
    // The clock goes back an hour and the cookie is removed (a script, the user): the IndexedDB
    // lock's memory of the last writes (dated an hour ahead now) must not stand in for it.
    const back = await t1.evaluate(async () => {
      const vt = window.vt
      const real = Date.now.bind(Date)
      Date.now = () => real() - 3600000
      document.cookie = 'n5_hits=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT'
      const r = await vt.attempt(() => vt.stores.n5.update('hits', (v) => (v ?? 0) + 1))
      return { got: r.ok ? r.value : vt.outcome(r), cookie: vt.cookie('n5_hits') }
    })
    eq(back, { got: 1, cookie: '1' }, 'tab 1, its clock an hour back, the cookie removed: update("hits", n => n + 1) starts from missing: [result, cookie]')
  }),
}

// ---- n6: an idle tab must not keep a rolling server session alive ----

const MAX_AGE = 10000
const ACTIVE_MS = MAX_AGE + 6000
/** The idle session must be gone by then: its maxAge, plus one more for an expiry check that came a little early, plus slack. */
const IDLE_LIMIT = 2 * MAX_AGE + 5000

const idleSession = {
  id: 'n6',
  name: `idle session (express-session rolling, maxAge ${MAX_AGE / 1000} s; sessionSync interval 1 s): an idle open tab lets the server session expire (session store) and hears end; a tab with user input every second (${ACTIVE_MS / 1000} s) keeps its session alive`,
  group: 'live',
  // Two servers at once (their own cookie names: cookies are shared by every port of 127.0.0.1).
  run: ({ tab }) => expressApp({ rolling: true, maxAge: MAX_AGE, cookieName: 'idle.sid' }, (idle) => expressApp({ rolling: true, maxAge: MAX_AGE, cookieName: 'active.sid' }, async (active) => {
    const sync = { endpoint: '/session', timeout: TIMEOUT, interval: 1000 }
    const start = async (app, name) => {
      const t = await tab()
      await t.goto(app.url(`/?tab=${name}`))
      eq((await t.evaluate(call, { method: 'POST', path: '/login?user=alice' })).status, 200, `${name} tab: POST /login`)
      const opened = await t.evaluate(openSynced, { name, keys: KEYS, sync, bound: BOUND })
      eq([opened.created, opened.ready, opened.session?.state], ['ok', 'ok', 'active'], `${name} tab: [createStore with VisitStore.sessionSync({ endpoint, interval: 1000 }), ready, state]`)
      return { t, id: app.sessionIds.at(-1), since: Date.now() }
    }
    const idleTab = await start(idle, 'idle')
    const activeTab = await start(active, 'active')

    // The active tab gets real user input (driver clicks and key presses) every second.
    let idleGoneAt = null
    const stopAt = activeTab.since + ACTIVE_MS
    while (Date.now() < stopAt) {
      await activeTab.t.input()
      ok(await active.sessionAlive(activeTab.id), `active tab: its server session is alive ${((Date.now() - activeTab.since) / 1000).toFixed(1)} s after its start-up check (session store)`)
      if (idleGoneAt === null && !(await idle.sessionAlive(idleTab.id))) idleGoneAt = Date.now()
      await sleep(1000)
    }
    const asked = active.log.filter((r) => r.method === 'GET' && r.path === '/session' && r.tab === 'active').length
    ok(asked >= 2, 'active tab: it asked /session again after the start-up check (that is what keeps the session alive)', asked)
    const a = await activeTab.t.evaluate(sessionOf, { name: 'active' })
    eq([a.state, a.log.end.length], ['active', 0], `active tab after ${ACTIVE_MS / 1000} s of input: [state, end events]`)

    // The idle tab: no input at all. The server session must expire, and the tab must hear it.
    while (idleGoneAt === null && Date.now() < idleTab.since + IDLE_LIMIT) {
      if (!(await idle.sessionAlive(idleTab.id))) idleGoneAt = Date.now()
      else await sleep(250)
    }
    const idleAsked = idle.log.filter((r) => r.method === 'GET' && r.path === '/session' && r.tab === 'idle').map((r) => r.at - idleTab.since)
    ok(idleGoneAt !== null, `idle tab: its server session expired within ${IDLE_LIMIT / 1000} s of its start-up check (session store); the tab's GET /session at ms after that check`, idleAsked)
    const ended = await until(idleTab.t, ({ name }) => {
      const vt = window.vt
      return vt.logs[name].end.length ? { state: vt.stores[name].session.state, end: vt.logs[name].end.length } : null
    }, { name: 'idle' }, 'idle tab: an end event once its server session expired', Math.max(2000, idleTab.since + IDLE_LIMIT + 2000 - Date.now()))
    eq(ended, { state: 'none', end: 1 }, 'idle tab: [state, end events] after its server session expired')
  })),
}

// ---- n7: three tabs' cross-tier batches and clears at once, under the IndexedDB lock ----

const N7_KEYS = { theme: { lifetime: 'persistent', serverVisible: true }, note: { lifetime: 'persistent' }, visit: { lifetime: 'session', serverVisible: true }, cart: { lifetime: 'session' } }
const N7_ROUNDS = 12
const N7_TRIALS = 8

/** Tab `tab`, at `startAt`: N7_ROUNDS awaited setMany of all four keys to `<trial>.<tab>.<k>`, round `clearAt` a clear() instead. */
const scheduleN7 = ({ keys, startAt, tab, rounds, clearAt, trial }) => {
  const vt = window.vt
  window.n7 = undefined
  const store = vt.stores.n7 ?? vt.open('n7', { keys })
  void (async () => {
    await store.ready
    await vt.at(startAt)
    const started = Date.now()
    const failures = []
    for (let k = 0; k < rounds; k++) {
      const v = `${trial}.${tab}.${k}`
      const r = await vt.attempt(() => (k === clearAt ? store.clear() : store.setMany({ theme: v, note: v, visit: v, cart: v })))
      if (!r.ok) failures.push(`round ${k}: ${vt.outcome(r)}`)
    }
    window.n7 = { started, ended: Date.now(), failures }
  })()
  return true
}

/** What a tab's store reads of the four keys (and of the two cookies, synchronously). */
const readN7 = async ({ keys }) => {
  const vt = window.vt
  const store = vt.stores.n7 ?? vt.open('n7', { keys })
  await store.ready
  const got = await store.getMany(['theme', 'note', 'visit', 'cart'])
  return { ...Object.fromEntries(Object.entries(got).map(([k, v]) => [k, vt.u(v)])), peekTheme: vt.u(store.peek('theme')), peekVisit: vt.u(store.peek('visit')) }
}

const insecureBatches = {
  id: 'n7',
  name: `insecure origin (n5's): three tabs, each ${N7_ROUNDS} cross-tier setMany of two cookies and two records (one round a clear()) from one clock time, ${N7_TRIALS} trials: every call resolves, and every tab and a new tab read one batch whole (or all cleared), the same one`,
  group: 'live',
  quiet: true,
  unavailable: (engine) => (engine.name === 'webkit' && !lanAddress() ? noLanAddress : null),
  run: ({ engine, server }) => onInsecureOrigin(engine, server, async (browser, origin) => {
    await (await browser.newTab()).goto('about:blank') // a tab that stays open
    const tabs = []
    for (let i = 0; i < 3; i++) {
      const t = await browser.newTab()
      await t.goto(`${origin}/?tab=${i}`)
      tabs.push(t)
    }
    const state = await tabs[0].evaluate(async ({ keys }) => {
      const store = window.vt.open('n7', { keys })
      await store.ready
      return [window.isSecureContext, store.status.locks]
    }, { keys: N7_KEYS })
    eq(state, [false, 'indexeddb'], `the state is in effect on ${origin}: [isSecureContext, status.locks]`)
    const bad = []
    let overlapped = 0
    for (let trial = 0; trial < N7_TRIALS; trial++) {
      const startAt = Date.now() + 500
      for (const [i, t] of tabs.entries()) await t.evaluate(scheduleN7, { keys: N7_KEYS, startAt: startAt + i, tab: i, rounds: N7_ROUNDS, clearAt: (trial + i * 5) % N7_ROUNDS, trial })
      const runs = []
      for (const [i, t] of tabs.entries()) runs.push(await until(t, () => window.n7, undefined, `trial ${trial}: tab ${i}'s calls`, 30000))
      eq(runs.flatMap((r) => r.failures), [], `trial ${trial}: calls that rejected`)
      if (Math.max(...runs.map((r) => r.started)) < Math.min(...runs.map((r) => r.ended))) overlapped++
      // A Firefox or WebKit content process's copy of the jar catches up with the last writes a moment later.
      await sleep(1500)
      const fresh = await browser.newTab()
      await fresh.goto(`${origin}/?fresh=${trial}`)
      const reads = []
      for (const t of [...tabs, fresh]) reads.push(await t.evaluate(readN7, { keys: N7_KEYS }))
      await fresh.close()
      for (const [i, r] of reads.entries()) if (new Set(Object.values(r)).size !== 1) bad.push({ trial, tab: i === 3 ? 'new' : i, read: r })
      if (new Set(reads.map((r) => r.theme)).size !== 1) bad.push({ trial, tabs: reads.map((r) => r.theme) })
    }
    eq(bad, [], 'reads that are not one batch whole, or differ between tabs (theme, note, visit, cart, peek of theme and visit)')
    ok(overlapped >= N7_TRIALS / 2, `the three tabs' calls overlapped in time in at least half the trials (${overlapped} of ${N7_TRIALS})`)
  }),
}

export const hostileScenarios = [hungEndpoint, skewedClock, backgroundErrors, firefoxCookiesBlocked, chromiumCookiesBlocked, webkitCookiesBlocked, sandboxedFrame, thirdPartyFrame, insecureOrigin, idleSession, insecureBatches]
