// Hardening scenarios h1, h2, h6, h8: the real-browser halves of cases 1, 2, 6 and 8 of
// test/hardening.test.ts (issue 7), run by run.mjs after the scenarios of scenarios.mjs.
// h1 draws its strings in Node with fast-check (fixed seed) and sends them to the page as UTF-16
// code units, so lone surrogates and NUL cross every driver intact; the page runs a whole batch in
// one evaluate and sends back only the outcome of each string and what went wrong with it. Page
// code uses window.vt (page/helpers.js): vt.cookie(name), vt.outcome(attempt), vt.cookieWrites(fn).
import fc from 'fast-check'
import { eq, ok, show, succeeded, UNDEF } from './lib/check.mjs'
import { startServer } from './server.mjs'

const COOKIE_LIMIT = 4096

/** A cookie name as the store writes it (js-cookie's name encoding); the page checks the browser keeps this exact name. */
const cookieName = (name) => encodeURIComponent(name).replace(/%(2[346B]|5E|60|7C)/g, decodeURIComponent).replace(/[()]/g, escape)
const units = (s) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i))

// ---- h1: arbitrary cookie values and family member names ----

const H1 = {
  name: 'h1',
  keys: { 'c:*': { lifetime: 'session', serverVisible: true, type: 'string' } },
  budget: 100000,
  // A cookie the store does not own, set before the store writes anything: it must never change.
  other: { name: 'h1-other', raw: encodeURIComponent('keep; me = "as is" 🍪') },
  // A store cookie that the member-name writes must leave alone.
  guard: { key: 'c:guard', value: 'guard; me = "as is" 🍪' },
}
const SEED = 20240607
const RUNS = { values: 300, keys: 150 }
const BATCH = 200
/** Value i is written to member c:000, c:001…: names of one length, so the 4,096-byte fixtures hit the limit exactly. */
const valueKey = (i) => `c:${String(i).padStart(3, '0')}`
const VALUE_ROOM = COOKIE_LIMIT - cookieName(`${H1.name}_${valueKey(0)}`).length

const TRICKY = [';', ',', '=', '"', '\\', ' ', '\t', '\n', '\0', '\u0001', '\u001f', '\u007f', '%', '+', '&', '\uD800', '\uDBFF', '\uDC00',
  '😀', '👍🏽', 'é', '€', '\u00a0', '\u2028', '\uFEFF', 'a', 'Z', '0', '{', '}', '[', ']', ':', '*', '$', '(', ')', '#', '^', '`', '|', '!', "'", '~']
/** Any UTF-16 code unit: lone surrogates included (fast-check's 'binary' unit never makes one). */
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n))

/** Fixed edge cases, then fast-check's sample; duplicates dropped. */
function sampleValues() {
  const room = VALUE_ROOM
  const fixed = ['', ' ', ';', ',', '=', '"', '\\', '\0', '\uD800', '\uDC00', 'a\uDFFFb', '😀', '10001', 'true', 'null', '"quoted"',
    '%', '%25', '%zz', '  padded  ', 'x'.repeat(room), 'x'.repeat(room + 1), 'é'.repeat(Math.floor(room / 6)) + 'x'.repeat(room % 6),
    'é'.repeat(Math.floor(room / 6)) + 'x'.repeat((room % 6) + 1)]
  const arb = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: fc.constantFrom(...TRICKY), maxLength: 40 }),
    fc.string({ unit: anyUnit, maxLength: 20 }),
    // Around the 4,096-byte limit: 300–1,400 characters of 1 to 12 encoded bytes each.
    fc.string({ unit: fc.constantFrom('x', 'é', '😀', ';', '%'), minLength: 300, maxLength: 1400, size: 'max' }),
  )
  return [...new Set([...fixed, ...fc.sample(arb, { seed: SEED, numRuns: RUNS.values })])]
}

function sampleKeySuffixes() {
  const fixed = ['', '*', '$s', '__proto__', 'constructor', ';', '=', ' ', '\0', '\uD800', '😀', 'a(b)c', '%41', 'k'.repeat(COOKIE_LIMIT)]
  const arb = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.string({ unit: fc.constantFrom(...TRICKY), maxLength: 20 }),
    fc.string({ unit: anyUnit, maxLength: 10 }),
  )
  // The guard key's cookie must stay as it is.
  return [...new Set([...fixed, ...fc.sample(arb, { seed: SEED + 1, numRuns: RUNS.keys })])].filter((s) => `c:${s}` !== H1.guard.key)
}

