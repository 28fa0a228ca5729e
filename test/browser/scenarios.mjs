// The browser scenarios (1a–6 here, 7a–9 in scenarios-session.mjs). Each runs in every engine;
// `needs` says what an engine must offer, and `unavailable(engine)` may say why a scenario cannot
// run in it (no php, Chromium only): such an engine reports the scenario skipped with the reason.
// Page-side functions are plain functions serialised by the driver: they use only `window.vt`
// (page/helpers.js) and the script-tag global `VisitStore`, take one JSON argument and return JSON.
import { eq, ok, show, succeeded, UNDEF, until } from './lib/check.mjs'
import { sleep } from './lib/util.mjs'
import { sessionScenarios } from './scenarios-session.mjs'

const DAY = 24 * 60 * 60

/** The expiry `seconds` from `now` (ms), allowing for clock reads a little apart. */
function near(expires, now, seconds, what) {
  const want = now / 1000 + seconds
  ok(typeof expires === 'number' && Math.abs(expires - want) < 300, `${what}: expected expiry ≈ now + ${seconds}s, got ${expires === null ? 'none (session cookie)' : `now + ${Math.round(expires - now / 1000)}s`}`)
}

function jarEntry(jar, name) {
  return jar.find((c) => c.name === name)
}

// Scenario 1: spaces, ; = , % quotes, backslash, non-ASCII, emoji (a surrogate pair).
const TRICKY = 'dark mode; a=b, 100% "quoted" \\ ünïcode 😀 end'
const OBJECT = { plan: 'pro; tier=2', n: 42, ok: true, list: [1, 'two', null], nested: { 'k=v': '100%', emoji: '🍪' } }
const S1_KEYS = {
  theme: { lifetime: 'persistent', serverVisible: true, maxAge: 31536000 },
  prefs: { lifetime: 'persistent', serverVisible: true },
  locale: { lifetime: 'session', serverVisible: true },
}

async function writeS1(tab, server) {
  await tab.goto(server.url('/'))
  return tab.evaluate(async ({ keys, tricky, object }) => {
    const vt = window.vt
    const store = vt.store('s1', keys)
    await store.ready
    await store.set('theme', tricky)
    await store.set('prefs', object)
    await store.set('locale', 'de-CH; q=0.9')
    return {
      got: [vt.u(await store.get('theme')), vt.u(await store.get('prefs')), vt.u(await store.get('locale'))],
      peek: vt.u(store.peek('theme')),
      tiers: ['theme', 'prefs', 'locale'].map((k) => store.placement(k).tier),
      echo: await vt.echo(),
    }
  }, { keys: S1_KEYS, tricky: TRICKY, object: OBJECT })
}

const serverDecodes = {
  id: '1a',
  name: 'server-visible values arrive in the Cookie header, decoded exactly',
  group: 'live',
  async run({ tab, server }) {
    const t = await tab()
    const r = await writeS1(t, server)
    eq(r.tiers, ['cookie', 'cookie', 'cookie'], 'placement tiers of theme, prefs, locale')
    eq(r.got, [TRICKY, OBJECT, 'de-CH; q=0.9'], 'store.get of theme, prefs, locale')
    eq(r.peek, TRICKY, 'store.peek("theme")')
    eq(r.echo.undecodable, [], 'cookies the server could not URL-decode')
    eq(r.echo.cookies.s1_theme, TRICKY, 'server-decoded s1_theme')
    eq(r.echo.cookies.s1_locale, 'de-CH; q=0.9', 'server-decoded s1_locale')
    let prefs
    try {
      prefs = JSON.parse(r.echo.cookies.s1_prefs)
    } catch {
      throw new Error(`server-decoded s1_prefs is not JSON: ${show(r.echo.cookies.s1_prefs)}`)
    }
    eq(prefs, OBJECT, 'JSON.parse(server-decoded s1_prefs)')
    ok(!r.echo.header.includes(' ' + 'mode'), 's1_theme travels URL-encoded (no raw space in the header)', r.echo.header)
  },
}

