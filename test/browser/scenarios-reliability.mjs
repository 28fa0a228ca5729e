// Browser scenarios: data safety (issue 12 and after): r1–r26 and the crash test rc.
import { eq, ok, show, UNDEF, until } from './lib/check.mjs'
import { sleep } from './lib/util.mjs'
import { startExpressServer } from './express-server.mjs'
import { createServer } from 'node:http'

const rand = () => Math.random().toString(36).slice(2, 8)

// ---- r1: two tabs start in the same millisecond, with no marker cookie ----

const R1_KEYS = { a: { lifetime: 'session' }, b: { lifetime: 'session' } }

/**
 * In the page: sleeps until `lead` ms before the wall-clock instant `at`, then waits (busy) until
 * `at`, then starts the store the way an app does (createStore, a `set` right away, then `ready`).
 * `detach`: return at once and keep the outcome in window.r1Outcome[name] (WebDriver classic runs
 * one command at a time, so the driver cannot wait for one tab while the other starts).
 */
const r1Start = ({ name, keys, key, value, at, lead, detach }) => {
  const run = async () => {
    if (lead !== null) await new Promise((resolve) => setTimeout(resolve, at - lead - Date.now()))
    while (Date.now() < at) { /* spin: both tabs leave this loop in the same millisecond */ }
    const started = Date.now()
    const vt = window.vt
    const store = vt.open(name, { keys })
    const set = await vt.attempt(() => store.set(key, value))
    await store.ready
    return { started, late: started - at, set: vt.outcome(set), marker: vt.cookie(`${name}_$s`) }
  }
  if (!detach) return run()
  window.r1Outcome ??= {}
  run().then((r) => { window.r1Outcome[name] = r }, (err) => { window.r1Outcome[name] = { error: String(err) } })
  return null
}

const r1Read = async ({ name }) => {
  const vt = window.vt
  const store = vt.stores[name]
  const read = async (key) => {
    const r = await vt.attempt(() => store.get(key))
    return r.ok ? vt.u(r.value) : `get rejected: ${vt.outcome(r)}`
  }
  return { a: await read('a'), b: await read('b'), marker: vt.cookie(`${name}_$s`) }
}

const r1Raw = async ({ name }) => (await window.vt.rawRecords(name)).map(([k]) => k).filter((k) => !String(k).startsWith('$')).sort()

/** Closes the trial's stores, removes their marker cookies and databases. */
const r1Clean = async ({ names }) => {
  for (const name of names) {
    window.vt.stores[name]?.close()
    delete window.vt.stores[name]
    document.cookie = `${name}_$s=; Path=/; Max-Age=0`
    await new Promise((resolve) => {
      const req = indexedDB.deleteDatabase(`visitstore-${name}`)
      req.onsuccess = req.onerror = req.onblocked = () => resolve()
    })
  }
}

/**
 * How each engine gets two tabs to start together. `ahead`: ms from the driver's call to the
 * instant; `lead`: ms of busy waiting at the end (null: all of it); `detach`: see r1Start.
 * Chromium: a timer, then 150 ms of spinning (spinning all the time in two renderers starves the
 * browser process on a small machine). Firefox: spin all the way (a background tab's timers fire
 * late). WebKit: detached, a timer, then 300 ms of spinning.
 */
// 20 trials in Chromium, where the issue saw 4–9 of 15 lost; 10 in Firefox and WebKit, which lost
// 20 of 20 and 7 of 8 before the fix (so 10 catch a regression), to keep the suite's time down.
const R1_HOW = {
  chromium: { trials: 20, ahead: 300, lead: 150, detach: false },
  firefox: { trials: 10, ahead: 400, lead: null, detach: false },
  webkit: { trials: 10, ahead: 600, lead: 300, detach: true },
}

const simultaneousStart = {
  id: 'r1',
  name: 'two tabs start in the same millisecond with no marker cookie (fresh store per trial): both writes survive in both tabs and in the database; one marker',
  group: 'live',
  // A race: it runs with the machine to itself (run.mjs), or its check that the race ran may fail.
  quiet: true,
  async run({ tab, server, engine }) {
    const how = R1_HOW[engine.name] ?? R1_HOW.chromium
    const t1 = await tab()
    const t2 = await tab()
    for (const t of [t1, t2]) {
      await t.goto(server.url('/'))
      await t.evaluate(() => window.vt.u(undefined))
    }
    const names = []
    const lost = []
    const skews = []
    try {
      // At least how.trials trials, and more (up to three times as many) until 3 of them really
      // raced: a machine busy with other work (the other engines' suites) deschedules tabs more often.
      const raced = () => skews.filter((ms) => ms <= 2).length
      for (let i = 0; i < how.trials || (raced() < 3 && i < how.trials * 3); i++) {
        const name = `r1-${i}-${rand()}`
        names.push(name)
        const at = Date.now() + how.ahead
        const args = (key, value) => ({ name, keys: R1_KEYS, key, value, at, lead: how.lead, detach: how.detach })
        let starts = await Promise.all([t1.evaluate(r1Start, args('a', `tab 1, trial ${i}`)), t2.evaluate(r1Start, args('b', `tab 2, trial ${i}`))])
        if (how.detach) {
          starts = []
          for (const [n, t] of [t1, t2].entries()) starts.push(await until(t, ({ name }) => window.r1Outcome?.[name] ?? null, { name }, `tab ${n + 1}: trial ${i} started and ready`))
        }
        for (const [n, s] of starts.entries()) {
          ok(!s.error, `trial ${i}, tab ${n + 1}: the start threw`, s.error)
          eq(s.set, 'ok', `trial ${i}, tab ${n + 1}: set() at start-up`)
        }
        skews.push(Math.abs(starts[0].started - starts[1].started))
        // Both are ready: each tab reads both keys, then the raw database is looked at.
        const seen = [await t1.evaluate(r1Read, { name }), await t2.evaluate(r1Read, { name })]
        await sleep(100)
        const raw = await t1.evaluate(r1Raw, { name })
        const want = { a: `tab 1, trial ${i}`, b: `tab 2, trial ${i}` }
        const bad = []
        for (const [n, s] of seen.entries()) {
          if (s.a !== want.a || s.b !== want.b) bad.push(`tab ${n + 1} reads a=${show(s.a)} b=${show(s.b)}`)
        }
        if (raw.join() !== 'a,b') bad.push(`raw records ${show(raw)}`)
        if (!seen[0].marker || seen[0].marker !== seen[1].marker) bad.push(`marker cookies ${show(seen.map((s) => s.marker))}`)
        if (bad.length) lost.push(`trial ${i} (started ${skews.at(-1)} ms apart): ${bad.join('; ')}`)
      }
    } finally {
      await t1.evaluate(r1Clean, { names }).catch(() => {})
      await t2.evaluate(r1Clean, { names }).catch(() => {})
    }
    eq(lost, [], `${skews.length} trials of two tabs starting together: trials that lost a write or disagreed on the marker (${lost.length} of ${skews.length})`)
    // The race was really run: some trials started within 2 ms in both tabs (on a loaded 2-core
    // machine a tab is now and then descheduled at the instant; most trials still land within 2 ms).
    const together = skews.filter((ms) => ms <= 2).length
    ok(together >= 3, `the tabs started within 2 ms of each other in only ${together} of ${skews.length} trials: the test could not make them race (start skews in ms)`, skews)
  },
}

// ---- r2: the marker cookie is removed while a tab is open ----

const R2_KEYS = { cart: { lifetime: 'session' }, late: { lifetime: 'session' }, other: { lifetime: 'session' } }
const R2_ALL = { cart: ['apple'], late: 'written after the cookie went', other: 'from tab 2' }

/**
 * In the page: opens the store (once per page) and reads `keys` (a rejected get reads as
 * 'get rejected: CODE'). With `want` (for until()): null unless every key holds what it says,
 * compared key by key (a driver may hand `want` over with its keys in another order).
 */
const readKeys = async ({ name, options, keys, want }) => {
  const vt = window.vt
  const store = vt.open(name, options)
  await store.ready
  const got = {}
  for (const key of keys) {
    const read = await vt.attempt(() => store.get(key))
    got[key] = read.ok ? vt.u(read.value) : `get rejected: ${vt.outcome(read)}`
  }
  if (want && !keys.every((key) => JSON.stringify(got[key]) === JSON.stringify(want[key]))) return null
  return got
}

/** In the page: opens the store (once per page) and calls setMany; resolves to 'ok' or the error code. */
const writeKeys = async ({ name, options, values }) => {
  const vt = window.vt
  const store = vt.open(name, options)
  await store.ready
  return vt.outcome(await vt.attempt(() => store.setMany(values)))
}

/** Reads until every key holds what `want` says, or gives up after 5 s: then fails with what was read. */
async function expectValues(t, arg, want, what) {
  try {
    await until(t, readKeys, { ...arg, keys: Object.keys(want), want }, what)
  } catch {
    eq(await t.evaluate(readKeys, { ...arg, keys: Object.keys(want) }), want, `${what} (read for 5 s)`)
  }
}

const markerRemoved = {
  id: 'r2',
  name: 'the marker cookie is removed while a tab is open: that tab keeps writing, a new tab reads its data, and nothing is lost after a reload',
  group: 'live',
  async run({ tab, server }) {
    const name = `r2-${rand()}`
    const arg = { name, options: { keys: R2_KEYS } }
    const t1 = await tab()
    await t1.goto(server.url('/'))
    eq(await t1.evaluate(writeKeys, { ...arg, values: { cart: R2_ALL.cart } }), 'ok', 'tab 1: set("cart")')
    // A clean-up script (or the user) removes the marker cookie; tab 1 is still open and writes on.
    const gone = await t1.evaluate(({ name }) => {
      document.cookie = `${name}_$s=; Path=/; Max-Age=0`
      return window.vt.cookie(`${name}_$s`)
    }, { name })
    eq(gone, null, 'the marker cookie after removing it')
    eq(await t1.evaluate(writeKeys, { ...arg, values: { late: R2_ALL.late } }), 'ok', 'tab 1: set("late") after the marker cookie was removed')
    // A new tab starts without the cookie.
    const t2 = await tab()
    await t2.goto(server.url('/'))
    eq(await t2.evaluate(writeKeys, { ...arg, values: { other: R2_ALL.other } }), 'ok', 'tab 2 (started after the removal): set("other")')
    await expectValues(t1, arg, R2_ALL, 'tab 1 reads its own data and tab 2\'s')
    await expectValues(t2, arg, R2_ALL, 'tab 2 reads tab 1\'s data (written before and after the removal) and its own')
    ok(await t2.evaluate(({ name }) => window.vt.cookie(`${name}_$s`), { name }), 'a marker cookie exists again after tab 2 started')
    await t1.reload()
    await expectValues(t1, arg, R2_ALL, 'tab 1 after a reload')
    await expectValues(t2, arg, R2_ALL, 'tab 2 after tab 1\'s reload')
    const raw = await t2.evaluate(r1Raw, { name })
    eq(raw, ['cart', 'late', 'other'], 'raw IndexedDB records at the end (nothing swept)')
  },
}

// ---- r3: a store in a dedicated Worker ----

const R3_KEYS = {
  cart: { lifetime: 'session' }, wcart: { lifetime: 'session' }, wlocal: { lifetime: 'session' },
  notes: { lifetime: 'persistent' }, wnotes: { lifetime: 'persistent' },
}

/** In the page: runs the worker store through `steps` ([op, arg] pairs, in order); stops at the first failure. */
const inWorker = async ({ steps }) => {
  const w = window.vt.worker('/worker-store.js')
  const out = []
  for (const [op, arg] of steps) {
    const answer = await w.call(op, arg)
    out.push(answer.ok ? answer.value : { failed: op, error: answer.error })
    if (!answer.ok) break
  }
  return out
}

const worker = {
  id: 'r3',
  name: "a store in a dedicated Worker shares the page's session and persistent data while a page is open; with none it says so (browserSession 'page', one error) and deletes nothing",
  group: 'live',
  async run({ tab, server }) {
    const name = `r3-${rand()}`
    const arg = { name, options: { keys: R3_KEYS } }
    const t1 = await tab()
    await t1.goto(server.url('/'))
    eq(await t1.evaluate(writeKeys, { ...arg, values: { cart: ['apple'], notes: 'page note' } }), 'ok', 'page: setMany of a session and a persistent IndexedDB key')
    // The same store in a worker of that page, while the page's store is open.
    const [opened, , cart, notes, setW, setWn, wcart, status, log] = await t1.evaluate(inWorker, { steps: [
      ['open', { name, keys: R3_KEYS }], ['ready', { name }], ['get', { name, key: 'cart' }], ['get', { name, key: 'notes' }],
      ['set', { name, key: 'wcart', value: ['pear'] }], ['set', { name, key: 'wnotes', value: 'worker note' }], ['get', { name, key: 'wcart' }],
      ['status', { name }], ['log', { name }],
    ] })
    eq(opened, true, 'worker: importScripts(visitstore.iife.js) and createStore')
    eq([cart, notes], [['apple'], 'page note'], "worker (a page of the session open): reads the page's session cart and persistent notes")
    eq([setW, setWn, wcart], [true, true, ['pear']], 'worker: set("wcart") (session), set("wnotes") (persistent), get("wcart")')
    await expectValues(t1, arg, { cart: ['apple'], notes: 'page note', wcart: ['pear'], wnotes: 'worker note' }, "page: its own data and the worker's writes")
    eq([status?.browserSession, log?.error], ['shared', []], "worker with a page of the session open: [status.browserSession, error events]")
    await t1.reload()
    await expectValues(t1, arg, { cart: ['apple'], notes: 'page note', wcart: ['pear'], wnotes: 'worker note' }, 'page after a reload (the worker deleted nothing)')
    eq(await t1.evaluate(r1Raw, { name }), ['cart', 'notes', 'wcart', 'wnotes'], 'raw IndexedDB records after the shared phase')

    // No page of the browser session has the store open: a worker started by a page that does not use it.
    await t1.close()
    const t2 = await tab()
    await t2.goto(server.url('/'))
    const alone = await t2.evaluate(inWorker, { steps: [
      ['open', { name, keys: R3_KEYS }], ['ready', { name }], ['get', { name, key: 'cart' }],
      ['set', { name, key: 'wlocal', value: 'kept in the worker' }], ['get', { name, key: 'wlocal' }], ['get', { name, key: 'notes' }],
    ] })
    eq(alone.slice(0, 2), [true, true], 'worker with no page of the session: createStore and ready')
    ok(!alone.some((a) => a?.failed), 'worker with no page of the session: every call resolves', alone)
    eq([alone[4], alone[5]], ['kept in the worker', 'page note'], 'worker with no page of the session: [its own session write read back, the persistent notes]')
    // Its start-up and reads are over: nothing of the page's session data may be gone.
    await sleep(300)
    const rawAlone = await t2.evaluate(r1Raw, { name })
    ok(['cart', 'notes', 'wcart', 'wnotes'].every((k) => rawAlone.includes(k)), 'raw IndexedDB records after the lone worker started, read and wrote: cart, notes, wcart, wnotes still there (no session record deleted)', rawAlone)
    const [status2, log2] = await t2.evaluate(inWorker, { steps: [['status', { name }], ['log', { name }]] })
    eq(status2?.browserSession, 'page', 'worker with no page of the session: status.browserSession')
    eq((log2?.error ?? []).map((e) => [e.code, e.isVisitStoreError]), [['STORAGE_UNAVAILABLE', true]], 'worker with no page of the session: error events [code, instanceof VisitStoreError] (exactly one)')
    // A page of the session opens the store again: the session data is all there.
    await expectValues(t2, arg, { cart: ['apple'], wcart: ['pear'], notes: 'page note', wnotes: 'worker note' }, 'a page opening the store after the lone worker')
  },
}

// ---- r4: cookie: { path: '/app' }, and the same store on /help/ ----

const R4_KEYS = { cart: { lifetime: 'session' }, visit: { lifetime: 'session', serverVisible: true }, notes: { lifetime: 'persistent' } }

const r4Look = async ({ name, options }) => {
  const vt = window.vt
  const store = vt.open(name, options)
  await store.ready
  return {
    cart: vt.u(await store.get('cart')), notes: vt.u(await store.get('notes')),
    cookies: store.status.cookies, marker: vt.cookie(`${name}_$s`), errors: vt.logs[name].error.map((e) => e.code),
  }
}

const cookiePath = {
  id: 'r4',
  name: "cookie: { path: '/app' }: the marker is still Path=/, so the same store on /help/ sees it (cookies 'ok') and reads /app's session data; nothing is swept",
  group: 'live',
  async run({ tab, server }) {
    const name = `r4-${rand()}`
    const options = { keys: R4_KEYS, cookie: { path: '/app' } }
    const t1 = await tab()
    await t1.goto(server.url('/app/'))
    eq(await t1.evaluate(writeKeys, { name, options, values: { cart: ['apple'], visit: 'on /app', notes: 'app note' } }), 'ok', '/app/: setMany of session data (IndexedDB, cookie) and persistent data')
    const app = await t1.evaluate(r4Look, { name, options })
    ok(app.marker, '/app/: a marker cookie', app)
    const t2 = await tab()
    await t2.goto(server.url('/help/'))
    const help = await t2.evaluate(r4Look, { name, options })
    eq([help.cart, help.notes], [['apple'], 'app note'], "/help/: reads /app's session cart and persistent notes")
    eq([help.cookies, help.errors], ['ok', []], '/help/: [status.cookies, error events]')
    eq(help.marker, app.marker, '/help/ sees the same marker cookie as /app/ (it is written with Path=/)')
    await t1.reload()
    const again = await t1.evaluate(r4Look, { name, options })
    eq([again.cart, again.notes, again.marker], [['apple'], 'app note', app.marker], '/app/ after /help/ started and a reload: [cart, notes, marker]')
    eq(await t1.evaluate(async ({ name, options }) => window.vt.u(await window.vt.open(name, options).get('visit')), { name, options }), 'on /app', "/app/: the session cookie key 'visit' (Path=/app) is still there")
    eq(await t2.evaluate(r1Raw, { name }), ['cart', 'notes'], 'raw IndexedDB records at the end (nothing swept)')
  },
}

// ---- r5: an app upgrade re-declares persistent keys as session keys ----