/** The oracle: what set(key, value) must answer, from the README's rules alone. */
function expectedOutcome(key, value) {
  if (key === 'c:') return 'UNKNOWN_KEY' // the family 'c:*' needs a non-empty suffix
  if (!key.isWellFormed() || !value.isWellFormed()) return 'NOT_SERIALIZABLE' // a lone surrogate has no UTF-8 form
  return cookieName(`${H1.name}_${key}`).length + encodeURIComponent(value).length > COOKIE_LIMIT ? 'COOKIE_TOO_LARGE' : 'ok'
}

/**
 * Page side of h1, for values (`mode: 'value'`: member `key` first holds 'old', then is set to the
 * value) or for member names (`mode: 'key'`: member `c:<suffix>` is set to 'v'). Accepted: get
 * and peek give it back and document.cookie holds it under the predicted name. Refused: get and
 * the raw cookie are as before. Every few dozen writes one request to /echo checks what the
 * server decodes for each of them (one request per write would be most of the time), then the
 * members are deleted. The `guard` cookies must never change. Returns [{ i, outcome, problems? }].
 */
const h1Batch = async ({ h1, mode, batch, guard }) => {
  const vt = window.vt
  const store = vt.open(h1.name, { keys: h1.keys, cookie: { budget: h1.budget } })
  await store.ready
  const results = []
  let pending = []
  let bytes = 0
  const check = async () => {
    const echo = await vt.echo()
    const members = await store.keys('c:')
    for (const p of pending) {
      if (p.cookie === null) continue
      if (echo.undecodable.includes(p.cookie)) p.problems.push('the server could not decodeURIComponent the cookie')
      else if (echo.cookies[p.cookie] !== p.want) p.problems.push(`the server decoded ${JSON.stringify(echo.cookies[p.cookie])?.slice(0, 80)}`)
      if (p.want !== undefined && !members.includes(p.key)) p.problems.push('not in keys("c:")')
      await store.delete(p.key)
      if ((await store.get(p.key)) !== undefined) p.problems.push('get() after delete() is not undefined')
      if (vt.cookie(p.cookie) !== null) p.problems.push('the cookie is still there after delete()')
    }
    for (const [name, raw] of guard) {
      if (echo.cookies[name] !== decodeURIComponent(raw)) pending[0]?.problems.push(`the server saw cookie ${name} changed`)
    }
    pending = []
    bytes = 0
  }
  for (const { i, units, key: valueKey, cookie } of batch) {
    const text = String.fromCharCode(...units)
    const key = mode === 'value' ? valueKey : `c:${text}`
    const value = mode === 'value' ? text : 'v'
    const problems = []
    if (mode === 'value') {
      const setup = vt.outcome(await vt.attempt(() => store.set(key, 'old')))
      if (setup !== 'ok') problems.push(`set(key, "old") before: ${setup}`)
    }
    const before = (await vt.attempt(() => store.get(key))).value // undefined, also for 'c:' (UNKNOWN_KEY)
    const rawBefore = cookie === null ? null : vt.cookie(cookie)
    const outcome = vt.outcome(await vt.attempt(() => store.set(key, value)))
    let want = before
    if (outcome === 'ok') {
      want = value
      if ((await store.get(key)) !== value) problems.push('get() differs from the value set')
      if (store.peek(key) !== value) problems.push('peek() differs from the value set')
      if (vt.cookie(cookie) === null) problems.push(`document.cookie has no ${cookie}`)
    } else if (outcome !== 'UNKNOWN_KEY') {
      if ((await store.get(key)) !== before) problems.push('the old value was lost (get)')
      if (cookie !== null && vt.cookie(cookie) !== rawBefore) problems.push('the raw cookie changed')
    }
    for (const [name, raw] of guard) if (vt.cookie(name) !== raw) problems.push(`cookie ${name} changed: ${vt.cookie(name)}`)
    const result = { i, outcome, problems }
    results.push(result)
    if (cookie !== null && (outcome === 'ok' || mode === 'value')) {
      pending.push({ key, cookie, want, problems })
      bytes += cookie.length + (vt.cookie(cookie)?.length ?? 0)
    }
    // Node's HTTP server takes 16 KB of headers; browsers keep ~150 cookies per host.
    if (bytes > 8000 || pending.length >= 40) await check()
  }
  await check()
  return results.map((r) => (r.problems.length ? r : { i: r.i, outcome: r.outcome }))
}