const cookieExpiry = {
  id: '1b',
  name: "cookie jar: persistent cookies carry an expiry (maxAge, 400-day default), session cookies none",
  group: 'live',
  needs: { cookieJar: true },
  async run({ tab, server }) {
    const t = await tab()
    const now = Date.now()
    await writeS1(t, server)
    const jar = await t.cookies()
    for (const name of ['s1_theme', 's1_prefs', 's1_locale', 's1_$s']) ok(jarEntry(jar, name), `${name} in the browser's cookie jar`, jar.map((c) => c.name))
    eq(jarEntry(jar, 's1_theme').session, false, 's1_theme (maxAge 31536000) is a session cookie?')
    near(jarEntry(jar, 's1_theme').expires, now, 31536000, 's1_theme')
    eq(jarEntry(jar, 's1_prefs').session, false, 's1_prefs (persistent, no maxAge) is a session cookie?')
    near(jarEntry(jar, 's1_prefs').expires, now, 400 * DAY, 's1_prefs')
    eq([jarEntry(jar, 's1_locale').session, jarEntry(jar, 's1_locale').expires], [true, null], 's1_locale (session) [session, expires]')
    eq([jarEntry(jar, 's1_$s').session, jarEntry(jar, 's1_$s').expires], [true, null], 'session marker s1_$s [session, expires]')
  },
}

const MARK = 'CLIENT-ONLY-MARK'

const clientOnlyBig = {
  id: '2',
  name: 'client-only 100 KB and 10 MB values round-trip through real IndexedDB, never in cookies',
  group: 'live',
  async run({ tab, server }) {
    const t = await tab()
    await t.goto(server.url('/'))
    const r = await t.evaluate(async ({ mark }) => {
      const vt = window.vt
      const keys = { blob: { lifetime: 'persistent' }, 'big:*': { lifetime: 'session' } }
      const store = vt.store('s2', keys)
      await store.ready
      const hundred = { mark, items: Array.from({ length: 1100 }, (_, i) => ({ id: i, name: `item ${i}`, note: 'n'.repeat(64) })) }
      const ten = mark + 'y'.repeat(10 * 1024 * 1024 - mark.length)
      const setBlob = await vt.attempt(() => store.set('blob', hundred))
      const setTen = await vt.attempt(() => store.set('big:ten', ten))
      // A second store instance reads what the first wrote: the data is in IndexedDB, not in a page-local copy.
      const fresh = window.VisitStore.createStore({ name: 's2', keys })
      const gotBlob = await fresh.get('blob')
      const gotTen = await fresh.get('big:ten')
      // The store's own records ($…) are left out: the app's keys are what this checks.
      const raw = (await vt.rawIdb('s2')).filter(([k]) => !k.startsWith('$'))
      const rawTen = raw.find(([k]) => k === 'big:ten')?.[1]
      const peek = await vt.attempt(() => store.peek('blob'))
      fresh.close()
      return {
        setBlob, setTen,
        tiers: [store.placement('blob').tier, store.placement('big:ten').tier],
        status: store.status,
        hundredBytes: JSON.stringify(hundred).length,
        blobSame: JSON.stringify(gotBlob) === JSON.stringify(hundred),
        tenSame: gotTen === ten,
        tenLength: typeof gotTen === 'string' ? gotTen.length : vt.u(gotTen),
        rawKeys: raw.map(([k]) => k).sort(),
        rawTenLength: typeof rawTen?.v === 'string' ? rawTen.v.length : null,
        peekCode: peek.ok ? 'no error' : peek.error.code,
        documentCookie: document.cookie,
      }
    }, { mark: MARK })
    succeeded(r.setBlob, 'set("blob", 100 KB)')
    succeeded(r.setTen, 'set("big:ten", 10 MB)')
    eq(r.tiers, ['indexeddb', 'indexeddb'], 'placement tiers of blob, big:ten')
    eq(r.status.indexeddb, 'ok', 'store.status.indexeddb')
    ok(r.hundredBytes >= 100 * 1024, '100 KB value is at least 100 KB', r.hundredBytes)
    eq(r.blobSame, true, '100 KB object read back equal by a new store instance')
    eq([r.tenSame, r.tenLength], [true, 10 * 1024 * 1024], '10 MB string read back by a new store instance [equal, length]')
    eq(r.rawKeys, ['big:ten', 'blob'], 'keys in the raw IndexedDB object store visitstore-s2/entries')
    eq(r.rawTenLength, 10 * 1024 * 1024, 'raw IndexedDB record of big:ten, value length')
    eq(r.peekCode, 'NOT_SYNC_READABLE', 'peek("blob") error code')
    ok(!r.documentCookie.includes(MARK), 'document.cookie holds no client-only data', r.documentCookie)
    const names = r.documentCookie.split('; ').map((c) => c.split('=')[0]).filter((n) => n.startsWith('s2_'))
    eq(names, ['s2_$s'], 'document.cookie names of store s2 (only the session marker)')
    const echo = await t.evaluate(() => window.vt.echo())
    ok(!echo.header.includes(MARK), 'the Cookie header of the next request holds no client-only data', echo.header)
    ok(echo.header.length < 1024, 'the Cookie header stays small', echo.header.length)
    eq(Object.keys(echo.cookies).filter((n) => n.startsWith('s2_')), ['s2_$s'], 'cookies of store s2 the server received')
  },
}