const R5_OLD = { profile: { lifetime: 'persistent' }, name: { lifetime: 'persistent', serverVisible: true } }
const R5_NEW = { profile: { lifetime: 'session' }, name: { lifetime: 'session', serverVisible: true } }
const ALICE = { profile: { user: 'alice', address: '1 Main St' }, name: 'Alice' }

/**
 * In the page: the store with `keys` (and session sync when `sync`); writes `values` if given, and
 * reads what the app would show.
 */
const r5Open = async ({ name, keys, sync, values }) => {
  const vt = window.vt
  const options = { keys }
  // vt.open makes a JSON session source into VisitStore.sessionSync({ endpoint, timeout }).
  if (sync) options.session = { endpoint: '/session', timeout: 2000 }
  const store = vt.open(name, options)
  await store.ready
  const set = values ? vt.outcome(await vt.attempt(() => store.setMany(values))) : undefined
  return { set, profile: vt.u(await store.get('profile')), name: vt.u(await store.get('name')), cookie: vt.cookie(`${name}_name`) }
}

const r5Read = async ({ name }) => {
  const vt = window.vt
  const store = vt.stores[name]
  return { profile: vt.u(await store.get('profile')), name: vt.u(await store.get('name')), cookie: vt.cookie(`${name}_name`) }
}

/** Writes Alice's data with the old declaration (persistent), then reloads the tab: the app is upgraded. */
async function writeOld(t, name, sync = false) {
  const r = await t.evaluate(r5Open, { name, keys: R5_OLD, sync, values: ALICE })
  eq([r.set, r.profile, r.name], ['ok', ALICE.profile, ALICE.name], `${name}, old declaration (persistent): setMany of profile and name, read back`)
  if (t.cookies) eq((await t.cookies()).find((c) => c.name === `${name}_name`)?.session, false, `${name}, old declaration: ${name}_name is a persistent cookie in the jar`)
  await t.reload()
}

const declarationUpgrade = {
  id: 'r5',
  name: 'keys re-declared from persistent to session (app upgrade): old IndexedDB records read as missing and are swept; the old cookie becomes a session cookie and goes with session.end(), logout, another user\'s login',
  group: 'live',
  async run({ tab, server }) {
    // Without session sync: the browser session is the only session.
    const name = `r5-${rand()}`
    const t1 = await tab()
    await t1.goto(server.url('/'))
    await writeOld(t1, name)
    const up = await t1.evaluate(r5Open, { name, keys: R5_NEW })
    eq(up.profile, UNDEF, 'new declaration (session): get("profile") written before the upgrade (it carries no session stamp)')
    eq(up.name, ALICE.name, 'new declaration: get("name") (the cookie is kept for this browser session)')
    await until(t1, async ({ name }) => !(await window.vt.rawRecords(name)).some(([k]) => k === 'profile'), { name }, 'the old profile record is swept from IndexedDB')
    if (t1.cookies) eq((await t1.cookies()).find((c) => c.name === `${name}_name`)?.session, true, `new declaration: ${name}_name is re-written as a session cookie (jar)`)
    const ended = await t1.evaluate(async ({ name }) => window.vt.outcome(await window.vt.attempt(() => window.vt.stores[name].session.end())), { name })
    eq(ended, 'ok', 'session.end()')
    eq(await t1.evaluate(r5Read, { name }), { profile: UNDEF, name: UNDEF, cookie: null }, 'after session.end(): [profile, name, the raw cookie]')

    // With session sync (Express + express-session): another user's login, and a logout.
    const app = await startExpressServer()
    try {
      const t2 = await tab()
      await t2.goto(app.url('/'))
      const call = (path) => t2.evaluate(({ path }) => window.vt.call('POST', path), { path })
      const refresh = (name) => t2.evaluate(async ({ name }) => window.vt.outcome(await window.vt.attempt(() => window.vt.stores[name].session.refresh())), { name })
      for (const [end, path] of [['login as bob', '/login?user=bob'], ['logout', '/logout']]) {
        const synced = `r5s-${rand()}`
        eq((await call('/login?user=alice')).status, 200, 'POST /login?user=alice')
        await writeOld(t2, synced, true)
        const seen = await t2.evaluate(r5Open, { name: synced, keys: R5_NEW, sync: true })
        eq([seen.profile, seen.name], [UNDEF, ALICE.name], `${synced} (session sync, alice signed in), new declaration: [profile written before the upgrade, name]`)
        eq((await call(path)).status, 200, `POST ${path}`)
        eq(await refresh(synced), 'ok', `${synced}: session.refresh() after ${end}`)
        eq(await t2.evaluate(r5Read, { name: synced }), { profile: UNDEF, name: UNDEF, cookie: null }, `${synced}: after ${end}, what the next user gets [profile, name, the raw cookie]`)
      }
    } finally {
      await app.close()
    }
  },
}

// ---- r6: navigating away right after a cross-tier setMany ----

// A batch: the cookie key `batch` and `size` IndexedDB entries `e:<i>`, all holding the batch number.

/**
 * In the page: a new store instance reads the batch after `ready` (which replays what a journal
 * holds): { batch: the cookie key's value, entries: { value: count } over every `e:*` record of
 * the raw database (10,000 reads through the store take seconds), sample: { value: count } of
 * what the store's getMany gives for 50 of them (all of them when fewer) }. The store stays open
 * in window.r6store: this page writes the next batch with it.
 */
const readBatch = ({ name, size }) => {
  const read = async () => {
    const vt = window.vt
    const store = window.VisitStore.createStore({ name, keys: { batch: { lifetime: 'persistent', serverVisible: true }, 'e:*': { lifetime: 'persistent' } } })
    window.r6store = store
    await store.ready
    const picked = [...new Set([0, size - 1, ...Array.from({ length: 48 }, () => Math.floor(Math.random() * size))])].map((i) => `e:${i}`)
    let got = await store.getMany(['batch', ...picked])
    // A Firefox tab's document.cookie, which get reads, can show another tab's cookie write a
    // moment late (README, Browsers); the browser's cookie store cannot. The batch is judged by the
    // cookie store and IndexedDB at once; the store's reads must come to it within 3 s.
    let held
    try {
      held = window.cookieStore ? ((await window.cookieStore.get(`${name}_batch`))?.value ?? '(undefined)') : undefined
    } catch {
      // Refused: document.cookie is all there is.
    }
    const shown = () => (got.batch === undefined ? '(undefined)' : String(got.batch))
    const since = performance.now()
    while (held !== undefined && shown() !== held && performance.now() - since < 3000) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      got = await store.getMany(['batch', ...picked])
    }
    const late = shown() === held && performance.now() - since >= 50 ? Math.round(performance.now() - since) : 0
    const count = (into, value) => {
      const v = value === undefined ? '(undefined)' : String(value)
      into[v] = (into[v] ?? 0) + 1
    }
    const entries = {}
    const raw = new Map(await vt.rawRecords(name))
    for (let i = 0; i < size; i++) count(entries, raw.get(`e:${i}`)?.v)
    const sample = {}
    for (const key of picked) count(sample, got[key])
    // For a failure's message: the batch cookie and the commit mark as document.cookie and the
    // browser's cookie store show them now (a content process's copy may lag), and the journal.
    const marks = (pairs) => pairs.filter(([n]) => n === `${name}_batch` || n === `${name}_$c`).map(([n, v]) => `${n.slice(name.length + 1)}=${v}`).join(' ')
    const doc = marks(document.cookie.split('; ').map((c) => [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)]))
    const api = window.cookieStore ? marks((await window.cookieStore.getAll()).map((c) => [c.name, c.value])) : '(no Cookie Store API)'
    const journal = [...raw].filter(([k]) => String(k).startsWith('$j:')).map(([k, r]) => `${k}: ${JSON.stringify(r.v)}`).join(', ')
    return { batch: shown(), held, late, entries, sample, picked: picked.length, diag: `document.cookie: ${doc || '(none)'}; Cookie Store: ${api || '(none)'}; journal: ${journal || '(empty)'}` }
  }
  window.r6read = null
  read().then((r) => { window.r6read = r }, (err) => { window.r6read = { error: String(err?.message ?? err) } })
  return true
}

/** Starts readBatch() in `t` and waits for its answer (up to 30 s: a driver call would give up at 20 s). */
async function readBatchIn(t, arg, what) {
  await t.evaluate(readBatch, arg)
  const r = await until(t, () => window.r6read, null, what, 30000, 100)
  ok(!r.error, `${what}: reading failed`, r.error)
  return r
}

/**
 * Whether a readBatch() result is one whole batch: every entry holds the cookie's batch number (or
 * all are absent), in the browser's cookie store as in the store's reads.
 */
const whole = (r, size) => (r.held === undefined || r.held === r.batch) && Object.keys(r.entries).length === 1 && r.entries[r.batch] === size &&
  Object.keys(r.sample).length === 1 && r.sample[r.batch] === r.picked

/**
 * In the page: with the store readBatch() left open (started, ready), calls setMany of batch `n`
 * and, in the same task, navigates away. Returns before either happens.
 */
const writeAndLeave = ({ n, size, away }) => {
  const store = window.r6store
  const values = { batch: n }
  for (let i = 0; i < size; i++) values[`e:${i}`] = n
  setTimeout(() => {
    store.setMany(values).catch(() => {})
    location.href = away
  })
  return true
}

/** Polls `t` until its page is `path` and loaded (evaluate fails while the old document goes away). */
async function arrived(t, path, what) {
  const end = Date.now() + 15000
  let last
  for (;;) {
    try {
      last = await t.evaluate(() => `${location.pathname} ${document.readyState} ${typeof window.vt}`)
      if (last === `${path} complete object`) return
    } catch (err) {
      last = String(err?.message ?? err).slice(0, 100)
    }
    if (Date.now() > end) throw new Error(`${what}: the page did not arrive at ${path} within 15 s (last: ${last})`)
    await sleep(50)
  }
}

const R6_TRIALS = 5

const navigateAway = {
  id: 'r6',
  name: `setMany of a cookie key and 10,000 (then 1) IndexedDB entries, then navigating away at once (${R6_TRIALS} trials each): after the next ready the batch is wholly there or wholly absent`,
  group: 'live',
  // WebKitGTK needs more: each of its trials closes and reopens a tab (see below).
  timeoutMs: 180000,
  async run({ tab, server, engine }) {
    // Two tabs take turns: one writes and navigates away, the other starts a new store and reads
    // the batch, then writes the next one with that store. WebKitGTK keeps a transaction that was
    // under way when its page navigated away open (holding its lock: every other connection's
    // reads wait) until the tab is closed (checked: still so after 60 s; an unload handler changes
    // nothing): there the tab that navigated away is also closed, then the batch is read.
    const closeWriter = engine.name === 'webkit'
    const tabs = [await tab(), await tab()]
    for (const size of [10000, 1]) {
      const name = `r6-${size}-${rand()}`
      const outcomes = []
      for (const t of tabs) await t.goto(server.url(`/r6-${size}/`))
      const start = await readBatchIn(tabs[0], { name, size }, `${size} entries: a new store`)
      eq([start.batch, start.entries], [UNDEF, { [UNDEF]: size }], `${size} entries: a new store, nothing written yet`)
      // Batch 0, whole, to start from.
      await tabs[0].evaluate(({ size }) => {
        const values = { batch: 0 }
        for (let i = 0; i < size; i++) values[`e:${i}`] = 0
        window.r6first = null
        window.vt.attempt(() => window.r6store.setMany(values)).then((r) => { window.r6first = window.vt.outcome(r) })
        return true
      }, { size })
      eq(await until(tabs[0], () => window.r6first, null, `${size} entries: setMany of batch 0`, 30000, 100), 'ok', `${size} entries: setMany of batch 0`)
      for (let n = 1; n <= R6_TRIALS; n++) {
        const [writer, reader] = n % 2 ? [...tabs] : [...tabs].reverse()
        const away = `/r6-away-${n}/`
        await writer.evaluate(writeAndLeave, { n, size, away })
        await arrived(writer, away, `${size} entries, batch ${n}`)
        if (closeWriter) {
          await writer.close()
          const fresh = await tab()
          await fresh.goto(server.url(`/r6-${size}/`))
          tabs[tabs.indexOf(writer)] = fresh
        }
        const r = await readBatchIn(reader, { name, size }, `${size} entries, batch ${n}: a new store reads the batch`)
        // The first broken batch fails the scenario (each trial of 10,000 entries takes seconds).
        ok(whole(r, size), `${size} entries, batch ${n} of ${R6_TRIALS}: after navigating away and a new store's ready, the batch is neither wholly there nor wholly absent: ` +
          `the store's get of the cookie says ${r.batch} (the browser's cookie store: ${r.held ?? 'no Cookie Store API'}), IndexedDB says ${show(r.entries)} (value: entries), the store's getMany of ${r.picked} entries ${show(r.sample)}; ${r.diag}` +
          (outcomes.length ? `; earlier trials: ${outcomes.join('; ')}` : ''))
        if (r.late) console.log(`    (r6: ${size} entries, batch ${n}: the store's get showed the batch cookie ${r.late} ms after the browser's cookie store did)`)
        outcomes.push(`batch ${n} ${r.batch === String(n) ? 'there' : 'absent'}${r.late ? ` (read ${r.late} ms late)` : ''}`)
      }
    }
  },
}

// ---- r13: a tab gone between its batch's IndexedDB commit and its cookies, while another tab's later batch writes its mark ----

const R13_KEYS = { theme: { lifetime: 'persistent', serverVisible: true }, other: { lifetime: 'persistent', serverVisible: true }, cart: { lifetime: 'persistent' }, note: { lifetime: 'persistent' } }

/**
 * In the page: the store's second request for the cookie lock from now on (a cross-tier setMany
 * asks once to check its cookies, then again after its IndexedDB commit to write them) is granted
 * only once window.held.go() is called (never, if the page goes away first); window.held.asked
 * says when it was asked, window.held.done what the setMany gave.
 */
const holdSecondLock = async ({ name, keys, values, clear = false }) => {
  const locks = navigator.locks
  const request = locks.request.bind(locks)
  let asked = 0
  let go
  const granted = new Promise((resolve) => { go = resolve })
  window.held = { asked: false, done: undefined, go }
  // The batch's second section must ask for the lock again: its first burst ends a task after it
  // began, and a fast IndexedDB commit could land before that and join it (no second request). So
  // a readwrite transaction of our own, kept busy, holds the commit back until 100 ms after the
  // first grant (3 s at most).
  const db = await window.vt.rawOpen(name)
  let busy = true
  const stop = () => { busy = false }
  setTimeout(stop, 3000)
  const tx = db.transaction('records', 'readwrite')
  const spin = () => { if (busy) tx.objectStore('records').get('$spin').onsuccess = spin }
  spin()
  tx.oncomplete = () => db.close()
  locks.request = (lock, ...rest) => {
    if (String(lock).endsWith(':cookies')) {
      ++asked
      if (asked === 1) {
        const cb = rest.at(-1)
        rest[rest.length - 1] = (l) => { setTimeout(stop, 100); return cb(l) }
      }
      if (asked === 2) {
        window.held.asked = true
        return granted.then(() => request(lock, ...rest))
      }
    }
    return request(lock, ...rest)
  }
  const store = window.vt.store(name, keys)
  window.vt.attempt(() => (clear ? store.clear() : store.setMany(values))).then((r) => { window.held.done = window.vt.outcome(r) })
  return true
}

/**
 * r13, r14, r17 and r18's start: two tabs on `path` with store `name` (declaring `keys`) ready,
 * tab 1's first batch (theme 'light', cart 0), then tab 1's batch `values` (or, with `clear`, its
 * clear()) held before it writes its cookies.
 */
async function twoTabsOneHeld(tab, server, path, name, what, clear = false, keys = R13_KEYS, values = { theme: 'dark', cart: 1 }) {
  const [t1, t2] = [await tab(), await tab()]
  for (const t of [t1, t2]) await t.goto(server.url(path))
  const open = async (t) => t.evaluate(async ({ name, keys }) => window.vt.outcome(await window.vt.attempt(async () => { await window.vt.store(name, keys).ready; return 'ok' })), { name, keys })
  eq([await open(t1), await open(t2)], ['ok', 'ok'], `${what}: both tabs' stores ready`)
  eq(await t1.evaluate(async ({ name }) => window.vt.outcome(await window.vt.attempt(() => window.vt.stores[name].setMany({ theme: 'light', cart: 0 }))), { name }), 'ok', `${what}: tab 1: the first batch`)
  ok(await t1.evaluate(() => typeof navigator.locks?.request === 'function'), `${what}: tab 1 has Web Locks`)
  await t1.evaluate(holdSecondLock, { name, keys, values, clear })
  await until(t1, () => window.held.asked, undefined, `${what}: tab 1's ${clear ? 'clear()' : 'batch'} asks for the cookie lock after its commit`, 10000)
  return [t1, t2]
}

/** Page side of r13 and r17: the raw cart record's value and the theme cookie. */
const halfDone = async ({ name }) => ({ cart: window.vt.u((await window.vt.rawRecords(name)).find(([k]) => k === 'cart')?.[1]?.v), theme: window.vt.cookie(`${name}_theme`) })

/** Page side of r13, r17 and r18: a new store's values of `keys` once ready, and the theme cookie (and visit's, where declared). */
const readFresh = async ({ name, keys }) => {
  const store = window.vt.store(name, keys)
  await store.ready
  const values = await store.getMany(Object.keys(keys))
  const visit = 'visit' in keys ? { visit: window.vt.cookie(`${name}_visit`) } : {}
  return { values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, window.vt.u(v)])), theme: window.vt.cookie(`${name}_theme`), ...visit }
}

/**
 * r13, r17 and r18: tab 1's batch `values` (or, with `clear`, its clear()) held halfway, checked
 * to be `half`; tab 1 goes away; tab 2's `session.end()` (with `end`); tab 2's cross-tier setMany
 * `later` (when given); then a new store in a third tab, whose values and theme cookie it resolves to.
 */