function checkOutcomes(results, inputs, expected, what) {
  eq(results.length, inputs.length, `${what}: results`)
  const counts = {}
  for (const r of results) {
    const input = inputs[r.i]
    const want = expected(input, r.i)
    counts[r.outcome] = (counts[r.outcome] ?? 0) + 1
    if (r.outcome !== want || r.problems) {
      throw new Error(`${what} ${show(input.length > 60 ? `${input.slice(0, 60)}… (${input.length} UTF-16 units)` : input)}: ` +
        `expected ${want}, got ${r.outcome}${r.problems ? `; ${r.problems.join('; ')}` : ''}`)
    }
  }
  return counts
}

/** Runs `items` through h1Batch in batches of BATCH (one evaluate each). */
async function h1Run(t, mode, items, guard) {
  const results = []
  for (let at = 0; at < items.length; at += BATCH) {
    const batch = items.slice(at, at + BATCH).map((item, j) => ({ i: at + j, ...item }))
    results.push(...await t.evaluate(h1Batch, { h1: H1, mode, batch, guard }))
  }
  return results
}

const cookieStrings = {
  id: 'h1',
  name: `hardening 1: ~${RUNS.values} arbitrary cookie values and ~${RUNS.keys} family member names (fast-check, fixed seed) round-trip through get and the server's decoder, or are refused with a code; no other cookie changes`,
  group: 'live',
  async run({ tab, server }) {
    const values = sampleValues()
    const suffixes = sampleKeySuffixes()
    const guardCookie = cookieName(`${H1.name}_${H1.guard.key}`)
    const t = await tab()
    await t.goto(server.url('/'))
    const guard = await t.evaluate(async ({ h1, guardCookie }) => {
      const vt = window.vt
      document.cookie = `${h1.other.name}=${h1.other.raw}; Path=/; SameSite=Lax`
      const store = vt.open(h1.name, { keys: h1.keys, cookie: { budget: h1.budget } })
      await store.set(h1.guard.key, h1.guard.value)
      return [[h1.other.name, vt.cookie(h1.other.name)], [guardCookie, vt.cookie(guardCookie)]]
    }, { h1: H1, guardCookie })
    eq(guard, [[H1.other.name, H1.other.raw], [guardCookie, encodeURIComponent(H1.guard.value)]], 'the two cookies that must never change, as set')

    const valueResults = await h1Run(t, 'value', values.map((v, i) => ({ units: units(v), key: valueKey(i), cookie: cookieName(`${H1.name}_${valueKey(i)}`) })), guard)
    const valueCounts = checkOutcomes(valueResults, values, (v, i) => expectedOutcome(valueKey(i), v), 'value')
    for (const code of ['ok', 'NOT_SERIALIZABLE', 'COOKIE_TOO_LARGE']) ok((valueCounts[code] ?? 0) >= 10, `values: at least 10 with outcome ${code} (the sample covers it)`, valueCounts)

    const keyResults = await h1Run(t, 'key', suffixes.map((s) => ({ units: units(s), cookie: `c:${s}`.isWellFormed() ? cookieName(`${H1.name}_c:${s}`) : null })), guard)
    const keyCounts = checkOutcomes(keyResults, suffixes, (s) => expectedOutcome(`c:${s}`, 'v'), 'member name c:')
    ok((keyCounts.ok ?? 0) >= 50 && (keyCounts.NOT_SERIALIZABLE ?? 0) >= 5, 'member names: at least 50 stored and 5 refused (the sample covers both)', keyCounts)
    eq([keyCounts.UNKNOWN_KEY, keyCounts.COOKIE_TOO_LARGE], [1, 1], 'member names: refused as [UNKNOWN_KEY ("c:"), COOKIE_TOO_LARGE (4,096 "k"s)]')
    const left = await t.evaluate(async ({ h1 }) => window.vt.stores[h1.name].keys('c:'), { h1: H1 })
    eq(left, [H1.guard.key], 'members left at the end (every other one was deleted)')
  },
}

// ---- h2: byte limits ----