const tooLarge = {
  id: '3',
  name: 'a 5,000-byte server-visible value is refused with COOKIE_TOO_LARGE; the old value stays',
  group: 'live',
  async run({ tab, server }) {
    const t = await tab()
    await t.goto(server.url('/'))
    const r = await t.evaluate(async () => {
      const vt = window.vt
      const store = vt.store('s3', { theme: { lifetime: 'persistent', serverVisible: true } })
      await store.ready
      await store.set('theme', 'light')
      const big = await vt.attempt(() => store.set('theme', 'x'.repeat(5000)))
      return { big, got: vt.u(await store.get('theme')), peek: vt.u(store.peek('theme')), documentCookie: document.cookie, echo: await vt.echo() }
    })
    eq(r.big.ok, false, 'set("theme", 5000 bytes) rejected?')
    eq([r.big.error.code, r.big.error.isVisitStoreError, r.big.error.name], ['COOKIE_TOO_LARGE', true, 'VisitStoreError'], '[err.code, err instanceof VisitStore.VisitStoreError, err.name]')
    eq([r.got, r.peek], ['light', 'light'], 'old value after the refused write [get, peek]')
    ok(r.documentCookie.split('; ').includes('s3_theme=light'), 'document.cookie still holds s3_theme=light', r.documentCookie)
    eq(r.echo.cookies.s3_theme, 'light', 'server-decoded s3_theme after the refused write')
    ok(!r.echo.header.includes('xxxx'), 'the refused value never reached the server', r.echo.header.length)
  },
}