async function goneHalfway(tab, server, id, what, { clear = false, half, later, keys = R13_KEYS, values, end = false }) {
  const name = `${id}-${rand()}`
  const [t1, t2] = await twoTabsOneHeld(tab, server, `/${id}/`, name, what, clear, keys, values)
  eq(await t2.evaluate(halfDone, { name }), half, `${what}: tab 1's ${clear ? 'clear()' : 'batch'} is half done (raw cart record, theme cookie)`)
  await t1.goto(server.url(`/${id}-away/`))
  if (end) eq(await t2.evaluate(async ({ name }) => window.vt.outcome(await window.vt.attempt(() => window.vt.stores[name].session.end())), { name }), 'ok', `${what}: tab 2's session.end()`)
  if (later) eq(await t2.evaluate(async ({ name, later }) => window.vt.outcome(await window.vt.attempt(() => window.vt.stores[name].setMany(later))), { name, later }), 'ok', `${what}: tab 2's later batch`)
  const t3 = await tab()
  await t3.goto(server.url(`/${id}/`))
  const got = await t3.evaluate(readFresh, { name, keys })
  for (const t of [t1, t2, t3]) await t.close()
  return got
}

const goneBatch = {
  id: 'r13',
  name: 'a tab gone between its cross-tier setMany\'s IndexedDB commit and its cookie writes, while another tab\'s later cross-tier setMany writes the commit mark (of another cookie key; of the same one): after a new store\'s ready the gone batch is whole (the later batch keeps a key both wrote)',
  group: 'live',
  async run({ tab, server }) {
    const variants = [
      ['another cookie key', { other: 'later', note: 'later' }, { theme: 'dark', cart: 1, other: 'later', note: 'later' }],
      ['the same cookie key', { theme: 'light', note: 'later' }, { theme: 'light', cart: 1, other: UNDEF, note: 'later' }],
    ]
    for (const [what, later, want] of variants) {
      const got = await goneHalfway(tab, server, 'r13', what, { half: { cart: 1, theme: 'light' }, later })
      eq(got.values, want, `${what}: a new store in a third tab reads tab 1's batch whole (theme and cart), and tab 2's`)
    }
  },
}

// ---- r16: clear() in one tab against a cross-tier batch in another ----

const R16_KEYS = { theme: { lifetime: 'persistent', serverVisible: true }, note: { lifetime: 'persistent' } }
/** Tab 1's clear() starts this many ms after tab 2's batch (negative: before), trial by trial. */
const R16_OFFSETS = [-30, -12, -6, -3, -1, 0, 0, 1, 2, 3, 4, 6, 8, 12, 20, 40]

/** Page side of r16: at `startAt`, the batch (`i`) or clear(); the outcome in window.r16. */
const scheduleR16 = ({ name, keys, startAt, batch, i }) => {
  const vt = window.vt
  window.r16 = undefined
  const store = vt.stores[name] ?? vt.open(name, { keys })
  void (async () => {
    await store.ready
    await vt.at(startAt)
    window.r16 = vt.outcome(await vt.attempt(() => (batch ? store.setMany({ theme: `t${i}`, note: `n${i}` }) : store.clear())))
  })()
  return true
}

const clearAgainstBatch = {
  id: 'r16',
  name: `a cross-tier setMany in tab 2 and clear() in tab 1, ${R16_OFFSETS.length} trials with clear() from 30 ms before to 40 ms after the batch: each batch ends wholly there (theme and note) or wholly gone, never half cleared; both ends are seen`,
  group: 'live',
  async run({ tab, server }) {
    const name = `r16-${rand()}`
    const [t1, t2] = [await tab(), await tab()]
    for (const t of [t1, t2]) await t.goto(server.url('/r16/'))
    const mixed = []
    const ends = {}
    for (const [i, offset] of R16_OFFSETS.entries()) {
      const startAt = Date.now() + 300
      await t2.evaluate(scheduleR16, { name, keys: R16_KEYS, startAt, batch: true, i })
      await t1.evaluate(scheduleR16, { name, keys: R16_KEYS, startAt: startAt + offset, batch: false, i })
      for (const [t, which] of [[t1, 'clear()'], [t2, 'the batch']]) eq(await until(t, () => window.r16, undefined, `trial ${i}: ${which}`, 10000), 'ok', `trial ${i}: ${which}`)
      const got = await t2.evaluate(async ({ name }) => {
        const { theme, note } = await window.vt.stores[name].getMany(['theme', 'note'])
        return { theme: window.vt.u(theme), note: window.vt.u(note) }
      }, { name })
      const end = got.theme === `t${i}` && got.note === `n${i}` ? 'whole' : got.theme === UNDEF && got.note === UNDEF ? 'gone' : 'mixed'
      ends[end] = (ends[end] ?? 0) + 1
      if (end === 'mixed') mixed.push({ trial: i, offset, got })
    }
    eq(mixed, [], 'trials whose batch ended half cleared')
    ok(ends.whole > 0 && ends.gone > 0, 'both ends seen (the trials fell on each side of the race)', ends)
  },
}

// ---- r17: a tab gone in the middle of its clear() ----

const goneClear = {
  id: 'r17',
  name: 'a tab gone between its clear()\'s IndexedDB part and its cookie removals (its second cookie-lock request held, then the page navigated away): the clear is finished by another tab\'s later cross-tier setMany, or by the next start: a new store reads the cleared keys as missing, the later batch whole',
  group: 'live',
  async run({ tab, server }) {
    const variants = [
      ['another tab\'s later batch', { other: 'later', note: 'later' }, { theme: UNDEF, cart: UNDEF, other: 'later', note: 'later' }],
      ['the next start', undefined, { theme: UNDEF, cart: UNDEF, other: UNDEF, note: UNDEF }],
    ]
    for (const [what, later, want] of variants) {
      const got = await goneHalfway(tab, server, 'r17', what, { clear: true, half: { cart: UNDEF, theme: 'light' }, later })
      eq(got, { values: want, theme: null }, `${what}: a new store in a third tab: [values, the theme cookie] (the clear finished)`)
    }
  },
}

// ---- r18: a session ended after a tab gone halfway through a batch with a session cookie ----

const R18_KEYS = { ...R13_KEYS, visit: { lifetime: 'session', serverVisible: true } }

const goneBeforeEnd = {
  id: 'r18',
  name: 'a tab gone between its cross-tier setMany\'s IndexedDB commit and its cookie writes (r13\'s hold), the batch creating a session cookie; then session.end() in another tab: neither another tab\'s later cross-tier setMany nor the next start brings that session cookie back (the replay once did); the batch\'s persistent part stays whole',
  group: 'live',
  async run({ tab, server }) {
    const variants = [
      ['another tab\'s later batch', { other: 'later', note: 'later' }, { other: 'later', note: 'later' }],
      ['the next start', undefined, { other: UNDEF, note: UNDEF }],
    ]
    for (const [what, later, rest] of variants) {
      const got = await goneHalfway(tab, server, 'r18', what, { keys: R18_KEYS, values: { theme: 'dark', cart: 1, visit: 'v1' }, end: true, half: { cart: 1, theme: 'light' }, later })
      eq(got, { values: { theme: 'dark', cart: 1, visit: UNDEF, ...rest }, theme: 'dark', visit: null }, `${what}: a new store in a third tab: [values, the theme cookie, the visit cookie]`)
    }
  },
}

// ---- r19: cookies removed by Clear-Site-Data after cross-tier batches stay removed ----

/**
 * Page side of r19: the page's clock runs `shift` ms ahead (the user browsing on, pages later:
 * Date.now only, what the store's notes of durable commit marks read); then a cross-tier setMany
 * (or, with no `values`, nothing) on the page's store; its outcome, values and the store's cookies.
 */
const r19Step = async ({ name, keys, values, shift }) => {
  const vt = window.vt
  if (shift && !window.r19Shifted) {
    const real = Date.now.bind(Date)
    Date.now = () => real() + shift
    window.r19Shifted = true
  }
  const store = vt.stores[name] ?? vt.store(name, keys)
  await store.ready
  const outcome = values ? vt.outcome(await vt.attempt(() => store.setMany(values))) : 'ok'
  const got = await store.getMany(Object.keys(keys))
  return { outcome, values: Object.fromEntries(Object.entries(got).map(([k, v]) => [k, vt.u(v)])), theme: vt.cookie(`${name}_theme`), mark: vt.cookie(`${name}_$c`) }
}

const R19_KEYS = { theme: { lifetime: 'persistent', serverVisible: true }, other: { lifetime: 'persistent', serverVisible: true }, note: { lifetime: 'persistent' } }

const clearedCookies = {
  id: 'r19',
  name: 'cookies removed by a `Clear-Site-Data: "cookies"` response (a logout) a minute or more after two cross-tier setMany calls (pages in between, their clocks 40 and 80 s on) stay removed: the next page\'s store (its start-up replay) and its next cross-tier setMany do not bring the theme cookie back, whether that page starts a new browser-session stamp or adopts the one another open tab holds; the records stay (the replay once wrote the last batch\'s cookie again)',
  group: 'live',
  async run({ tab, server }) {
    const site = await ownOrigin(server)
    try {
      for (const [what, keepTab] of [['a new stamp', false], ['the stamp of another open tab', true]]) {
        const name = `r19-${rand()}`
        const arg = { name, keys: R19_KEYS }
        const t1 = await tab()
        await t1.goto(site.url('/r19/'))
        eq((await t1.evaluate(r19Step, { ...arg, values: { theme: 'dark', note: 'n1' } })).outcome, 'ok', `${what}: the first setMany`)
        const before = await t1.evaluate(r19Step, { ...arg, values: { theme: 'light', note: 'n2' } })
        eq([before.outcome, before.theme, typeof before.mark], ['ok', 'light', 'string'], `${what}: the second setMany: [outcome, theme cookie, a commit mark]`)
        // The user browses on: pages 40 and 80 s later (the store's start-up notes which marks are on disk by then).
        for (const shift of [40000, 80000]) {
          await t1.goto(site.url(`/r19/?at=${shift}`))
          eq((await t1.evaluate(r19Step, { ...arg, shift })).theme, 'light', `${what}: a page ${shift / 1000} s on reads the theme cookie`)
        }
        const other = keepTab ? await tab() : undefined
        if (other) {
          await other.goto(site.url('/r19-other/'))
          eq((await other.evaluate(r19Step, { ...arg, shift: 80000 })).values.theme, 'light', `${what}: tab 2's store reads theme`)
        }
        eq(await t1.evaluate(async () => (await fetch('/clear-cookies', { cache: 'no-store' })).status), 200, `${what}: GET /clear-cookies`)
        eq(await t1.evaluate(({ name }) => [window.vt.cookie(`${name}_theme`), window.vt.cookie(`${name}_$c`)], { name }), [null, null], `${what}: the theme cookie and the commit mark are gone from document.cookie`)
        await t1.goto(site.url('/r19/?next'))
        const next = await t1.evaluate(r19Step, { ...arg, shift: 85000 })
        eq([next.values, next.theme], [{ theme: UNDEF, other: UNDEF, note: 'n2' }, null], `${what}: the next page's store after ready: [values, theme cookie]`)
        const after = await t1.evaluate(r19Step, { ...arg, values: { other: 'x', note: 'n3' } })
        eq([after.outcome, after.values, after.theme], ['ok', { theme: UNDEF, other: 'x', note: 'n3' }, null], `${what}: after its next cross-tier setMany: [outcome, values, theme cookie]`)
        for (const t of [t1, other]) await t?.close()
      }
    } finally {
      await site.close()
    }
  },
}

// ---- r14: two tabs' cross-tier batches whose cookie writes cross ----

const crossedBatches = {
  id: 'r14',
  name: 'two tabs\' cross-tier setMany whose cookie writes cross (tab 1 commits to IndexedDB first, tab 2 writes its cookies first), of the same keys; of the same cookie key and another record: every tab, and a new store, reads tab 1\'s batch then tab 2\'s, never a mix',
  group: 'live',
  async run({ tab, server }) {
    const variants = [
      ['the same keys', { theme: 'light', cart: 2 }, { theme: 'light', cart: 2, note: UNDEF }],
      ['the same cookie key and another record', { theme: 'light', note: 'later' }, { theme: 'light', cart: 1, note: 'later' }],
    ]
    for (const [what, later, want] of variants) {
      const name = `r14-${rand()}`
      const [t1, t2] = await twoTabsOneHeld(tab, server, '/r14/', name, what)
      eq(await t2.evaluate(async ({ name, later }) => window.vt.outcome(await window.vt.attempt(() => window.vt.stores[name].setMany(later))), { name, later }), 'ok', `${what}: tab 2's batch, committed after tab 1's, writes its cookies first`)
      await t1.evaluate(() => window.held.go())
      eq(await until(t1, () => window.held.done, undefined, `${what}: tab 1's batch ends`, 10000), 'ok', `${what}: tab 1's batch`)
      // With wait: null (for until) unless the reading equals want.
      const read = async ({ name, keys, want, wait }) => {
        const values = await window.vt.store(name, keys).getMany(Object.keys(want))
        const got = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, window.vt.u(v)]))
        return !wait || JSON.stringify(got) === JSON.stringify(want) ? got : null
      }
      // A Firefox tab's document.cookie shows another tab's write a moment late (README, Browsers).
      for (const [i, t] of [t1, t2].entries()) {
        const got = await until(t, read, { name, keys: R13_KEYS, want, wait: true }, `${what}: tab ${i + 1}`, 3000).catch(() => t.evaluate(read, { name, keys: R13_KEYS, want }))
        eq(got, want, `${what}: tab ${i + 1} reads tab 1's batch, then tab 2's`)
      }
      const t3 = await tab()
      await t3.goto(server.url('/r14/'))
      eq(await t3.evaluate(read, { name, keys: R13_KEYS, want }), want, `${what}: a new store in a third tab reads tab 1's batch, then tab 2's`)
      for (const t of [t1, t2, t3]) await t.close()
    }
  },
}

// ---- r7: site data cleared while the store is open ----

/**
 * An origin of r7's own (a new port, so its site data is its alone): everything is fetched from
 * the suite's server, and `/clear-site-data` answers `Clear-Site-Data: "cookies", "storage"`, the
 * header a site's logout or a "clear my data" page sends (`/clear-cookies`: `"cookies"` only, r19).
 */
async function ownOrigin(server) {
  const proxy = createServer((req, res) => {
    if (req.url.startsWith('/clear-site-data') || req.url.startsWith('/clear-cookies')) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'clear-site-data': req.url.startsWith('/clear-cookies') ? '"cookies"' : '"cookies", "storage"' })
      res.end('{"cleared":true}')
      return
    }
    fetch(server.url(req.url)).then(async (r) => {
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/plain', 'cache-control': 'no-store' })
      res.end(Buffer.from(await r.arrayBuffer()))
    }, (err) => {
      res.writeHead(502, { 'content-type': 'text/plain' })
      res.end(String(err))
    })
  })
  const sockets = new Set()
  proxy.on('connection', (c) => { sockets.add(c); c.on('close', () => sockets.delete(c)) })
  await new Promise((resolve, reject) => {
    proxy.once('error', reject)
    proxy.listen(0, '127.0.0.1', resolve)
  })
  const origin = `http://127.0.0.1:${proxy.address().port}`
  return {
    origin,
    url: (path = '/') => `${origin}${path}`,
    close: () => new Promise((resolve) => {
      for (const c of sockets) c.destroy()
      proxy.close(() => resolve())
    }),
  }
}

const R7_KEYS = { 'e:*': { lifetime: 'persistent' }, note: { lifetime: 'persistent' }, later: { lifetime: 'persistent' }, cart: { lifetime: 'session' } }
const R7_SIZE = 20000
const R7_LATER = { later: 'persistent, after the clear', cart: ['session', 'after the clear'] }

/**
 * In the page: a new store instance (closed after), its `ready`, then the keys `read` and a count of
 * the raw `e:*` records. With `want` (for until()): null unless every key read holds what it says.
 */
const r7Fresh = async ({ name, keys, read, want }) => {
  const vt = window.vt
  const store = window.VisitStore.createStore({ name, keys })
  try {
    await store.ready
    const got = {}
    for (const key of read) got[key] = vt.u(await store.get(key))
    if (want && !read.every((key) => JSON.stringify(got[key]) === JSON.stringify(want[key]))) return null
    const raw = (await vt.rawRecords(name)).filter(([k]) => String(k).startsWith('e:')).length
    return { got, raw, sample: vt.u(await store.get('e:0')) }
  } finally {
    store.close()
  }
}

const siteDataCleared = {
  id: 'r7',
  name: `site data cleared during a ${R7_SIZE.toLocaleString('en')}-entry setMany: the batch is never in part (rejected: none left; resolved after the clear: whole); a later set that resolves is durable (a second tab and a reload read it), or it rejects and status/error say so`,
  group: 'live',
  async run({ tab, server, engine }) {
    const own = await ownOrigin(server)
    try {
      // A batch that resolved before the clear was even sent was deleted by it, rightly: that
      // attempt tested nothing (a busy machine can be that slow) and runs again, up to 3 times.
      const seen = []
      for (let attempt = 1; ; attempt++) {
        const raced = await r7Attempt({ tab, own, engine })
        if (raced === true) return
        seen.push(raced)
        ok(attempt < 3, `the ${R7_SIZE}-entry setMany was under way when the site data was cleared (3 attempts; in each it resolved first, ms before the clear was sent)`, seen)
      }
    } finally {
      await own.close()
    }
  },
}