const byteLimits = {
  id: 'h2',
  name: 'hardening 2: exactly 4,096 bytes of name+value is stored by the browser; 4,097 is COOKIE_TOO_LARGE with no cookie write; a 500-byte budget is never exceeded (COOKIE_BUDGET_EXCEEDED)',
  group: 'live',
  async run({ tab, server }) {
    const name = 'h2_big'
    const room = COOKIE_LIMIT - name.length
    // 681 × 'é' (6 bytes each, encoded) + 4 × 'x' = 4,090 bytes of value: 4,096 with the name.
    const exact = [{ what: 'ASCII', value: 'x'.repeat(room) }, { what: 'é (6 bytes encoded each)', value: 'é'.repeat(Math.floor(room / 6)) + 'x'.repeat(room % 6) }]
    const t = await tab()
    await t.goto(server.url('/'))
    for (const { what, value } of exact) {
      eq(encodeURIComponent(value).length + name.length, COOKIE_LIMIT, `${what}: encoded name+value bytes`)
      // 4,097 bytes: one more ASCII byte, or (ASCII case) five bytes swapped for a 6-byte 'é'.
      const over = [value + 'x', 'é' + value.slice(5)].filter((v) => encodeURIComponent(v).length + name.length === COOKIE_LIMIT + 1)
      const r = await t.evaluate(async ({ value, over }) => {
        const vt = window.vt
        const store = vt.open('h2', { keys: { big: { lifetime: 'session', serverVisible: true, type: 'string' } }, cookie: { budget: 10000 } })
        await store.ready
        const set = vt.outcome(await vt.attempt(() => store.set('big', value)))
        const stored = { get: await store.get('big') === value, raw: vt.cookie('h2_big'), echo: (await vt.echo()).cookies.h2_big === value }
        const refused = []
        for (const v of over) {
          const { result, writes } = await vt.cookieWrites(async () => vt.outcome(await vt.attempt(() => store.set('big', v))))
          refused.push({ outcome: result, writes: writes.length, get: await store.get('big') === value, raw: vt.cookie('h2_big') === stored.raw, echo: (await vt.echo()).cookies.h2_big === value })
        }
        return { set, stored, refused }
      }, { value, over })
      eq(r.set, 'ok', `${what}: set() of exactly 4,096 bytes`)
      eq(r.stored.raw, encodeURIComponent(value), `${what}: document.cookie h2_big (4,090 bytes of value)`)
      eq([r.stored.get, r.stored.echo], [true, true], `${what}: [get(), server-decoded] equal the value`)
      const jar = (await t.cookies()).find((c) => c.name === name)
      eq([jar?.value?.length, jar?.value === encodeURIComponent(value)], [room, true], `${what}: the browser's cookie jar holds h2_big: [value bytes, the value written]`)
      for (const [j, o] of r.refused.entries()) {
        eq(o, { outcome: 'COOKIE_TOO_LARGE', writes: 0, get: true, raw: true, echo: true }, `${what}: 4,097-byte set #${j + 1} [code, document.cookie writes, old value in get / document.cookie / at the server]`)
      }
    }
    // A small budget: 20 members of 49 bytes each into 500 bytes (the session marker counts too).
    const b = await t.evaluate(async () => {
      const vt = window.vt
      const store = vt.open('h2b', { keys: { 'f:*': { lifetime: 'session', serverVisible: true, type: 'string' } }, cookie: { budget: 500 } })
      await store.ready
      const ours = () => document.cookie.split('; ').filter((c) => c.startsWith('h2b_'))
      const bytes = (list) => list.reduce((n, c) => n + c.length - 1, 0) // name + value, without the '='
      const steps = []
      for (let i = 0; i < 20; i++) {
        const { result, writes } = await vt.cookieWrites(async () => vt.outcome(await vt.attempt(() => store.set(`f:${i}`, 'v'.repeat(40)))))
        steps.push({ outcome: result, writes: writes.length, bytes: bytes(ours()), cookie: vt.cookie(`h2b_f%3A${i}`) !== null })
      }
      const atServer = bytes((await vt.echo()).header.split('; ').filter((c) => c.startsWith('h2b_')))
      const before = ours()
      const many = await vt.cookieWrites(async () => vt.outcome(await vt.attempt(() => store.setMany({ 'f:0': 'w'.repeat(40), 'f:new': 'v'.repeat(40) }))))
      const afterMany = { writes: many.writes.length, same: JSON.stringify(ours()) === JSON.stringify(before), f0: await store.get('f:0') }
      const tooLarge = vt.outcome(await vt.attempt(() => store.set('f:huge', 'x'.repeat(5000))))
      const replace = vt.outcome(await vt.attempt(() => store.set('f:0', 'w'.repeat(40))))
      await store.delete('f:1')
      const afterDelete = vt.outcome(await vt.attempt(() => store.set('f:after', 'v'.repeat(40))))
      return { steps, atServer, many: many.result, afterMany, tooLarge, replace, afterDelete, end: bytes(ours()), marker: vt.cookie('h2b_$s') !== null }
    })
    ok(b.marker, 'the session marker h2b_$s exists (it counts against the budget)')
    const accepted = b.steps.findIndex((s) => s.outcome !== 'ok')
    ok(accepted > 0, 'some members fit the budget', b.steps.map((s) => s.outcome))
    for (const [i, s] of b.steps.entries()) {
      ok(s.bytes <= 500, `after set("f:${i}"): the store's cookies take ${s.bytes} bytes, within the 500-byte budget`)
      if (i < accepted) eq([s.outcome, s.cookie], ['ok', true], `set("f:${i}") within the budget [outcome, cookie written]`)
      else eq([s.outcome, s.writes, s.cookie], ['COOKIE_BUDGET_EXCEEDED', 0, false], `set("f:${i}") over the budget [code, document.cookie writes, cookie written]`)
    }
    ok(b.steps[accepted - 1].bytes + 49 > 500, 'the first refused member really would not have fit', b.steps[accepted - 1].bytes)
    ok(b.atServer <= 500, "the store's cookies in the Cookie header stay within the budget", b.atServer)
    eq([b.many, b.afterMany], ['COOKIE_BUDGET_EXCEEDED', { writes: 0, same: true, f0: 'v'.repeat(40) }], 'setMany over the budget [code, { document.cookie writes, store cookies unchanged, f:0 }]')
    eq(b.tooLarge, 'COOKIE_TOO_LARGE', 'a 5,000-byte member in a full store: COOKIE_TOO_LARGE is checked first')
    eq([b.replace, b.afterDelete], ['ok', 'ok'], 'replacing a member with one of the same size, and a new member after a delete(), fit [outcomes]')
    ok(b.end <= 500, 'at the end the store\'s cookies stay within the budget', b.end)
  },
}