const twoTabs = {
  id: '5',
  name: "two tabs of one browser read the same cookie and IndexedDB data; tab 1's watch sees tab 2's writes as 'remote'",
  group: 'live',
  async run({ tab, server }) {
    const keys = {
      theme: { lifetime: 'persistent', serverVisible: true },
      basket: { lifetime: 'session' },
      notes: { lifetime: 'persistent' },
    }
    const read = async ({ keys }) => {
      const vt = window.vt
      const store = vt.store('s5', keys)
      await store.ready
      return {
        tiers: ['theme', 'basket', 'notes'].map((k) => store.placement(k).tier),
        theme: vt.u(await store.get('theme')), peek: vt.u(store.peek('theme')), basket: vt.u(await store.get('basket')), notes: vt.u(await store.get('notes')),
      }
    }
    const tiers = ['cookie', 'indexeddb', 'indexeddb']
    const t1 = await tab()
    await t1.goto(server.url('/'))
    await t1.evaluate(async ({ keys }) => {
      const vt = window.vt
      const store = vt.store('s5', keys)
      await store.ready
      await store.setMany({ theme: 'dark', basket: ['apple', 'pear'], notes: { text: 'hello' } })
      // From here on, tab 1 records what its watchers hear (its own writes above came first).
      vt.watch('s5', 'theme')
      vt.watch('s5', 'basket')
    }, { keys })
    const t2 = await tab()
    await t2.goto(server.url('/'))
    const seen2 = await t2.evaluate(read, { keys })
    eq(seen2.tiers, tiers, 'tab 2: placement tiers of theme, basket, notes')
    eq(seen2, { tiers, theme: 'dark', peek: 'dark', basket: ['apple', 'pear'], notes: { text: 'hello' } }, 'tab 2 reads tab 1\'s values')
    await t2.evaluate(async ({ keys }) => {
      await window.vt.store('s5', keys).setMany({ theme: 'light', basket: ['apple', 'pear', 'plum'] })
    }, { keys })
    const seen1 = await t1.evaluate(read, { keys })
    eq(seen1, { tiers, theme: 'light', peek: 'light', basket: ['apple', 'pear', 'plum'], notes: { text: 'hello' } }, 'tab 1 reads tab 2\'s later values')
    // The watchers hear about it over the BroadcastChannel (cookies: also Cookie Store events or the 2 s check).
    const heard = await until(t1, () => {
      const log = window.vt.logs.s5.watch
      return ['theme', 'basket'].every((k) => log.some((e) => e.key === k)) ? log : null
    }, null, "tab 1's watch('theme') and watch('basket') callbacks for tab 2's write", 5000)
    const byKey = (k) => heard.filter((e) => e.key === k).map(({ value, source }) => ({ value, source }))
    eq(byKey('theme')[0], { value: 'light', source: 'remote' }, "tab 1's watch('theme') (cookie tier) after tab 2's write: first callback")
    eq(byKey('basket')[0], { value: ['apple', 'pear', 'plum'], source: 'remote' }, "tab 1's watch('basket') (IndexedDB tier) after tab 2's write: first callback")
    ok(heard.every((e) => e.source === 'remote'), "tab 1's watchers heard only 'remote' changes (it wrote nothing meanwhile)", heard)
  },
}

const tabLifetime = {
  id: '6',
  name: "'tab' lifetime: another tab does not see it; a reload of the same tab keeps it",
  group: 'live',
  async run({ tab, server }) {
    const keys = { scroll: { lifetime: 'tab' } }
    const read = async ({ keys }) => {
      const vt = window.vt
      const store = vt.store('s6', keys)
      await store.ready
      return { get: vt.u(await store.get('scroll')), peek: vt.u(store.peek('scroll')), item: sessionStorage.getItem('visitstore:s6:scroll'), tier: store.placement('scroll').tier }
    }
    const t1 = await tab()
    await t1.goto(server.url('/'))
    await t1.evaluate(async ({ keys }) => {
      const store = window.vt.store('s6', keys)
      await store.ready
      await store.set('scroll', 1234)
    }, { keys })
    eq(await t1.evaluate(read, { keys }), { get: 1234, peek: 1234, item: '1234', tier: 'sessionStorage' }, 'tab 1 after set')
    const t2 = await tab()
    await t2.goto(server.url('/'))
    eq(await t2.evaluate(read, { keys }), { get: UNDEF, peek: UNDEF, item: null, tier: 'sessionStorage' }, 'tab 2 reads tab 1\'s tab value')
    await t2.evaluate(async ({ keys }) => { await window.vt.store('s6', keys).set('scroll', 99) }, { keys })
    await t1.reload()
    eq(await t1.evaluate(read, { keys }), { get: 1234, peek: 1234, item: '1234', tier: 'sessionStorage' }, 'tab 1 after a reload')
  },
}

const S4_KEYS = {
  keep: { lifetime: 'persistent', serverVisible: true, maxAge: 3600 },
  visit: { lifetime: 'session', serverVisible: true },
  basket: { lifetime: 'session' },
  saved: { lifetime: 'persistent' },
  brief: { lifetime: 'persistent', ttl: 1 },
  lasting: { lifetime: 'persistent', ttl: 3600 },
}
const S4_VALUES = { keep: 'keep me; 100%', visit: 'this visit', basket: ['apple'], saved: { draft: 'text' }, brief: 'gone in 1s', lasting: 'an hour' }
const TTL_WAIT_MS = 1500