/** One r7 attempt in two new tabs: true when checked, or how long before the clear the batch had already resolved. */
async function r7Attempt({ tab, own, engine }) {
  const t1 = await tab()
  const t2 = await tab()
  await t1.goto(own.url('/'))
  await t2.goto(own.url('/'))
  const name = `r7-${rand()}`
  const before = await t1.evaluate(async ({ name, keys }) => {
    const vt = window.vt
    const store = vt.open(name, { keys })
    await store.ready
    return vt.outcome(await vt.attempt(() => store.setMany({ note: 'before the clear', cart: ['before the clear'] })))
  }, { name, keys: R7_KEYS })
  eq(before, 'ok', 'setMany of note and cart before the clear')
  // The batch: its synchronous part runs first; the flag is set once its IndexedDB work is under way.
  await t1.evaluate(({ name, size }) => {
    const vt = window.vt
    const values = {}
    for (let i = 0; i < size; i++) values[`e:${i}`] = i
    window.r7 = { underway: false, outcome: null, at: null }
    vt.attempt(() => vt.stores[name].setMany(values)).then((r) => {
      window.r7.outcome = vt.outcome(r)
      window.r7.at = performance.now()
    })
    setTimeout(() => { window.r7.underway = true })
    return true
  }, { name, size: R7_SIZE })
  await until(t1, () => window.r7.underway, null, 'the batch is under way', 20000)
  // The page's clock just before the clear is sent: a batch that resolved earlier was cleared afterwards.
  const sent = await t1.evaluate(() => performance.now())
  if (engine.name === 'chromium') {
    // As in the issue: the DevTools protocol's "clear site data" for the origin, everything.
    await t1.cdp('Storage.clearDataForOrigin', { origin: own.origin, storageTypes: 'all' })
  } else {
    // Firefox and WebKit: the Clear-Site-Data response header ("cookies", "storage"), fetched by another tab of the origin.
    eq(await t2.evaluate(async () => (await fetch('/clear-site-data', { cache: 'no-store' })).status), 200, 'GET /clear-site-data')
  }
  // The page's clock once the clear is done: a batch that resolved before this may have committed
  // before the clear deleted everything (a clear takes time), so it may rightly be gone.
  const cleared = await t1.evaluate(() => performance.now())
  const batch = await until(t1, () => window.r7.outcome, null, `the ${R7_SIZE}-entry setMany settles after the clear`, 30000, 100)
  const resolvedAt = await t1.evaluate(() => window.r7.at)
  if (batch === 'ok' && resolvedAt < sent) {
    for (const t of [t1, t2]) await t.close().catch(() => {})
    return Math.round(sent - resolvedAt)
  }
  // Sets after the clear: a persistent and a session IndexedDB key.
  const later = await t1.evaluate(async ({ name, values }) => {
    const vt = window.vt
    const store = vt.stores[name]
    const sets = {}
    const why = {}
    for (const [key, value] of Object.entries(values)) {
      const r = await vt.attempt(() => store.set(key, value))
      sets[key] = vt.outcome(r)
      if (!r.ok) why[key] = String(r.error?.message ?? r.error)
    }
    return { sets, status: store.status.indexeddb, errors: vt.logs[name].error.map((e) => e.code), why }
  }, { name, values: R7_LATER })
  const durable = Object.keys(R7_LATER).filter((key) => later.sets[key] === 'ok')
  const want = Object.fromEntries(durable.map((key) => [key, R7_LATER[key]]))
  let second
  try {
    second = await until(t2, r7Fresh, { name, keys: R7_KEYS, read: durable, want }, 'tab 2 reads the later sets', 5000, 200)
  } catch {
    second = await t2.evaluate(r7Fresh, { name, keys: R7_KEYS, read: durable })
  }
  eq(durable.map((key) => second.got[key]), durable.map((key) => R7_LATER[key]), `tab 2 (a new store): the sets made after the clear that resolved (${durable.join(', ') || 'none'}), read for 5 s`)
  await t1.reload()
  const reloaded = await t1.evaluate(r7Fresh, { name, keys: R7_KEYS, read: durable })
  eq(durable.map((key) => reloaded.got[key]), durable.map((key) => R7_LATER[key]), `tab 1 after a reload: the sets made after the clear that resolved (${durable.join(', ') || 'none'})`)
  if (durable.length < Object.keys(R7_LATER).length) {
    ok(later.status !== 'ok' || later.errors.length > 0, `a set after the clear rejected (${show(later.sets)}): status.indexeddb or an error event must say why`, later)
  }
  // The interrupted batch, never in part: rejected and wholly absent; resolved once the clear was
  // done and wholly there; resolved while the clear was under way and either (it committed before
  // or after the clear's deletion).
  const whole = [reloaded.raw, reloaded.sample]
  if (batch !== 'ok') eq(reloaded.raw, 0, `the ${R7_SIZE}-entry setMany rejected (${batch}): raw e:* records after a reload`)
  else if (resolvedAt > cleared) eq(whole, [R7_SIZE, 0], `the ${R7_SIZE}-entry setMany resolved after the clear was done: [raw e:* records, get("e:0")] after a reload`)
  else ok(reloaded.raw === 0 || (reloaded.raw === R7_SIZE && reloaded.sample === 0), `the ${R7_SIZE}-entry setMany resolved while the clear was under way: after a reload it must be wholly there or wholly gone ([raw e:* records, get("e:0")])`, whole)
  return true
}

// ---- r8: a database of the store's name without the store's object stores ----

const R8_KEYS = { cart: { lifetime: 'session' }, notes: { lifetime: 'persistent' } }
const R8_VALUES = { cart: ['apple'], notes: 'durable note' }

/**
 * In the page: other code makes `db` at `version` with an object store of its own ('other', holding
 * 'mine' → 'kept'), and closes it, or (`hold`) keeps the connection open and ignores requests to
 * upgrade it (no onversionchange handler), so that nobody can upgrade the database.
 */
const r8Make = ({ db, version, hold }) => new Promise((resolve, reject) => {
  const open = indexedDB.open(db, version)
  open.onupgradeneeded = () => { open.result.createObjectStore('other').put('kept', 'mine') }
  open.onerror = () => reject(open.error)
  open.onsuccess = () => {
    const names = [...open.result.objectStoreNames]
    if (hold) window.r8held = open.result
    else open.result.close()
    resolve({ version: open.result.version, names })
  }
})

/** In the page: the other code's object store and record, read without upgrading anything. */
const r8Other = ({ db }) => new Promise((resolve) => {
  const open = indexedDB.open(db)
  open.onerror = () => resolve({ error: String(open.error) })
  open.onsuccess = () => {
    const conn = open.result
    const names = [...conn.objectStoreNames].sort()
    if (!names.includes('other')) { conn.close(); resolve({ names, mine: null }); return }
    const get = conn.transaction('other').objectStore('other').get('mine')
    get.onsuccess = () => { conn.close(); resolve({ names, mine: get.result ?? null }) }
    get.onerror = () => { conn.close(); resolve({ names, mine: String(get.error) }) }
  }
})

/** In the page: the store (with `openTimeout`), a setMany, what it reads back, status and error events. */
const r8Use = async ({ name, keys, values, openTimeout }) => {
  const vt = window.vt
  const store = vt.open(name, { keys, openTimeout })
  await store.ready
  const set = vt.attempt(() => store.setMany(values))
  const result = vt.outcome(await set)
  const got = {}
  for (const key of Object.keys(values)) {
    const read = await vt.attempt(() => store.get(key))
    got[key] = read.ok ? vt.u(read.value) : `get rejected: ${vt.outcome(read)}`
  }
  return { set: result, got, status: store.status.indexeddb, tier: store.placement('notes').tier, errors: vt.logs[name].error.map((e) => e.code) }
}

const foreignDatabase = {
  id: 'r8',
  name: "a database visitstore-<name> made by other code without the store's object stores (version 1, version 7): the store repairs it, keeping the other object store, and works durably; when another connection blocks the repair: 'memory' and an error event",
  group: 'live',
  async run({ tab, server }) {
    const t1 = await tab()
    const t2 = await tab()
    for (const t of [t1, t2]) await t.goto(server.url('/'))
    for (const version of [1, 7]) {
      const name = `r8-v${version}-${rand()}`
      const db = `visitstore-${name}`
      eq(await t1.evaluate(r8Make, { db, version }), { version, names: ['other'] }, `other code made ${db} at version ${version} with only its own object store`)
      const used = await t1.evaluate(r8Use, { name, keys: R8_KEYS, values: R8_VALUES })
      eq([used.set, used.got], ['ok', R8_VALUES], `version ${version}: setMany and get of session and persistent IndexedDB keys`)
      eq([used.status, used.tier, used.errors], ['ok', 'indexeddb', []], `version ${version}: [status.indexeddb, placement tier, error events] (the database was repaired)`)
      await expectValues(t2, { name, options: { keys: R8_KEYS } }, R8_VALUES, `version ${version}: tab 2 (a new store) reads the values`)
      await t1.reload()
      await expectValues(t1, { name, options: { keys: R8_KEYS } }, R8_VALUES, `version ${version}: tab 1 after a reload`)
      const other = await t1.evaluate(r8Other, { db })
      ok(other.names?.includes('other') && other.mine === 'kept', `version ${version}: the other code's object store and record are kept`, other)
    }
    // The repair is impossible: another connection holds the database open and never lets go.
    const name = `r8-held-${rand()}`
    const db = `visitstore-${name}`
    await t2.reload()
    eq(await t2.evaluate(r8Make, { db, version: 7, hold: true }), { version: 7, names: ['other'] }, `tab 2 holds ${db} (version 7, only its own object store) open`)
    try {
      const held = await t1.evaluate(r8Use, { name, keys: R8_KEYS, values: R8_VALUES, openTimeout: 1500 })
      eq([held.set, held.got], ['ok', R8_VALUES], 'repair blocked: setMany and get still work (in memory, for this page)')
      eq([held.status, held.tier], ['memory', 'memory'], 'repair blocked: [status.indexeddb, placement tier]')
      ok(held.errors.includes('STORAGE_UNAVAILABLE'), 'repair blocked: an error event (STORAGE_UNAVAILABLE) says so', held.errors)
    } finally {
      await t2.evaluate(() => { window.r8held?.close() })
    }
  },
}

// ---- r9: foreign and malformed records in the store's object store ----

const R9_KEYS = { good: { lifetime: 'persistent' }, a: { lifetime: 'persistent' }, b: { lifetime: 'persistent' }, c: { lifetime: 'persistent' }, d: { lifetime: 'persistent' } }
/** Raw records other code (or an older bug) left: no `v`; `k` not a string; `x` not a number (it must not make the record immortal); another shape altogether. */
const R9_BAD = [
  { p: 'a', k: '' },
  { p: 'b', v: 'bee', k: 42 },
  { p: 'c', v: 'sea', k: '', x: 'never' },
  { p: 'd', hello: 'world' },
]

const malformedRecords = {
  id: 'r9',
  name: "foreign or malformed records (no v, k not a string, x not a number, another shape): read as missing, each reported by an 'invalid' event, left in place",
  group: 'live',
  async run({ tab, server }) {
    const name = `r9-${rand()}`
    const t1 = await tab()
    await t1.goto(server.url('/'))
    eq(await t1.evaluate(writeKeys, { name, options: { keys: R9_KEYS }, values: { good: 'good value' } }), 'ok', 'set("good") (the store made its database)')
    for (const record of R9_BAD) {
      await t1.evaluate(({ name, record }) => window.vt.rawPut(name, record), { name, record })
    }
    const t2 = await tab()
    await t2.goto(server.url('/'))
    const seen = await t2.evaluate(async ({ name, keys }) => {
      const vt = window.vt
      const store = vt.open(name, { keys })
      const invalid = []
      store.on('invalid', (e) => invalid.push({ key: e?.key, reason: typeof e?.reason === 'string' && e.reason.length > 0 }))
      await store.ready
      const got = {}
      for (const key of Object.keys(keys)) {
        const read = await vt.attempt(() => store.get(key))
        got[key] = read.ok ? vt.u(read.value) : `get rejected: ${vt.outcome(read)}`
      }
      await new Promise((resolve) => setTimeout(resolve, 300))
      return { got, invalid, errors: vt.logs[name].error.map((e) => e.code) }
    }, { name, keys: R9_KEYS })
    eq(seen.got, { good: 'good value', a: UNDEF, b: UNDEF, c: UNDEF, d: UNDEF }, 'a new store reads [good, a (no v), b (k: 42), c (x: "never"), d (another shape)]')
    const reported = [...new Set(seen.invalid.filter((e) => e.reason).map((e) => e.key))].sort()
    eq(reported, ['a', 'b', 'c', 'd'], "keys reported by 'invalid' events with a reason (once read)")
    eq(seen.errors, [], 'error events')
    const raw = await t2.evaluate(async ({ name }) => (await window.vt.rawRecords(name)).map(([k]) => k).filter((k) => ['a', 'b', 'c', 'd', 'good'].includes(k)).sort(), { name })
    eq(raw, ['a', 'b', 'c', 'd', 'good'], 'raw records after reading and start-up (the malformed ones are left in place)')
  },
}

// ---- r10: watch events of a cross-tier setMany ----

const R10_KEYS = { theme: { lifetime: 'persistent', serverVisible: true }, cart: { lifetime: 'session' } }

/** In the page: the store, watching theme and cart (vt.logs[name].watch). */
const r10Open = async ({ name, keys }) => {
  const vt = window.vt
  const store = vt.open(name, { keys })
  await store.ready
  vt.watch(name, 'theme')
  vt.watch(name, 'cart')
  return true
}

const r10Log = ({ name }) => window.vt.logs[name].watch

const watchOnce = {
  id: 'r10',
  name: "setMany({ theme, cart }) (cookie + IndexedDB): the writing tab's watch('theme') and watch('cart') fire exactly once, 'local'; the other tab's exactly once, 'remote' (3 writes, alternating tabs)",
  group: 'live',
  async run({ tab, server }) {
    const name = `r10-${rand()}`
    const tabs = [await tab(), await tab()]
    for (const t of tabs) {
      await t.goto(server.url('/'))
      await t.evaluate(r10Open, { name, keys: R10_KEYS })
    }
    const writes = [[0, 'dark'], [1, 'light'], [0, 'sepia']]
    for (const [writer, theme] of writes) {
      const r = await tabs[writer].evaluate(async ({ name, values }) => window.vt.outcome(await window.vt.attempt(() => window.vt.stores[name].setMany(values))), { name, values: { theme, cart: [theme] } })
      eq(r, 'ok', `tab ${writer + 1}: setMany({ theme: '${theme}', cart })`)
      // The other tab hears it (then a little more time for a duplicate to show up).
      await until(tabs[1 - writer], ({ name, theme }) => ['theme', 'cart'].every((key) => window.vt.logs[name].watch.some((e) => e.key === key && JSON.stringify(e.value) === JSON.stringify(key === 'theme' ? theme : [theme]))),
        { name, theme }, `tab ${2 - writer}: watch('theme') and watch('cart') hear tab ${writer + 1}'s setMany`)
    }
    // Longer than the store's own cookie check (every 2 s): a late duplicate would be in the logs by then.
    await sleep(2500)
    const logs = [await tabs[0].evaluate(r10Log, { name }), await tabs[1].evaluate(r10Log, { name })]
    for (const [n, log] of logs.entries()) {
      const want = []
      for (const [writer, theme] of writes) {
        const source = writer === n ? 'local' : 'remote'
        want.push({ key: 'theme', value: theme, source }, { key: 'cart', value: [theme], source })
      }
      // Per key, in order: one event per write with its source (as 'value source' strings, short enough for a FAIL line).
      const brief = (list, key) => list.filter((e) => e.key === key).map((e) => `${JSON.stringify(e.value)} ${e.source}`)
      for (const key of ['theme', 'cart']) {
        eq(brief(log, key), brief(want, key), `tab ${n + 1}: watch('${key}') callbacks for the 3 setMany calls (tab 1, tab 2, tab 1)`)
      }
    }
  },
}

// ---- r11: one tab's writes land in call order, awaited or not ----

const R11_KEYS = { theme: { lifetime: 'persistent', serverVisible: true }, cart: { lifetime: 'persistent' } }
const R11_ROUNDS = 40

/**
 * In the page: `rounds` rounds of 1 to 5 writes (set, cross-tier setMany with a 20 KB IndexedDB
 * part, delete, update of the cookie key `theme`; clear()), each called without waiting for the
 * one before, with a random pause (none, a microtask, a timer, or the call itself) after some.
 * After each round, the store's getMany and document.cookie must come to the calls applied in
 * call order (within 3 s: WebKit's copy of the cookies can lag the page's own last writes). Sets window.r11 to { mismatches, kinds: calls made per kind, final: the model's last
 * state } (window.r11progress: the round under way), and returns at once.
 */
const r11Start = ({ name, keys, rounds, seed }) => {
  window.r11 = null
  window.r11progress = 'not started'
  r11Rounds().then((r) => { window.r11 = r }, (err) => { window.r11 = { error: String(err?.message ?? err) } })
  return true
  async function r11Rounds() {
  const store = window.VisitStore.createStore({ name, keys })
  await store.ready
  const random = window.vt.seeded(seed)
  const pad = 'p'.repeat(20000)
  const model = { theme: undefined, cart: undefined }
  const mismatches = []
  const kinds = { set: 0, setMany: 0, delete: 0, update: 0, clear: 0 }
  const cookieTheme = () => {
    const pair = document.cookie.split('; ').find((c) => c.startsWith(`${name}_theme=`))
    // A plain string like "t3.1" is its own cookie value (URL-encoded), as a server reads it.
    return pair === undefined ? undefined : decodeURIComponent(pair.slice(name.length + 7))
  }
  for (let round = 0; round < rounds; round++) {
    const calls = []
    const log = []
    for (let i = 0, n = 1 + random(5); i < n; i++) {
      const theme = `t${round}.${i}`
      const kind = ['set', 'setMany', 'delete', 'update', 'clear'][random(10) < 9 ? random(4) : 4]
      kinds[kind]++
      log.push(kind)
      if (kind === 'set') { calls.push(store.set('theme', theme)); model.theme = theme }
      if (kind === 'setMany') { calls.push(store.setMany({ theme, cart: { theme, pad } })); Object.assign(model, { theme, cart: theme }) }
      if (kind === 'delete') { calls.push(store.delete('theme')); model.theme = undefined }
      if (kind === 'update') { calls.push(store.update('theme', () => theme)); model.theme = theme }
      if (kind === 'clear') { calls.push(store.clear()); Object.assign(model, { theme: undefined, cart: undefined }) }
      await window.vt.pause(random(6), calls.at(-1))
    }
    window.r11progress = `round ${round}: ${log.join(', ')}`
    const failed = (await Promise.allSettled(calls)).filter((r) => r.status === 'rejected').map((r) => String(r.reason?.message ?? r.reason))
    // Calls in the wrong order would leave a wrong value for good; a copy of the cookies that lags
    // (WebKit's can lag even this page's own last writes for a moment) catches up: the store and
    // document.cookie are asked until they hold the calls' outcome, for up to 3 s.
    const read = async () => [await store.getMany(['theme', 'cart']), cookieTheme()]
    let [got, cookie] = await read()
    for (const end = Date.now() + 3000; (got.theme !== model.theme || got.cart?.theme !== model.cart || cookie !== model.theme) && Date.now() < end; [got, cookie] = await read()) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const seen = { theme: got.theme, cart: got.cart?.theme, cookie }
    const want = { theme: model.theme, cart: model.cart, cookie: model.theme }
    if (failed.length || JSON.stringify(seen) !== JSON.stringify(want)) {
      mismatches.push(`round ${round} (${log.join(', ')}): ${failed.length ? `rejected: ${failed.join('; ')}; ` : ''}the store and document.cookie hold ${JSON.stringify(seen)} ` +
        `(asked for up to 3 s); calls in order give ${JSON.stringify(want)}`)
    }
  }
  store.close()
  return { mismatches, kinds, final: { theme: model.theme ?? null, cart: model.cart ?? null } }
  }
}