// ---- h6: quota (Chromium, DevTools protocol) ----

const MB = 1024 * 1024

/** Over the quota, then (after `restoreQuota`) with the browser's own quota again: same page, same store. */
async function quotaChecks(t, restoreQuota) {
  const keys = { 'q:*': { lifetime: 'persistent' }, note: { lifetime: 'persistent', serverVisible: true } }
  const old = { 'q:a': 'old-a', 'q:b': 'old-b', note: 'old note' }
  let r
  try {
    r = await t.evaluate(async ({ keys, old, mb }) => {
      const vt = window.vt
      const store = vt.store('h6', keys)
      await store.ready
      const setup = vt.outcome(await vt.attempt(() => store.setMany(old)))
      // Random bytes: IndexedDB may compress what it stores.
      const big = new Uint8Array(4 * mb)
      for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536))
      window.h6big = big
      const failure = async (fn) => {
        try {
          await fn()
          return { outcome: 'ok' }
        } catch (err) {
          return { outcome: err instanceof window.VisitStore.VisitStoreError ? err.code : `raw ${err?.name}`, cause: err?.cause?.name ?? null }
        }
      }
      const one = await failure(() => store.set('q:a', big))
      const many = await failure(() => store.setMany({ note: 'new note', 'q:a': 'new-a', 'q:b': big, 'q:c': 'new-c' }))
      const raw = Object.fromEntries((await vt.rawIdb('h6')).filter(([k]) => !k.startsWith('$'))
        .map(([k, rec]) => [k, typeof rec.v === 'string' ? rec.v : `(${rec.v?.constructor?.name})`]))
      const after = await store.getMany(['q:a', 'q:b', 'q:c', 'note'])
      return {
        setup, one, many, raw, note: vt.cookies('h6_note'),
        after: Object.fromEntries(Object.entries(after).map(([k, v]) => [k, vt.u(v)])),
      }
    }, { keys, old, mb: MB })
  } finally {
    // Also when the page part failed: the override must not outlive the scenario.
    await restoreQuota()
  }
  eq(r.setup, 'ok', 'setMany of the old values under the small quota')
  eq([r.one, r.many], [{ outcome: 'QUOTA_EXCEEDED', cause: 'QuotaExceededError' }, { outcome: 'QUOTA_EXCEEDED', cause: 'QuotaExceededError' }],
    'over the quota: [set("q:a", 4 MB), setMany({ note, q:a, q:b: 4 MB, q:c })] [code, cause.name]')
  eq(r.after, { 'q:a': 'old-a', 'q:b': 'old-b', 'q:c': UNDEF, note: 'old note' }, 'after both failures: getMany (the setMany wrote nothing, in either tier)')
  eq(r.raw, { 'q:a': 'old-a', 'q:b': 'old-b' }, 'after both failures: raw IndexedDB records')
  eq(r.note, [['h6_note', encodeURIComponent('old note')]], 'after both failures: document.cookie h6_note (the cookie half of the setMany was undone)')
  const later = await t.evaluate(async () => {
    const vt = window.vt
    const store = vt.stores.h6
    const big = window.h6big
    const one = vt.outcome(await vt.attempt(() => store.set('q:a', big)))
    const many = vt.outcome(await vt.attempt(() => store.setMany({ note: 'new note', 'q:b': big, 'q:c': 'new-c' })))
    const got = await store.getMany(['q:a', 'q:b', 'q:c', 'note'])
    const same = (x) => x instanceof Uint8Array && x.length === big.length && x.every((byte, i) => byte === big[i])
    return { one, many, a: same(got['q:a']), b: same(got['q:b']), c: got['q:c'], note: got.note, status: store.status.indexeddb, errors: vt.logs.h6.error }
  })
  eq(later, { one: 'ok', many: 'ok', a: true, b: true, c: 'new-c', note: 'new note', status: 'ok', errors: [] },
    'quota restored, same page: [set 4 MB, setMany, q:a and q:b read back byte for byte, q:c, note, status.indexeddb, error events]')
}