const restart = {
  id: '4',
  name: 'restart with the same profile: session data (cookie + IndexedDB) and an expired TTL entry gone, persistent data kept',
  group: 'restart',
  needs: { persistent: true },
  async run({ launch, server }) {
    const readAll = async ({ keys }) => {
      const vt = window.vt
      // The raw database first, before visitstore starts and sweeps (the app's keys: the store's own start with $).
      const appKeys = async () => (await vt.rawIdb('s4')).map(([k]) => k).filter((k) => !k.startsWith('$')).sort()
      const before = await appKeys()
      const store = vt.store('s4', keys)
      await store.ready
      const got = {}
      for (const k of Object.keys(keys)) got[k] = vt.u(await store.get(k))
      // Stale records read as missing at once; the sweep deletes them in the background after ready.
      let after = await appKeys()
      for (let i = 0; i < 50 && after.length > 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        after = await appKeys()
      }
      return { before, got, after, echo: await vt.echo() }
    }
    // First run of the browser: write everything.
    const first = await launch()
    let wroteAt
    let marker
    try {
      const t = await first.newTab()
      await t.goto(server.url('/'))
      const r = await t.evaluate(async ({ keys, values }) => {
        const vt = window.vt
        const store = vt.store('s4', keys)
        await store.ready
        await store.setMany(values)
        const got = {}
        for (const k of Object.keys(keys)) got[k] = vt.u(await store.get(k))
        return { got, status: store.status, tiers: Object.keys(keys).map((k) => store.placement(k).tier), echo: await vt.echo() }
      }, { keys: S4_KEYS, values: S4_VALUES })
      wroteAt = Date.now()
      eq(r.got, S4_VALUES, 'before the restart: every value reads back')
      eq(r.tiers, ['cookie', 'cookie', 'indexeddb', 'indexeddb', 'indexeddb', 'indexeddb'], 'before the restart: tiers of keep, visit, basket, saved, brief, lasting')
      eq(r.status.indexeddb, 'ok', 'before the restart: store.status.indexeddb')
      eq([r.echo.cookies.s4_keep, r.echo.cookies.s4_visit], [S4_VALUES.keep, S4_VALUES.visit], 'before the restart: server sees [s4_keep, s4_visit]')
      marker = r.echo.cookies.s4_$s
      if (t.cookies) {
        const jar = await t.cookies()
        eq(jarEntry(jar, 's4_visit')?.session, true, 'before the restart: s4_visit is a session cookie in the jar')
      }
    } finally {
      await first.close()
    }
    // Let the 1-second TTL run out while the browser is down.
    await sleep(Math.max(0, wroteAt + TTL_WAIT_MS - Date.now()))
    const second = await launch()
    try {
      const t = await second.newTab()
      await t.goto(server.url('/'))
      const r = await t.evaluate(readAll, { keys: S4_KEYS })
      eq(r.before, ['basket', 'brief', 'lasting', 'saved'], 'after the restart, before visitstore starts: raw IndexedDB keys (the browser kept the database)')
      eq(r.got, { ...S4_VALUES, visit: UNDEF, basket: UNDEF, brief: UNDEF }, 'after the restart: values (visit, basket, brief gone)')
      eq(r.after, ['lasting', 'saved'], 'after the restart and store.ready: raw IndexedDB keys (stale ones swept, in the background)')
      eq(r.echo.cookies.s4_keep, S4_VALUES.keep, 'after the restart: server-decoded s4_keep')
      eq(r.echo.cookies.s4_visit, undefined, 'after the restart: server-decoded s4_visit (session cookie)')
      ok(r.echo.cookies.s4_$s && r.echo.cookies.s4_$s !== marker, 'after the restart: a new session marker', [marker, r.echo.cookies.s4_$s])
      if (t.cookies) {
        const jar = await t.cookies()
        eq(jarEntry(jar, 's4_visit'), undefined, 'after the restart: s4_visit in the jar')
        eq(jarEntry(jar, 's4_keep')?.session, false, 'after the restart: s4_keep is persistent in the jar')
      }
    } finally {
      await second.close()
    }
  },
}

export const scenarios = [serverDecodes, cookieExpiry, clientOnlyBig, tooLarge, restart, twoTabs, tabLifetime, ...sessionScenarios]