const callOrder = {
  id: 'r11',
  name: `one tab's writes land in call order (${R11_ROUNDS} rounds of 1-5 writes of a cookie key: set, cross-tier setMany, delete, update, clear(), awaited or not at random): after each round the store and document.cookie come to what the calls give in call order (within 3 s), and a new store in a second tab reads the same`,
  group: 'live',
  async run({ tab, server }) {
    const name = `r11-${rand()}`
    const [writer, reader] = [await tab(), await tab()]
    for (const t of [writer, reader]) await t.goto(server.url('/'))
    // Started in the page and polled: a call that never settles shows as the round it stopped in.
    await writer.evaluate(r11Start, { name, keys: R11_KEYS, rounds: R11_ROUNDS, seed: 1 + Math.floor(Math.random() * 1e9) })
    const r = await until(writer, () => window.r11, null, 'the rounds', 60000, 200)
      .catch(async (err) => { throw new Error(`${err.message}; the page was at ${await writer.evaluate(() => window.r11progress)}`) })
    ok(!r.error, 'the rounds threw', r.error)
    ok(r.kinds.setMany > 10 && r.kinds.clear > 0 && r.kinds.update > 10, 'the rounds made every kind of write', JSON.stringify(r.kinds))
    eq(r.mismatches, [], 'rounds whose outcome is not the calls applied in call order')
    const read = await reader.evaluate(async ({ name, keys }) => {
      const store = window.VisitStore.createStore({ name, keys })
      await store.ready
      const got = await store.getMany(['theme', 'cart'])
      store.close()
      return { theme: got.theme ?? null, cart: got.cart?.theme ?? null }
    }, { name, keys: R11_KEYS })
    eq(read, r.final, 'a new store in the second tab, after the last round')
  },
}

// ---- r12: one tab's calls take effect in call order in every tier, reads included ----

const R12_ROUNDS = 60

/**
 * In the page: `rounds` rounds of 1 to 6 calls (set, setMany, delete, update, clear, get,
 * getMany) over a cookie key, a persistent and a session IndexedDB key (20 KB values), a key whose
 * validator answers 1-8 ms late for some values, and a tab key; each called without waiting for
 * the one before, with a random pause after some. An update's function must get the state every
 * earlier call left; a read of a non-cookie key the state its call was made in or a later call's
 * write, never an older one (reads of the cookie key are not judged in the round: WebKit's copy of
 * the cookies can lag the page's own writes); after each round getMany and document.cookie must
 * come to the calls applied in call order (within 3 s). Sets window.r12 to { mismatches, kinds }.
 */
const r12Start = ({ name, rounds, seed }) => {
  window.r12 = null
  window.r12progress = 'not started'
  r12Rounds().then((r) => { window.r12 = r }, (err) => { window.r12 = { error: String(err?.message ?? err) } })
  return true
  async function r12Rounds() {
  const laggy = { '~standard': { version: 1, vendor: 'test', validate: async (value) => {
    if (typeof value === 'string' && value.startsWith('slow')) await new Promise((resolve) => setTimeout(resolve, 1 + (value.length % 8)))
    return { value }
  } } }
  const keys = {
    theme: { lifetime: 'persistent', serverVisible: true, type: 'string' },
    visits: { lifetime: 'persistent' },
    cart: { lifetime: 'session' },
    slow: { lifetime: 'persistent', validate: laggy },
    scroll: { lifetime: 'tab' },
  }
  const store = window.VisitStore.createStore({ name, keys })
  await store.ready
  const random = window.vt.seeded(seed)
  const all = Object.keys(keys)
  const pad = 'p'.repeat(20000)
  const valueFor = (key, n) => (key === 'visits' ? { n, pad } : key === 'cart' ? { n, pad } : key === 'scroll' ? n : key === 'slow' && n % 2 ? `slow-${'x'.repeat(n % 7)}` : `${key}-${n}`)
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)
  const show = (v) => (v && typeof v === 'object' ? `{n:${v.n}}` : String(v))
  const model = new Map()
  const mismatches = []
  const kinds = { set: 0, setMany: 0, delete: 0, update: 0, clear: 0, get: 0, getMany: 0 }
  const cookieTheme = () => {
    const pair = document.cookie.split('; ').find((c) => c.startsWith(`${name}_theme=`))
    return pair === undefined ? undefined : decodeURIComponent(pair.slice(name.length + 7))
  }
  // A fixed opening (this test found it at random, in Firefox): a read batch still gathering (get
  // of slow), then an update of another key and a get of that key, in one tick.
  await store.set('visits', { n: -1, pad })
  const opening = [store.get('slow'), store.update('visits', () => ({ n: -2, pad })), store.get('visits')]
  const read = (await Promise.all(opening))[2]
  if (read?.n !== -2) mismatches.push(`opening: get(slow), update(visits), get(visits) in one tick: the get read ${show(read)}, not {n:-2}`)
  await store.delete('visits')
  for (let round = 0; round < rounds && mismatches.length < 5; round++) {
    const calls = []
    const log = []
    const changes = []
    const change = (key, value) => {
      if (value === undefined) model.delete(key)
      else model.set(key, value)
      changes.push([key, value])
    }
    const reads = []
    for (let i = 0, n = 1 + random(6); i < n; i++) {
      const key = all[random(all.length)]
      const other = all[random(all.length)]
      const v = round * 10 + i
      let kind = ['set', 'set', 'set', 'setMany', 'delete', 'update', 'clear', 'getMany', 'get', 'get'][random(10)]
      if (kind === 'update' && key === 'slow') kind = 'get'
      kinds[kind]++
      log.push(`${kind}(${kind === 'clear' ? '' : key}${kind === 'setMany' || kind === 'getMany' ? `, ${other}` : ''})`)
      const at = log.length - 1
      if (kind === 'set') {
        change(key, valueFor(key, v))
        calls.push(store.set(key, valueFor(key, v)))
      } else if (kind === 'setMany') {
        const entries = Object.fromEntries([[key, valueFor(key, v)], [other, valueFor(other, v + 1)]])
        for (const [k, value] of Object.entries(entries)) change(k, value)
        calls.push(store.setMany(entries))
      } else if (kind === 'delete') {
        change(key, undefined)
        calls.push(store.delete(key))
      } else if (kind === 'update') {
        const input = model.get(key)
        const next = valueFor(key, v)
        change(key, next)
        calls.push(store.update(key, (current) => {
          // A cookie key's input comes from the jar under the lock, fresh: judged like the rest.
          if (!same(current, input)) mismatches.push(`round ${round}, call ${at}: update(${key}) got ${show(current)}, calls in order give ${show(input)} (${log.join(', ')})`)
          return next
        }))
      } else if (kind === 'clear') {
        for (const k of all) change(k, undefined)
        calls.push(store.clear())
      } else {
        const asked = kind === 'getMany' ? [key, other] : [key]
        const got = kind === 'getMany' ? store.getMany(asked) : store.get(key).then((value) => ({ [key]: value }))
        reads.push({ asked, from: changes.length, before: asked.map((k) => model.get(k)), got, at })
        calls.push(got)
      }
      await window.vt.pause(random(6), calls.at(-1))
    }
    window.r12progress = `round ${round}: ${log.join(', ')}`
    const failed = (await Promise.allSettled(calls)).filter((r) => r.status === 'rejected').map((r) => String(r.reason?.message ?? r.reason))
    if (failed.length) mismatches.push(`round ${round} (${log.join(', ')}): rejected: ${failed.join('; ')}`)
    for (const read of reads) {
      const got = await read.got.catch(() => ({}))
      read.asked.forEach((k, n) => {
        if (k === 'theme') return
        const possible = [read.before[n], ...read.from < changes.length ? changes.slice(read.from).filter(([c]) => c === k).map(([, value]) => value) : []]
        if (!possible.some((p) => same(p, got[k]))) {
          mismatches.push(`round ${round}, call ${read.at}: read ${k} as ${show(got[k])}; calls in order allow ${possible.map(show).join(' or ')} (${log.join(', ')})`)
        }
      })
    }
    const want = Object.fromEntries(all.map((k) => [k, model.get(k)]))
    const state = async () => [await store.getMany(all), cookieTheme()]
    let [got, cookie] = await state()
    for (const end = Date.now() + 3000; (!same(got, want) || cookie !== model.get('theme')) && Date.now() < end; [got, cookie] = await state()) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    if (!same(got, want) || cookie !== model.get('theme')) {
      const brief = (o) => Object.fromEntries(all.map((k) => [k, show(o[k])]))
      mismatches.push(`round ${round} (${log.join(', ')}): the store holds ${JSON.stringify(brief(got))} and the cookie ${cookie} (asked for up to 3 s); calls in order give ${JSON.stringify(brief(want))}`)
    }
  }
  store.close()
  return { mismatches, kinds }
  }
}

const callOrderEveryTier = {
  id: 'r12',
  name: `one tab's calls take effect in call order in every tier (${R12_ROUNDS} rounds of 1-6 calls over a cookie key, IndexedDB keys persistent and session-scoped, a key with a late validator and a tab key: set, setMany, delete, update, clear(), get, getMany, awaited or not at random): updates start from the calls before them, reads never show an older state, and each round ends in the call-order state`,
  group: 'live',
  async run({ tab, server }) {
    const page = await tab()
    await page.goto(server.url('/'))
    await page.evaluate(r12Start, { name: `r12-${rand()}`, rounds: R12_ROUNDS, seed: 1 + Math.floor(Math.random() * 1e9) })
    const r = await until(page, () => window.r12, null, 'the rounds', 90000, 200)
      .catch(async (err) => { throw new Error(`${err.message}; the page was at ${await page.evaluate(() => window.r12progress)}`) })
    ok(!r.error, 'the rounds threw', r.error)
    // The rounds stop after 5 mismatches: those come first, then whether every kind of call was made.
    eq(r.mismatches, [], 'calls whose outcome is not the call-order outcome')
    ok(Object.values(r.kinds).every((n) => n > 5), 'the rounds made every kind of call', JSON.stringify(r.kinds))
  },
}

// ---- r15: a session purge covers the writes called before it ----

const R15_TRIALS = 24

/**
 * In the page: per trial a new store; set, set and a cross-tier setMany are called, not awaited,
 * then (after 0-3 microtasks) session.end(), then one more set. The writes called before end()
 * are still on their way when it purges (the cookie lock, a transaction); their session-lifetime
 * part must not outlive it. Returns the trials whose end state is not the purge's.
 */
const r15Trials = async ({ prefix, trials }) => {
  const keys = { locale: { lifetime: 'session', serverVisible: true }, cart: { lifetime: 'session' }, theme: { lifetime: 'persistent', serverVisible: true }, prefs: { lifetime: 'persistent' } }
  const wrong = []
  for (let t = 0; t < trials; t++) {
    const name = `${prefix}${t}`
    const store = window.VisitStore.createStore({ name, keys })
    await store.ready
    const calls = [store.set('locale', 'old'), store.set('cart', ['old']), store.setMany({ locale: 'older', cart: ['older'], theme: 'dark', prefs: 'p' })]
    for (let i = 0; i < t % 4; i++) await null
    calls.push(store.session.end(), store.set('cart', ['new']))
    const outcomes = (await Promise.allSettled(calls)).map((o) => o.status)
    const got = await store.getMany(['locale', 'cart', 'theme', 'prefs'])
    const cookies = document.cookie.split('; ').filter((c) => c.startsWith(`${name}_locale=`) || c.startsWith(`${name}_theme=`))
    const seen = JSON.stringify({ outcomes, got, cookies })
    if (seen !== JSON.stringify({ outcomes: outcomes.map(() => 'fulfilled'), got: { cart: ['new'], theme: 'dark', prefs: 'p' }, cookies: [`${name}_theme=dark`] })) wrong.push(`trial ${t}: ${seen}`)
    await store.clear()
    store.close()
  }
  return wrong
}

const purgeCoversEarlierWrites = {
  id: 'r15',
  name: `session.end() right after set, set and a cross-tier setMany (not awaited; ${R15_TRIALS} trials, 0-3 microtasks between): the session cookie and record they wrote are gone, the batch's persistent part stays, a set called after end() stays`,
  group: 'live',
  async run({ tab, server }) {
    const page = await tab()
    await page.goto(server.url('/'))
    eq(await page.evaluate(r15Trials, { prefix: `r15${rand()}x`, trials: R15_TRIALS }), [], 'trials whose end state is not the purge state: [outcomes, getMany, the store\'s locale and theme cookies]')
  },
}

// ---- r20: what is called after end() is kept, and what was deleted before it stays deleted ----

const R20_TRIALS = 8
const R20_DRAFTS = 2000

/**
 * In the page: per trial a new store with R20_DRAFTS session records (the purge has work to do),
 * a session cookie `visit` and a session record `cart`. Calls, none awaited: delete(cart) and a
 * get of it; then session.end(); then peek and get of `visit`, setMany of `visit` and `cart`
 * (called after end(): they stay), and a set of a persistent key; keys() right after end() lists
 * none of the ended session's (`seen`, the drafts; the keys written after it may be listed, as a
 * read may see a later call's write). Returns the trials whose
 * outcome is not the call-order one.
 */
const r20Trials = async ({ prefix, trials, drafts }) => {
  const keys = { visit: { lifetime: 'session', serverVisible: true }, seen: { lifetime: 'session', serverVisible: true }, cart: { lifetime: 'session' }, 'd:*': { lifetime: 'session' }, prefs: { lifetime: 'persistent' } }
  const wrong = []
  for (let t = 0; t < trials; t++) {
    const name = `${prefix}${t}`
    const store = window.VisitStore.createStore({ name, keys })
    await store.ready
    const values = { visit: 'old', seen: 'old', cart: ['old'] }
    for (let i = 0; i < drafts; i++) values[`d:${i}`] = i
    await store.setMany(values)
    const deleted = store.delete('cart')
    const readBefore = store.get('cart')
    const ended = store.session.end()
    for (let i = 0; i < t % 3; i++) await null
    const peeked = store.peek('visit')
    const readAfter = store.get('visit')
    const listed = store.keys()
    const calls = [deleted, ended, store.setMany({ visit: 'new', cart: ['new'] }), store.set('prefs', t)]
    const outcomes = (await Promise.allSettled(calls)).map((o) => o.status)
    const got = await store.getMany(['visit', 'cart', 'd:0', 'prefs'])
    const seen = { outcomes, readBefore: await readBefore, peeked, readAfter: await readAfter, listed: (await listed).filter((key) => !['visit', 'cart', 'prefs'].includes(key)), got, cookie: window.vt.cookie(`${name}_visit`) ?? undefined }
    const want = { outcomes: outcomes.map(() => 'fulfilled'), readBefore: undefined, peeked: undefined, readAfter: undefined, listed: [], got: { visit: 'new', cart: ['new'], 'd:0': undefined, prefs: t }, cookie: 'new' }
    // Only what differs, as field=got (want).
    const off = Object.keys(want).filter((k) => JSON.stringify(seen[k]) !== JSON.stringify(want[k])).map((k) => `${k}=${JSON.stringify(seen[k])} (want ${JSON.stringify(want[k])})`)
    if (off.length) wrong.push(`trial ${t}: ${off.join('; ')}`)
    await store.clear()
    store.close()
  }
  return wrong
}

const afterEnd = {
  id: 'r20',
  name: `session.end() not awaited, with ${R20_DRAFTS} session records to purge (${R20_TRIALS} trials): a delete and a get called before it read missing; a peek and a get of the session cookie after it read missing, and keys() lists none of the ended session's; a setMany of a session cookie and record called after it is kept`,
  group: 'live',
  async run({ tab, server }) {
    const page = await tab()
    await page.goto(server.url('/'))
    eq(await page.evaluate(r20Trials, { prefix: `r20${rand()}x`, trials: R20_TRIALS, drafts: R20_DRAFTS }), [], 'trials whose outcome is not the call-order one: [outcomes, get before end(), peek, get and keys() after it, getMany, the visit cookie]')
  },
}

// ---- r21: session.end() and navigating away in the same task ----

const R21_TRIALS = 3
const R21_KEYS = { visit: { lifetime: 'session', serverVisible: true }, cart: { lifetime: 'session' }, 'd:*': { lifetime: 'session' }, prefs: { lifetime: 'persistent' } }

/** In the page: a store `name` with the session cookie `visit`, the session records `cart` and `drafts` × `d:*`, and a persistent `prefs`. */
const r21Fill = async ({ name, keys, drafts }) => {
  const store = window.VisitStore.createStore({ name, keys })
  window.r21store = store
  await store.ready
  const values = { visit: 'v', cart: ['c'], prefs: 'p' }
  for (let i = 0; i < drafts; i++) values[`d:${i}`] = i
  await store.setMany(values)
  return true
}

/** In the page: a new store's view after ready: the values and the visit cookie. */
const r21Read = async ({ name, keys }) => {
  const store = window.VisitStore.createStore({ name, keys })
  await store.ready
  const got = await store.getMany(['visit', 'cart', 'd:0', 'prefs'])
  store.close()
  return { got: Object.fromEntries(Object.entries(got).map(([k, v]) => [k, v === undefined ? '(undefined)' : v])), cookie: window.vt.cookie(`${name}_visit`) }
}

/**
 * After a page that ended the session left: the writer tab closes (WebKitGTK keeps a transaction
 * of a page that navigated away open until its tab closes, r6), and a new tab at `path` must find
 * none of the ended session's data (no visit cookie, no cart, no draft) and the persistent prefs;
 * then the store is cleared for the next trial.
 */