const quota = {
  id: 'h6',
  name: 'hardening 6 (Chromium): over a quota made small with Storage.overrideQuotaForOrigin, set is QUOTA_EXCEEDED and a setMany writes nothing; old values stay; after the quota is restored, writes work without a reload',
  group: 'live',
  unavailable: (engine) => (engine.name === 'chromium' ? null
    : `Chromium only: forcing a small quota needs the DevTools protocol's Storage.overrideQuotaForOrigin (${engine.name === 'firefox' ? 'puppeteer drives Firefox over WebDriver BiDi, which has no quota command' : 'WebDriver classic has no quota command'})`),
  async run({ tab }) {
    // Chromium's IndexedDB lets a bucket keep using the free space it last heard of from the quota
    // manager, for up to 30 s (BucketContext, kBucketSpaceCacheTimeLimit): an override made after
    // the origin has used IndexedDB may not bite for that long. So h6 gets an origin of its own (a
    // second server, new port), whose quota is made small before its page first loads.
    const own = await startServer()
    try {
      const t = await tab()
      // 1 MB: room for the small writes (usage starts at 0), none for 4 MB.
      await t.cdp('Storage.overrideQuotaForOrigin', { origin: own.origin, quotaSize: MB })
      await t.goto(own.url('/'))
      // Without quotaSize, the override is removed.
      await quotaChecks(t, () => t.cdp('Storage.overrideQuotaForOrigin', { origin: own.origin }))
    } finally {
      await own.close()
    }
  },
}

// ---- h8: another tab deletes or upgrades the database ----

/** In the other tab: deletes or upgrades (version + 1, adding an object store) the database; never waits more than `ms`. */
const otherTabChanges = ({ db, op, ms }) => new Promise((resolve) => {
  const started = Date.now()
  let blocked = false
  let timer
  const done = (outcome, extra = {}) => {
    clearTimeout(timer)
    resolve({ outcome, blocked, ...extra, fast: Date.now() - started < ms })
  }
  timer = setTimeout(() => done(`no answer within ${ms} ms`), ms)
  const watch = (req) => {
    req.onblocked = () => { blocked = true }
    req.onerror = () => done(`error ${req.error?.name}`)
    return req
  }
  if (op === 'delete') {
    watch(indexedDB.deleteDatabase(db)).onsuccess = () => done('deleted')
    return
  }
  const probe = indexedDB.open(db)
  probe.onerror = () => done(`error ${probe.error?.name}`)
  probe.onsuccess = () => {
    const from = probe.result.version
    probe.result.close()
    const up = watch(indexedDB.open(db, from + 1))
    up.onupgradeneeded = () => up.result.createObjectStore('added-by-v2')
    up.onsuccess = () => {
      const stores = [...up.result.objectStoreNames].sort()
      up.result.close()
      done('upgraded', { from, to: from + 1, stores })
    }
  }
})