async function nextPageFindsNone({ tab, server, writer, name, path, what }) {
  await writer.close()
  const reader = await tab()
  await reader.goto(server.url(path))
  const r = await reader.evaluate(r21Read, { name, keys: R21_KEYS })
  eq({ got: r.got, cookie: r.cookie }, { got: { visit: '(undefined)', cart: '(undefined)', 'd:0': '(undefined)', prefs: 'p' }, cookie: null }, `${what} [getMany, the visit cookie]`)
  await reader.evaluate(async ({ name, keys }) => { const s = window.VisitStore.createStore({ name, keys }); await s.clear(); s.close() }, { name, keys: R21_KEYS })
  await reader.close()
}

const endThenLeave = {
  id: 'r21',
  name: `session.end() (not awaited) and navigating away in the same task, with 0 and 2,000 session drafts (${R21_TRIALS} trials each): the next page finds none of the ended session's data (end() removes the session cookies and takes a new browser-session stamp in its call: the records read as missing); the persistent value stays`,
  group: 'live',
  timeoutMs: 120000,
  async run({ tab, server }) {
    for (const drafts of [0, 2000]) {
      for (let n = 0; n < R21_TRIALS; n++) {
        const name = `r21-${drafts}-${n}-${rand()}`
        const writer = await tab()
        await writer.goto(server.url('/r21/'))
        await writer.evaluate(r21Fill, { name, keys: R21_KEYS, drafts })
        await writer.evaluate(() => {
          setTimeout(() => {
            window.r21store.session.end().catch(() => {})
            location.href = '/r21-away/'
          })
          return true
        })
        await arrived(writer, '/r21-away/', `drafts ${drafts}, trial ${n}: the page after end()`)
        await nextPageFindsNone({ tab, server, writer, name, path: '/r21-next/', what: `drafts ${drafts}, trial ${n}: the next page after end() and navigating away` })
      }
    }
  },
}

// ---- r23: a logout page: a new store's end() at once, then navigating away ----

const R23_TRIALS = 3

const logoutPage = {
  id: 'r23',
  name: `a logout page: a page fills the session (cookie visit, record cart, 0 and 2,000 drafts), the tab goes to a new page whose new store calls session.end() at once (before its ready) and navigates away in the same task (${R23_TRIALS} trials each): the next page finds none of the ended session's data; the persistent value stays`,
  group: 'live',
  timeoutMs: 120000,
  async run({ tab, server }) {
    for (const drafts of [0, 2000]) {
      for (let n = 0; n < R23_TRIALS; n++) {
        const name = `r23-${drafts}-${n}-${rand()}`
        const writer = await tab()
        await writer.goto(server.url('/r23/'))
        await writer.evaluate(r21Fill, { name, keys: R21_KEYS, drafts })
        await writer.goto(server.url('/r23-logout/'))
        await writer.evaluate(({ name, keys }) => {
          setTimeout(() => {
            window.VisitStore.createStore({ name, keys }).session.end().catch(() => {})
            location.href = '/r23-away/'
          })
          return true
        }, { name, keys: R21_KEYS })
        await arrived(writer, '/r23-away/', `drafts ${drafts}, trial ${n}: the page after the logout page`)
        await nextPageFindsNone({ tab, server, writer, name, path: '/r23-next/', what: `drafts ${drafts}, trial ${n}: the next page after the logout page` })
      }
    }
  },
}

// ---- r24: another tab follows an end() whose purge is held, and writes ----

const R24_TRIALS = 3

const followedEnd = {
  id: 'r24',
  name: `tab 1's session.end() with its purge held (tab 3 holds the store's cookie lock); tab 2 follows the end (reads the session record missing) and writes a session record and a session cookie; then the lock is let go (${R24_TRIALS} trials): once tab 1's end() resolved, both tabs read tab 2's record, and tab 1 its cookie`,
  group: 'live',
  timeoutMs: 120000,
  async run({ tab, server }) {
    for (let n = 0; n < R24_TRIALS; n++) {
      const name = `r24-${n}-${rand()}`
      const [a, b, holder] = [await tab(), await tab(), await tab()]
      for (const t of [a, b, holder]) await t.goto(server.url('/'))
      await a.evaluate(r22Open, { name, keys: R22_KEYS })
      await b.evaluate(r22Open, { name, keys: R22_KEYS })
      await a.evaluate(() => window.r22store.setMany({ visit: 'old', cart: ['old'], prefs: 'p' }))
      await holder.evaluate((lock) => new Promise((held) => {
        navigator.locks.request(lock, () => new Promise((release) => { window.r24release = release; held(true) }))
      }), `visitstore:${name}:cookies`)
      await a.evaluate(() => { window.r24ended = window.r22store.session.end().then(() => 'resolved', (err) => `rejected: ${err?.code ?? err}`); return true })
      await until(b, async () => (await window.r22store.get('cart')) === undefined, null, `trial ${n}: tab 2 follows the end() (its cart reads missing)`)
      await b.evaluate(() => window.r22store.set('cart', ['after']))
      eq(await b.evaluate(r22Values, ['cart']), { cart: ['after'] }, `trial ${n}: tab 2 reads its write made after following the end()`)
      // A session cookie too: its write waits for the cookie lock, behind tab 1's purge.
      await b.evaluate(() => { window.r24cookie = window.r22store.set('visit', 'after').then(() => 'resolved', (err) => `rejected: ${err?.code ?? err}`); return true })
      await holder.evaluate(() => { window.r24release(); return true })
      eq(await a.evaluate(() => window.r24ended), 'resolved', `trial ${n}: tab 1's end() once the lock is free`)
      eq(await b.evaluate(() => window.r24cookie), 'resolved', `trial ${n}: tab 2's set('visit')`)
      eq(await a.evaluate(r22Values, ['cart', 'prefs']), { cart: ['after'], prefs: 'p' }, `trial ${n}: tab 1 after its purge [cart, prefs]`)
      await until(a, async () => (await window.r22store.get('visit')) === 'after', null, `trial ${n}: tab 1 reads tab 2's visit cookie (written after the end(), after its purge)`)
      eq(await b.evaluate(r22Values, ['cart']), { cart: ['after'] }, `trial ${n}: tab 2 after tab 1's purge`)
      await a.evaluate(async () => { await window.r22store.clear(); window.r22store.close() })
      for (const t of [a, b, holder]) await t.close()
    }
  },
}

// ---- r22: a tab busy while another tab's end() happens writes before it hears of it ----

const R22_TRIALS = 3
const R22_SPIN_MS = 1500
const R22_KEYS = { visit: { lifetime: 'session', serverVisible: true }, cart: { lifetime: 'session' }, prefs: { lifetime: 'persistent' } }

/** In the page: a store `name` (window.r22store) after ready. */
const r22Open = async ({ name, keys }) => {
  window.r22store = window.VisitStore.createStore({ name, keys })
  await window.r22store.ready
  return true
}

/**
 * In the page: in a task of its own (300 ms on: the evaluate answers first), spins for `ms` (this page runs
 * nothing else meanwhile: no event, no message, no cookie change reaches it; Firefox and WebKit do
 * not even update its copy of the cookies), then, in the same task, sets the session record `cart`
 * and the persistent `prefs`. window.r22 holds when the spin began and ended (Date.now()).
 */
const r22Busy = ({ ms }) => {
  window.r22 = null
  setTimeout(() => {
    const began = Date.now()
    while (Date.now() < began + ms) { /* busy */ }
    window.r22calls = Promise.allSettled([window.r22store.set('cart', ['unheard']), window.r22store.set('prefs', 'busy')])
    window.r22 = { began, ended: Date.now() }
  }, 300) // later than the evaluate's answer (WebKitGTK's driver sends it after the next tasks)
  return true
}

const r22Values = async (keys) => {
  const got = await window.r22store.getMany(keys)
  return Object.fromEntries(Object.entries(got).map(([k, v]) => [k, v === undefined ? '(undefined)' : v]))
}

const unheardEnd = {
  id: 'r22',
  name: `a tab busy in a task while another tab's session.end() runs writes a session record and a persistent key in that task, before it can hear of the end() (${R22_TRIALS} trials): the other tab reads none of the session write, and the persistent one; once the busy tab gets to its events it reads the record missing too, and its next session write is shared`,
  group: 'live',
  timeoutMs: 120000,
  async run({ tab, server }) {
    for (let n = 0; n < R22_TRIALS; n++) {
      const name = `r22-${n}-${rand()}`
      const [a, b] = [await tab(), await tab()]
      await a.goto(server.url('/'))
      await b.goto(server.url('/'))
      await a.evaluate(r22Open, { name, keys: R22_KEYS })
      await b.evaluate(r22Open, { name, keys: R22_KEYS })
      await a.evaluate(() => window.r22store.setMany({ visit: 'old', cart: ['old'], prefs: 'p' }))
      // The end() must run while the busy tab spins: a trial where it did not (the two tabs share a
      // process, or the machine stalled) is run again, at most 3 times.
      let spin
      for (let tries = 0; ; tries++) {
        await b.evaluate(r22Busy, { ms: R22_SPIN_MS })
        await sleep(500)
        const called = Date.now()
        await a.evaluate(() => window.r22store.session.end())
        const resolved = Date.now()
        spin = await b.evaluate(() => window.r22)
        if (spin.began < called && resolved < spin.ended) break
        if (tries === 2) throw new Error(`trial ${n}: end() never ran inside the busy tab's spin (last: spin ${spin.began}-${spin.ended}, end() ${called}-${resolved}): do the two tabs share one process in this engine?`)
        await a.evaluate(() => window.r22store.setMany({ visit: 'old', cart: ['old'], prefs: 'p' }))
      }
      eq(await b.evaluate(async () => (await window.r22calls).map((o) => o.status)), ['fulfilled', 'fulfilled'], `trial ${n}: the busy tab's calls resolve`)
      eq(await a.evaluate(r22Values, ['visit', 'cart', 'prefs']), { visit: '(undefined)', cart: '(undefined)', prefs: 'busy' }, `trial ${n}: the tab that ended the session [visit, cart, prefs]`)
      await until(b, async () => (await window.r22store.get('cart')) === undefined, null, `trial ${n}: the busy tab, once it hears of the end(), reads its unheard cart as missing`)
      await b.evaluate(() => window.r22store.set('cart', ['after']))
      eq(await a.evaluate(r22Values, ['cart']), { cart: ['after'] }, `trial ${n}: the busy tab's next session write, read by the other tab`)
      await a.evaluate(async () => { await window.r22store.clear(); window.r22store.close() })
      await a.close()
      await b.close()
    }
  },
}

// ---- r25: two tabs end the session at the same moment, then each writes ----

/** Tab 2's end() is called at the same time as tab 1's until R25_CONCURRENT trials were concurrent (at most R25_MAX_TRIALS), then this many ms later, one trial each. */
const R25_LATER = [1, 2, 4]
const R25_CONCURRENT = 3
const R25_MAX_TRIALS = 16
const R25_KEYS = { cart: { lifetime: 'session' }, one: { lifetime: 'session' }, two: { lifetime: 'session' }, prefs: { lifetime: 'persistent' } }

/**
 * In the page, at `startAt`: calls session.end(), tells the other tab (a channel of the test's
 * own), and once the other tab has called its end() too, sets the session record `mine`: a write
 * made after both end() calls. window.r25: { outcomes } of the end() and the set.
 */
const r25Go = ({ name, startAt, mine }) => {
  window.r25 = undefined
  const store = window.r22store
  const channel = new window.BroadcastChannel(`r25-test-${name}`)
  const heard = new Promise((resolve) => { channel.onmessage = resolve })
  void (async () => {
    await window.vt.at(startAt)
    const ended = store.session.end()
    channel.postMessage('ended')
    await heard
    const wrote = store.set(mine, 'after')
    const outcomes = (await Promise.allSettled([ended, wrote])).map((o) => (o.status === 'fulfilled' ? 'ok' : String(o.reason?.code ?? o.reason)))
    channel.close()
    window.r25 = { outcomes }
  })()
  return true
}

/** Polls tab `t` for up to 5 s until its store reads `want`; then checks it (the last read shown on failure). */
async function readsWithin(t, want, what) {
  const end = Date.now() + 5000
  let got
  while ((got = await t.evaluate(r22Values, Object.keys(want))) && JSON.stringify(got) !== JSON.stringify(want) && Date.now() < end) await sleep(100)
  eq(got, want, what)
}

const simultaneousEnds = {
  id: 'r25',
  name: `two tabs call session.end() at one clock time, then each, once both have called it, writes a session record of its own (at least ${R25_CONCURRENT} trials where neither end() saw the other's new stamp, at most ${R25_MAX_TRIALS}; then tab 2 ${R25_LATER.join(', ')} ms later): where neither saw the other's, both writes stay; else at least the later tab's (its end() also ended the earlier tab's new stamp, and a write made under it before that tab heard of it is that session's, as in r22); both tabs and the next page read the same, the session record written before them is gone, the persistent one stays`,
  group: 'live',
  timeoutMs: 240000,
  async run({ tab, server }) {
    const seen = { concurrent: 0, sequential: 0 }
    const offsets = [...R25_LATER]
    for (let n = 0; n < R25_MAX_TRIALS && (seen.concurrent < R25_CONCURRENT || offsets.length); n++) {
      const offset = seen.concurrent < R25_CONCURRENT ? 0 : offsets.shift()
      const name = `r25-${n}-${rand()}`
      const [a, b] = [await tab(), await tab()]
      for (const t of [a, b]) await t.goto(server.url('/'))
      await a.evaluate(r22Open, { name, keys: R25_KEYS })
      await b.evaluate(r22Open, { name, keys: R25_KEYS })
      await a.evaluate(() => window.r22store.setMany({ cart: ['old'], prefs: 'p' }))
      await readsWithin(b, { cart: ['old'] }, `trial ${n}: tab 2 reads tab 1's cart before the ends`)
      const first = await a.evaluate((name) => window.vt.cookie(`${name}_$s`), name)
      const startAt = Date.now() + 400
      await a.evaluate(r25Go, { name, startAt, mine: 'one' })
      await b.evaluate(r25Go, { name, startAt: startAt + offset, mine: 'two' })
      const ra = await until(a, () => window.r25, null, `trial ${n}: tab 1's end() and set`, 15000)
      const rb = await until(b, () => window.r25, null, `trial ${n}: tab 2's end() and set`, 15000)
      eq([ra.outcomes, rb.outcomes], [['ok', 'ok'], ['ok', 'ok']], `trial ${n}: [tab 1, tab 2] outcomes of [end(), set]`)
      // The stamps the two end() calls named ended: only the first one where neither saw the
      // other's new stamp (read from the browser's cookie store: a copy may lag).
      const ended = (await a.evaluate(async (n) => (await window.cookieStore?.get(n))?.value ?? window.vt.cookie(n), `${name}_$x`)).split('.')
      const concurrent = ended.every((stamp) => stamp === first)
      seen[concurrent ? 'concurrent' : 'sequential']++
      const what = `trial ${n} (${concurrent ? 'concurrent' : 'sequential'}, offset ${offset} ms)`
      const c = await tab()
      await c.goto(server.url('/'))
      await c.evaluate(r22Open, { name, keys: R25_KEYS })
      // The tab whose stamp lost the marker moves its records to the winner when the Cookie Store
      // tells it of the change: read until both writes are there (concurrent) or one is, up to 5 s.
      // (A single read at 500 ms failed once in a CI run on a busy machine: the move had not run yet.)
      let next
      for (const until = Date.now() + 5000; ;) {
        next = await c.evaluate(r22Values, ['cart', 'prefs', 'one', 'two'])
        if ((concurrent ? next.one === 'after' && next.two === 'after' : next.one === 'after' || next.two === 'after') || Date.now() > until) break
        await sleep(100)
      }
      if (concurrent) eq(next, { cart: '(undefined)', prefs: 'p', one: 'after', two: 'after' }, `${what}: the next page reads`)
      else {
        eq([next.cart, next.prefs], ['(undefined)', 'p'], `${what}: the next page reads [cart, prefs]`)
        ok(next.one === 'after' || next.two === 'after', `${what}: the next page reads the later tab's write`, next)
      }
      for (const [t, who] of [[a, 'tab 1'], [b, 'tab 2']]) await readsWithin(t, next, `${what}: ${who} reads what the next page reads`)
      await c.evaluate(async () => { await window.r22store.clear(); window.r22store.close() })
      for (const t of [a, b, c]) await t.close()
    }
    ok(seen.concurrent >= R25_CONCURRENT, `at least ${R25_CONCURRENT} trials where neither end() saw the other's new stamp (else the race was not tried)`, seen)
  },
}

// ---- r26: a Worker and the page's session.end(), both ways ----

const R26_KEYS = {
  visit: { lifetime: 'session', serverVisible: true }, cart: { lifetime: 'session' }, wcart: { lifetime: 'session' },
  prefs: { lifetime: 'persistent' },
}
const R26_ALL = ['visit', 'cart', 'wcart', 'prefs']

/** In the page: the worker store's values of `keys`, or null (for until()) unless they equal `want`. */
const r26Worker = async ({ name, keys, want }) => {
  const answer = await window.vt.worker('/worker-store.js').call('getMany', { name, keys })
  if (!answer.ok) return { failed: answer.error }
  return want && JSON.stringify(answer.value) !== JSON.stringify(want) ? null : answer.value
}

/** In the page: store.session.end() of the page's store. */
const r26End = async ({ name, options }) => {
  await window.vt.open(name, options).session.end()
  return true
}

const workerEnd = {
  id: 'r26',
  name: "a Worker's store follows the page's session.end() (its later session writes are read by the page and the next page, it reads the ended session's data as missing), and a Worker's own session.end() ends the session for the pages too (their session cookie and record gone, what they write after it shared with the worker)",
  group: 'live',
  async run({ tab, server }) {
    // The worker has no cookies: its reads of the cookie key visit give undefined.
    const both = async (t, name, page, what) => {
      const arg = { name, options: { keys: R26_KEYS } }
      await expectValues(t, arg, page, `${what}: the page`)
      const want = { ...page, visit: none }
      try {
        await until(t, r26Worker, { name, keys: R26_ALL, want }, `${what}: the worker`)
      } catch {
        eq(await t.evaluate(r26Worker, { name, keys: R26_ALL }), want, `${what}: the worker (read for 5 s)`)
      }
    }
    const none = '(undefined)'
    const open = (t, name) => t.evaluate(inWorker, { steps: [['open', { name, keys: R26_KEYS }], ['ready', { name }]] })

    // The page ends the session: the worker follows.
    const a = `r26a-${rand()}`
    const argA = { name: a, options: { keys: R26_KEYS } }
    const t1 = await tab()
    await t1.goto(server.url('/'))
    eq(await t1.evaluate(writeKeys, { ...argA, values: { visit: 'v1', cart: ['apple'], prefs: 'p1' } }), 'ok', 'page: setMany of visit, cart (session) and prefs (persistent)')
    eq(await open(t1, a), [true, true], 'worker: createStore and ready')
    await both(t1, a, { visit: 'v1', cart: ['apple'], wcart: none, prefs: 'p1' }, 'before the end')
    eq(await t1.evaluate(r26End, argA), true, "page: session.end()")
    await both(t1, a, { visit: none, cart: none, wcart: none, prefs: 'p1' }, "after the page's end()")
    eq(await t1.evaluate(inWorker, { steps: [['set', { name: a, key: 'wcart', value: ['pear'] }]] }), [true], "worker: set('wcart') after it read the end")
    await both(t1, a, { visit: none, cart: none, wcart: ['pear'], prefs: 'p1' }, "the worker's session write after the end")
    const t2 = await tab()
    await t2.goto(server.url('/'))
    await expectValues(t2, argA, { visit: none, cart: none, wcart: ['pear'], prefs: 'p1' }, 'the next page')

    // The worker ends the session: the pages follow.
    const b = `r26b-${rand()}`
    const argB = { name: b, options: { keys: R26_KEYS } }
    eq(await t1.evaluate(writeKeys, { ...argB, values: { visit: 'v2', cart: ['kiwi'], prefs: 'p2' } }), 'ok', 'page (store b): setMany of visit, cart and prefs')
    eq(await open(t1, b), [true, true], 'worker (store b): createStore and ready')
    await both(t1, b, { visit: 'v2', cart: ['kiwi'], wcart: none, prefs: 'p2' }, 'store b before the end')
    eq(await t1.evaluate(inWorker, { steps: [['end', { name: b }]] }), [true], "worker: session.end()")
    eq(await t1.evaluate(({ name }) => window.vt.cookie(`${name}_visit`), { name: b }), null, "the session cookie visit, in document.cookie once the worker's end() resolved")
    await both(t1, b, { visit: none, cart: none, wcart: none, prefs: 'p2' }, "after the worker's end()")
    eq(await t1.evaluate(writeKeys, { ...argB, values: { visit: 'v3', cart: ['lime'] } }), 'ok', "page: setMany of visit and cart after the worker's end()")
    eq(await t1.evaluate(inWorker, { steps: [['set', { name: b, key: 'wcart', value: ['fig'] }]] }), [true], "worker: set('wcart') after its end()")
    const after = { visit: 'v3', cart: ['lime'], wcart: ['fig'], prefs: 'p2' }
    await expectValues(t1, argB, after, "the page: its and the worker's writes after the worker's end()")
    eq(await t1.evaluate(r26Worker, { name: b, keys: ['cart', 'wcart', 'prefs'] }), { cart: ['lime'], wcart: ['fig'], prefs: 'p2' }, "the worker: the page's and its own writes after its end()")
    const t3 = await tab()
    await t3.goto(server.url('/'))
    await expectValues(t3, argB, after, 'the next page (store b)')
    const [status, log] = await t1.evaluate(inWorker, { steps: [['status', { name: b }], ['log', { name: b }]] })
    eq([status?.browserSession, log?.error], ['shared', []], 'the worker: [status.browserSession, error events]')
  },
}

// ---- r27: a Worker's session sync hears of a logout before any page ----

const R27_KEYS = { visit: { lifetime: 'session', serverVisible: true }, cart: { lifetime: 'session' }, prefs: { lifetime: 'persistent' } }

const workerSync = {
  id: 'r27',
  name: "a Worker's session sync learns of a logout before any page does (its refresh()): the session cookie the pages wrote goes too (the Worker cannot remove it), from document.cookie and from what the server receives, and the pages read the session data missing; the persistent value stays",
  group: 'live',
  async run({ tab }) {
    const app = await startExpressServer()
    try {
      const name = `r27-${rand()}`
      const arg = { name, options: { keys: R27_KEYS, session: { endpoint: '/session' } } }
      const t1 = await tab()
      await t1.goto(app.url('/'))
      eq((await t1.evaluate(() => window.vt.call('POST', '/login?user=alice'))).status, 200, 'POST /login?user=alice')
      eq(await t1.evaluate(writeKeys, { ...arg, values: { visit: 'alice', cart: ['apple'], prefs: 'p' } }), 'ok', 'page (session sync): setMany of visit, cart (session) and prefs (persistent)')
      const [opened, ready, cart] = await t1.evaluate(inWorker, { steps: [
        ['open', { name, keys: R27_KEYS, session: { endpoint: '/session' } }], ['ready', { name }], ['get', { name, key: 'cart' }],
      ] })
      eq([opened, ready, cart], [true, true, ['apple']], "worker (the same session sync): createStore, ready, get('cart')")
      eq((await t1.evaluate(() => window.vt.call('POST', '/logout'))).status, 200, 'POST /logout')
      const [seen] = await t1.evaluate(inWorker, { steps: [['refresh', { name }]] })
      eq(seen?.tag, null, "worker: session.refresh() after the logout gives tag null")
      await expectValues(t1, arg, { visit: UNDEF, cart: UNDEF, prefs: 'p' }, 'the page after the worker learnt of the logout')
      await until(t1, ({ name }) => window.vt.cookie(`${name}_visit`) === null, { name }, 'the session cookie visit gone from document.cookie')
      await t1.evaluate(() => fetch('/favicon.ico').then(() => true))
      const sent = app.log.findLast((r) => r.path === '/favicon.ico')?.cookie ?? ''
      ok(!sent.includes(`${name}_visit=`), 'the session cookie visit is not in the next request\'s Cookie header', sent)
      await t1.reload()
      await expectValues(t1, arg, { visit: UNDEF, cart: UNDEF, prefs: 'p' }, 'the page after a reload')
    } finally {
      await app.close()
    }
  },
}

// ---- r28: a page in the back/forward cache while another tab's end() runs ----

const R28_KEYS = { visit: { lifetime: 'session', serverVisible: true }, cart: { lifetime: 'session' }, prefs: { lifetime: 'persistent' } }

const cachedPageEnd = {
  id: 'r28',
  name: "a page in the back/forward cache while another tab's session.end() runs and that tab writes again: restored, the page reads none of the ended session (at once, and after), reads the other tab's later write, and what it writes is read by that tab and the next page",
  group: 'live',
  unavailable: async (engine) => (engine.name === 'webkit' ? null : engine.name === 'chromium'
    ? 'WebKitGTK only: playwright launches Chromium with --disable-back-forward-cache'
    : 'WebKitGTK only: Firefox ESR keeps no page that holds a Web Lock in the back/forward cache (a store page holds one while shown; released on pagehide is too late): it loads the page again'),
  async run({ tab, server }) {
    const name = `r28-${rand()}`
    const arg = { name, options: { keys: R28_KEYS } }
    const t1 = await tab()
    await t1.goto(server.url('/?r28=page'))
    eq(await t1.evaluate(writeKeys, { ...arg, values: { visit: 'v1', cart: ['apple'], prefs: 'p' } }), 'ok', 'tab 1: setMany of visit, cart (session) and prefs (persistent)')
    await t1.evaluate(() => {
      window.r28shows = []
      window.addEventListener('pageshow', (event) => window.r28shows.push(event.persisted))
      return true
    })
    // The page goes into the back/forward cache (checked when it comes back).
    await t1.goto(server.url('/?r28=elsewhere'))
    const t2 = await tab()
    await t2.goto(server.url('/'))
    await expectValues(t2, arg, { visit: 'v1', cart: ['apple'], prefs: 'p' }, 'tab 2 before its end()')
    eq(await t2.evaluate(r26End, arg), true, 'tab 2: session.end()')
    eq(await t2.evaluate(writeKeys, { ...arg, values: { cart: ['after'] } }), 'ok', "tab 2: set('cart') after its end()")
    // Through the driver: a back started by page script once left WebKitWebDriver's next command hanging (a CI run).
    await t1.back()
    await until(t1, () => (window.r28shows?.length ? window.r28shows : null), null, 'tab 1 back on the page (pageshow)')
    eq(await t1.evaluate(() => window.r28shows), [true], 'tab 1: the page came back from the back/forward cache (pageshow persisted)')
    const first = await t1.evaluate(readKeys, { ...arg, keys: ['visit', 'cart'] })
    ok(first.visit !== 'v1' && JSON.stringify(first.cart) !== '["apple"]', 'tab 1, read at once after the restore: none of the ended session', first)
    await expectValues(t1, arg, { visit: UNDEF, cart: ['after'], prefs: 'p' }, "tab 1 after the restore: tab 2's later cart")
    eq(await t1.evaluate(writeKeys, { ...arg, values: { cart: ['restored'], visit: 'v2' } }), 'ok', 'tab 1: setMany of cart and visit after the restore')
    await expectValues(t2, arg, { visit: 'v2', cart: ['restored'], prefs: 'p' }, "tab 2 reads the restored page's writes")
    const t3 = await tab()
    await t3.goto(server.url('/'))
    await expectValues(t3, arg, { visit: 'v2', cart: ['restored'], prefs: 'p' }, 'the next page')
  },
}

// ---- r29: a Worker's clear() ----

const workerClear = {
  id: 'r29',
  name: "a Worker's clear() clears for every page of its browser session, the store's cookies included (a Worker cannot remove them): once it resolves, document.cookie has none of them, page and worker read every key missing, and what both write after it is read by both and by the next page",
  group: 'live',
  async run({ tab, server }) {
    const name = `r29-${rand()}`
    const arg = { name, options: { keys: R26_KEYS } }
    const none = UNDEF
    const t1 = await tab()
    await t1.goto(server.url('/'))
    eq(await t1.evaluate(writeKeys, { ...arg, values: { visit: 'v1', cart: ['apple'], prefs: 'p1' } }), 'ok', 'page: setMany of visit (session cookie), cart (session) and prefs (persistent)')
    eq(await t1.evaluate(inWorker, { steps: [['open', { name, keys: R26_KEYS }], ['ready', { name }], ['get', { name, key: 'cart' }], ['clear', { name }]] }), [true, true, ['apple'], true], "worker: createStore, ready, get('cart'), clear()")
    eq(await t1.evaluate(({ name }) => document.cookie.split('; ').filter((c) => c.startsWith(`${name}_`) && !c.startsWith(`${name}_$`)), { name }), [], "the store's cookies in document.cookie once the worker's clear() resolved")
    await expectValues(t1, arg, { visit: none, cart: none, wcart: none, prefs: none }, "the page after the worker's clear()")
    eq(await t1.evaluate(r26Worker, { name, keys: ['cart', 'prefs'] }), { cart: none, prefs: none }, "the worker after its clear()")
    eq(await t1.evaluate(writeKeys, { ...arg, values: { visit: 'v2', prefs: 'p2' } }), 'ok', 'page: setMany after the clear')
    eq(await t1.evaluate(inWorker, { steps: [['set', { name, key: 'wcart', value: ['fig'] }]] }), [true], "worker: set('wcart') after its clear()")
    const after = { visit: 'v2', wcart: ['fig'], prefs: 'p2' }
    await expectValues(t1, arg, after, "the page: its and the worker's writes after the clear")
    eq(await t1.evaluate(r26Worker, { name, keys: ['wcart', 'prefs'] }), { wcart: ['fig'], prefs: 'p2' }, 'the worker: its and the page\'s writes after the clear')
    const t2 = await tab()
    await t2.goto(server.url('/'))
    await expectValues(t2, arg, after, 'the next page')
  },
}

// ---- r30: two tabs learn of a logout at the same moment, each from its own answer, then each writes ----

/**
 * Tab 2's refresh() this many ms after tab 1's, one trial each (the answers' own timing varies as
 * much): records in memory (IndexedDB not usable: the state is a cookie, and Firefox's and WebKit's
 * copies of it lag), then in IndexedDB.
 */
const R30_TRIALS = [
  ...[0, 0, 0, 1, 2, 3, 4, 6, 8, 12, 20, 30].map((offset) => ({ offset, memory: true })),
  ...[0, 0, 2, 8].map((offset) => ({ offset, memory: false })),
]
/** Trials where neither tab had heard the other's answer when its own came (both purged): fewer, and the race was not tried. */
const R30_BOTH = 3
const R30_KEYS = {
  visit: { lifetime: 'session', serverVisible: true }, one: { lifetime: 'session', serverVisible: true }, two: { lifetime: 'session', serverVisible: true },
  cart: { lifetime: 'session' }, prefs: { lifetime: 'persistent', serverVisible: true },
}

/**
 * In the page, at `startAt`: session.refresh(), then, once it resolved, setMany of `values` (made
 * in the session the refresh found). window.refreshed: { tag, outcomes of both calls, source of
 * the last session change event ('local': learnt from this tab's own answer) }.
 */
const refreshThenWrite = ({ name, options, startAt, values }) => {
  window.refreshed = undefined
  const store = window.vt.open(name, options)
  void (async () => {
    await window.vt.at(startAt)
    const refreshed = await Promise.allSettled([store.session.refresh()])
    const wrote = refreshed[0].status === 'fulfilled' ? await Promise.allSettled([store.setMany(values)]) : []
    const outcomes = [...refreshed, ...wrote].map((o) => (o.status === 'fulfilled' ? 'ok' : String(o.reason?.code ?? o.reason)))
    window.refreshed = { tag: store.session.tag, outcomes, source: window.vt.logs[name].change.at(-1)?.source }
  })()
  return true
}

/**
 * Two new tabs on `app` with store `arg`: alice signs in, tab 1 writes `seed`, tab 2 reads `seen`
 * (what it shares of it), then `POST /logout`. Resolves to [tab 1, tab 2].
 */
async function signedOutTabs({ tab, app, arg, n, seed, seen }) {
  const [a, b] = [await tab(), await tab()]
  for (const t of [a, b]) await t.goto(app.url('/'))
  eq((await a.evaluate(() => window.vt.call('POST', '/login?user=alice'))).status, 200, `trial ${n}: POST /login?user=alice`)
  eq(await a.evaluate(writeKeys, { ...arg, values: seed }), 'ok', `trial ${n}: tab 1: setMany of ${Object.keys(seed).join(', ')}`)
  await expectValues(b, arg, seen, `trial ${n}: tab 2 before the logout`)
  eq((await a.evaluate(() => window.vt.call('POST', '/logout'))).status, 200, `trial ${n}: POST /logout`)
  return [a, b]
}

/**
 * A new tab c, then `checks`; a failure is pushed to `wrong` (its first line) instead of thrown, so
 * that every trial runs and the list is checked at the end. Closes `tabs` and c.
 */
async function trialChecks({ tab, tabs, wrong }, checks) {
  const c = await tab()
  try {
    await checks(c)
  } catch (err) {
    wrong.push(String(err?.message ?? err).split('\n')[0])
  }
  for (const t of [...tabs, c]) await t.close()
}

const simultaneousLogout = {
  id: 'r30',
  name: `two tabs with a session sync learn of a logout at the same moment, each from its own answer (session.refresh(); ${R30_TRIALS.length} trials, records in memory then in IndexedDB, tab 2 0 to 30 ms after tab 1), and each, once its refresh() resolved, sets a session cookie of its own: both writes stay (document.cookie, both tabs, the next page), the ended session's cookie and record are gone, the persistent value stays`,
  group: 'live',
  timeoutMs: 240000,
  async run({ tab }) {
    const app = await startExpressServer()
    const wrong = []
    let both = 0
    try {
      for (const [n, { offset, memory }] of R30_TRIALS.entries()) {
        const name = `r30-${n}-${rand()}`
        const arg = { name, options: { keys: R30_KEYS, session: { endpoint: '/session' }, ...(memory ? { backends: { indexedDB: null } } : {}) } }
        // Records in memory are the page's own: tab 2 reads the cookies only.
        const [a, b] = await signedOutTabs({ tab, app, arg, n, seed: { visit: 'alice', cart: ['apple'], prefs: 'p' }, seen: { visit: 'alice', ...(memory ? {} : { cart: ['apple'] }), prefs: 'p' } })
        const startAt = Date.now() + 400
        await a.evaluate(refreshThenWrite, { ...arg, startAt, values: { one: 'after' } })
        await b.evaluate(refreshThenWrite, { ...arg, startAt: startAt + offset, values: { two: 'after' } })
        const ra = await until(a, () => window.refreshed, null, `trial ${n}: tab 1's refresh() and setMany`, 15000)
        const rb = await until(b, () => window.refreshed, null, `trial ${n}: tab 2's refresh() and setMany`, 15000)
        eq([ra, rb].map(({ tag, outcomes }) => ({ tag, outcomes })), [{ tag: null, outcomes: ['ok', 'ok'] }, { tag: null, outcomes: ['ok', 'ok'] }], `trial ${n}: [tab 1, tab 2] { session.tag, outcomes of [refresh(), setMany] }`)
        // Both tabs applied the logout from their own answers (neither had heard the other's yet): the race tried.
        if (ra.source === 'local' && rb.source === 'local') both++
        const want = { visit: UNDEF, cart: UNDEF, prefs: 'p', one: 'after', two: 'after' }
        await trialChecks({ tab, tabs: [a, b], wrong }, async (c) => {
          // Let a purge still under way in either tab finish before reading (it would take a write with it).
          await sleep(300)
          const jar = await a.evaluate((name) => ['one', 'two', 'visit'].map((key) => window.vt.cookie(`${name}_${key}`)), name)
          eq(jar, ['after', 'after', null], `trial ${n} (${memory ? 'records in memory' : 'IndexedDB'}, offset ${offset} ms): the cookies one, two and visit in document.cookie`)
          for (const [t, who] of [[a, 'tab 1'], [b, 'tab 2']]) await expectValues(t, arg, want, `trial ${n}: ${who}`)
          await c.goto(app.url('/'))
          await expectValues(c, arg, want, `trial ${n}: the next page`)
        })
      }
    } finally {
      await app.close()
    }
    ok(both >= R30_BOTH, `at least ${R30_BOTH} trials where both tabs applied the logout from their own answers (else the race was not tried)`, { both, trials: R30_TRIALS.length })
    eq(wrong, [], `trials where a write made after the logout was lost, or a tab or the next page read otherwise (${wrong.length} of ${R30_TRIALS.length})`)
  },
}