const otherTab = {
  id: 'h8',
  name: "hardening 8: another tab deletes, then upgrades, the store's open database: it is not blocked, and the store keeps working (old data gone after the delete, kept after the upgrade)",
  group: 'live',
  async run({ tab, server }) {
    const keys = { a: { lifetime: 'persistent' }, cart: { lifetime: 'session' } }
    const use = async ({ keys, values }) => {
      const vt = window.vt
      const store = vt.store('h8', keys)
      await store.ready
      const before = await store.getMany(Object.keys(keys))
      const set = await vt.attempt(() => store.setMany(values))
      const after = await store.getMany(Object.keys(keys))
      const show = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, vt.u(v)]))
      return { before: show(before), set, after: show(after), status: store.status.indexeddb, tier: store.placement('a').tier, errors: vt.logs.h8.error }
    }
    const t1 = await tab()
    await t1.goto(server.url('/'))
    const first = await t1.evaluate(use, { keys, values: { a: 1, cart: ['apple'] } })
    succeeded(first.set, 'tab 1: setMany before')
    eq(first.after, { a: 1, cart: ['apple'] }, 'tab 1: values before (its connection is open)')
    const t2 = await tab()
    await t2.goto(server.url('/'))

    const deleted = await t2.evaluate(otherTabChanges, { db: 'visitstore-h8', op: 'delete', ms: 4000 })
    eq(deleted, { outcome: 'deleted', blocked: false, fast: true }, "tab 2: indexedDB.deleteDatabase('visitstore-h8') [outcome, a 'blocked' event, within 4 s]")
    const second = await t1.evaluate(use, { keys, values: { a: 2, cart: ['pear'] } })
    eq(second.before, { a: UNDEF, cart: UNDEF }, 'tab 1 after the delete: old data reads as undefined')
    succeeded(second.set, 'tab 1: setMany after the delete')
    eq([second.after, second.status, second.tier, second.errors], [{ a: 2, cart: ['pear'] }, 'ok', 'indexeddb', []], 'tab 1 after the delete: [values, status.indexeddb, tier of a, error events]')
    const raw = await t2.evaluate(async () => (await window.vt.rawIdb('h8')).map(([k, rec]) => [k, rec.v]).filter(([k]) => !k.startsWith('$')).sort())
    eq(raw, [['a', 2], ['cart', ['pear']]], 'tab 2: the raw records of the re-created database')

    const upgraded = await t2.evaluate(otherTabChanges, { db: 'visitstore-h8', op: 'upgrade', ms: 4000 })
    eq(upgraded, { outcome: 'upgraded', blocked: false, from: 2, to: 3, stores: ['added-by-v2', 'records'], fast: true }, 'tab 2: indexedDB.open(visitstore-h8, version + 1) [outcome, a blocked event, versions, object stores, within 4 s]')
    const third = await t1.evaluate(use, { keys, values: { a: 3 } })
    eq(third.before, { a: 2, cart: ['pear'] }, 'tab 1 after the upgrade: data kept')
    succeeded(third.set, 'tab 1: set after the upgrade')
    eq([third.after, third.status, third.errors], [{ a: 3, cart: ['pear'] }, 'ok', []], 'tab 1 after the upgrade: [values, status.indexeddb, error events]')
    const version = await t2.evaluate(() => new Promise((resolve) => {
      const req = indexedDB.open('visitstore-h8')
      req.onsuccess = () => { const v = req.result.version; req.result.close(); resolve(v) }
      req.onerror = () => resolve(`error ${req.error?.name}`)
    }))
    eq(version, 3, 'the database tab 1 writes to is the upgraded one (version 3: the layout is version 2)')
  },
}

export const hardeningScenarios = [cookieStrings, byteLimits, quota, otherTab]