// ---- r31: a tab's answer to an older request comes while another tab applies a newer one ----

/** When tab 2's held answer (no session) is let go, in ms after tab 1's refresh() starts; one trial each. */
const R31_OFFSETS = [-4, -2, 0, 0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30]
const R31_KEYS = { visit: { lifetime: 'session', serverVisible: true }, one: { lifetime: 'session', serverVisible: true }, cart: { lifetime: 'session' }, prefs: { lifetime: 'persistent' } }

const lateOlderAnswer = {
  id: 'r31',
  name: `a tab's answer to an older request (asked after a logout, held by the server) comes around the time another tab applies a newer one (bob signed in since; tab 1's refresh(), the held answer let go ${R31_OFFSETS[0]} to ${R31_OFFSETS.at(-1)} ms after it, ${R31_OFFSETS.length} trials): what tab 1 writes in bob's session once its refresh() resolved stays (both tabs, document.cookie, the next page), both tabs end on bob's session`,
  group: 'live',
  timeoutMs: 240000,
  async run({ tab }) {
    const app = await startExpressServer()
    const wrong = []
    try {
      for (const [n, offset] of R31_OFFSETS.entries()) {
        const name = `r31-${n}-${rand()}`
        const arg = { name, options: { keys: R31_KEYS, session: { endpoint: '/session' } } }
        const seed = { visit: 'alice', cart: ['alice'], prefs: 'p' }
        const [a, b] = await signedOutTabs({ tab, app, arg, n, seed, seen: seed })
        // Tab 2 asks now; the server holds its answer (no session: the request came before the login).
        const release = app.hold({ one: true })
        const asked = app.log.filter((r) => r.path === '/session').length
        await b.evaluate(({ name, options }) => { window.r31late = window.vt.open(name, options).session.refresh().then(() => 'ok', (e) => String(e?.code ?? e)); return true }, arg)
        for (const until = Date.now() + 5000; app.log.filter((r) => r.path === '/session').length === asked && Date.now() < until;) await sleep(5)
        eq((await a.evaluate(() => window.vt.call('POST', '/login?user=bob'))).status, 200, `trial ${n}: POST /login?user=bob`)
        const startAt = Date.now() + 300
        await a.evaluate(refreshThenWrite, { ...arg, startAt, values: { one: 'bob', cart: ['bob'] } })
        await sleep(Math.max(0, startAt + offset - Date.now()))
        release()
        const ra = await until(a, () => window.refreshed, null, `trial ${n}: tab 1's refresh() and setMany`, 15000)
        eq([ra.tag !== null, ra.outcomes], [true, ['ok', 'ok']], `trial ${n}: tab 1 [bob's tag, outcomes of refresh() and setMany]`)
        const want = { visit: UNDEF, cart: ['bob'], one: 'bob', prefs: 'p' }
        await trialChecks({ tab, tabs: [a, b], wrong }, async (c) => {
          eq(await b.evaluate(() => window.r31late), 'ok', `trial ${n}: tab 2's late refresh()`)
          await sleep(300)
          eq(await a.evaluate((name) => [window.vt.cookie(`${name}_one`), window.vt.cookie(`${name}_visit`)], name), ['bob', null], `trial ${n} (offset ${offset} ms): the cookies one and visit in document.cookie`)
          for (const [t, who] of [[a, 'tab 1'], [b, 'tab 2']]) await expectValues(t, arg, want, `trial ${n}: ${who}`)
          eq(await b.evaluate((name) => window.vt.open(name).session.tag, name), ra.tag, `trial ${n}: tab 2's session.tag is bob's`)
          await c.goto(app.url('/'))
          await expectValues(c, arg, want, `trial ${n}: the next page`)
        })
      }
    } finally {
      await app.close()
    }
    eq(wrong, [], `trials where tab 1's write in bob's session was lost, or a tab or the next page read otherwise (${wrong.length} of ${R31_OFFSETS.length})`)
  },
}

// ---- rc: a browser SIGKILLed during bursts of cross-tier setMany, restarted on its profile ----

const RC_KEYS = { batch: { lifetime: 'persistent', serverVisible: true }, visit: { lifetime: 'session', serverVisible: true }, 'e:*': { lifetime: 'persistent' } }
const RC_ENTRIES = 8
const RC_KILLS = 3

/**
 * In the page: a new store reads the cookie keys `batch` and `visit` (session) and the entries
 * after `ready`: { batch, visit, entries: [n of each entry, or '(undefined)'], marker } (numbers
 * as strings; marker: the browser session's stamp cookie).
 */
const rcRead = async ({ name, keys, entries }) => {
  const store = window.VisitStore.createStore({ name, keys })
  window.rcStore = store
  await store.ready
  const list = Array.from({ length: entries }, (_, i) => `e:${i}`)
  const got = await store.getMany(['batch', 'visit', ...list])
  const show = (v) => (v === undefined ? '(undefined)' : String(typeof v === 'object' && v !== null ? v.n : v))
  return { batch: show(got.batch), visit: show(got.visit), entries: list.map((key) => show(got[key])), marker: window.vt.cookie(`${name}_$s`) }
}

/**
 * In the page: setMany of batch after batch ({ batch: n, e:0…: { n, pad } }), each awaited, from
 * `from` on, until the page dies; window.rcDone is the last batch whose setMany resolved.
 */
const rcBurst = ({ from, entries }) => {
  const store = window.rcStore
  window.rcDone = 0
  window.rcFailed = null
  const pad = 'x'.repeat(1000)
  ;(async () => {
    for (let n = from; ; n++) {
      const values = { batch: n, visit: n }
      for (let i = 0; i < entries; i++) values[`e:${i}`] = { n, pad }
      try {
        await store.setMany(values)
      } catch (err) {
        window.rcFailed = `${n}: ${err?.code ?? err?.name}`
        return
      }
      window.rcDone = n
    }
  })()
  return true
}

const crash = {
  id: 'rc',
  name: `a browser SIGKILLed ${RC_KILLS} times during bursts of cross-tier setMany (a persistent and a session cookie key and ${RC_ENTRIES} IndexedDB keys per batch), restarted on its profile: after ready each batch is wholly there or wholly absent, and a new browser session has no session cookie of the last`,
  group: 'restart',
  needs: { persistent: true },
  async run({ launch, server }) {
    const name = `rc-${rand()}`
    const arg = { name, keys: RC_KEYS, entries: RC_ENTRIES }
    const seen = []
    const check = (r, when) => {
      seen.push(`${when}: cookie ${r.batch}, IndexedDB ${[...new Set(r.entries)].join('/')}`)
      ok(r.entries.every((n) => n === r.batch), `${when}: the last batch is neither wholly there nor wholly absent: the cookie says batch ${r.batch}, ` +
        `the ${RC_ENTRIES} IndexedDB entries say ${show(r.entries)}${seen.length > 1 ? ` (before: ${seen.slice(0, -1).join('; ')})` : ''}`)
    }
    let marker
    for (let kill = 1; kill <= RC_KILLS + 1; kill++) {
      const b = await launch()
      let killed = false
      try {
        const t = await b.newTab()
        await t.goto(server.url('/'))
        const r = await t.evaluate(rcRead, arg)
        if (kill === 1) eq([r.batch, r.visit, r.entries], [UNDEF, UNDEF, Array(RC_ENTRIES).fill(UNDEF)], 'first start: nothing stored yet')
        else {
          check(r, `after kill ${kill - 1} and a restart on the profile`)
          // Every batch also wrote the session cookie key visit: a new browser session must not
          // see it (a replay of the batches after the commit mark on disk once brought it back).
          if (r.marker !== marker) eq(r.visit, UNDEF, `after kill ${kill - 1}: a new browser session (marker ${marker} → ${r.marker}), so the session cookie key visit of the last one is gone`)
          else console.log(`    (rc: kill ${kill - 1}: the browser kept its session cookies across the restart (marker ${marker}); visit ${r.visit}, batch ${r.batch})`)
        }
        ok(typeof r.marker === 'string' && r.marker.length > 0, 'the store\'s browser-session marker cookie', r.marker)
        marker = r.marker
        if (kill > RC_KILLS) break
        // A burst, numbered apart from the others; killed once at least 20 batches resolved, at a random moment.
        const from = kill * 100000
        await t.evaluate(rcBurst, { from, entries: RC_ENTRIES })
        const done = await until(t, () => (window.rcFailed ? `failed ${window.rcFailed}` : window.rcDone), null, `burst ${kill}: setMany calls resolve`, 20000, 50)
        ok(typeof done === 'number', `burst ${kill}: a setMany rejected`, done)
        await until(t, ({ from }) => window.rcDone >= from + 20, { from }, `burst ${kill}: 20 batches resolved`, 20000, 50)
        await sleep(Math.floor(Math.random() * 300))
        b.kill()
        killed = true
      } finally {
        // After a kill, close() only lets the driver and the runner forget the dead browser; a
        // failing close must not hide the check that failed.
        await b.close().catch((err) => { if (!killed) console.log(`    (rc: browser close failed: ${String(err?.message ?? err).slice(0, 200)})`) })
      }
    }
  },
}

// ---- r32: calls made while the database opens, on fresh pages, take effect in call order ----

const R32_KEYS = { a: { lifetime: 'persistent' }, b: { lifetime: 'persistent' }, s: { lifetime: 'session' } }
const R32_LOADS = 100

/**
 * In the page, right after createStore (the database still opening, the data of the pages before
 * on disk): 1 to 8 calls over two persistent and one session IndexedDB key, none awaited, some
 * after a microtask or a new task (vt.pause). The first call is a get with nothing ahead of it (it
 * reads in the open's own transaction). Every read must give, per key, the value the calls before
 * it left or one a later call wrote, never an older one (as r12: a session key's read waits for
 * the browser-session stamp, and may see a write called after it); an update's function the value
 * the calls before it left. The page's final state is returned for the next page.
 */
const r32Page = async ({ name, keys, seed, start }) => {
  const vt = window.vt
  const random = vt.seeded(seed)
  const store = window.VisitStore.createStore({ name, keys })
  const names = Object.keys(keys)
  // The state after each call, in call order; a read made at step i is judged against states i on.
  const states = [{ ...start }]
  const now = () => states[states.length - 1]
  const write = (change) => states.push({ ...now(), ...change })
  const reads = []
  const read = (what, call, readKeys) => {
    const at = states.length - 1
    reads.push(call.then((got) => ({ what, at, got: readKeys.length === 1 && typeof got !== 'object' ? { [readKeys[0]]: got } : got }), (err) => ({ what, at, error: `${err?.name}: ${err?.message}` })))
  }
  const calls = []
  const updates = []
  const first = names[random(names.length)]
  read(`get(${first}) first`, store.get(first), [first])
  const n = 1 + random(8)
  for (let i = 0; i < n; i++) {
    const key = names[random(names.length)]
    const v = `${seed}.${i}`
    const kind = random(6)
    let call
    if (kind === 0) { call = store.set(key, v); write({ [key]: v }) }
    else if (kind === 1) { call = store.delete(key); write({ [key]: undefined }) }
    else if (kind === 2) {
      const other = names[(names.indexOf(key) + 1) % names.length]
      call = store.setMany({ [key]: v, [other]: `${v}m` }); write({ [key]: v, [other]: `${v}m` })
    } else if (kind === 3) {
      const want = now()[key]
      call = store.update(key, (old) => { if (old !== want) updates.push(`update(${key}) #${i} got ${JSON.stringify(old)}, want ${JSON.stringify(want)}`); return v })
      write({ [key]: v })
    } else if (kind === 4) { call = store.get(key); read(`get(${key}) #${i}`, call, [key]) }
    else { call = store.getMany(names); read(`getMany #${i}`, call, names) }
    calls.push(call.then(() => null, (err) => `call #${i} threw ${err?.name}: ${err?.message}`))
    await vt.pause(random(4), call)
  }
  const failed = [...(await Promise.all(calls)).filter((c) => c !== null), ...updates]
  const wrong = []
  for (const r of await Promise.all(reads)) {
    if (r.error) { wrong.push(`${r.what} threw ${r.error}`); continue }
    for (const [k, got] of Object.entries(r.got)) {
      const allowed = states.slice(r.at).map((state) => state[k])
      if (!allowed.includes(got)) wrong.push(`${r.what}: ${k} is ${JSON.stringify(got)}, want ${JSON.stringify(allowed[0])}${allowed.length > 1 ? ` or a later ${JSON.stringify(allowed.slice(1))}` : ''}`)
    }
  }
  await store.ready
  const got = await store.getMany(names)
  for (const k of names) if (got[k] !== now()[k]) wrong.push(`getMany at the end: ${k} is ${JSON.stringify(got[k])}, want ${JSON.stringify(now()[k])}`)
  store.close()
  // Without the missing keys: WebDriver classic sends undefined back as null.
  return { wrong, failed, state: Object.fromEntries(Object.entries(now()).filter(([, v]) => v !== undefined)), calls: n }
}

const callsDuringOpen = {
  id: 'r32',
  name: `calls made while the database opens, on ${R32_LOADS} fresh pages (1 to 8 calls: set, delete, setMany, update, get, getMany over two persistent and one session IndexedDB key, none awaited; the first a get): every read and update sees what the calls before it left (a read may see a later call's write, never an older value), from the last page's data on`,
  group: 'live',
  async run({ tab, server }) {
    const name = `r32-${rand()}`
    const t = await tab()
    let state = {}
    const bad = []
    let calls = 0
    for (let load = 0; load < R32_LOADS; load++) {
      await t.goto(server.url('/'))
      const r = await t.evaluate(r32Page, { name, keys: R32_KEYS, seed: 1 + Math.floor(Math.random() * 1e9), start: state })
      calls += r.calls
      if (r.wrong.length || r.failed.length) bad.push({ load, wrong: r.wrong, failed: r.failed })
      state = r.state
    }
    ok(calls > R32_LOADS * 3, 'the pages made their calls', calls)
    eq(bad.slice(0, 3), [], `pages whose calls made while the database opened did not take effect in call order (${bad.length} of ${R32_LOADS})`)
  },
}

// ---- r33: a loop of awaited gets in one tab, another tab's sets: no read older than a set it heard of ----

const R33_KEYS = { n: { lifetime: 'persistent' } }
const R33_SETS = 150

/**
 * Tab 1: awaited gets of `n` in a loop (reads asked for in a read's success event join its
 * transaction, up to 32), until tab 2 says it is done; a new task every 40 gets. Tab 2: awaited
 * sets of n = 1…R33_SETS, each told to tab 1 (BroadcastChannel) once it resolved. Every get must
 * give at least the last value tab 1 had heard of when it called get. Counts the transactions.
 */
const r33Reader = ({ name, keys }) => {
  window.r33 = null
  const run = async () => {
    const vt = window.vt
    let asked = 0
    const proto = window.IDBDatabase.prototype
    const transaction = proto.transaction
    proto.transaction = function (...args) { asked++; return transaction.apply(this, args) }
    const store = vt.store(name, keys)
    await store.ready
    let heard = 0
    let done = false
    const news = new window.BroadcastChannel(`${name}-news`)
    news.onmessage = (e) => { if (e.data === 'done') done = true; else heard = Math.max(heard, e.data) }
    const stale = []
    let gets = 0
    const from = asked
    while (!done || gets < 300) {
      const knew = heard
      const got = (await store.get('n')) ?? 0
      gets++
      if (got < knew) stale.push({ get: gets, got, knew })
      if (gets % 40 === 0) await vt.pause(2)
      if (gets > 100000) break
    }
    news.close()
    return { stale, gets, transactions: asked - from, final: await store.get('n') }
  }
  run().then((r) => { window.r33 = r }, (err) => { window.r33 = { error: String(err?.message ?? err) } })
  return true
}

const readLoopAgainstWrites = {
  id: 'r33',
  name: `a loop of awaited gets in tab 1 (reads asked for in a read's success event join its transaction, at most 32) while tab 2 makes ${R33_SETS} awaited sets of the key, telling tab 1 of each once it resolved: no get gives a value older than one tab 1 had heard of when it called get; tab 2's sets all resolve; the loop ends on the last value`,
  group: 'live',
  async run({ tab, server }) {
    const name = `r33-${rand()}`
    const [reader, writer] = [await tab(), await tab()]
    for (const t of [reader, writer]) await t.goto(server.url('/'))
    await reader.evaluate(r33Reader, { name, keys: R33_KEYS })
    const wrote = await writer.evaluate(async ({ name, keys, sets }) => {
      const store = window.vt.store(name, keys)
      await store.ready
      const news = new window.BroadcastChannel(`${name}-news`)
      for (let i = 1; i <= sets; i++) {
        await store.set('n', i)
        news.postMessage(i)
      }
      news.postMessage('done')
      news.close()
      return sets
    }, { name, keys: R33_KEYS, sets: R33_SETS })
    const r = await until(reader, () => window.r33, null, 'the read loop', 60000, 100)
    ok(!r.error, 'the read loop threw', r.error)
    eq(wrote, R33_SETS, 'tab 2\'s sets resolved')
    console.log(`    (r33: ${r.gets} gets in ${r.transactions} transactions)`)
    eq(r.stale.slice(0, 3), [], `gets older than a set tab 1 had heard of (${r.stale.length} of ${r.gets})`)
    eq(r.final, R33_SETS, 'the last get')
  },
}

export const reliabilityScenarios = [simultaneousStart, markerRemoved, worker, cookiePath, declarationUpgrade, navigateAway, siteDataCleared, foreignDatabase, malformedRecords, watchOnce, callOrder, callOrderEveryTier, goneBatch, crossedBatches, purgeCoversEarlierWrites, clearAgainstBatch, goneClear, goneBeforeEnd, clearedCookies, afterEnd, endThenLeave, unheardEnd, logoutPage, followedEnd, simultaneousEnds, workerEnd, workerSync, cachedPageEnd, workerClear, simultaneousLogout, lateOlderAnswer, callsDuringOpen, readLoopAgainstWrites, crash]
